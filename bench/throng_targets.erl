%%% @doc `make bench-targets': the BEAM bridge's targets, measured in one
%%% run at 1,000,000 sessions of `demo_lock' (OTP's code lock, a small map
%%% as data) on plain gen_statem, on Throng's default engine and on a
%%% Throng engine started with `#{inline => all}'.
%%%
%%% <ul>
%%% <li>Memory per idle session: for Throng the growth of resident memory
%%%     minus the growth of the BEAM's memory (the engine's native memory;
%%%     the VM runs with `+MMmcs 0', see bench/throng_demo.erl), for
%%%     gen_statem the growth of `erlang:memory(processes)'. Target: at most
%%%     a fifth of a hibernated gen_statem (1,320 B measured on this machine
%%%     class, so 264 B).</li>
%%% <li>Casts per second into the million sessions: four processes cast,
%%%     round after round, `{button, D}' for each digit of the code to every
%%%     session of their quarter; the time runs until every lock has opened
%%%     (counted; each opening arms a state time-out). Then three more
%%%     rounds at the open doors (counted; callbacks that change nothing and
%%%     arm nothing). Target: at least gen_statem's rate.</li>
%%% <li>Call round trip: p50 and p99 of 10,000 calls, one after another, to
%%%     sessions spread over the million. Target: p50 within 1.5x
%%%     gen_statem's.</li>
%%% </ul>
%%%
%%% The casting processes hold session numbers (Throng) or pids
%%% (gen_statem), not `{throng, E, Sid}' tuples: see bench/throng_demo.erl.
%%% They take them from an ETS set, so sessions are reached in an order
%%% unrelated to the order they were started in, as events reach a real
%%% server. (Casting in start order lets gen_statem reach about twice the
%%% rate: consecutive processes sit next to each other in memory.)
-module(throng_targets).

-export([main/0, main/1]).

-define(CODE, [1, 2, 3]).
-define(OPEN_MS, 600000).

%% @doc 1,000,000 sessions of each system.
-spec main() -> no_return().
main() ->
    main([1000000]).

%% @doc `[Sessions]'.
-spec main([pos_integer() | string() | atom()]) -> no_return().
main([N0]) ->
    N = to_int(N0),
    {ok, _} = application:ensure_all_started(throng),
    persistent_term:put(demo_lock_counters, counters:new(3, [write_concurrency])),
    io:format("Targets of the BEAM bridge at ~s sessions of demo_lock~n~n", [sep(N)]),
    %% Throng's default engine first: its memory is read from the OS's
    %% count of resident memory, which later runs would blur with memory
    %% freed before (gen_statem's figure is the BEAM's own count).
    T = run({throng, default}, N),
    G = run(gen_statem, N),
    {ok, E} = throng:start_engine(#{inline => all}),
    TA = (run({throng, E}, N))#{bytes := maps:get(bytes, T)},
    ok = throng:stop_engine(E),
    print(N, G, T, TA),
    halt(0).

to_int(I) when is_integer(I) -> I;
to_int(A) when is_atom(A) -> list_to_integer(atom_to_list(A));
to_int(S) -> list_to_integer(S).

run(System, N) ->
    C = persistent_term:get(demo_lock_counters),
    counters:put(C, 1, 0),
    erlang:garbage_collect(),
    {Rss0, Beam0, Procs0} = {rss(), erlang:memory(total), erlang:memory(processes)},
    Tab = ets:new(handles, [set, public, {write_concurrency, true}]),
    W = 4,
    Parent = self(),
    [receive {started, I} -> ok end
     || I <- [begin
                  spawn_link(fun() ->
                                     [true = ets:insert(Tab, {{I, K}, start(System)})
                                      || K <- lists:seq(1, N div W + (case I =< N rem W of true -> 1; false -> 0 end))],
                                     Parent ! {started, I}
                             end),
                  I
              end || I <- lists:seq(1, W)]],
    erlang:garbage_collect(),
    {Rss1, Beam1, Procs1} = {rss(), erlang:memory(total), erlang:memory(processes)},
    Bytes = case System of
                gen_statem -> (Procs1 - Procs0) / N;
                _ -> ((Rss1 - Rss0) - (Beam1 - Beam0)) / N
            end,
    Slices = [[compact(H) || H <- ets:select(Tab, [{{{I, '_'}, '$1'}, [], ['$1']}])] || I <- lists:seq(1, W)],
    true = ets:delete(Tab),
    T0 = erlang:monotonic_time(microsecond),
    Refs = [begin
                Ref = make_ref(),
                spawn_link(fun() ->
                                   lists:foreach(fun(D) -> lists:foreach(fun(H) -> cast(System, H, {button, D}) end, Slice) end, ?CODE),
                                   Parent ! {Ref, done}
                           end),
                Ref
            end || Slice <- Slices],
    [receive {Ref, done} -> ok end || Ref <- Refs],
    ok = wait_count(C, 1, N, erlang:monotonic_time(millisecond) + 120000),
    CastUs = erlang:monotonic_time(microsecond) - T0,
    %% Buttons pressed at open doors: the same number of casts, callbacks
    %% that change nothing and arm no time-out.
    counters:put(C, 3, 0),
    T1 = erlang:monotonic_time(microsecond),
    Refs1 = [begin
                 Ref = make_ref(),
                 spawn_link(fun() ->
                                    lists:foreach(fun(_) -> lists:foreach(fun(H) -> cast(System, H, {button, 0}) end, Slice) end, ?CODE),
                                    Parent ! {Ref, done}
                            end),
                 Ref
             end || Slice <- Slices],
    [receive {Ref, done} -> ok end || Ref <- Refs1],
    ok = wait_count(C, 3, 3 * N, erlang:monotonic_time(millisecond) + 120000),
    PlainUs = erlang:monotonic_time(microsecond) - T1,
    All = lists:append(Slices),
    Step = max(1, N div 10000),
    Sample = [H || {K, H} <- lists:zip(lists:seq(1, length(All)), All), K rem Step =:= 0],
    CallUs = lists:sort([begin
                             S0 = erlang:monotonic_time(nanosecond),
                             open = call(System, H, state),
                             (erlang:monotonic_time(nanosecond) - S0) / 1000
                         end || H <- Sample]),
    stop_all(System, Slices),
    #{bytes => Bytes, casts_per_s => 3 * N / (CastUs / 1.0e6), plain_casts_per_s => 3 * N / (PlainUs / 1.0e6),
      call_p50_us => pct(CallUs, 50), call_p99_us => pct(CallUs, 99)}.

engine_opts({throng, default}) -> [];
engine_opts({throng, E}) -> [{engine, E}].

start(gen_statem) ->
    {ok, P} = gen_statem:start(demo_lock, {?CODE, ?OPEN_MS}, []),
    P;
start(System) ->
    {ok, S} = throng:start(demo_lock, {?CODE, ?OPEN_MS}, engine_opts(System)),
    S.

compact({throng, _, Sid}) -> Sid;
compact(Pid) -> Pid.

session({throng, default}, Sid) -> {throng, throng:default_engine(), Sid};
session({throng, E}, Sid) -> {throng, E, Sid}.

cast(gen_statem, P, Msg) -> gen_statem:cast(P, Msg);
cast(System, Sid, Msg) -> ok = throng:cast(session(System, Sid), Msg).

call(gen_statem, P, Req) -> gen_statem:call(P, Req);
call(System, Sid, Req) -> throng:call(session(System, Sid), Req).

stop_all(gen_statem, Slices) ->
    [exit(P, kill) || Slice <- Slices, P <- Slice],
    ok;
stop_all(System, Slices) ->
    Parent = self(),
    Refs = [begin
                Ref = make_ref(),
                spawn_link(fun() -> [ok = throng:stop(session(System, Sid)) || Sid <- Slice], Parent ! {Ref, done} end),
                Ref
            end || Slice <- Slices],
    [receive {Ref, done} -> ok end || Ref <- Refs],
    ok.

wait_count(C, Ix, N, Deadline) ->
    case counters:get(C, Ix) of
        N -> ok;
        M when M > N -> error({too_many, Ix, M, N});
        M ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({timed_out, Ix, M, N});
                false -> timer:sleep(2), wait_count(C, Ix, N, Deadline)
            end
    end.

pct(Sorted, P) ->
    lists:nth(max(1, round(length(Sorted) * P / 100)), Sorted).

rss() ->
    {ok, B} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(B, <<"\n">>, [global]), binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.

print(N, G, T, TA) ->
    Line = fun(Label, Fmt, Key, Target) ->
                   GV = maps:get(Key, G), TV = maps:get(Key, T), AV = maps:get(Key, TA),
                   io:format("~-26s ~12s ~12s ~7s ~12s ~7s   ~s~n",
                             [Label, Fmt(GV), Fmt(TV), ratio(TV, GV), Fmt(AV), ratio(AV, GV), Target])
           end,
    Int = fun(V) -> sep(round(V)) end,
    Dec = fun(V) -> io_lib:format("~.1f", [V]) end,
    io:format("~-26s ~12s ~20s ~20s   ~s~n", ["", "gen_statem", "Throng", "Throng, inline all", "target"]),
    Line("memory per session (B)", Int, bytes, "Throng <= 264 (1/5 of 1,320)"),
    Line("casts per second", Int, casts_per_s, "Throng >= gen_statem"),
    Line("  at open doors", Int, plain_casts_per_s, "(no time-out armed)"),
    Line("call p50 (us)", Dec, call_p50_us, "Throng <= 1.5x gen_statem"),
    Line("call p99 (us)", Dec, call_p99_us, ""),
    io:format("~n~s sessions each; ratios are to gen_statem. Memory is measured on the default~n"
              "engine only (the inline option changes nothing there).~n", [sep(N)]).

ratio(_, 0) -> "-";
ratio(V, GV) -> io_lib:format("~.2fx", [V / GV]).

sep(N) when N < 1000 -> integer_to_list(N);
sep(N) -> sep(N div 1000) ++ io_lib:format(",~3..0B", [N rem 1000]).
