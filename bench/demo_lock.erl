%%% @doc The code lock of OTP's gen_statem design principles, as the demo
%%% runs it: the same module on `gen_statem' and on Throng.
%%%
%%% `{button, Digit}' casts; the right code opens the door for `OpenMs'
%%% (a state time-out), then it locks again (at once on a `lock' cast). Opening, relocking and
%%% buttons pressed while the door is open are counted (indexes 1, 2, 3) in
%%% a `counters' array kept in `persistent_term' (a counters reference
%%% cannot live in a session's data: data is stored encoded).
-module(demo_lock).

-export([init/1, callback_mode/0, locked/3, open/3]).

%% @private
-spec init({[integer()], non_neg_integer()}) -> {ok, locked, map()}.
init({Code, OpenMs}) ->
    {ok, locked, #{code => Code, remaining => Code, open_ms => OpenMs}}.

%% @private
-spec callback_mode() -> state_functions.
callback_mode() ->
    state_functions.

%% @private
-spec locked(gen_statem:event_type(), term(), map()) -> gen_statem:event_handler_result(atom()).
locked(cast, {button, Digit}, #{code := Code, remaining := Remaining, open_ms := Ms} = Data) ->
    case Remaining of
        [Digit] ->
            counters:add(persistent_term:get(demo_lock_counters), 1, 1),
            {next_state, open, Data#{remaining := Code}, [{state_timeout, Ms, lock}]};
        [Digit | Rest] ->
            {next_state, locked, Data#{remaining := Rest}};
        _ ->
            {next_state, locked, Data#{remaining := Code}}
    end;
locked({call, From}, state, _Data) ->
    {keep_state_and_data, [{reply, From, locked}]}.

%% @private
-spec open(gen_statem:event_type(), term(), map()) -> gen_statem:event_handler_result(atom()).
open(state_timeout, lock, Data) ->
    counters:add(persistent_term:get(demo_lock_counters), 2, 1),
    {next_state, locked, Data};
open(cast, lock, Data) ->
    counters:add(persistent_term:get(demo_lock_counters), 2, 1),
    {next_state, locked, Data};
open(cast, {button, _}, Data) ->
    counters:add(persistent_term:get(demo_lock_counters), 3, 1),
    {next_state, open, Data};
open({call, From}, state, _Data) ->
    {keep_state_and_data, [{reply, From, open}]}.
