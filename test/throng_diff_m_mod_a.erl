%%% @doc The first module of the callback-module-change scenarios (OTP
%%% `gen_statem_SUITE:pop_too_many/1', whose map machine it is).
%%%
%%% `state_functions' without `state_enter'. Its calls return the module
%%% change they are given as an action, with a state change to the state
%%% they name: `{change_callback_module, {Module, NextState}}',
%%% `{push_callback_module, {Module, NextState}}',
%%% `{pop_callback_module, NextState}'. So the scenario decides which module gets the enter call
%%% (OTP-18239: the new one, with its own `state_enter' setting).
%%% GEN_STATEM_SEMANTICS.md §1.5, §1.8, §1.14. The other module is
%%% `throng_diff_m_mod_b'.
-module(throng_diff_m_mod_a).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, state_1/3, state_2/3, terminate/3]).

-spec init(term()) -> {ok, state_1, undefined}.
init(_) ->
    throng_diff:log({mod_a, init}),
    {ok, state_1, undefined}.

-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

-spec state_1(gen_statem:event_type() | enter, term(), term()) -> term().
state_1(Type, Content, Data) ->
    handle(state_1, Type, Content, Data).

-spec state_2(gen_statem:event_type() | enter, term(), term()) -> term().
state_2(Type, Content, Data) ->
    handle(state_2, Type, Content, Data).

handle(State, enter, Prev, _Data) ->
    %% mod_a has no state_enter: never called (OTP-18239).
    throng_diff:log({mod_a, State, enter, Prev}),
    {keep_state, enter};
handle(State, {call, From} = Type, {Change, NextState} = Req, Data) when
    Change =:= change_callback_module; Change =:= push_callback_module; Change =:= pop_callback_module
->
    throng_diff:log({mod_a, State, Type, Req}),
    {next_state, next_state(NextState), Data, [change_action(Req), {reply, From, ok}]};
handle(State, {call, From} = Type, {verify, Module} = Req, _Data) ->
    throng_diff:log({mod_a, State, Type, Req}),
    {keep_state_and_data, [{reply, From, Module =:= ?MODULE}]};
handle(State, {call, From} = Type, get_data = Req, Data) ->
    throng_diff:log({mod_a, State, Type, Req}),
    {keep_state_and_data, [{reply, From, Data}]};
handle(State, {call, From} = Type, pop_callback_module = Req, Data) ->
    throng_diff:log({mod_a, State, Type, Req}),
    {next_state, state_2, Data, [pop_callback_module, {reply, From, ok}]}.

next_state({_Module, NextState}) -> NextState;
next_state(NextState) -> NextState.

change_action({pop_callback_module, _}) -> pop_callback_module;
change_action({Change, {Module, _}}) -> {Change, Module}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({mod_a, terminate, Reason, State, Data}).
