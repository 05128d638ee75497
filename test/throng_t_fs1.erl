%%% A handle_event_function callback module with format_status/1 (and a
%%% format_status/2 that must never be called: /1 wins) and code_change/4,
%%% for throng_status_SUITE. It runs unchanged on gen_statem, so the suite
%%% can compare.
%%%
%%% init(Data): state `a', data `Data' (a map). `fs' in the data says what
%%% format_status/1 does: `hide' (the default; see format_status/1),
%%% `crash', `throw', `not_map', `missing_key' or `extra_key'.
%%%
%%% Casts: `{set, K, V}' sets a data key; `{arm, Name}' starts a generic
%%% time-out (an hour) with message `{secret, Name}'; `postpone' is
%%% postponed; `{next, S}' moves to state S; `seen' appends the data's
%%% `vsn' (or `none') to its `seen' list; `{raise, C, R}' raises.
%%% Calls: `get' replies `{State, Data}'. Enter calls (when callback_mode/0
%%% says state_enter) append `{enter, Old}' to `seen'.
%%%
%%% code_change(OldVsn, State, Data, Extra): Extra says what it does:
%%% `ok' gives `{ok, {new, State}, Data#{vsn => OldVsn}}'; `{return, R}'
%%% returns R; `{raise, C, R}' raises; `{mode, M}' makes callback_mode/0
%%% return M from now on and keeps state and data; `{wait, Pid}' tells Pid
%%% `{in_code_change, self()}', waits for `go', then does what `ok' does.
%%% callback_mode/0 returns the persistent term `{throng_t_fs1, mode}'
%%% (default handle_event_function).
-module(throng_t_fs1).

-export([callback_mode/0, init/1, handle_event/4, terminate/3, code_change/4,
         format_status/1, format_status/2]).

callback_mode() ->
    persistent_term:get({?MODULE, mode}, handle_event_function).

init(Data) when is_map(Data) ->
    {ok, a, Data};
init({raise, Class, R}) ->
    raise(Class, R).

handle_event(enter, Old, _State, Data) ->
    {keep_state, seen({enter, Old}, Data)};
handle_event(cast, {set, K, V}, _State, Data) ->
    {keep_state, Data#{K => V}};
handle_event(cast, {arm, Name}, _State, _Data) ->
    {keep_state_and_data, [{{timeout, Name}, 3600000, {secret, Name}}]};
handle_event(cast, postpone, _State, _Data) ->
    {keep_state_and_data, [postpone]};
handle_event(cast, {next, S}, _State, Data) ->
    {next_state, S, Data};
handle_event(cast, seen, _State, Data) ->
    {keep_state, seen(maps:get(vsn, Data, none), Data)};
handle_event(cast, {raise, Class, R}, _State, _Data) ->
    raise(Class, R);
handle_event({call, From}, get, State, Data) ->
    {keep_state_and_data, [{reply, From, {State, Data}}]};
handle_event(_Type, _Content, _State, _Data) ->
    keep_state_and_data.

terminate(_Reason, _State, _Data) ->
    ok.

code_change(OldVsn, State, Data, ok) ->
    {ok, {new, State}, Data#{vsn => OldVsn}};
code_change(_OldVsn, _State, _Data, {return, R}) ->
    R;
code_change(_OldVsn, _State, _Data, {raise, Class, R}) ->
    raise(Class, R);
code_change(_OldVsn, State, Data, {mode, M}) ->
    persistent_term:put({?MODULE, mode}, M),
    {ok, State, Data};
code_change(OldVsn, State, Data, {wait, Pid}) ->
    Pid ! {in_code_change, self()},
    receive go -> ok end,
    code_change(OldVsn, State, Data, ok).

%% hide: the state is shown as {shown, State}, the data as its keys, the
%% time-outs' messages as `hidden'; on terminate the reason as {formatted,
%% Reason}, the queue's and postponed events' contents as `hidden'.
format_status(#{data := Data} = Status) ->
    Fs = case is_map(Data) of
             true -> maps:get(fs, Data, hide);
             false -> hide
         end,
    case Fs of
        hide -> maps:map(fun hide/2, Status);
        crash -> erlang:error(format_status_crashed);
        throw -> throw(Status);
        not_map -> not_a_map;
        missing_key -> maps:remove(timeouts, Status);
        extra_key -> Status#{extra => 1}
    end.

format_status(_Opt, _PDictStateData) ->
    erlang:error(format_status_2_must_not_be_called).

hide(state, S) -> {shown, S};
hide(data, D) when is_map(D) -> {keys, lists:sort(maps:keys(D))};
hide(data, D) -> {not_a_map, D};
hide(timeouts, T) -> [{Type, hidden} || {Type, _} <- T];
hide(reason, R) -> {formatted, R};
hide(queue, Q) -> [{Type, hidden} || {Type, _} <- Q];
hide(postponed, P) -> [{Type, hidden} || {Type, _} <- P];
hide(_, V) -> V.

seen(X, Data) ->
    Data#{seen => maps:get(seen, Data, []) ++ [X]}.

raise(error, R) -> erlang:error(R);
raise(exit, R) -> erlang:exit(R);
raise(throw, R) -> erlang:throw(R).
