%%% @doc `make bench': gen_statem beside Throng, in one run, on the same
%%% inputs (docs/benchmark.md).
%%%
%%% Four systems run OTP's code lock (`{button, Digit}' casts, the right
%%% code opens the door with a state time-out, a `lock' cast or the
%%% time-out locks it, a `state' call answers the state):
%%%
%%% <ul>
%%% <li>`gen_statem': `bench/demo_lock.erl', a process per session;</li>
%%% <li>`throng_callback_nif': the same module as Throng sessions on the
%%%     default (NIF) engine;</li>
%%% <li>`throng_native_nif': the native `code_lock' machine on a NIF
%%%     engine;</li>
%%% <li>`throng_native_port': the native `code_lock' on a port engine.</li>
%%% </ul>
%%%
%%% At each session count (100,000 and 1,000,000; `QUICK=1': 10,000 and
%%% 100,000): memory per session, sessions started per second, casts per
%%% second with 1 and 2 driver processes (unbatched, and `cast_many' for
%%% Throng), call latency p50/p99, and a time-out armed in every session
%%% (memory per time-out, firing lateness p50/p99). Every figure is checked:
%%% a cast round ends when every session it drove has opened (demo_lock's
%%% counters, the engine's count of armed time-outs), calls must answer
%%% `locked', and every armed time-out must fire.
%%%
%%% Writes `bench/results/latest.json' (one object per metric: `metric',
%%% `system', `sessions', `value', `unit', `better', `ratio_vs_gen_statem');
%%% `bench/report.py' makes the Markdown report and the plots from it.
-module(throng_bench).

-export([main/0]).

-define(CODE, [1, 2, 3]).
-define(CHUNK, 1000).
-define(POLL_MS, 2).
-define(SYSTEMS, [throng_native_nif, throng_native_port, throng_callback_nif, gen_statem]).

-spec main() -> no_return().
main() ->
    Quick = os:getenv("QUICK") =:= "1",
    Counts = case Quick of
                 true -> [10000, 100000];
                 false -> [100000, 1000000]
             end,
    %% Casts and calls go to at most this many sessions of each run (the
    %% port's unbatched casts are slow); the time-out phase uses them all.
    CastMax = case Quick of true -> 50000; false -> 200000 end,
    Calls = case Quick of true -> 5000; false -> 20000 end,
    persistent_term:put(demo_lock_counters, counters:new(3, [write_concurrency])),
    {ok, _} = application:ensure_all_started(throng),
    T0 = erlang:monotonic_time(millisecond),
    Metrics = lists:append(
                [begin
                     io:format("~s, ~p sessions~n", [Sys, N]),
                     R = run(Sys, N, min(N, CastMax), Calls, Quick),
                     [io:format("  ~-28s ~14.3f ~s~n", [M, float(V), U]) || #{metric := M, value := V, unit := U} <- R],
                     R
                 end || N <- Counts, Sys <- ?SYSTEMS]),
    Ratios = ratios(Metrics),
    Json = json(#{schema => 1,
                  generated_at => iso8601(),
                  quick => Quick,
                  machine => machine(),
                  targets => targets(),
                  metrics => Ratios}),
    ok = filelib:ensure_dir("bench/results/latest.json"),
    ok = file:write_file("bench/results/latest.json", Json),
    io:format("bench: ~.1f s; wrote bench/results/latest.json~n",
              [(erlang:monotonic_time(millisecond) - T0) / 1000]),
    halt(0).

%%% ------------------------------------------------------------ one run

run(Sys, N, K, Calls, Quick) ->
    %% Every door opens for this long: long enough for the cast rounds to
    %% end (their doors are locked again by a `lock' cast), short enough
    %% for the time-out phase to see them fire.
    %% (The port's unbatched casts, the slowest round, take about 11 s for
    %% 600,000 casts.)
    OpenMs = case Quick of
                 true -> 8000;
                 false -> 20000
             end,
    %% Waiting and sampling loops read the doors opened every `poll_ms'
    %% (a native engine's armed time-outs: engine_counts/1, which does not
    %% visit the sessions).
    Ctx = (setup(Sys))#{open_ms => OpenMs, poll_ms => ?POLL_MS},
    erlang:garbage_collect(),
    Mem0 = mem(Ctx),
    Rss0 = rss(Ctx),
    {StartUs, Sessions} = timer:tc(fun() -> start(Ctx, N) end),
    N = tuple_size(Sessions),
    erlang:garbage_collect(),
    MemPer = (mem(Ctx) - Mem0) / N,
    RssPer = (rss(Ctx) - Rss0) / N,
    Sub = [element(I, Sessions) || I <- lists:seq(1, K)],
    Rounds = [{casts_per_s_1_driver, 1, unbatched}, {casts_per_s_2_drivers, 2, unbatched}]
        ++ [{M, D, many} || Sys =/= gen_statem,
                            {M, D} <- [{cast_many_per_s_1_driver, 1}, {cast_many_per_s_2_drivers, 2}]],
    CastMetrics = [m(Metric, Sys, N, cast_round(Ctx, Sub, D, How), <<"1/s">>, higher)
                   || {Metric, D, How} <- Rounds],
    {P50, P99} = calls(Ctx, Sessions, Calls),
    {TimerBytes, Late50, Late99} = timeouts(Ctx, Sessions),
    teardown(Ctx, Sessions),
    [m(memory_per_session_erlang, Sys, N, MemPer, <<"B">>, lower),
     m(memory_per_session_rss, Sys, N, RssPer, <<"B">>, lower),
     m(starts_per_s, Sys, N, N / (StartUs / 1.0e6), <<"1/s">>, higher)]
        ++ CastMetrics
        ++ [m(call_p50_us, Sys, N, P50, <<"us">>, lower),
            m(call_p99_us, Sys, N, P99, <<"us">>, lower),
            m(timer_memory_per_timeout, Sys, N, TimerBytes, <<"B">>, lower),
            m(timeout_lateness_p50_ms, Sys, N, Late50, <<"ms">>, lower),
            m(timeout_lateness_p99_ms, Sys, N, Late99, <<"ms">>, lower)].

m(Metric, Sys, N, Value, Unit, Better) ->
    #{metric => Metric, system => Sys, sessions => N, value => Value, unit => Unit, better => Better}.

%%% ------------------------------------------------------------ systems

setup(gen_statem) ->
    #{sys => gen_statem};
setup(throng_callback_nif) ->
    {ok, E} = throng:start_engine(#{backend => nif}),
    #{sys => throng_callback_nif, engine => E};
setup(throng_native_nif) ->
    {ok, E} = throng:start_engine(#{backend => nif}),
    #{sys => throng_native_nif, engine => E, native => true};
setup(throng_native_port) ->
    {ok, E} = throng:start_engine(#{backend => port}),
    #{sys => throng_native_port, engine => E, native => true}.

teardown(#{sys := gen_statem}, Pids) ->
    [exit(P, kill) || P <- tuple_to_list(Pids)],
    wait_dead(element(tuple_size(Pids), Pids));
teardown(#{engine := E}, _) ->
    ok = throng:stop_engine(E),
    erlang:garbage_collect().

wait_dead(P) ->
    case is_process_alive(P) of
        true -> timer:sleep(10), wait_dead(P);
        false -> erlang:garbage_collect(), ok
    end.

start(#{sys := gen_statem, open_ms := Ms}, N) ->
    list_to_tuple([begin {ok, P} = gen_statem:start(demo_lock, {?CODE, Ms}, []), P end
                   || _ <- lists:seq(1, N)]);
start(#{sys := throng_callback_nif, engine := E, open_ms := Ms}, N) ->
    list_to_tuple([begin {ok, S} = throng:start(demo_lock, {?CODE, Ms}, [{engine, E}]), S end
                   || _ <- lists:seq(1, N)]);
start(#{engine := E, open_ms := Ms}, N) ->
    Rs = throng:start_many({native, code_lock}, lists:duplicate(N, {?CODE, Ms}), [{engine, E}]),
    list_to_tuple([S || {ok, S} <- Rs]).

cast(gen_statem, P, Msg) -> gen_statem:cast(P, Msg);
cast(_, S, Msg) -> ok = throng:cast(S, Msg).

%% Sessions opened so far, and locked again: demo_lock counts them; a
%% native engine's armed time-outs are its open doors.
opened(#{engine := E, native := true}, _Base) ->
    maps:get(timers, throng:engine_counts(E));
opened(_, {Open0, _}) ->
    counters:get(persistent_term:get(demo_lock_counters), 1) - Open0.

relocked(#{native := true} = Ctx, _Base, K) ->
    K - opened(Ctx, undefined);
relocked(_, {_, Locked0}, _K) ->
    counters:get(persistent_term:get(demo_lock_counters), 2) - Locked0.

base() ->
    C = persistent_term:get(demo_lock_counters),
    {counters:get(C, 1), counters:get(C, 2)}.

%% `Sub' (locked) gets the code from `D' drivers, unbatched or in
%% cast_many lists; the round ends when every one of them is open. Then
%% they are locked again (not timed). Casts per second.
cast_round(#{sys := Sys} = Ctx, Sub, D, How) ->
    K = length(Sub),
    Base = base(),
    Self = self(),
    %% Each driver builds its events before the clock starts (copying a
    %% list of 600,000 events into a new process is not casting).
    Drivers = [spawn_link(fun() ->
                                  Bs = [[{S, {button, B}} || S <- Chunk, B <- ?CODE] || Chunk <- chunks(Part, ?CHUNK)],
                                  Self ! {ready, self()},
                                  receive go -> ok end,
                                  case How of
                                      unbatched -> [cast(Sys, S, Msg) || Batch <- Bs, {S, Msg} <- Batch];
                                      many -> [ok = throng:cast_many(Batch) || Batch <- Bs]
                                  end,
                                  Self ! {done, self()}
                          end) || Part <- split(Sub, D)],
    [receive {ready, P} -> ok end || P <- Drivers],
    T0 = erlang:monotonic_time(microsecond),
    [P ! go || P <- Drivers],
    [receive {done, P} -> ok end || P <- Drivers],
    wait_until(Ctx, fun() -> opened(Ctx, Base) >= K end),
    Us = erlang:monotonic_time(microsecond) - T0,
    K = opened(Ctx, Base),
    relock(Ctx, Sub, Base),
    3 * K / (Us / 1.0e6).

relock(#{sys := gen_statem} = Ctx, Sub, Base) ->
    [gen_statem:cast(P, lock) || P <- Sub],
    wait_until(Ctx, fun() -> relocked(Ctx, Base, length(Sub)) >= length(Sub) end);
relock(Ctx, Sub, Base) ->
    [ok = throng:cast_many([{S, lock} || S <- Chunk]) || Chunk <- chunks(Sub, 10 * ?CHUNK)],
    wait_until(Ctx, fun() -> relocked(Ctx, Base, length(Sub)) >= length(Sub) end).

%% Waits for `F' to hold (reading it every `poll_ms'), at most two minutes (then the run fails: a lost
%% event or a time-out that did not fire).
wait_until(Ctx, F) ->
    wait_until(F, maps:get(poll_ms, Ctx), erlang:monotonic_time(millisecond) + 120000).

wait_until(F, Ms, Deadline) ->
    case F() of
        true -> ok;
        false ->
            erlang:monotonic_time(millisecond) < Deadline orelse erlang:error(bench_result_not_reached),
            timer:sleep(Ms),
            wait_until(F, Ms, Deadline)
    end.

%% `Calls' `state' calls from one process to sessions picked at random:
%% every answer must be `locked'. p50 and p99 in microseconds.
calls(#{sys := Sys}, Sessions, Calls) ->
    N = tuple_size(Sessions),
    Call = case Sys of
               gen_statem -> fun(P) -> gen_statem:call(P, state) end;
               _ -> fun(S) -> throng:call(S, state) end
           end,
    Ts = [begin
              S = element(rand:uniform(N), Sessions),
              T0 = erlang:monotonic_time(nanosecond),
              locked = Call(S),
              erlang:monotonic_time(nanosecond) - T0
          end || _ <- lists:seq(1, Calls)],
    Sorted = lists:sort(Ts),
    {pct(Sorted, 0.50) / 1000, pct(Sorted, 0.99) / 1000}.

pct(Sorted, Q) ->
    lists:nth(max(1, min(length(Sorted), round(Q * length(Sorted)))), Sorted).

%% Every session opens (a state time-out of `OpenMs' armed in each): the
%% memory that adds per time-out; then every time-out fires. A poller
%% records how many doors were open over time, opening and closing; the
%% q-th time-out's lateness is when the q-th door closed minus when it
%% opened minus `OpenMs' (p50, p99).
timeouts(#{sys := Sys, open_ms := OpenMs} = Ctx, Sessions) ->
    N = tuple_size(Sessions),
    erlang:garbage_collect(),
    Mem0 = mem(Ctx),
    Base = base(),
    Poller = spawn_link(fun() -> poll(Ctx, Base, []) end),
    All = tuple_to_list(Sessions),
    case Sys of
        gen_statem -> [gen_statem:cast(P, {button, B}) || P <- All, B <- ?CODE];
        _ -> [ok = throng:cast_many([{S, {button, B}} || S <- C, B <- ?CODE]) || C <- chunks(All, ?CHUNK)]
    end,
    wait_until(Ctx, fun() -> opened(Ctx, Base) >= N end),
    erlang:garbage_collect(),
    PerTimer = (mem(Ctx) - Mem0) / N,
    wait_until(Ctx, fun() -> relocked(Ctx, Base, N) >= N end),
    Poller ! {stop, self()},
    Samples = receive {samples, S} -> lists:reverse(S) end,
    Late = lateness(Samples, N, OpenMs),
    {PerTimer, pct(Late, 0.50), pct(Late, 0.99)}.

%% Every `poll_ms' (see run/5).
poll(#{poll_ms := Ms} = Ctx, Base, Acc) ->
    receive
        {stop, To} -> To ! {samples, Acc}
    after Ms ->
        T = erlang:monotonic_time(microsecond),
        Sample = case Ctx of
                     #{native := true} -> {T, open_now, opened(Ctx, Base)};
                     _ -> {T, counts, opened(Ctx, Base), relocked(Ctx, Base, 0)}
                 end,
        poll(Ctx, Base, [Sample | Acc])
    end.

%% From samples of (time, doors opened so far, doors closed so far), or
%% (time, doors open now) for a native engine (its armed time-outs: rising
%% while doors open, falling while they close), the lateness of each 1% of
%% the time-outs, in ms.
lateness(Samples, N, OpenMs) ->
    Series = case Samples of
                 [{_, open_now, _} | _] ->
                     {Up, Down} = lists:splitwith(fun({_, _, C}) -> C < N end, Samples),
                     Peak = case Down of [] -> []; [P | _] -> [P] end,
                     [{T, C, 0} || {T, _, C} <- Up ++ Peak] ++ [{T, N, N - C} || {T, _, C} <- Down];
                 _ ->
                     [{T, O, L} || {T, counts, O, L} <- Samples]
             end,
    Qs = [Q / 100 || Q <- lists:seq(1, 99)],
    lists:sort([(first(Series, 3, Q * N) - first(Series, 2, Q * N)) / 1000 - OpenMs || Q <- Qs]).

%% The time of the first sample whose field `I' reached `X'.
first([S | Rest], I, X) ->
    case element(I, S) >= X orelse Rest =:= [] of
        true -> element(1, S);
        false -> first(Rest, I, X)
    end.

%%% ------------------------------------------------------------ memory

%% The VM's memory plus, for a Throng engine, the engine's own accounting
%% of its sessions (the NIF's memory is not the VM's; the port's is in
%% another process). The bench process's own memory (which holds the
%% sessions' handles, and its heap's slack) is left out, for every system.
mem(#{engine := E}) ->
    vm_mem() + maps:get(memory, throng:engine_stats(E));
mem(_) ->
    vm_mem().

vm_mem() ->
    {memory, Own} = process_info(self(), memory),
    erlang:memory(total) - Own.

%% Resident memory of the VM (and of the port program), in bytes.
rss(#{sys := throng_native_port, engine := E}) ->
    #{os_pid := OsPid} = throng_port_engine:info(E),
    own_rss() + proc_rss(integer_to_list(OsPid));
rss(_) ->
    own_rss().

%% The VM's resident memory without the bench process's heap.
own_rss() ->
    {memory, Own} = process_info(self(), memory),
    proc_rss("self") - Own.

proc_rss(Pid) ->
    {ok, B} = file:read_file("/proc/" ++ Pid ++ "/status"),
    [Kb] = [binary_to_integer(string:trim(string:trim(V), trailing, " kB"))
            || <<"VmRSS:", V/binary>> <- binary:split(B, <<"\n">>, [global])] ++ [],
    Kb * 1024.

%%% ------------------------------------------------------------ output

%% Each metric's ratio to gen_statem's at the same session count (for
%% cast_many: to gen_statem's unbatched casts with as many drivers).
ratios(Metrics) ->
    Gen = maps:from_list([{{M, N}, V} || #{system := gen_statem, metric := M, sessions := N, value := V} <- Metrics]),
    [begin
         Key = case M of
                   cast_many_per_s_1_driver -> casts_per_s_1_driver;
                   cast_many_per_s_2_drivers -> casts_per_s_2_drivers;
                   _ -> M
               end,
         R = case maps:get({Key, N}, Gen, undefined) of
                 G when is_number(G), G /= 0 -> V / G;
                 _ -> null
             end,
         X#{ratio_vs_gen_statem => R}
     end || #{metric := M, sessions := N, value := V} = X <- Metrics].

%% Issue 5's targets: ratios to gen_statem at the largest session count.
targets() ->
    Native = [{memory_per_session_erlang, 1 / 20, <<"<=">>}, {starts_per_s, 20, <<">=">>},
              {casts_per_s_1_driver, 5, <<">=">>}, {cast_many_per_s_1_driver, 15, <<">=">>},
              {call_p50_us, 0.5, <<"<=">>}, {call_p99_us, 1, <<"<=">>},
              {timer_memory_per_timeout, 1 / 5, <<"<=">>}, {timeout_lateness_p99_ms, 1, <<"<=">>}],
    [#{metric => M, system => S, ratio => R, compare => C}
     || S <- [throng_native_nif, throng_native_port], {M, R, C} <- Native]
        ++ [#{metric => casts_per_s_1_driver, system => throng_callback_nif, ratio => 1, compare => <<">=">>}].

machine() ->
    Cpu = case file:read_file("/proc/cpuinfo") of
              {ok, B} ->
                  case [string:trim(V) || <<"model name", R/binary>> <- binary:split(B, <<"\n">>, [global]),
                                          [_, V] <- [binary:split(R, <<":">>)]] of
                      [M | _] -> M;
                      [] -> <<"unknown">>
                  end;
              _ -> <<"unknown">>
          end,
    Os = case file:read_file("/etc/os-release") of
             {ok, O} ->
                 case [string:trim(V, both, "\"") || <<"PRETTY_NAME=", V/binary>> <- binary:split(O, <<"\n">>, [global])] of
                     [P | _] -> P;
                     [] -> <<"unknown">>
                 end;
             _ -> <<"unknown">>
         end,
    #{cores => erlang:system_info(logical_processors_available),
      schedulers => erlang:system_info(schedulers_online),
      memory_gib => round(total_memory() / (1 bsl 30)),
      os => Os, cpu => Cpu,
      otp => list_to_binary(erlang:system_info(otp_release)),
      erts => list_to_binary(erlang:system_info(version))}.

total_memory() ->
    {ok, B} = file:read_file("/proc/meminfo"),
    [Kb] = [binary_to_integer(string:trim(string:trim(V), trailing, " kB"))
            || <<"MemTotal:", V/binary>> <- binary:split(B, <<"\n">>, [global])],
    Kb * 1024.

iso8601() ->
    list_to_binary(calendar:system_time_to_rfc3339(erlang:system_time(second), [{offset, "Z"}])).

%% JSON for the terms above (OTP 25 has no json module).
json(M) when is_map(M) ->
    ["{", lists:join(",", [[json(K), ":", json(V)] || {K, V} <- lists:sort(maps:to_list(M))]), "}"];
json(L) when is_list(L) -> ["[", lists:join(",", [json(X) || X <- L]), "]"];
json(true) -> "true";
json(false) -> "false";
json(null) -> "null";
json(A) when is_atom(A) -> json(atom_to_binary(A));
json(B) when is_binary(B) -> [$", [esc(C) || <<C/utf8>> <= B], $"];
json(I) when is_integer(I) -> integer_to_list(I);
json(F) when is_float(F) -> float_to_list(F, [{decimals, 6}, compact]).

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc(C) when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> <<C/utf8>>.

%%% ------------------------------------------------------------ lists

split(L, 1) -> [L];
split(L, D) ->
    Len = (length(L) + D - 1) div D,
    chunks(L, Len).

%% `L' in lists of `N' (the last one shorter), in one pass.
chunks([], _) -> [];
chunks(L, N) -> chunks(L, N, N, [], []).

chunks([], _N, _K, Cur, Acc) -> lists:reverse([lists:reverse(Cur) | Acc]);
chunks(L, N, 0, Cur, Acc) -> chunks(L, N, N, [], [lists:reverse(Cur) | Acc]);
chunks([H | T], N, K, Cur, Acc) -> chunks(T, N, K - 1, [H | Cur], Acc).
