%%% @doc GenStateMachine's test machine (`state_enter_test.exs' and
%%% `gen_state_machine_test.exs' "start_link/2, call/2 and cast/2"): a
%%% switch that counts its flips and its state enter calls.
%%%
%%% `handle_event_function' with `state_enter'. GEN_STATEM_SEMANTICS.md §1.8
%%% (enter calls on init and on each change, not on a same-state
%%% `next_state'), §3.
-module(throng_diff_m_switch).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

-spec init(term()) -> {ok, off, #{enters := 0, flips := 0}}.
init(_) ->
    throng_diff:log({init, off}),
    {ok, off, #{enters => 0, flips => 0}}.

-spec callback_mode() -> [handle_event_function | state_enter].
callback_mode() ->
    [handle_event_function, state_enter].

-spec handle_event(gen_statem:event_type() | enter, term(), off | on, map()) -> term().
handle_event(enter, Old, State, #{enters := E} = Data) ->
    throng_diff:log({State, enter, Old}),
    {next_state, State, Data#{enters := E + 1}};
handle_event(cast, flip, off, #{flips := F} = Data) ->
    throng_diff:log({off, cast, flip}),
    {next_state, on, Data#{flips := F + 1}};
handle_event(cast, flip, on, Data) ->
    throng_diff:log({on, cast, flip}),
    {next_state, off, Data};
handle_event(cast, stay, State, Data) ->
    throng_diff:log({State, cast, stay}),
    {next_state, State, Data};
handle_event({call, From}, get_count, State, Data) ->
    throng_diff:log({State, call, get_count}),
    {keep_state_and_data, [{reply, From, Data}]}.

-spec terminate(term(), off | on, map()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
