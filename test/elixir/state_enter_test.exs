defmodule Throng.StateEnterTest do
  # GenStateMachine's state_enter_test.exs, on Throng, and the enter-call
  # rules it rests on (OTP's statem design principles, "State Enter
  # Calls"). Each machine also runs on :gen_statem, which must agree.
  use ExUnit.Case, async: true

  alias Throng.StateMachine, as: SM

  setup_all do
    # Elixir's Logger is not among throng's applications; :capture_log
    # needs it.
    {:ok, _} = Application.ensure_all_started(:logger)
    :ok
  end

  defmodule HandleEventSwitch do
    use Throng.StateMachine, callback_mode: [:handle_event_function, :state_enter]

    def handle_event(:enter, _old_state, state, data) do
      {:next_state, state, %{data | enters: data.enters + 1}}
    end

    def handle_event(:cast, :flip, :off, data) do
      {:next_state, :on, %{data | flips: data.flips + 1}}
    end

    def handle_event(:cast, :flip, :on, data) do
      {:next_state, :off, data}
    end

    def handle_event({:call, from}, :get_count, _state, data) do
      {:keep_state_and_data, [{:reply, from, data}]}
    end
  end

  defmodule StateFunctionsSwitch do
    use Throng.StateMachine, callback_mode: [:state_functions, :state_enter]

    def off(:enter, _old_state, data), do: {:keep_state, %{data | enters: data.enters + 1}}
    def off(:cast, :flip, data), do: {:next_state, :on, %{data | flips: data.flips + 1}}
    def off({:call, from}, :get_count, data), do: {:keep_state_and_data, [{:reply, from, data}]}

    def on(:enter, _old_state, data), do: {:keep_state, %{data | enters: data.enters + 1}}
    def on(:cast, :flip, data), do: {:next_state, :off, data}
    def on({:call, from}, :get_count, data), do: {:keep_state_and_data, [{:reply, from, data}]}
  end

  # Records every callback as {kind, old_or_event, state}, newest first.
  defmodule Tracer do
    use Throng.StateMachine, callback_mode: [:handle_event_function, :state_enter]

    def handle_event(:enter, old_state, state, trace) do
      {:keep_state, [{:enter, old_state, state} | trace]}
    end

    def handle_event(:cast, {:go, next}, state, trace) do
      {:next_state, next, [{:cast, {:go, next}, state} | trace]}
    end

    def handle_event(:cast, :repeat, state, trace) do
      {:repeat_state, [{:cast, :repeat, state} | trace]}
    end

    def handle_event(:cast, :keep, state, trace) do
      {:keep_state, [{:cast, :keep, state} | trace]}
    end

    def handle_event({:call, from}, :trace, _state, trace) do
      {:keep_state_and_data, [{:reply, from, Enum.reverse(trace)}]}
    end
  end

  # An enter call may not change the state.
  defmodule BadEnter do
    use Throng.StateMachine, callback_mode: [:handle_event_function, :state_enter]

    def handle_event(:enter, _old_state, :start, data), do: {:keep_state, data}
    def handle_event(:enter, _old_state, :moved, data), do: {:next_state, :elsewhere, data}
    def handle_event(:cast, :move, :start, data), do: {:next_state, :moved, data}
  end

  @zero %{enters: 0, flips: 0}

  # Three flips on Throng, then on :gen_statem; both answers.
  defp flip3(module) do
    {:ok, session} = SM.start_link(module, {:off, @zero})
    for _ <- 1..3, do: :ok = SM.cast(session, :flip)
    on_throng = SM.call(session, :get_count)

    {:ok, pid} = :gen_statem.start_link(module, {:off, @zero}, [])
    for _ <- 1..3, do: :ok = :gen_statem.cast(pid, :flip)
    on_gen_statem = :gen_statem.call(pid, :get_count)
    :ok = :gen_statem.stop(pid)

    {on_throng, on_gen_statem}
  end

  defp trace(events) do
    {:ok, session} = SM.start_link(Tracer, {:idle, []})
    for event <- events, do: :ok = SM.cast(session, event)
    on_throng = SM.call(session, :trace)

    {:ok, pid} = :gen_statem.start_link(Tracer, {:idle, []}, [])
    for event <- events, do: :ok = :gen_statem.cast(pid, event)
    on_gen_statem = :gen_statem.call(pid, :trace)
    :ok = :gen_statem.stop(pid)

    assert on_throng == on_gen_statem
    on_throng
  end

  test "handle_event_function and state_enter" do
    # The initial enter call, then one per state change (flip, flip, flip).
    assert flip3(HandleEventSwitch) == {%{enters: 4, flips: 2}, %{enters: 4, flips: 2}}
  end

  test "state_functions and state_enter" do
    assert flip3(StateFunctionsSwitch) == {%{enters: 4, flips: 2}, %{enters: 4, flips: 2}}
  end

  test "the initial enter call has the initial state as its old state" do
    assert trace([]) == [{:enter, :idle, :idle}]
  end

  test "a state change makes an enter call with the old state" do
    assert trace([{:go, :busy}, {:go, :idle}]) == [
             {:enter, :idle, :idle},
             {:cast, {:go, :busy}, :idle},
             {:enter, :idle, :busy},
             {:cast, {:go, :idle}, :busy},
             {:enter, :busy, :idle}
           ]
  end

  test "next_state to the same state and keep_state make no enter call; repeat_state does" do
    assert trace([{:go, :idle}, :keep, :repeat]) == [
             {:enter, :idle, :idle},
             {:cast, {:go, :idle}, :idle},
             {:cast, :keep, :idle},
             {:cast, :repeat, :idle},
             {:enter, :idle, :idle}
           ]
  end

  @tag :capture_log
  test "a state change from an enter call stops the session" do
    {:ok, session} = SM.start_link(BadEnter, {:start, :data})
    ref = SM.monitor(session)
    :ok = SM.cast(session, :move)

    assert_receive {:DOWN, ^ref, :throng, ^session, on_throng}, 5_000

    {:ok, pid} = :gen_statem.start(BadEnter, {:start, :data}, [])
    ref = Process.monitor(pid)
    :ok = :gen_statem.cast(pid, :move)
    assert_receive {:DOWN, ^ref, :process, ^pid, on_gen_statem}, 5_000

    expected = {:bad_state_enter_return_from_state_function, {:next_state, :elsewhere, :data}}
    assert without_stack(on_gen_statem) == expected
    assert without_stack(on_throng) == expected
  end

  # An error-class exit reason is {reason, stacktrace}; the stacktrace is
  # gen_statem's own code, or none on Throng.
  defp without_stack({reason, []}), do: reason
  defp without_stack({reason, [{_, _, _, _} | _]}), do: reason
  defp without_stack(reason), do: reason
end
