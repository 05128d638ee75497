%%% @doc A state enter call answers a call received earlier, from a `From'
%%% the event callback saved in the data; the time-outs of the event
%%% callback and of the enter call accumulate, the last of each type wins.
%%%
%%% `state_functions' with `state_enter'. GEN_STATEM_SEMANTICS.md §1.7
%%% ("last wins per type", a state time-out set in the enter call belongs
%%% to the new state), §1.8 ("an enter call may reply to a call received
%%% earlier"; allowed enter actions: reply, hibernate, time-outs).
-module(throng_diff_m_enter_reply).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, idle/3, working/3, terminate/3]).

-spec init(term()) -> {ok, idle, undefined}.
init(_) ->
    throng_diff:log({init, idle}),
    {ok, idle, undefined}.

-spec callback_mode() -> [state_functions | state_enter].
callback_mode() ->
    [state_functions, state_enter].

-spec idle(gen_statem:event_type() | enter, term(), term()) -> term().
idle(enter, Old, _Data) ->
    throng_diff:log({idle, enter, Old}),
    keep_state_and_data;
idle({call, From} = T, go, _Data) ->
    throng_diff:log({idle, T, go}),
    %% No reply here: the enter call of `working' answers.
    {next_state, working, {saved, From}, [
        {state_timeout, 100, from_event},
        {timeout, 10, event_timeout_from_event}
    ]}.

-spec working(gen_statem:event_type() | enter, term(), term()) -> term().
working(enter, Old, {saved, From}) ->
    throng_diff:log({working, enter, Old}),
    %% Wins over the event callback's state time-out of 100 ms.
    {keep_state, answered, [
        {reply, From, {entered, working, Old}},
        hibernate,
        {state_timeout, 30, from_enter}
    ]};
working(timeout = T, Msg, _Data) ->
    throng_diff:log({working, T, Msg}),
    keep_state_and_data;
working(state_timeout = T, Msg, _Data) ->
    throng_diff:log({working, T, Msg}),
    keep_state_and_data.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
