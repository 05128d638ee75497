%%% @doc Throng: gen_statem sessions that live in a Rust engine.
%%%
%%% A session is what a `gen_statem' process is, without the process: a
%%% callback module written for `gen_statem' runs as a session unchanged,
%%% but for the pid-bound calls listed in docs/semantics.md (`self()' is
%%% `throng:self()', `Pid ! Msg' is `throng:send(S, Msg)', ...). Its
%%% callbacks run in the engine's executor processes; its state, data,
%%% queues and time-outs live in the engine.
%%%
%%% ```
%%% {ok, S} = throng:start_link(code_lock, [1,2,3], []),
%%% ok = throng:cast(S, {button, 1}),
%%% locked = throng:call(S, get_state_name).
%%% '''
%%%
%%% Every function takes the same arguments and returns or exits as its
%%% `gen_statem' (or `sys') counterpart does.
%%%
%%% A session's logic may also be a native machine, Rust code that runs in
%%% the engine itself (docs/native-machines.md): start it with
%%% `{native, Name}' where a callback module goes, e.g.
%%% `throng:start_link({native, code_lock}, #{code => [1,2,3]}, [])'; every
%%% other function works on it as on any session.
-module(throng).

-export([start_link/3, start/3, start_monitor/3, start_many/3, start_link_many/3]).
-export([cast_many/1, send_many/1]).
-export([call/2, call/3, cast/2, send/2, reply/1, reply/2]).
-export([send_request/2, wait_response/2, receive_response/2, check_response/2]).
-export([stop/1, stop/3, sync/1, suspend/1, resume/1, get_state/1, get_status/1]).
-export([change_code/4, replace_state/2]).
-export([monitor/1, demonitor/1, self/0, whereis/1, whereis/2]).
-export([start_timer/2, cancel_timer/1, monitor_process/1]).
-export([start_engine/1, stop_engine/1, engine_stats/1, engine_counts/1, default_engine/0]).

-export_type([session/0, engine/0, from/0, start_opt/0, request_id/0, server_ref/0, machine/0]).

-opaque engine() :: throng_backend:engine().
-type session() :: {throng, engine(), non_neg_integer()}.
-type from() :: {pid(), term()}.
-type start_opt() :: {engine, engine()} | {name, term()} | {timeout, timeout()}.
-type server_ref() :: session() | {name, term()} | {name, engine(), term()}.
-opaque request_id() :: {'$throng_request', reference(), session()}.
-type start_ret() :: {ok, session()} | ignore | {error, term()}.
%% A callback module, or a native machine by the name it is registered as.
-type machine() :: module() | {native, atom()}.

-define(SELF, '$throng_self').
%% How long stop/3 waits for its answer once the session is DOWN.
-define(STOP_REPLY_MS, 100).
%% A callback module or `{native, Name}' (a function clause error otherwise,
%% as for a module that is not an atom).
-define(IS_MACHINE(M), (is_atom(M) orelse (tuple_size(M) =:= 2 andalso element(1, M) =:= native
                                           andalso is_atom(element(2, M))))).

%%% ------------------------------------------------------------------ start

%% @doc Starts a session of `Module' (`Module:init(Args)' runs in an
%% executor) owned by the caller: the session stops, with reason
%% `shutdown', when the caller exits. As `gen_statem:start_link/3'.
%% `Module' may be `{native, Name}': a native machine, whose `init' runs
%% in the engine at once.
-spec start_link(machine(), term(), [start_opt()]) -> start_ret().
start_link(Module, Args, Opts) when ?IS_MACHINE(Module), is_list(Opts) ->
    do_start(machine(Module), Args, Opts, erlang:self(), false).

%% @doc Starts a session not tied to the caller. As `gen_statem:start/3'.
-spec start(machine(), term(), [start_opt()]) -> start_ret().
start(Module, Args, Opts) when ?IS_MACHINE(Module), is_list(Opts) ->
    do_start(machine(Module), Args, Opts, undefined, false).

%% @doc Starts a session and monitors it, atomically. As
%% `gen_statem:start_monitor/3': `{ok, {Session, MRef}}'.
-spec start_monitor(machine(), term(), [start_opt()]) ->
          {ok, {session(), reference()}} | ignore | {error, term()}.
start_monitor(Module, Args, Opts) when ?IS_MACHINE(Module), is_list(Opts) ->
    do_start(machine(Module), Args, Opts, undefined, true).

machine(Module) when is_atom(Module) -> Module;
machine({native, Name} = Native) when is_atom(Name) -> Native;
machine(Other) -> erlang:error(function_clause, [Other]).

%% @doc Starts a session per element of `ArgsList', as `start/3' each, and
%% returns their results in order. For a native machine the engine starts
%% them in batches (one NIF call per half millisecond of work, one port
%% frame per 10,000 sessions). `Opts': `{engine, E}' (and `{timeout, T}'
%% for a callback module); names are refused (`badarg').
-spec start_many(machine(), [term()], [start_opt()]) -> [start_ret()].
start_many(Module, ArgsList, Opts) ->
    many(machine(Module), ArgsList, Opts, undefined).

%% @doc As `start_many/3', the sessions tied to the caller as by
%% `start_link/3'.
-spec start_link_many(machine(), [term()], [start_opt()]) -> [start_ret()].
start_link_many(Module, ArgsList, Opts) ->
    many(machine(Module), ArgsList, Opts, erlang:self()).

many(Module, ArgsList, Opts, Owner) when is_list(ArgsList), is_list(Opts) ->
    lists:keymember(name, 1, Opts) andalso erlang:error(badarg, [Module, ArgsList, Opts]),
    case Module of
        {native, Name} ->
            E = opt_engine(Opts),
            native_many(E, Name, ArgsList, Owner, []);
        _ when Owner =:= undefined ->
            [start(Module, A, Opts) || A <- ArgsList];
        _ ->
            [start_link(Module, A, Opts) || A <- ArgsList]
    end.

native_many(_E, _Name, [], _Owner, Acc) ->
    lists:append(lists:reverse(Acc));
native_many(E, Name, ArgsList, Owner, Acc) ->
    case throng_lib:retry(fun() -> throng_backend:native_start_many(E, Name, ArgsList, Owner) end) of
        {Results, Rest} when is_list(Results) ->
            Started = [case R of
                           {ok, Sid} -> {ok, {throng, E, Sid}};
                           Other -> Other
                       end || R <- Results],
            native_many(E, Name, Rest, Owner, [Started | Acc]);
        {error, _} = Error ->
            %% Nothing more was started: each remaining start fails so.
            native_many(E, Name, [], Owner, [[Error || _ <- ArgsList] | Acc])
    end.

do_start(Module, Args, Opts, Owner, Monitor) ->
    E = opt_engine(Opts),
    case lists:keyfind(name, 1, Opts) of
        false ->
            do_start(E, Module, Args, Opts, Owner, Monitor, none);
        {name, Name} ->
            case throng_names:reserve(E, Name) of
                ok ->
                    case do_start(E, Module, Args, Opts, Owner, Monitor, {name, Name}) of
                        {ok, _} = Ok -> Ok;
                        Failed -> throng_names:release(E, Name), Failed
                    end;
                {error, {already_started, Sid}} ->
                    case live_name(E, Name) of
                        {ok, Sid} -> {error, {already_started, {throng, E, Sid}}};
                        _ -> do_start(Module, Args, Opts, Owner, Monitor)
                    end
            end
    end.

%% The session registered as `Name', if it still runs. A native session's
%% name is not dropped when it stops (no executor runs its terminate/3):
%% it is dropped here, the first time it is found dead.
live_name(E, Name) ->
    case throng_names:lookup(E, Name) of
        {ok, Sid} ->
            case throng_lib:retry(fun() -> throng_backend:session_alive(E, Sid) end) of
                false -> throng_names:unregister(E, Sid), error;
                _ -> {ok, Sid}
            end;
        error ->
            error
    end.

do_start(E, {native, Machine}, Args, Opts, Owner, Monitor, Name) ->
    _ = start_timeout(Opts),
    Tag = make_ref(),
    Watcher = case Monitor of
                  true -> {erlang:self(), Tag};
                  false -> undefined
              end,
    case throng_lib:retry(fun() -> throng_backend:native_start(E, Machine, Args, Owner, Watcher) end) of
        {ok, Sid} ->
            _ = case Name of
                    {name, N} -> throng_names:confirm(E, N, Sid);
                    none -> ok
                end,
            S = {throng, E, Sid},
            case Monitor of
                true -> {ok, {S, remember(Tag, E, Sid)}};
                false -> {ok, S}
            end;
        Failed ->
            %% ignore or {error, R}: a watcher also got the DOWN notice.
            flush_down(Tag),
            Failed
    end;
do_start(E, Module, Args, Opts, Owner, Monitor, Name) ->
    Timeout = start_timeout(Opts),
    Tag = make_ref(),
    case throng_lib:retry(fun() -> throng_backend:session_start(E, Module, Args, erlang:self(), Tag, Owner) end) of
        {ok, Sid} ->
            %% The name belongs to the session before init/1 runs, so a
            %% session that stops at once frees it (gen_statem registers
            %% before init/1 too).
            _ = case Name of
                    {name, N} -> throng_names:confirm(E, N, Sid);
                    none -> ok
                end,
            %% session_start monitors the session for us from before init/1
            %% runs: a start_monitor caller sees every exit.
            receive
                {Tag, {ok, S} = Ok} ->
                    case Monitor of
                        true -> {ok, {S, remember(Tag, E, Sid)}};
                        false -> demonitor_flush(E, Sid, Tag), Ok
                    end;
                {Tag, Failed} ->
                    flush_down(Tag),
                    Failed
            after Timeout ->
                %% As gen_statem: a start that times out is {error, timeout},
                %% and the session is killed (no terminate/3); its init
                %% outcome, if it comes, is not sent.
                _ = throng_lib:retry(fun() -> throng_backend:session_kill(E, Sid, killed) end),
                demonitor_flush(E, Sid, Tag),
                receive {Tag, _} -> ok after 0 -> ok end,
                {error, timeout}
            end;
        {error, Reason} ->
            {error, Reason}
    end.

start_timeout(Opts) ->
    case proplists:get_value(timeout, Opts, infinity) of
        T when T =:= infinity; is_integer(T), T >= 0 -> T;
        Bad -> erlang:error(badarg, [{timeout, Bad}])
    end.

opt_engine(Opts) ->
    case lists:keyfind(engine, 1, Opts) of
        {engine, E} -> E;
        false -> default_engine()
    end.

%%% ------------------------------------------------------------------ events

%% @equiv call(S, Request, infinity)
-spec call(server_ref(), term()) -> term().
call(S, Request) ->
    call(S, Request, infinity).

%% @doc Sends `{call, From}' with `Request' and waits for the reply. Exits
%% as `gen_statem:call/3' does: `{Reason, {throng, call, [S, Request,
%% Timeout]}}' when the session stops first (or does not exist: `noproc';
%% or its queue is full: `queue_full'), `{timeout, …}' on a time-out.
-spec call(server_ref(), term(), timeout() | {dirty_timeout | clean_timeout, timeout()}) -> term().
call(S, Request, Timeout0) ->
    {throng, E, Sid} = Session = ref(S),
    Timeout = call_timeout(Timeout0),
    get(?SELF) =:= Session andalso exit({calling_self, {throng, call, [S, Request, Timeout0]}}),
    Tag = make_ref(),
    %% A call that may wait for ever may also run the callback itself (the
    %% engine's `inline' option): its caller waits anyway.
    Inline = Timeout =:= infinity andalso get(?SELF) =:= undefined,
    _ = case throng_lib:retry(fun() -> throng_backend:session_call(E, Sid, erlang:self(), Tag, Request, Inline) end) of
            {run, Work} -> throng_executor:run_inline(E, Sid, Work);
            ok -> ok;
            {error, Reason0} -> exit({Reason0, {throng, call, [S, Request, Timeout0]}})
        end,
    receive
        {Tag, Reply} ->
            demonitor_flush(E, Sid, Tag),
            Reply;
        {'DOWN', Tag, throng, _, Reason} ->
            exit({Reason, {throng, call, [S, Request, Timeout0]}})
    after Timeout ->
        abandon(E, Sid, Tag),
        exit({timeout, {throng, call, [S, Request, Timeout0]}})
    end.

%% gen_statem's call time-outs: an integer, infinity, {dirty_timeout, T} or
%% {clean_timeout, T} (both the same for a session: there is no proxy).
call_timeout(infinity) -> infinity;
call_timeout(T) when is_integer(T), T >= 0 -> T;
call_timeout({dirty_timeout, T}) -> call_timeout(T);
call_timeout({clean_timeout, T}) -> call_timeout(T);
call_timeout(T) -> erlang:error(badarg, [T]).

%% @doc A `cast' event. `ok' also for a session that does not exist, as
%% `gen_statem:cast/2'; `{error, queue_full}' when the session holds
%% `max_queue_len' events (nothing is queued then).
-spec cast(server_ref(), term()) -> ok | {error, queue_full}.
cast(S, Msg) ->
    {throng, E, Sid} = ref(S),
    accepted(send_event(E, Sid, cast, Msg)).

%% @doc An `info' event: what `Pid ! Msg' is to a gen_statem.
-spec send(server_ref(), term()) -> ok | {error, queue_full}.
send(S, Msg) ->
    {throng, E, Sid} = ref(S),
    accepted(send_event(E, Sid, info, Msg)).

accepted({error, queue_full} = Full) -> Full;
accepted(_) -> ok.

%% @doc A `cast' event per `{Session, Msg}', in list order per session, in
%% as few engine calls as can be (one NIF call per half millisecond of
%% work, one port frame per 10,000 events). `ok', or `{error, Refused}'
%% naming the events not queued with why (`queue_full', or the error of an
%% engine that could not take them); every other event was queued. As for
%% `cast/2', an event to a session that does not exist is dropped.
-spec cast_many([{server_ref(), term()}]) -> ok | {error, [{session(), term()}]}.
cast_many(Events) when is_list(Events) ->
    send_many(cast, Events).

%% @doc An `info' event per `{Session, Msg}', as `cast_many/1'.
-spec send_many([{server_ref(), term()}]) -> ok | {error, [{session(), term()}]}.
send_many(Events) when is_list(Events) ->
    send_many(info, Events).

send_many(Kind, Events) ->
    Refused = lists:append([send_all(E, Kind, Items, []) || {E, Items} <- by_engine(Events)]),
    case Refused of
        [] -> ok;
        _ -> {error, Refused}
    end.

%% `[{Engine, Items}]', in order, `Items' being `{Sid, Msg}' or `{{throng,
%% Engine, Sid}, Msg}' (both backends take either). The common case, every
%% event to a session of one engine, is checked in one pass and handed on
%% as it is.
by_engine([]) ->
    [];
by_engine([{S, _} | _] = Events) ->
    {throng, E, _} = ref(S),
    case same_engine(Events, E) of
        true -> [{E, Events}];
        false -> group(Events, #{}, [])
    end.

same_engine([], _E) ->
    true;
same_engine([{{throng, E, Sid}, _} | T], E) when is_integer(Sid) ->
    same_engine(T, E);
same_engine([{_, _} | _], _E) ->
    false;
same_engine([Bad | _], _E) ->
    erlang:error(badarg, [Bad]).

group([], ByE, Order) ->
    [{E, lists:reverse(maps:get(E, ByE))} || E <- lists:reverse(Order)];
group([{S, Msg} | T], ByE, Order) ->
    {throng, E, Sid} = ref(S),
    case ByE of
        #{E := L} -> group(T, ByE#{E := [{Sid, Msg} | L]}, Order);
        #{} -> group(T, ByE#{E => [{Sid, Msg}]}, [E | Order])
    end;
group([Bad | _], _, _) ->
    erlang:error(badarg, [Bad]).

send_all(_E, _Kind, [], Refused) ->
    lists:append(lists:reverse(Refused));
send_all(E, Kind, Items, Refused) ->
    case throng_backend:session_send_many(E, Kind, Items) of
        {[], Items} ->
            %% No progress: the first session's shard was busy.
            erlang:yield(),
            send_all(E, Kind, Items, Refused);
        {Now, Rest} when is_list(Now) ->
            send_all(E, Kind, Rest, [[{{throng, E, Sid}, R} || {Sid, R} <- Now] | Refused]);
        {error, R} ->
            send_all(E, Kind, [], [[{{throng, E, Sid}, R} || {Sid, _} <- Items] | Refused])
    end.

%% The hot path of cast/2 and send/2: throng_lib:retry/1 without a fun.
%% Outside callbacks the engine may hand the callback to the sender (its
%% `inline' option `all').
send_event(E, Sid, Kind, Msg) ->
    case throng_backend:session_send(E, Sid, Kind, Msg, get(?SELF) =:= undefined) of
        {run, Work} ->
            throng_executor:run_inline(E, Sid, Work);
        {error, busy} ->
            erlang:yield(),
            send_event(E, Sid, Kind, Msg);
        Result ->
            Result
    end.

%% @doc Replies to a caller: `Pid ! {Tag, Reply}', as `gen_statem:reply/2'.
-spec reply(from(), term()) -> ok.
reply({Pid, Tag}, Reply) ->
    _ = (catch Pid ! {Tag, Reply}),
    ok.

%% @doc Sends `{reply, From, Reply}' replies in order.
-spec reply([{reply, from(), term()}] | {reply, from(), term()}) -> ok.
reply({reply, From, Reply}) ->
    reply(From, Reply);
reply(Replies) when is_list(Replies) ->
    lists:foreach(fun({reply, From, Reply}) -> reply(From, Reply) end, Replies).

%% @doc Sends a call and returns at once; the reply is collected with
%% `wait_response/2', `receive_response/2' or `check_response/2'.
-spec send_request(server_ref(), term()) -> request_id().
send_request(Ref, Request) ->
    {throng, E, Sid} = S = ref(Ref),
    Tag = make_ref(),
    _ = case throng_lib:retry(fun() -> throng_backend:session_call(E, Sid, erlang:self(), Tag, Request, false) end) of
            ok -> ok;
            {error, Reason} -> erlang:self() ! {'DOWN', Tag, throng, S, Reason}
        end,
    {'$throng_request', Tag, S}.

%% @doc As `gen_statem:wait_response/2': `{reply, R}', `timeout' (the
%% request stays pending) or `{error, {Reason, S}}'.
-spec wait_response(request_id(), timeout()) -> {reply, term()} | timeout | {error, {term(), session()}}.
wait_response({'$throng_request', Tag, {throng, E, Sid} = S}, Timeout) ->
    receive
        {Tag, Reply} -> demonitor_flush(E, Sid, Tag), {reply, Reply};
        {'DOWN', Tag, throng, _, Reason} -> {error, {Reason, S}}
    after Timeout -> timeout
    end.

%% @doc As `gen_statem:receive_response/2': like `wait_response/2' but a
%% time-out abandons the request.
-spec receive_response(request_id(), timeout()) -> {reply, term()} | timeout | {error, {term(), session()}}.
receive_response({'$throng_request', Tag, {throng, E, Sid}} = Req, Timeout) ->
    case wait_response(Req, Timeout) of
        timeout -> abandon(E, Sid, Tag), timeout;
        Other -> Other
    end.

%% @doc As `gen_statem:check_response/2': is `Msg' the answer to the request?
-spec check_response(term(), request_id()) -> {reply, term()} | no_reply | {error, {term(), session()}}.
check_response({Tag, Reply}, {'$throng_request', Tag, {throng, E, Sid}}) ->
    demonitor_flush(E, Sid, Tag),
    {reply, Reply};
check_response({'DOWN', Tag, throng, _, Reason}, {'$throng_request', Tag, S}) ->
    {error, {Reason, S}};
check_response(_, {'$throng_request', _, _}) ->
    no_reply.

%%% ------------------------------------------------------------------ sys

%% @equiv stop(S, normal, infinity)
-spec stop(server_ref()) -> ok.
stop(S) ->
    stop(S, normal, infinity).

%% @doc Stops the session with `Reason' once it is idle (as
%% `gen_statem:stop/3', a system request): `terminate/3' runs; returns `ok'
%% when the session exited with `Reason', else exits with the reason it
%% exited with (`noproc' when there was no such session).
-spec stop(server_ref(), term(), timeout()) -> ok.
stop(S, Reason, Timeout) when Timeout =:= infinity; is_integer(Timeout), Timeout >= 0 ->
    {throng, E, Sid} = ref(S),
    Tag = make_ref(),
    case throng_lib:retry(fun() -> throng_backend:session_system(E, Sid, {stop, Reason}, erlang:self(), Tag) end) of
        ok ->
            receive
                {'DOWN', Tag, throng, _, Reason} ->
                    %% The session stopped as asked: its `{stopped, R}'
                    %% answer is on its way, and may come from another
                    %% sender than the DOWN (the engine thread or an
                    %% executor), so after it: wait for it, briefly.
                    receive {Tag, _} -> ok after ?STOP_REPLY_MS -> ok end;
                {'DOWN', Tag, throng, _, Other} ->
                    receive {Tag, _} -> ok after 0 -> ok end,
                    exit(Other)
            after Timeout ->
                demonitor_flush(E, Sid, Tag),
                exit(timeout)
            end;
        {error, Why} ->
            exit(Why)
    end.

%% @doc Returns once every event sent to the session before has been
%% handled and no zero time-out is pending (as `jhn_fsm:sync/1').
-spec sync(server_ref()) -> ok.
sync(S) ->
    sys_call(S, sync, sync).

%% @doc As `sys:suspend/1': the session handles no more events until
%% `resume/1'; they queue up.
-spec suspend(server_ref()) -> ok.
suspend(S) ->
    sys_call(S, suspend, suspend).

%% @doc As `sys:resume/1'.
-spec resume(server_ref()) -> ok.
resume(S) ->
    sys_call(S, resume, resume).

%% @doc As `sys:get_state/1': `{State, Data}'.
-spec get_state(server_ref()) -> {term(), term()}.
get_state(S) ->
    sys_call(S, get_state, get_state).

%% @doc The status: `#{state, data, queue_len, postponed_len, timeouts,
%% modules, callback_mode, suspended}'; `timeouts' lists `{Type, Msg}' as
%% `sys:get_status/1' does. The callback module's `format_status/1' or
%% `format_status/2' formats it as it formats `sys:get_status/1' (see
%% `throng_status'; it runs in the caller): with `format_status/1' its
%% `state', `data' and `timeouts' are shown; with `format_status/2',
%% `status => Result' (what `sys:get_status/1' shows of the state and
%% data) takes the place of `state' and `data'.
-spec get_status(server_ref()) -> #{atom() => term()}.
get_status(S) ->
    throng_status:status(sys_call(S, get_status, get_status)).

%% @doc As `sys:change_code/4': the session's callback module (the head of
%% its module stack, whatever `Module' says, as gen_statem does) has
%% `code_change(OldVsn, State, Data, Extra)' called, in the caller, and its
%% `callback_mode()' read again; on `{ok, NewState, NewData}' the session
%% takes them (not a state change: no enter call, postponed events stay
%% postponed) and this returns `ok'. Any other return `R' gives `{error,
%% R}', an exception ``{error, {'EXIT', Reason}}'' (`{Reason, Stack}' for
%% class error, as `catch' makes it); the session is then unchanged. The
%% session is suspended meanwhile, unless it already is (`sys' requires a
%% suspended process), so no event is handled in between; it stays
%% suspended if it was.
-spec change_code(server_ref(), module(), term(), term()) -> ok | {error, term()}.
change_code(S, Module, OldVsn, Extra) ->
    throng_status:change_code(system(S, change_code, [S, Module, OldVsn, Extra]), OldVsn, Extra).

%% @doc As `sys:replace_state/2': `{State, Data}' becomes
%% `StateFun({State, Data})', which is returned (not a state change).
%% `StateFun' runs in the caller, with the session suspended. When it
%% raises, the session is unchanged and this raises `error({callback_failed,
%% {gen_statem, system_replace_state}, {Class, Reason}})' as `sys' does;
%% so it does when `StateFun' returns anything but a pair.
-spec replace_state(server_ref(), fun(({term(), term()}) -> {term(), term()})) -> {term(), term()}.
replace_state(S, StateFun) when is_function(StateFun, 1) ->
    throng_status:replace_state(system(S, replace_state, [S, StateFun]), StateFun).

%% The system requests of a function made of several: each exits as that
%% function.
system(S, Fun, Args) ->
    Session = ref(S),
    fun(Req) -> sys_call(Session, Req, Fun, Args) end.

sys_call(S, Req, Fun) ->
    sys_call(S, Req, Fun, [S]).

sys_call(S, Req, Fun, Args) ->
    {throng, E, Sid} = ref(S),
    Tag = make_ref(),
    case throng_lib:retry(fun() -> throng_backend:session_system(E, Sid, Req, erlang:self(), Tag) end) of
        ok ->
            receive
                {Tag, Reply} ->
                    demonitor_flush(E, Sid, Tag),
                    Reply;
                {'DOWN', Tag, throng, _, Reason} ->
                    exit({Reason, {throng, Fun, Args}})
            end;
        {error, Reason} ->
            exit({Reason, {throng, Fun, Args}})
    end.

%%% ------------------------------------------------------------------ monitors

%% @doc Monitors a session: `{'DOWN', MRef, throng, S, Reason}' when it
%% stops (at once with `noproc' if it does not exist).
-spec monitor(server_ref()) -> reference().
monitor(Ref) ->
    {throng, E, Sid} = S = ref(Ref),
    MRef = make_ref(),
    case throng_lib:retry(fun() -> throng_backend:session_monitor(E, Sid, erlang:self(), MRef) end) of
        ok -> remember(MRef, E, Sid);
        {error, Reason} -> erlang:self() ! {'DOWN', MRef, throng, S, Reason}, MRef
    end.

%% @doc Removes a monitor made by `monitor/1' and flushes its DOWN.
-spec demonitor(reference()) -> true.
demonitor(MRef) when is_reference(MRef) ->
    case erase({'$throng_monitor', MRef}) of
        {E, Sid} -> demonitor_flush(E, Sid, MRef);
        undefined -> flush_down(MRef)
    end,
    true.

remember(MRef, E, Sid) ->
    put({'$throng_monitor', MRef}, {E, Sid}),
    MRef.

%% The caller gave up: as with gen_statem's aliases, a reply that comes
%% later never reaches its mailbox (the engine drops it; one already sent
%% is flushed).
abandon(E, Sid, Tag) ->
    _ = throng_backend:session_abandon(E, Sid, erlang:self(), Tag),
    receive {Tag, _} -> ok after 0 -> ok end,
    flush_down(Tag).

demonitor_flush(E, Sid, Tag) ->
    _ = throng_backend:session_demonitor(E, Sid, erlang:self(), Tag),
    flush_down(Tag).

flush_down(Tag) ->
    receive {'DOWN', Tag, throng, _, _} -> ok after 0 -> ok end.

%% A session, from a session or a name. An unknown name resolves to a
%% session id that never exists (generation 0), so it is `noproc'.
ref({throng, _, _} = S) -> S;
ref({name, Name}) -> ref({name, default_engine(), Name});
ref({name, E, Name}) ->
    case throng_names:lookup(E, Name) of
        {ok, Sid} -> {throng, E, Sid};
        error -> {throng, E, 0}
    end;
ref(Other) ->
    erlang:error(badarg, [Other]).

%% @doc The session registered as `Name' in the default engine (`start'
%% option `{name, Name}'), or `undefined'.
-spec whereis(term()) -> session() | undefined.
whereis(Name) ->
    whereis(default_engine(), Name).

%% @doc The session registered as `Name' in engine `E', or `undefined'.
-spec whereis(engine(), term()) -> session() | undefined.
whereis(E, Name) ->
    case live_name(E, Name) of
        {ok, Sid} -> {throng, E, Sid};
        error -> undefined
    end.

%% @doc Inside a callback: as `erlang:start_timer(Time, self(), Msg)' for
%% the session: `{timeout, Ref, Msg}' arrives as an `info' event.
-spec start_timer(non_neg_integer(), term()) -> reference().
start_timer(Time, Msg) ->
    {throng, E, _} = S = in_callback(start_timer),
    {ok, Relay} = throng_backend:owner(E),
    erlang:start_timer(Time, Relay, {'$throng_timer', S, Msg}).

%% @doc Cancels a timer of `start_timer/2', as `erlang:cancel_timer/1'.
-spec cancel_timer(reference()) -> non_neg_integer() | false.
cancel_timer(Ref) ->
    erlang:cancel_timer(Ref).

%% @doc Inside a callback: the session monitors `Pid'; when it exits,
%% `{'DOWN', MRef, process, Pid, Reason}' arrives as an `info' event.
-spec monitor_process(pid()) -> reference().
monitor_process(Pid) when is_pid(Pid) ->
    {throng, E, _} = S = in_callback(monitor_process),
    {ok, Relay} = throng_backend:owner(E),
    gen_server:call(Relay, {monitor_process, S, Pid}).

in_callback(Fun) ->
    case get(?SELF) of
        {throng, _, _} = S -> S;
        undefined -> erlang:error({not_in_a_callback, Fun})
    end.

%% @doc Inside a callback: the session the callback runs for.
-spec self() -> session() | undefined.
self() ->
    get(?SELF).

%%% ------------------------------------------------------------------ engines

%% @doc Starts an engine: `#{shards, max_sessions, max_queue_len,
%% run_budget, executors, inline}' (all optional). The engine lives as long
%% as the process that owns it, under Throng's supervisor.
%%
%% <ul>
%% <li>`max_sessions' (10,000,000), `max_queue_len' (10,000 events a
%%     session may hold), `shards' (64), `run_budget' (64 events a session
%%     handles before others get their turn): the engine's limits.</li>
%% <li>`executors' (2 x schedulers): the processes that run callbacks.</li>
%% <li>`inline' (`calls'): which events to an idle session run their
%%     callback in the process that sends them, instead of an executor:
%%     `calls' (calls with an `infinity' time-out), `all' (those, casts and
%%     infos; `cast/2' then returns once the callback has run) or `none'.
%%     See docs/bridge.md.</li>
%% </ul>
%%
%% Options the engine cannot take give `{error, badarg}' or `{error,
%% {badarg, Stack}}'.
%%
%% `backend' chooses where the engine runs: `nif' (the default) in this
%% VM, `port' in its own OS process, the `throng_port' program, whose
%% options and error behaviour are in `throng_port_engine' (a backend
%% other than these gives `{error, {badarg, {backend, Backend}}}').
%% Sessions are used the same way on both; on a port engine every
%% operation may also fail with `{engine_down, Reason}' (the program died;
%% its owner starts a new one, and the old one's sessions are lost).
-spec start_engine(throng_engine:opts() | throng_port_engine:opts()) -> {ok, engine()} | {error, term()}.
start_engine(Opts) when is_map(Opts) ->
    case supervisor:start_child(throng_engine_sup, [Opts]) of
        {ok, Pid} -> {ok, throng_engine:engine(Pid)};
        {error, _} = Error -> Error
    end.

%% @doc Stops an engine started with `start_engine/1'.
-spec stop_engine(engine()) -> ok | {error, not_found}.
stop_engine(E) ->
    case throng_backend:owner(E) of
        {ok, Pid} -> supervisor:terminate_child(throng_engine_sup, Pid);
        error -> {error, not_found}
    end.

%% @doc Engine-wide figures: `#{sessions, queued_events, timers,
%% table_bytes, memory, executor_queue, inline_runs}': live sessions, events
%% waiting in sessions' queues, time-outs held, bytes of the session tables
%% and timer wheels, those plus the sessions' own heap (states, data, queues
%% of busy sessions: an estimate, without the allocator's rounding),
%% callbacks waiting for an executor and callbacks running in callers. It
%% visits every session (on a dirty scheduler). A port engine adds
%% `frames_in' and `bad_frames' (frames its program read, and refused), and
%% may answer `{error, Reason}' (see `throng_port_engine').
-spec engine_stats(engine()) -> #{atom() => non_neg_integer()} | {error, term()}.
engine_stats(E) ->
    throng_backend:engine_stats(E).

%% @doc The engine's live sessions and the time-outs they hold (as
%% `engine_stats/1''s `sessions' and `timers'), read without visiting the
%% sessions: cheap enough to poll, on any number of sessions. Each shard's
%% figure is the one its last operation left.
-spec engine_counts(engine()) -> #{sessions := non_neg_integer(), timers := non_neg_integer()} | {error, term()}.
engine_counts(E) ->
    throng_backend:engine_counts(E).

%% @doc The engine the application starts, used when no engine is named.
-spec default_engine() -> engine().
default_engine() ->
    case persistent_term:get({throng, default_engine}, undefined) of
        undefined -> erlang:error({throng_not_started, "application:ensure_all_started(throng)"});
        E -> E
    end.
