%%% @doc The port backend: an engine run by the `throng_port' program in its
%%% own OS process, owned by this process.
%%%
%%% `throng:start_engine(#{backend => port})' starts one under
%%% `throng_engine_sup'. The owner finds the program (option `program', else
%%% `priv/throng_port', else `$CARGO_TARGET_DIR/release/throng_port'), opens
%%% it with `open_port/2' (`{packet, 4}', `binary', `exit_status'), does the
%%% handshake of docs/port-protocol.md and then serves the engine's requests.
%%% The engine handle is `{throng_port, Owner}'.
%%%
%%% <h3>Requests</h3>
%%%
%%% A caller sends its operation to the owner and waits for the answer,
%%% monitoring the owner. The owner gives each request an id, writes it to
%%% the port without waiting for earlier answers (pipelining) and matches
%%% the answers, which the program sends in request order, by id. Process
%%% identifiers become the protocol's destinations here (the owner numbers
%%% the processes the program must reach and monitors them; `{dest_down, D}'
%%% when one dies). Every frame from the program is decoded with
%%% `binary_to_term(Bin, [safe])'.
%%%
%%% A caller always gets an answer:
%%%
%%% <ul>
%%% <li>the operation's result (the NIF's shapes), or `{error,
%%%   not_implemented}' for an operation the program does not serve yet;</li>
%%% <li>`{error, {engine_down, Reason}}' when the program died first
%%%   (`Reason' is `{exit_status, Status}', e.g. `{exit_status, 137}' after
%%%   `kill -9'), or when the owner is gone (its exit reason, `noproc' if it
%%%   was not running);</li>
%%% <li>`{error, timeout}' when the program did not answer within the
%%%   engine's `request_timeout' (the request may still run);</li>
%%% <li>`{error, {frame_too_large, Bytes, Max}}' for a request the program
%%%   would refuse for its size (it is not sent), `{error, {protocol,
%%%   Reason}}' for a request the program answered with an error frame.</li>
%%% </ul>
%%%
%%% <h3>Flow control</h3>
%%%
%%% At most `max_in_flight' requests are written and unanswered (the
%%% smaller of the option and what the program announces). A request beyond
%%% that waits in the owner, unwritten, until an answer frees a slot: the
%%% caller waits (backpressure), bounded by its `request_timeout'. Every
%%% waiting request has a caller blocked on it, so the owner holds at most
%%% one waiting request per calling process.
%%%
%%% <h3>Isolation</h3>
%%%
%%% When the program dies (a crash, `kill -9'), every request written or
%%% waiting is answered `{error, {engine_down, Reason}}', every process
%%% watching a session of that engine (a `throng:call/3' waiting for its
%%% reply, a `throng:monitor/1', a start waiting for `init/1') gets
%%% `{'DOWN', Tag, throng, Session, {engine_down, Reason}}' (a starter also
%%% `{Tag, {error, {engine_down, Reason}}}'), and the owner starts the
%%% program again with a new handshake. The sessions of the dead program
%%% are lost: the new engine is empty, and their session ids never come
%%% back to life there (the core's generations start afresh, so an old id
%%% may name a new session: a caller must not reuse sessions of a dead
%%% engine). At most 5 restarts in 10 seconds; then, or when the program
%%% refuses the protocol version (exit status 4), the owner stops with
%%% `{engine_down, Reason}' and the engine is gone.
%%%
%%% Private to Throng but for `request/2' and `info/1'.
-module(throng_port_engine).
-behaviour(gen_server).
-behaviour(throng_backend).

-export([start_link/1, request/2, info/1, find_program/1]).
-export([engine_stats/1, engine_counts/1, engine_stop/1, executor_take/3, executor_done/4]).
-export([session_start/6, session_init_result/4, session_raise/4, session_terminated/2,
         native_start/5, native_start_many/4, session_send_many/3,
         session_send/5, session_call/6, session_done/5, session_system/5, session_monitor/4,
         session_demonitor/4, session_abandon/4, session_kill/3, session_alive/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-include_lib("kernel/include/file.hrl").
-include_lib("kernel/include/logger.hrl").

-define(PROTOCOL, 1).
-define(PROGRAM, "throng_port").
-define(MAX_RESTARTS, 5).
-define(RESTART_PERIOD_MS, 10000).
-define(STOP_WAIT_MS, 5000).
%% Most operations in one frame the owner writes.
-define(BATCH_OPS, 64).
%% `{req, Id, _}' around an op, and `{batch, [...]}' around ops (the
%% program accepts all four atom encodings; OTP 25 writes ATOM_EXT).
-define(REQ_HEAD, <<131, 104, 3, 100, 3:16, "req">>).
-define(BATCH_HEAD, <<104, 2, 100, 5:16, "batch", 108>>).
%% Bytes of a frame beyond its ops: the heads, the id, the list's ends.
-define(REQ_OVERHEAD, 64).
%% Owner messages beyond which a cast waits for its answer.
-define(ASYNC_QUEUE, 1000).
%% Sessions started, or events sent, by one `native_start_many' or
%% `session_send_many' request (one frame).
-define(MANY, 10000).
-define(MAX_NATIVE_ATOMS, 10000).

-type handle() :: {throng_port, pid()}.
-type opts() :: #{backend => port, name => atom(), default => boolean(),
                  max_sessions => pos_integer(), max_queue_len => pos_integer(),
                  shards => 1..4096, max_in_flight => pos_integer(),
                  max_frame_bytes => pos_integer(), request_timeout => timeout(),
                  handshake_timeout => pos_integer(), program => file:filename_all(),
                  executors => pos_integer(), cast => sync | async}.
-type result() :: term().

-export_type([handle/0, opts/0]).

%% A request the owner has taken: who gets the answer, its time-out, and
%% the session watch it opens once accepted.
-record(caller, {to :: reference() | internal | async,
                 timer :: reference() | undefined,
                 watch = none :: none | {start, pid(), term()} | {native_start, pid(), term()}
                        | {monitor, pid(), term(), non_neg_integer()}
                               | {init_done, non_neg_integer()}}).

-record(st, {handle :: handle(),
             opts :: opts(),
             program :: file:filename_all(),
             port :: port() | undefined,
             os_pid :: non_neg_integer() | undefined,
             hello = #{} :: map(),
             max_in_flight :: pos_integer(),
             max_frame_bytes :: pos_integer(),
             request_timeout :: timeout(),
             next_id = 0 :: non_neg_integer(),
             callers = #{} :: #{non_neg_integer() => #caller{}},
             %% Ids written and unanswered, oldest first (the program
             %% answers in this order).
             %% (a frame: its id and the requests in it).
             inflight = queue:new() :: queue:queue({non_neg_integer(), [non_neg_integer()]}),
             n_inflight = 0 :: non_neg_integer(),
             %% Requests not written yet: {Id, Op encoded, alone in its frame}.
             waiting = queue:new() :: queue:queue({non_neg_integer(), binary(), boolean()}),
             %% Taking requests from the mailbox: write when done.
             pumping = false :: boolean(),
             %% The pids the program holds (destinations), monitored: the
             %% program hears `{dest_down, Pid}' when one dies.
             dests = #{} :: #{pid() => reference()},
             %% Who waits on a session of this engine: {Pid, Tag} => {Kind, Sid}.
             watches = #{} :: #{{pid(), term()} => {start | monitor, non_neg_integer()}},
             %% Starts whose init/1 has not been handed in: Sid => {Pid, Tag}.
             starts = #{} :: #{non_neg_integer() => {pid(), term()}},
             %% The executors, one per work queue of the program.
             executors = {} :: tuple(),
             %% Sessions' process monitors (throng:monitor_process/1).
             monitors = #{} :: #{reference() => throng:session()},
             %% Casts and sends (written without a caller waiting) that the
             %% program refused: the session's queue was full.
             refused = 0 :: non_neg_integer(),
             restarts = [] :: [integer()],
             stopping = false :: boolean()}).

%%% ------------------------------------------------------------ start

%% @doc Starts an engine owner and its program. Options (all optional):
%%
%% <ul>
%% <li>`max_sessions', `max_queue_len', `shards': the engine's limits, sent
%%     in the handshake (they may lower the program's, never raise them).</li>
%% <li>`max_in_flight' (the program's, 1024): requests written and
%%     unanswered; beyond it callers wait.</li>
%% <li>`max_frame_bytes' (the program's, 16 MiB): the largest frame.</li>
%% <li>`request_timeout' (5000 ms): longest wait for an answer.</li>
%% <li>`handshake_timeout' (5000 ms): longest wait for the program's hello.</li>
%% <li>`program': the `throng_port' executable to run.</li>
%% <li>`cast' (`sync'): `async' makes `throng:cast/2' and `throng:send/2'
%%     return without waiting for the program (see `session_send/5').</li>
%% <li>`executors' (2 per scheduler, as for NIF engines): processes that
%%     run callback-module callbacks; the program keeps one work queue per
%%     executor and rings it with `{ring, Ix}' when work arrives.</li>
%% <li>`name', `default', `backend' (`port'): as for NIF engines.</li>
%% </ul>
%%
%% Any other key gives `{error, {unknown_option, Key}}', a bad value
%% `{error, {badarg, {Key, Value}}}', a program that cannot be found
%% `{error, {program_not_found, Paths}}', a failed handshake `{error,
%% {handshake, Reason}}'.
-spec start_link(opts()) -> {ok, pid()} | {error, term()}.
start_link(Opts) when is_map(Opts) ->
    case check_opts(maps:to_list(Opts)) of
        ok ->
            case find_program(Opts) of
                {ok, Program} ->
                    case Opts of
                        #{name := Name} -> gen_server:start_link({local, Name}, ?MODULE, {Opts, Program}, []);
                        #{} -> gen_server:start_link(?MODULE, {Opts, Program}, [])
                    end;
                {error, _} = Error ->
                    Error
            end;
        {error, _} = Error ->
            Error
    end;
start_link(Opts) ->
    {error, {badarg, Opts}}.

check_opts([]) -> ok;
check_opts([{K, V} | T]) ->
    case check_opt(K, V) of
        ok -> check_opts(T);
        bad -> {error, {badarg, {K, V}}};
        unknown -> {error, {unknown_option, K}}
    end.

check_opt(backend, port) -> ok;
check_opt(cast, V) when V =:= sync; V =:= async -> ok;
check_opt(name, V) when is_atom(V) -> ok;
check_opt(default, V) when is_boolean(V) -> ok;
check_opt(K, V) when K =:= max_sessions; K =:= max_queue_len; K =:= max_in_flight; K =:= executors ->
    pos_int(V);
check_opt(max_frame_bytes, V) when is_integer(V), V > 0, V < 1 bsl 32 -> ok;
check_opt(shards, V) when is_integer(V), V >= 1, V =< 4096 -> ok;
check_opt(request_timeout, infinity) -> ok;
check_opt(request_timeout, V) -> pos_int(V);
check_opt(handshake_timeout, V) -> pos_int(V);
check_opt(program, V) when is_list(V); is_binary(V) ->
    try unicode:characters_to_list(V) of
        L when is_list(L), L =/= [] -> ok;
        _ -> bad
    catch
        _:_ -> bad
    end;
check_opt(K, _) when K =:= backend; K =:= name; K =:= default; K =:= max_frame_bytes; K =:= cast;
                     K =:= shards; K =:= program ->
    bad;
check_opt(_, _) ->
    unknown.

pos_int(V) when is_integer(V), V > 0 -> ok;
pos_int(_) -> bad.

%% @doc The `throng_port' program an engine with these options runs: the
%% option `program' if given, else `throng_port' in the `throng'
%% application's `priv' directory (where scripts/build_native.sh installs
%% it), else in `$CARGO_TARGET_DIR/release' (a `cargo build --release -p
%% throng_port'). `{error, {program_not_found, Paths}}' lists where it
%% looked.
-spec find_program(map()) -> {ok, file:filename_all()} | {error, {program_not_found, [file:filename_all()]}}.
find_program(#{program := Path}) ->
    first_executable([Path]);
find_program(_) ->
    Target = case os:getenv("CARGO_TARGET_DIR") of
                 false -> [];
                 "" -> [];
                 Dir -> [filename:join([Dir, "release", ?PROGRAM])]
             end,
    first_executable([filename:join(priv_dir(), ?PROGRAM) | Target]).

first_executable(Paths) ->
    case [P || P <- Paths, is_executable(P)] of
        [P | _] -> {ok, P};
        [] -> {error, {program_not_found, Paths}}
    end.

is_executable(Path) ->
    case file:read_file_info(Path) of
        {ok, #file_info{type = regular, mode = Mode}} -> Mode band 8#111 =/= 0;
        _ -> false
    end.

priv_dir() ->
    case code:priv_dir(throng) of
        {error, bad_name} ->
            Ebin = filename:dirname(code:which(?MODULE)),
            filename:join(filename:dirname(Ebin), "priv");
        Dir ->
            Dir
    end.

%%% ------------------------------------------------------------ requests

%% @doc Sends operation `Op' (docs/port-protocol.md, "Operations", with
%% pids where the protocol has destinations: the NIF's arguments) to the
%% engine's program and returns its result, or an error as listed in the
%% module documentation. `ping', `{echo, Term}', `stats' and `{batch,
%% Ops}' are the port's own.
-spec request(handle(), term()) -> result().
request({throng_port, Owner}, Op) ->
    MRef = erlang:monitor(process, Owner, [{alias, reply_demonitor}]),
    Owner ! {'$throng_req', MRef, Op},
    receive
        {MRef, Result} ->
            Result;
        {'DOWN', MRef, process, _, Reason} ->
            {error, {engine_down, Reason}}
    end.

%% @doc What the owner knows of its program: `#{os_pid, port, hello (the
%% program's hello reply), restarts (in the last 10 s), in_flight
%% (requests written and unanswered), frames_in_flight (the frames they
%% went in, at most max_in_flight), waiting (requests not written yet),
%% max_in_flight, destinations, watches, executors, refused}'.
-spec info(handle()) -> #{atom() => term()}.
info({throng_port, Owner}) ->
    gen_server:call(Owner, info).

%%% ------------------------------------------------------------ backend

%% @doc The `stats' op: the NIF's figures plus `frames_in', `bad_frames'.
-spec engine_stats(handle()) -> #{atom() => non_neg_integer()} | throng_backend:error().
engine_stats(E) -> request(E, stats).

%% @doc The `counts' op: live sessions and time-outs held.
-spec engine_counts(handle()) -> #{sessions := non_neg_integer(), timers := non_neg_integer()} | throng_backend:error().
engine_counts(E) -> request(E, counts).

%% @doc The `engine_stop' op: the program exits (status 0) and the owner
%% stops without restarting it.
-spec engine_stop(handle()) -> ok | throng_backend:error().
engine_stop(E) -> request(E, engine_stop).

%% @doc See `throng_backend'.
-spec executor_take(handle(), non_neg_integer(), pos_integer()) ->
          [{throng_backend:sid(), throng_backend:work()}] | throng_backend:error().
executor_take(E, Ix, Max) -> request(E, {executor_take, Ix, Max}).

%% @doc See `throng_backend'.
-spec executor_done(handle(), non_neg_integer(), [{throng_backend:sid(), term(), throng_backend:modes()}],
                    pos_integer()) ->
          {ok, [{throng_backend:sid(), throng_backend:work()}]}
          | {busy, [{throng_backend:sid(), term(), throng_backend:modes()}]} | throng_backend:error().
executor_done(E, Ix, Results, Max) -> request(E, {executor_done, Ix, Results, Max}).

%% @doc See `throng_backend'.
-spec session_start(handle(), module(), term(), pid(), term(), pid() | undefined) ->
          {ok, throng_backend:sid()} | throng_backend:error().
session_start(E, Module, Args, Pid, Tag, Owner) -> request(E, {session_start, Module, Args, Pid, Tag, Owner}).

%% @doc See `throng_backend'.
-spec native_start(handle(), atom(), term(), pid() | undefined, {pid(), term()} | undefined) ->
          {ok, throng_backend:sid()} | ignore | {error, term()}.
native_start(E, Name, Args, Owner, Watcher) -> request(E, {native_start, Name, Args, Owner, Watcher}).

%% @doc See `throng_backend'. Up to `?MANY' sessions a request (one frame);
%% `Rest' is what is left.
-spec native_start_many(handle(), atom(), [term()], pid() | undefined) ->
          {[{ok, throng_backend:sid()} | ignore | {error, term()}], [term()]} | {error, term()}.
native_start_many(E, Name, ArgsList, Owner) ->
    {Now, Rest} = split_many(ArgsList),
    case request(E, {native_start_many, Name, Now, Owner}) of
        Results when is_list(Results) -> {Results, Rest};
        Error -> Error
    end.

%% @doc See `throng_backend'. Up to `?MANY' events a request (one frame);
%% `Rest' is what is left.
-spec session_send_many(handle(), cast | info, [throng_backend:item()]) ->
          {[{throng_backend:sid(), atom()}], [throng_backend:item()]} | throng_backend:error().
session_send_many(E, Kind, Items) ->
    {Now, Rest} = take_events(Items, ?MANY, []),
    case request(E, {session_send_many, Kind, Now}) of
        Refused when is_list(Refused) -> {Refused, Rest};
        Error -> Error
    end.

%% Up to `N' events as the frame carries them, `{Sid, Msg}' (throng's
%% `cast_many/1' may pass `{{throng, E, Sid}, Msg}'), and the rest.
take_events(Rest, 0, Acc) ->
    {lists:reverse(Acc), Rest};
take_events([{{throng, _, Sid}, Msg} | T], N, Acc) ->
    take_events(T, N - 1, [{Sid, Msg} | Acc]);
take_events([Item | T], N, Acc) ->
    take_events(T, N - 1, [Item | Acc]);
take_events([], _N, Acc) ->
    {lists:reverse(Acc), []}.

split_many(List) ->
    try lists:split(?MANY, List)
    catch error:badarg -> {List, []}
    end.

%% @doc See `throng_backend'.
-spec session_init_result(handle(), throng_backend:sid(), term(), throng_backend:modes()) ->
          {ok, term()} | ignore | {error, term()} | gone.
session_init_result(E, Sid, Result, Modes) -> request(E, {session_init_result, Sid, Result, Modes}).

%% @doc See `throng_backend'.
-spec session_raise(handle(), throng_backend:sid(), init | callback | terminate, term()) -> term().
session_raise(E, Sid, Kind, Reason) -> request(E, {session_raise, Sid, Kind, Reason}).

%% @doc See `throng_backend'.
-spec session_terminated(handle(), throng_backend:sid()) -> map() | throng_backend:error().
session_terminated(E, Sid) -> request(E, {session_terminated, Sid}).

%% @doc See `throng_backend'. With the engine option `cast => sync' (the
%% default) a cast or an info message waits for the program's answer and
%% gives the NIF's results, `{error, queue_full}' included. With `cast =>
%% async' it does not wait (as `gen_statem:cast/2' does not wait for the
%% server): it is handed to the owner, which writes it in order with the
%% caller's other requests, and `ok' is returned at once; one the program
%% refuses because the session's queue is full is dropped and counted
%% (`refused' in `info/1'). While the owner has `?ASYNC_QUEUE' or more
%% messages waiting, an async cast waits for its answer like a sync one
%% (backpressure).
-spec session_send(handle(), throng_backend:sid(), cast | info, term(), boolean()) ->
          ok | {run, throng_backend:work()} | throng_backend:error().
session_send({throng_port, Owner} = E, Sid, Kind, Msg, _Inline) ->
    Op = {session_send, Sid, Kind, Msg, false},
    case persistent_term:get({?MODULE, async, Owner}, false) andalso
         erlang:process_info(Owner, message_queue_len) of
        {message_queue_len, N} when N < ?ASYNC_QUEUE ->
            Owner ! {'$throng_req', async, Op},
            ok;
        undefined ->
            {error, {engine_down, noproc}};
        _ ->
            request(E, Op)
    end.

%% @doc See `throng_backend'.
-spec session_call(handle(), throng_backend:sid(), pid(), term(), term(), boolean()) ->
          ok | {run, throng_backend:work()} | throng_backend:error().
session_call(E, Sid, Pid, Tag, Req, Inline) -> request(E, {session_call, Sid, Pid, Tag, Req, Inline}).

%% @doc See `throng_backend'.
-spec session_done(handle(), throng_backend:sid(), term(), throng_backend:modes(), boolean()) ->
          ok | {run, throng_backend:work()} | throng_backend:error().
session_done(E, Sid, Result, Modes, Inline) -> request(E, {session_done, Sid, Result, Modes, Inline}).

%% @doc See `throng_backend'.
-spec session_system(handle(), throng_backend:sid(), term(), pid(), term()) -> ok | throng_backend:error().
session_system(E, Sid, Req, Pid, Tag) -> request(E, {session_system, Sid, Req, Pid, Tag}).

%% @doc See `throng_backend'.
-spec session_monitor(handle(), throng_backend:sid(), pid(), term()) -> ok | throng_backend:error().
session_monitor(E, Sid, Pid, Tag) -> request(E, {session_monitor, Sid, Pid, Tag}).

%% @doc See `throng_backend'.
-spec session_demonitor(handle(), throng_backend:sid(), pid(), term()) -> boolean() | throng_backend:error().
session_demonitor(E, Sid, Pid, Tag) -> request(E, {session_demonitor, Sid, Pid, Tag}).

%% @doc See `throng_backend'.
-spec session_abandon(handle(), throng_backend:sid(), pid(), term()) -> ok | throng_backend:error().
session_abandon(E, Sid, Pid, Tag) -> request(E, {session_abandon, Sid, Pid, Tag}).

%% @doc See `throng_backend'.
-spec session_kill(handle(), throng_backend:sid(), term()) -> ok | throng_backend:error().
session_kill(E, Sid, Reason) -> request(E, {session_kill, Sid, Reason}).

%% @doc See `throng_backend'.
-spec session_alive(handle(), throng_backend:sid()) -> boolean() | throng_backend:error().
session_alive(E, Sid) -> request(E, {session_alive, Sid}).

%%% ------------------------------------------------------------ gen_server

%% @private
-spec init({opts(), file:filename_all()}) -> {ok, #st{}} | {stop, term()}.
init({Opts, Program}) ->
    process_flag(trap_exit, true),
    _ = known_atoms(),
    Handle = {throng_port, self()},
    N = maps:get(executors, Opts, 2 * erlang:system_info(schedulers_online)),
    Execs = list_to_tuple([spawn_executor(Handle, Ix) || Ix <- lists:seq(0, N - 1)]),
    St0 = #st{handle = Handle, opts = Opts#{executors => N}, program = Program,
              max_in_flight = 1, max_frame_bytes = 1, executors = Execs,
              request_timeout = maps:get(request_timeout, Opts, 5000)},
    maps:get(cast, Opts, sync) =:= async andalso persistent_term:put({?MODULE, async, self()}, true),
    case open(St0) of
        {ok, St} ->
            maps:get(default, Opts, false) andalso persistent_term:put({throng, default_engine}, Handle),
            {ok, St};
        {error, Reason} ->
            {stop, Reason}
    end.

%% The executor of the program's work queue `Ix' (0-based).
spawn_executor(Handle, Ix) ->
    {ok, Pid} = throng_executor:start_link(Handle, Ix),
    Pid.

%% @private
-spec handle_call(term(), gen_server:from(), #st{}) -> {reply, term(), #st{}}.
handle_call(engine, _From, #st{handle = H} = St) ->
    {reply, H, St};
handle_call(info, _From, St) ->
    {reply, #{os_pid => St#st.os_pid, port => St#st.port, hello => St#st.hello,
              restarts => length(St#st.restarts), frames_in_flight => St#st.n_inflight,
              in_flight => lists:sum([length(Ids) || {_, Ids} <- queue:to_list(St#st.inflight)]),
              waiting => queue:len(St#st.waiting), max_in_flight => St#st.max_in_flight,
              destinations => map_size(St#st.dests), watches => map_size(St#st.watches),
              executors => tuple_to_list(St#st.executors), refused => St#st.refused}, St};
handle_call({monitor_process, S, Pid}, _From, #st{monitors = Mons} = St) ->
    MRef = erlang:monitor(process, Pid),
    {reply, MRef, St#st{monitors = Mons#{MRef => S}}};
handle_call(_Req, _From, St) ->
    {reply, {error, badarg}, St}.

%% @private
-spec handle_cast(term(), #st{}) -> {noreply, #st{}}.
handle_cast(_Msg, St) ->
    {noreply, St}.

%% @private
-spec handle_info(term(), #st{}) -> {noreply, #st{}} | {stop, term(), #st{}}.
handle_info({'$throng_req', To, Op}, St) ->
    %% The requests already waiting in the mailbox join this one in the
    %% frame written next.
    {noreply, pump(more(take(To, Op, St#st{pumping = true}), ?BATCH_OPS - 1))};
handle_info({Port, {data, Bin}}, #st{port = Port} = St) ->
    try binary_to_term(Bin, [safe]) of
        Frame -> frame(Frame, St)
    catch
        error:badarg ->
            ?LOG_ERROR(#{what => throng_port_bad_frame, bytes => byte_size(Bin)}),
            {noreply, St}
    end;
handle_info({Port, {exit_status, Status}}, #st{port = Port} = St) ->
    program_down({exit_status, Status}, St);
handle_info({'EXIT', Port, Reason}, #st{port = Port} = St) ->
    program_down(Reason, St);
handle_info({'EXIT', Pid, Reason}, #st{executors = Execs, handle = H} = St) when is_pid(Pid) ->
    %% An executor died (killed: callbacks run inside try): a new one
    %% serves its queue, and the sessions whose callbacks it held end with
    %% its exit reason (as throng_engine does for NIF engines).
    case index_of(Pid, tuple_to_list(Execs), 0) of
        none ->
            {noreply, St};
        Ix ->
            New = spawn_executor(H, Ix),
            St1 = St#st{executors = setelement(Ix + 1, Execs, New)},
            {noreply, internal({executor_replaced, Ix, Reason}, St1)}
    end;
handle_info({timeout, TRef, {'$throng_req_timeout', Id}}, #st{callers = Callers} = St) ->
    case Callers of
        #{Id := #caller{timer = TRef} = C} ->
            reply(C, {error, timeout}),
            {noreply, St#st{callers = maps:remove(Id, Callers)}};
        #{} ->
            {noreply, St}
    end;
handle_info({'DOWN', MRef, process, Pid, Reason}, St) ->
    case St#st.dests of
        #{Pid := MRef} ->
            {noreply, dest_down(Pid, St)};
        #{} ->
            case maps:take(MRef, St#st.monitors) of
                {S, Mons} ->
                    St1 = relay(S, {'DOWN', MRef, process, Pid, Reason}, St#st{monitors = Mons}),
                    {noreply, St1};
                error ->
                    {noreply, St}
            end
    end;
%% The relay of throng:start_timer/2 (see throng_engine).
handle_info({timeout, Ref, {'$throng_timer', S, Msg}}, St) ->
    {noreply, relay(S, {timeout, Ref, Msg}, St)};
handle_info(_Info, St) ->
    %% Messages of an earlier program's port, stray messages.
    {noreply, St}.

%% @private
-spec terminate(term(), #st{}) -> ok.
terminate(Reason, #st{handle = H} = St) ->
    _ = persistent_term:erase({?MODULE, async, self()}),
    persistent_term:get({throng, default_engine}, undefined) =:= H
        andalso persistent_term:erase({throng, default_engine}),
    St1 = case St#st.port of
              undefined -> St;
              Port ->
                  _ = stop_program(Port, St),
                  St#st{port = undefined}
          end,
    _ = fail_all({engine_down, stopped(Reason)}, St1),
    %% Linked, but a normal stop does not take them down.
    _ = [exit(P, shutdown) || P <- tuple_to_list(St#st.executors)],
    ok.

stopped(normal) -> stopped;
stopped(shutdown) -> stopped;
stopped(Reason) -> Reason.

index_of(_, [], _) -> none;
index_of(X, [X | _], I) -> I;
index_of(X, [_ | T], I) -> index_of(X, T, I + 1).

%%% ------------------------------------------------------------ the program

%% Opens the program and does the handshake.
open(#st{program = Program, opts = Opts} = St) ->
    Args = lists:append([["--max-frame-bytes", integer_to_list(N)] || #{max_frame_bytes := N} <- [Opts]]
                        ++ [["--max-in-flight", integer_to_list(N)] || #{max_in_flight := N} <- [Opts]]),
    %% The program's clock reads erlang:monotonic_time/0 (absolute time-outs).
    Hello = (maps:with([max_sessions, max_queue_len, shards, executors], Opts))#{
              now_ns => erlang:monotonic_time(nanosecond)},
    Timeout = maps:get(handshake_timeout, Opts, 5000),
    try open_port({spawn_executable, Program},
                  [{packet, 4}, binary, exit_status, use_stdio, {args, Args}]) of
        Port ->
            catch port_command(Port, term_to_binary({hello, ?PROTOCOL, Hello})),
            receive
                {Port, {data, Bin}} ->
                    case decode(Bin) of
                        {hello, ?PROTOCOL, #{max_in_flight := MaxIn, max_frame_bytes := MaxFrame} = Info} ->
                            native_atoms(Info),
                            {os_pid, OsPid} = erlang:port_info(Port, os_pid),
                            {ok, St#st{port = Port, os_pid = OsPid, hello = Info,
                                       max_in_flight = MaxIn, max_frame_bytes = MaxFrame}};
                        {error, undefined, Why} ->
                            close(Port),
                            {error, {handshake, Why}};
                        Other ->
                            close(Port),
                            {error, {handshake, {bad_reply, Other}}}
                    end;
                {Port, {exit_status, Status}} ->
                    {error, {handshake, {exit_status, Status}}}
            after Timeout ->
                close(Port),
                {error, {handshake, timeout}}
            end
    catch
        error:Why ->
            {error, {open_port, Why, Program}}
    end.

decode(Bin) ->
    try binary_to_term(Bin, [safe])
    catch error:badarg -> bad_frame
    end.

close(Port) ->
    catch port_close(Port),
    receive {'EXIT', Port, _} -> ok after 0 -> ok end.

%% On stop: engine_stop, then the program's exit; if it does not exit in
%% time, the port is closed (its stdin ends) and, if need be, it is killed.
stop_program(Port, #st{os_pid = OsPid, next_id = Id}) ->
    catch port_command(Port, term_to_binary({req, Id, engine_stop})),
    receive
        {Port, {exit_status, Status}} -> Status
    after ?STOP_WAIT_MS ->
        close(Port),
        _ = os:cmd("kill -9 " ++ integer_to_list(OsPid)),
        killed
    end.

%% The program died: every caller and watcher learns it, then a new
%% program starts (unless the engine was being stopped, the program spoke
%% another protocol version, or it died too often).
program_down(Reason, #st{port = Port} = St0) ->
    close(Port),
    St = fail_all({engine_down, Reason}, St0#st{port = undefined, os_pid = undefined}),
    Now = erlang:monotonic_time(millisecond),
    Recent = [T || T <- St#st.restarts, Now - T < ?RESTART_PERIOD_MS],
    if
        St#st.stopping ->
            {stop, normal, St};
        Reason =:= {exit_status, 4} ->
            {stop, {engine_down, version_mismatch}, St};
        length(Recent) >= ?MAX_RESTARTS ->
            ?LOG_ERROR(#{what => throng_port_down, reason => Reason, restarts => length(Recent)}),
            {stop, {engine_down, Reason}, St};
        true ->
            ?LOG_WARNING(#{what => throng_port_restart, reason => Reason, program => St#st.program}),
            case open(St#st{restarts = [Now | Recent]}) of
                {ok, St1} -> {noreply, St1};
                {error, Why} -> {stop, {engine_down, Why}, St}
            end
    end.

%% Answers every request with `Error', tells every watcher its session is
%% gone, forgets the destinations.
fail_all(Error, #st{callers = Callers, watches = Watches, dests = Dests, handle = H} = St) ->
    _ = maps:fold(fun(_Id, C, ok) -> cancel(C), reply(C, {error, Error}), ok end, ok, Callers),
    _ = maps:fold(fun({Pid, Tag}, {Kind, Sid}, ok) ->
                          Kind =:= start andalso (Pid ! {Tag, {error, Error}}),
                          Pid ! {'DOWN', Tag, throng, {throng, H, Sid}, Error},
                          ok
                  end, ok, Watches),
    _ = maps:fold(fun(_Pid, MRef, ok) -> erlang:demonitor(MRef, [flush]), ok end, ok, Dests),
    St#st{callers = #{}, inflight = queue:new(), n_inflight = 0, waiting = queue:new(), watches = #{},
          dests = #{}, starts = #{}}.

%%% ------------------------------------------------------------ requests

%% A caller's operation: numbered, timed, written (or queued).
take(To, _Op, #st{port = undefined} = St) ->
    reply(#caller{to = To}, {error, {engine_down, no_program}}),
    St;
take(To, Op, St0) ->
    {WireOp, Watch, St1} = wire(Op, St0),
    St = St1#st{stopping = St1#st.stopping orelse Op =:= engine_stop},
    Id = St#st.next_id,
    OpBin = enc(WireOp),
    C = #caller{to = To, watch = Watch},
    case byte_size(OpBin) + ?REQ_OVERHEAD of
        Size when Size > St#st.max_frame_bytes ->
            reply(C, {error, {frame_too_large, Size, St#st.max_frame_bytes}}),
            St;
        _ ->
            Timer = case {To, St#st.request_timeout} of
                        {internal, _} -> undefined;
                        {async, _} -> undefined;
                        {_, infinity} -> undefined;
                        {_, T} -> erlang:start_timer(T, self(), {'$throng_req_timeout', Id})
                    end,
            St2 = St#st{next_id = Id + 1, callers = (St#st.callers)#{Id => C#caller{timer = Timer}},
                        waiting = queue:in({Id, OpBin, Op =:= engine_stop}, St#st.waiting)},
            case St2#st.pumping of
                true -> St2;
                false -> pump(St2)
            end
    end.

%% `T' encoded, without the version byte.
enc(T) ->
    <<131, B/binary>> = term_to_binary(T),
    B.

%% Writes waiting requests while fewer than max_in_flight frames are
%% unanswered: the requests waiting at that moment go in one frame (a
%% `batch' of up to ?BATCH_OPS operations, within max_frame_bytes), so a
%% burst of requests from many callers costs the owner and the program
%% one write, one read and one answer. A request whose caller timed out
%% meanwhile is dropped unwritten.
pump(#st{waiting = W, inflight = In, n_inflight = N, max_in_flight = Max, port = Port} = St) ->
    case N < Max andalso chunk(W, St#st.callers, St#st.max_frame_bytes - ?REQ_OVERHEAD, ?BATCH_OPS, []) of
        {[], _} ->
            St;
        {[{Id, OpBin}], W1} ->
            write(Port, [?REQ_HEAD, enc(Id), OpBin]),
            pump(St#st{waiting = W1, inflight = queue:in({Id, [Id]}, In), n_inflight = N + 1});
        {[{Id, _} | _] = Ops, W1} ->
            Frame = [?REQ_HEAD, enc(Id), ?BATCH_HEAD, <<(length(Ops)):32>>, [B || {_, B} <- Ops], 106],
            write(Port, Frame),
            pump(St#st{waiting = W1, inflight = queue:in({Id, [I || {I, _} <- Ops]}, In),
                       n_inflight = N + 1});
        false ->
            St
    end.

%% The waiting requests for one frame: up to `Count' in `Bytes'; one
%% marked solo (engine_stop) goes alone.
chunk(W, Callers, Bytes, Count, Acc) ->
    case Count > 0 andalso queue:peek(W) of
        {value, {Id, _, _}} when not is_map_key(Id, Callers) ->
            chunk(queue:drop(W), Callers, Bytes, Count, Acc);
        {value, {Id, OpBin, true}} when Acc =:= [] ->
            {[{Id, OpBin}], queue:drop(W)};
        {value, {_, _, true}} ->
            {lists:reverse(Acc), W};
        {value, {Id, OpBin, false}} when Acc =:= []; byte_size(OpBin) =< Bytes ->
            chunk(queue:drop(W), Callers, Bytes - byte_size(OpBin), Count - 1, [{Id, OpBin} | Acc]);
        _ ->
            {lists:reverse(Acc), W}
    end.

write(Port, Frame) ->
    %% A dead program's port refuses the write; its exit_status message
    %% follows and answers the requests.
    try port_command(Port, Frame) catch error:badarg -> ok end.

%% Takes up to `N' more requests from the mailbox, without waiting.
more(St, 0) ->
    St#st{pumping = false};
more(St, N) ->
    receive
        {'$throng_req', To, Op} -> more(take(To, Op, St), N - 1)
    after 0 ->
        St#st{pumping = false}
    end.

%% Internal requests (relays, dest_down) have no caller waiting.
internal(Op, St) ->
    take(internal, Op, St).

%% A request's wire form (the pids in it become destinations: monitored,
%% so the program hears when they die) and the watch it opens (a From the
%% engine will answer or send DOWN to).
wire({session_start, Module, Args, Pid, Tag, Owner}, St0) ->
    {D, St1} = dest(Pid, St0),
    {O, St} = case Owner of
                  undefined -> {undefined, St1};
                  _ -> dest(Owner, St1)
              end,
    {{session_start, Module, Args, {D, Tag}, O}, {start, Pid, Tag}, St};
wire({native_start, Name, Args, Owner, Watcher}, St0) ->
    {O, St1} = opt_dest(Owner, St0),
    case Watcher of
        {Pid, Tag} ->
            {D, St} = dest(Pid, St1),
            {{native_start, Name, Args, O, {D, Tag}}, {native_start, Pid, Tag}, St};
        _ ->
            {{native_start, Name, Args, O, Watcher}, none, St1}
    end;
wire({native_start_many, Name, ArgsList, Owner}, St0) ->
    {O, St} = opt_dest(Owner, St0),
    {{native_start_many, Name, ArgsList, O}, none, St};
wire({session_call, Sid, Pid, Tag, Req, Inline}, St0) ->
    {D, St} = dest(Pid, St0),
    {{session_call, Sid, {D, Tag}, Req, Inline}, {monitor, Pid, Tag, Sid}, St};
wire({session_system, Sid, Req, Pid, Tag}, St0) ->
    {D, St} = dest(Pid, St0),
    {{session_system, Sid, Req, {D, Tag}}, {monitor, Pid, Tag, Sid}, St};
wire({session_monitor, Sid, Pid, Tag}, St0) ->
    {D, St} = dest(Pid, St0),
    {{session_monitor, Sid, {D, Tag}}, {monitor, Pid, Tag, Sid}, St};
wire({Unwatch, Sid, Pid, Tag}, St0) when Unwatch =:= session_demonitor; Unwatch =:= session_abandon ->
    {D, St} = dest(Pid, St0),
    {{Unwatch, Sid, {D, Tag}}, none, St#st{watches = maps:remove({Pid, Tag}, St#st.watches)}};
wire({session_init_result, Sid, _, _} = Op, St) ->
    {Op, {init_done, Sid}, St};
wire({session_raise, Sid, init, _} = Op, St) ->
    {Op, {init_done, Sid}, St};
wire(Op, St) ->
    {Op, none, St}.

opt_dest(undefined, St) -> {undefined, St};
opt_dest(Pid, St) -> dest(Pid, St).

dest(Pid, #st{dests = Dests} = St) when is_pid(Pid) ->
    case Dests of
        #{Pid := _} -> {Pid, St};
        #{} -> {Pid, St#st{dests = Dests#{Pid => erlang:monitor(process, Pid)}}}
    end;
dest(Other, St) ->
    %% Not a pid: the program answers {badarg, Op}.
    {Other, St}.

dest_down(Pid, St) ->
    Watches = maps:filter(fun({P, _}, _) -> P =/= Pid end, St#st.watches),
    Starts = maps:filter(fun(_, {P, _}) -> P =/= Pid end, St#st.starts),
    internal({dest_down, Pid}, St#st{dests = maps:remove(Pid, St#st.dests), watches = Watches,
                                     starts = Starts}).

%% What would reach a gen_statem's mailbox goes to the session as info
%% (without waiting for the answer: the owner must not call itself).
relay({throng, _, Sid}, Msg, St) ->
    internal({session_send, Sid, info, Msg, false}, St).

%%% ------------------------------------------------------------ frames

frame({rep, Id, Result}, St) ->
    answered(Id, Result, St);
frame({error, Id, Reason}, St) when is_integer(Id) ->
    answered(Id, {error, {protocol, Reason}}, St);
frame({error, undefined, Reason}, #st{inflight = In} = St) ->
    %% An answer to a frame the program could not read (every frame is
    %% answered once, in order): the oldest unanswered one.
    case queue:peek(In) of
        {value, {Id, _}} -> answered(Id, {error, {protocol, Reason}}, St);
        empty -> ?LOG_WARNING(#{what => throng_port_error_frame, reason => Reason}), {noreply, St}
    end;
frame({reply, Pid, Tag, Reply}, St) when is_pid(Pid) ->
    Pid ! {Tag, Reply},
    {noreply, St};
frame({down, Pid, Tag, Sid, Reason}, #st{handle = H} = St) when is_pid(Pid) ->
    Pid ! {'DOWN', Tag, throng, {throng, H, Sid}, Reason},
    {noreply, St#st{watches = maps:remove({Pid, Tag}, St#st.watches)}};
frame({send, Pid, Msg}, St) when is_pid(Pid) ->
    Pid ! Msg,
    {noreply, St};
frame({work, Ix, Items}, #st{executors = Execs} = St) when is_integer(Ix), Ix >= 0, Ix < tuple_size(Execs) ->
    element(Ix + 1, Execs) ! {'$throng_work', Items},
    {noreply, St};
frame(Other, St) ->
    ?LOG_WARNING(#{what => throng_port_unknown_frame, frame => Other}),
    {noreply, St}.

%% The program answered request `Id', which must be the oldest unanswered.
answered(Id, Result, #st{inflight = In} = St) ->
    case queue:out(In) of
        {{value, {Id, [Id]}}, In1} ->
            St1 = answer(Id, Result, St),
            {noreply, pump(St1#st{inflight = In1, n_inflight = St1#st.n_inflight - 1})};
        {{value, {Id, Ids}}, In1} when is_list(Result), length(Result) =:= length(Ids) ->
            St1 = lists:foldl(fun({I, R}, S) -> answer(I, R, S) end, St, lists:zip(Ids, Result)),
            {noreply, pump(St1#st{inflight = In1, n_inflight = St1#st.n_inflight - 1})};
        {{value, {Id, Ids}}, In1} when element(1, Result) =:= error ->
            %% The batch frame was refused as a whole.
            St1 = lists:foldl(fun(I, S) -> answer(I, Result, S) end, St, Ids),
            {noreply, pump(St1#st{inflight = In1, n_inflight = St1#st.n_inflight - 1})};
        _ ->
            %% Answers out of order: the program and the owner disagree on
            %% what was asked; nothing it says can be trusted.
            ?LOG_ERROR(#{what => throng_port_out_of_order, id => Id}),
            catch port_close(St#st.port),
            program_down({protocol_error, {unexpected_answer, Id}}, St)
    end.

%% Request `Id''s caller gets its result.
answer(Id, Result, #st{callers = Callers} = St) ->
    case maps:take(Id, Callers) of
        {#caller{to = async}, Callers1} when Result =:= {error, queue_full} ->
            St#st{callers = Callers1, refused = St#st.refused + 1};
        {C, Callers1} ->
            cancel(C),
            reply(C, session_outcome(C, Result, St)),
            watch(C, Result, St#st{callers = Callers1});
        error ->
            St
    end.

%% An accepted request with a From: the caller now waits on the session.
%% A starter waits for its init/1 outcome (which its executor sends it)
%% until the outcome is handed in; then it only monitors the session.
watch(#caller{watch = {start, Pid, Tag}}, {ok, Sid}, St) ->
    St#st{watches = (St#st.watches)#{{Pid, Tag} => {start, Sid}},
          starts = (St#st.starts)#{Sid => {Pid, Tag}}};
watch(#caller{watch = {init_done, Sid}}, Result, #st{starts = Starts, watches = W} = St) when Result =/= gone ->
    case maps:take(Sid, Starts) of
        {Key, Starts1} when is_map_key(Key, W) ->
            St#st{starts = Starts1, watches = W#{Key := {monitor, Sid}}};
        {_, Starts1} ->
            St#st{starts = Starts1};
        error ->
            St
    end;
watch(#caller{watch = {native_start, Pid, Tag}}, {ok, Sid}, St) ->
    St#st{watches = (St#st.watches)#{{Pid, Tag} => {monitor, Sid}}};
watch(#caller{watch = {monitor, Pid, Tag, Sid}}, Result, St) when Result =:= ok; element(1, Result) =:= run ->
    St#st{watches = (St#st.watches)#{{Pid, Tag} => {monitor, Sid}}};
watch(_, _, St) ->
    St.

%% init/1's outcome names the session `{ok, Sid}' in the protocol; the
%% NIF's (and gen_statem's) shape is `{ok, Session}'.
session_outcome(#caller{watch = {init_done, _}}, {ok, Sid}, #st{handle = H}) when is_integer(Sid) ->
    {ok, {throng, H, Sid}};
session_outcome(_, Result, _) ->
    Result.

reply(#caller{to = internal}, _) -> ok;
reply(#caller{to = async}, _) -> ok;
reply(#caller{to = Alias}, Result) -> Alias ! {Alias, Result}, ok.

cancel(#caller{timer = undefined}) -> ok;
cancel(#caller{timer = T}) -> _ = erlang:cancel_timer(T, [{async, true}, {info, false}]), ok.

%% The atoms of the program's native machines (its hello lists them, at
%% most ?MAX_NATIVE_ATOMS): they exist before a frame holding one is
%% decoded with `[safe]'. The program is the engine's own binary, and the
%% list is bounded.
native_atoms(#{<<"native_atoms">> := Names}) when is_list(Names), length(Names) =< ?MAX_NATIVE_ATOMS ->
    _ = [binary_to_atom(N, utf8) || N <- Names, is_binary(N), byte_size(N) =< 255],
    ok;
native_atoms(_) ->
    ok.

%% The atoms the program writes (docs/port-protocol.md): they exist once
%% this module is loaded, so `binary_to_term(_, [safe])' accepts its frames.
known_atoms() ->
    [hello, req, rep, error, reply, down, send, ring, pong, ok, true, false, undefined,
     protocol, version, machine, max_frame_bytes, max_sessions, max_queue_len, max_in_flight,
     max_depth, max_terms, sessions, queued_events, timers, table_bytes, memory,
     executor_queue, inline_runs, frames_in, bad_frames, not_implemented, noproc, queue_full,
     too_many_sessions, not_waiting, badarg, busy, run, gone, frame_too_large, bad_etf,
     truncated, trailing_bytes, unsupported_tag, too_deep, too_many_terms, bad_bit_binary,
     atom_too_long, invalid, bad_frame, unknown_op, hello_expected, already_hello,
     version_mismatch, bad_hello_opts, shards, dest_down, executors, native, panic,
     unknown_native_machine,
     work,
     %% Work items, exit reasons, reports (the shapes throng_nif builds).
     init, terminate, event, enter, state_functions, handle_event_function, state_enter,
     call, cast, info, timeout, state_timeout, internal, normal, shutdown, stopped,
     bad_return_from_init, bad_return_from_callback_mode, bad_return_from_state_function,
     bad_state_enter_return_from_state_function, bad_action_from_state_function,
     bad_state_enter_action_from_state_function, bad_reply_action_from_state_function,
     postpone, hibernate, next_event, cancel, update, infinity, abs, change_callback_module,
     push_callback_module, pop_callback_module, stop, stop_and_reply, next_state, keep_state,
     keep_state_and_data, repeat_state, repeat_state_and_data, reason, state, data, queue,
     postponed, timeouts, modules, callback_mode, queue_len, postponed_len, suspended].
