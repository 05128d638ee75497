%%% @doc OTP `gen_statem_SUITE:state_timeout/1' as a callback module.
%%%
%%% `state_functions'. Checks that inserted events go before external ones,
%%% that a state change cancels the state time-out, the order of zero
%%% time-outs (a zero event time-out is cancelled by a pending zero state
%%% time-out; a restarted pending zero time-out takes the new message), that a state time-out set with a state change fires in the
%%% new state, and that a message the machine sends itself (OTP:
%%% `self() ! message_to_self'; here `throng_diff:self_send/1') is an info
%%% event that waits behind all of that. GEN_STATEM_SEMANTICS.md §1.6, §1.7.
-module(throng_diff_m_state_timeout).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, start/3, state1/3, state2/3, state3/3, terminate/3]).

-spec init(term()) -> {ok, start, 0}.
init(_) ->
    throng_diff:log({init, start}),
    {ok, start, 0}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec start(gen_statem:event_type(), term(), term()) -> term().
start({call, From}, {go, Time}, 0) ->
    throng_diff:log({start, call, go}),
    ok = throng_diff:self_send(message_to_self),
    {next_state, state1, {Time, From},
        %% Internal events go before external ones.
        [{state_timeout, Time, 1}, {next_event, internal, 1}]}.

-spec state1(gen_statem:event_type(), term(), term()) -> term().
state1(internal, 1, Data) ->
    throng_diff:log({state1, internal, 1}),
    %% The state change cancels state time-out 1.
    {next_state, state2, Data, [{timeout, 0, 2}, {state_timeout, 0, 2}, {next_event, internal, 2}]}.

-spec state2(gen_statem:event_type(), term(), term()) -> term().
state2(internal, 2, Data) ->
    throng_diff:log({state2, internal, 2}),
    %% {state_timeout,0,_} comes after next_event, and {timeout,0,_} is
    %% cancelled by the pending {state_timeout,0,_}.
    {keep_state, {ok, 2, Data}, [{timeout, 0, 3}]};
state2(state_timeout, 2, {ok, 2, Data}) ->
    throng_diff:log({state2, state_timeout, 2}),
    %% Zero time-outs are handled in order.
    {keep_state, {ok, 3, Data}, [{timeout, 0, 4}, {state_timeout, 0, 5}]};
state2(timeout, 4, {ok, 3, Data}) ->
    throng_diff:log({state2, timeout, 4}),
    %% A zero event time-out is cancelled by a queued zero state time-out.
    %% The pending zero state time-out 5 is restarted with 6: since OTP 24
    %% zero time-outs have a queue of their own (t0q) and a restart
    %% replaces the message and moves it last (§1.7), so 5 is never
    %% delivered. (The pre-24 suite expected 5, then 6.)
    {keep_state, {ok, 4, Data}, [{state_timeout, 0, 6}, {timeout, 0, 7}]};
state2(state_timeout, 6, {ok, 4, {Time, From}}) ->
    throng_diff:log({state2, state_timeout, 6}),
    {next_state, state3, 6, [{reply, From, ok}, {state_timeout, Time, 8}]}.

-spec state3(gen_statem:event_type(), term(), term()) -> term().
state3(info, message_to_self, 6) ->
    throng_diff:log({state3, info, message_to_self}),
    {keep_state, 7};
state3({call, From}, check, 7) ->
    throng_diff:log({state3, call, check}),
    {keep_state, From};
state3(state_timeout, 8, From) ->
    throng_diff:log({state3, state_timeout, 8}),
    {stop_and_reply, normal, {reply, From, ok}}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
