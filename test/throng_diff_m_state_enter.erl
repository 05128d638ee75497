%%% @doc OTP `gen_statem_SUITE:state_enter/1' as a callback module.
%%%
%%% `state_functions' with `state_enter'. The data is `{N, Fab}': a counter
%%% and a fabricated `From' of the driver; the repeated enter calls of state
%%% `wait' reply to `throng_diff:fab_from(Fab, N)' as OTP's test replies to
%%% `{Self, N}'. Where the OTP test sends itself a message, this module
%%% logs it. GEN_STATEM_SEMANTICS.md §1.8.
-module(throng_diff_m_state_enter).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, start/3, wait/3, terminate/3]).

-spec init({pid(), term()}) -> {ok, start, {pos_integer(), {pid(), term()}}}.
init(Fab) ->
    throng_diff:log({init, start}),
    {ok, start, {1, Fab}}.

-spec callback_mode() -> [state_functions | state_enter].
callback_mode() ->
    [state_functions, state_enter].

-spec start(gen_statem:event_type() | enter, term(), term()) -> term().
start(enter, Prev, {N, Fab}) ->
    throng_diff:log({enter, start, Prev, N}),
    {keep_state, {N + 1, Fab}};
start(internal, Prev, {N, Fab}) ->
    throng_diff:log({internal, start, Prev, N}),
    {keep_state, {N + 1, Fab}};
start({call, From}, repeat, {N, Fab}) ->
    throng_diff:log({call, start, repeat, N}),
    {repeat_state, {N + 1, Fab}, [{reply, From, {repeat, start, N}}]};
start({call, From}, echo, {N, Fab}) ->
    throng_diff:log({call, start, echo, N}),
    {next_state, wait, {N + 1, Fab}, {reply, From, {echo, start, N}}};
start({call, From}, {stop, Reason}, {N, Fab}) ->
    throng_diff:log({call, start, stop, N}),
    {stop_and_reply, Reason, [{reply, From, {stop, N}}], {N + 1, Fab}}.

-spec wait(gen_statem:event_type() | enter, term(), term()) -> term().
wait(enter, Prev, {N, Fab}) when N < 5 ->
    throng_diff:log({enter, wait, Prev, N}),
    {repeat_state, {N + 1, Fab}, {reply, throng_diff:fab_from(Fab, N), {enter, Prev}}};
wait(enter, Prev, {N, Fab}) ->
    throng_diff:log({enter, wait, Prev, N}),
    {keep_state, {N + 1, Fab}};
wait({call, From}, repeat, {N, _Fab}) ->
    throng_diff:log({call, wait, repeat, N}),
    {repeat_state_and_data, [{reply, From, {repeat, wait, N}}]};
wait({call, From}, echo, {N, Fab}) ->
    throng_diff:log({call, wait, echo, N}),
    {next_state, start, {N + 1, Fab}, [{next_event, internal, wait}, {reply, From, {echo, wait, N}}]}.

-spec terminate(term(), atom(), term()) -> ok.
terminate(Reason, State, {N, _Fab}) ->
    throng_diff:log({terminate, Reason, State, N}).
