%%% A handle_event_function callback module with the old format_status/2
%%% and no code_change/4, for throng_status_SUITE; it runs unchanged on
%%% gen_statem.
%%%
%%% init(Data): state `a', data `Data' (a map). `fs' in the data says what
%%% format_status/2 does: `hide' (the default: `normal' gives
%%% `[{data, [{"State", {State, hidden}}]}]', `terminate' gives
%%% `{formatted, State}'), `crash', `throw' (throws `{thrown, Opt}'),
%%% `term' (returns `{not_a_list, Opt}').
%%%
%%% Casts: `{set, K, V}'; `{raise, C, R}' raises. Calls: `get'.
-module(throng_t_fs2).

-export([callback_mode/0, init/1, handle_event/4, format_status/2]).

callback_mode() ->
    handle_event_function.

init(Data) ->
    {ok, a, Data}.

handle_event(cast, {set, K, V}, _State, Data) ->
    {keep_state, Data#{K => V}};
handle_event(cast, {raise, Class, R}, _State, _Data) ->
    case Class of
        error -> erlang:error(R);
        exit -> erlang:exit(R);
        throw -> throw(R)
    end;
handle_event({call, From}, get, State, Data) ->
    {keep_state_and_data, [{reply, From, {State, Data}}]};
handle_event(_Type, _Content, _State, _Data) ->
    keep_state_and_data.

format_status(Opt, [_PDict, State, Data]) ->
    case maps:get(fs, Data, hide) of
        hide when Opt =:= normal -> [{data, [{"State", {State, hidden}}]}];
        hide when Opt =:= terminate -> {formatted, State};
        crash -> erlang:error(format_status_crashed);
        throw -> throw({thrown, Opt});
        term -> {not_a_list, Opt}
    end.
