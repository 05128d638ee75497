//! Atoms the glue reads and writes.

rustler::atoms! {
    ok, error, ignore, undefined, normal, badarg, noproc, queue_full, too_many_sessions, not_waiting, gone,
    throng,
    next_state, keep_state, keep_state_and_data, repeat_state, repeat_state_and_data, stop, stop_and_reply,
    postpone, hibernate, reply, next_event, change_callback_module, push_callback_module, pop_callback_module,
    timeout, state_timeout, cancel, update, infinity, abs,
    call, cast, info, internal, enter,
    state_functions, handle_event_function, state_enter,
    bad_return_from_init, bad_return_from_callback_mode, bad_return_from_state_function,
    bad_state_enter_return_from_state_function, bad_action_from_state_function,
    bad_state_enter_action_from_state_function, bad_reply_action_from_state_function,
    init, event, terminate,
    inline, none, calls, all, run,
    throng_ring = "$throng_ring",
    down = "DOWN",
    stopped,
    state, data, queue_len, postponed_len, timeouts, modules, callback_mode, suspended, busy,
    reason, current, queue, postponed, get_state, get_status, suspend, resume, sync,
    replace_state,
    sessions, queued_events, timers, table_bytes, memory, executor_queue, inline_runs, live,
    true_ = "true", false_ = "false",
}
