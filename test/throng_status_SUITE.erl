%%% format_status/1,2 and code change for callback-module sessions:
%%% `throng:get_status/1' and the terminate error report formatted as OTP
%%% 25's gen_statem formats `sys:get_status/1' and its report;
%%% `throng:change_code/4' and `throng:replace_state/2' as
%%% `sys:change_code/4' and `sys:replace_state/2'.
%%%
%%% Where it can, a case runs the same callback module (test/throng_t_fs1
%%% with format_status/1 and code_change/4, test/throng_t_fs2 with
%%% format_status/2 only) on gen_statem and on Throng with the same inputs
%%% and asserts that both give the same: the formatted state and data part
%%% of the status, the report's fields, code change results (stack traces
%%% left out).
-module(throng_status_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, suite/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-export([
    %% format_status in get_status
    get_status_format_status_1/1,
    get_status_format_status_2/1,
    get_status_without_format_status/1,
    get_status_format_status_fails/1,
    get_state_is_raw/1,
    %% format_status in the error report
    report_format_status_1/1,
    report_format_status_2/1,
    report_format_status_fails/1,
    report_of_init_failure/1,
    %% code change
    change_code_ok/1,
    change_code_errors/1,
    change_code_not_exported/1,
    change_code_rereads_callback_mode/1,
    change_code_on_suspended_session_stays_suspended/1,
    events_sent_during_change_code_are_handled_after/1,
    %% replace_state
    replace_state/1,
    replace_state_fun_crashes/1,
    replace_state_while_suspended/1,
    noproc/1
]).

-define(T, 5000).

suite() ->
    [{timetrap, {seconds, 60}}].

%% Every group on both backends (test/throng_backends.erl).
all() ->
    [{group, B} || B <- throng_backends:all()].

groups() ->
    throng_backends:groups([get_status, report, code_change, replace_state]) ++
    [{get_status, [], [get_status_format_status_1, get_status_format_status_2,
                       get_status_without_format_status, get_status_format_status_fails,
                       get_state_is_raw]},
     {report, [], [report_format_status_1, report_format_status_2,
                   report_format_status_fails, report_of_init_failure]},
     {code_change, [], [change_code_ok, change_code_errors, change_code_not_exported,
                        change_code_rereads_callback_mode,
                        change_code_on_suspended_session_stays_suspended,
                        events_sent_during_change_code_are_handled_after]},
     {replace_state, [], [replace_state, replace_state_fun_crashes,
                          replace_state_while_suspended, noproc]}].

init_per_suite(Config) ->
    {ok, Started} = application:ensure_all_started(throng),
    [{started, Started} | Config].

end_per_suite(Config) ->
    [application:stop(A) || A <- lists:reverse(?config(started, Config))],
    ok.

init_per_group(Group, Config) ->
    throng_backends:init_group(Group, Config).

end_per_group(Group, _Config) ->
    throng_backends:end_group(Group).

init_per_testcase(_Case, Config) ->
    Config.

end_per_testcase(_Case, _Config) ->
    _ = persistent_term:erase({throng_t_fs1, mode}),
    ok.

%%% ================================================================== get_status

%% format_status/1 (gen_statem's format_status/2 through gen:format_status/4)
%% sees state, data, postponed, timeouts and log; its state, data and
%% time-outs are shown. format_status/2 is exported too but never called.
get_status_format_status_1(_Config) ->
    Both = both(throng_t_fs1, #{secret => 42}),
    cast_both(Both, [{arm, t1}, postpone]),
    #{state := State, data := Data, timeouts := Timeouts} = Status = same_status(Both),
    ?assertEqual({shown, a}, State),
    ?assertEqual({keys, [secret]}, Data),
    ?assertEqual([{{timeout, t1}, hidden}], Timeouts),
    ?assertNot(is_map_key(status, Status)),
    ?assertMatch(#{queue_len := 0, postponed_len := 1, modules := [throng_t_fs1],
                   callback_mode := [handle_event_function], suspended := false}, Status),
    stop_both(Both).

%% format_status(normal, [PDict, State, Data]): what it returns is what
%% sys:get_status shows in place of the state and data: `status'.
get_status_format_status_2(_Config) ->
    Both = both(throng_t_fs2, #{secret => 42}),
    Status = same_status(Both),
    ?assertEqual([{data, [{"State", {a, hidden}}]}], maps:get(status, Status)),
    ?assertNot(is_map_key(state, Status)),
    ?assertNot(is_map_key(data, Status)),
    ?assertMatch(#{modules := [throng_t_fs2], timeouts := []}, Status),
    %% A result that is no list is shown as is (sys lists it).
    cast_both(Both, [{set, fs, term}]),
    ?assertEqual({not_a_list, normal}, maps:get(status, same_status(Both))),
    %% A throw is a result.
    cast_both(Both, [{set, fs, throw}]),
    ?assertEqual({thrown, normal}, maps:get(status, same_status(Both))),
    stop_both(Both).

get_status_without_format_status(_Config) ->
    {ok, S} = throng:start(throng_t_puppet, #{data => #{secret => 42}}, []),
    ?assertMatch(#{state := a, data := #{secret := 42}}, throng:get_status(S)),
    ok = throng:stop(S).

%% When format_status fails, gen_statem shows the state with the string
%% "Mod:format_status/N crashed" (or "did not return a map", "returned a
%% map with unknown keys") as the data, and the time-outs unformatted. A
%% throw from format_status/1 is a failure; extra keys are fine.
get_status_format_status_fails(_Config) ->
    Expected = [{throng_t_fs1, crash, "throng_t_fs1:format_status/1 crashed"},
                {throng_t_fs1, throw, "throng_t_fs1:format_status/1 crashed"},
                {throng_t_fs1, not_map, "throng_t_fs1:format_status/1 did not return a map"},
                {throng_t_fs1, missing_key,
                 "throng_t_fs1:format_status/1 returned a map with unknown keys"},
                {throng_t_fs2, crash, "throng_t_fs2:format_status/2 crashed"}],
    [begin
         Both = both(Mod, #{fs => Fs}),
         cast_both(Both, [{arm, t1} || Mod =:= throng_t_fs1]),
         Status = same_status(Both),
         ?assertEqual({Fs, a, Why}, {Fs, maps:get(state, Status), maps:get(data, Status)}),
         Mod =:= throng_t_fs1 andalso
             ?assertEqual([{{timeout, t1}, {secret, t1}}], maps:get(timeouts, Status)),
         stop_both(Both)
     end || {Mod, Fs, Why} <- Expected],
    Both = both(throng_t_fs1, #{fs => extra_key}),
    ?assertMatch(#{state := a, data := #{fs := extra_key}}, same_status(Both)),
    stop_both(Both).

%% sys:get_state is never formatted; nor is throng:get_state.
get_state_is_raw(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{secret => 42}),
    ?assertEqual({a, #{secret => 42}}, sys:get_state(Pid)),
    ?assertEqual({a, #{secret => 42}}, throng:get_state(S)),
    stop_both(Both).

%%% ================================================================== report

%% OTP 25 error_info/7: format_status/1 sees reason, state, data, queue,
%% postponed, timeouts and log, and the report shows what it returns.
report_format_status_1(_Config) ->
    with_reports(
      fun() ->
              Report = same_report(throng_t_fs1, #{secret => 42}, [{arm, t1}, postpone]),
              ?assertMatch(#{state := {{shown, a}, {keys, [secret]}},
                             reason := {exit, {formatted, boom}, _},
                             queue := [{cast, hidden}],
                             postponed := [{cast, hidden}],
                             timeouts := {1, [{{timeout, t1}, hidden}]}},
                           Report),
              %% gen_statem's formatter prints it.
              Text = lists:flatten(io_lib:format("~ts", [gen_statem:format_log(Report, #{})])),
              ?assert(string:find(Text, "formatted") =/= nomatch)
      end).

%% format_status(terminate, [PDict, State, Data]) replaces {State, Data}.
report_format_status_2(_Config) ->
    with_reports(
      fun() ->
              Report = same_report(throng_t_fs2, #{secret => 42}, []),
              ?assertMatch(#{state := {formatted, a}, reason := {exit, boom, _}}, Report),
              ?assertMatch(#{state := {thrown, terminate}},
                           same_report(throng_t_fs2, #{fs => throw}, [])),
              ?assertMatch(#{state := {not_a_list, terminate}},
                           same_report(throng_t_fs2, #{fs => term}, []))
      end).

%% OTP 25's error_info/7 logs the report unformatted when format_status
%% fails (no "crashed" string, unlike sys:get_status).
report_format_status_fails(_Config) ->
    with_reports(
      fun() ->
              [?assertMatch(#{state := {a, #{fs := Fs}}, reason := {exit, boom, _}},
                            same_report(Mod, #{fs => Fs}, []))
               || {Mod, Fs} <- [{throng_t_fs1, crash}, {throng_t_fs1, not_map},
                                {throng_t_fs1, missing_key}, {throng_t_fs2, crash}]]
      end).

%% init/1 raising: gen_statem's report has the state and data `undefined',
%% formatted too.
report_of_init_failure(_Config) ->
    with_reports(
      fun() ->
              {error, init_boom} = gen_statem:start(throng_t_fs1, {raise, exit, init_boom}, []),
              {error, init_boom} = throng:start(throng_t_fs1, {raise, exit, init_boom}, []),
              Reports = [receive
                             {throng_t_log, #{msg := {report, #{label := {gen_statem, terminate},
                                                                reason := {_, {formatted, init_boom}, _},
                                                                name := Name} = R}}}
                               when Form =:= pid, is_pid(Name);
                                    Form =:= session, is_tuple(Name) ->
                                 R
                         after ?T -> ct:fail({no_report, Form, mailbox()})
                         end || Form <- [pid, session]],
              [G, T] = [report_parts(R) || R <- Reports],
              ?assertEqual(G, T),
              ?assertMatch({exit, {formatted, init_boom},
                            #{state := {{shown, undefined}, {not_a_map, undefined}}}}, T)
      end).

%%% ================================================================== code change

%% sys:change_code/4 on a suspended gen_statem and throng:change_code/4:
%% ok, and the new state and data.
change_code_ok(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{secret => 42}),
    ?assertEqual(ok, gs_change_code(Pid, v1, ok)),
    ?assertEqual(ok, throng:change_code(S, throng_t_fs1, v1, ok)),
    Expected = {{new, a}, #{secret => 42, vsn => v1}},
    ?assertEqual(Expected, sys:get_state(Pid)),
    ?assertEqual(Expected, throng:get_state(S)),
    %% A thrown {ok, State, Data} is a return.
    Thrown = {ok, thrown, #{}},
    ?assertEqual(ok, gs_change_code(Pid, v2, {raise, throw, Thrown})),
    ?assertEqual(ok, throng:change_code(S, throng_t_fs1, v2, {raise, throw, Thrown})),
    ?assertEqual({thrown, #{}}, throng:get_state(S)),
    %% Still running, and not suspended.
    cast_both(Both, [seen]),
    ?assertEqual(sys:get_state(Pid), throng:get_state(S)),
    ?assertMatch(#{suspended := false}, throng:get_status(S)),
    stop_both(Both).

%% Any return but {ok, State, Data} is the error; {ok, _} is a case_clause
%% error in gen_statem; exceptions come as `catch' gives them. The session
%% is unchanged.
change_code_errors(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{secret => 42}),
    Cases = [{{return, {error, why}}, {error, {error, why}}},
             {{return, bad}, {error, bad}},
             {{return, {ok, a, b, c}}, {error, {ok, a, b, c}}},
             {{return, {ok, x}}, {error, {'EXIT', {{case_clause, {ok, x}}, stack}}}},
             {{raise, error, eboom}, {error, {'EXIT', {eboom, stack}}}},
             {{raise, exit, xboom}, {error, {'EXIT', xboom}}},
             {{raise, throw, tboom}, {error, tboom}}],
    [begin
         ?assertEqual({Extra, Expected}, {Extra, strip(gs_change_code(Pid, v1, Extra))}),
         ?assertEqual({Extra, Expected}, {Extra, strip(throng:change_code(S, throng_t_fs1, v1, Extra))})
     end || {Extra, Expected} <- Cases],
    ?assertEqual({a, #{secret => 42}}, sys:get_state(Pid)),
    ?assertEqual({a, #{secret => 42}}, throng:get_state(S)),
    ?assertMatch(#{suspended := false}, throng:get_status(S)),
    stop_both(Both).

%% A module without code_change/4: {error, {'EXIT', {undef, Stack}}}.
change_code_not_exported(_Config) ->
    {Pid, S} = Both = both(throng_t_fs2, #{}),
    ?assertEqual({error, {'EXIT', {undef, stack}}}, strip(gs_change_code(Pid, v1, x))),
    ?assertEqual({error, {'EXIT', {undef, stack}}},
                 strip(throng:change_code(S, throng_t_fs2, v1, x))),
    ?assertEqual({a, #{}}, throng:get_state(S)),
    stop_both(Both).

%% gen_statem's system_code_change/4 reads callback_mode() again after
%% code_change/4: a new mode applies at once (here: state enter calls at
%% the next state change); a bad one fails the code change.
change_code_rereads_callback_mode(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{}),
    Enter = {mode, [handle_event_function, state_enter]},
    ?assertEqual(ok, gs_change_code(Pid, v1, Enter)),
    ?assertEqual(ok, throng:change_code(S, throng_t_fs1, v1, Enter)),
    ?assertMatch(#{callback_mode := [handle_event_function, state_enter]}, throng:get_status(S)),
    cast_both(Both, [{next, b}]),
    ?assertEqual({b, #{seen => [{enter, a}]}}, throng:get_state(S)),
    ?assertEqual(sys:get_state(Pid), throng:get_state(S)),
    Bad = {mode, [state_enter]},
    Expected = {error, {'EXIT', {{bad_return_from_callback_mode, [state_enter]}, stack}}},
    ?assertEqual(Expected, strip(gs_change_code(Pid, v2, Bad))),
    ?assertEqual(Expected, strip(throng:change_code(S, throng_t_fs1, v2, Bad))),
    ok = persistent_term:put({throng_t_fs1, mode}, handle_event_function),
    ?assertMatch(#{callback_mode := [handle_event_function, state_enter]}, throng:get_status(S)),
    cast_both(Both, [{next, c}]),
    ?assertEqual({c, #{seen => [{enter, a}, {enter, b}]}}, throng:get_state(S)),
    ?assertEqual(sys:get_state(Pid), throng:get_state(S)),
    stop_both(Both).

change_code_on_suspended_session_stays_suspended(_Config) ->
    {ok, S} = throng:start(throng_t_fs1, #{}, []),
    ok = throng:suspend(S),
    ok = throng:cast(S, seen),
    ?assertEqual(ok, throng:change_code(S, throng_t_fs1, v1, ok)),
    ?assertMatch(#{suspended := true, queue_len := 1}, throng:get_status(S)),
    ?assertEqual({{new, a}, #{vsn => v1}}, throng:get_state(S)),
    ?assertMatch({error, _}, throng:change_code(S, throng_t_fs1, v2, {return, no})),
    ?assertMatch(#{suspended := true}, throng:get_status(S)),
    ok = throng:resume(S),
    ok = throng:sync(S),
    ?assertEqual({{new, a}, #{vsn => v1, seen => [v1]}}, throng:get_state(S)),
    ok = throng:stop(S).

%% The session is suspended while code_change/4 runs (in the caller): an
%% event sent meanwhile is handled after, with the new data.
events_sent_during_change_code_are_handled_after(_Config) ->
    {ok, S} = throng:start(throng_t_fs1, #{}, []),
    Self = self(),
    Changer = spawn_link(fun() ->
                                 Self ! {changed, self(), throng:change_code(S, throng_t_fs1, v1, {wait, Self})}
                         end),
    receive {in_code_change, Changer} -> ok after ?T -> ct:fail({no_code_change, mailbox()}) end,
    ok = throng:cast(S, seen),
    ?assertMatch(#{suspended := true, queue_len := 1}, throng:get_status(S)),
    ?assertEqual({a, #{}}, throng:get_state(S)),
    Changer ! go,
    receive {changed, Changer, Result} -> ?assertEqual(ok, Result)
    after ?T -> ct:fail({no_change, mailbox()})
    end,
    ok = throng:sync(S),
    ?assertEqual({{new, a}, #{vsn => v1, seen => [v1]}}, throng:get_state(S)),
    ?assertMatch(#{suspended := false}, throng:get_status(S)),
    ok = throng:stop(S).

%%% ================================================================== replace_state

replace_state(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{}),
    F = fun({State, Data}) -> {{replaced, State}, Data#{r => 1}} end,
    New = sys:replace_state(Pid, F),
    ?assertEqual({{replaced, a}, #{r => 1}}, New),
    ?assertEqual(New, throng:replace_state(S, F)),
    ?assertEqual(New, throng:get_state(S)),
    ?assertMatch(#{suspended := false}, throng:get_status(S)),
    %% sys:replace_state/2 takes {error, R} for its own error: the state
    %% is replaced, and the caller gets error(R).
    E = fun(_) -> {error, why} end,
    ?assertEqual({error, why}, caught(fun() -> sys:replace_state(Pid, E) end)),
    ?assertEqual({error, why}, caught(fun() -> throng:replace_state(S, E) end)),
    ?assertEqual({error, why}, caught(fun() -> sys:get_state(Pid) end)),
    %% (sys:get_state/1 does the same; throng:get_state/1 does not.)
    ?assertEqual({error, why}, throng:get_state(S)),
    stop_both(Both).

%% A crashing fun leaves the state as it was; sys raises
%% error({callback_failed, {gen_statem, system_replace_state}, {C, R}}).
replace_state_fun_crashes(_Config) ->
    {Pid, S} = Both = both(throng_t_fs1, #{}),
    [begin
         F = fun(_) -> erlang:raise(Class, R, []) end,
         Expected = {error, {callback_failed, {gen_statem, system_replace_state}, {Class, R}}},
         ?assertEqual(Expected, caught(fun() -> sys:replace_state(Pid, F) end)),
         ?assertEqual(Expected, caught(fun() -> throng:replace_state(S, F) end))
     end || {Class, R} <- [{error, boom}, {exit, xboom}, {throw, tboom}]],
    ?assertEqual({a, #{}}, sys:get_state(Pid)),
    ?assertEqual({a, #{}}, throng:get_state(S)),
    ?assertMatch(#{suspended := false}, throng:get_status(S)),
    %% A fun that gives no pair is refused (gen_statem takes it and
    %% crashes at its next event).
    ?assertEqual({error, {callback_failed, {gen_statem, system_replace_state},
                          {error, {bad_return, single}}}},
                 caught(fun() -> throng:replace_state(S, fun(_) -> single end) end)),
    ?assertEqual({a, #{}}, throng:get_state(S)),
    stop_both(Both).

replace_state_while_suspended(_Config) ->
    {ok, S} = throng:start(throng_t_fs1, #{}, []),
    ok = throng:suspend(S),
    ok = throng:cast(S, seen),
    ?assertEqual({b, #{vsn => x}}, throng:replace_state(S, fun({_, D}) -> {b, D#{vsn => x}} end)),
    ?assertMatch(#{suspended := true, queue_len := 1}, throng:get_status(S)),
    ok = throng:resume(S),
    ok = throng:sync(S),
    ?assertEqual({b, #{vsn => x, seen => [x]}}, throng:get_state(S)),
    ok = throng:stop(S).

%% A session that does not exist: the exits name the function, as sys's do.
noproc(_Config) ->
    {ok, S} = throng:start(throng_t_fs1, #{}, []),
    ok = throng:stop(S),
    F = fun(X) -> X end,
    ?assertEqual({'EXIT', {noproc, {throng, replace_state, [S, F]}}},
                 catch throng:replace_state(S, F)),
    ?assertEqual({'EXIT', {noproc, {throng, change_code, [S, throng_t_fs1, v1, ok]}}},
                 catch throng:change_code(S, throng_t_fs1, v1, ok)),
    ?assertEqual({'EXIT', {noproc, {throng, get_status, [S]}}}, catch throng:get_status(S)).

%%% ================================================================== helpers

%% The same module and init argument on gen_statem and on Throng.
both(Module, Arg) ->
    {ok, Pid} = gen_statem:start(Module, Arg, []),
    {ok, S} = throng:start(Module, Arg, []),
    {Pid, S}.

stop_both({Pid, S}) ->
    ok = gen_statem:stop(Pid),
    ok = throng:stop(S).

%% The same casts to both, handled when this returns.
cast_both({Pid, S}, Msgs) ->
    [begin
         ok = gen_statem:cast(Pid, M),
         ok = throng:cast(S, M)
     end || M <- Msgs],
    _ = sys:get_state(Pid),
    ok = throng:sync(S).

%% Throng's status, after checking that it shows what sys:get_status shows
%% of the state and data and of the time-outs.
same_status({Pid, S}) ->
    {status, Pid, {module, gen_statem}, [_PDict, _SysState, _Parent, _Debug, Formatted]} =
        sys:get_status(Pid),
    [{header, _}, {data, Items} | StateData] = Formatted,
    {"Time-outs", {_, Timeouts}} = lists:keyfind("Time-outs", 1, Items),
    Status = throng:get_status(S),
    Shown = case Status of
                #{status := R} when is_list(R) -> R;
                #{status := R} -> [R];
                #{state := St, data := D} -> [{data, [{"State", {St, D}}]}]
            end,
    ?assertEqual({StateData, Timeouts}, {Shown, maps:get(timeouts, Status)}),
    Status.

%% Crashes Module's gen_statem and session (after Events) and returns
%% Throng's report, after checking that both reports agree.
same_report(Module, Data, Events) ->
    {Pid, S} = Both = both(Module, Data),
    cast_both(Both, Events),
    ok = gen_statem:cast(Pid, {raise, exit, boom}),
    ok = throng:cast(S, {raise, exit, boom}),
    G = report_of(Pid),
    T = report_of(S),
    ?assertEqual(report_parts(G), report_parts(T)),
    T.

report_parts(#{reason := {Class, Reason, _}} = Report) ->
    {Class, Reason, maps:with([state, queue, postponed, timeouts, log, modules], Report)}.

report_of(Name) ->
    receive
        {throng_t_log, #{msg := {report, #{label := {gen_statem, terminate}, name := Name} = R}}} -> R
    after ?T -> ct:fail({no_report, Name, mailbox()})
    end.

with_reports(Fun) ->
    Id = list_to_atom(atom_to_list(?MODULE) ++ "_log"),
    ok = logger:add_handler(Id, throng_t_log_handler,
                            #{config => #{pid => self()}, level => all}),
    try Fun() after logger:remove_handler(Id) end.

gs_change_code(Pid, OldVsn, Extra) ->
    ok = sys:suspend(Pid),
    Result = sys:change_code(Pid, throng_t_fs1, OldVsn, Extra),
    ok = sys:resume(Pid),
    Result.

%% Stack traces replaced by `stack'.
strip({R, [{M, F, A, L} | _]}) when is_atom(M), is_atom(F), is_list(L), (is_list(A) orelse is_integer(A)) ->
    {strip(R), stack};
strip(T) when is_tuple(T) ->
    list_to_tuple([strip(E) || E <- tuple_to_list(T)]);
strip(X) ->
    X.

caught(Fun) ->
    try Fun() of
        V -> {returned, V}
    catch
        error:R -> {error, R}
    end.

mailbox() ->
    {messages, M} = process_info(self(), messages),
    M.
