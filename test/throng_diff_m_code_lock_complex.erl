%%% @doc The code lock of OTP's `gen_statem' design principles, third code
%%% lock: "Complex State" with `set_lock_button/1' (`/work/shared/seeds').
%%%
%%% `handle_event_function' with the state `{StateName, LockButton}'.
%%% Buttons are calls and are postponed in `open' unless they are the lock
%%% button; changing the lock button changes the state, so the postponed
%%% buttons are retried at once and a waiting lock button takes effect. The
%%% open timer is `throng_diff:start_timer/2' (the chapter:
%%% `erlang:start_timer/3'), cancelled with `throng_diff:cancel_timer/1'.
-module(throng_diff_m_code_lock_complex).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

-spec init({[term()], term(), pos_integer()}) -> term().
init({Code, LockButton, OpenTime}) ->
    throng_diff:log({init, locked, LockButton}),
    Data = #{code => Code, remaining => undefined, timer => undefined, open_time => OpenTime},
    enter(ok, {locked, LockButton}, Data, []).

-spec callback_mode() -> handle_event_function.
callback_mode() ->
    handle_event_function.

-spec handle_event(gen_statem:event_type(), term(), {atom(), term()}, map()) -> term().
handle_event({call, From} = T, {set_lock_button, NewLockButton} = C, {StateName, OldLockButton} = S, Data) ->
    throng_diff:log({S, T, C}),
    {next_state, {StateName, NewLockButton}, Data, [{reply, From, OldLockButton}]};
handle_event({call, From} = T, code_length = C, {_StateName, _LockButton} = S, #{code := Code}) ->
    throng_diff:log({S, T, C}),
    {keep_state_and_data, [{reply, From, length(Code)}]};
handle_event(
    EventType, EventContent, {locked, LockButton} = S, #{code := Code, remaining := Remaining} = Data
) ->
    throng_diff:log({S, EventType, EventContent}),
    case {EventType, EventContent} of
        {internal, enter} ->
            do_lock(),
            {keep_state, Data#{remaining := Code}};
        {{call, From}, {button, Digit}} ->
            case Remaining of
                % Complete
                [Digit] ->
                    next_state({open, LockButton}, Data, [{reply, From, ok}]);
                % Incomplete
                [Digit | Rest] ->
                    {keep_state, Data#{remaining := Rest}, [{reply, From, ok}]};
                % Wrong
                [_ | _] ->
                    {keep_state, Data#{remaining := Code}, [{reply, From, ok}]}
            end
    end;
handle_event(
    EventType, EventContent, {open, LockButton} = S, #{timer := Timer, open_time := OpenTime} = Data
) ->
    throng_diff:log({S, EventType, EventContent}),
    case {EventType, EventContent} of
        {internal, enter} ->
            Tref = throng_diff:start_timer(OpenTime, lock),
            do_unlock(),
            {keep_state, Data#{timer := Tref}};
        {info, {timeout, Timer, lock}} ->
            next_state({locked, LockButton}, Data, []);
        {{call, From}, {button, Digit}} ->
            if
                Digit =:= LockButton ->
                    _ = throng_diff:cancel_timer(Timer),
                    next_state({locked, LockButton}, Data, [{reply, From, locked}]);
                true ->
                    {keep_state_and_data, [postpone]}
            end
    end.

next_state(State, Data, Actions) ->
    enter(next_state, State, Data, Actions).

enter(Tag, State, Data, Actions) ->
    {Tag, State, Data, [{next_event, internal, enter} | Actions]}.

do_lock() ->
    throng_diff:log(do_lock).

do_unlock() ->
    throng_diff:log(do_unlock).

-spec terminate(term(), {atom(), term()}, map()) -> ok.
terminate(Reason, State, _Data) ->
    throng_diff:log({terminate, Reason, State}),
    %% The chapter compares the whole state with locked, which is never
    %% true for {StateName, LockButton}: it always locks here.
    State =/= locked andalso do_lock(),
    ok.
