%%% @doc Throng's top supervisor: the default engine, and the supervisor of
%%% engines started with `throng:start_engine/1'.
-module(throng_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

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
    DefaultEngine = #{id => default_engine, start => {throng_engine, start_link, [Default]}},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Engines, DefaultEngine]}};
init(engines) ->
    Engine = #{id => engine, start => {throng_engine, start_link, []}, restart => temporary},
    {ok, {#{strategy => simple_one_for_one, intensity => 5, period => 10}, [Engine]}}.
