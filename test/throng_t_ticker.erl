%%% @doc A session that arms a 1 ms state time-out on each `arm' cast and
%%% counts the time-outs that fire (in the counters kept in
%%% persistent_term under this module's name).
-module(throng_t_ticker).

-export([init/1, callback_mode/0, handle_event/4]).

-spec init(term()) -> {ok, idle, non_neg_integer()}.
init(_) ->
    {ok, idle, 0}.

-spec callback_mode() -> handle_event_function.
callback_mode() ->
    handle_event_function.

-spec handle_event(term(), term(), idle, non_neg_integer()) -> term().
handle_event(cast, arm, idle, N) ->
    {keep_state, N + 1, [{state_timeout, 1, fire}]};
handle_event(state_timeout, fire, idle, _N) ->
    counters:add(persistent_term:get(?MODULE), 1, 1),
    keep_state_and_data.
