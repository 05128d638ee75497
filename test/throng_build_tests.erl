%%% Build consistency, checked by eunit: the NIF library that gets loaded is
%%% the one built from this tree.
-module(throng_build_tests).

-include_lib("eunit/include/eunit.hrl").

app_vsn() ->
    ok = ensure_loaded(application:load(throng)),
    {ok, Vsn} = application:get_key(throng, vsn),
    Vsn.

ensure_loaded(ok) -> ok;
ensure_loaded({error, {already_loaded, throng}}) -> ok.

%% A drift between src/throng.app.src and the Rust crate versions, or a
%% stale priv/throng_nif.so, fails here.
core_version_equals_app_vsn_test() ->
    ?assertEqual(list_to_binary(app_vsn()), throng_nif:core_version()).

vsn_is_semver_test() ->
    ?assertMatch(
        {match, _},
        re:run(app_vsn(), "^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$")
    ).

nif_library_is_in_priv_test() ->
    ok = ensure_loaded(application:load(throng)),
    Lib = filename:join(code:priv_dir(throng), "throng_nif.so"),
    ?assert(filelib:is_regular(Lib)).
