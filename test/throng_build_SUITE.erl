%%% The built application, as a release would see it: it loads, starts and
%%% stops, its priv dir holds the NIF library, and the library loads.
-module(throng_build_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([
    app_starts_and_stops/1,
    app_resource_lists_modules/1,
    priv_holds_nif_library/1,
    nif_loads_and_reports_app_vsn/1
]).

all() ->
    [
        app_starts_and_stops,
        app_resource_lists_modules,
        priv_holds_nif_library,
        nif_loads_and_reports_app_vsn
    ].

init_per_suite(Config) ->
    _ = application:stop(throng),
    _ = application:unload(throng),
    Config.

end_per_suite(_Config) ->
    _ = application:stop(throng),
    ok.

app_starts_and_stops(_Config) ->
    ?assertEqual({ok, [throng]}, application:ensure_all_started(throng)),
    ?assert(lists:keymember(throng, 1, application:which_applications())),
    ?assertEqual(ok, application:stop(throng)),
    ?assertNot(lists:keymember(throng, 1, application:which_applications())).

app_resource_lists_modules(_Config) ->
    ok = load(),
    {ok, Modules} = application:get_key(throng, modules),
    ?assert(lists:member(throng_nif, Modules)),
    %% Every listed module is in the code path.
    [?assertNotEqual(non_existing, code:which(M)) || M <- Modules].

priv_holds_nif_library(_Config) ->
    ok = load(),
    Priv = code:priv_dir(throng),
    ?assert(is_list(Priv)),
    ?assert(filelib:is_regular(filename:join(Priv, "throng_nif.so"))),
    %% No temp file left behind by scripts/build_native.sh.
    ?assertEqual([], filelib:wildcard(".throng_nif.so.*", Priv)).

nif_loads_and_reports_app_vsn(_Config) ->
    ok = load(),
    {ok, Vsn} = application:get_key(throng, vsn),
    ?assertEqual({module, throng_nif}, code:ensure_loaded(throng_nif)),
    ?assertEqual(list_to_binary(Vsn), throng_nif:core_version()).

load() ->
    case application:load(throng) of
        ok -> ok;
        {error, {already_loaded, throng}} -> ok
    end.
