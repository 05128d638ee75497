%%% @doc The NIF library of Throng's embedded engine.
%%%
%%% Loads `throng_nif.so' from the `throng' application's `priv' directory
%%% when the module is loaded. Each function here is a stub that the library
%%% replaces; the stub only runs when the library could not be loaded and
%%% then raises `nif_not_loaded'.
%%%
%%% The NIF implementation of the `throng_backend' behaviour: its engine
%%% handle is the NIF resource (a `reference()'). Private to Throng:
%%% `throng_backend' (for the API and the executors) and the engine's owner
%%% `throng_engine' are the only callers.
-module(throng_nif).
-behaviour(throng_backend).

-export([core_version/0, etf_check/1]).
-export([engine_new/2, engine_set_executors/2, engine_stop/1, engine_stats/1, engine_counts/1,
         executor_take/3,
         executor_done/4, executor_replaced/4]).
-export([session_start/6, session_init_result/4, session_raise/4,
         session_terminated/2, session_send/5, session_call/6, session_done/5, session_system/5,
         session_monitor/4, session_demonitor/4, session_abandon/4, session_kill/3, session_alive/2]).
-export([native_start/5, native_start_many/4, session_send_many/3]).

-on_load(init/0).

-type engine() :: reference().
-type sid() :: non_neg_integer().
-type error() :: {error, noproc | queue_full | too_many_sessions | not_waiting | badarg | busy}.
-export_type([engine/0, sid/0]).


-define(LIBRARY, "throng_nif").

%% @doc The version of the Rust engine the library was built from.
%%
%% Equal to the `throng' application's `vsn' unless `priv/throng_nif.so' is
%% stale.
-spec core_version() -> binary().
core_version() ->
    erlang:nif_error(nif_not_loaded).

%% @doc Whether the engine keeps `Term' as the bytes of
%% `term_to_binary(Term)'. A check of the library's own encoder of small
%% terms (the engine compares stored terms byte for byte), for Throng's
%% tests; not an API.
-spec etf_check(term()) -> boolean().
etf_check(_Term) ->
    erlang:nif_error(nif_not_loaded).

%% @doc A new engine (and its thread) with the given limits; its clock
%% reads the BEAM's monotonic time, passed now as `NowNs'
%% (`erlang:monotonic_time(nanosecond)').
-spec engine_new(#{atom() => non_neg_integer()}, integer()) -> {ok, engine()} | error().
engine_new(_Opts, _NowNs) -> erlang:nif_error(nif_not_loaded).

%% @doc Executor `Ix' (0-based) died with `Reason'; `Pid' takes over its
%% work queue. The sessions whose callbacks the dead one was running end
%% with `Reason'.
-spec executor_replaced(engine(), non_neg_integer(), pid(), term()) -> ok.
executor_replaced(_E, _Ix, _Pid, _Reason) -> erlang:nif_error(nif_not_loaded).

%% @doc The executor processes that run this engine's callbacks, set once.
-spec engine_set_executors(engine(), [pid()]) -> ok.
engine_set_executors(_E, _Pids) -> erlang:nif_error(nif_not_loaded).

%% @doc Up to `Max' work items of executor `Ix' (0-based), oldest first, as
%% `{Sid, Work}'; `[]' when none wait, after which the next item sends the
%% executor `'$throng_ring''.
-spec executor_take(engine(), non_neg_integer(), pos_integer()) -> [{sid(), tuple()}].
executor_take(_E, _Ix, _Max) -> erlang:nif_error(nif_not_loaded).

%% @doc The state callbacks of a batch returned: `{Sid, Result, Modes}'
%% each (`Modes' as for `session_init_result/4'), applied in order; then the next
%% batch, as `executor_take/3'. `{busy, Rest}': the results from the first
%% one whose shard was busy on were not applied.
-spec executor_done(engine(), non_neg_integer(), [{sid(), term(), [{module(), term()}]}], pos_integer()) ->
          {ok, [{sid(), tuple()}]} | {busy, [{sid(), term(), [{module(), term()}]}]}.
executor_done(_E, _Ix, _Results, _Max) -> erlang:nif_error(nif_not_loaded).

%% @doc Stops the engine's thread.
-spec engine_stop(engine()) -> ok.
engine_stop(_E) -> erlang:nif_error(nif_not_loaded).

%% @doc Engine-wide figures (runs on a dirty scheduler: it visits every session).
-spec engine_stats(engine()) -> #{atom() => non_neg_integer()}.
engine_stats(_E) -> erlang:nif_error(nif_not_loaded).

%% @doc Live sessions and time-outs held, without visiting the sessions.
-spec engine_counts(engine()) -> #{sessions := non_neg_integer(), timers := non_neg_integer()}.
engine_counts(_E) -> erlang:nif_error(nif_not_loaded).

%% @doc Creates a session whose init/1 runs in an executor, which sends
%% `{Tag, Outcome}' to `Pid'; `Pid' monitors the session with `Tag' from
%% the start. `Owner' (a pid or `undefined') ties the session's life to
%% that process.
-spec session_start(engine(), module(), term(), pid(), term(), pid() | undefined) -> {ok, sid()} | error().
session_start(_E, _Module, _Args, _Pid, _Tag, _Owner) -> erlang:nif_error(nif_not_loaded).

%% @doc init/1 returned `Result'; `Modes' are `{Module, callback_mode() result}'.
-spec session_init_result(engine(), sid(), term(), [{module(), term()}]) ->
          {ok, term()} | ignore | {error, term()} | gone.
session_init_result(_E, _Sid, _Result, _Modes) -> erlang:nif_error(nif_not_loaded).

%% @doc A callback raised; `Reason' is the exit reason as gen_statem shapes it.
-spec session_raise(engine(), sid(), init | callback | terminate, term()) -> term().
session_raise(_E, _Sid, _Kind, _Reason) -> erlang:nif_error(nif_not_loaded).

%% @doc terminate/3 returned (or is not exported): the session is gone;
%% returns its terminate report.
-spec session_terminated(engine(), sid()) -> map() | error().
session_terminated(_E, _Sid) -> erlang:nif_error(nif_not_loaded).

%% @doc A `cast' or `info' event. With `Inline' (and the engine's
%% `inline' option `all') the callback of an idle session is handed to the
%% caller to run: `{run, Work}' (then `session_done/5').
-spec session_send(engine(), sid(), cast | info, term(), boolean()) -> ok | {run, tuple()} | error().
session_send(_E, _Sid, _Kind, _Msg, _Inline) -> erlang:nif_error(nif_not_loaded).

%% @doc Starts a session of the native machine `Name' (its `init' runs at
%% once, in the engine): `{ok, Sid}', `ignore' or `{error, Reason}';
%% `{error, {unknown_native_machine, Name}}' when no machine has that name.
%% `Owner': the session dies with this pid (or `undefined'); `Watcher':
%% `{Pid, Tag}' monitoring the session from before init runs (or
%% `undefined').
-spec native_start(engine(), atom(), term(), pid() | undefined, {pid(), term()} | undefined) ->
    {ok, sid()} | ignore | {error, term()}.
native_start(_E, _Name, _Args, _Owner, _Watcher) -> erlang:nif_error(nif_not_loaded).

%% @doc Starts a native session per element of `ArgsList', for about half
%% a millisecond at most: `{Results, Rest}', the results in order (as
%% `native_start/5''s), `Rest' the arguments not started yet.
-spec native_start_many(engine(), atom(), [term()], pid() | undefined) ->
    {[{ok, sid()} | ignore | {error, term()}], [term()]} | {error, {unknown_native_machine, atom()}}.
native_start_many(_E, _Name, _ArgsList, _Owner) -> erlang:nif_error(nif_not_loaded).

%% @doc A `cast' or `info' event per `{Sid, Msg}' (or `{{throng, E, Sid},
%% Msg}', `E' this engine), in order, for about half a millisecond at
%% most: `{Refused, Rest}', `Refused' the `{Sid, Reason}' of events not
%% queued (`queue_full'; a session that does not exist is not refused, as
%% for `cast'), `Rest' the events not sent yet.
-spec session_send_many(engine(), cast | info, [throng_backend:item()]) ->
          {[{sid(), atom()}], [throng_backend:item()]}.
session_send_many(_E, _Kind, _Items) -> erlang:nif_error(nif_not_loaded).

%% @doc A callback handed out with `{run, Work}' returned `Result' (with
%% `Modes' as for `session_init_result/4'). `{run, Work}' again for the
%% session's next callback when `Inline', else `ok'.
-spec session_done(engine(), sid(), term(), [{module(), term()}], boolean()) -> ok | {run, tuple()} | error().
session_done(_E, _Sid, _Result, _Modes, _Inline) -> erlang:nif_error(nif_not_loaded).

%% @doc Monitors the session for `Pid' (DOWN with `Tag') and queues the
%% call `{call, {Pid, Tag}}'. With `Inline' (`Pid' the caller, the engine's
%% `inline' option `calls' or `all') the callback of an idle session is
%% handed to the caller to run: `{run, Work}'.
-spec session_call(engine(), sid(), pid(), term(), term(), boolean()) -> ok | {run, tuple()} | error().
session_call(_E, _Sid, _Pid, _Tag, _Req, _Inline) -> erlang:nif_error(nif_not_loaded).

%% @doc A system request answered with `{Tag, Reply}'; `Pid' monitors the
%% session with `Tag' meanwhile.
-spec session_system(engine(), sid(), get_state | get_status | suspend | resume | sync | {stop, term()}
                                      | {replace_state, term(), term()}
                                      | {replace_state, term(), term(), term()},
                     pid(), term()) -> ok | error().
session_system(_E, _Sid, _Req, _Pid, _Tag) -> erlang:nif_error(nif_not_loaded).

%% @doc `Pid' monitors the session: `{\'DOWN\', Tag, throng, S, Reason}'.
-spec session_monitor(engine(), sid(), pid(), term()) -> ok | error().
session_monitor(_E, _Sid, _Pid, _Tag) -> erlang:nif_error(nif_not_loaded).

%% @doc Removes a monitor; `true' if it was there.
-spec session_demonitor(engine(), sid(), pid(), term()) -> boolean().
session_demonitor(_E, _Sid, _Pid, _Tag) -> erlang:nif_error(nif_not_loaded).

%% @doc The caller `Pid' gave up waiting for the reply tagged `Tag': its
%% monitor goes, and a reply the engine would still send is dropped.
-spec session_abandon(engine(), sid(), pid(), term()) -> ok.
session_abandon(_E, _Sid, _Pid, _Tag) -> erlang:nif_error(nif_not_loaded).

%% @doc Ends the session at once with `Reason', without terminate/3.
-spec session_kill(engine(), sid(), term()) -> ok | error().
session_kill(_E, _Sid, _Reason) -> erlang:nif_error(nif_not_loaded).

%% @doc Whether the session exists.
-spec session_alive(engine(), sid()) -> boolean().
session_alive(_E, _Sid) -> erlang:nif_error(nif_not_loaded).

%% Returns what erlang:load_nif/2 returns: on `{error, {Reason, Text}}' the
%% code server logs it and does not load the module, as jiffy and crypto do.
-spec init() -> ok | {error, {atom(), string()}}.
init() ->
    erlang:load_nif(filename:join(priv_dir(), ?LIBRARY), 0).

-spec priv_dir() -> file:filename().
priv_dir() ->
    case code:priv_dir(throng) of
        {error, bad_name} ->
            %% The application is not in the code path as an application
            %% (e.g. only its ebin was added with -pa): priv is ebin's sibling.
            Ebin = filename:dirname(code:which(?MODULE)),
            filename:join(filename:dirname(Ebin), "priv");
        Dir ->
            Dir
    end.
