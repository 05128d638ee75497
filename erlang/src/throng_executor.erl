%%% @doc An executor: runs callback-module callbacks for an engine.
%%%
%%% Each executor serves one of the engine's work queues: when work arrives
%%% in its empty queue the engine sends it `'$throng_ring'' (a port engine:
%%% `{'$throng_work', Items}', the first batch itself), and it takes items
%%% `{Sid, Work}' in batches until the queue is empty. It calls each
%%% callback the way `gen_statem' does (a `throw' is a return; an exception
%%% of class `error' becomes the exit reason `{Reason, Stack}', of class
%%% `exit' the reason itself). The results of a batch's state callbacks go
%%% back in one engine call (the backend's `executor_done/4'), which applies
%%% gen_statem's rules to each, queues the sessions' next callbacks and
%%% hands out the next batch; `init/1', `terminate/3' and exceptions are
%%% handed in as they happen. A session has at most one callback running at
%%% a time, and all of its work goes to the same executor.
%%%
%%% While a callback runs, `throng:self()' is the session.
%%%
%%% Private to Throng.
-module(throng_executor).

-export([start_link/2, init/3, run_inline/3]).

-include_lib("kernel/include/logger.hrl").

-define(SELF, '$throng_self').
-define(RAISED, '$throng_raised').
%% Items per take: enough to make the ring and the NIF call cheap per
%% item, few enough that one take decodes in well under a millisecond.
-define(BATCH, 64).
%% Callbacks of one session a caller runs in a row (an event and the enter
%% calls that follow it) before it leaves the rest to the session's
%% executor.
-define(INLINE_RUNS, 8).

%% @doc Starts the executor of engine `E''s work queue `Ix' (0-based),
%% linked to the caller (the engine's owner).
-spec start_link(throng_backend:engine(), non_neg_integer()) -> {ok, pid()}.
start_link(E, Ix) ->
    proc_lib:start_link(?MODULE, init, [self(), E, Ix]).

%% @private
-spec init(pid(), throng_backend:engine(), non_neg_integer()) -> no_return().
init(Parent, E, Ix) ->
    proc_lib:init_ack(Parent, {ok, self()}),
    loop(E, Ix).

-spec loop(throng_backend:engine(), non_neg_integer()) -> no_return().
loop(E, Ix) ->
    receive
        '$throng_ring' ->
            drain(E, Ix),
            loop(E, Ix);
        {'$throng_work', Items} ->
            %% A port engine hands an idle executor its first batch.
            batch(E, Ix, Items),
            loop(E, Ix);
        _Stray ->
            loop(E, Ix)
    end.

drain(E, Ix) ->
    batch(E, Ix, throng_backend:executor_take(E, Ix, ?BATCH)).

%% Runs a batch; the state callbacks' results go back in one NIF call,
%% which hands out the next batch.
batch(_E, _Ix, []) ->
    ok;
batch(_E, _Ix, {error, _}) ->
    %% The engine is gone (a port engine's program died): nothing to run.
    ok;
batch(E, Ix, Items) ->
    Results = run_all(E, Items, []),
    batch(E, Ix, done(E, Ix, Results)).

done(E, Ix, Results) ->
    case throng_backend:executor_done(E, Ix, Results, ?BATCH) of
        {ok, Items} ->
            Items;
        {busy, Rest} ->
            erlang:yield(),
            done(E, Ix, Rest);
        {error, _} = Error ->
            Error
    end.

%% Runs each item; the results of state callbacks that returned are kept
%% (in order) for executor_done/4, everything else is handed in at once.
run_all(E, [{Sid, Work} | Items], Acc) ->
    put(?SELF, {throng, E, Sid}),
    R = run(E, Sid, Work),
    erase(?SELF),
    case R of
        ok -> run_all(E, Items, Acc);
        Result -> run_all(E, Items, [Result | Acc])
    end;
run_all(_E, [], Acc) ->
    lists:reverse(Acc).

run(E, Sid, {event, _, _, _, _, _, _} = Work) ->
    state_work(E, Sid, Work, executor);
run(E, Sid, {enter, _, _, _, _, _} = Work) ->
    state_work(E, Sid, Work, executor);
run(E, Sid, {init, Mod, Args, {Pid, Tag}}) ->
    Outcome =
        try Mod:init(Args) of
            Result -> init_result(E, Sid, Mod, Result)
        catch
            throw:Result -> init_result(E, Sid, Mod, Result);
            Class:Reason:Stack ->
                %% As gen_statem's init_it/6: the starter gets {error, Reason},
                %% the session exits with the exception's exit reason, and an
                %% error report is logged.
                _ = throng_lib:retry(fun() -> throng_backend:session_raise(E, Sid, init, raised(Class, Reason, Stack)) end),
                log_init_failure(E, Sid, Mod, {Class, Reason, Stack}),
                {error, Reason}
        end,
    %% A session killed while init/1 ran (a start time-out) is gone: its
    %% starter gave up and gets nothing.
    _ = case Outcome of
            gone -> ok;
            _ -> Pid ! {Tag, Outcome}
        end,
    ok;
run(E, Sid, {terminate, Mod, Reason, State, Data, Raised}) ->
    _ = case Raised of
            undefined -> ok;
            _ -> put({?RAISED, Sid}, Raised)
        end,
    Report =
        case has_terminate(Mod) of
            false ->
                terminated(E, Sid);
            true ->
                try Mod:terminate(Reason, State, Data) of
                    _ -> terminated(E, Sid)
                catch
                    throw:_ -> terminated(E, Sid);
                    Class:R:Stack ->
                        throng_names:unregister(E, Sid),
                        throng_lib:retry(fun() -> throng_backend:session_raise(E, Sid, terminate, raised(Class, R, Stack)) end)
                end
        end,
    log_terminate(E, Sid, Report).

%% @doc Runs, in the calling process, the state callback the engine
%% handed it (`{run, Work}' from `throng_backend:session_send/5' or
%% `session_call/6': see the engine's `inline' option), as an executor
%% would, then the session's enter calls while the engine hands them over
%% (at most `?INLINE_RUNS' in all). Private to Throng.
-spec run_inline(throng_backend:engine(), throng_backend:sid(), tuple()) -> ok.
run_inline(E, Sid, Work) ->
    run_inline(E, Sid, Work, ?INLINE_RUNS).

run_inline(E, Sid, Work, N) ->
    put(?SELF, {throng, E, Sid}),
    R = state_work(E, Sid, Work, inline),
    erase(?SELF),
    case R of
        {Sid, Result, Modes} ->
            case throng_lib:retry(fun() -> throng_backend:session_done(E, Sid, Result, Modes, N > 1) end) of
                {run, Next} -> run_inline(E, Sid, Next, N - 1);
                _ -> ok
            end;
        ok ->
            ok
    end.

%% A state callback (event or enter call): `{Sid, Result, Modes}' for the
%% engine, or `ok' when it raised (handed in at once).
state_work(E, Sid, {event, Mod, Mode, Type, Content, State, Data}, How) ->
    try state_callback(Mod, Mode, Type, Content, State, Data) of
        Result -> result(Sid, Result, State, Data)
    catch
        throw:Result -> result(Sid, Result, State, Data);
        Class:Reason:Stack -> raise(E, Sid, How, Class, Reason, Stack)
    end;
state_work(E, Sid, {enter, Mod, Mode, Old, State, Data}, How) ->
    try state_callback(Mod, Mode, enter, Old, State, Data) of
        Result -> result(Sid, Result, State, Data)
    catch
        throw:Result -> result(Sid, Result, State, Data);
        Class:Reason:Stack -> raise(E, Sid, How, Class, Reason, Stack)
    end.

%% The name goes before the session's monitors hear of its end, so a
%% name is free when stop/1 returns (as a process's registered name).
terminated(E, Sid) ->
    throng_names:unregister(E, Sid),
    throng_lib:retry(fun() -> throng_backend:session_terminated(E, Sid) end).

state_callback(Mod, handle_event_function, Type, Content, State, Data) ->
    Mod:handle_event(Type, Content, State, Data);
state_callback(Mod, state_functions, Type, Content, State, Data) ->
    Mod:State(Type, Content, Data).

init_result(E, Sid, Mod, Result) ->
    case throng_lib:retry(fun() -> throng_backend:session_init_result(E, Sid, Result, modes([Mod | targets(Result)])) end) of
        {error, {bad_return_from_init, _} = Bad} = Failed ->
            log_init_failure(E, Sid, Mod, {error, Bad, []}),
            Failed;
        Outcome ->
            Outcome
    end.

%% gen_statem logs init/1's exceptions and bad returns (not {stop, R}).
log_init_failure(E, Sid, Mod, {_, Reason, _} = Raised) ->
    put({?RAISED, Sid}, Raised),
    log_terminate(E, Sid, #{reason => Reason, state => undefined, data => undefined,
                            queue => [], postponed => [], timeouts => [], modules => [Mod],
                            callback_mode => [undefined]}),
    Reason.


%% What executor_done/4 takes for a state callback's result.
result(Sid, Result, State, Data) ->
    {Sid, same(Result, State, Data), modes(targets(Result))}.

%% A result that keeps the state (`next_state' to the state the callback
%% was called in is keep_state, by gen_statem's rules) or the data is handed
%% over in the form that says so, so the engine does not encode again what
%% it already holds. Matching a bound variable is `=:=', gen_statem's test.
same({next_state, S, D}, S, D) -> keep_state_and_data;
same({next_state, S, D, A}, S, D) -> {keep_state_and_data, A};
same({next_state, S, D}, S, _) -> {keep_state, D};
same({next_state, S, D, A}, S, _) -> {keep_state, D, A};
same({keep_state, D}, _, D) -> keep_state_and_data;
same({keep_state, D, A}, _, D) -> {keep_state_and_data, A};
same(Result, _, _) -> Result.

raise(E, Sid, executor, Class, Reason, Stack) ->
    %% Remembered for the error report, which terminate's work item (sent
    %% to this same executor) logs with the exception's class and stack.
    put({?RAISED, Sid}, {Class, Reason, Stack}),
    _ = throng_lib:retry(fun() -> throng_backend:session_raise(E, Sid, callback, raised(Class, Reason, Stack)) end),
    ok;
raise(E, Sid, inline, Class, Reason, Stack) ->
    %% terminate/3 runs in the session's executor: the engine keeps the
    %% exception for the report and hands it over with the work item.
    {R, Exit} = raised(Class, Reason, Stack),
    _ = throng_lib:retry(fun() -> throng_backend:session_raise(E, Sid, callback, {R, Exit, {Class, Reason, Stack}}) end),
    ok.

%% gen_statem's exit reasons: class error gives {Reason, Stack}.
exit_reason(error, Reason, Stack) -> {Reason, Stack};
exit_reason(_, Reason, _) -> Reason.

%% What the engine keeps of an exception: terminate/3 gets the reason, the
%% session exits with the exit reason.
raised(Class, Reason, Stack) ->
    {Reason, exit_reason(Class, Reason, Stack)}.

has_terminate(Mod) ->
    _ = code:ensure_loaded(Mod),
    erlang:function_exported(Mod, terminate, 3).

%% The callback modes of the modules a result names: the engine reads the
%% new head's callback_mode() at once when it applies a module change.
modes([]) ->
    [];
modes(Mods) ->
    [{M, callback_mode(M)} || M <- lists:usort(Mods)].

callback_mode(Mod) ->
    try Mod:callback_mode() of
        Mode -> Mode
    catch
        throw:Mode -> Mode;
        Class:Reason -> {'EXIT', {Class, Reason}}
    end.

%% The modules a result's actions change to (only the actions position:
%% state and data are never looked into).
targets({next_state, _, _, A}) -> action_targets(A);
targets({keep_state, _, A}) -> action_targets(A);
targets({keep_state_and_data, A}) -> action_targets(A);
targets({repeat_state, _, A}) -> action_targets(A);
targets({repeat_state_and_data, A}) -> action_targets(A);
targets({ok, _, _, A}) -> action_targets(A);
targets(_) -> [].

action_targets(Actions) when is_list(Actions) -> lists:flatmap(fun action_target/1, proper(Actions));
action_targets(Action) -> action_target(Action).

action_target({change_callback_module, M}) when is_atom(M) -> [M];
action_target({push_callback_module, M}) when is_atom(M) -> [M];
action_target(_) -> [].

%% The elements of a possibly improper list.
proper([H | T]) -> [H | proper(T)];
proper(_) -> [].

%% gen_statem logs an error report unless the reason is normal, shutdown
%% or {shutdown, _}; the report has gen_statem's shape, so gen_statem's own
%% formatter prints it.
log_terminate(E, Sid, #{reason := Reason} = Report) ->
    case Reason of
        normal -> ok;
        shutdown -> ok;
        {shutdown, _} -> ok;
        _ ->
            #{state := State, data := Data, queue := Q, postponed := P, timeouts := T,
              modules := Modules, callback_mode := [Mode | Enter]} = Report,
            ?LOG_ERROR(throng_status:report(
                       #{label => {gen_statem, terminate},
                         name => {throng, E, Sid},
                         queue => Q,
                         postponed => P,
                         modules => Modules,
                         callback_mode => Mode,
                         state_enter => Enter =/= [],
                         state => {State, Data},
                         timeouts => {length(T), T},
                         log => [],
                         reason => report_reason(Sid, Reason),
                         client_info => undefined}),
                       #{domain => [otp], report_cb => fun gen_statem:format_log/2,
                         error_logger => #{tag => error}})
    end;
log_terminate(_E, _Sid, _) ->
    ok.

%% gen_statem's report gives `{Class, Reason, Stack}': an exception as it
%% was raised; its own errors (bad returns and actions) as class error;
%% stop reasons as class exit.
report_reason(Sid, Reason) ->
    case erase({?RAISED, Sid}) of
        {_Class, Reason, _Stack} = Raised ->
            Raised;
        {_, _, _} ->
            report_reason(Sid, Reason);
        undefined when is_tuple(Reason), tuple_size(Reason) =:= 2 ->
            case element(1, Reason) of
                bad_return_from_init -> {error, Reason, []};
                bad_return_from_callback_mode -> {error, Reason, []};
                bad_return_from_state_function -> {error, Reason, []};
                bad_state_enter_return_from_state_function -> {error, Reason, []};
                bad_action_from_state_function -> {error, Reason, []};
                bad_state_enter_action_from_state_function -> {error, Reason, []};
                bad_reply_action_from_state_function -> {error, Reason, []};
                _ -> {exit, Reason, []}
            end;
        undefined ->
            {exit, Reason, []}
    end.
