%%% @doc A gen_statem callback module whose events say what to return.
%%%
%%% `handle_event_function' with `state_enter'. Used by the differential
%%% scenarios that check how the engine treats callback results and actions
%%% (time-outs, errors, stop variants, queue order): the script carries the
%%% result, the engine's reaction is what is compared.
%%%
%%% <ul>
%%% <li>`init({State, Data, Actions})' returns `{ok, State, Data, Actions}';
%%%     `init({return, R})' returns `R'; `init({'$throw', R})' throws `R';
%%%     `init({'$raise', Class, R})' raises.</li>
%%% <li>An event whose content is `{do, Label, Spec}' is logged as
%%%     `{State, Type, Label}' and answered with `Spec'; any other content
%%%     `C' is logged as `{State, Type, C}' and answered with
%%%     `keep_state_and_data'.</li>
%%% <li>A `Spec' is a callback result, or `{'$by_state', [{State, Spec}],
%%%     DefaultSpec}' (first `State' that is `=:=' the current one),
%%%     `{'$raise', Class, Reason}', `{'$throw', Result}',
%%%     `{'$sleep', Ms, Spec}' (a busy callback), or
%%%     `{'$self_send', Msg, Spec}' (an info event to itself first), or
%%%     `{'$reply', To, Reply, Spec}' (`gen_statem:reply(To, Reply)' first).
%%%     In the result, `` '$from' '' is replaced by the `From' of the call
%%%     being handled and `` '$data' '' by the current data.</li>
%%% <li>Enter calls are logged as `{enter, OldState, State}'. When the data
%%%     is a map with key `{enter, State}', its value is the `Spec' of the
%%%     enter call; otherwise the enter call keeps state and data.</li>
%%% <li>`terminate/3' logs `{terminate, Reason, State, Data}'; when the data
%%%     is a map with key `terminate', its value (a `Spec') is run for its
%%%     side effect (to raise or throw from terminate).</li>
%%% </ul>
-module(throng_diff_m_puppet).
-behaviour(gen_statem).

-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

-spec init(term()) -> term().
init({return, R}) ->
    throng_diff:log({init, return}),
    R;
init({'$throw', R}) ->
    throng_diff:log({init, throw}),
    throw(R);
init({'$raise', Class, R}) ->
    throng_diff:log({init, raise}),
    raise(Class, R);
init({State, Data, Actions}) ->
    throng_diff:log({init, State}),
    {ok, State, Data, Actions}.

-spec callback_mode() -> [handle_event_function | state_enter].
callback_mode() ->
    [handle_event_function, state_enter].

-spec handle_event(gen_statem:event_type() | enter, term(), term(), term()) -> term().
handle_event(enter, OldState, State, Data) ->
    throng_diff:log({enter, OldState, State}),
    case Data of
        #{{enter, State} := Spec} -> run(Spec, State, undefined, Data);
        _ -> keep_state_and_data
    end;
handle_event(Type, {do, Label, Spec}, State, Data) ->
    throng_diff:log({State, Type, Label}),
    run(Spec, State, from(Type), Data);
handle_event(Type, Content, State, _Data) ->
    throng_diff:log({State, Type, Content}),
    keep_state_and_data.

-spec terminate(term(), term(), term()) -> ok.
terminate(Reason, State, Data) ->
    throng_diff:log({terminate, Reason, State, Data}),
    case Data of
        #{terminate := Spec} ->
            _ = run(Spec, State, undefined, Data),
            ok;
        _ ->
            ok
    end.

from({call, From}) -> From;
from(_) -> undefined.

run({'$by_state', Cases, Default}, State, From, Data) ->
    run(by_state(Cases, State, Default), State, From, Data);
run({'$raise', Class, Reason}, _State, _From, _Data) ->
    raise(Class, Reason);
run({'$throw', Spec}, _State, From, Data) ->
    throw(subst(Spec, From, Data));
run({'$sleep', Ms, Spec}, State, From, Data) ->
    timer:sleep(Ms),
    run(Spec, State, From, Data);
run({'$reply', To, Reply, Spec}, State, From, Data) ->
    ok = gen_statem:reply(subst(To, From, Data), Reply),
    run(Spec, State, From, Data);
run({'$self_send', Msg, Spec}, State, From, Data) ->
    ok = throng_diff:self_send(Msg),
    run(Spec, State, From, Data);
run(Result, _State, From, Data) ->
    subst(Result, From, Data).

raise(error, Reason) -> erlang:error(Reason);
raise(exit, Reason) -> erlang:exit(Reason);
raise(throw, Reason) -> erlang:throw(Reason).

by_state([{S, Spec} | _], State, _Default) when S =:= State -> Spec;
by_state([_ | Cases], State, Default) -> by_state(Cases, State, Default);
by_state([], _State, Default) -> Default.

subst('$from', From, _Data) -> From;
subst('$data', _From, Data) -> Data;
subst(T, From, Data) when is_tuple(T) -> list_to_tuple(subst(tuple_to_list(T), From, Data));
subst([H | T], From, Data) -> [subst(H, From, Data) | subst(T, From, Data)];
subst(T, _From, _Data) -> T.
