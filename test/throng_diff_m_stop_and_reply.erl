%%% @doc OTP `gen_statem_SUITE:stop_and_reply/1' as a callback module.
%%%
%%% `state_functions'. A reply action kept in the data and a new one are
%%% sent by `stop_and_reply' in list order before the machine stops.
%%% GEN_STATEM_SEMANTICS.md §1.10.
-module(throng_diff_m_stop_and_reply).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, start/3, wait/3, terminate/3]).

-spec init(term()) -> {ok, start, undefined}.
init(_) ->
    throng_diff:log({init, start}),
    {ok, start, undefined}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec start(gen_statem:event_type(), term(), term()) -> term().
start(cast, {echo, From1, Reply1} = Msg, undefined) ->
    throng_diff:log({start, cast, Msg}),
    {next_state, wait, {reply, From1, Reply1}}.

-spec wait(gen_statem:event_type(), term(), term()) -> term().
wait(cast, {stop_and_reply, Reason, From2, Reply2} = Msg, R1) ->
    throng_diff:log({wait, cast, Msg}),
    {stop_and_reply, Reason, [R1, {reply, From2, Reply2}]}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
