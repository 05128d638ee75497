%%% @doc Engine-wide session names (the `{name, Name}' start option).
%%%
%%% One public ETS table, owned by Throng's top supervisor, holds both
%%% directions: `{{name, E, Name}, Sid}' and `{{sid, E, Sid}, Name}'. A name
%%% is reserved before the session starts (so two starts with one name
%%% cannot both succeed), confirmed once it runs, and removed when the
%%% session terminates (by the executor that ran `terminate/3') or fails to
%%% start.
%%%
%%% Private to Throng.
-module(throng_names).

-export([new/0, reserve/2, confirm/3, release/2, lookup/2, unregister/2]).

-define(TAB, throng_names).

%% @doc Creates the table (called by the owner, once).
-spec new() -> ok.
new() ->
    _ = ets:new(?TAB, [named_table, public, set, {read_concurrency, true}]),
    ok.

%% @doc Reserves `Name' in engine `E'.
-spec reserve(term(), term()) -> ok | {error, {already_started, non_neg_integer() | starting}}.
reserve(E, Name) ->
    case ets:insert_new(?TAB, {{name, E, Name}, starting}) of
        true ->
            ok;
        false ->
            case ets:lookup(?TAB, {name, E, Name}) of
                [{_, Sid}] -> {error, {already_started, Sid}};
                [] -> reserve(E, Name)
            end
    end.

%% @doc The reserved name now belongs to session `Sid'.
-spec confirm(term(), term(), non_neg_integer()) -> ok.
confirm(E, Name, Sid) ->
    true = ets:insert(?TAB, [{{name, E, Name}, Sid}, {{sid, E, Sid}, Name}]),
    ok.

%% @doc Gives up a reservation (the start failed).
-spec release(term(), term()) -> ok.
release(E, Name) ->
    case ets:take(?TAB, {name, E, Name}) of
        [{_, Sid}] when is_integer(Sid) -> ets:delete(?TAB, {sid, E, Sid});
        _ -> true
    end,
    ok.

%% @doc The session registered as `Name'.
-spec lookup(term(), term()) -> {ok, non_neg_integer()} | error.
lookup(E, Name) ->
    case ets:lookup(?TAB, {name, E, Name}) of
        [{_, Sid}] when is_integer(Sid) -> {ok, Sid};
        _ -> error
    end.

%% @doc Session `Sid' is gone: its name, if any, is free again.
-spec unregister(term(), non_neg_integer()) -> ok.
unregister(E, Sid) ->
    case ets:take(?TAB, {sid, E, Sid}) of
        [{_, Name}] -> ets:delete_object(?TAB, {{name, E, Name}, Sid});
        [] -> true
    end,
    ok.
