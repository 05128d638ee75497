%%% A callback module whose callback_mode/0 returns garbage: the session
%%% starts (init/1 is fine) and then stops with
%%% `{bad_return_from_callback_mode, bad_mode}'.
-module(throng_t_badmode).

-export([callback_mode/0, init/1, handle_event/4]).

callback_mode() ->
    bad_mode.

init(Data) ->
    {ok, a, Data}.

handle_event(_Type, _Content, _State, _Data) ->
    keep_state_and_data.
