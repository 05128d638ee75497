%%% @doc A session's status as `gen_statem' shows it, and its code change.
%%%
%%% `format_status/1,2' of the session's callback module (the head of its
%%% module stack) formats what `throng:get_status/1' returns and what the
%%% terminate error report holds, by the rules of OTP 25's `gen_statem'
%%% (`format_status/2' for `sys:get_status', `error_info/7' for the report,
%%% both through `gen:format_status/4'):
%%%
%%% <ul>
%%% <li>`format_status/1', if exported, wins over `format_status/2'. It
%%%   gets a map and must give back a map with at least the same keys; the
%%%   values of those keys replace the shown ones.</li>
%%% <li>`format_status/2' gets `(normal | terminate, [PDict, State, Data])';
%%%   what it returns (or throws) replaces `{State, Data}'. `PDict' is `[]':
%%%   a session has no process dictionary.</li>
%%% <li>When `format_status' raises (a throw too, for `/1'), or `/1'
%%%   returns something else or a map without every key: the status shows
%%%   the state and, as the data, the string `"Mod:format_status/N
%%%   crashed"' (or `"... did not return a map"', `"... returned a map with
%%%   unknown keys"'); the error report is left unformatted, as OTP 25's
%%%   `error_info/7' leaves it.</li>
%%% </ul>
%%%
%%% `change_code/3' and `replace_state/2' are `sys:change_code/4' and
%%% `sys:replace_state/2' (gen_statem's `system_code_change/4' and
%%% `system_replace_state/2'): they run in the caller, on the session
%%% suspended, and hand the new state and data to the engine.
%%%
%%% Private to Throng: `throng' and `throng_executor' call it.
-module(throng_status).

-export([status/1, report/1, change_code/3, replace_state/2]).

%% A session's system requests, as `throng' makes them for one of its
%% functions: returns the reply, exits as that function does.
-type system() :: fun((term()) -> term()).

-export_type([system/0]).

%%% ------------------------------------------------------------ format_status

%% @doc The status `throng:get_status/1' returns. `format_status/1' gets
%% `#{state, data, postponed, timeouts, log}' (`postponed' and `log' are
%% `[]': the status shows neither) and its `state', `data' and `timeouts'
%% are shown. `format_status(normal, [[], State, Data])' replaces `state'
%% and `data' with `status => Result', which is what `sys:get_status/1'
%% shows in their place.
-spec status(#{atom() => term()}) -> #{atom() => term()}.
status(#{modules := [Mod | _], state := State, data := Data, timeouts := Timeouts} = Status) ->
    In = #{state => State, data => Data, postponed => [], timeouts => Timeouts, log => []},
    case format(Mod, normal, In, State, Data) of
        none -> Status;
        {map, #{state := S, data := D, timeouts := T}} -> Status#{state := S, data := D, timeouts := T};
        {term, Result} -> (maps:without([state, data], Status))#{status => Result};
        {failed, Why} -> Status#{data := Why}
    end.

%% @doc The `{gen_statem, terminate}' error report (gen_statem's shape)
%% formatted as `error_info/7' does: `format_status/1' gets `#{reason,
%% state, data, queue, postponed, timeouts, log}' (`reason' is the middle
%% of the report's `{Class, Reason, Stack}'); `format_status(terminate,
%% [[], State, Data])' replaces `{State, Data}'.
-spec report(#{atom() => term()}) -> #{atom() => term()}.
report(#{modules := [Mod | _], state := {State, Data}, reason := {Class, Reason, Stack},
         queue := Q, postponed := P, timeouts := {N, T}, log := Log} = Report) ->
    In = #{reason => Reason, state => State, data => Data, queue => Q, postponed => P,
           timeouts => T, log => Log},
    case format(Mod, terminate, In, State, Data) of
        {map, Out} ->
            Report#{state := {maps:get(state, Out), maps:get(data, Out)},
                    reason := {Class, maps:get(reason, Out), Stack},
                    queue := maps:get(queue, Out),
                    postponed := maps:get(postponed, Out),
                    timeouts := {N, maps:get(timeouts, Out)},
                    log := maps:get(log, Out)};
        {term, Result} ->
            Report#{state := Result};
        _NoneOrFailed ->
            Report
    end.

%% gen:format_status/4: which format_status the module has, and what it
%% made of the status.
format({native, _}, _Opt, _In, _State, _Data) ->
    %% A native machine has no format_status.
    none;
format(Mod, Opt, In, State, Data) ->
    _ = code:ensure_loaded(Mod),
    case {erlang:function_exported(Mod, format_status, 1),
          erlang:function_exported(Mod, format_status, 2)} of
        {true, _} ->
            try Mod:format_status(In) of
                Out when is_map(Out) ->
                    case lists:all(fun(K) -> is_map_key(K, Out) end, maps:keys(In)) of
                        true -> {map, Out};
                        false -> {failed, failed(Mod, "/1 returned a map with unknown keys")}
                    end;
                _ ->
                    {failed, failed(Mod, "/1 did not return a map")}
            catch
                _:_ -> {failed, failed(Mod, "/1 crashed")}
            end;
        {false, true} ->
            try Mod:format_status(Opt, [[], State, Data]) of
                Result -> {term, Result}
            catch
                throw:Result -> {term, Result};
                _:_ -> {failed, failed(Mod, "/2 crashed")}
            end;
        {false, false} ->
            none
    end.

failed(Mod, What) ->
    atom_to_list(Mod) ++ ":format_status" ++ What.

%%% ------------------------------------------------------------ code change

%% @doc `sys:change_code/4' on a session: `Mod:code_change(OldVsn, State,
%% Data, Extra)' of the head module, then its `callback_mode()' read again,
%% then the new state, data and mode installed; `ok' or `{error, Reason}'
%% with the reasons `sys' gives, the session unchanged on an error.
-spec change_code(system(), term(), term()) -> ok | {error, term()}.
change_code(System, OldVsn, Extra) ->
    suspended(System,
              fun(#{modules := [Mod | _], state := State, data := Data}) ->
                      case code_change(Mod, OldVsn, State, Data, Extra) of
                          {ok, NewState, NewData, Mode} ->
                              ok = System({replace_state, NewState, NewData, Mode});
                          {error, _} = Error ->
                              Error
                      end
              end).

%% gen_statem's system_code_change/4 as sys:change_code/4 sees it through
%% its `catch': a throw is a return; any return but {ok, S, D} is the
%% error; an exception is {'EXIT', ...}.
code_change(Mod, OldVsn, State, Data, Extra) ->
    try
        Result = try Mod:code_change(OldVsn, State, Data, Extra)
                 catch throw:Thrown -> Thrown
                 end,
        case Result of
            {ok, NewState, NewData} -> {ok, NewState, NewData, callback_mode(Mod)};
            {ok, _} -> erlang:error({case_clause, Result});
            Error -> {error, Error}
        end
    catch
        error:Reason:Stack -> {error, {'EXIT', {Reason, Stack}}};
        exit:Reason -> {error, {'EXIT', Reason}};
        throw:Reason -> {error, Reason}
    end.

%% The module's callback_mode() result, checked by gen_statem's rules
%% (callback_mode_result/4): a mode or a list of atoms with at least one
%% mode and otherwise state_enter. A throw is a result; a bad one raises as
%% gen_statem does.
callback_mode(Mod) ->
    Result = try Mod:callback_mode() catch throw:Thrown -> Thrown end,
    Items = case is_list(Result) of
                true -> Result;
                false -> [Result]
            end,
    Valid = lists:all(fun(I) -> lists:member(I, [state_functions, handle_event_function, state_enter]) end, Items)
        andalso lists:any(fun(I) -> I =/= state_enter end, Items),
    case Valid of
        true -> Result;
        false -> erlang:error({bad_return_from_callback_mode, Result})
    end.

%% @doc `sys:replace_state/2' on a session: `{State, Data}' becomes what
%% `StateFun({State, Data})' returns, which is returned. When `StateFun'
%% raises, the session is unchanged and this raises
%% `error({callback_failed, {gen_statem, system_replace_state}, {Class,
%% Reason}})' as `sys' does. A result that is not a pair is refused the
%% same way, with `{error, {bad_return, Result}}' as `{Class, Reason}'
%% (gen_statem would take it and crash at its next event). A new state
%% `{error, R}' is taken and then raises `error(R)', as `sys' does.
-spec replace_state(system(), fun(({term(), term()}) -> {term(), term()})) -> {term(), term()}.
replace_state(System, StateFun) ->
    Replaced =
        suspended(System,
                  fun(#{state := State, data := Data}) ->
                          try StateFun({State, Data}) of
                              {NewState, NewData} = New ->
                                  ok = System({replace_state, NewState, NewData}),
                                  {ok, New};
                              Other ->
                                  {failed, error, {bad_return, Other}}
                          catch
                              Class:Reason -> {failed, Class, Reason}
                          end
                  end),
    case Replaced of
        %% sys:replace_state/2 takes a new state {error, R} for its own
        %% error answer (and the process keeps it): so does this.
        {ok, {error, Reason}} -> erlang:error(Reason);
        {ok, New} -> New;
        {failed, Class, Reason} -> erlang:error({callback_failed, {gen_statem, system_replace_state}, {Class, Reason}})
    end.

%% Runs `Fun' on the status of the session suspended (unless it already
%% was), so that no event is handled between reading the state and
%% replacing it; resumes it after (unless it was suspended before).
suspended(System, Fun) ->
    #{suspended := Suspended} = System(get_status),
    _ = Suspended orelse System(suspend),
    try
        Fun(System(get_status))
    after
        _ = Suspended orelse System(resume)
    end.
