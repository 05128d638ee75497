%%% @doc The NIF library of Throng's embedded engine.
%%%
%%% Loads `throng_nif.so' from the `throng' application's `priv' directory
%%% when the module is loaded. Each function here is a stub that the library
%%% replaces; the stub only runs when the library could not be loaded and
%%% then raises `nif_not_loaded'.
%%%
%%% Private to Throng: the backend module is the only caller.
-module(throng_nif).

-export([core_version/0]).

-on_load(init/0).

-define(LIBRARY, "throng_nif").

%% @doc The version of the Rust engine the library was built from.
%%
%% Equal to the `throng' application's `vsn' unless `priv/throng_nif.so' is
%% stale.
-spec core_version() -> binary().
core_version() ->
    erlang:nif_error(nif_not_loaded).

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
