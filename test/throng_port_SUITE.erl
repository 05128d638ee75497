%%% The port backend (`throng_port_engine' and the `throng_port' program):
%%% starting an engine in its own OS process, requests and their errors,
%%% flow control, and isolation: `kill -9' of the program while callers
%%% wait (DESIGN.md "Rules that hold everywhere"; issue 4, "Isolation").
%%%
%%% The program serves every op; callback-module sessions wait for the
%%% executors of port engines (docs/port-protocol.md, "Status"). Callers are
%%% made to wait by stopping the program with SIGSTOP: its requests sit in
%%% the pipe until SIGCONT or SIGKILL.
-module(throng_port_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1]).
-export([
    program_in_priv/1,
    ping_echo_stats_batch/1,
    sessions_without_a_session/1,
    kill_9_while_callers_wait/1,
    restarts_are_bounded/1,
    request_timeout/1,
    max_in_flight_callers_wait/1,
    frame_too_large/1,
    bad_options/1,
    bad_program/1,
    stop_engine_exits_0/1,
    engine_stop_op/1,
    standalone_escript/1,
    async_casts/1,
    pids_cross_as_destinations/1
]).

-define(T, 5000).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [program_in_priv, ping_echo_stats_batch, sessions_without_a_session, kill_9_while_callers_wait,
     restarts_are_bounded, request_timeout, max_in_flight_callers_wait, frame_too_large,
     bad_options, bad_program, stop_engine_exits_0, engine_stop_op, standalone_escript,
     async_casts, pids_cross_as_destinations].

init_per_suite(Config) ->
    {ok, Started} = application:ensure_all_started(throng),
    [{started, Started} | Config].

end_per_suite(Config) ->
    [application:stop(A) || A <- lists:reverse(?config(started, Config))],
    ok.

%%% ================================================================== requests

%% scripts/build_native.sh installs the program beside the NIF library.
program_in_priv(_Config) ->
    Program = filename:join(code:priv_dir(throng), "throng_port"),
    ?assertEqual({ok, Program}, throng_port_engine:find_program(#{})),
    ?assertEqual([], filelib:wildcard(".throng_port.*", code:priv_dir(throng))).

ping_echo_stats_batch(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port, max_sessions => 1000, shards => 4}),
    ?assertMatch({throng_port, Pid} when is_pid(Pid), E),
    ?assertEqual(pong, throng_port_engine:request(E, ping)),
    Term = {any, "term", 1.5, <<"bin">>, #{k => [self(), make_ref()]}, 1 bsl 70},
    ?assertEqual(Term, throng_port_engine:request(E, {echo, Term})),
    Stats = throng:engine_stats(E),
    [?assert(is_integer(maps:get(K, Stats)))
     || K <- [sessions, queued_events, timers, table_bytes, memory, executor_queue,
              inline_runs, frames_in, bad_frames]],
    ?assertMatch(#{sessions := 0, bad_frames := 0}, Stats),
    ?assertMatch([pong, x, #{sessions := 0}],
                 throng_port_engine:request(E, {batch, [ping, {echo, x}, stats]})),
    %% The limits in force, as the program announced them.
    #{hello := Hello, os_pid := OsPid} = throng_port_engine:info(E),
    ?assertMatch(#{protocol := 1, max_sessions := 1000, max_in_flight := _}, Hello),
    ?assert(is_integer(OsPid)),
    %% An op the program does not know comes back as the program's error.
    ?assertMatch({error, {protocol, {unknown_op, <<"no_such_op">>}}},
                 throng_port_engine:request(E, no_such_op)),
    ?assertEqual(pong, throng_port_engine:request(E, ping)),
    %% Many callers at once, pipelined.
    Self = self(),
    Pids = [spawn_link(fun() ->
                               Rs = [throng_port_engine:request(E, {echo, {I, J}}) || J <- lists:seq(1, 50)],
                               Self ! {done, self(), Rs =:= [{I, J} || J <- lists:seq(1, 50)]}
                       end) || I <- lists:seq(1, 20)],
    [receive {done, P, Ok} -> ?assert(Ok) after ?T -> ct:fail(timeout) end || P <- Pids],
    ok = throng:stop_engine(E).

sessions_without_a_session(_Config) ->
    %% Session ops reach the engine (callback-module sessions need the
    %% executors of port engines, which come next: see the protocol's
    %% Status); on a session that does not exist they answer as the NIF.
    {ok, E} = throng:start_engine(#{backend => port}),
    ?assertEqual(false, throng_port_engine:session_alive(E, 1)),
    ?assertEqual({error, noproc}, throng_port_engine:session_kill(E, 1, normal)),
    ?assertEqual([], throng_port_engine:executor_take(E, 0, 10)),
    %% cast/2 is ok whatever happens, as gen_statem:cast/2.
    ?assertEqual(ok, throng:cast({throng, E, 1}, hello)),
    ?assertEqual([], mailbox()),
    ok = throng:stop_engine(E).

%%% ================================================================== isolation

%% The program is killed while callers wait on it, some of their requests
%% written, some waiting for an in-flight slot: each gets engine_down
%% (call/3 its gen_statem-shaped exit) in time; the owner starts a new
%% program; the VM's other engines do not notice.
kill_9_while_callers_wait(_Config) ->
    {ok, Nif} = throng:start_engine(#{}),
    {ok, S0} = throng:start(throng_t_puppet, #{}, [{engine, Nif}]),
    {ok, Other} = throng:start_engine(#{backend => port}),
    #{os_pid := OtherOs} = throng_port_engine:info(Other),
    {ok, E} = throng:start_engine(#{backend => port, max_in_flight => 4}),
    #{os_pid := OsPid, port := Port} = throng_port_engine:info(E),
    ?assertEqual({os_pid, OsPid}, erlang:port_info(Port, os_pid)),
    os_cmd("kill -STOP " ++ integer_to_list(OsPid)),
    %% A failing case must not leave a stopped program behind.
    try
        Self = self(),
        S = {throng, E, 7},
        Waiters = [{ping, fun() -> throng_port_engine:request(E, ping) end} || _ <- lists:seq(1, 6)]
            ++ [{stats, fun() -> throng:engine_stats(E) end},
                {start, fun() -> throng:start(throng_t_puppet, #{}, [{engine, E}]) end},
                {call, fun() -> catch throng:call(S, hello, 30000) end}],
        %% One at a time, so that each is a frame of its own (requests that
        %% reach the owner together share a frame): four written, five waiting.
        Pids = [begin
                    P = spawn_link(fun() -> Self ! {result, self(), F()} end),
                    wait_until(fun() -> with_owner(E) =:= I end),
                    {What, P}
                end || {I, {What, F}} <- lists:enumerate(Waiters)],
        ?assertMatch(#{in_flight := 4, frames_in_flight := 4, waiting := 5}, throng_port_engine:info(E)),
        T0 = erlang:monotonic_time(millisecond),
        os_cmd("kill -9 " ++ integer_to_list(OsPid)),
        Down = {engine_down, {exit_status, 137}},
        [receive
             {result, P, R} ->
                 case What of
                     call -> ?assertEqual({'EXIT', {Down, {throng, call, [S, hello, 30000]}}}, R);
                     _ -> ?assertEqual({error, Down}, R)
                 end
         after ?T ->
             ct:fail({no_answer, What})
         end || {What, P} <- Pids],
        ?assert(erlang:monotonic_time(millisecond) - T0 < 2000),
        %% A new program, a new handshake, the same engine handle.
        ?assertEqual(pong, throng_port_engine:request(E, ping)),
        #{os_pid := OsPid2, restarts := 1, in_flight := 0, waiting := 0} = throng_port_engine:info(E),
        ?assertNotEqual(OsPid, OsPid2),
        ?assertMatch(#{sessions := 0}, throng:engine_stats(E)),
        ?assertNot(os_alive(OsPid)),
        %% The other engines did not notice.
        ?assertEqual(pong, throng_port_engine:request(Other, ping)),
        ?assertMatch(#{os_pid := OtherOs, restarts := 0}, throng_port_engine:info(Other)),
        ok = throng:cast(S0, hello),
        ok = throng:sync(S0),
        ?assertMatch({a, #{log := [{cast, hello}]}}, throng:get_state(S0)),
        {ok, S1} = throng:start(throng_t_puppet, #{}, []),
        ok = throng:stop(S1),
        ok = throng:stop(S0),
        ?assertEqual([], mailbox()),
        [ok = throng:stop_engine(X) || X <- [E, Other, Nif]],
        ok
    after
        os:cmd("kill -9 " ++ integer_to_list(OsPid) ++ " 2>/dev/null")
    end.

%% A program that keeps dying is restarted 5 times in 10 seconds, then the
%% owner gives up and the engine is gone.
restarts_are_bounded(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port}),
    {throng_port, Owner} = E,
    MRef = erlang:monitor(process, Owner),
    Kill = fun() ->
                   #{os_pid := OsPid} = throng_port_engine:info(E),
                   os_cmd("kill -9 " ++ integer_to_list(OsPid)),
                   wait_until(fun() -> not is_process_alive(Owner) orelse
                                           maps:get(os_pid, throng_port_engine:info(E)) =/= OsPid end)
           end,
    [begin Kill(), ?assertEqual(pong, throng_port_engine:request(E, ping)) end || _ <- lists:seq(1, 5)],
    #{os_pid := Last} = throng_port_engine:info(E),
    os_cmd("kill -9 " ++ integer_to_list(Last)),
    receive {'DOWN', MRef, process, Owner, R} -> ?assertEqual({engine_down, {exit_status, 137}}, R)
    after ?T -> ct:fail(owner_alive)
    end,
    ?assertEqual({error, {engine_down, noproc}}, throng_port_engine:request(E, ping)),
    ?assertEqual({error, not_found}, throng:stop_engine(E)).

%%% ================================================================== flow control

request_timeout(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port, request_timeout => 200}),
    #{os_pid := OsPid} = throng_port_engine:info(E),
    os_cmd("kill -STOP " ++ integer_to_list(OsPid)),
    T0 = erlang:monotonic_time(millisecond),
    ?assertEqual({error, timeout}, throng_port_engine:request(E, {echo, late})),
    ?assert(erlang:monotonic_time(millisecond) - T0 >= 200),
    os_cmd("kill -CONT " ++ integer_to_list(OsPid)),
    %% The late answer went nowhere; the next request gets its own.
    ?assertEqual(pong, throng_port_engine:request(E, ping)),
    ?assertEqual([], mailbox()),
    ok = throng:stop_engine(E).

%% Beyond max_in_flight, requests wait unwritten in the owner; each is
%% written when an answer frees a slot.
max_in_flight_callers_wait(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port, max_in_flight => 2}),
    #{os_pid := OsPid, max_in_flight := 2} = throng_port_engine:info(E),
    os_cmd("kill -STOP " ++ integer_to_list(OsPid)),
    %% A failing case must not leave a stopped program behind.
    try max_in_flight_callers_wait(E, OsPid)
    after os:cmd("kill -CONT " ++ integer_to_list(OsPid) ++ " 2>/dev/null")
    end.

max_in_flight_callers_wait(E, OsPid) ->
    Self = self(),
    %% One at a time (see kill_9_while_callers_wait): two written, four waiting.
    Pids = [begin
                P = spawn_link(fun() -> Self ! {result, self(), throng_port_engine:request(E, {echo, I})} end),
                wait_until(fun() -> with_owner(E) =:= I end),
                P
            end || I <- lists:seq(1, 6)],
    ?assertMatch(#{in_flight := 2, frames_in_flight := 2, waiting := 4}, throng_port_engine:info(E)),
    os_cmd("kill -CONT " ++ integer_to_list(OsPid)),
    [receive {result, P, R} -> ?assertEqual(I, R) after ?T -> ct:fail(timeout) end
     || {I, P} <- lists:zip(lists:seq(1, 6), Pids)],
    ?assertMatch(#{in_flight := 0, waiting := 0}, throng_port_engine:info(E)),
    ok = throng:stop_engine(E).

frame_too_large(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port, max_frame_bytes => 1024}),
    ?assertMatch({error, {frame_too_large, Size, 1024}} when Size > 1024,
                 throng_port_engine:request(E, {echo, binary:copy(<<0>>, 2000)})),
    ?assertEqual(pong, throng_port_engine:request(E, ping)),
    ?assertMatch(#{bad_frames := 0}, throng:engine_stats(E)),
    ok = throng:stop_engine(E).

%%% ================================================================== start and stop

bad_options(_Config) ->
    Bad = [{#{bogus => 1}, {unknown_option, bogus}},
           {#{run_budget => 10}, {unknown_option, run_budget}},
           {#{shards => 0}, {badarg, {shards, 0}}},
           {#{shards => 5000}, {badarg, {shards, 5000}}},
           {#{max_sessions => -1}, {badarg, {max_sessions, -1}}},
           {#{max_in_flight => 0}, {badarg, {max_in_flight, 0}}},
           {#{max_frame_bytes => 1 bsl 32}, {badarg, {max_frame_bytes, 1 bsl 32}}},
           {#{request_timeout => soon}, {badarg, {request_timeout, soon}}},
           {#{name => "name"}, {badarg, {name, "name"}}},
           {#{program => 42}, {badarg, {program, 42}}}],
    [?assertEqual({error, Why}, throng:start_engine(Opts#{backend => port})) || {Opts, Why} <- Bad],
    ?assertEqual({error, {badarg, {backend, nope}}}, throng:start_engine(#{backend => nope})),
    ?assertEqual({error, {program_not_found, ["/nonexistent/throng_port"]}},
                 throng:start_engine(#{backend => port, program => "/nonexistent/throng_port"})),
    ?assertEqual([], supervisor:which_children(throng_engine_sup)).

%% A program that is not throng_port fails the handshake.
bad_program(_Config) ->
    %% cat sends the hello back: not a hello reply.
    ?assertMatch({error, {handshake, {bad_reply, {hello, 1, #{}}}}},
                 throng:start_engine(#{backend => port, program => os:find_executable("cat")})),
    ?assertMatch({error, {handshake, {exit_status, 0}}},
                 throng:start_engine(#{backend => port, program => os:find_executable("true")})),
    ?assertEqual([], supervisor:which_children(throng_engine_sup)).

%% stop_engine/1 sends engine_stop; the program exits with status 0.
stop_engine_exits_0(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port}),
    {throng_port, Owner} = E,
    #{os_pid := OsPid, port := Port} = throng_port_engine:info(E),
    erlang:trace(Owner, true, ['receive']),
    ok = throng:stop_engine(E),
    receive {trace, Owner, 'receive', {Port, {exit_status, Status}}} -> ?assertEqual(0, Status)
    after ?T -> ct:fail(no_exit_status)
    end,
    ?assertNot(os_alive(OsPid)),
    ?assertEqual({error, {engine_down, noproc}}, throng_port_engine:request(E, ping)).

%% The backend's engine_stop/1: the program exits 0, the owner stops
%% (normal) without restarting it.
engine_stop_op(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port}),
    {throng_port, Owner} = E,
    MRef = erlang:monitor(process, Owner),
    #{os_pid := OsPid} = throng_port_engine:info(E),
    ?assertEqual(ok, throng_backend:engine_stop(E)),
    receive {'DOWN', MRef, process, Owner, R} -> ?assertEqual(normal, R)
    after ?T -> ct:fail(owner_alive)
    end,
    ?assertNot(os_alive(OsPid)),
    ?assertEqual([], supervisor:which_children(throng_engine_sup)).

%%% ================================================================== helpers

os_cmd(Cmd) ->
    ?assertEqual("", os:cmd(Cmd)).

os_alive(OsPid) ->
    os:cmd("kill -0 " ++ integer_to_list(OsPid) ++ " 2>/dev/null && echo yes") =:= "yes\n".

wait_until(F) ->
    wait_until(F, 500).

%% Requests the owner of port engine `E' holds: written or waiting.
with_owner(E) ->
    #{in_flight := In, waiting := W} = throng_port_engine:info(E),
    In + W.

wait_until(F, 0) ->
    ?assert(F());
wait_until(F, N) ->
    case F() of
        true -> ok;
        false -> timer:sleep(10), wait_until(F, N - 1)
    end.

mailbox() ->
    receive M -> [M | mailbox()] after 0 -> [] end.

%%% ============================================================ standalone

%% The escript in docs/port-escript.md (plain open_port/2, no Throng
%% module) runs as the document says.
standalone_escript(Config) ->
    {ok, Doc} = file:read_file(filename:join(project_dir(), "docs/port-escript.md")),
    [_, Block | _] = binary:split(Doc, [<<"<!-- escript begins -->">>, <<"<!-- escript ends -->">>], [global]),
    [_, Code0] = binary:split(Block, <<"```erlang\n">>),
    [Code | _] = binary:split(Code0, <<"```">>),
    Script = filename:join(?config(priv_dir, Config), "port_demo.escript"),
    ok = file:write_file(Script, Code),
    Program = filename:join(code:priv_dir(throng), "throng_port"),
    Escript = os:find_executable("escript"),
    Port = open_port({spawn_executable, Escript},
                     [{args, [Script, Program]}, exit_status, stderr_to_stdout, binary]),
    {Status, Out} = collect(Port, <<>>),
    ct:log("~s", [Out]),
    ?assertEqual(0, Status),
    {ok, Vsn} = application:get_key(throng, vsn),
    ?assertEqual(<<"handshake: throng_port ", (list_to_binary(Vsn))/binary,
                   "\nping: pong, echo: ok, stats: 0 sessions\n"
                   "bad frame: error frame, still serving\n"
                   "engine stopped, exit status 0\n">>,
                 Out).

collect(Port, Acc) ->
    receive
        {Port, {data, D}} -> collect(Port, <<Acc/binary, D/binary>>);
        {Port, {exit_status, S}} -> {S, Acc}
    after 20000 -> ct:fail({escript_hangs, Acc})
    end.

%% The project's root: the first directory above the application's that
%% holds the document.
project_dir() ->
    find_root(filename:absname(code:lib_dir(throng))).

find_root("/") -> error(no_project_root);
find_root(Dir) ->
    case filelib:is_file(filename:join(Dir, "docs/port-escript.md")) of
        true -> Dir;
        false -> find_root(filename:dirname(Dir))
    end.

%% cast => async: cast/2 returns at once; the events are handled in the
%% order sent (with the caller's later call after them); casts the program
%% refuses for a full queue are counted, not returned.
async_casts(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port, cast => async, max_queue_len => 5, executors => 1}),
    try
        {ok, S} = throng:start(throng_t_puppet, #{}, [{engine, E}]),
        [?assertEqual(ok, throng:cast(S, {n, I})) || I <- lists:seq(1, 3)],
        ?assertEqual(y, throng:call(S, {reply, y})),
        {_, #{log := Log}} = throng:get_state(S),
        ?assertEqual([{cast, {n, I}} || I <- lists:seq(1, 3)], lists:sublist(Log, 3)),
        %% A session whose callback sleeps: its queue fills and the rest
        %% is refused, counted by the owner.
        ok = throng:cast(S, {sleep, 300}),
        [?assertEqual(ok, throng:cast(S, {m, I})) || I <- lists:seq(1, 20)],
        ok = throng:sync(S),
        #{refused := Refused} = throng_port_engine:info(E),
        ?assert(Refused >= 10, Refused),
        {_, #{log := Log2}} = throng:get_state(S),
        ?assertEqual(20 - Refused, length([M || {cast, {m, _}} = M <- Log2]))
    after
        throng:stop_engine(E)
    end,
    ?assertMatch({error, {badarg, {cast, maybe}}}, throng:start_engine(#{backend => port, cast => maybe})).

%% Replies, DOWN notices and init outcomes reach pids straight from the
%% work items and frames (no translation table in the owner): a caller that
%% is not the owner's neighbour, a pid inside the data, a reply by
%% gen_statem:reply/2 from the callback.
pids_cross_as_destinations(_Config) ->
    {ok, E} = throng:start_engine(#{backend => port}),
    try
        Self = self(),
        {ok, S} = throng:start(throng_t_puppet, #{test => Self}, [{engine, E}]),
        ?assertMatch({_, #{test := Self}}, throng:get_state(S)),
        Other = spawn(fun() -> receive {go, P} -> P ! {got, throng:call(S, {reply, z})} end end),
        Other ! {go, Self},
        receive {got, z} -> ok after ?T -> ct:fail(no_reply_to_other) end,
        #{destinations := D} = throng_port_engine:info(E),
        ?assert(D >= 1, D),
        ok = throng:stop(S)
    after
        throng:stop_engine(E)
    end.
