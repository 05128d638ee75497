%%% @doc `make bench-port': the port backend measured two ways in one run.
%%%
%%% <h3>The protocol: this process drives `throng_port' itself</h3>
%%%
%%% A port of its own (`open_port/2', `{packet, 4}'), no Throng Erlang code
%%% in the path: the frames of docs/port-protocol.md, as any ETF speaker
%%% would write them. `N' sessions are started (this process plays the
%%% executor for their `init/1': `{session_init_result, ...}'), then:
%%%
%%% <ul>
%%% <li>Call round trip, engine-answered: `session_system get_state' to an
%%%     idle session and its pushed `{reply, Pid, Tag, {State, Data}}', one
%%%     after another (p50, p99).</li>
%%% <li>Call round trip, callback: `session_call', the `{work, 0, Items}'
%%%     frame that wakes the executor, `executor_done' with the result a
%%%     callback would return (`{keep_state_and_data, [{reply, From,
%%%     ok}]}'), the pushed reply: the protocol's cost of a callback-module
%%%     call, without the callback.</li>
%%% <li>Pipelined unbatched casts: one `session_send' per frame, up to 512
%%%     frames unanswered; every answer read and checked (`ok').</li>
%%% <li>Batched casts: `{batch, Ops}' frames of 100 `session_send' each;
%%%     every answer list checked.</li>
%%% </ul>
%%%
%%% The casts are accepted by the engine (queued in their sessions, a work
%%% item handed to the executor); no callback runs them: the figures are
%%% the program's (frame decoding, the engine's acceptance, answers).
%%%
%%% <h3>The API: `throng' on a port engine, beside a NIF engine</h3>
%%%
%%% `N' `demo_lock' sessions (bench/demo_lock.erl) on each engine; four
%%% processes cast the code to every session (3 casts each), the time runs
%%% until every lock has opened (counted); then call p50/p99 of 5,000
%%% calls. The port engine runs twice: `cast => sync' (the default: a cast
%%% waits for the program's answer) and `cast => async'.
-module(throng_port_bench).

-export([main/0, main/1]).

-define(WINDOW, 512).
-define(BATCH, 100).
-define(CALLS, 10000).
%% Request ids of the executor's own requests (sessions' ids are below).
-define(TAKE_ID, (1 bsl 62)).
-define(DONE_ID, (1 bsl 62 + 1)).

%% @doc 100,000 sessions.
-spec main() -> no_return().
main() ->
    main([100000]).

%% @doc `[Sessions]'.
-spec main([pos_integer() | string() | atom()]) -> no_return().
main([N0]) ->
    N = to_int(N0),
    {ok, _} = application:ensure_all_started(throng),
    {ok, Program} = throng_port_engine:find_program(#{}),
    io:format("The port backend at ~s sessions (~s)~n~n", [sep(N), Program]),
    Raw = raw(Program, N),
    persistent_term:put(demo_lock_counters, counters:new(3, [write_concurrency])),
    Api = [{Name, api(Opts, N)} || {Name, Opts} <- [{"NIF engine", #{}},
                                                    {"port, cast => sync", #{backend => port}},
                                                    {"port, cast => async", #{backend => port, cast => async}}]],
    print(N, Raw, Api),
    halt(0).

%%% ------------------------------------------------------------ protocol

raw(Program, N) ->
    Port = open_port({spawn_executable, Program}, [{packet, 4}, binary, exit_status]),
    send(Port, {hello, 1, #{executors => 1, now_ns => erlang:monotonic_time(nanosecond)}}),
    {hello, 1, #{}} = recv(Port),
    Sids = start_sessions(Port, N),
    Idle = lists:sublist(Sids, ?CALLS),
    GetState = [rtt(fun() -> get_state(Port, Sid) end) || Sid <- Idle],
    Call = [rtt(fun() -> call(Port, Sid) end) || Sid <- Idle],
    %% Every session gets one cast per run (max_queue_len is not reached).
    Cast = rate(N, fun() -> pipelined(Port, Sids) end),
    Chunks = chunks(Sids, ?BATCH),
    Batched = rate(N, fun() -> batched(Port, Chunks) end),
    send(Port, {req, 0, engine_stop}),
    drain_exit(Port),
    #{get_state => pcts(GetState), call => pcts(Call), cast => Cast, batched => Batched}.

send(Port, T) ->
    true = port_command(Port, term_to_binary(T)).

recv(Port) ->
    receive
        {Port, {data, B}} -> binary_to_term(B, [safe]);
        {Port, {exit_status, S}} -> error({port_exited, S})
    after 10000 -> error(port_timeout)
    end.

%% The answer to request `Id'. Work items pushed before it are kept for
%% init_all/3; other pushed frames are skipped.
rep(Port, Id) ->
    case recv(Port) of
        {rep, Id, R} -> R;
        {rep, Other, _} -> error({out_of_order, Other, Id});
        {error, _, _} = Error -> error(Error);
        {work, 0, Items} -> put(stashed_work, get_stashed() ++ Items), rep(Port, Id);
        _Pushed -> rep(Port, Id)
    end.

get_stashed() ->
    case get(stashed_work) of
        undefined -> [];
        L -> L
    end.

start_sessions(Port, N) ->
    Self = self(),
    %% Starts in batches of 1000; the init/1 work items come in work
    %% frames (and more through executor_done), answered here.
    Sids = lists:append([begin
                             Ops = [{session_start, demo_lock, args, {Self, I}, undefined}
                                    || I <- lists:seq(1, min(1000, N - B))],
                             send(Port, {req, B, {batch, Ops}}),
                             [Sid || {ok, Sid} <- rep(Port, B)]
                         end || B <- lists:seq(0, N - 1, 1000)]),
    N = length(Sids),
    Stashed = get_stashed(),
    erase(stashed_work),
    init_items(Port, N, 0, Stashed),
    Sids.

%% Runs init/1 for `N' sessions: each work frame or executor_done answer
%% gives items; the results go back in one executor_done.
init_all(_Port, N, N) ->
    ok;
init_all(Port, N, Done) ->
    Items = receive
                {Port, {data, B}} ->
                    case binary_to_term(B, [safe]) of
                        {work, 0, Is} -> Is;
                        _ -> []
                    end
            after 10000 -> error(init_timeout)
            end,
    init_items(Port, N, Done, Items).

init_items(Port, N, Done, []) ->
    init_all(Port, N, Done);
init_items(Port, N, Done, Items) ->
    Data = #{code => [1, 2, 3], remaining => [1, 2, 3], open_ms => 600000},
    Results = [{Sid, {ok, locked, Data}} || {Sid, {init, demo_lock, args, _}} <- Items],
    Modes = [{demo_lock, state_functions}],
    [begin send(Port, {req, Sid, {session_init_result, Sid, R, Modes}}), {ok, _} = rep(Port, Sid) end
     || {Sid, R} <- Results],
    send(Port, {req, ?TAKE_ID, {executor_take, 0, 1000}}),
    More = rep(Port, ?TAKE_ID),
    Stashed = get_stashed(),
    erase(stashed_work),
    init_items(Port, N, Done + length(Results), Stashed ++ More).

get_state(Port, Sid) ->
    Tag = make_ref(),
    send(Port, {req, Sid, {session_system, Sid, get_state, {self(), Tag}}}),
    %% The pushed reply is written before the request's answer.
    {locked, #{}} = wait_reply(Port, Tag),
    ok = rep(Port, Sid).

wait_reply(Port, Tag) ->
    case recv(Port) of
        {reply, _, Tag, R} -> R;
        Other -> error({unexpected, Other})
    end.

call(Port, Sid) ->
    Tag = make_ref(),
    From = {self(), Tag},
    send(Port, {req, Sid, {session_call, Sid, From, state, false}}),
    call_loop(Port, Sid, From, #{}).

%% Until the call's answer, its work frame (handed in at once, as an
%% executor would), executor_done's answer and the reply have come, in
%% whatever order the program wrote them.
call_loop(_Port, _Sid, _From, #{rep := ok, work := done, done := ok, reply := locked}) ->
    ok;
call_loop(Port, Sid, {_, Tag} = From, Got) ->
    case recv(Port) of
        {rep, Sid, R} ->
            call_loop(Port, Sid, From, Got#{rep => R});
        {work, 0, [{Sid, {event, demo_lock, _, {call, From}, state, _, _}}]} ->
            Result = {keep_state_and_data, [{reply, From, locked}]},
            send(Port, {req, ?DONE_ID, {executor_done, 0, [{Sid, Result, []}], 64}}),
            call_loop(Port, Sid, From, Got#{work => done});
        {rep, ?DONE_ID, {ok, []}} ->
            call_loop(Port, Sid, From, Got#{done => ok});
        {reply, _, Tag, R} ->
            call_loop(Port, Sid, From, Got#{reply => R});
        Other ->
            error({unexpected, Other})
    end.

%% One cast per frame, `?WINDOW' frames unanswered at most.
pipelined(Port, Sids) ->
    pipelined(Port, Sids, 0, 0).

pipelined(_Port, [], Sent, Got) when Got =:= Sent ->
    ok;
pipelined(Port, [Sid | Rest], Sent, Got) when Sent - Got < ?WINDOW ->
    true = port_command(Port, term_to_binary({req, Sent, {session_send, Sid, cast, {button, 1}, false}})),
    pipelined(Port, Rest, Sent + 1, Got);
pipelined(Port, Sids, Sent, Got) ->
    case recv(Port) of
        {rep, Got, ok} -> pipelined(Port, Sids, Sent, Got + 1);
        {rep, Id, R} -> error({bad_answer, Id, R});
        _Pushed -> pipelined(Port, Sids, Sent, Got)
    end.

%% `?BATCH' casts per frame (the sessions split before the clock starts),
%% `?WINDOW' div 8 frames unanswered at most.
batched(Port, Chunks) ->
    batched(Port, Chunks, 0, 0).

batched(_Port, [], Sent, Got) when Got =:= Sent ->
    ok;
batched(Port, [Chunk | Rest], Sent, Got) when Sent - Got < ?WINDOW div 8 ->
    Ops = [{session_send, Sid, cast, {button, 2}, false} || Sid <- Chunk],
    true = port_command(Port, term_to_binary({req, Sent, {batch, Ops}})),
    batched(Port, Rest, Sent + 1, Got);
batched(Port, Chunks, Sent, Got) ->
    case recv(Port) of
        {rep, Got, Rs} when is_list(Rs) ->
            [] = [R || R <- Rs, R =/= ok],
            batched(Port, Chunks, Sent, Got + 1);
        {rep, Id, R} -> error({bad_answer, Id, R});
        _Pushed -> batched(Port, Chunks, Sent, Got)
    end.

%% `L' in lists of `N' (the last one shorter), in one pass.
chunks([], _) -> [];
chunks(L, N) -> chunks(L, N, N, [], []).

chunks([], _N, _K, Cur, Acc) -> lists:reverse([lists:reverse(Cur) | Acc]);
chunks(L, N, 0, Cur, Acc) -> chunks(L, N, N, [], [lists:reverse(Cur) | Acc]);
chunks([H | T], N, K, Cur, Acc) -> chunks(T, N, K - 1, [H | Cur], Acc).

drain_exit(Port) ->
    receive
        {Port, {exit_status, 0}} -> ok;
        {Port, {exit_status, S}} -> error({exit_status, S});
        {Port, _} -> drain_exit(Port)
    after 10000 -> error(no_exit)
    end.

%%% ------------------------------------------------------------ API

api(Opts, N) ->
    {ok, E} = throng:start_engine(Opts),
    C = persistent_term:get(demo_lock_counters),
    Sids = [begin {ok, {throng, E, Sid}} = throng:start(demo_lock, {[1, 2, 3], 600000}, [{engine, E}]), Sid end
            || _ <- lists:seq(1, N)],
    Opened0 = counters:get(C, 1),
    Slices = chunks(Sids, (N + 3) div 4),
    Self = self(),
    T0 = erlang:monotonic_time(),
    [spawn_link(fun() ->
                        [ok = throng:cast({throng, E, Sid}, {button, D}) || D <- [1, 2, 3], Sid <- Slice],
                        Self ! sent
                end) || Slice <- Slices],
    [receive sent -> ok end || _ <- Slices],
    ok = wait_count(C, Opened0 + N, erlang:monotonic_time(millisecond) + 600000),
    Us = us(T0),
    Lat = lists:sort([rtt(fun() -> open = throng:call({throng, E, Sid}, state) end)
                      || Sid <- lists:sublist(Sids, 5000)]),
    [ok = throng:stop({throng, E, Sid}) || Sid <- Sids],
    ok = throng:stop_engine(E),
    #{casts => 3 * N / (Us / 1.0e6), call => pcts(Lat)}.

wait_count(C, Target, Deadline) ->
    case counters:get(C, 1) >= Target of
        true -> ok;
        false ->
            erlang:monotonic_time(millisecond) > Deadline andalso error({not_all_opened, counters:get(C, 1), Target}),
            timer:sleep(1),
            wait_count(C, Target, Deadline)
    end.

%%% ------------------------------------------------------------ figures

rtt(F) ->
    T = erlang:monotonic_time(),
    F(),
    us(T).

us(T) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T, native, nanosecond) / 1000.

rate(N, F) ->
    T = erlang:monotonic_time(),
    ok = F(),
    N / (us(T) / 1.0e6).

pcts(L0) ->
    L = lists:sort(L0),
    Len = length(L),
    {lists:nth(max(1, Len div 2), L), lists:nth(max(1, Len * 99 div 100), L)}.

print(N, #{get_state := {G50, G99}, call := {C50, C99}, cast := Cast, batched := Batched}, Api) ->
    io:format("Protocol (this process speaks to throng_port; targets of issue 4):~n"),
    io:format("  pipelined unbatched casts   ~10s /s   (target >= 400,000; casts queued, no callback run)~n",
              [sep(round(Cast))]),
    io:format("  batched casts (100/frame)   ~10s /s   (target >= 5,000,000)~n", [sep(round(Batched))]),
    io:format("  get_state round trip        p50 ~.1f us, p99 ~.1f us   (target p50 <= 15 us)~n", [G50, G99]),
    io:format("  call round trip (2 frames)  p50 ~.1f us, p99 ~.1f us   (session_call, work, executor_done, reply)~n~n",
              [C50, C99]),
    io:format("Through the throng API, ~s demo_lock sessions, 4 casting processes:~n", [sep(N)]),
    io:format("  ~-22s ~14s ~20s~n", ["engine", "casts/s", "call p50 / p99 (us)"]),
    [io:format("  ~-22s ~14s ~8.1f / ~.1f~n", [Name, sep(round(Casts)), P50, P99])
     || {Name, #{casts := Casts, call := {P50, P99}}} <- Api],
    ok.

to_int(I) when is_integer(I) -> I;
to_int(A) when is_atom(A) -> list_to_integer(atom_to_list(A));
to_int(S) -> list_to_integer(S).

sep(N) when N < 1000 -> integer_to_list(N);
sep(N) -> sep(N div 1000) ++ io_lib:format(",~3..0B", [N rem 1000]).
