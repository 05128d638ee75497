%%% @doc OTP `gen_statem_SUITE:generic_timers/1' as a callback module,
%%% its times divided by ten.
%%%
%%% `state_functions'. Generic time-outs survive state changes; `{abs,true}'
%%% with `erlang:monotonic_time(millisecond)'; `[{abs,false}]' with 0; a
%%% zero event time-out cancelled by an earlier zero generic time-out;
%%% `infinity' cancels a generic time-out; a restarted generic time-out
%%% carries the call as content and answers it later.
%%% GEN_STATEM_SEMANTICS.md §1.7.
-module(throng_diff_m_generic_timers).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, start/3, state1/3, state2/3, state3/3, state4/3, terminate/3]).

-spec init(term()) -> {ok, start, undefined}.
init(_) ->
    throng_diff:log({init, start}),
    {ok, start, undefined}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec start(gen_statem:event_type(), term(), term()) -> term().
start({call, _} = Call, Req, undefined) ->
    throng_diff:log({start, Call, Req}),
    {next_state, state1, undefined, [
        {{timeout, a}, 150, 1},
        {state_timeout, 150, 1},
        {{timeout, b}, 100, 1},
        {next_event, Call, Req}
    ]}.

-spec state1(gen_statem:event_type(), term(), term()) -> term().
state1({call, _} = Call, Req, undefined) ->
    throng_diff:log({state1, Call, Req}),
    T = erlang:monotonic_time(millisecond) + 50,
    {next_state, state2, undefined, [
        {{timeout, c}, T, 2, {abs, true}},
        {{timeout, d}, 0, 2, [{abs, false}]},
        {timeout, 0, 2},
        {{timeout, b}, infinity, 2},
        {{timeout, a}, 100, {Call, Req}}
    ]}.

-spec state2(gen_statem:event_type(), term(), term()) -> term().
state2({timeout, d} = T, 2, undefined) ->
    throng_diff:log({state2, T, 2}),
    {next_state, state3, undefined}.

-spec state3(gen_statem:event_type(), term(), term()) -> term().
state3({timeout, c} = T, 2, undefined) ->
    throng_diff:log({state3, T, 2}),
    {next_state, state4, undefined}.

-spec state4(gen_statem:event_type(), term(), term()) -> term().
state4({timeout, a} = T, {{call, From}, stop} = C, undefined) ->
    throng_diff:log({state4, T, C}),
    {stop_and_reply, shutdown, [{reply, From, stopped}]}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
