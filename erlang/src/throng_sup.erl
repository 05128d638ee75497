%%% @doc Throng's top supervisor: the default engine, and the supervisor of
%%% engines started with `throng:start_engine/1'.
-module(throng_sup).
-behaviour(supervisor).

-export([start_link/0, init/1, start_engine/1]).

-type engine_opts() :: throng_engine:opts() | throng_port_engine:opts().

%% @private
-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, top).

%% @private
-spec init(top | engines) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init(top) ->
    ok = throng_names:new(),
    Default = maps:merge(application:get_env(throng, default_engine, #{}),
                         #{name => throng_default_engine, default => true}),
    Engines = #{id => throng_engine_sup,
                start => {supervisor, start_link, [{local, throng_engine_sup}, ?MODULE, engines]},
                type => supervisor},
    DefaultEngine = #{id => default_engine, start => {?MODULE, start_engine, [Default]}},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Engines, DefaultEngine]}};
init(engines) ->
    Engine = #{id => engine, start => {?MODULE, start_engine, []}, restart => temporary},
    {ok, {#{strategy => simple_one_for_one, intensity => 5, period => 10}, [Engine]}}.

%% @private
%% Starts the owner of an engine of the chosen backend (`backend', default
%% `nif'): `throng_engine' for the NIF, `throng_port_engine' for the port.
-spec start_engine(engine_opts()) -> {ok, pid()} | {error, term()}.
start_engine(#{backend := port} = Opts) ->
    throng_port_engine:start_link(Opts);
start_engine(#{backend := nif} = Opts) ->
    throng_engine:start_link(maps:remove(backend, Opts));
start_engine(#{backend := Other}) ->
    {error, {badarg, {backend, Other}}};
start_engine(Opts) ->
    throng_engine:start_link(Opts).
