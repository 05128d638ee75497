%%% The native machines' logic written as gen_statem callback modules, to
%%% run the same inputs on gen_statem and on the native machines
%%% (throng_native_SUITE): `{code_lock, Args}' is native/throng_machines'
%%% code_lock (bench/demo_lock.erl without its counters), `{switch, Args}'
%%% GenStateMachine's Switch.
-module(throng_t_native_ref).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4]).

-spec init({code_lock | switch, term()}) -> {ok, term(), term()}.
init({code_lock, {Code, OpenMs}}) ->
    {ok, {code_lock, locked}, {Code, Code, OpenMs}};
init({switch, {State, N}}) when State =:= off; State =:= on ->
    {ok, {switch, State}, N};
init({switch, _}) ->
    {ok, {switch, off}, 0}.

-spec callback_mode() -> handle_event_function.
callback_mode() ->
    handle_event_function.

-spec handle_event(gen_statem:event_type(), term(), term(), term()) -> term().
handle_event({call, From}, state, {code_lock, S}, _) ->
    {keep_state_and_data, [{reply, From, S}]};
handle_event({call, From}, code_length, {code_lock, _}, {Code, _, _}) ->
    {keep_state_and_data, [{reply, From, length(Code)}]};
handle_event(cast, {button, D}, {code_lock, locked}, {Code, Remaining, Ms}) ->
    case Remaining of
        [D] -> {next_state, {code_lock, open}, {Code, Code, Ms}, [{state_timeout, Ms, lock}]};
        [D | Rest] -> {next_state, {code_lock, locked}, {Code, Rest, Ms}};
        _ -> {next_state, {code_lock, locked}, {Code, Code, Ms}}
    end;
handle_event(cast, lock, {code_lock, open}, Data) ->
    {next_state, {code_lock, locked}, Data};
handle_event(cast, {button, _}, {code_lock, open}, Data) ->
    {next_state, {code_lock, open}, Data};
handle_event(state_timeout, lock, {code_lock, open}, Data) ->
    {next_state, {code_lock, locked}, Data};
handle_event(cast, flip, {switch, off}, N) ->
    {next_state, {switch, on}, N + 1};
handle_event(cast, flip, {switch, on}, N) ->
    {next_state, {switch, off}, N};
handle_event({call, From}, get_count, State, N) ->
    {next_state, State, N, [{reply, From, N}]};
handle_event({call, From}, _, _, _) ->
    {keep_state_and_data, [{reply, From, {error, unknown_call}}]};
handle_event(_, _, _, _) ->
    keep_state_and_data.
