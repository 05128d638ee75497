%%% Native machines (native/throng_machines, docs/native-machines.md) on
%%% both backends: started with `{native, Name}', driven with the same
%%% `throng' API as callback-module sessions, and, where a gen_statem
%%% version exists (test/throng_t_native_ref.erl), giving the same replies
%%% and states as gen_statem for the same inputs. Also the batch APIs
%%% `start_many/3', `start_link_many/3', `cast_many/1' and `send_many/1'.
-module(throng_native_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, suite/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2]).
-export([code_lock_as_gen_statem/1, code_lock_bad_args/1, unknown_machine/1,
         switch_as_gen_statem/1, chat_session_flow/1, chat_session_auth_timeout/1,
         chat_session_bad_password/1, chat_session_idle_and_keepalive/1,
         api_on_native_sessions/1, owner_exit_stops_native_sessions/1,
         panic_stops_only_that_session/1, machine_sends_to_pids/1,
         start_many_and_cast_many/1, cast_many_across_engines/1, cast_many_queue_full/1]).

-define(T, 5000).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, B} || B <- throng_backends:all()].

groups() ->
    throng_backends:groups([native]) ++
    [{native, [], [code_lock_as_gen_statem, code_lock_bad_args, unknown_machine,
                   switch_as_gen_statem, chat_session_flow, chat_session_auth_timeout,
                   chat_session_bad_password, chat_session_idle_and_keepalive,
                   api_on_native_sessions, owner_exit_stops_native_sessions,
                   panic_stops_only_that_session, machine_sends_to_pids,
                   start_many_and_cast_many, cast_many_across_engines, cast_many_queue_full]}].

init_per_suite(Config) ->
    {ok, Started} = application:ensure_all_started(throng),
    [{started, Started} | Config].

end_per_suite(Config) ->
    [application:stop(A) || A <- lists:reverse(?config(started, Config))],
    ok.

init_per_group(Group, Config) ->
    throng_backends:init_group(Group, Config).

end_per_group(Group, _Config) ->
    throng_backends:end_group(Group).

%%% ------------------------------------------------------------ code lock

%% The same buttons, calls and time-outs on gen_statem (the reference
%% module) and on the native code lock: the same replies, state by state.
code_lock_as_gen_statem(_Config) ->
    Args = {[1, 2, 3], 60},
    {ok, G} = gen_statem:start_link(throng_t_native_ref, {code_lock, Args}, []),
    {ok, S} = throng:start_link({native, code_lock}, Args, []),
    Steps = [{call, state}, {call, code_length}, {cast, {button, 1}}, {cast, {button, 9}},
             {call, state}, {cast, {button, 1}}, {cast, {button, 2}}, {call, state},
             {cast, {button, 3}}, {call, state}, {cast, {button, 1}}, {call, state},
             {call, bogus}, {sleep, 150}, {call, state}, {cast, {button, 1}},
             {cast, {button, 2}}, {cast, {button, 3}}, {call, state}, {cast, lock},
             {call, state}, {cast, lock}, {call, state}],
    Run = fun(Call, Cast) ->
                  [case Step of
                       {call, R} -> Call(R);
                       {cast, M} -> Cast(M);
                       {sleep, Ms} -> timer:sleep(Ms)
                   end || Step <- Steps]
          end,
    Expected = Run(fun(R) -> gen_statem:call(G, R) end, fun(M) -> gen_statem:cast(G, M) end),
    Got = Run(fun(R) -> throng:call(S, R) end, fun(M) -> throng:cast(S, M) end),
    ?assertEqual(Expected, Got),
    ?assertEqual([locked, 3, ok, ok, locked, ok, ok, locked, ok, open, ok, open,
                  {error, unknown_call}, ok, locked, ok, ok, ok, open, ok, locked, ok, locked], Got),
    {_, GData} = sys:get_state(G),
    ?assertMatch({_, GData}, throng:get_state(S)),
    ok = throng:stop(S),
    ok = gen_statem:stop(G).

code_lock_bad_args(_Config) ->
    ?assertEqual({error, {bad_args, nonsense}}, throng:start({native, code_lock}, nonsense, [])),
    ?assertEqual({error, {bad_args, {[], 10}}}, throng:start({native, code_lock}, {[], 10}, [])),
    ?assertEqual({error, {bad_args, {[1], -1}}}, throng:start_link({native, code_lock}, {[1], -1}, [])).

unknown_machine(_Config) ->
    ?assertEqual({error, {unknown_native_machine, nope}}, throng:start({native, nope}, [], [])),
    ?assertEqual([{error, {unknown_native_machine, nope}}, {error, {unknown_native_machine, nope}}],
                 throng:start_many({native, nope}, [a, b], [])),
    ?assertError(function_clause, throng:start({native, "switch"}, [], [])).

%%% ------------------------------------------------------------ switch

switch_as_gen_statem(_Config) ->
    Inputs = [flip, flip, flip, get_count, flip, get_count, other, get_count],
    Run = fun(Call, Cast) ->
                  [case I of
                       get_count -> Call(get_count);
                       other -> Call(other);
                       M -> Cast(M)
                   end || I <- Inputs]
          end,
    {ok, G} = gen_statem:start_link(throng_t_native_ref, {switch, {off, 0}}, []),
    {ok, S} = throng:start_link({native, switch}, {off, 0}, []),
    Expected = Run(fun(R) -> gen_statem:call(G, R) end, fun(M) -> gen_statem:cast(G, M) end),
    ?assertEqual(Expected, Run(fun(R) -> throng:call(S, R) end, fun(M) -> throng:cast(S, M) end)),
    ?assertEqual({off, 2}, throng:get_state(S)),
    {ok, S2} = throng:start_link({native, switch}, {on, 7}, []),
    ?assertEqual({on, 7}, throng:get_state(S2)).

%%% ------------------------------------------------------------ chat session

chat(Extra) ->
    maps:merge(#{owner => self(), user => <<"ann">>, password => <<"pw">>}, Extra).

%% A message cast before the session is in waits (postponed) and is
%% delivered once established; presence; logout stops it, answering ok.
chat_session_flow(_Config) ->
    {ok, S} = throng:start_link({native, chat_session}, chat(#{}), []),
    MRef = throng:monitor(S),
    ?assertEqual({connecting, 0}, throng:call(S, presence)),
    ok = throng:cast(S, {msg, <<"early">>}),
    ok = throng:cast(S, connect),
    ?assertEqual({authenticating, 0}, throng:call(S, presence)),
    ?assertMatch(#{postponed_len := 1}, throng:get_status(S)),
    ok = throng:cast(S, {auth, <<"pw">>}),
    ok = throng:cast(S, {msg, <<"late">>}),
    ?assertEqual({established, 2}, throng:call(S, presence)),
    ?assertEqual([{chat, <<"ann">>, established}, {chat, <<"ann">>, {msg, <<"early">>}},
                  {chat, <<"ann">>, {msg, <<"late">>}}], chat_msgs(3)),
    ?assertMatch(#{modules := [{native, chat_session}],
                   callback_mode := [handle_event_function, state_enter]}, throng:get_status(S)),
    ?assertEqual(ok, throng:call(S, logout)),
    ?assertEqual([{chat, <<"ann">>, {closed, logout}}], chat_msgs(1)),
    receive {'DOWN', MRef, throng, S, normal} -> ok after ?T -> ct:fail(no_down) end.

chat_session_auth_timeout(_Config) ->
    {ok, S} = throng:start({native, chat_session}, chat(#{auth_timeout => 30}), []),
    MRef = throng:monitor(S),
    ok = throng:cast(S, connect),
    ?assertEqual([{chat, <<"ann">>, {closed, auth_timeout}}], chat_msgs(1)),
    receive {'DOWN', MRef, throng, S, R} -> ?assertEqual({shutdown, auth_timeout}, R) after ?T -> ct:fail(no_down) end.

chat_session_bad_password(_Config) ->
    {ok, S} = throng:start({native, chat_session}, chat(#{}), []),
    MRef = throng:monitor(S),
    ok = throng:cast(S, connect),
    ok = throng:cast(S, {auth, <<"wrong">>}),
    ?assertEqual([{chat, <<"ann">>, {closed, bad_password}}], chat_msgs(1)),
    receive {'DOWN', MRef, throng, S, R} -> ?assertEqual({shutdown, bad_password}, R) after ?T -> ct:fail(no_down) end,
    ?assertEqual({error, {bad_args, #{user => <<"x">>}}},
                 throng:start({native, chat_session}, #{user => <<"x">>}, [])).

%% Keepalive pings every 40 ms; no client event for 150 ms closes it, the
%% pings notwithstanding (each one arms the idle time-out for what is
%% left); a client message pushes the idle deadline back.
chat_session_idle_and_keepalive(_Config) ->
    {ok, S} = throng:start({native, chat_session}, chat(#{keepalive => 40, idle_timeout => 150}), []),
    MRef = throng:monitor(S),
    ok = throng:cast(S, connect),
    ok = throng:cast(S, {auth, <<"pw">>}),
    T0 = erlang:monotonic_time(millisecond),
    timer:sleep(100),
    ok = throng:cast(S, {msg, <<"hi">>}),
    receive {'DOWN', MRef, throng, S, normal} -> ok after ?T -> ct:fail(no_down) end,
    Lived = erlang:monotonic_time(millisecond) - T0,
    Msgs = chat_msgs(all),
    ?assertEqual({chat, <<"ann">>, established}, hd(Msgs)),
    ?assertEqual({chat, <<"ann">>, {closed, idle}}, lists:last(Msgs)),
    ?assert(lists:member({chat, <<"ann">>, {msg, <<"hi">>}}, Msgs)),
    Pings = length([P || {chat, _, ping} = P <- Msgs]),
    ?assert(Pings >= 4, Msgs),
    %% Idle 150 ms after the message sent at ~100 ms.
    ?assert(Lived >= 240, Lived).

chat_msgs(all) ->
    receive
        {chat, _, {closed, _}} = M -> [M];
        {chat, _, _} = M -> [M | chat_msgs(all)]
    after ?T -> []
    end;
chat_msgs(0) ->
    [];
chat_msgs(N) ->
    receive {chat, _, _} = M -> [M | chat_msgs(N - 1)] after ?T -> [] end.

%%% ------------------------------------------------------------ API

api_on_native_sessions(_Config) ->
    {ok, {S, MRef}} = throng:start_monitor({native, switch}, [], []),
    ok = throng:sync(S),
    ok = throng:suspend(S),
    ok = throng:cast(S, flip),
    ?assertMatch(#{suspended := true, queue_len := 1, modules := [{native, switch}]}, throng:get_status(S)),
    ok = throng:resume(S),
    ?assertEqual(1, throng:call(S, get_count)),
    ReqId = throng:send_request(S, get_count),
    ?assertEqual({reply, 1}, throng:receive_response(ReqId, ?T)),
    {ok, N} = throng:start({native, switch}, [], [{name, native_named}]),
    ?assertEqual(N, throng:whereis(native_named)),
    ?assertEqual({error, {already_started, N}}, throng:start({native, switch}, [], [{name, native_named}])),
    ok = throng:stop(N),
    ?assertEqual(undefined, throng:whereis(native_named)),
    ok = throng:stop(S, {shutdown, done}, ?T),
    receive {'DOWN', MRef, throng, S, R} -> ?assertEqual({shutdown, done}, R) after ?T -> ct:fail(no_down) end,
    ?assertExit({noproc, _}, throng:call(S, get_count)).

owner_exit_stops_native_sessions(_Config) ->
    Self = self(),
    Owner = spawn(fun() ->
                          {ok, S} = throng:start_link({native, switch}, [], []),
                          Many = throng:start_link_many({native, switch}, [[], []], []),
                          Self ! {sessions, [S | [X || {ok, X} <- Many]]},
                          receive stop -> ok end
                  end),
    Sessions = receive {sessions, L} -> L after ?T -> ct:fail(no_sessions) end,
    ?assertEqual(3, length(Sessions)),
    MRefs = [throng:monitor(S) || S <- Sessions],
    Owner ! stop,
    [receive {'DOWN', M, throng, _, R} -> ?assertEqual(shutdown, R) after ?T -> ct:fail(no_down) end
     || M <- MRefs].

%% A Rust panic in one session stops that session, as an error exception
%% `{panic, Msg}' in a callback module would (exit `{{panic, Msg}, []}':
%% no Erlang stack); its neighbours carry on.
panic_stops_only_that_session(_Config) ->
    {ok, A} = throng:start({native, counter}, 1, []),
    {ok, B} = throng:start({native, counter}, 2, []),
    MRef = throng:monitor(A),
    Reason = {{panic, <<"counter asked to crash at 1">>}, []},
    ?assertExit({Reason, {throng, call, [A, crash, infinity]}}, throng:call(A, crash)),
    receive {'DOWN', MRef, throng, A, R} -> ?assertEqual(Reason, R) after ?T -> ct:fail(no_down) end,
    ok = throng:cast(B, {add, 40}),
    ?assertEqual(42, throng:call(B, get)),
    ?assertEqual(ok, throng:call(B, {stop, {shutdown, bye}})).

machine_sends_to_pids(_Config) ->
    {ok, C} = throng:start_link({native, counter}, 5, []),
    Self = self(),
    Other = spawn_link(fun() -> receive M -> Self ! {got, M} end end),
    ok = throng:send(C, {notify, self()}),
    ok = throng:send(C, {notify, Other}),
    receive {counter, 5} -> ok after ?T -> ct:fail(no_notify) end,
    receive {got, {counter, 5}} -> ok after ?T -> ct:fail(no_notify_other) end.

%%% ------------------------------------------------------------ batches

start_many_and_cast_many(_Config) ->
    N = 3000,
    Results = throng:start_many({native, code_lock}, [{[1, 2, 3], 60000} || _ <- lists:seq(1, N)], []),
    Sessions = [S || {ok, S} <- Results],
    ?assertEqual(N, length(Sessions)),
    ?assertEqual(N, length(lists:usort(Sessions))),
    ok = throng:cast_many([{S, {button, D}} || D <- [1, 2], S <- Sessions]),
    ok = throng:cast_many([{S, {button, 3}} || S <- Sessions]),
    ?assertEqual([open], lists:usort([throng:call(S, state) || S <- Sessions])),
    ok = throng:send_many([{S, ignored} || S <- Sessions]),
    ok = throng:cast_many([]),
    [ok = throng:stop(S) || S <- Sessions],
    %% An event to a session that is gone is dropped, as by cast/2.
    ok = throng:cast_many([{hd(Sessions), {button, 1}}]).

cast_many_across_engines(Config) ->
    {ok, E2} = throng:start_engine(#{backend => ?config(backend, Config)}),
    try
        {ok, A} = throng:start({native, switch}, [], []),
        {ok, B} = throng:start({native, switch}, [], [{engine, E2}]),
        ok = throng:cast_many([{A, flip}, {B, flip}, {A, flip}, {A, flip}]),
        ?assertEqual({on, 2}, throng:get_state(A)),
        ?assertEqual({on, 1}, throng:get_state(B)),
        %% Names resolve; a list that is not all pairs is refused whole.
        {ok, C} = throng:start({native, switch}, [], [{name, cast_many_switch}]),
        ok = throng:cast_many([{A, flip}, {{name, cast_many_switch}, flip}, {C, flip}]),
        ?assertEqual({off, 1}, throng:get_state(C)),
        ?assertError(badarg, throng:cast_many([{A, flip}, {C, flip}, not_a_pair])),
        ?assertEqual({off, 2}, throng:get_state(A)),
        ?assertEqual({off, 1}, throng:get_state(C)),
        ok = throng:stop(C)
    after
        throng:stop_engine(E2)
    end.

cast_many_queue_full(Config) ->
    {ok, E} = throng:start_engine(#{backend => ?config(backend, Config), max_queue_len => 2}),
    try
        {ok, S} = throng:start({native, switch}, [], [{engine, E}]),
        {ok, T} = throng:start({native, switch}, [], [{engine, E}]),
        ok = throng:suspend(S),
        ?assertEqual({error, [{S, queue_full}, {S, queue_full}]},
                     throng:cast_many([{S, flip}, {T, flip}, {S, flip}, {S, flip}, {S, flip}])),
        ok = throng:resume(S),
        ?assertEqual({on, 1}, throng:get_state(T)),
        %% The two accepted flips were handled; nothing else was lost.
        ?assertEqual({off, 1}, throng:get_state(S))
    after
        throng:stop_engine(E)
    end.
