%%% @doc Helpers shared by Throng's modules. Private to Throng.
-module(throng_lib).

-export([retry/1]).

%% @doc Runs a NIF call again, after `erlang:yield()', for as long as it
%% answers `{error, busy}': the session's shard was busy and the call did
%% nothing (a scheduler never waits for a shard).
-spec retry(fun(() -> T)) -> T.
retry(F) ->
    case F() of
        {error, busy} ->
            erlang:yield(),
            retry(F);
        Result ->
            Result
    end.
