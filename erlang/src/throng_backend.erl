%%% @doc The backend behaviour: the engine operations that `throng' and
%%% the executors use, whichever engine serves them.
%%%
%%% Two modules implement it:
%%%
%%% <ul>
%%% <li>`throng_nif': the engine embedded in the VM. Its handle is the NIF
%%%   resource, a `reference()'.</li>
%%% <li>`throng_port_engine': the engine in its own OS process
%%%   (`throng_port', docs/port-protocol.md). Its handle is
%%%   `{throng_port, Owner}', `Owner' the pid of the `throng_port_engine'
%%%   process that owns the port.</li>
%%% </ul>
%%%
%%% The exported functions of this module dispatch on the handle: a
%%% reference goes straight to `throng_nif' (one type test, no lookup: the
%%% NIF path costs one call more than calling the NIF directly), a
%%% `{throng_port, _}' to `throng_port_engine'; any other term to the NIF,
%%% which raises `badarg' for it, as before. Sessions are
%%% `{throng, Engine, Sid}' on both.
%%%
%%% The callbacks take the NIF's arguments and give its results. A backend
%%% that is not in the VM may also answer any operation with
%%% `{error, backend_error()}' (see `backend_error()'); the API maps those
%%% to the shapes gen_statem gives (an exit for `call', an error for
%%% `start').
%%%
%%% Not callbacks: creating an engine (each backend has its owner process,
%%% `throng_engine' for the NIF, `throng_port_engine' for the port,
%%% started by `throng:start_engine/1' under `throng_engine_sup'), and the
%%% NIF owner's own calls (`engine_new/2', `engine_set_executors/2',
%%% `executor_replaced/4').
%%%
%%% Private to Throng.
-module(throng_backend).

-export([engine_stats/1, engine_counts/1, engine_stop/1, executor_take/3, executor_done/4]).
-export([session_start/6, session_init_result/4, session_raise/4, session_terminated/2,
         session_send/5, session_call/6, session_done/5, session_system/5, session_monitor/4,
         session_demonitor/4, session_abandon/4, session_kill/3, session_alive/2]).
-export([native_start/5, native_start_many/4, session_send_many/3]).
-export([owner/1, module/1]).

-type engine() :: throng_nif:engine() | throng_port_engine:handle().

%% Anything but a port handle goes to the NIF, which raises badarg for what
%% is not its engine (as it did before there were backends). A reference
%% passes the first test.
-define(IS_NIF(E), not is_tuple(E); element(1, E) =/= throng_port).
-type sid() :: non_neg_integer().
-type work() :: tuple().
-type modes() :: [{module(), term()}].
%% Errors every backend may give: the NIF's.
-type engine_error() :: noproc | queue_full | too_many_sessions | not_waiting | badarg | busy.
%% Errors of a backend outside the VM: its program died (the owner starts
%% a new one; the old one's sessions are lost), the operation is not served
%% yet, it was not answered within the engine's `request_timeout', or the
%% program refused the frame (docs/port-protocol.md, "Error frames").
-type backend_error() :: {engine_down, term()} | not_implemented | timeout | {protocol, term()}.
-type error() :: {error, engine_error() | backend_error()}.
%% An event of `session_send_many/3': to a session id, or to a session as
%% `throng' names it (`{throng, Engine, Sid}', of the same engine).
-type item() :: {sid() | {throng, engine(), sid()}, term()}.

-export_type([engine/0, sid/0, work/0, modes/0, engine_error/0, backend_error/0, error/0, item/0]).

-callback engine_stats(engine()) -> #{atom() => non_neg_integer()} | error().
-callback engine_counts(engine()) -> #{sessions := non_neg_integer(), timers := non_neg_integer()} | error().
-callback engine_stop(engine()) -> ok | error().
-callback executor_take(engine(), non_neg_integer(), pos_integer()) -> [{sid(), work()}] | error().
-callback executor_done(engine(), non_neg_integer(), [{sid(), term(), modes()}], pos_integer()) ->
    {ok, [{sid(), work()}]} | {busy, [{sid(), term(), modes()}]} | error().
-callback session_start(engine(), module(), term(), pid(), term(), pid() | undefined) -> {ok, sid()} | error().
-callback session_init_result(engine(), sid(), term(), modes()) -> {ok, term()} | ignore | {error, term()} | gone.
-callback session_raise(engine(), sid(), init | callback | terminate, term()) -> term().
-callback session_terminated(engine(), sid()) -> map() | error().
-callback session_send(engine(), sid(), cast | info, term(), boolean()) -> ok | {run, work()} | error().
-callback session_call(engine(), sid(), pid(), term(), term(), boolean()) -> ok | {run, work()} | error().
-callback session_done(engine(), sid(), term(), modes(), boolean()) -> ok | {run, work()} | error().
-callback session_system(engine(), sid(), term(), pid(), term()) -> ok | error().
-callback session_monitor(engine(), sid(), pid(), term()) -> ok | error().
-callback session_demonitor(engine(), sid(), pid(), term()) -> boolean() | error().
-callback session_abandon(engine(), sid(), pid(), term()) -> ok | error().
-callback session_kill(engine(), sid(), term()) -> ok | error().
-callback session_alive(engine(), sid()) -> boolean() | error().
-callback native_start(engine(), atom(), term(), pid() | undefined, {pid(), term()} | undefined) ->
    {ok, sid()} | ignore | {error, term()}.
-callback native_start_many(engine(), atom(), [term()], pid() | undefined) ->
    {[{ok, sid()} | ignore | {error, term()}], [term()]} | {error, term()}.
-callback session_send_many(engine(), cast | info, [item()]) -> {[{sid(), atom()}], [item()]} | error().

%%% ------------------------------------------------------------ dispatch

%% @doc The module implementing the backend of engine `E'.
-spec module(engine()) -> throng_nif | throng_port_engine.
module(E) when ?IS_NIF(E) -> throng_nif;
module({throng_port, _}) -> throng_port_engine.

%% @doc The process that owns engine `E' (relays `throng:start_timer/2'
%% and `throng:monitor_process/1'; `throng:stop_engine/1' stops it), if it
%% is running.
-spec owner(engine()) -> {ok, pid()} | error.
owner(E) when ?IS_NIF(E) -> throng_engine:lookup(E);
owner({throng_port, Pid}) when is_pid(Pid) ->
    case is_process_alive(Pid) of
        true -> {ok, Pid};
        false -> error
    end;
owner(_) ->
    error.

%% @doc Engine-wide figures (see `throng:engine_stats/1').
-spec engine_stats(engine()) -> #{atom() => non_neg_integer()} | error().
engine_stats(E) when ?IS_NIF(E) -> throng_nif:engine_stats(E);
engine_stats(E) -> throng_port_engine:engine_stats(E).

%% @doc Live sessions and time-outs held (see `throng:engine_counts/1').
-spec engine_counts(engine()) -> #{sessions := non_neg_integer(), timers := non_neg_integer()} | error().
engine_counts(E) when ?IS_NIF(E) -> throng_nif:engine_counts(E);
engine_counts(E) -> throng_port_engine:engine_counts(E).

%% @doc Stops the engine.
-spec engine_stop(engine()) -> ok | error().
engine_stop(E) when ?IS_NIF(E) -> throng_nif:engine_stop(E);
engine_stop(E) -> throng_port_engine:engine_stop(E).

%% @doc As `throng_nif:executor_take/3'.
-spec executor_take(engine(), non_neg_integer(), pos_integer()) -> [{sid(), work()}] | error().
executor_take(E, Ix, Max) when ?IS_NIF(E) -> throng_nif:executor_take(E, Ix, Max);
executor_take(E, Ix, Max) -> throng_port_engine:executor_take(E, Ix, Max).

%% @doc As `throng_nif:executor_done/4'.
-spec executor_done(engine(), non_neg_integer(), [{sid(), term(), modes()}], pos_integer()) ->
          {ok, [{sid(), work()}]} | {busy, [{sid(), term(), modes()}]} | error().
executor_done(E, Ix, Results, Max) when ?IS_NIF(E) -> throng_nif:executor_done(E, Ix, Results, Max);
executor_done(E, Ix, Results, Max) -> throng_port_engine:executor_done(E, Ix, Results, Max).

%% @doc As `throng_nif:session_start/6'.
-spec session_start(engine(), module(), term(), pid(), term(), pid() | undefined) -> {ok, sid()} | error().
session_start(E, Module, Args, Pid, Tag, Owner) when ?IS_NIF(E) ->
    throng_nif:session_start(E, Module, Args, Pid, Tag, Owner);
session_start(E, Module, Args, Pid, Tag, Owner) ->
    throng_port_engine:session_start(E, Module, Args, Pid, Tag, Owner).

%% @doc As `throng_nif:session_init_result/4'.
-spec session_init_result(engine(), sid(), term(), modes()) -> {ok, term()} | ignore | {error, term()} | gone.
session_init_result(E, Sid, Result, Modes) when ?IS_NIF(E) ->
    throng_nif:session_init_result(E, Sid, Result, Modes);
session_init_result(E, Sid, Result, Modes) ->
    throng_port_engine:session_init_result(E, Sid, Result, Modes).

%% @doc As `throng_nif:session_raise/4'.
-spec session_raise(engine(), sid(), init | callback | terminate, term()) -> term().
session_raise(E, Sid, Kind, Reason) when ?IS_NIF(E) -> throng_nif:session_raise(E, Sid, Kind, Reason);
session_raise(E, Sid, Kind, Reason) -> throng_port_engine:session_raise(E, Sid, Kind, Reason).

%% @doc As `throng_nif:session_terminated/2'.
-spec session_terminated(engine(), sid()) -> map() | error().
session_terminated(E, Sid) when ?IS_NIF(E) -> throng_nif:session_terminated(E, Sid);
session_terminated(E, Sid) -> throng_port_engine:session_terminated(E, Sid).

%% @doc As `throng_nif:session_send/5'.
-spec session_send(engine(), sid(), cast | info, term(), boolean()) -> ok | {run, work()} | error().
session_send(E, Sid, Kind, Msg, Inline) when ?IS_NIF(E) -> throng_nif:session_send(E, Sid, Kind, Msg, Inline);
session_send(E, Sid, Kind, Msg, Inline) -> throng_port_engine:session_send(E, Sid, Kind, Msg, Inline).

%% @doc As `throng_nif:session_call/6'.
-spec session_call(engine(), sid(), pid(), term(), term(), boolean()) -> ok | {run, work()} | error().
session_call(E, Sid, Pid, Tag, Req, Inline) when ?IS_NIF(E) ->
    throng_nif:session_call(E, Sid, Pid, Tag, Req, Inline);
session_call(E, Sid, Pid, Tag, Req, Inline) ->
    throng_port_engine:session_call(E, Sid, Pid, Tag, Req, Inline).

%% @doc As `throng_nif:session_done/5'.
-spec session_done(engine(), sid(), term(), modes(), boolean()) -> ok | {run, work()} | error().
session_done(E, Sid, Result, Modes, Inline) when ?IS_NIF(E) ->
    throng_nif:session_done(E, Sid, Result, Modes, Inline);
session_done(E, Sid, Result, Modes, Inline) ->
    throng_port_engine:session_done(E, Sid, Result, Modes, Inline).

%% @doc As `throng_nif:session_system/5'.
-spec session_system(engine(), sid(), term(), pid(), term()) -> ok | error().
session_system(E, Sid, Req, Pid, Tag) when ?IS_NIF(E) -> throng_nif:session_system(E, Sid, Req, Pid, Tag);
session_system(E, Sid, Req, Pid, Tag) -> throng_port_engine:session_system(E, Sid, Req, Pid, Tag).

%% @doc As `throng_nif:session_monitor/4'.
-spec session_monitor(engine(), sid(), pid(), term()) -> ok | error().
session_monitor(E, Sid, Pid, Tag) when ?IS_NIF(E) -> throng_nif:session_monitor(E, Sid, Pid, Tag);
session_monitor(E, Sid, Pid, Tag) -> throng_port_engine:session_monitor(E, Sid, Pid, Tag).

%% @doc As `throng_nif:session_demonitor/4'.
-spec session_demonitor(engine(), sid(), pid(), term()) -> boolean() | error().
session_demonitor(E, Sid, Pid, Tag) when ?IS_NIF(E) -> throng_nif:session_demonitor(E, Sid, Pid, Tag);
session_demonitor(E, Sid, Pid, Tag) -> throng_port_engine:session_demonitor(E, Sid, Pid, Tag).

%% @doc As `throng_nif:session_abandon/4'.
-spec session_abandon(engine(), sid(), pid(), term()) -> ok | error().
session_abandon(E, Sid, Pid, Tag) when ?IS_NIF(E) -> throng_nif:session_abandon(E, Sid, Pid, Tag);
session_abandon(E, Sid, Pid, Tag) -> throng_port_engine:session_abandon(E, Sid, Pid, Tag).

%% @doc As `throng_nif:session_kill/3'.
-spec session_kill(engine(), sid(), term()) -> ok | error().
session_kill(E, Sid, Reason) when ?IS_NIF(E) -> throng_nif:session_kill(E, Sid, Reason);
session_kill(E, Sid, Reason) -> throng_port_engine:session_kill(E, Sid, Reason).

%% @doc As `throng_nif:session_alive/2'.
-spec session_alive(engine(), sid()) -> boolean() | error().
session_alive(E, Sid) when ?IS_NIF(E) -> throng_nif:session_alive(E, Sid);
session_alive(E, Sid) -> throng_port_engine:session_alive(E, Sid).

%% @doc As `throng_nif:native_start/5'.
-spec native_start(engine(), atom(), term(), pid() | undefined, {pid(), term()} | undefined) ->
    {ok, sid()} | ignore | {error, term()}.
native_start(E, Name, Args, Owner, Watcher) when ?IS_NIF(E) -> throng_nif:native_start(E, Name, Args, Owner, Watcher);
native_start(E, Name, Args, Owner, Watcher) -> throng_port_engine:native_start(E, Name, Args, Owner, Watcher).

%% @doc As `throng_nif:native_start_many/4' (a port engine starts the whole
%% list in one frame: `Rest' is `[]').
-spec native_start_many(engine(), atom(), [term()], pid() | undefined) ->
    {[{ok, sid()} | ignore | {error, term()}], [term()]} | {error, term()}.
native_start_many(E, Name, ArgsList, Owner) when ?IS_NIF(E) -> throng_nif:native_start_many(E, Name, ArgsList, Owner);
native_start_many(E, Name, ArgsList, Owner) -> throng_port_engine:native_start_many(E, Name, ArgsList, Owner).

%% @doc As `throng_nif:session_send_many/3' (a port engine sends up to
%% 10,000 events in one frame).
-spec session_send_many(engine(), cast | info, [item()]) -> {[{sid(), atom()}], [item()]} | error().
session_send_many(E, Kind, Items) when ?IS_NIF(E) -> throng_nif:session_send_many(E, Kind, Items);
session_send_many(E, Kind, Items) -> throng_port_engine:session_send_many(E, Kind, Items).
