%%% A state_functions callback module (no state_enter) with states `a' and
%%% `b', the second module of the callback-module change tests: it answers
%%% `which' with `{throng_t_sf, State}' and obeys `pop', `{change, M}',
%%% `{push, M}' and `{next, S}'. terminate/3 reports as throng_t_puppet's.
-module(throng_t_sf).

-export([callback_mode/0, init/1, a/3, b/3, terminate/3]).

callback_mode() ->
    state_functions.

init(Test) ->
    {ok, a, #{test => Test, log => []}}.

a(Type, Content, Data) -> handle(a, Type, Content, Data).
b(Type, Content, Data) -> handle(b, Type, Content, Data).

handle(State, {call, From}, which, _Data) ->
    {keep_state_and_data, [{reply, From, {?MODULE, State}}]};
handle(_State, cast, pop, _Data) ->
    {keep_state_and_data, [pop_callback_module]};
handle(_State, cast, {change, M}, _Data) ->
    {keep_state_and_data, [{change_callback_module, M}]};
handle(_State, cast, {push, M}, _Data) ->
    {keep_state_and_data, [{push_callback_module, M}]};
handle(_State, cast, {next, S}, Data) ->
    {next_state, S, Data};
handle(_State, Type, Content, #{log := Log} = Data) ->
    {keep_state, Data#{log := Log ++ [{?MODULE, Type, Content}]}}.

terminate(Reason, State, Data) ->
    case Data of
        #{test := Test} when is_pid(Test) -> Test ! {terminate, ?MODULE, Reason, State, Data};
        _ -> ok
    end.
