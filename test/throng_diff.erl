%%% @doc The harness of the differential conformance suite.
%%%
%%% A scenario is a callback module written as a plain `gen_statem' callback
%%% module (`test/throng_diff_m_*.erl') plus a script of inputs. {@link run/3}
%%% plays the script against one backend: real `gen_statem', or a Throng
%%% engine through the public `throng' API. The result is a trace: every
%%% callback invocation as the callback module logs it with {@link log/1},
%%% interleaved with what the driver observes (replies, caller exits, stop
%%% results, `DOWN' reasons). `throng_diff_SUITE' runs every scenario on both
%%% backends and compares the traces.
%%%
%%% == Callback-side helpers ==
%%%
%%% Callbacks on Throng run in executor processes, not in a process of
%%% their own, so callback modules never use `self()', the process
%%% dictionary or `Pid ! Msg' on themselves. They call the helpers here,
%%% which pick the backend from `get('$throng_self')' (set by Throng's
%%% executors while a callback runs, see `docs/bridge.md'):
%%%
%%% <ul>
%%% <li>{@link log/1} appends a term to the trace (an ETS table, so it works
%%%     from any process; the order is `erlang:unique_integer([monotonic])').</li>
%%% <li>{@link self_send/1} is `self() ! Msg' on gen_statem and
%%%     `throng:send(throng:self(), Msg)' on Throng: an info event.</li>
%%% <li>{@link start_timer/2} and {@link cancel_timer/1} are
%%%     `erlang:start_timer(T, self(), Msg)' / `erlang:cancel_timer/1' and
%%%     `throng:start_timer/2' / `throng:cancel_timer/1'.</li>
%%% <li>{@link fab_from/2} builds a fabricated `From' addressed to the
%%%     driver, as OTP's `state_enter' test does with `{Self, N}'.</li>
%%% </ul>
%%%
%%% == The trace ==
%%%
%%% Entries come from two sources that run concurrently: the machine (its
%%% callbacks) and the driver. Their interleaving is only deterministic at
%%% barriers: points where the driver knows the machine is idle (`sync',
%%% `get_state', `suspend', just before `resume', a stop request's return,
%%% the start of a further machine) or dead (a `DOWN'). The trace is therefore canonicalised per segment between two
%%% barriers: the machine's entries in their order, then the driver's
%%% entries in their order, then the barrier entry. Within each source the
%%% order is exact.
%%%
%%% Terms are normalised before they are stored ({@link normalize/1}): pids
%%% become `` '$pid' '', references `` '$ref' '', a `From' of a real call
%%% becomes `from' (so `{call,From}' reads `{call,from}'), while fabricated
%%% `From's keep their tag. Exit reasons seen by the driver lose the
%%% `{gen_statem,call,_}' / `{throng,call,_}' wrapper and the stack of class
%%% `error' ({@link exit_reason/1}).
%%%
%%% == Scripts ==
%%%
%%% A script is a list of {@type step()}. Every step that waits has a time
%%% limit, and the whole run has one ({@link run/3} option `timeout'): a
%%% scenario that hangs returns `{error, {hung, StepNo, Step, Trace}}'
%%% instead of hanging Common Test. Every machine the run started is
%%% stopped before {@link run/3} returns, and the trace table is dropped.
-module(throng_diff).

%% Callback-side helpers.
-export([log/1, self_send/1, start_timer/2, cancel_timer/1, fab_from/2, backend/0]).
%% Driver side.
-export([run/3, throng_available/0, compare/2, format_diff/2]).
%% Exported for the suite and for debugging.
-export([normalize/1, exit_reason/1, canonical/1]).

-export_type([backend/0, step/0, trace/0, entry/0]).

-define(TAB, throng_diff_log).
%% Time limits (ms) of single steps, and of a whole run by default.
-define(CALL_TIMEOUT, 2000).
-define(SYS_TIMEOUT, 2000).
-define(AWAIT_TIMEOUT, 3000).
-define(COLLECT_TIMEOUT, 1000).
-define(RUN_TIMEOUT, 15000).

-type backend() :: gen_statem | {throng, Opts :: list()}.
%% `gen_statem': real `gen_statem' processes. `{throng, Opts}': sessions
%% started with `throng:start_monitor(Module, Args, Opts)' (`Opts' names the
%% engine, e.g. `[{engine, E}]' for a port engine, `[]' for the default).

-type step() ::
    {start, module(), term()}
    | {cast, term()}
    | {info, term()}
    | {call, term()}
    | {call, term(), timeout()}
    | flush
    | {call_async, term(), term()}
    | {await, term()}
    | {collect, pos_integer()}
    | {wait, non_neg_integer()}
    | sync
    | get_state
    | {suspended, [step()]}
    | {stop, term()}
    | down.
%% <ul>
%% <li>`{start, M, A}': start and monitor a machine (`start_monitor/3'; it
%%     becomes the current one); driver entry
%%     `{started, ok | ignore | {error, R}}'. A start after the first one
%%     is preceded by the barrier `restart' (the previous machine must be
%%     dead or idle).</li>
%% <li>`{cast, Msg}', `{info, Msg}': a cast, a plain message (info event).
%%     No entry.</li>
%% <li>`{call, Req}': a call from the driver; entry `{reply, Req, R}' or
%%     `{call_exit, Req, Reason}' (for a `throng_diff_m_puppet' request
%%     `{do, Label, Spec}', `Label' stands for `Req').</li>
%% <li>`{call, Req, Timeout}': the same with a call time-out (default
%%     2 s).</li>
%% <li>`flush': entry `{mailbox, Msgs}', the messages in the driver's
%%     mailbox but for `EXIT' and `DOWN' (stray replies).</li>
%% <li>`{call_async, Id, Req}': a call that the driver does not wait for
%%     (`send_request/2'); `{await, Id}' later waits for its outcome
%%     (`receive_response/2') and enters `{reply, Id, R}' or
%%     `{call_exit, Id, Reason}'.</li>
%% <li>`{collect, N}': receive `N' replies sent to fabricated `From's (in
%%     arrival order); entry `{replies, [{Id, R}]}'.</li>
%% <li>`{wait, Ms}': sleep (real time).</li>
%% <li>`sync': barrier (`sys:get_state/2' on gen_statem, which is only
%%     answered once the queue and zero time-outs are empty;
%%     `throng:sync/1'); entry `sync'.</li>
%% <li>`get_state': barrier; entry `{state, State, Data}'.</li>
%% <li>`{suspended, Steps}': suspend (barrier `suspended'), run `Steps'
%%     (they must not block on the machine: no `call', `sync'), resume
%%     (barrier `resumed') unless a `stop' in `Steps' stopped it.</li>
%% <li>`{stop, Reason}': `stop/3'; barrier `{stop, ok}' or
%%     `{stop_exit, Reason}'.</li>
%% <li>`down': wait for the current machine's `DOWN'; barrier
%%     `{down, Reason}'.</li>
%% </ul>
%% In messages and requests, `{'$fab', N}' is replaced by a fabricated
%% `From' `{DriverPid, {diff_tag, N}}' and `{'$abs', Ms}' by
%% `erlang:monotonic_time(millisecond) + Ms' at the moment of sending.

-type entry() :: term().
-type trace() :: [entry()].

%%====================================================================
%% Callback-side helpers
%%====================================================================

%% @doc Append `Term' (normalised) to the trace of the running scenario.
%% Does nothing when no scenario runs, so a stray late callback cannot
%% crash.
-spec log(term()) -> ok.
log(Term) ->
    insert(m, Term).

%% @doc `self() ! Msg' inside a callback, on either backend: an info event
%% to the machine itself.
-spec self_send(term()) -> ok.
self_send(Msg) ->
    case get('$throng_self') of
        undefined ->
            self() ! Msg,
            ok;
        _Session ->
            throng:send(throng:self(), Msg)
    end.

%% @doc `erlang:start_timer(Ms, self(), Msg)' inside a callback, on either
%% backend. The machine later gets `{timeout, Ref, Msg}' as an info event.
-spec start_timer(non_neg_integer(), term()) -> reference().
start_timer(Ms, Msg) ->
    case get('$throng_self') of
        undefined -> erlang:start_timer(Ms, self(), Msg);
        _Session -> throng:start_timer(Ms, Msg)
    end.

%% @doc `erlang:cancel_timer(Ref)' inside a callback, on either backend.
-spec cancel_timer(reference()) -> non_neg_integer() | false.
cancel_timer(Ref) ->
    case get('$throng_self') of
        undefined -> erlang:cancel_timer(Ref);
        _Session -> throng:cancel_timer(Ref)
    end.

%% @doc A fabricated `From' with tag `{diff_tag, N}' addressed to the same
%% process as `Base', a fabricated `From' the driver handed in.
-spec fab_from({pid(), term()}, term()) -> {pid(), {diff_tag, term()}}.
fab_from({Pid, _}, N) when is_pid(Pid) ->
    {Pid, {diff_tag, N}}.

%% @doc Which backend runs the current callback: `throng' or `gen_statem'.
%% Scenarios must not depend on it; it is for diagnostics only.
-spec backend() -> gen_statem | throng.
backend() ->
    case get('$throng_self') of
        undefined -> gen_statem;
        _ -> throng
    end.

%%====================================================================
%% Driver side
%%====================================================================

%% @doc True when the `throng' API is there: the module loads and exports
%% `start_link/3'.
-spec throng_available() -> boolean().
throng_available() ->
    code:which(throng) =/= non_existing andalso
        code:ensure_loaded(throng) =:= {module, throng} andalso
        erlang:function_exported(throng, start_link, 3).

%% @doc Run `Script' on `Backend'. Options: `{timeout, Ms}' for the whole
%% run (default 15 s). Returns the canonical trace, or
%% `{error, {hung, StepNo, Step, PartialTrace}}' when the run did not end in
%% time, or `{error, {driver_crashed, Reason, PartialTrace}}'.
-spec run(backend(), [step()], [{timeout, pos_integer()}]) ->
    {ok, trace()}
    | {error,
        {hung, non_neg_integer(), step() | start, trace()}
        | {driver_crashed, term(), trace()}}.
run(Backend, Script, Opts) ->
    RunTimeout = proplists:get_value(timeout, Opts, ?RUN_TIMEOUT),
    Owner = new_table(),
    Parent = self(),
    {Driver, DMon} =
        spawn_monitor(fun() -> driver(Parent, Backend, Script) end),
    Result = watch(Driver, DMon, RunTimeout, {0, start}, []),
    drop_table(Owner),
    Result.

%% The watchdog: follows the driver's progress, kills it when the run takes
%% too long, and cleans up what it reported.
watch(Driver, DMon, RunTimeout, Current, Machines) ->
    Deadline = erlang:monotonic_time(millisecond) + RunTimeout,
    watch_loop(Driver, DMon, Deadline, Current, Machines).

watch_loop(Driver, DMon, Deadline, Current, Machines) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {Driver, step, N, Step} ->
            watch_loop(Driver, DMon, Deadline, {N, Step}, Machines);
        {Driver, machine, M} ->
            watch_loop(Driver, DMon, Deadline, Current, [M | Machines]);
        {Driver, done, Trace} ->
            erlang:demonitor(DMon, [flush]),
            {ok, Trace};
        {'DOWN', DMon, process, Driver, Reason} ->
            Partial = snapshot(),
            cleanup_machines(Machines),
            {error, {driver_crashed, Reason, Partial}}
    after Left ->
        exit(Driver, kill),
        receive
            {'DOWN', DMon, process, Driver, _} -> ok
        after 1000 -> ok
        end,
        Partial = snapshot(),
        cleanup_machines(Machines),
        {N, Step} = Current,
        {error, {hung, N, Step, Partial}}
    end.

%% @doc Compare two traces: `equal', or the first difference.
-spec compare(trace(), trace()) ->
    equal | {differ, Index :: pos_integer(), term(), term()}.
compare(A, B) ->
    compare(A, B, 1).

compare([X | As], [X | Bs], N) -> compare(As, Bs, N + 1);
compare([], [], _) -> equal;
compare([X | _], [Y | _], N) -> {differ, N, X, Y};
compare([X | _], [], N) -> {differ, N, X, '<end of trace>'};
compare([], [Y | _], N) -> {differ, N, '<end of trace>', Y}.

%% @doc A readable report of two traces side by side, marking the first
%% difference, for `ct:fail/2' and `ct:log/2'.
-spec format_diff({string(), trace()}, {string(), trace()}) -> iolist().
format_diff({NameA, A}, {NameB, B}) ->
    First =
        case compare(A, B) of
            equal -> 0;
            {differ, I, _, _} -> I
        end,
    Len = max(length(A), length(B)),
    Lines =
        [
            begin
                X = nth_or(I, A),
                Y = nth_or(I, B),
                Mark =
                    if
                        I =:= First -> ">>";
                        X =:= Y -> "  ";
                        true -> "!="
                    end,
                io_lib:format("~s ~3w ~-60s | ~s~n", [
                    Mark, I, fmt(X), fmt(Y)
                ])
            end
         || I <- lists:seq(1, Len)
        ],
    [
        io_lib:format("first difference at entry ~w~n", [First]),
        io_lib:format("   ~3s ~-60s | ~s~n", ["#", NameA, NameB])
        | Lines
    ].

nth_or(I, L) when I =< length(L) -> lists:nth(I, L);
nth_or(_, _) -> '-'.

fmt('-') -> "-";
fmt(T) -> io_lib:format("~0p", [T]).

%%====================================================================
%% The trace table
%%====================================================================

%% A public named table owned by a process of its own, so that it outlives
%% the driver and is dropped for sure after the run.
new_table() ->
    case ets:whereis(?TAB) of
        undefined ->
            ok;
        Old ->
            %% Left by a run that was itself killed: drop it.
            OldOwner = ets:info(Old, owner),
            exit(OldOwner, kill),
            wait_table_gone(50)
    end,
    Self = self(),
    Owner = spawn(fun() ->
        _ = ets:new(?TAB, [named_table, public, ordered_set, {write_concurrency, true}]),
        Self ! {self(), table_ready},
        receive
            stop -> ok
        end
    end),
    receive
        {Owner, table_ready} -> Owner
    after 5000 -> error(trace_table_not_created)
    end.

wait_table_gone(0) ->
    error(stale_trace_table);
wait_table_gone(N) ->
    case ets:whereis(?TAB) of
        undefined ->
            ok;
        _ ->
            timer:sleep(10),
            wait_table_gone(N - 1)
    end.

drop_table(Owner) ->
    MRef = erlang:monitor(process, Owner),
    Owner ! stop,
    receive
        {'DOWN', MRef, process, Owner, _} -> ok
    after 1000 ->
        exit(Owner, kill),
        ok
    end.

%% Src: m (machine), d (driver), b (driver barrier).
insert(Src, Term) ->
    Entry = {erlang:unique_integer([monotonic]), Src, normalize(Term)},
    try
        true = ets:insert(?TAB, Entry),
        ok
    catch
        error:badarg ->
            %% No scenario runs (the table is gone): a late callback.
            ok
    end.

snapshot() ->
    try ets:tab2list(?TAB) of
        Rows -> canonical([{Src, T} || {_, Src, T} <- Rows])
    catch
        error:badarg -> []
    end.

%% @doc The canonical trace of raw `{Source, Entry}' rows in time order: per
%% segment between barriers, machine entries, then driver entries, then the
%% barrier (see the module doc).
-spec canonical([{m | d | b, entry()}]) -> trace().
canonical(Rows) ->
    canonical(Rows, [], [], []).

canonical([], Ms, Ds, Acc) ->
    lists:reverse(Acc, lists:reverse(Ms, lists:reverse(Ds)));
canonical([{m, T} | Rows], Ms, Ds, Acc) ->
    canonical(Rows, [T | Ms], Ds, Acc);
canonical([{d, T} | Rows], Ms, Ds, Acc) ->
    canonical(Rows, Ms, [T | Ds], Acc);
canonical([{b, T} | Rows], Ms, Ds, Acc) ->
    Segment = lists:reverse(Ms) ++ lists:reverse(Ds) ++ [T],
    canonical(Rows, [], [], lists:reverse(Segment, Acc)).

%%====================================================================
%% Normalisation
%%====================================================================

%% @doc Make a term comparable across runs and backends: pids become
%% `` '$pid' '', references `` '$ref' '', ports `` '$port' ''; a `From'
%% `{Pid, Tag}' of a real call becomes `from'; a fabricated `From'
%% `{Pid, {diff_tag, N}}' becomes `` {'$pid', {diff_tag, N}} ''.
-spec normalize(term()) -> term().
normalize(T) when is_pid(T) -> '$pid';
normalize(T) when is_reference(T) -> '$ref';
normalize(T) when is_port(T) -> '$port';
normalize({P, {diff_tag, N}}) when is_pid(P) -> {'$pid', {diff_tag, normalize(N)}};
normalize({P, _Tag}) when is_pid(P) -> from;
normalize(T) when is_tuple(T) -> list_to_tuple(normalize(tuple_to_list(T)));
normalize([H | T]) -> [normalize(H) | normalize(T)];
normalize(M) when is_map(M) -> maps:from_list([{normalize(K), normalize(V)} || {K, V} <- maps:to_list(M)]);
normalize(T) -> T.

%% @doc The reason part of an exit seen by a caller or a monitor: without
%% the `{gen_statem, call, _}' / `{throng, call, _}' wrapper and without
%% the stack trace of class `error' (the traces compare reasons, not
%% stacks).
-spec exit_reason(term()) -> term().
exit_reason({Reason, {gen_statem, call, _}}) -> strip_stack(Reason);
exit_reason({Reason, {throng, call, _}}) -> strip_stack(Reason);
exit_reason({Reason, {gen_statem, stop, _}}) -> strip_stack(Reason);
exit_reason({Reason, {throng, stop, _}}) -> strip_stack(Reason);
exit_reason({Reason, {sys, _, _}}) -> strip_stack(Reason);
exit_reason({Reason, {throng, _, _}}) -> strip_stack(Reason);
exit_reason(Reason) -> strip_stack(Reason).

strip_stack({Reason, Stack}) when is_list(Stack) ->
    case is_stack(Stack) of
        true -> Reason;
        false -> {Reason, Stack}
    end;
strip_stack(Reason) ->
    Reason.

is_stack(Stack) ->
    lists:all(
        fun
            ({M, F, A, Info}) when
                is_atom(M), is_atom(F), (is_integer(A) orelse is_list(A)), is_list(Info)
            ->
                true;
            (_) ->
                false
        end,
        Stack
    ).

%%====================================================================
%% The driver
%%====================================================================

-record(drv, {
    parent :: pid(),
    backend :: backend(),
    %% The current machine: a pid or a Throng session, its monitor, and
    %% whether it is known to be dead.
    machine = undefined :: term(),
    mref = undefined :: undefined | reference(),
    dead = true :: boolean(),
    %% Every machine started, for cleanup; how many starts were tried.
    machines = [] :: [term()],
    starts = 0 :: non_neg_integer(),
    %% Requests of call_async not awaited yet: Id => request id.
    requests = #{} :: #{term() => term()}
}).

driver(Parent, Backend, Script) ->
    %% Machines are not linked to the driver (start_monitor); trap exits
    %% anyway so that nothing a scenario does can kill the driver.
    process_flag(trap_exit, true),
    D0 = #drv{parent = Parent, backend = Backend},
    D1 = steps(Script, 1, D0),
    D2 = final(D1),
    Trace = snapshot(),
    cleanup(D2),
    Parent ! {self(), done, Trace},
    ok.

steps([], _, D) ->
    D;
steps([Step | Steps], N, D) ->
    D#drv.parent ! {self(), step, N, Step},
    steps(Steps, N + 1, step(Step, D)).

%% After the script: a last barrier if the machine still runs, then what
%% nobody waited for.
final(D) ->
    D1 =
        case D#drv.dead of
            false -> step(sync, D);
            true -> D
        end,
    case drain_fab([]) of
        [] -> ok;
        Strays -> insert(d, {stray_replies, Strays})
    end,
    case lists:sort(maps:keys(D1#drv.requests)) of
        [] -> ok;
        Unawaited -> insert(d, {unawaited, Unawaited})
    end,
    D1.

drain_fab(Acc) ->
    receive
        {{diff_tag, Id}, R} -> drain_fab([{Id, R} | Acc])
    after 0 -> lists:reverse(Acc)
    end.

step({start, Module, Args}, D) ->
    %% A later machine of the same script: the previous one is dead (or
    %% idle), so this is a barrier that keeps the machines' entries apart.
    D#drv.starts > 0 andalso insert(b, restart),
    Res =
        try b_start(D#drv.backend, Module, subst(Args)) of
            R -> R
        catch
            C:R -> {start_raised, C, exit_reason(R)}
        end,
    step_started(Res, D#drv{starts = D#drv.starts + 1});
step({cast, Msg}, D) ->
    ok = b_cast(D, subst(Msg)),
    D;
step({info, Msg}, D) ->
    ok = b_info(D, subst(Msg)),
    D;
step({call, Req}, D) ->
    step({call, Req, ?CALL_TIMEOUT}, D);
step({call, Req, Timeout}, D) ->
    insert(d, call_outcome(label(Req), catch_call(D, subst(Req), Timeout))),
    D;
step(flush, D) ->
    insert(d, {mailbox, flush([])}),
    D;
step({call_async, Id, Req}, D) ->
    %% send_request from the driver itself: the request is in the machine's
    %% queue before the next step, which a helper process calling would not
    %% guarantee.
    ReqId = b_send_request(D, subst(Req)),
    D#drv{requests = maps:put(Id, ReqId, D#drv.requests)};
step({await, Id}, D) ->
    case maps:find(Id, D#drv.requests) of
        {ok, ReqId} ->
            Outcome =
                case b_receive_response(D, ReqId, ?AWAIT_TIMEOUT) of
                    {reply, R} -> {reply, Id, R};
                    {error, {Reason, _ServerRef}} -> {call_exit, Id, exit_reason(Reason)};
                    timeout -> {await_timeout, Id}
                end,
            insert(d, Outcome),
            D#drv{requests = maps:remove(Id, D#drv.requests)};
        error ->
            error({await_without_call_async, Id})
    end;
step({collect, N}, D) ->
    insert(d, {replies, collect(N, [])}),
    D;
step({wait, Ms}, D) ->
    timer:sleep(Ms),
    D;
step(sync, D) ->
    barrier(D, fun() -> b_sync(D) end, fun(ok) -> sync end);
step(get_state, D) ->
    barrier(D, fun() -> b_get_state(D) end, fun({S, Data}) -> {state, S, Data} end);
step({suspended, Steps}, D) ->
    D1 = barrier(D, fun() -> b_suspend(D) end, fun(ok) -> suspended end),
    D2 = lists:foldl(fun step/2, D1, Steps),
    case D2#drv.dead of
        true ->
            D2;
        false ->
            %% The machine is suspended: nothing it logs can come before
            %% this entry, and what it does after resume comes after it.
            insert(b, resumed),
            try b_resume(D2) of
                ok -> D2
            catch
                exit:Reason ->
                    insert(b, {barrier_exit, exit_reason(Reason)}),
                    D2
            end
    end;
step({stop, Reason}, D) ->
    Res =
        try b_stop(D, Reason) of
            ok -> {stop, ok}
        catch
            exit:R -> {stop_exit, exit_reason(R)}
        end,
    insert(b, Res),
    %% The machine is gone (or was): consume its DOWN, not logged here.
    case D#drv.mref of
        undefined ->
            ok;
        MRef ->
            receive
                {'DOWN', MRef, _, _, _} -> ok
            after ?SYS_TIMEOUT -> ok
            end
    end,
    D#drv{dead = true, mref = undefined};
step(down, #drv{mref = undefined} = D) ->
    insert(b, {down, no_monitor}),
    D;
step(down, #drv{mref = MRef} = D) ->
    receive
        {'DOWN', MRef, _, _, Reason} ->
            insert(b, {down, exit_reason(Reason)}),
            D#drv{dead = true, mref = undefined}
    after ?AWAIT_TIMEOUT ->
        insert(b, {down, timeout}),
        D
    end.

step_started({ok, {M, MRef}}, D) ->
    D#drv.parent ! {self(), machine, {D#drv.backend, M}},
    insert(d, {started, ok}),
    D#drv{machine = M, mref = MRef, dead = false, machines = [M | D#drv.machines]};
step_started({error, Reason}, D) ->
    insert(d, {started, {error, exit_reason(Reason)}}),
    D#drv{mref = undefined, dead = true};
step_started(Other, D) ->
    insert(d, {started, Other}),
    D#drv{mref = undefined, dead = true}.

%% A barrier request; a failure (the machine is gone) is logged in its
%% place.
barrier(D, Request, Entry) ->
    try Request() of
        R -> insert(b, Entry(R))
    catch
        exit:Reason -> insert(b, {barrier_exit, exit_reason(Reason)})
    end,
    D.

%% What is in the driver's mailbox, but for the messages of processes and
%% monitors (EXIT, DOWN).
flush(Acc) ->
    receive
        {'EXIT', _, _} -> flush(Acc);
        {'DOWN', _, _, _, _} -> flush(Acc);
        Msg -> flush([Msg | Acc])
    after 0 -> lists:reverse(Acc)
    end.

catch_call(D, Req, Timeout) ->
    try b_call(D, Req, Timeout) of
        R -> {reply, R}
    catch
        exit:Reason -> {exit, exit_reason(Reason)}
    end.

%% How a request shows in the driver's entries: the label of a
%% throng_diff_m_puppet `{do, Label, Spec}' request, else the request.
label({do, Label, _Spec}) -> Label;
label(Req) -> Req.

call_outcome(Id, {reply, R}) -> {reply, Id, R};
call_outcome(Id, {exit, R}) -> {call_exit, Id, R}.

collect(0, Acc) ->
    lists:reverse(Acc);
collect(N, Acc) ->
    receive
        {{diff_tag, Id}, R} -> collect(N - 1, [{Id, R} | Acc])
    after ?COLLECT_TIMEOUT ->
        lists:reverse(Acc, [{missing, N}])
    end.

%% Placeholders in inputs.
subst({'$fab', N}) -> {self(), {diff_tag, N}};
subst({'$abs', Ms}) when is_integer(Ms) -> erlang:monotonic_time(millisecond) + Ms;
subst(T) when is_tuple(T) -> list_to_tuple(subst(tuple_to_list(T)));
subst([H | T]) -> [subst(H) | subst(T)];
subst(M) when is_map(M) -> maps:from_list(subst(maps:to_list(M)));
subst(T) -> T.

cleanup(#drv{backend = Backend, machines = Ms}) ->
    cleanup_machines([{Backend, M} || M <- Ms]).

cleanup_machines(Machines) ->
    lists:foreach(fun cleanup_machine/1, Machines).

cleanup_machine({gen_statem, Pid}) ->
    exit(Pid, kill);
cleanup_machine({{throng, _}, S}) ->
    %% Bounded: a stop that does not return in time is abandoned.
    {P, MRef} = spawn_monitor(fun() -> catch throng:stop(S, shutdown, ?SYS_TIMEOUT) end),
    receive
        {'DOWN', MRef, process, P, _} -> ok
    after ?SYS_TIMEOUT + 500 ->
        exit(P, kill),
        ok
    end.

%%====================================================================
%% Backends
%%====================================================================

%% start_monitor: a machine that dies at once (a bad init action) must
%% still give its DOWN with its reason, not noproc.
b_start(gen_statem, Module, Args) ->
    gen_statem:start_monitor(Module, Args, []);
b_start({throng, Opts}, Module, Args) ->
    throng:start_monitor(Module, Args, Opts).

b_cast(#drv{backend = gen_statem, machine = M}, Msg) -> gen_statem:cast(M, Msg);
b_cast(#drv{backend = {throng, _}, machine = S}, Msg) -> throng:cast(S, Msg).

b_info(#drv{backend = gen_statem, machine = M}, Msg) ->
    M ! Msg,
    ok;
b_info(#drv{backend = {throng, _}, machine = S}, Msg) ->
    throng:send(S, Msg).

b_call(#drv{backend = gen_statem, machine = M}, Req, T) -> gen_statem:call(M, Req, T);
b_call(#drv{backend = {throng, _}, machine = S}, Req, T) -> throng:call(S, Req, T).

b_send_request(#drv{backend = gen_statem, machine = M}, Req) -> gen_statem:send_request(M, Req);
b_send_request(#drv{backend = {throng, _}, machine = S}, Req) -> throng:send_request(S, Req).

b_receive_response(#drv{backend = gen_statem}, ReqId, T) -> gen_statem:receive_response(ReqId, T);
b_receive_response(#drv{backend = {throng, _}}, ReqId, T) -> throng:receive_response(ReqId, T).

b_sync(#drv{backend = gen_statem, machine = M}) ->
    %% A system message is only handled when the queue and the zero
    %% time-outs are empty: the same barrier as throng:sync/1.
    _ = sys:get_state(M, ?SYS_TIMEOUT),
    ok;
b_sync(#drv{backend = {throng, _}, machine = S}) ->
    throng:sync(S).

b_get_state(#drv{backend = gen_statem, machine = M}) -> sys:get_state(M, ?SYS_TIMEOUT);
b_get_state(#drv{backend = {throng, _}, machine = S}) -> throng:get_state(S).

b_suspend(#drv{backend = gen_statem, machine = M}) -> sys:suspend(M, ?SYS_TIMEOUT);
b_suspend(#drv{backend = {throng, _}, machine = S}) -> throng:suspend(S).

b_resume(#drv{backend = gen_statem, machine = M}) -> sys:resume(M, ?SYS_TIMEOUT);
b_resume(#drv{backend = {throng, _}, machine = S}) -> throng:resume(S).

b_stop(#drv{backend = gen_statem, machine = M}, Reason) -> gen_statem:stop(M, Reason, ?SYS_TIMEOUT);
b_stop(#drv{backend = {throng, _}, machine = S}, Reason) -> throng:stop(S, Reason, ?SYS_TIMEOUT).
