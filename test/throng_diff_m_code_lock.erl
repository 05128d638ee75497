%%% @doc The code lock of OTP's `gen_statem' design principles (OTP 25
%%% chapter, "Example Revisited" with state enter calls), first code lock.
%%%
%%% `state_functions' with `state_enter'. A sliding window of pressed
%%% buttons opens the lock; `open' sets a state time-out that locks it
%%% again and postpones buttons to `locked'; `code_length' is answered in
%%% every state. The open time and the button time-out come from the init
%%% arguments (the chapter uses 10 s and 30 s). `do_lock/0' and
%%% `do_unlock/0' log instead of printing.
-module(throng_diff_m_code_lock).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, locked/3, open/3, terminate/3]).

-spec init({[term()], pos_integer(), pos_integer()}) -> {ok, locked, map()}.
init({Code, OpenTime, ButtonTime}) ->
    throng_diff:log({init, locked}),
    do_lock(),
    Data = #{
        code => Code,
        length => length(Code),
        buttons => [],
        open_time => OpenTime,
        button_time => ButtonTime
    },
    {ok, locked, Data}.

-spec callback_mode() -> [state_functions | state_enter].
callback_mode() ->
    [state_functions, state_enter].

-spec locked(gen_statem:event_type() | enter, term(), map()) -> term().
locked(enter, OldState, Data) ->
    throng_diff:log({locked, enter, OldState}),
    do_lock(),
    {keep_state, Data#{buttons := []}};
locked(state_timeout, button, Data) ->
    throng_diff:log({locked, state_timeout, button}),
    {keep_state, Data#{buttons := []}};
locked(
    cast,
    {button, Button} = Msg,
    #{code := Code, length := Length, buttons := Buttons, button_time := ButtonTime} = Data
) ->
    throng_diff:log({locked, cast, Msg}),
    NewButtons =
        if
            length(Buttons) < Length -> Buttons;
            true -> tl(Buttons)
        end ++ [Button],
    if
        NewButtons =:= Code ->
            % Correct
            {next_state, open, Data};
        true ->
            % Incomplete | Incorrect
            {keep_state, Data#{buttons := NewButtons}, [{state_timeout, ButtonTime, button}]}
    end;
locked(EventType, EventContent, Data) ->
    handle_common(locked, EventType, EventContent, Data).

-spec open(gen_statem:event_type() | enter, term(), map()) -> term().
open(enter, OldState, #{open_time := OpenTime}) ->
    throng_diff:log({open, enter, OldState}),
    do_unlock(),
    {keep_state_and_data, [{state_timeout, OpenTime, lock}]};
open(state_timeout, lock, Data) ->
    throng_diff:log({open, state_timeout, lock}),
    {next_state, locked, Data};
open(cast, {button, _} = Msg, _Data) ->
    throng_diff:log({open, cast, Msg}),
    {keep_state_and_data, [postpone]};
open(EventType, EventContent, Data) ->
    handle_common(open, EventType, EventContent, Data).

handle_common(State, {call, From} = Type, code_length, #{code := Code}) ->
    throng_diff:log({State, Type, code_length}),
    {keep_state_and_data, [{reply, From, length(Code)}]}.

do_lock() ->
    throng_diff:log(do_lock).

do_unlock() ->
    throng_diff:log(do_unlock).

-spec terminate(term(), atom(), map()) -> ok.
terminate(Reason, State, _Data) ->
    throng_diff:log({terminate, Reason, State}),
    State =/= locked andalso do_lock(),
    ok.
