%%% @doc The code lock of OTP's `gen_statem' design principles, second code
%%% lock: "Callback Mode: handle_event_function" of "Example Revisited" in
%%% the chapter's earlier form (`/work/shared/seeds'), with entry actions as
%%% inserted `{internal, enter}' events and an Erlang timer for the open
%%% time.
%%%
%%% `handle_event_function' without `state_enter'. Where the chapter calls
%%% `erlang:start_timer(10000, self(), lock)' this module calls
%%% `throng_diff:start_timer(OpenTime, lock)'; the timer message arrives as
%%% `{timeout, Tref, lock}' info. Buttons are postponed in `open'.
-module(throng_diff_m_code_lock_hef).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

-spec init({[term()], pos_integer()}) -> term().
init({Code, OpenTime}) ->
    throng_diff:log({init, locked}),
    Data = #{code => Code, open_time => OpenTime},
    enter(ok, locked, Data).

-spec callback_mode() -> handle_event_function.
callback_mode() ->
    handle_event_function.

-spec handle_event(gen_statem:event_type(), term(), atom(), map()) -> term().
%% State: locked
handle_event(internal = T, enter = C, locked = S, #{code := Code} = Data) ->
    throng_diff:log({S, T, C}),
    do_lock(),
    {keep_state, Data#{remaining => Code}};
handle_event(
    cast = T, {button, Digit} = C, locked = S, #{code := Code, remaining := Remaining} = Data
) ->
    throng_diff:log({S, T, C}),
    case Remaining of
        % Complete
        [Digit] ->
            enter(next_state, open, Data);
        % Incomplete
        [Digit | Rest] ->
            {keep_state, Data#{remaining := Rest}};
        % Wrong
        [_ | _] ->
            {keep_state, Data#{remaining := Code}}
    end;
%% State: open
handle_event(internal = T, enter = C, open = S, #{open_time := OpenTime} = Data) ->
    throng_diff:log({S, T, C}),
    Tref = throng_diff:start_timer(OpenTime, lock),
    do_unlock(),
    {keep_state, Data#{timer => Tref}};
handle_event(info = T, {timeout, Tref, lock} = C, open = S, #{timer := Tref} = Data) ->
    throng_diff:log({S, T, C}),
    enter(next_state, locked, Data);
handle_event(cast = T, {button, _} = C, open = S, _) ->
    throng_diff:log({S, T, C}),
    {keep_state_and_data, [postpone]};
%% Any state
handle_event({call, From} = T, code_length = C, S, #{code := Code}) ->
    throng_diff:log({S, T, C}),
    {keep_state_and_data, [{reply, From, length(Code)}]}.

enter(Tag, State, Data) ->
    {Tag, State, Data, [{next_event, internal, enter}]}.

do_lock() ->
    throng_diff:log(do_lock).

do_unlock() ->
    throng_diff:log(do_unlock).

-spec terminate(term(), atom(), map()) -> ok.
terminate(Reason, State, _Data) ->
    throng_diff:log({terminate, Reason, State}),
    State =/= locked andalso do_lock(),
    ok.
