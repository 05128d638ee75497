%%% @doc The second module of the callback-module-change scenarios (OTP
%%% `gen_statem_SUITE''s `oc_statem', with the enter call that
%%% `pop_too_many/1' reads back through `get_data').
%%%
%%% `handle_event_function' with `state_enter'; its `callback_mode/0'
%%% lists `state_functions' first, so it also checks that the last mode in
%%% the list wins. GEN_STATEM_SEMANTICS.md §1.2, §1.8, §1.14.
-module(throng_diff_m_mod_b).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

-spec init(term()) -> {ok, state_1, undefined}.
init(_) ->
    throng_diff:log({mod_b, init}),
    {ok, state_1, undefined}.

-spec callback_mode() -> [state_functions | handle_event_function | state_enter].
callback_mode() ->
    [state_functions, state_enter, handle_event_function].

-spec handle_event(gen_statem:event_type() | enter, term(), atom(), term()) -> term().
handle_event(enter, Prev, State, _Data) ->
    throng_diff:log({mod_b, State, enter, Prev}),
    {keep_state, enter};
handle_event({call, From} = Type, {Change, NextState} = Req, State, Data) when
    Change =:= change_callback_module; Change =:= push_callback_module; Change =:= pop_callback_module
->
    throng_diff:log({mod_b, State, Type, Req}),
    {next_state, next_state(NextState), Data, [change_action(Req), {reply, From, ok}]};
handle_event({call, From} = Type, {verify, Module} = Req, State, _Data) ->
    throng_diff:log({mod_b, State, Type, Req}),
    {keep_state_and_data, [{reply, From, Module =:= ?MODULE}]};
handle_event({call, From} = Type, get_data = Req, State, Data) ->
    throng_diff:log({mod_b, State, Type, Req}),
    {keep_state_and_data, [{reply, From, Data}]};
handle_event({call, From} = Type, pop_callback_module = Req, State, _Data) ->
    throng_diff:log({mod_b, State, Type, Req}),
    {keep_state_and_data, [pop_callback_module, {reply, From, ok}]}.

next_state({_Module, NextState}) -> NextState;
next_state(NextState) -> NextState.

change_action({pop_callback_module, _}) -> pop_callback_module;
change_action({Change, {Module, _}}) -> {Change, Module}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({mod_b, terminate, Reason, State, Data}).
