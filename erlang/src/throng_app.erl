%%% @doc The `throng' application: starts the default engine (used when no
%%% engine is named) and the supervisor of the engines `throng:start_engine/1'
%%% starts.
%%%
%%% Application environment: `default_engine' (a map of
%%% `throng:start_engine/1' options for the default engine; default `#{}').
-module(throng_app).
-behaviour(application).

-export([start/2, stop/1]).

%% @private
-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_Type, _Args) ->
    throng_sup:start_link().

%% @private
-spec stop(term()) -> ok.
stop(_State) ->
    ok.
