%%% The backends the suites run on: one list of cases, run in a group per
%%% backend. `use/1' restarts the `throng' application with its default
%%% engine on the backend (the application's `default_engine' option), so
%%% every case that uses the default engine runs there.
-module(throng_backends).

-export([all/0, groups/1, use/1, init_group/2, end_group/1]).

%% @doc The backends, as group names.
-spec all() -> [nif | port].
all() ->
    [nif, port].

%% @doc A group per backend holding the subgroups `Groups' (`{Group,
%% Backends}' for one that runs only on some).
-spec groups([atom() | {atom(), [nif | port]}]) -> [{nif | port, [], [{group, atom()}]}].
groups(Groups) ->
    [{B, [], [{group, G} || G0 <- Groups, {G, Bs} <- [only(G0)], lists:member(B, Bs)]} || B <- all()].

only({G, Bs}) -> {G, Bs};
only(G) -> {G, all()}.

%% @doc Restarts `throng' with its default engine on `Backend'.
-spec use(nif | port) -> ok.
use(Backend) ->
    _ = application:stop(throng),
    ok = application:set_env(throng, default_engine, #{backend => Backend}),
    {ok, _} = application:ensure_all_started(throng),
    Backend = case throng_backend:module(throng:default_engine()) of
                  throng_port_engine -> port;
                  throng_nif -> nif
              end,
    ok.

%% @doc For a suite's `init_per_group/2': in a backend's group, `throng'
%% runs with its default engine there and `{backend, B}' joins the config;
%% other groups are left as they are.
-spec init_group(atom(), list()) -> list().
init_group(B, Config) when B =:= nif; B =:= port ->
    ok = use(B),
    [{backend, B} | Config];
init_group(_, Config) ->
    Config.

%% @doc For a suite's `end_per_group/2': after the port group, the default
%% engine is the NIF's again.
-spec end_group(atom()) -> ok.
end_group(port) ->
    use(nif);
end_group(_) ->
    ok.
