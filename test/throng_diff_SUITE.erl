%%% @doc Differential conformance suite: the same gen_statem callback
%%% modules and the same inputs on real `gen_statem' and on Throng, traces
%%% compared.
%%%
%%% One list of cases ({@link cases/0}), run in groups as OTP's suites do:
%%%
%%% <ul>
%%% <li>`gen_statem': each scenario on real `gen_statem' only. The trace
%%%     must be non-empty and equal to the expectation written in
%%%     {@link scenario/1} (derived from GEN_STATEM_SEMANTICS.md and checked
%%%     on OTP 25). This keeps the scenarios themselves honest.</li>
%%% <li>`throng_nif': each scenario on `gen_statem' and on Throng's default
%%%     (NIF) engine; the traces must be equal. Skipped with
%%%     `{skip, "throng API not available"}' until `throng' exports
%%%     `start_link/3'.</li>
%%% <li>`throng_nif_inline': the same on a NIF engine started with
%%%     `#{inline => all}' (callbacks of idle sessions run in the process
%%%     that sends the event).</li>
%%% <li>`throng_port': the same on a port engine
%%%     (`throng:start_engine(#{backend => port})': the engine in the
%%%     `throng_port' program, callbacks run by the owner's executors).</li>
%%% </ul>
%%%
%%% Each case is named after what it checks and says where it comes from
%%% (a § of GEN_STATEM_SEMANTICS.md, an OTP `gen_statem_SUITE' case, the
%%% OTP design principles, GenStateMachine's tests). The harness
%%% (`throng_diff') and the trace format are described in `throng_diff'.
%%% A scenario that hangs fails with the step it hung on; every process a
%%% run started is stopped before the next case.
%%%
%%% Run: `rebar3 ct --suite=test/throng_diff_SUITE' (add `--group=gen_statem'
%%% or `--group=throng_nif' for one group, `--case=Name' for one case).
-module(throng_diff_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, groups/0, suite/0]).
-export([init_per_suite/1, end_per_suite/1, init_per_group/2, end_per_group/2]).
-export([cases/0, scenario/1]).

%% Test cases (see cases/0).
-export([
    inserted_events_nest_like_a_stack/1,
    queue_order_after_a_state_change/1,
    otp_event_order/1,
    postpone_is_retried_only_on_a_state_change/1,
    repostponed_events_keep_their_relative_order/1,
    postponed_call_is_answered_from_a_later_state/1,
    otp_event_types_every_type_as_next_event/1,
    init_results_and_init_actions/1,
    otp_state_enter/1,
    enter_call_replies_to_a_saved_from_and_its_timeouts_win/1,
    otp_pop_too_many/1,
    module_change_decides_the_enter_call/1,
    event_timeout_is_cancelled_by_any_event/1,
    state_timeout_is_cancelled_only_by_a_state_change/1,
    otp_state_timeout/1,
    otp_generic_timers/1,
    generic_timeouts_survive_state_changes_and_last_wins/1,
    zero_timeouts_come_before_the_mailbox/1,
    timeout_update_and_cancel/1,
    absolute_timeouts/1,
    reply_actions_are_sent_in_order/1,
    otp_stop_and_reply/1,
    stop_and_reply_answers_calls_and_sets_data/1,
    stop_results_and_what_terminate_sees/1,
    callers_exit_with_the_stop_reason/1,
    bad_return_from_state_function/1,
    bad_actions/1,
    bad_state_enter_results_and_actions/1,
    bad_reply_action_in_stop_and_reply/1,
    exceptions_and_throw/1,
    code_lock_state_functions/1,
    code_lock_handle_event_function/1,
    code_lock_complex_state/1,
    switch_counts_enter_calls/1,
    hibernate_has_no_effect_on_order/1,
    system_requests_are_not_events/1,
    self_send_is_an_info_event_behind_the_mailbox/1,
    otp_defect_zero_timeout_restarted_with_a_time/1,
    short_timeouts_fire_on_time/1,
    late_reply_after_a_call_timeout_is_dropped/1,
    terminate_is_optional/1,
    expired_timeouts_wait_in_mailbox_order/1,
    timers_with_the_same_deadline_fire_in_reverse_action_order/1
]).

-define(P, throng_diff_m_puppet).

%%====================================================================
%% Common Test
%%====================================================================

-spec suite() -> [tuple()].
suite() ->
    [{timetrap, {minutes, 2}}].

-spec all() -> [{group, atom()}].
all() ->
    [{group, gen_statem}, {group, throng_nif}, {group, throng_nif_inline}, {group, throng_port}].

-spec groups() -> [{atom(), list(), [atom()]}].
groups() ->
    [
        {gen_statem, [], cases()},
        {throng_nif, [], cases()},
        {throng_nif_inline, [], cases()},
        {throng_port, [], cases()}
    ].

%% @doc The one list of cases, run by every group.
-spec cases() -> [atom()].
cases() ->
    [
        %% §1.6 queue order
        inserted_events_nest_like_a_stack,
        queue_order_after_a_state_change,
        otp_event_order,
        %% §1.4, §1.6 postpone
        postpone_is_retried_only_on_a_state_change,
        repostponed_events_keep_their_relative_order,
        postponed_call_is_answered_from_a_later_state,
        %% §1.3, §1.5 event types
        otp_event_types_every_type_as_next_event,
        %% §1.2 init
        init_results_and_init_actions,
        %% §1.8 state enter calls
        otp_state_enter,
        enter_call_replies_to_a_saved_from_and_its_timeouts_win,
        %% §1.14 callback modules
        otp_pop_too_many,
        module_change_decides_the_enter_call,
        %% §1.7 time-outs
        short_timeouts_fire_on_time,
        event_timeout_is_cancelled_by_any_event,
        state_timeout_is_cancelled_only_by_a_state_change,
        otp_state_timeout,
        otp_generic_timers,
        generic_timeouts_survive_state_changes_and_last_wins,
        zero_timeouts_come_before_the_mailbox,
        timeout_update_and_cancel,
        absolute_timeouts,
        expired_timeouts_wait_in_mailbox_order,
        timers_with_the_same_deadline_fire_in_reverse_action_order,
        %% §1.9 replies
        reply_actions_are_sent_in_order,
        late_reply_after_a_call_timeout_is_dropped,
        %% §1.10 stop
        otp_stop_and_reply,
        stop_and_reply_answers_calls_and_sets_data,
        stop_results_and_what_terminate_sees,
        callers_exit_with_the_stop_reason,
        terminate_is_optional,
        %% §1.11 errors
        bad_return_from_state_function,
        bad_actions,
        bad_state_enter_results_and_actions,
        bad_reply_action_in_stop_and_reply,
        exceptions_and_throw,
        %% OTP design principles, GenStateMachine
        code_lock_state_functions,
        code_lock_handle_event_function,
        code_lock_complex_state,
        switch_counts_enter_calls,
        %% §1.12, §1.13, sys, self-sent messages
        hibernate_has_no_effect_on_order,
        system_requests_are_not_events,
        self_send_is_an_info_event_behind_the_mailbox,
        %% §1.16 (a documented deviation)
        otp_defect_zero_timeout_restarted_with_a_time
    ].

-spec init_per_suite(list()) -> list().
init_per_suite(Config) ->
    Config.

-spec end_per_suite(list()) -> ok.
end_per_suite(_Config) ->
    ok.

-spec init_per_group(atom(), list()) -> list() | {skip, string()}.
init_per_group(gen_statem, Config) ->
    [{backend, gen_statem} | Config];
init_per_group(throng_nif, Config) ->
    case throng_diff:throng_available() of
        false ->
            {skip, "throng API not available"};
        true ->
            case application:ensure_all_started(throng) of
                {ok, _} -> [{backend, {throng, []}} | Config];
                {error, Reason} -> {skip, lists:flatten(io_lib:format("throng does not start: ~0p", [Reason]))}
            end
    end;
init_per_group(throng_nif_inline, Config) ->
    %% Casts and infos to idle sessions run in the sender (engine option
    %% inline => all): the traces must not change.
    case throng_diff:throng_available() of
        false ->
            {skip, "throng API not available"};
        true ->
            {ok, _} = application:ensure_all_started(throng),
            {ok, Engine} = throng:start_engine(#{inline => all}),
            [{backend, {throng, [{engine, Engine}]}}, {inline_engine, Engine} | Config]
    end;
init_per_group(throng_port, Config) ->
    %% A port engine that does not start fails the group (no skip).
    {ok, _} = application:ensure_all_started(throng),
    {ok, Engine} = throng:start_engine(#{backend => port}),
    [{backend, {throng, [{engine, Engine}]}}, {port_engine, Engine} | Config].

-spec end_per_group(atom(), list()) -> ok.
end_per_group(throng_port, Config) ->
    case proplists:get_value(port_engine, Config) of
        undefined -> ok;
        Engine -> _ = catch throng:stop_engine(Engine), ok
    end;
end_per_group(throng_nif_inline, Config) ->
    _ = catch throng:stop_engine(proplists:get_value(inline_engine, Config)),
    ok;
end_per_group(_Group, _Config) ->
    ok.

%%====================================================================
%% Running a case
%%====================================================================

run_case(Name, Config) ->
    Scenario = scenario(Name),
    case ?config(backend, Config) of
        gen_statem -> check_gen_statem(Name, Scenario, 2);
        {throng, _} = Backend -> check_throng(Name, Scenario, Backend, 2)
    end.

%% On gen_statem: a non-empty trace, equal to the expectation. A mismatch
%% is run once more before it fails, so that a timing hiccup of the host
%% is told apart from a wrong expectation (the retry is logged).
check_gen_statem(Name, #{script := Script} = Scenario, Tries) ->
    G = trace(Name, gen_statem, Script),
    ct:log("~p on gen_statem:~n~p", [Name, G]),
    G =/= [] orelse ct:fail({empty_trace, Name}),
    case maps:find(expect, Scenario) of
        error ->
            ok;
        {ok, Expect} ->
            case throng_diff:compare(Expect, G) of
                equal ->
                    ok;
                _ when Tries > 1 ->
                    ct:log("~p: gen_statem trace differs from the expectation; running again", [Name]),
                    check_gen_statem(Name, Scenario, Tries - 1);
                _ ->
                    Report = throng_diff:format_diff({"expected", Expect}, {"gen_statem", G}),
                    ct:log("~s", [Report]),
                    ct:fail({gen_statem_trace_differs_from_expectation, Name, lists:flatten(Report)})
            end
    end.

%% On Throng: the trace must equal gen_statem's (or, for a documented
%% deviation, the expectation `throng_expect').
check_throng(Name, #{script := Script} = Scenario, Backend, Tries) ->
    {RefName, Ref} =
        case maps:find(throng_expect, Scenario) of
            {ok, Intended} ->
                ct:comment("documented deviation: ~s", [maps:get(deviation, Scenario)]),
                {"intended", Intended};
            error ->
                {"gen_statem", trace(Name, gen_statem, Script)}
        end,
    T = trace(Name, Backend, Script),
    ct:log("~p: ~s:~n~p~nthrong:~n~p", [Name, RefName, Ref, T]),
    case throng_diff:compare(Ref, T) of
        equal ->
            ok;
        _ when Tries > 1 ->
            ct:log("~p: traces differ; running both again", [Name]),
            check_throng(Name, Scenario, Backend, Tries - 1);
        _ ->
            Report = throng_diff:format_diff({RefName, Ref}, {"throng", T}),
            ct:log("~s", [Report]),
            ct:fail({throng_trace_differs, Name, lists:flatten(Report)})
    end.

trace(Name, Backend, Script) ->
    case throng_diff:run(Backend, Script, []) of
        {ok, Trace} ->
            Trace;
        {error, {hung, N, Step, Partial}} ->
            ct:log("~p hung on ~0p at step ~p ~0p; trace so far:~n~p", [Name, Backend, N, Step, Partial]),
            ct:fail({scenario_hung, Name, backend_name(Backend), {step, N, Step}});
        {error, {driver_crashed, Reason, Partial}} ->
            ct:log("~p: the driver crashed on ~0p: ~p; trace so far:~n~p", [Name, Backend, Reason, Partial]),
            ct:fail({driver_crashed, Name, backend_name(Backend), Reason})
    end.

backend_name(gen_statem) -> gen_statem;
backend_name({throng, []}) -> throng_nif;
backend_name({throng, _}) -> throng_port.

%%====================================================================
%% Test cases
%%====================================================================

-define(CASE(Name), Name(Config) -> run_case(Name, Config)).

-spec inserted_events_nest_like_a_stack(list()) -> ok.
?CASE(inserted_events_nest_like_a_stack).
-spec queue_order_after_a_state_change(list()) -> ok.
?CASE(queue_order_after_a_state_change).
-spec otp_event_order(list()) -> ok.
?CASE(otp_event_order).
-spec postpone_is_retried_only_on_a_state_change(list()) -> ok.
?CASE(postpone_is_retried_only_on_a_state_change).
-spec repostponed_events_keep_their_relative_order(list()) -> ok.
?CASE(repostponed_events_keep_their_relative_order).
-spec postponed_call_is_answered_from_a_later_state(list()) -> ok.
?CASE(postponed_call_is_answered_from_a_later_state).
-spec otp_event_types_every_type_as_next_event(list()) -> ok.
?CASE(otp_event_types_every_type_as_next_event).
-spec init_results_and_init_actions(list()) -> ok.
?CASE(init_results_and_init_actions).
-spec otp_state_enter(list()) -> ok.
?CASE(otp_state_enter).
-spec enter_call_replies_to_a_saved_from_and_its_timeouts_win(list()) -> ok.
?CASE(enter_call_replies_to_a_saved_from_and_its_timeouts_win).
-spec otp_pop_too_many(list()) -> ok.
?CASE(otp_pop_too_many).
-spec module_change_decides_the_enter_call(list()) -> ok.
?CASE(module_change_decides_the_enter_call).
-spec short_timeouts_fire_on_time(list()) -> ok.
?CASE(short_timeouts_fire_on_time).
-spec event_timeout_is_cancelled_by_any_event(list()) -> ok.
?CASE(event_timeout_is_cancelled_by_any_event).
-spec state_timeout_is_cancelled_only_by_a_state_change(list()) -> ok.
?CASE(state_timeout_is_cancelled_only_by_a_state_change).
-spec otp_state_timeout(list()) -> ok.
?CASE(otp_state_timeout).
-spec otp_generic_timers(list()) -> ok.
?CASE(otp_generic_timers).
-spec generic_timeouts_survive_state_changes_and_last_wins(list()) -> ok.
?CASE(generic_timeouts_survive_state_changes_and_last_wins).
-spec zero_timeouts_come_before_the_mailbox(list()) -> ok.
?CASE(zero_timeouts_come_before_the_mailbox).
-spec timeout_update_and_cancel(list()) -> ok.
?CASE(timeout_update_and_cancel).
-spec absolute_timeouts(list()) -> ok.
?CASE(absolute_timeouts).
-spec expired_timeouts_wait_in_mailbox_order(list()) -> ok.
?CASE(expired_timeouts_wait_in_mailbox_order).
-spec timers_with_the_same_deadline_fire_in_reverse_action_order(list()) -> ok.
?CASE(timers_with_the_same_deadline_fire_in_reverse_action_order).
-spec reply_actions_are_sent_in_order(list()) -> ok.
?CASE(reply_actions_are_sent_in_order).
-spec late_reply_after_a_call_timeout_is_dropped(list()) -> ok.
?CASE(late_reply_after_a_call_timeout_is_dropped).
-spec otp_stop_and_reply(list()) -> ok.
?CASE(otp_stop_and_reply).
-spec stop_and_reply_answers_calls_and_sets_data(list()) -> ok.
?CASE(stop_and_reply_answers_calls_and_sets_data).
-spec stop_results_and_what_terminate_sees(list()) -> ok.
?CASE(stop_results_and_what_terminate_sees).
-spec callers_exit_with_the_stop_reason(list()) -> ok.
?CASE(callers_exit_with_the_stop_reason).
-spec terminate_is_optional(list()) -> ok.
?CASE(terminate_is_optional).
-spec bad_return_from_state_function(list()) -> ok.
?CASE(bad_return_from_state_function).
-spec bad_actions(list()) -> ok.
?CASE(bad_actions).
-spec bad_state_enter_results_and_actions(list()) -> ok.
?CASE(bad_state_enter_results_and_actions).
-spec bad_reply_action_in_stop_and_reply(list()) -> ok.
?CASE(bad_reply_action_in_stop_and_reply).
-spec exceptions_and_throw(list()) -> ok.
?CASE(exceptions_and_throw).
-spec code_lock_state_functions(list()) -> ok.
?CASE(code_lock_state_functions).
-spec code_lock_handle_event_function(list()) -> ok.
?CASE(code_lock_handle_event_function).
-spec code_lock_complex_state(list()) -> ok.
?CASE(code_lock_complex_state).
-spec switch_counts_enter_calls(list()) -> ok.
?CASE(switch_counts_enter_calls).
-spec hibernate_has_no_effect_on_order(list()) -> ok.
?CASE(hibernate_has_no_effect_on_order).
-spec system_requests_are_not_events(list()) -> ok.
?CASE(system_requests_are_not_events).
-spec self_send_is_an_info_event_behind_the_mailbox(list()) -> ok.
?CASE(self_send_is_an_info_event_behind_the_mailbox).
-spec otp_defect_zero_timeout_restarted_with_a_time(list()) -> ok.
?CASE(otp_defect_zero_timeout_restarted_with_a_time).

%%====================================================================
%% Scenarios
%%====================================================================

%% @doc The script of a case, and what it must give on gen_statem
%% (`expect'). `throng_expect' and `deviation' mark a documented deviation
%% of Throng from OTP 25 (docs/semantics.md): Throng's trace is compared
%% with `throng_expect' instead of gen_statem's.
-spec scenario(atom()) ->
    #{script := [throng_diff:step()], expect => throng_diff:trace(),
      throng_expect => throng_diff:trace(), deviation => string()}.
%% #1 GEN_STATEM_SEMANTICS.md §1.6: "Events inserted while handling an
%% inserted event go before the rest of the earlier batch, like a stack:
%% e1 inserts e1a, e1b, and the order is e1, e1a, e1a_x, e1b, e2, e3".
%% OTP gen_statem_SUITE:next_events.
scenario(inserted_events_nest_like_a_stack) ->
    #{
        script => steps([
            pup(a, d, []),
            {suspended, [
                {cast, do(e1, {keep_state_and_data, [ne(do(e1a, {keep_state_and_data, [ne(e1a_x)]})), ne(e1b)]})},
                {cast, e2},
                {cast, e3}
            ]},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            suspended, resumed,
            {a, cast, e1}, {a, internal, e1a}, {a, internal, e1a_x}, {a, internal, e1b},
            {a, cast, e2}, {a, cast, e3}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #2 §1.6 "Event queue order after a transition": inserted events in
%% action order, then (state change only) the postponed ones oldest first,
%% then the events still queued from before, then zero time-outs in t0q
%% order, then the mailbox. The zero event time-out is cancelled by the
%% first inserted event (§1.7).
scenario(queue_order_after_a_state_change) ->
    Postponed = fun(L) -> do(L, {'$by_state', [{a, {keep_state_and_data, postpone}}], keep_state_and_data}) end,
    Switch = do(switch, {next_state, b, d, [
        ne(i1), ne(i2), {state_timeout, 0, st0}, {timeout, 0, ev0}, {{timeout, g}, 0, g0}
    ]}),
    #{
        script => steps([
            pup(a, d, []),
            {cast, Postponed(p1)},
            {cast, Postponed(p2)},
            sync,
            {suspended, [
                {cast, do(go, {keep_state_and_data, [ne(Switch), ne(q)]})},
                {cast, m1}
            ]},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, p1}, {a, cast, p2}, sync,
            suspended, resumed,
            {a, cast, go}, {a, internal, switch}, {enter, a, b},
            {b, internal, i1}, {b, internal, i2},
            {b, cast, p1}, {b, cast, p2},
            {b, internal, q},
            {b, state_timeout, st0}, {b, {timeout, g}, g0},
            {b, cast, m1}, sync,
            {terminate, normal, b, d}, {stop, ok}
        ]
    };
%% #3 OTP gen_statem_SUITE:event_order. Replies to fabricated Froms show
%% the order: the inserted events (ok3, ok4) before the postponed casts
%% (ok1, ok2); the zero event time-out (ok5) never fires. §1.6, §1.7.
scenario(otp_event_order) ->
    #{
        script => steps([
            start(throng_diff_m_event_order, []),
            {cast, {reply, {'$fab', 1}, ok1}},
            {cast, {reply, {'$fab', 2}, ok2}},
            {call, {buffer, [{'$fab', 3}, {'$fab', 4}, {'$fab', 5}]}},
            {call, {stop, reason}},
            {collect, 4},
            down,
            {call, hej}
        ]),
        expect => [
            {init, start}, {started, ok}, sync,
            {start, cast, {reply, f(1), ok1}},
            {start, cast, {reply, f(2), ok2}},
            {start, call, {buffer, [f(3), f(4), f(5)]}},
            {buffer, internal, {reply, f(3), ok3}},
            {buffer, internal, {reply, f(4), ok4}},
            {buffer, cast, {reply, f(1), ok1}},
            {buffer, cast, {reply, f(2), ok2}},
            {buffer, call, {stop, reason}},
            {stop, internal, {stop, reason}},
            {terminate, reason, stop, undefined},
            {reply, {buffer, [{'$fab', 3}, {'$fab', 4}, {'$fab', 5}]}, ok},
            {reply, {stop, reason}, ok},
            {replies, [{3, ok3}, {4, ok4}, {1, ok1}, {2, ok2}]},
            {down, reason},
            {call_exit, hej, noproc}
        ]
    };
%% #4 §1.4 / §1.6 "What is a state change: only NextState =/= S0":
%% next_state to the same state, repeat_state (which makes an enter call)
%% and keep_state do not retry a postponed event; 1 -> 1.0 does (exact
%% comparison).
scenario(postpone_is_retried_only_on_a_state_change) ->
    X = do(x, {'$by_state', [{1, {keep_state_and_data, postpone}}], keep_state_and_data}),
    #{
        script => steps([
            pup(1, d, []),
            {cast, X}, sync,
            {cast, do(same, {next_state, 1, d})}, sync,
            {cast, do(repeat, repeat_state_and_data)}, sync,
            {cast, do(keep, {keep_state, d})}, sync,
            {cast, do(float, {next_state, 1.0, d})}, sync,
            {cast, do(back, {next_state, 1, d})}, sync,
            {stop, normal}
        ]),
        expect => pre(1) ++ [
            {1, cast, x}, sync,
            {1, cast, same}, sync,
            {1, cast, repeat}, {enter, 1, 1}, sync,
            {1, cast, keep}, sync,
            {1, cast, float}, {enter, 1, 1.0}, {1.0, cast, x}, sync,
            {1.0, cast, back}, {enter, 1.0, 1}, sync,
            {terminate, normal, 1, d}, {stop, ok}
        ]
    };
%% #5 §1.6 "A postponed event that is retried and postponed again keeps
%% its relative order (p2, p4 and p6 retried in order)"; jhn_fsm
%% "Deferred".
scenario(repostponed_events_keep_their_relative_order) ->
    P = fun(N) ->
        Cases =
            case N rem 2 of
                1 -> [{s0, {keep_state_and_data, postpone}}, {s1, {keep_state_and_data, postpone}}];
                0 -> [{s0, {keep_state_and_data, postpone}}]
            end,
        {cast, do({p, N}, {'$by_state', Cases, keep_state_and_data})}
    end,
    #{
        script => steps([
            pup(s0, d, []),
            [P(N) || N <- lists:seq(1, 6)],
            {cast, do(to_s1, {next_state, s1, d})},
            {cast, do(to_s2, {next_state, s2, d})},
            sync,
            {stop, normal}
        ]),
        expect => pre(s0) ++
            [{s0, cast, {p, N}} || N <- lists:seq(1, 6)] ++
            [{s0, cast, to_s1}, {enter, s0, s1}] ++
            [{s1, cast, {p, N}} || N <- lists:seq(1, 6)] ++
            [{s1, cast, to_s2}, {enter, s1, s2}] ++
            [{s2, cast, {p, N}} || N <- [1, 3, 5]] ++
            [sync, {terminate, normal, s2, d}, {stop, ok}]
    };
%% #6 §1.6 "A postponed call can be answered from any later state"; OTP
%% gen_statem_SUITE do_func_test (wfor_conf postpones, connected answers).
scenario(postponed_call_is_answered_from_a_later_state) ->
    Ping = do(ping, {'$by_state', [{wfor_conf, {keep_state_and_data, postpone}}],
        {keep_state_and_data, {reply, '$from', pong}}}),
    #{
        script => steps([
            pup(wfor_conf, d, []),
            {call_async, ping, Ping},
            sync,
            {cast, do(confirm, {next_state, connected, d})},
            {await, ping},
            sync,
            {stop, normal}
        ]),
        expect => pre(wfor_conf) ++ [
            {wfor_conf, {call, from}, ping}, sync,
            {wfor_conf, cast, confirm}, {enter, wfor_conf, connected},
            {connected, {call, from}, ping},
            {reply, ping, pong}, sync,
            {terminate, normal, connected, d}, {stop, ok}
        ]
    };
%% #7 OTP gen_statem_SUITE:event_types: every event type via next_event,
%% including a re-inserted {call,From} answered later. §1.3, §1.5.
scenario(otp_event_types_every_type_as_next_event) ->
    #{
        script => steps([
            start(throng_diff_m_event_types, []),
            {call, stop},
            down,
            {call, hej}
        ]),
        expect => [
            {init, start1}, {start1, internal, 0}, {started, ok}, sync,
            {start2, {call, from}, stop},
            {state1, internal, 1},
            {state2, state_timeout, 2},
            {state3, timeout, 3},
            {state4, info, 4},
            {state5, cast, 5},
            {state6, {timeout, 6}, 6},
            {state7, {call, from}, stop},
            {terminate, shutdown, state7, undefined},
            {reply, stop, stopped},
            {down, shutdown},
            {call_exit, hej, noproc}
        ]
    };
%% #8 §1.2 init results (ignore, {stop,R}, bad return, OTP 25's view of
%% {error,R}, throw as a return, error and exit exceptions; no terminate on
%% a failed init; OTP start4, start5a) and init actions (a single action;
%% next_events before any external event; {timeout,0} cancelled by them,
%% {state_timeout,0} delivered after them; postpone overridden; a bad init
%% action crashes after start returned ok).
scenario(init_results_and_init_actions) ->
    #{
        script => steps([
            {start, ?P, {return, ignore}},
            {start, ?P, {return, {stop, no_way}}},
            {start, ?P, {return, bad}},
            {start, ?P, {return, {error, e26}}},
            {start, ?P, {'$raise', error, oops}},
            {start, ?P, {'$raise', exit, bye}},
            start(?P, {'$throw', {ok, a, d}}),
            {stop, normal},
            start(?P, {a, d, ne(single)}),
            {stop, normal},
            {start, ?P, {a, d, [{timeout, 0, t0}, {state_timeout, 0, st0}, ne(i1), postpone, ne(i2)]}},
            {cast, ext},
            sync,
            {stop, normal},
            {start, ?P, {a, d, [badaction]}},
            down
        ]),
        expect => [
            {init, return}, {started, ignore},
            restart, {init, return}, {started, {error, no_way}},
            restart, {init, return}, {started, {error, {bad_return_from_init, bad}}},
            restart, {init, return}, {started, {error, {bad_return_from_init, {error, e26}}}},
            restart, {init, raise}, {started, {error, oops}},
            restart, {init, raise}, {started, {error, bye}},
            restart, {init, throw}, {enter, a, a}, {started, ok}, sync,
            {terminate, normal, a, d}, {stop, ok},
            restart, {init, a}, {enter, a, a}, {a, internal, single}, {started, ok}, sync,
            {terminate, normal, a, d}, {stop, ok},
            restart, {init, a}, {enter, a, a}, {a, internal, i1}, {a, internal, i2},
            {a, state_timeout, st0}, {a, cast, ext}, {started, ok}, sync,
            {terminate, normal, a, d}, {stop, ok},
            restart, {init, a}, {terminate, {bad_action_from_state_function, badaction}, a, d}, {started, ok},
            {down, {bad_action_from_state_function, badaction}}
        ]
    };
%% #9 OTP gen_statem_SUITE:state_enter: the initial enter call with
%% OldState =:= State; repeat_state from an enter call keeps the original
%% OldState (three enter calls {enter,wait,start}); replies from enter
%% calls; repeat_state from an event; internal event after the enter call;
%% stop_and_reply. §1.8.
scenario(otp_state_enter) ->
    Base = {'$pid', {diff_tag, base}},
    #{
        script => steps([
            start(throng_diff_m_state_enter, {'$fab', base}),
            {call, echo},
            {collect, 2},
            get_state,
            {call, repeat},
            {call, echo},
            {call, repeat},
            {call, {stop, bye}},
            down,
            {call, hej}
        ]),
        expect => [
            {init, start}, {enter, start, start, 1}, {started, ok}, sync,
            {call, start, echo, 2}, {enter, wait, start, 3}, {enter, wait, start, 4}, {enter, wait, start, 5},
            {reply, echo, {echo, start, 2}},
            {replies, [{3, {enter, start}}, {4, {enter, start}}]},
            {state, wait, {6, Base}},
            {call, wait, repeat, 6}, {enter, wait, wait, 6},
            {call, wait, echo, 7}, {enter, start, wait, 8}, {internal, start, wait, 9},
            {call, start, repeat, 10}, {enter, start, start, 11},
            {call, start, stop, 12}, {terminate, bye, start, 13},
            {reply, repeat, {repeat, wait, 6}},
            {reply, echo, {echo, wait, 7}},
            {reply, repeat, {repeat, start, 10}},
            {reply, {stop, bye}, {stop, 12}},
            {down, bye},
            {call_exit, hej, noproc}
        ]
    };
%% #10 §1.8 "An enter call may reply to a call received earlier, using a
%% From saved in the data"; §1.7 last time-out of each type wins across
%% the event callback and the enter call (state time-out 30 from the enter
%% call, not 100 from the event); the event time-out of the event callback
%% is kept.
scenario(enter_call_replies_to_a_saved_from_and_its_timeouts_win) ->
    #{
        script => steps([
            start(throng_diff_m_enter_reply, []),
            {call, go},
            {wait, 150},
            sync,
            {stop, normal}
        ]),
        expect => [
            {init, idle}, {idle, enter, idle}, {started, ok}, sync,
            {idle, {call, from}, go}, {working, enter, idle},
            {working, timeout, event_timeout_from_event},
            {working, state_timeout, from_enter},
            {reply, go, {entered, working, idle}}, sync,
            {terminate, normal, working, answered}, {stop, ok}
        ]
    };
%% #11 OTP gen_statem_SUITE:pop_too_many: change_callback_module with a
%% state change makes the enter call in the new module (OTP-18239); push,
%% verify, pop; a pop on a one-module stack is
%% {bad_action_from_state_function,pop_callback_module}, and terminate/3
%% goes to the current head. §1.5, §1.8, §1.14.
scenario(otp_pop_too_many) ->
    A = throng_diff_m_mod_a,
    B = throng_diff_m_mod_b,
    Bad = {bad_action_from_state_function, pop_callback_module},
    #{
        script => steps([
            start(A, []),
            {call, {change_callback_module, {B, state_2}}},
            {call, get_data},
            {call, {push_callback_module, {A, state_2}}},
            {call, {verify, A}},
            {call, pop_callback_module},
            {call, pop_callback_module},
            down
        ]),
        expect => [
            {mod_a, init}, {started, ok}, sync,
            {mod_a, state_1, {call, from}, {change_callback_module, {B, state_2}}},
            {mod_b, state_2, enter, state_1},
            {mod_b, state_2, {call, from}, get_data},
            {mod_b, state_2, {call, from}, {push_callback_module, {A, state_2}}},
            {mod_a, state_2, {call, from}, {verify, A}},
            {mod_a, state_2, {call, from}, pop_callback_module},
            {mod_b, state_2, {call, from}, pop_callback_module},
            {mod_b, terminate, Bad, state_2, enter},
            {reply, {change_callback_module, {B, state_2}}, ok},
            {reply, get_data, enter},
            {reply, {push_callback_module, {A, state_2}}, ok},
            {reply, {verify, A}, true},
            {reply, pop_callback_module, ok},
            {call_exit, pop_callback_module, Bad},
            {down, Bad}
        ]
    };
%% #12 §1.8 / §1.14: after push/pop/change the enter call of the same
%% transition goes to the new head module with its own callback mode and
%% state_enter setting (mod_a has none: no enter call; mod_b has one).
%% mod_b's callback_mode/0 is [state_functions, state_enter,
%% handle_event_function]: the last mode wins (§1.2).
scenario(module_change_decides_the_enter_call) ->
    A = throng_diff_m_mod_a,
    B = throng_diff_m_mod_b,
    #{
        script => steps([
            start(B, []),
            {call, {push_callback_module, {A, state_2}}},
            {call, get_data},
            {call, {pop_callback_module, state_1}},
            {call, {change_callback_module, {A, state_2}}},
            {call, {verify, A}},
            get_state,
            {stop, normal}
        ]),
        expect => [
            {mod_b, init}, {mod_b, state_1, enter, state_1}, {started, ok}, sync,
            {mod_b, state_1, {call, from}, {push_callback_module, {A, state_2}}},
            {mod_a, state_2, {call, from}, get_data},
            {mod_a, state_2, {call, from}, {pop_callback_module, state_1}},
            {mod_b, state_1, enter, state_2},
            {mod_b, state_1, {call, from}, {change_callback_module, {A, state_2}}},
            {mod_a, state_2, {call, from}, {verify, A}},
            {reply, {push_callback_module, {A, state_2}}, ok},
            {reply, get_data, enter},
            {reply, {pop_callback_module, state_1}, ok},
            {reply, {change_callback_module, {A, state_2}}, ok},
            {reply, {verify, A}, true},
            {state, state_2, enter},
            {mod_a, terminate, normal, state_2, enter}, {stop, ok}
        ]
    };
%% #39 §1.7 a time-out of Time ms fires after Time ms, also a short one
%% armed while the machine is otherwise idle: each kind of 20 ms time-out
%% has fired 60 ms later (40 ms of margin), and not 5 ms after it was set.
scenario(short_timeouts_fire_on_time) ->
    Arm = fun(L, A) -> [{cast, do(L, {keep_state_and_data, A})}, {wait, 5}, sync, {wait, 55}, sync] end,
    #{
        script => steps([
            pup(a, d, []),
            Arm(ev, {timeout, 20, ev}),
            Arm(st, {state_timeout, 20, st}),
            Arm(gen, {{timeout, g}, 20, gen}),
            Arm(int, 20),
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, ev}, sync, {a, timeout, ev}, sync,
            {a, cast, st}, sync, {a, state_timeout, st}, sync,
            {a, cast, gen}, sync, {a, {timeout, g}, gen}, sync,
            {a, cast, int}, sync, {a, timeout, 20}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #13 §1.7 the event time-out is cancelled by the handling of any event:
%% an external one, an inserted one (set together with next_event), a
%% timer event of another type; not by system messages (get_state);
%% [{timeout,T,M}, infinity] cancels (last wins; the bare infinity is the
%% integer shorthand); a bare integer is {timeout,T,T}.
scenario(event_timeout_is_cancelled_by_any_event) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(set1, {keep_state_and_data, {timeout, 60, t1}})}, {wait, 15}, {cast, x}, {wait, 100}, sync,
            {cast, do(set2, {keep_state_and_data, [{timeout, 30, t2}, ne(i)]})}, {wait, 80}, sync,
            {cast, do(set3, {keep_state_and_data, [{timeout, 30, t3}, infinity]})}, {wait, 80}, sync,
            {cast, do(set4, {keep_state_and_data, 30})}, {wait, 80}, sync,
            {cast, do(set5, {keep_state_and_data, {timeout, 50, t5}})}, get_state, {wait, 100}, sync,
            {cast, do(set6, {keep_state_and_data, [{timeout, 100, t6}, {{timeout, g}, 20, g6}]})}, {wait, 160}, sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, set1}, {a, cast, x}, sync,
            {a, cast, set2}, {a, internal, i}, sync,
            {a, cast, set3}, sync,
            {a, cast, set4}, {a, timeout, 30}, sync,
            {a, cast, set5}, {state, a, d}, {a, timeout, t5}, sync,
            {a, cast, set6}, {a, {timeout, g}, g6}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #14 §1.7 the state time-out survives events, a same-state next_state,
%% repeat_state and keep_state; a state change cancels it; one set in a
%% state-changing transition belongs to the new state; {state_timeout,
%% cancel}. OTP gen_statem_SUITE:timeout_cancel_and_update (cancel part).
scenario(state_timeout_is_cancelled_only_by_a_state_change) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm1, {keep_state_and_data, {state_timeout, 60, st1}})},
            {cast, do(same, {next_state, a, d})},
            {cast, do(rep, repeat_state_and_data)},
            {cast, do(keep, {keep_state, d})},
            {wait, 110}, sync,
            {cast, do(arm2, {keep_state_and_data, {state_timeout, 40, st2}})},
            {cast, do(to_b, {next_state, b, d})},
            {wait, 90}, sync,
            {cast, do(to_c, {next_state, c, d, {state_timeout, 40, st3}})},
            {wait, 90}, sync,
            {cast, do(arm4, {keep_state_and_data, {state_timeout, 40, st4}})},
            {cast, do(cancel4, {keep_state_and_data, {state_timeout, cancel}})},
            {wait, 90}, sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm1}, {a, cast, same}, {a, cast, rep}, {enter, a, a}, {a, cast, keep},
            {a, state_timeout, st1}, sync,
            {a, cast, arm2}, {a, cast, to_b}, {enter, a, b}, sync,
            {b, cast, to_c}, {enter, b, c}, {c, state_timeout, st3}, sync,
            {c, cast, arm4}, {c, cast, cancel4}, sync,
            {terminate, normal, c, d}, {stop, ok}
        ]
    };
%% #15 OTP gen_statem_SUITE:state_timeout (times /10): internal events
%% before external; a state change cancels the state time-out; zero
%% time-outs in order; a zero event time-out cancelled by a queued zero
%% state time-out; a pending zero state time-out restarted with 0 takes
%% the new message (OTP 24+ t0q; the module says more); a state time-out set with a state change fires in the
%% new state; a self-sent message is handled as info after all that.
%% §1.6, §1.7.
scenario(otp_state_timeout) ->
    #{
        script => steps([
            start(throng_diff_m_state_timeout, []),
            {call, {go, 50}},
            {call, check},
            down
        ]),
        expect => [
            {init, start}, {started, ok}, sync,
            {start, call, go},
            {state1, internal, 1},
            {state2, internal, 2},
            {state2, state_timeout, 2},
            {state2, timeout, 4},
            {state2, state_timeout, 6},
            {state3, info, message_to_self},
            {state3, call, check},
            {state3, state_timeout, 8},
            {terminate, normal, state3, from},
            {reply, {go, 50}, ok},
            {reply, check, ok},
            {down, normal}
        ]
    };
%% #16 OTP gen_statem_SUITE:generic_timers (times /10): generic time-outs
%% survive state changes; {abs,true}; [{abs,false}] with 0; {timeout,0}
%% cancelled by an earlier zero generic time-out; infinity cancels b; a
%% time-out carrying the call answers it. §1.7.
scenario(otp_generic_timers) ->
    #{
        script => steps([
            start(throng_diff_m_generic_timers, []),
            {call, stop},
            down,
            {call, hej}
        ]),
        expect => [
            {init, start}, {started, ok}, sync,
            {start, {call, from}, stop},
            {state1, {call, from}, stop},
            {state2, {timeout, d}, 2},
            {state3, {timeout, c}, 2},
            {state4, {timeout, a}, {{call, from}, stop}},
            {terminate, shutdown, state4, undefined},
            {reply, stop, stopped},
            {down, shutdown},
            {call_exit, hej, noproc}
        ]
    };
%% #17 §1.7 generic {timeout,Name} time-outs: one per name, never cancelled
%% by a state change; infinity/cancel cancels one; last wins per name
%% ([{{timeout,j},100,j1},{{timeout,j},0,j2}] gives only j2); a time-out
%% whose content carries a From answers a call later.
scenario(generic_timeouts_survive_state_changes_and_last_wins) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm, {keep_state_and_data, [{{timeout, a}, 50, ga}, {{timeout, b}, 50, gb}, {{timeout, c}, 100, gc}]})},
            {cast, do(to_b, {next_state, b, d, {{timeout, b}, infinity, cancel_b}})},
            {cast, do(to_c, {next_state, c, d})},
            {wait, 160}, sync,
            {cast, do(lastwins, {keep_state_and_data, [{{timeout, j}, 100, j1}, {{timeout, j}, 0, j2}]})},
            {wait, 150}, sync,
            {cast, do(arm_k, {keep_state_and_data, {{timeout, k}, 40, k1}})},
            {cast, do(cancel_k, {keep_state_and_data, {{timeout, k}, cancel}})},
            {wait, 90}, sync,
            {call, do(delayed, {keep_state_and_data,
                {{timeout, r}, 30, do(fire, {keep_state_and_data, {reply, '$from', late}})}})},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm}, {a, cast, to_b}, {enter, a, b}, {b, cast, to_c}, {enter, b, c},
            {c, {timeout, a}, ga}, {c, {timeout, c}, gc}, sync,
            {c, cast, lastwins}, {c, {timeout, j}, j2}, sync,
            {c, cast, arm_k}, {c, cast, cancel_k}, sync,
            {c, {call, from}, delayed}, {c, {timeout, r}, fire}, {reply, delayed, late}, sync,
            {terminate, normal, c, d}, {stop, ok}
        ]
    };
%% #18 §1.7 "Zero time-outs and the mailbox": delivered when the queue is
%% empty, before messages already in the mailbox, in action order; a zero
%% time-out event cancels a later zero event time-out; a restart moves a
%% pending zero time-out last; a zero state time-out is cancelled by a
%% state change of an inserted event (ERL-1381); a zero event time-out of
%% a state change with postponed events never fires; the integer 0.
scenario(zero_timeouts_come_before_the_mailbox) ->
    PP = do(pp, {'$by_state', [{b, {keep_state_and_data, postpone}}], keep_state_and_data}),
    #{
        script => steps([
            pup(a, d, []),
            {suspended, [
                {cast, do(z1, {keep_state_and_data, [{timeout, 0, e0}, {state_timeout, 0, s0}, {{timeout, g}, 0, g0}]})},
                {cast, m1}
            ]},
            sync,
            {suspended, [
                {cast, do(z2, {keep_state_and_data, [{state_timeout, 0, s1}, {timeout, 0, e1}]})},
                {cast, m2}
            ]},
            sync,
            {suspended, [
                {cast, do(z3, {keep_state_and_data, [
                    {{timeout, x}, 0, x1}, {{timeout, y}, 0, y1},
                    ne(do(again, {keep_state_and_data, {{timeout, x}, 0, x2}}))
                ]})},
                {cast, m3}
            ]},
            sync,
            {suspended, [
                {cast, do(z4, {keep_state_and_data, [{state_timeout, 0, s4}, ne(do(chg, {next_state, b, d}))]})},
                {cast, m4}
            ]},
            sync,
            {cast, PP},
            sync,
            {suspended, [
                {cast, do(z5, {next_state, c, d, {timeout, 0, e5}})},
                {cast, m5}
            ]},
            sync,
            {suspended, [
                {cast, do(z6, {keep_state_and_data, 0})},
                {cast, m6}
            ]},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            suspended, resumed,
            {a, cast, z1}, {a, timeout, e0}, {a, state_timeout, s0}, {a, {timeout, g}, g0}, {a, cast, m1}, sync,
            suspended, resumed,
            {a, cast, z2}, {a, state_timeout, s1}, {a, cast, m2}, sync,
            suspended, resumed,
            {a, cast, z3}, {a, internal, again}, {a, {timeout, y}, y1}, {a, {timeout, x}, x2}, {a, cast, m3}, sync,
            suspended, resumed,
            {a, cast, z4}, {a, internal, chg}, {enter, a, b}, {b, cast, m4}, sync,
            {b, cast, pp}, sync,
            suspended, resumed,
            {b, cast, z5}, {enter, b, c}, {c, cast, pp}, {c, cast, m5}, sync,
            suspended, resumed,
            {c, cast, z6}, {c, timeout, 0}, {c, cast, m6}, sync,
            {terminate, normal, c, d}, {stop, ok}
        ]
    };
%% #19 §1.7 update and cancel; OTP gen_statem_SUITE:timeout_cancel_and_update:
%% update of a running generic time-out replaces only its message; update
%% without a time-out is a zero time-out; {timeout,update,M} always acts as
%% {timeout,0,M}; update keeps a pending zero in place; a time-out that
%% expired during a busy callback and is then updated is delivered with the
%% new message, restarted fires at its new time, and an expired event
%% time-out is cancelled exactly by the busy event.
scenario(timeout_update_and_cancel) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm1, {keep_state_and_data, {{timeout, u}, 50, old}})},
            {cast, do(upd1, {keep_state_and_data, {{timeout, u}, update, new}})},
            {wait, 100}, sync,
            {cast, do(upd2, {keep_state_and_data, {{timeout, v}, update, v_new}})},
            sync,
            {cast, do(arm3, {keep_state_and_data, {timeout, 50, e_old}})},
            {cast, do(upd3, {keep_state_and_data, {timeout, update, e_new}})},
            {wait, 100}, sync,
            {cast, do(z4, {keep_state_and_data, [
                {{timeout, p}, 0, p1}, {{timeout, q}, 0, q1},
                ne(do(upd4, {keep_state_and_data, {{timeout, p}, update, p2}}))
            ]})},
            sync,
            {cast, do(arm5, {keep_state_and_data, {{timeout, w}, 20, w_old}})},
            {cast, do(busy5, {'$sleep', 60, {keep_state_and_data, {{timeout, w}, update, w_new}}})},
            {wait, 100}, sync,
            {cast, do(arm6, {keep_state_and_data, {timeout, 20, e6}})},
            {cast, do(busy6, {'$sleep', 60, keep_state_and_data})},
            {wait, 100}, sync,
            {cast, do(arm7, {keep_state_and_data, {{timeout, r}, 20, r_old}})},
            {cast, do(busy7, {'$sleep', 60, {keep_state_and_data, {{timeout, r}, 40, r_new}}})},
            {wait, 30}, sync,
            {wait, 100}, sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm1}, {a, cast, upd1}, {a, {timeout, u}, new}, sync,
            {a, cast, upd2}, {a, {timeout, v}, v_new}, sync,
            {a, cast, arm3}, {a, cast, upd3}, {a, timeout, e_new}, sync,
            {a, cast, z4}, {a, internal, upd4}, {a, {timeout, p}, p2}, {a, {timeout, q}, q1}, sync,
            {a, cast, arm5}, {a, cast, busy5}, {a, {timeout, w}, w_new}, sync,
            {a, cast, arm6}, {a, cast, busy6}, sync,
            {a, cast, arm7}, {a, cast, busy7}, sync,
            {a, {timeout, r}, r_new}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #20 §1.7 {abs,true} with erlang:monotonic_time(millisecond): a future
%% time fires then (not before); a past time fires at once but through the
%% mailbox (after zero time-outs and after messages already there; 20 ms
%% in the past: the BEAM refuses absolute times before the VM started);
%% absolute 0 takes the zero path; [{abs,false}] with 0; an absolute state
%% time-out.
scenario(absolute_timeouts) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(abs1, {keep_state_and_data, {{timeout, f}, {'$abs', 60}, fut, {abs, true}}})},
            {wait, 10}, sync,
            {wait, 100}, sync,
            {suspended, [
                {cast, do(abs2, {keep_state_and_data, [
                    {{timeout, p}, {'$abs', -20}, past, {abs, true}}, {{timeout, z}, 0, zero}
                ]})},
                {cast, m2}
            ]},
            {wait, 20}, sync,
            {suspended, [
                {cast, do(abs3, {keep_state_and_data, {{timeout, y}, 0, y0, [{abs, true}]}})},
                {cast, m3}
            ]},
            sync,
            {suspended, [
                {cast, do(abs4, {keep_state_and_data, {{timeout, x}, 0, x0, [{abs, false}]}})},
                {cast, m4}
            ]},
            sync,
            {cast, do(abs5, {keep_state_and_data, {state_timeout, {'$abs', 30}, sabs, {abs, true}}})},
            {wait, 80}, sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, abs1}, sync,
            {a, {timeout, f}, fut}, sync,
            suspended, resumed,
            {a, cast, abs2}, {a, {timeout, z}, zero}, {a, cast, m2}, {a, {timeout, p}, past}, sync,
            suspended, resumed,
            {a, cast, abs3}, {a, {timeout, y}, y0}, {a, cast, m3}, sync,
            suspended, resumed,
            {a, cast, abs4}, {a, {timeout, x}, x0}, {a, cast, m4}, sync,
            {a, cast, abs5}, {a, state_timeout, sabs}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #42 §1.7 "An event time-out is not cancelled by messages that are
%% still in the mailbox. Cancellation happens only when an event is
%% handled, in mailbox order": a time-out that expired while the machine
%% was suspended is handled before a later cast; a cast that came before
%% the expiry cancels it although its message is already waiting ("the
%% message is removed"); of two expired timers the first one handled
%% cancels the expired event time-out. The waits leave 100 ms or more
%% beyond each time-out, so only the order is checked here.
scenario(expired_timeouts_wait_in_mailbox_order) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm1, {keep_state_and_data, {timeout, 20, t1}})},
            sync,
            {suspended, [{wait, 150}, {cast, x1}]},
            sync,
            {cast, do(arm2, {keep_state_and_data, {timeout, 40, t2}})},
            sync,
            {suspended, [{cast, x2}, {wait, 170}]},
            sync,
            {cast, do(arm3, {keep_state_and_data, [{timeout, 40, t3}, {{timeout, g}, 20, g3}]})},
            sync,
            {suspended, [{wait, 170}]},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm1}, sync,
            suspended, resumed,
            {a, timeout, t1}, {a, cast, x1}, sync,
            {a, cast, arm2}, sync,
            suspended, resumed,
            {a, cast, x2}, sync,
            {a, cast, arm3}, sync,
            suspended, resumed,
            {a, {timeout, g}, g3}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #43 §1.7 "Non-zero timers are started in reverse action order. Timers
%% of one transition with the same deadline were observed to fire in
%% start order, that is in reverse action order" (docs/semantics.md:
%% Throng does the same).
scenario(timers_with_the_same_deadline_fire_in_reverse_action_order) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm, {keep_state_and_data, [
                {{timeout, x}, 30, x}, {{timeout, y}, 30, y}, {state_timeout, 30, s}
            ]})},
            {wait, 150},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm}, {a, state_timeout, s}, {a, {timeout, y}, y}, {a, {timeout, x}, x}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #21 §1.5 / §1.9 reply actions are sent at once in list order; a second
%% reply to the same From is not an error; a call reply goes out before
%% the inserted event runs; gen_statem:reply/2 called in a callback works
%% on the From (DESIGN.md: "gen_statem:reply/2 works on Throng's From"); replies before a bad action stay sent (OTP
%% abnormal3 shape).
scenario(reply_actions_are_sent_in_order) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(r, {keep_state_and_data, [{reply, {'$fab', 3}, c}, {reply, {'$fab', 1}, a}, {reply, {'$fab', 2}, b}]})},
            {collect, 3},
            {cast, do(twice, {keep_state_and_data, [{reply, {'$fab', 4}, x}, {reply, {'$fab', 4}, y}]})},
            {collect, 2},
            {call, do(call_then_event, {keep_state_and_data, [{reply, '$from', r1}, ne(after_reply)]})},
            {call, do(via_api, {'$reply', '$from', by_gen_statem_reply, keep_state_and_data})},
            sync,
            {cast, do(bad, {keep_state_and_data, [{reply, {'$fab', 5}, sent}, badaction]})},
            {collect, 1},
            down
        ]),
        expect => pre(a) ++ [
            {a, cast, r}, {a, cast, twice}, {a, {call, from}, call_then_event}, {a, internal, after_reply},
            {a, {call, from}, via_api},
            {replies, [{3, c}, {1, a}, {2, b}]},
            {replies, [{4, x}, {4, y}]},
            {reply, call_then_event, r1},
            {reply, via_api, by_gen_statem_reply}, sync,
            {a, cast, bad}, {terminate, {bad_action_from_state_function, badaction}, a, d},
            {replies, [{5, sent}]},
            {down, {bad_action_from_state_function, badaction}}
        ]
    };
%% #40 §1.9 caller timeout: exit({timeout, _}); "When the From carries an
%% alias, replies are dropped once the caller has got its reply or timed
%% out (OTP 24+)": the machine answers the postponed call later and
%% nothing reaches the caller's mailbox. OTP abnormal1clean.
scenario(late_reply_after_a_call_timeout_is_dropped) ->
    Slow = do(slow, {'$by_state', [{a, {keep_state_and_data, postpone}}],
        {keep_state_and_data, {reply, '$from', late_reply}}}),
    #{
        script => steps([
            pup(a, d, []),
            {call, Slow, 50},
            {cast, do(to_b, {next_state, b, d})},
            sync,
            {wait, 20},
            flush,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, {call, from}, slow},
            {a, cast, to_b}, {enter, a, b}, {b, {call, from}, slow},
            {call_exit, slow, timeout}, sync,
            {terminate, normal, b, d}, {mailbox, []}, {stop, ok}
        ]
    };
%% #22 OTP gen_statem_SUITE:stop_and_reply: a reply action kept in the
%% data and a new one, sent in order by stop_and_reply, then the exit.
%% §1.10.
scenario(otp_stop_and_reply) ->
    #{
        script => steps([
            start(throng_diff_m_stop_and_reply, []),
            {cast, {echo, {'$fab', 1}, reply1}},
            {cast, {stop_and_reply, reason, {'$fab', 2}, reply2}},
            {collect, 2},
            down,
            {call, hej}
        ]),
        expect => [
            {init, start}, {started, ok}, sync,
            {start, cast, {echo, f(1), reply1}},
            {wait, cast, {stop_and_reply, reason, f(2), reply2}},
            {terminate, reason, wait, {reply, f(1), reply1}},
            {replies, [{1, reply1}, {2, reply2}]},
            {down, reason},
            {call_exit, hej, noproc}
        ]
    };
%% #23 §1.4 / §1.10 stop_and_reply answers a call whose From was saved in
%% the data and the current call, sets the data terminate/3 sees (4-tuple)
%% or keeps it (3-tuple); a single reply (not a list); {shutdown,_}.
scenario(stop_and_reply_answers_calls_and_sets_data) ->
    #{
        script => steps([
            pup(a, d, []),
            {call_async, held, do(hold, {keep_state, '$from'})},
            sync,
            {call, do(stop, {stop_and_reply, {shutdown, done}, [{reply, '$data', r_held}, {reply, '$from', r_stop}], final_data})},
            {await, held},
            down,
            pup(a, d0, []),
            {call, do(stop3, {stop_and_reply, normal, {reply, '$from', bye}})},
            down
        ]),
        expect => pre(a) ++ [
            {a, {call, from}, hold}, sync,
            {a, {call, from}, stop}, {terminate, {shutdown, done}, a, final_data},
            {reply, stop, r_stop}, {reply, held, r_held}, {down, {shutdown, done}}
        ] ++ re(a) ++ [
            {a, {call, from}, stop3}, {terminate, normal, a, d0},
            {reply, stop3, bye}, {down, normal}
        ]
    };
%% #24 §1.4 stop results and §1.10 "which state and data terminate/3
%% gets": stop (normal), {stop,R}, {stop,R,D}; stop from an enter call
%% (the new state); stop/3 (current state and data; handled after queued
%% events and zero time-outs; handled while suspended, queued events
%% dropped; a second stop/3 exits noproc; a cast to a dead machine is ok).
%% OTP stop1-stop7, shutdown.
scenario(stop_results_and_what_terminate_sees) ->
    EnterStop = #{{enter, b} => {stop, from_enter}},
    #{
        script => steps([
            pup(a, d0, []),
            {cast, do(s, stop)}, down,
            pup(a, d0, []),
            {cast, do(s, {stop, bye})}, down,
            pup(a, d0, []),
            {cast, do(s, {stop, bye, d1})}, down,
            pup(a, EnterStop, []),
            {cast, do(go, {next_state, b, '$data'})}, down,
            pup(a, d0, []),
            {cast, do(to_b, {next_state, b, d2})},
            {stop, shut},
            {stop, again},
            {cast, after_death},
            {call, hej},
            pup(a, d0, []),
            {cast, do(z, {keep_state_and_data, [{{timeout, g}, 0, g0}, ne(i)]})},
            {stop, normal},
            pup(a, d0, []),
            {suspended, [{cast, q1}, {stop, bye}]}
        ]),
        expect => pre(a) ++ [
            {a, cast, s}, {terminate, normal, a, d0}, {down, normal}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, bye, a, d0}, {down, bye}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, bye, a, d1}, {down, bye}
        ] ++ re(a) ++ [
            {a, cast, go}, {enter, a, b}, {terminate, from_enter, b, EnterStop}, {down, from_enter}
        ] ++ re(a) ++ [
            {a, cast, to_b}, {enter, a, b}, {terminate, shut, b, d2}, {stop, ok},
            {stop_exit, noproc},
            {call_exit, hej, noproc}
        ] ++ re(a) ++ [
            {a, cast, z}, {a, internal, i}, {a, {timeout, g}, g0}, {terminate, normal, a, d0}, {stop, ok}
        ] ++ re(a) ++ [
            suspended, {terminate, bye, a, d0}, {stop, ok}
        ]
    };
%% #25 §1.9 caller errors / §1.10.5 "Pending callers get no reply. Their
%% calls fail through their monitor with the stop reason": a postponed
%% call, a call whose From is in the data, a queued call; afterwards calls
%% exit noproc, casts return ok, stop/3 exits noproc.
scenario(callers_exit_with_the_stop_reason) ->
    #{
        script => steps([
            pup(a, d, []),
            {call_async, postponed, do(p, {keep_state_and_data, postpone})},
            {call_async, stored, do(s, {keep_state, '$from'})},
            sync,
            {suspended, [
                {cast, do(die, {stop, bye})},
                {call_async, queued, q}
            ]},
            {await, postponed},
            {await, stored},
            {await, queued},
            down,
            {cast, after_death},
            {call, hej},
            {stop, again}
        ]),
        expect => pre(a) ++ [
            {a, {call, from}, p}, {a, {call, from}, s}, sync,
            suspended, resumed,
            {a, cast, die}, {terminate, bye, a, from},
            {call_exit, postponed, bye}, {call_exit, stored, bye}, {call_exit, queued, bye},
            {down, bye},
            {call_exit, hej, noproc},
            {stop_exit, noproc}
        ]
    };
%% #41 §1.10.2 "terminate/3 is called if exported; it is optional"; OTP
%% gen_statem_SUITE:undef_terminate1 (stop/1 -> normal), undef_terminate2
%% (stop/3 with {error,test}); a stop result of a module without
%% terminate/3.
scenario(terminate_is_optional) ->
    M = throng_diff_m_no_terminate,
    #{
        script => steps([
            start(M, []),
            {stop, normal},
            start(M, []),
            {call, ping},
            {stop, {error, test}},
            start(M, []),
            {cast, {stop, bye}},
            down
        ]),
        expect => [
            {init, idle}, {started, ok}, sync, {stop, ok},
            restart, {init, idle}, {started, ok}, sync,
            {idle, {call, from}, ping}, {reply, ping, pong}, {stop, ok},
            restart, {init, idle}, {started, ok}, sync,
            {idle, cast, {stop, bye}}, {down, bye}
        ]
    };
%% #26 OTP gen_statem_SUITE:abnormal2; §1.4, §1.11
%% {bad_return_from_state_function,R} from an event callback (terminate/3
%% gets the state and data the callback was called with) and from an enter
%% call (already the new state).
scenario(bad_return_from_state_function) ->
    BadEnter = #{{enter, b} => bad_enter},
    #{
        script => steps([
            pup(a, d0, []),
            {call, do(badreturn, badreturn)},
            down,
            {call, hej},
            pup(a, BadEnter, []),
            {cast, do(go, {next_state, b, '$data'})},
            down
        ]),
        expect => pre(a) ++ [
            {a, {call, from}, badreturn},
            {terminate, {bad_return_from_state_function, badreturn}, a, d0},
            {call_exit, badreturn, {bad_return_from_state_function, badreturn}},
            {down, {bad_return_from_state_function, badreturn}},
            {call_exit, hej, noproc}
        ] ++ re(a) ++ [
            {a, cast, go}, {enter, a, b},
            {terminate, {bad_return_from_state_function, bad_enter}, b, BadEnter},
            {down, {bad_return_from_state_function, bad_enter}}
        ]
    };
%% #27 OTP gen_statem_SUITE:abnormal3, abnormal4; §1.5, §1.11
%% {bad_action_from_state_function,A}: an unknown action, a time-out-like
%% 3-tuple, a reply with a bad From, a next_event with a bad type or bad
%% From, a negative relative time, bad time-out options, update in the
%% 4-tuple, a module change to a non-atom, a negative bare integer, a
%% non-boolean postpone/hibernate. terminate/3 gets the new state and data
%% of the result; the enter call of the state change is never made (the
%% actions fail first).
scenario(bad_actions) ->
    Bads = [
        badaction,
        {badtimeout, 4711, ouch},
        {reply, not_a_from, x},
        {next_event, bad_type, x},
        {next_event, {call, not_a_from}, x},
        {timeout, -1, neg},
        {{timeout, n}, 10, m, [{abs, maybe}]},
        {{timeout, n}, -10, m, [{abs, false}]},
        {timeout, update, m, []},
        {change_callback_module, "not_an_atom"},
        -5,
        {postpone, maybe},
        {hibernate, maybe}
    ],
    #{
        script => steps([
            [pup(a, d0, []), {call, do({bad, I}, {next_state, b, d1, [Bad]})}, down]
         || {I, Bad} <- lists:enumerate(Bads)
        ]),
        expect => lists:append([
            [restart || I > 1] ++ pre(a) ++ [
                {a, {call, from}, {bad, I}},
                {terminate, {bad_action_from_state_function, Bad}, b, d1},
                {call_exit, {bad, I}, {bad_action_from_state_function, Bad}},
                {down, {bad_action_from_state_function, Bad}}
            ]
         || {I, Bad} <- lists:enumerate(Bads)
        ])
    };
%% #28 §1.4, §1.5, §1.11 enter-call results and actions: a state change is
%% {bad_state_enter_return_from_state_function,R}; postpone, next_event and
%% module changes are {bad_state_enter_action_from_state_function,A}, but
%% {postpone,true} is {bad_action_from_state_function,{postpone,true}},
%% and so is pop_callback_module on a one-module stack (it does not match
%% the module-change clause at all), while on a two-module stack it is
%% {bad_state_enter_action_from_state_function,pop_callback_module}; {postpone,false}, replies, hibernate
%% and time-outs are allowed.
scenario(bad_state_enter_results_and_actions) ->
    Enter = fun(Spec) -> #{{enter, b} => Spec} end,
    Case = fun(Spec) -> [pup(a, Enter(Spec), []), {cast, do(go, {next_state, b, '$data'})}, down] end,
    ChangeState = Enter({next_state, c, '$data'}),
    Good = Enter({next_state, b, '$data', [
        {postpone, false}, {reply, {'$fab', 1}, from_enter}, hibernate, {state_timeout, 30, st}
    ]}),
    Bad = fun(Spec, Reason) ->
        [restart || Spec =/= {next_state, c, '$data'}] ++ pre(a) ++ [
            {a, cast, go}, {enter, a, b},
            {terminate, Reason, b, Enter(Spec)},
            {down, Reason}
        ]
    end,
    #{
        script => steps([
            Case({next_state, c, '$data'}),
            Case({keep_state_and_data, postpone}),
            Case({keep_state_and_data, {postpone, true}}),
            Case({keep_state_and_data, ne(x)}),
            Case({keep_state_and_data, {change_callback_module, throng_diff_m_mod_a}}),
            Case({keep_state_and_data, {push_callback_module, throng_diff_m_mod_a}}),
            Case({keep_state_and_data, pop_callback_module}),
            %% The same pop with two modules on the stack (the init actions
            %% push the puppet on itself).
            pup(a, Enter({keep_state_and_data, pop_callback_module}), [{push_callback_module, ?P}]),
            {cast, do(go, {next_state, b, '$data'})},
            down,
            start(?P, {a, Good, []}),
            {cast, do(go, {next_state, b, '$data'})},
            {collect, 1},
            {wait, 80},
            sync,
            {stop, normal}
        ]),
        expect =>
            Bad({next_state, c, '$data'}, {bad_state_enter_return_from_state_function, {next_state, c, ChangeState}}) ++
            Bad({keep_state_and_data, postpone}, {bad_state_enter_action_from_state_function, postpone}) ++
            Bad({keep_state_and_data, {postpone, true}}, {bad_action_from_state_function, {postpone, true}}) ++
            Bad({keep_state_and_data, ne(x)}, {bad_state_enter_action_from_state_function, ne(x)}) ++
            Bad({keep_state_and_data, {change_callback_module, throng_diff_m_mod_a}},
                {bad_state_enter_action_from_state_function, {change_callback_module, throng_diff_m_mod_a}}) ++
            Bad({keep_state_and_data, {push_callback_module, throng_diff_m_mod_a}},
                {bad_state_enter_action_from_state_function, {push_callback_module, throng_diff_m_mod_a}}) ++
            Bad({keep_state_and_data, pop_callback_module},
                {bad_action_from_state_function, pop_callback_module}) ++
            Bad({keep_state_and_data, pop_callback_module},
                {bad_state_enter_action_from_state_function, pop_callback_module}) ++
            [
                restart, {init, a}, {enter, a, a}, {started, ok}, sync,
                {a, cast, go}, {enter, a, b}, {b, state_timeout, st},
                {replies, [{1, from_enter}]}, sync,
                {terminate, normal, b, normalized_good()}, {stop, ok}
            ]
    };
%% #29 §1.10.1 / §1.11 stop_and_reply replies must all be {reply,From,R}
%% with a valid From, else {bad_reply_action_from_state_function,R}; the
%% replies before the bad one are sent; a single reply need not be in a
%% list.
scenario(bad_reply_action_in_stop_and_reply) ->
    #{
        script => steps([
            pup(a, d0, []),
            {cast, do(s, {stop_and_reply, bye, [{reply, {'$fab', 1}, ok1}, notareply, {reply, {'$fab', 2}, ok2}], d1})},
            {collect, 1},
            down,
            pup(a, d0, []),
            {cast, do(s, {stop_and_reply, bye, [{reply, not_a_from, x}]})},
            down,
            pup(a, d0, []),
            {cast, do(s, {stop_and_reply, bye, {reply, {'$fab', 3}, single}})},
            {collect, 1},
            down
        ]),
        expect => pre(a) ++ [
            {a, cast, s}, {terminate, {bad_reply_action_from_state_function, notareply}, a, d1},
            {replies, [{1, ok1}]},
            {down, {bad_reply_action_from_state_function, notareply}}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, {bad_reply_action_from_state_function, {reply, not_a_from, x}}, a, d0},
            {down, {bad_reply_action_from_state_function, {reply, not_a_from, x}}}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, bye, a, d0},
            {replies, [{3, single}]},
            {down, bye}
        ]
    };
%% #30 §1.3 "throw(Result) is a valid return"; §1.10 exceptions: class
%% error gives {Reason,Stack} (compared without the stack), class exit
%% Reason; terminate/3 gets the state and data from before the event, also
%% when the enter call raised; a throw from terminate/3 is ignored, an
%% exception from it replaces the exit reason (also the one stop/3 exits
%% with; OTP undef_in_terminate).
scenario(exceptions_and_throw) ->
    EnterCrash = {'$raise', error, enter_crash},
    D1 = #{{enter, b} => EnterCrash, v => 1},
    D2 = #{{enter, b} => EnterCrash, v => 2},
    #{
        script => steps([
            pup(a, d0, []),
            {call, do(t, {'$throw', {keep_state, d1, {reply, '$from', thrown}}})},
            get_state,
            {call, do(boom, {'$raise', error, kaboom})},
            down,
            pup(a, d0, []),
            {call, do(bye, {'$raise', exit, bye})},
            down,
            pup(a, D1, []),
            {cast, do(go, {next_state, b, D2})},
            down,
            pup(a, #{terminate => {'$throw', ignored}}, []),
            {cast, do(s, {stop, bye})},
            down,
            pup(a, #{terminate => {'$raise', exit, from_terminate}}, []),
            {cast, do(s, {stop, bye})},
            down,
            pup(a, #{terminate => {'$raise', error, error_in_terminate}}, []),
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, {call, from}, t}, {reply, t, thrown}, {state, a, d1},
            {a, {call, from}, boom}, {terminate, kaboom, a, d1},
            {call_exit, boom, kaboom}, {down, kaboom}
        ] ++ re(a) ++ [
            {a, {call, from}, bye}, {terminate, bye, a, d0},
            {call_exit, bye, bye}, {down, bye}
        ] ++ re(a) ++ [
            {a, cast, go}, {enter, a, b}, {terminate, enter_crash, a, D1}, {down, enter_crash}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, bye, a, #{terminate => {'$throw', ignored}}}, {down, bye}
        ] ++ re(a) ++ [
            {a, cast, s}, {terminate, bye, a, #{terminate => {'$raise', exit, from_terminate}}},
            {down, from_terminate}
        ] ++ re(a) ++ [
            {terminate, normal, a, #{terminate => {'$raise', error, error_in_terminate}}},
            {stop_exit, error_in_terminate}
        ]
    };
%% #31 OTP design principles, code lock with state_functions and
%% state_enter (OTP 25 chapter): sliding window of buttons, open with a
%% state time-out, buttons postponed in open and retried in locked,
%% code_length in every state, terminate locks. First OTP code lock.
scenario(code_lock_state_functions) ->
    #{
        script => steps([
            start(throng_diff_m_code_lock, {[1, 2, 3], 40, 5000}),
            {cast, {button, 1}}, {cast, {button, 2}}, {cast, {button, 3}}, sync,
            {cast, {button, 4}}, {call, code_length}, sync,
            {wait, 90}, sync,
            get_state,
            {cast, {button, 9}}, {cast, {button, 1}}, {cast, {button, 2}}, {cast, {button, 3}}, sync,
            {stop, normal}
        ]),
        expect => [
            {init, locked}, do_lock, {locked, enter, locked}, do_lock, {started, ok}, sync,
            {locked, cast, {button, 1}}, {locked, cast, {button, 2}}, {locked, cast, {button, 3}},
            {open, enter, locked}, do_unlock, sync,
            {open, cast, {button, 4}}, {open, {call, from}, code_length}, {reply, code_length, 3}, sync,
            {open, state_timeout, lock}, {locked, enter, open}, do_lock, {locked, cast, {button, 4}}, sync,
            {state, locked, #{code => [1, 2, 3], length => 3, buttons => [4], open_time => 40, button_time => 5000}},
            {locked, cast, {button, 9}}, {locked, cast, {button, 1}}, {locked, cast, {button, 2}},
            {locked, cast, {button, 3}}, {open, enter, locked}, do_unlock, sync,
            {terminate, normal, open}, do_lock, {stop, ok}
        ]
    };
%% #32 OTP design principles, "Example Revisited" with
%% handle_event_function: entry actions as inserted {internal,enter}
%% events, an Erlang timer for the open time (throng:start_timer/2 on
%% Throng), buttons postponed in open. Second OTP code lock.
scenario(code_lock_handle_event_function) ->
    #{
        script => steps([
            start(throng_diff_m_code_lock_hef, {[1, 2, 3], 40}),
            {cast, {button, 1}}, {cast, {button, 2}}, {cast, {button, 3}}, sync,
            {cast, {button, 4}}, {call, code_length}, sync,
            {wait, 90}, sync,
            {cast, {button, 9}}, sync,
            {cast, {button, 1}}, {cast, {button, 2}}, {cast, {button, 3}}, sync,
            {stop, normal}
        ]),
        expect => [
            {init, locked}, {locked, internal, enter}, do_lock, {started, ok}, sync,
            {locked, cast, {button, 1}}, {locked, cast, {button, 2}}, {locked, cast, {button, 3}},
            {open, internal, enter}, do_unlock, sync,
            {open, cast, {button, 4}}, {open, {call, from}, code_length}, {reply, code_length, 3}, sync,
            {open, info, {timeout, '$ref', lock}}, {locked, internal, enter}, do_lock,
            {locked, cast, {button, 4}}, sync,
            {locked, cast, {button, 9}}, sync,
            {locked, cast, {button, 1}}, {locked, cast, {button, 2}}, {locked, cast, {button, 3}},
            {open, internal, enter}, do_unlock, sync,
            {terminate, normal, open}, do_lock, {stop, ok}
        ]
    };
%% #33 OTP design principles, "Complex State": the state {StateName,
%% LockButton}; set_lock_button/1 changes the state, so a postponed button
%% call that is now the lock button is retried at once and locks (§1.6:
%% a state change is =/= of the whole state term). Third OTP code lock.
scenario(code_lock_complex_state) ->
    Buttons = [{call, {button, 1}}, {call, {button, 2}}, {call, {button, 3}}],
    #{
        script => steps([
            start(throng_diff_m_code_lock_complex, {[1, 2, 3], x, 300}),
            Buttons, sync,
            {call_async, b9, {button, 9}}, sync,
            {call, code_length},
            {call, {set_lock_button, 9}},
            {await, b9},
            get_state,
            Buttons, sync,
            {wait, 400}, sync,
            {stop, normal}
        ]),
        expect => [
            {init, locked, x}, {{locked, x}, internal, enter}, do_lock, {started, ok}, sync,
            {{locked, x}, {call, from}, {button, 1}},
            {{locked, x}, {call, from}, {button, 2}},
            {{locked, x}, {call, from}, {button, 3}},
            {{open, x}, internal, enter}, do_unlock,
            {reply, {button, 1}, ok}, {reply, {button, 2}, ok}, {reply, {button, 3}, ok}, sync,
            {{open, x}, {call, from}, {button, 9}}, sync,
            {{open, x}, {call, from}, code_length},
            {{open, x}, {call, from}, {set_lock_button, 9}},
            {{open, 9}, {call, from}, {button, 9}},
            {{locked, 9}, internal, enter}, do_lock,
            {reply, code_length, 3}, {reply, {set_lock_button, 9}, x}, {reply, b9, locked},
            {state, {locked, 9}, #{code => [1, 2, 3], remaining => [1, 2, 3], timer => '$ref', open_time => 300}},
            {{locked, 9}, {call, from}, {button, 1}},
            {{locked, 9}, {call, from}, {button, 2}},
            {{locked, 9}, {call, from}, {button, 3}},
            {{open, 9}, internal, enter}, do_unlock,
            {reply, {button, 1}, ok}, {reply, {button, 2}, ok}, {reply, {button, 3}, ok}, sync,
            {{open, 9}, info, {timeout, '$ref', lock}}, {{locked, 9}, internal, enter}, do_lock, sync,
            {terminate, normal, {locked, 9}}, do_lock, {stop, ok}
        ]
    };
%% #34 GenStateMachine state_enter_test.exs "handle_event_function and
%% state_enter": an enter call on init and on each state change, none for
%% a same-state next_state; an enter call may return next_state to its
%% own state. After three flips: enters 4, flips 2. §1.8.
scenario(switch_counts_enter_calls) ->
    #{
        script => steps([
            start(throng_diff_m_switch, []),
            {cast, flip}, {cast, flip}, {cast, stay}, {cast, flip},
            {call, get_count},
            {stop, normal}
        ]),
        expect => [
            {init, off}, {off, enter, off}, {started, ok}, sync,
            {off, cast, flip}, {on, enter, off},
            {on, cast, flip}, {off, enter, on},
            {off, cast, stay},
            {off, cast, flip}, {on, enter, off},
            {on, call, get_count},
            {terminate, normal, on, #{enters => 4, flips => 2}},
            {reply, get_count, #{enters => 4, flips => 2}},
            {stop, ok}
        ]
    };
%% #35 §1.12 hibernate / {hibernate,Bool} (last wins) has no effect on
%% event order or time-outs. OTP gen_statem_SUITE:hibernate (order part).
scenario(hibernate_has_no_effect_on_order) ->
    #{
        script => steps([
            pup(a, d, []),
            {suspended, [
                {cast, do(h1, {keep_state_and_data, [hibernate, ne(i1), {{timeout, g}, 0, g0}]})},
                {cast, m}
            ]},
            sync,
            {cast, do(h2, {keep_state_and_data, [{hibernate, true}, {timeout, 30, t}]})},
            {wait, 80}, sync,
            {cast, do(h3, {keep_state_and_data, [hibernate, {hibernate, false}]})},
            get_state,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            suspended, resumed,
            {a, cast, h1}, {a, internal, i1}, {a, {timeout, g}, g0}, {a, cast, m}, sync,
            {a, cast, h2}, {a, timeout, t}, sync,
            {a, cast, h3}, {state, a, d},
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #36 §1.3 "Messages that are not events" and §1.7 "An event time-out is
%% not cancelled by system messages"; OTP gen_statem_SUITE:sys1: a
%% suspended machine handles no events (casts, infos, calls wait) but
%% answers get_state; resume releases them in order; stop/3 is handled
%% after the queued events and zero time-outs.
scenario(system_requests_are_not_events) ->
    #{
        script => steps([
            pup(a, d, []),
            {cast, do(arm, {keep_state_and_data, {timeout, 60, t}})},
            get_state, sync,
            {wait, 110}, sync,
            {suspended, [
                {cast, x},
                {info, y},
                {call_async, c, do(c, {keep_state_and_data, {reply, '$from', c_reply}})},
                get_state
            ]},
            {await, c},
            sync,
            {cast, do(z, {keep_state_and_data, [{{timeout, g}, 0, g0}, ne(i)]})},
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            {a, cast, arm}, {state, a, d}, sync,
            {a, timeout, t}, sync,
            suspended, {state, a, d}, resumed,
            {a, cast, x}, {a, info, y}, {a, {call, from}, c},
            {reply, c, c_reply}, sync,
            {a, cast, z}, {a, internal, i}, {a, {timeout, g}, g0},
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #37 §1.3: a message the machine sends itself (gen_statem: self() ! M;
%% Throng: throng:send(throng:self(), M)) is an info event that goes
%% through the mailbox: after inserted events, zero time-outs and the
%% messages already there. OTP gen_statem_SUITE:state_timeout
%% (message_to_self). A {timeout,Ref,Type} message whose Ref is not a
%% registered timer's is an info event.
scenario(self_send_is_an_info_event_behind_the_mailbox) ->
    #{
        script => steps([
            pup(a, d, []),
            {suspended, [
                {cast, do(s, {'$self_send', ping_self, {keep_state_and_data, [ne(i), {{timeout, g}, 0, g0}]}})},
                {cast, m}
            ]},
            sync,
            {info, {timeout, not_the_ref, state_timeout}},
            sync,
            {stop, normal}
        ]),
        expect => pre(a) ++ [
            suspended, resumed,
            {a, cast, s}, {a, internal, i}, {a, {timeout, g}, g0}, {a, cast, m}, {a, info, ping_self}, sync,
            {a, info, {timeout, not_the_ref, state_timeout}}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ]
    };
%% #38 §1.16 the OTP defect: a pending zero state time-out restarted with
%% a time > 0 loses its timer ref in OTP 25; the timer message then
%% arrives as an info event. Throng restarts the time-out instead
%% (docs/semantics.md, "Where Throng differs"): its trace is compared with
%% the intended behaviour.
scenario(otp_defect_zero_timeout_restarted_with_a_time) ->
    Script = steps([
        {start, ?P, {a, d, [{state_timeout, 0, zero}, ne(do(go, {keep_state_and_data, {state_timeout, 50, hundred}}))]}},
        {wait, 120},
        sync,
        {stop, normal}
    ]),
    #{
        script => Script,
        expect => [
            {init, a}, {enter, a, a}, {a, internal, go},
            {a, info, {timeout, '$ref', state_timeout}},
            {started, ok}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ],
        throng_expect => [
            {init, a}, {enter, a, a}, {a, internal, go},
            {a, state_timeout, hundred},
            {started, ok}, sync,
            {terminate, normal, a, d}, {stop, ok}
        ],
        deviation => "GEN_STATEM_SEMANTICS.md 1.16; docs/semantics.md"
    }.

%%====================================================================
%% Script helpers
%%====================================================================

%% A script may nest lists of steps; tuples are left alone.
steps(Steps) ->
    lists:flatten(Steps).

%% Start a machine and wait until its init transition is done.
start(Module, Args) ->
    [{start, Module, Args}, sync].

%% Start a throng_diff_m_puppet in State with Data and init Actions.
pup(State, Data, Actions) ->
    start(?P, {State, Data, Actions}).

%% What a puppet started with pup(State, _, []) logs up to the first sync.
pre(State) ->
    [{init, State}, {enter, State, State}, {started, ok}, sync].

%% The same for a machine that is not the first of its script.
re(State) ->
    [restart | pre(State)].

do(Label, Spec) ->
    {do, Label, Spec}.

ne(Content) ->
    {next_event, internal, Content}.

%% A fabricated From as it shows in a trace.
f(N) ->
    {'$pid', {diff_tag, N}}.

%% The data of the last machine of bad_state_enter_results_and_actions as
%% terminate/3 logs it: the fabricated From normalised.
normalized_good() ->
    #{{enter, b} => {next_state, b, '$data', [
        {postpone, false}, {reply, f(1), from_enter}, hibernate, {state_timeout, 30, st}
    ]}}.
