%%% @doc Memory per idle session, measured as `make demo' measures it, with
%%% the parts its one figure mixes shown apart.
%%%
%%%   make mem-probe            1,000,000 demo_lock sessions
%%%   make mem-probe N=100000   another count
%%%
%%% Starts N `demo_lock' sessions on the default engine (as throng_demo
%%% does: two starter processes per scheduler, each keeping its handles),
%%% lets the VM settle, then prints, per session:
%%%
%%%   rss         growth of the OS process's resident memory
%%%   native      growth of the resident part of mimalloc's arena: the NIF's
%%%               heap (session tables, states, data, queues)
%%%   beam        growth of erlang:memory(total): blocks the BEAM allocated
%%%               (here the handles the starters keep)
%%%   beam_slack  rss - native - beam: memory the BEAM holds beyond its
%%%               blocks: segments mseg_alloc keeps cached after the
%%%               starters' heaps were collected and freed (released over
%%%               seconds; none with `+MMmcs 0')
%%%   rss-beam    rss - beam: what `make demo' reports (it runs the VM with
%%%               `+MMmcs 0', so there it is the native part)
%%%
%%% with `throng:engine_stats/1' and the mappings that grew most. It then
%%% stops every session and prints the same figures again (what is kept).
-module(mem_probe).

-export([main/0, main/1]).

-spec main() -> no_return().
main() ->
    main([1000000]).

-spec main([non_neg_integer() | string() | atom()]) -> no_return().
main([NArg | _]) ->
    N = to_int(NArg),
    {ok, _} = application:ensure_all_started(throng),
    E = throng:default_engine(),
    settle(),
    M0 = measure(),
    T0 = erlang:monotonic_time(millisecond),
    Handles = parallel(N, fun(K) -> [start() || _ <- lists:seq(1, K)] end),
    T1 = erlang:monotonic_time(millisecond),
    settle(),
    M1 = measure(),
    io:format("mem_probe: ~b sessions started in ~b ms~n", [N, T1 - T0]),
    report("after start", M0, M1, N),
    io:format("  engine_stats: ~p~n", [throng:engine_stats(E)]),
    grown(M0, M1),
    [ok = throng:stop(S) || Slice <- Handles, S <- Slice],
    settle(),
    M2 = measure(),
    report("after stopping them all (kept)", M0, M2, N),
    io:format("  engine_stats: ~p~n", [throng:engine_stats(E)]),
    halt(0).

start() ->
    {ok, S} = throng:start(demo_lock, {[1, 2, 3], 1000}, []),
    S.

to_int(I) when is_integer(I) -> I;
to_int(A) when is_atom(A) -> list_to_integer(atom_to_list(A));
to_int(S) -> list_to_integer(S).

settle() ->
    [erlang:garbage_collect(P) || P <- erlang:processes()],
    timer:sleep(500),
    [erlang:garbage_collect(P) || P <- erlang:processes()],
    ok.

measure() ->
    Maps = smaps(),
    #{rss => rss(), beam => erlang:memory(total), maps => Maps,
      native => lists:sum([R || {K, R} <- maps:to_list(Maps), is_arena(K)])}.

report(What, M0, M1, N) ->
    D = fun(K) -> (maps:get(K, M1) - maps:get(K, M0)) / N end,
    io:format("~s, bytes per session:~n", [What]),
    [io:format("  ~-10s ~8.1f~n", [K, V])
     || {K, V} <- [{"rss", D(rss)}, {"native", D(native)}, {"beam", D(beam)},
                   {"beam_slack", D(rss) - D(native) - D(beam)}, {"rss-beam", D(rss) - D(beam)}]],
    ok.

%% mimalloc (the NIF's allocator) reserves its arenas from 2 TiB up
%% (0x20000000000, an 11-digit address); nothing else maps there.
is_arena(<<"2", _/binary>> = K) ->
    [A | _] = binary:split(K, <<"-">>),
    byte_size(A) =:= 11;
is_arena(_) ->
    false.

%% The mappings whose resident size grew most.
grown(M0, M1) ->
    Old = maps:get(maps, M0),
    Grown = lists:reverse(lists:sort(
              [{Rss - maps:get(K, Old, 0), Rss, K} || {K, Rss} <- maps:to_list(maps:get(maps, M1))])),
    io:format("  mappings that grew most (KiB grown, KiB resident, mapping):~n"),
    [io:format("    ~9b ~9b  ~s~n", [G div 1024, R div 1024, K]) || {G, R, K} <- lists:sublist(Grown, 5)],
    ok.

%% #{<<"Start-End SizeK Path">> => ResidentBytes} from /proc/self/smaps.
smaps() ->
    {ok, B} = file:read_file("/proc/self/smaps"),
    smaps(binary:split(B, <<"\n">>, [global]), undefined, #{}).

smaps([], _, Acc) ->
    Acc;
smaps([<<"Rss:", Rest/binary>> | Ls], K, Acc) ->
    [Kb | _] = binary:split(Rest, [<<" ">>, <<"\t">>], [global, trim_all]),
    smaps(Ls, K, Acc#{K => binary_to_integer(Kb) * 1024});
smaps([L | Ls], K, Acc) ->
    case binary:split(L, [<<" ">>], [global, trim_all]) of
        [Range, _Perms, _Off, _Dev, _Inode | Path] ->
            case binary:split(Range, <<"-">>) of
                [A, Z] ->
                    Size = (binary_to_integer(Z, 16) - binary_to_integer(A, 16)) div 1024,
                    Name = iolist_to_binary([Range, io_lib:format(" ~bK ", [Size]) | lists:join(<<" ">>, Path)]),
                    smaps(Ls, Name, Acc);
                _ ->
                    smaps(Ls, K, Acc)
            end;
        _ ->
            smaps(Ls, K, Acc)
    end.

%% Runs F(Count) in two processes per scheduler, over N items in all.
parallel(N, F) ->
    W = erlang:system_info(schedulers_online) * 2,
    Parent = self(),
    Refs = [begin
                Ref = make_ref(),
                K = N div W + (case I =< N rem W of true -> 1; false -> 0 end),
                spawn_link(fun() -> Parent ! {Ref, F(K)} end),
                Ref
            end || I <- lists:seq(1, W)],
    [receive {Ref, R} -> R end || Ref <- Refs].

rss() ->
    {ok, B} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(B, <<"\n">>, [global]), binary:match(L, <<"VmRSS:">>) =/= nomatch],
    [_, Kb | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.
