%%% @doc OTP `gen_statem_SUITE:event_types/1' as a callback module.
%%%
%%% `state_functions'. Every event type can be inserted with
%%% `{next_event, Type, Content}', including a re-inserted `{call, From}'
%%% that is answered later. GEN_STATEM_SEMANTICS.md §1.3, §1.5.
-module(throng_diff_m_event_types).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, terminate/3]).
-export([start1/3, start2/3, state1/3, state2/3, state3/3, state4/3, state5/3, state6/3, state7/3]).

-spec init(term()) -> {ok, start1, undefined, [gen_statem:action()]}.
init(_) ->
    throng_diff:log({init, start1}),
    {ok, start1, undefined, [{next_event, internal, 0}]}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec start1(gen_statem:event_type(), term(), term()) -> term().
start1(internal, 0, undefined) ->
    throng_diff:log({start1, internal, 0}),
    {next_state, start2, undefined}.

-spec start2(gen_statem:event_type(), term(), term()) -> term().
start2({call, _} = Call, Req, undefined) ->
    throng_diff:log({start2, Call, Req}),
    {next_state, state1, undefined, [
        {next_event, internal, 1},
        {next_event, state_timeout, 2},
        {next_event, timeout, 3},
        {next_event, info, 4},
        {next_event, cast, 5},
        {next_event, {timeout, 6}, 6},
        {next_event, Call, Req}
    ]}.

-spec state1(gen_statem:event_type(), term(), term()) -> term().
state1(internal = T, 1 = C, undefined) -> next(state1, T, C, state2).
-spec state2(gen_statem:event_type(), term(), term()) -> term().
state2(state_timeout = T, 2 = C, undefined) -> next(state2, T, C, state3).
-spec state3(gen_statem:event_type(), term(), term()) -> term().
state3(timeout = T, 3 = C, undefined) -> next(state3, T, C, state4).
-spec state4(gen_statem:event_type(), term(), term()) -> term().
state4(info = T, 4 = C, undefined) -> next(state4, T, C, state5).
-spec state5(gen_statem:event_type(), term(), term()) -> term().
state5(cast = T, 5 = C, undefined) -> next(state5, T, C, state6).
-spec state6(gen_statem:event_type(), term(), term()) -> term().
state6({timeout, 6} = T, 6 = C, undefined) -> next(state6, T, C, state7).

-spec state7(gen_statem:event_type(), term(), term()) -> term().
state7({call, From} = T, stop, undefined) ->
    throng_diff:log({state7, T, stop}),
    {stop_and_reply, shutdown, [{reply, From, stopped}]}.

next(State, Type, Content, Next) ->
    throng_diff:log({State, Type, Content}),
    {next_state, Next, undefined}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
