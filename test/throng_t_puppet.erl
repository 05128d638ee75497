%%% A scriptable callback module (handle_event_function, no state_enter)
%%% for throng_api_SUITE and throng_limits_SUITE.
%%%
%%% init(#{test => Pid, init => Spec, state => S, data => Map}):
%%% Data starts as `#{test => Pid, log => []}' merged with `data'. Spec says
%%% what init/1 does: `ok' (`{ok, State, Data}'), `{actions, As}',
%%% `{return, R}', `{raise, Class, R}', `{sleep, Ms}'. With
%%% `report_init => true' in the args, init/1 sends `{init, throng:self()}' to the test process.
%%%
%%% Events (cast, info, and call requests) are commands; an event that is
%%% no command is appended to `log' as `{Type, Content}' (and sent as
%%% `{event, Session, Type, Content}' to the test process when Data has
%%% `notify => true').
%%%
%%% terminate/3 sends `{terminate, Session, Reason, State, Data}' to the
%%% test process, then raises if Data has `terminate => {raise, C, R}'.
-module(throng_t_puppet).

-export([callback_mode/0, init/1, handle_event/4, terminate/3]).

callback_mode() ->
    handle_event_function.

init(Args) ->
    Test = maps:get(test, Args, undefined),
    case Args of
        #{report_init := true} -> Test ! {init, throng:self()};
        _ -> ok
    end,
    Data = maps:merge(#{test => Test, log => []}, maps:get(data, Args, #{})),
    State = maps:get(state, Args, a),
    case maps:get(init, Args, ok) of
        ok -> {ok, State, Data};
        {actions, Actions} -> {ok, State, Data, Actions};
        {return, R} -> R;
        {raise, Class, R} -> raise(Class, R);
        {sleep, Ms} -> timer:sleep(Ms), {ok, State, Data}
    end.

%% Calls.
handle_event({call, From}, {reply, X}, _State, _Data) ->
    {keep_state_and_data, [{reply, From, X}]};
handle_event({call, From}, whoami, _State, _Data) ->
    {keep_state_and_data, [{reply, From, throng:self()}]};
handle_event({call, From}, which, State, _Data) ->
    {keep_state_and_data, [{reply, From, {?MODULE, State}}]};
handle_event({call, From}, {give_from, Pid}, _State, _Data) ->
    Pid ! {from, From},
    keep_state_and_data;
handle_event({call, From}, save_from, _State, Data) ->
    {keep_state, Data#{from => From}};
handle_event({call, From}, {reply_in, InState, X}, State, _Data) ->
    case State of
        InState -> {keep_state_and_data, [{reply, From, X}]};
        _ -> {keep_state_and_data, [postpone]}
    end;
handle_event({call, From}, {sleep_reply, Ms, X}, _State, _Data) ->
    timer:sleep(Ms),
    {keep_state_and_data, [{reply, From, X}]};
handle_event({call, _From}, ignore, _State, _Data) ->
    keep_state_and_data;
%% Any event type.
handle_event(_Type, {return, R}, _State, _Data) ->
    R;
handle_event(_Type, {raise, Class, R}, _State, _Data) ->
    raise(Class, R);
handle_event(Type, {do, Fun}, State, Data) ->
    Fun(Type, State, Data);
handle_event(Type, {next, S}, _State, Data) ->
    {next_state, S, log(Type, {next, S}, Data)};
handle_event(_Type, {sleep, Ms}, _State, _Data) ->
    timer:sleep(Ms),
    keep_state_and_data;
handle_event(Type, {notify, X} = C, _State, #{test := Test} = Data) ->
    Test ! {notify, throng:self(), X},
    {keep_state, log(Type, C, Data)};
handle_event(_Type, postpone, _State, _Data) ->
    {keep_state_and_data, [postpone]};
handle_event(Type, {postpone_in, InState} = C, State, Data) ->
    case State of
        InState -> {keep_state_and_data, [postpone]};
        _ -> {keep_state, log(Type, C, Data)}
    end;
handle_event(cast, reply_saved, _State, #{from := From} = Data) ->
    {keep_state, maps:remove(from, Data), [{reply, From, saved}]};
handle_event(Type, Content, _State, Data) ->
    case Data of
        #{notify := true, test := Test} -> Test ! {event, throng:self(), Type, Content};
        _ -> ok
    end,
    {keep_state, log(Type, Content, Data)}.

terminate(Reason, State, Data) ->
    case Data of
        #{test := Test} when is_pid(Test) -> Test ! {terminate, throng:self(), Reason, State, Data};
        _ -> ok
    end,
    case Data of
        #{terminate := {raise, Class, R}} -> raise(Class, R);
        _ -> ok
    end.

log(Type, Content, #{log := Log} = Data) ->
    Data#{log := Log ++ [{Type, Content}]}.

raise(error, R) -> erlang:error(R);
raise(exit, R) -> erlang:exit(R);
raise(throw, R) -> erlang:throw(R).
