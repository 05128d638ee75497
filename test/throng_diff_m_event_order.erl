%%% @doc OTP `gen_statem_SUITE:event_order/1' as a callback module.
%%%
%%% `state_functions', no enter calls. Casts are postponed in `start';
%%% the `buffer' call moves to `buffer' with two inserted events and a zero
%%% event time-out (cancelled by them), so the queue order after a state
%%% change (inserted events, then the postponed ones, oldest first) shows
%%% in the order of the replies. GEN_STATEM_SEMANTICS.md §1.6, §1.7.
-module(throng_diff_m_event_order).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, start/3, buffer/3, stop/3, terminate/3]).

-spec init(term()) -> {ok, start, undefined}.
init(_) ->
    throng_diff:log({init, start}),
    {ok, start, undefined}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec start(gen_statem:event_type(), term(), term()) -> term().
start(cast, Msg, _) ->
    throng_diff:log({start, cast, Msg}),
    %% Handled in buffer.
    {keep_state_and_data, postpone};
start({call, From}, {buffer, [F3, F4, F5]} = Req, undefined) ->
    throng_diff:log({start, call, Req}),
    {next_state, buffer, [], [
        {next_event, internal, {reply, F3, ok3}},
        {next_event, internal, {reply, F4, ok4}},
        %% Never happens: the inserted and the postponed events cancel it.
        {timeout, 0, {reply, F5, ok5}},
        {reply, From, ok}
    ]}.

-spec buffer(gen_statem:event_type(), term(), term()) -> term().
buffer(internal, Reply, Replies) ->
    throng_diff:log({buffer, internal, Reply}),
    {keep_state, [Reply | Replies]};
buffer(timeout, Reply, Replies) ->
    throng_diff:log({buffer, timeout, Reply}),
    {keep_state, [Reply | Replies]};
buffer(cast, Reply, Replies) ->
    throng_diff:log({buffer, cast, Reply}),
    {keep_state, [Reply | Replies]};
buffer({call, From}, {stop, Reason} = Req, Replies) ->
    throng_diff:log({buffer, call, Req}),
    {next_state, stop, undefined,
        lists:reverse(Replies, [{reply, From, ok}, {next_event, internal, {stop, Reason}}])}.

-spec stop(gen_statem:event_type(), term(), term()) -> term().
stop(internal, Result, undefined) ->
    throng_diff:log({stop, internal, Result}),
    Result.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}).
