%%% @doc The process that owns an engine: it creates the NIF engine, runs
%%% its pool of executors (replacing any that dies), and stops the engine
%%% when it stops.
%%%
%%% Private to Throng: use `throng:start_engine/1', `throng:stop_engine/1'.
-module(throng_engine).
-behaviour(gen_server).

-export([start_link/1, engine/1, lookup/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-type opts() :: #{backend => nif, shards => pos_integer(), max_sessions => pos_integer(),
                  max_queue_len => pos_integer(), run_budget => pos_integer(),
                  inline => none | calls | all,
                  executors => pos_integer(), name => atom(), default => boolean()}.
-export_type([opts/0]).

-record(st, {engine :: throng_nif:engine(),
             executors :: tuple(),
             %% Sessions' process monitors (throng:monitor_process/1).
             monitors = #{} :: #{reference() => throng:session()}}).

%% @doc Starts an engine owner. With `name', the owner is registered
%% locally under it.
-spec start_link(opts()) -> {ok, pid()} | {error, term()}.
start_link(#{name := Name} = Opts) ->
    gen_server:start_link({local, Name}, ?MODULE, Opts, []);
start_link(Opts) ->
    gen_server:start_link(?MODULE, Opts, []).

%% @doc The engine owned by `Owner' (a `throng_engine' or a
%% `throng_port_engine': both answer this call).
-spec engine(pid() | atom()) -> throng_backend:engine().
engine(Owner) ->
    gen_server:call(Owner, engine).

%% @doc The owner of an engine, if it is running.
-spec lookup(throng_nif:engine()) -> {ok, pid()} | error.
lookup(E) ->
    case persistent_term:get({?MODULE, E}, undefined) of
        undefined -> error;
        Pid -> {ok, Pid}
    end.

%% @private
-spec init(opts()) -> {ok, #st{}} | {stop, term()}.
init(Opts) ->
    process_flag(trap_exit, true),
    Limits = maps:with([shards, max_sessions, max_queue_len, run_budget, inline], Opts),
    case throng_nif:engine_new(Limits, erlang:monotonic_time(nanosecond)) of
        {ok, E} ->
            N = maps:get(executors, Opts, 2 * erlang:system_info(schedulers_online)),
            Execs = list_to_tuple([spawn_executor(E, I) || I <- lists:seq(1, N)]),
            ok = throng_nif:engine_set_executors(E, tuple_to_list(Execs)),
            persistent_term:put({?MODULE, E}, self()),
            maps:get(default, Opts, false) andalso persistent_term:put({throng, default_engine}, E),
            {ok, #st{engine = E, executors = Execs}};
        {error, Reason} ->
            {stop, Reason}
    end.

%% The executor serving the engine's `I'th work queue.
spawn_executor(E, I) ->
    {ok, Pid} = throng_executor:start_link(E, I - 1),
    Pid.

%% @private
-spec handle_call(engine | {monitor_process, throng:session(), pid()}, gen_server:from(), #st{}) ->
          {reply, term(), #st{}}.
handle_call(engine, _From, #st{engine = E} = St) ->
    {reply, E, St};
handle_call({monitor_process, S, Pid}, _From, #st{monitors = Mons} = St) ->
    MRef = erlang:monitor(process, Pid),
    {reply, MRef, St#st{monitors = Mons#{MRef => S}}}.

%% @private
-spec handle_cast(term(), #st{}) -> {noreply, #st{}}.
handle_cast(_Msg, St) ->
    {noreply, St}.

%% @private
%% An executor died (killed: callbacks run inside try): replace it, so the
%% sessions it served keep a live executor; those whose callbacks it was
%% running end with its exit reason.
-spec handle_info(term(), #st{}) -> {noreply, #st{}} | {stop, term(), #st{}}.
handle_info({'EXIT', Pid, Reason}, #st{engine = E, executors = Execs} = St) ->
    case index_of(Pid, tuple_to_list(Execs), 1) of
        0 ->
            {stop, Reason, St};
        I ->
            New = spawn_executor(E, I),
            ok = throng_nif:executor_replaced(E, I - 1, New, Reason),
            {noreply, St#st{executors = setelement(I, Execs, New)}}
    end;
%% The relay for throng:start_timer/2 and throng:monitor_process/1: what
%% would reach a gen_statem's mailbox goes to the session as info.
handle_info({timeout, Ref, {'$throng_timer', S, Msg}}, St) ->
    _ = throng:send(S, {timeout, Ref, Msg}),
    {noreply, St};
handle_info({'DOWN', MRef, process, Pid, Reason}, #st{monitors = Mons} = St) ->
    case maps:take(MRef, Mons) of
        {S, Mons1} ->
            _ = throng:send(S, {'DOWN', MRef, process, Pid, Reason}),
            {noreply, St#st{monitors = Mons1}};
        error ->
            {noreply, St}
    end;
handle_info(_Info, St) ->
    {noreply, St}.

index_of(_, [], _) -> 0;
index_of(X, [X | _], I) -> I;
index_of(X, [_ | T], I) -> index_of(X, T, I + 1).

%% @private
-spec terminate(term(), #st{}) -> ok.
terminate(_Reason, #st{engine = E}) ->
    _ = persistent_term:erase({?MODULE, E}),
    persistent_term:get({throng, default_engine}, undefined) =:= E
        andalso persistent_term:erase({throng, default_engine}),
    throng_nif:engine_stop(E).
