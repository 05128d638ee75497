%%% @doc A callback module without `terminate/3' (OTP `gen_statem_SUITE'
%%% `undef_terminate1', `undef_terminate2', whose `oc_statem' has none):
%%% terminate is optional, the machine stops with the reason all the same.
%%%
%%% `state_functions', no `state_enter'. GEN_STATEM_SEMANTICS.md §1.10.2.
-module(throng_diff_m_no_terminate).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, idle/3]).

-spec init(term()) -> {ok, idle, undefined}.
init(_) ->
    throng_diff:log({init, idle}),
    {ok, idle, undefined}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec idle(gen_statem:event_type(), term(), term()) -> term().
idle(cast, {stop, Reason} = Msg, _Data) ->
    throng_diff:log({idle, cast, Msg}),
    {stop, Reason};
idle({call, From} = T, ping, _Data) ->
    throng_diff:log({idle, T, ping}),
    {keep_state_and_data, {reply, From, pong}}.
