%%% A [state_functions, state_enter] callback module: `idle' and `busy'.
%%% `go' (a call in idle) moves to busy without replying; busy's enter call
%%% replies to the From saved in the data. `bad_enter' (a cast in idle)
%%% moves to `bad', whose enter call returns a state change (illegal).
%%% Enter calls are sent to the test process as `{enter, State, OldState}'.
-module(throng_t_enter).

-export([callback_mode/0, init/1, idle/3, busy/3, bad/3, terminate/3]).

callback_mode() ->
    [state_functions, state_enter].

init(Test) ->
    {ok, idle, #{test => Test}}.

idle(enter, Old, #{test := Test}) ->
    Test ! {enter, idle, Old},
    keep_state_and_data;
idle({call, From}, go, Data) ->
    {next_state, busy, Data#{from => From}};
idle(cast, bad_enter, Data) ->
    {next_state, bad, Data}.

busy(enter, Old, #{test := Test, from := From} = Data) ->
    Test ! {enter, busy, Old},
    {keep_state, maps:remove(from, Data), [{reply, From, {entered, busy, Old}}]};
busy({call, From}, back, Data) ->
    {next_state, idle, Data, [{reply, From, ok}]}.

bad(enter, _Old, Data) ->
    {next_state, idle, Data}.

terminate(Reason, State, #{test := Test} = Data) ->
    Test ! {terminate, ?MODULE, Reason, State, Data}.
