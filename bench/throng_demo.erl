%%% @doc `make demo': a million code locks on Throng's default engine,
%%% a million more on an engine started with `#{inline => all}', and a
%%% hundred thousand plain gen_statem processes, in one run.
%%%
%%% Each lock is `demo_lock' (OTP's code lock): the demo starts the
%%% sessions, presses each lock's three-digit code (three casts), waits
%%% until every door has opened, then until every door's state time-out has
%%% fired and locked it again, and prints a table. Every phase checks its
%%% result with counters, so a lost event or time-out fails the demo.
%%%
%%% Memory per session: for Throng, the growth of the OS process's resident
%%% memory minus the growth of the BEAM's own memory (the engine's native
%%% memory), over the session count; for gen_statem, the growth of
%%% `erlang:memory(processes)' over the process count. The handles the
%%% demo keeps are BEAM memory and count for neither: while memory is
%%% measured they are in an ETS table, whose blocks are written in full, so
%%% `erlang:memory(total)' counts exactly the resident memory they take (a
%%% process heap holding them would be counted at its allocated size, part
%%% of which is never touched and so not resident).
%%%
%%% `make demo' runs the VM with `+MMmcs 0'. By default mseg_alloc keeps up
%%% to ten freed segments per allocator instance resident, for reuse (here
%%% the heaps of the processes that started the sessions, collected and
%%% freed); `erlang:memory/1' does not count them, so they would show in
%%% the figure as if the engine held them: some 30 B a session with the
%%% handles in ETS, some 300 B with them in process heaps, less a few
%%% seconds later (`make mem-probe' shows the parts apart).
-module(throng_demo).

-export([main/0, main/1]).

-define(CODE, [1, 2, 3]).

%% @doc Runs the demo with 1,000,000 Throng sessions and 100,000 gen_statem
%% processes.
-spec main() -> no_return().
main() ->
    main([1000000, 100000]).

%% @doc `[ThrongSessions, GenStatemProcesses]'.
-spec main([non_neg_integer() | string()]) -> no_return().
main(Args) ->
    [N, G] = [to_int(A) || A <- Args],
    {ok, _} = application:ensure_all_started(throng),
    persistent_term:put(demo_lock_counters, counters:new(3, [write_concurrency])),
    io:format("Throng demo: ~s code-lock sessions on the engine, ~s gen_statem processes~n~n",
              [sep(N), sep(G)]),
    T = run(throng, N),
    {ok, E} = throng:start_engine(#{inline => all}),
    persistent_term:put(demo_engine, E),
    %% Its memory is the default engine's (the option changes nothing
    %% there); measured again, it would mostly reuse memory the first
    %% million sessions left free.
    TA = (run(throng, N))#{bytes := maps:get(bytes, T)},
    ok = throng:stop_engine(E),
    persistent_term:erase(demo_engine),
    Gs = run(gen_statem, G),
    print(T, TA, Gs),
    halt(0).

to_int(I) when is_integer(I) -> I;
to_int(A) when is_atom(A) -> list_to_integer(atom_to_list(A));
to_int(S) -> list_to_integer(S).

run(System, N) ->
    C = persistent_term:get(demo_lock_counters),
    counters:put(C, 1, 0),
    counters:put(C, 2, 0),
    OpenMs = 1000,
    erlang:garbage_collect(),
    {Rss0, Beam0, Procs0} = {rss(), erlang:memory(total), erlang:memory(processes)},
    T0 = now_us(),
    %% The handles go to an ETS table while memory is measured (see the
    %% module doc), each starter's under its own index W.
    Tab = ets:new(demo_handles, [set, public, {write_concurrency, true}]),
    Ws = parallel(N, fun(W, K) ->
                             lists:foreach(fun(I) -> true = ets:insert(Tab, {{W, I}, start(System, OpenMs)}) end,
                                           lists:seq(1, K)),
                             W
                     end),
    StartUs = now_us() - T0,
    erlang:garbage_collect(),
    {Rss1, Beam1, Procs1} = {rss(), erlang:memory(total), erlang:memory(processes)},
    Bytes = case System of
                throng -> ((Rss1 - Rss0) - (Beam1 - Beam0)) / N;
                gen_statem -> (Procs1 - Procs0) / N
            end,
    %% The casting processes keep session numbers, as they keep pids for
    %% gen_statem: a quarter of a million {throng, E, Sid} handles (each
    %% with a reference to the engine) make a large heap that every
    %% garbage collection of the process walks.
    Handles = [[compact(H) || H <- ets:select(Tab, [{{{W, '_'}, '$1'}, [], ['$1']}])] || W <- Ws],
    true = ets:delete(Tab),
    %% Every lock gets its code: three casts each.
    T1 = now_us(),
    ok = each(Handles, fun(H) -> [cast(System, H, {button, D}) || D <- ?CODE], ok end),
    ok = wait_for(C, 1, N, 60000),
    CastUs = now_us() - T1,
    %% Every open door locks again when its state time-out fires.
    ok = wait_for(C, 2, N, 60000),
    FiredUs = now_us() - T1,
    %% A call round trip, sampled.
    Sample = lists:sublist(lists:append(Handles), 1000),
    CallUs = [begin
                  S0 = erlang:monotonic_time(nanosecond),
                  locked = call(System, H, state),
                  (erlang:monotonic_time(nanosecond) - S0) / 1000
              end || H <- Sample],
    ok = each(Handles, fun(H) -> stop(System, H) end),
    #{system => System, sessions => N, bytes => Bytes, start_per_s => N / (StartUs / 1.0e6),
      casts_per_s => 3 * N / (CastUs / 1.0e6), fired => counters:get(C, 2),
      fired_s => FiredUs / 1.0e6, call_p50_us => percentile(CallUs, 50)}.

%% The default engine, or the one the demo started with `inline => all'.
engine_opts() ->
    case persistent_term:get(demo_engine, default) of
        default -> [];
        E -> [{engine, E}]
    end.

start(throng, OpenMs) ->
    {ok, S} = throng:start(demo_lock, {?CODE, OpenMs}, engine_opts()),
    S;
start(gen_statem, OpenMs) ->
    {ok, P} = gen_statem:start(demo_lock, {?CODE, OpenMs}, []),
    P.

compact({throng, _, Sid}) -> Sid;
compact(Pid) -> Pid.

session(Sid) ->
    {throng, persistent_term:get(demo_engine, throng:default_engine()), Sid}.

cast(throng, Sid, Msg) -> ok = throng:cast(session(Sid), Msg);
cast(gen_statem, P, Msg) -> gen_statem:cast(P, Msg).

call(throng, Sid, Req) -> throng:call(session(Sid), Req);
call(gen_statem, P, Req) -> gen_statem:call(P, Req).

stop(throng, Sid) -> throng:stop(session(Sid));
stop(gen_statem, P) -> gen_statem:stop(P).

%% Runs F(Index, Count) in two processes per scheduler, over N items in all.
parallel(N, F) ->
    W = erlang:system_info(schedulers_online) * 2,
    Parent = self(),
    Refs = [begin
                Ref = make_ref(),
                K = N div W + (case I =< N rem W of true -> 1; false -> 0 end),
                spawn_link(fun() -> Parent ! {Ref, F(I, K)} end),
                Ref
            end || I <- lists:seq(1, W)],
    [receive {Ref, R} -> R end || Ref <- Refs].

each(Slices, F) ->
    Parent = self(),
    Refs = [begin
                Ref = make_ref(),
                spawn_link(fun() -> lists:foreach(F, Slice), Parent ! {Ref, done} end),
                Ref
            end || Slice <- Slices],
    [receive {Ref, done} -> ok end || Ref <- Refs],
    ok.

wait_for(C, Ix, N, Ms) ->
    Deadline = now_us() + Ms * 1000,
    wait_loop(C, Ix, N, Deadline).

wait_loop(C, Ix, N, Deadline) ->
    case counters:get(C, Ix) of
        N -> ok;
        M when M > N -> error({too_many, Ix, M, N});
        M ->
            case now_us() > Deadline of
                true -> error({timed_out, Ix, M, N});
                false -> timer:sleep(5), wait_loop(C, Ix, N, Deadline)
            end
    end.

percentile(L, P) ->
    S = lists:sort(L),
    lists:nth(max(1, round(length(S) * P / 100)), S).

now_us() ->
    erlang:monotonic_time(microsecond).

rss() ->
    {ok, B} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(B, <<"\n">>, [global]), binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.

print(T, TA, G) ->
    Ratio = fun(V, GV) -> case GV == 0 of true -> "-"; false -> io_lib:format("~.2fx", [V / GV]) end end,
    Row = fun(Label, Key, Fmt) ->
              TV = maps:get(Key, T), AV = maps:get(Key, TA), GV = maps:get(Key, G),
              io:format("~-28s ~12s ~7s ~12s ~7s ~12s~n",
                        [Label, Fmt(TV), Ratio(TV, GV), Fmt(AV), Ratio(AV, GV), Fmt(GV)])
          end,
    Int = fun(V) -> sep(round(V)) end,
    Dec = fun(V) -> io_lib:format("~.1f", [V]) end,
    io:format("~-28s ~20s ~20s ~12s~n", ["", "Throng", "Throng, inline all", "gen_statem"]),
    Row("sessions", sessions, Int),
    Row("memory per session (bytes)", bytes, Int),
    Row("sessions started per second", start_per_s, Int),
    Row("casts per second", casts_per_s, Int),
    Row("state time-outs fired", fired, Int),
    Row("call round trip p50 (us)", call_p50_us, Dec),
    io:format("~nEvery lock opened once and relocked once by its state time-out (checked).~n"
              "Throng: the default engine (a call that may wait for ever runs its callback in the~n"
              "caller, everything else in executor processes). Throng, inline all: an engine~n"
              "started with #{inline => all}, where casts to idle sessions run in the sender too~n"
              "(memory: as measured on the default engine). Ratios are to gen_statem.~n").

sep(N) when N < 1000 -> integer_to_list(N);
sep(N) -> sep(N div 1000) ++ io_lib:format(",~3..0B", [N rem 1000]).
