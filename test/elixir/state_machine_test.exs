# The Switch of Throng.StateMachine's first moduledoc example, which the
# function doctests start. (The moduledoc examples define their own
# Switch modules inside their doctests.)
defmodule Switch do
  use Throng.StateMachine

  def handle_event(:cast, :flip, :off, data), do: {:next_state, :on, data + 1}
  def handle_event(:cast, :flip, :on, data), do: {:next_state, :off, data}

  def handle_event({:call, from}, :get_count, state, data) do
    {:next_state, state, data, [{:reply, from, data}]}
  end
end

defmodule Throng.StateMachineDocTest do
  # Not async: the moduledoc examples define (and redefine) their modules.
  use ExUnit.Case, async: false
  @moduletag :capture_log

  setup_all do
    # Elixir's Logger is not among throng's applications; :capture_log
    # needs it.
    {:ok, _} = Application.ensure_all_started(:logger)
    # The moduledoc's three Switch examples each define Switch, as
    # GenStateMachine's do.
    ignore = Code.get_compiler_option(:ignore_module_conflict)
    Code.put_compiler_option(:ignore_module_conflict, true)
    on_exit(fn -> Code.put_compiler_option(:ignore_module_conflict, ignore) end)
  end

  doctest Throng.StateMachine
end

defmodule Throng.StateMachineTest do
  # GenStateMachine's gen_state_machine_test.exs, on Throng; the same topic
  # as test/throng_api_SUITE.erl. Where a test says "as :gen_statem", the
  # same module runs on :gen_statem and must give the same answers.
  use ExUnit.Case, async: true

  alias Throng.StateMachine, as: SM

  # How long to wait for a message a session sends: the tests run beside
  # each other on a small machine.
  @receive_timeout 2_000

  setup_all do
    # Elixir's Logger is not among throng's applications; :capture_log
    # needs it.
    {:ok, _} = Application.ensure_all_started(:logger)
    :ok
  end

  defmodule HandleEventSwitch do
    use Throng.StateMachine

    def handle_event(:cast, :flip, :off, data), do: {:next_state, :on, data + 1}
    def handle_event(:cast, :flip, :on, data), do: {:next_state, :off, data}

    def handle_event({:call, from}, :get_count, _state, data) do
      {:keep_state_and_data, [{:reply, from, data}]}
    end
  end

  defmodule StateFunctionsSwitch do
    use Throng.StateMachine, callback_mode: :state_functions

    def off(:cast, :flip, data), do: {:next_state, :on, data + 1}
    def off(event_type, event_content, data), do: handle_event(event_type, event_content, data)

    def on(:cast, :flip, data), do: {:next_state, :off, data}
    def on(event_type, event_content, data), do: handle_event(event_type, event_content, data)

    defp handle_event({:call, from}, :get_count, data) do
      {:keep_state_and_data, [{:reply, from, data}]}
    end
  end

  # Tells the test process what init/1 and terminate/3 saw, and does what
  # a call asks.
  defmodule Reporter do
    use Throng.StateMachine

    @impl true
    def init({pid, state, data}) do
      send(pid, {:init, Throng.StateMachine.self()})
      {:ok, state, {pid, data}}
    end

    @impl true
    def terminate(reason, state, {pid, data}) do
      send(pid, {:terminate, reason, state, data})
    end

    @impl true
    def handle_event({:call, from}, :self, _state, _data) do
      {:keep_state_and_data, [{:reply, from, Throng.StateMachine.self()}]}
    end

    def handle_event({:call, from}, {:run, fun}, _state, _data) do
      {:keep_state_and_data, [{:reply, from, fun.()}]}
    end

    def handle_event({:call, from}, :raise, _state, _data), do: raise("oops #{inspect(from)}")
    def handle_event({:call, _from}, :exit, _state, _data), do: exit(:boom)
    def handle_event({:call, _from}, :bad_return, _state, _data), do: :bad

    def handle_event({:call, from}, :throw, _state, _data) do
      throw({:keep_state_and_data, [{:reply, from, :thrown}]})
    end

    # Saves callers; :answer_all replies to them with reply/1, newest
    # first, and :answer_each with reply/2.
    def handle_event({:call, from}, :wait, state, {pid, froms}) do
      {:next_state, state, {pid, [from | froms]}}
    end

    def handle_event(:cast, {:answer_all, answer}, state, {pid, froms}) do
      :ok = Throng.StateMachine.reply(for from <- froms, do: {:reply, from, answer})
      {:next_state, state, {pid, []}}
    end

    def handle_event(:cast, {:answer_each, answer}, state, {pid, froms}) do
      Enum.each(froms, &(:ok = Throng.StateMachine.reply(&1, answer)))
      {:next_state, state, {pid, []}}
    end

    def handle_event(:cast, {:set, state}, _state, data), do: {:next_state, state, data}

    def handle_event(:info, message, state, {pid, data}) do
      send(pid, {:info, message, state})
      {:keep_state, {pid, data}}
    end
  end

  defmodule InitResults do
    use Throng.StateMachine

    @impl true
    def init(:old_format), do: {:handle_event_function, nil, nil}
    def init(:ignore), do: :ignore
    def init({:stop, reason}), do: {:stop, reason}
    def init(:exit), do: exit(:init_exit)
    def init(:throw), do: throw({:ok, :thrown, 0})
    def init({:actions, actions}), do: {:ok, :started, [], actions}

    def init({:sleep, ms}) do
      Process.sleep(ms)
      {:ok, :slept, ms}
    end

    def init(:raise), do: raise("init failed")
    def init(state_and_data), do: super(state_and_data)

    @impl true
    def handle_event(:internal, event, state, events), do: {:next_state, state, [event | events]}

    def handle_event({:call, from}, :get, state, data) do
      {:keep_state_and_data, [{:reply, from, {state, data}}]}
    end
  end

  defmodule Defaults do
    use Throng.StateMachine
  end

  defmodule StateFunctionsDefaults do
    use Throng.StateMachine, callback_mode: [:state_functions, :state_enter]
  end

  # A call on Throng and the same call on :gen_statem, for the comparisons.
  defp on_both(module, args, fun) do
    {:ok, session} = SM.start_link(module, args)
    {:ok, pid} = :gen_statem.start_link(module, args, [])

    api = fn
      :throng -> %{ref: session, call: &SM.call/2, cast: &SM.cast/2}
      :gen_statem -> %{ref: pid, call: &:gen_statem.call/2, cast: &:gen_statem.cast/2}
    end

    result = fun.(api.(:throng))
    assert fun.(api.(:gen_statem)) == result
    :ok = :gen_statem.stop(pid)
    result
  end

  defp flip3(%{ref: ref, cast: cast, call: call}) do
    for _ <- 1..3, do: :ok = cast.(ref, :flip)
    call.(ref, :get_count)
  end

  defp down(ref) do
    receive do
      {:DOWN, ^ref, :throng, _session, reason} -> reason
    after
      5_000 -> flunk("no DOWN for #{inspect(ref)}")
    end
  end

  defp caught_exit(fun) do
    fun.()
    flunk("expected an exit")
  catch
    :exit, reason -> reason
  end

  describe "start_link/3, call/3 and cast/2" do
    test "in the handle_event_function mode" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      assert {:throng, _engine, _id} = switch
      assert SM.cast(switch, :flip) == :ok
      assert SM.cast(switch, :flip) == :ok
      assert SM.call(switch, :get_count) == 1
      assert SM.get_state(switch) == {:off, 1}
      assert SM.stop(switch) == :ok
    end

    test "in the state_functions mode" do
      {:ok, switch} = SM.start_link(StateFunctionsSwitch, {:off, 0})
      assert SM.cast(switch, :flip) == :ok
      assert SM.cast(switch, :flip) == :ok
      assert SM.call(switch, :get_count, 5_000) == 1
      assert SM.get_state(switch) == {:off, 1}
      assert SM.stop(switch) == :ok
    end

    test "answer as on :gen_statem, in both modes" do
      assert on_both(HandleEventSwitch, {:off, 0}, &flip3/1) == 2
      assert on_both(StateFunctionsSwitch, {:off, 0}, &flip3/1) == 2
    end

    test "cast/2 and send/2 to a stopped session or an unknown name return :ok" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      :ok = SM.stop(switch)
      assert SM.cast(switch, :flip) == :ok
      assert SM.send(switch, :hello) == :ok
      assert SM.cast(:"Throng.StateMachineTest.nobody", :flip) == :ok
      assert SM.cast({:name, {:nobody, make_ref()}}, :flip) == :ok
    end

    test "a call times out as a :gen_statem call does" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      :ok = SM.suspend(switch)

      assert caught_exit(fn -> SM.call(switch, :get_count, 20) end) ==
               {:timeout, {:throng, :call, [switch, :get_count, 20]}}
    end

    test "call/3 takes :gen_statem's dirty and clean time-outs" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      assert SM.call(switch, :get_count, {:dirty_timeout, 5_000}) == 0
      assert SM.call(switch, :get_count, {:clean_timeout, :infinity}) == 0
    end

    test "a callback calling its own session exits with :calling_self, as on :gen_statem" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, []})
      call_self = fn -> caught_exit(fn -> SM.call(SM.self(), :wait) end) end

      assert SM.call(session, {:run, call_self}) ==
               {:calling_self, {:throng, :call, [session, :wait, :infinity]}}
    end

    test "a bad timeout raises before anything is sent" do
      {:ok, switch} = SM.start_link(Reporter, {self(), :s, []})
      assert_raise FunctionClauseError, fn -> SM.call(switch, :wait, -1) end
      assert_raise FunctionClauseError, fn -> SM.stop(switch, :normal, :never) end
      assert SM.get_state(switch) == {:s, {self(), []}}
    end
  end

  describe "start_link/3 and start/3" do
    test "a start_link session stops with :shutdown when its owner exits" do
      test = self()

      owner =
        spawn(fn ->
          {:ok, session} = SM.start_link(Reporter, {test, :s, :d})
          send(test, {:session, session})
          Process.sleep(:infinity)
        end)

      assert_receive {:init, session}, @receive_timeout
      assert_receive {:session, ^session}, @receive_timeout
      ref = SM.monitor(session)
      Process.exit(owner, :kill)
      assert down(ref) == :shutdown
      assert_receive {:terminate, :shutdown, :s, :d}, @receive_timeout
    end

    test "a start session outlives its starter" do
      test = self()

      {starter, ref} =
        spawn_monitor(fn -> send(test, {:started, SM.start(Reporter, {test, :s, :d})}) end)

      assert_receive {:started, {:ok, session}}, @receive_timeout
      assert_receive {:DOWN, ^ref, :process, ^starter, :normal}, @receive_timeout
      assert SM.get_state(session) == {:s, {test, :d}}
      assert SM.stop(session) == :ok
      assert_receive {:terminate, :normal, :s, :d}, @receive_timeout
    end

    test "init/1 runs in an executor and sees its session" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      assert_receive {:init, ^session}, @receive_timeout
    end

    test "init/1 results" do
      assert SM.start_link(InitResults, :ignore) == :ignore
      assert SM.start_link(InitResults, {:stop, :no_way}) == {:error, :no_way}
      assert SM.start_link(InitResults, :exit) == {:error, :init_exit}
      assert {:ok, thrown} = SM.start_link(InitResults, :throw)
      assert SM.get_state(thrown) == {:thrown, 0}

      actions = [{:next_event, :internal, :a}, {:next_event, :internal, :b}]
      assert {:ok, session} = SM.start_link(InitResults, {:actions, actions})
      assert SM.call(session, :get) == {:started, [:b, :a]}
    end

    @tag :capture_log
    test "init/1 should not allow callback mode in return" do
      # GenStateMachine's test: the OTP 19.0 format of init/1's result.
      assert SM.start_link(InitResults, :old_format) ==
               {:error, {:bad_return_from_init, {:handle_event_function, nil, nil}}}

      assert :gen_statem.start(InitResults, :old_format, []) ==
               SM.start(InitResults, :old_format)
    end

    @tag :capture_log
    test "init/1 raising gives {:error, reason}, as :gen_statem" do
      assert SM.start(InitResults, :raise) == {:error, %RuntimeError{message: "init failed"}}
      assert :gen_statem.start(InitResults, :raise, []) == SM.start(InitResults, :raise)
    end

    test "start_monitor/3" do
      assert {:ok, {session, ref}} = SM.start_monitor(Reporter, {self(), :s, :d})
      assert_receive {:init, ^session}, @receive_timeout
      assert SM.stop(session, {:shutdown, :done}) == :ok
      assert down(ref) == {:shutdown, :done}
      assert SM.start_monitor(InitResults, :ignore) == :ignore
    end
  end

  describe "options" do
    test ":engine runs the session in that engine" do
      {:ok, engine} = :throng.start_engine(%{})
      on_exit(fn -> :throng.stop_engine(engine) end)

      assert {:ok, {:throng, ^engine, _} = switch} =
               SM.start(HandleEventSwitch, {:off, 0}, engine: engine)

      :ok = SM.cast(switch, :flip)
      assert SM.call(switch, :get_count) == 1
      assert %{sessions: 1} = :throng.engine_stats(engine)
    end

    test ":timeout bounds init/1" do
      # A sleeping init/1 holds its executor: an engine of its own keeps
      # the other tests' sessions running meanwhile.
      {:ok, engine} = :throng.start_engine(%{})
      on_exit(fn -> :throng.stop_engine(engine) end)

      assert SM.start_link(InitResults, {:sleep, 200}, timeout: 20, engine: engine) ==
               {:error, :timeout}

      assert {:ok, session} = SM.start_link(InitResults, {:sleep, 1}, timeout: 5_000)
      assert SM.get_state(session) == {:slept, 1}
    end

    test "a bad option raises an ArgumentError and starts nothing" do
      {:ok, engine} = :throng.start_engine(%{})
      on_exit(fn -> :throng.stop_engine(engine) end)

      for {opts, message} <- [
            {[timeout: -1], "the :timeout option must be a non-negative integer or :infinity"},
            {[timeout: :soon], "the :timeout option must be"},
            {[spawn_opt: []], "unknown option :spawn_opt"},
            {[debug: [:trace]], "unknown option :debug"},
            {[name: {:global, :switch}], ":global and :via registration are not supported"},
            {[name: {:via, Registry, {R, :s}}],
             ":global and :via registration are not supported"},
            {[:engine], "expected a keyword list of options"}
          ] do
        error =
          assert_raise ArgumentError, fn ->
            SM.start(HandleEventSwitch, {:off, 0}, [{:engine, engine} | opts])
          end

        assert error.message =~ message
      end

      assert_raise ArgumentError, ~r/expected a keyword list/, fn ->
        SM.start_link(HandleEventSwitch, {:off, 0}, %{engine: engine})
      end

      assert %{sessions: 0} = :throng.engine_stats(engine)
    end
  end

  describe "names" do
    setup do
      {:ok, engine} = :throng.start_engine(%{})
      on_exit(fn -> :throng.stop_engine(engine) end)
      %{engine: engine}
    end

    test "an atom names a session of the default engine" do
      name = :"Throng.StateMachineTest.switch"
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0}, name: name)
      assert SM.whereis(name) == switch

      assert SM.start_link(HandleEventSwitch, {:off, 0}, name: name) ==
               {:error, {:already_started, switch}}

      assert SM.cast(name, :flip) == :ok
      assert SM.call(name, :get_count) == 1
      assert SM.call({:name, name}, :get_count) == 1
      assert SM.get_state(name) == {:on, 1}
      assert SM.sync(name) == :ok
      assert %{state: :on} = SM.get_status(name)
      assert SM.stop(name) == :ok
      assert SM.whereis(name) == nil
    end

    test "a nil name is no name", %{engine: engine} do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0}, name: nil, engine: engine)
      assert SM.whereis(engine, nil) == nil
      assert SM.call(switch, :get_count) == 0
    end

    test "exits name the atom they were given, as :gen_statem's do" do
      name = :"Throng.StateMachineTest.nobody"

      assert caught_exit(fn -> SM.call(name, :x) end) ==
               {:noproc, {:throng, :call, [name, :x, :infinity]}}

      assert caught_exit(fn -> SM.get_state(name) end) == {:noproc, {:throng, :get_state, [name]}}
      assert caught_exit(fn -> SM.stop(name) end) == :noproc
    end

    test "any term names a session in its engine", %{engine: engine} do
      name = {:switch, make_ref()}
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0}, name: name, engine: engine)
      assert SM.whereis(engine, name) == switch
      assert SM.whereis(name) == nil
      assert SM.call({:name, engine, name}, :get_count) == 0
      assert {:noproc, _} = caught_exit(fn -> SM.call({:name, name}, :get_count) end)
      ref = SM.monitor({:name, engine, name})
      assert SM.stop({:name, engine, name}, :normal, 5_000) == :ok
      assert down(ref) == :normal
      assert SM.whereis(engine, name) == nil
    end
  end

  describe "stop/3" do
    test "defaults to :normal and :infinity; terminate/3 sees the reason, state and data" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      assert SM.stop(session) == :ok
      assert_receive {:terminate, :normal, :s, :d}, @receive_timeout
    end

    test "with a reason and a timeout" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      :ok = SM.cast(session, {:set, :t})
      assert SM.stop(session, :shutdown, 5_000) == :ok
      assert_receive {:terminate, :shutdown, :t, :d}, @receive_timeout
    end

    test "a stopped session exits the stopper with :noproc" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      :ok = SM.stop(session)
      assert caught_exit(fn -> SM.stop(session) end) == :noproc
    end
  end

  describe "a stopping session" do
    @tag :capture_log
    test "an unknown event stops it with :bad_event (the default handle_event/4)" do
      {:ok, defaults} = SM.start_link(Defaults, {:s, :d})
      ref = SM.monitor(defaults)
      assert SM.cast(defaults, :unknown) == :ok
      assert down(ref) == :bad_event

      {:ok, defaults} = SM.start_link(Defaults, {:s, :d})

      assert caught_exit(fn -> SM.call(defaults, :unknown) end) ==
               {:bad_event, {:throng, :call, [defaults, :unknown, :infinity]}}

      # As with GenStateMachine, a module's own handle_event/4 replaces the
      # default, catch-all clause included.
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      ref = SM.monitor(switch)
      assert SM.cast(switch, :unknown) == :ok

      assert {:function_clause,
              [{HandleEventSwitch, :handle_event, [:cast, :unknown, :off, 0], _} | _]} = down(ref)
    end

    @tag :capture_log
    test "a crash exit reason is seen by the caller, as with :gen_statem" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      ref = SM.monitor(session)

      assert caught_exit(fn -> SM.call(session, :exit) end) ==
               {:boom, {:throng, :call, [session, :exit, :infinity]}}

      assert down(ref) == :boom
      assert_receive {:terminate, :boom, :s, :d}, @receive_timeout

      {:ok, pid} = :gen_statem.start(Reporter, {self(), :s, :d}, [])

      assert caught_exit(fn -> :gen_statem.call(pid, :exit) end) ==
               {:boom, {:gen_statem, :call, [pid, :exit, :infinity]}}

      assert_receive {:terminate, :boom, :s, :d}, @receive_timeout
    end

    @tag :capture_log
    test "a bad return stops it with {{:bad_return_from_state_function, result}, stack}" do
      # An error-class exit, as on :gen_statem; terminate/3 gets the reason
      # without the stack. (The stack is gen_statem's code there, none on
      # Throng.)
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      ref = SM.monitor(session)

      assert {{{:bad_return_from_state_function, :bad}, stack} = reason, {:throng, :call, _}} =
               caught_exit(fn -> SM.call(session, :bad_return) end)

      assert is_list(stack)
      assert down(ref) == reason

      assert_receive {:terminate, {:bad_return_from_state_function, :bad}, :s, :d},
                     @receive_timeout

      {:ok, pid} = :gen_statem.start(Reporter, {self(), :s, :d}, [])

      assert {{{:bad_return_from_state_function, :bad}, [_ | _]}, {:gen_statem, :call, _}} =
               caught_exit(fn -> :gen_statem.call(pid, :bad_return) end)

      assert_receive {:terminate, {:bad_return_from_state_function, :bad}, :s, :d},
                     @receive_timeout
    end

    @tag :capture_log
    test "a raise: terminate/3 gets the exception, the caller {exception, stacktrace}" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      ref = SM.monitor(session)

      assert {{%RuntimeError{message: "oops " <> _} = exception,
               [{Reporter, :handle_event, 4, _} | _] = stacktrace},
              {:throng, :call, [^session, :raise, :infinity]}} =
               caught_exit(fn -> SM.call(session, :raise) end)

      assert down(ref) == {exception, stacktrace}
      assert_receive {:terminate, ^exception, :s, :d}, @receive_timeout

      # As on :gen_statem:
      {:ok, pid} = :gen_statem.start(Reporter, {self(), :s, :d}, [])

      assert {{%RuntimeError{}, [{Reporter, :handle_event, 4, _} | _]}, {:gen_statem, :call, _}} =
               caught_exit(fn -> :gen_statem.call(pid, :raise) end)

      assert_receive {:terminate, %RuntimeError{}, :s, :d}, @receive_timeout
    end

    test "a throw is a return" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      assert SM.call(session, :throw) == :thrown
    end
  end

  describe "monitor/1 and demonitor/1" do
    test "DOWN carries the exit reason" do
      {:ok, session} = SM.start(HandleEventSwitch, {:off, 0})
      ref = SM.monitor(session)
      assert SM.stop(session, {:shutdown, :bye}) == :ok
      assert_receive {:DOWN, ^ref, :throng, ^session, {:shutdown, :bye}}, @receive_timeout
    end

    test "a stopped session gives DOWN with :noproc at once" do
      {:ok, session} = SM.start(HandleEventSwitch, {:off, 0})
      :ok = SM.stop(session)
      ref = SM.monitor(session)
      assert_received {:DOWN, ^ref, :throng, ^session, :noproc}
    end

    test "demonitor/1 removes the monitor and its DOWN" do
      {:ok, session} = SM.start(HandleEventSwitch, {:off, 0})
      ref = SM.monitor(session)
      assert SM.demonitor(ref) == true
      :ok = SM.stop(session)
      refute_receive {:DOWN, ^ref, _, _, _}, 50

      ref = SM.monitor(session)
      assert_received {:DOWN, ^ref, :throng, ^session, :noproc}
      assert SM.demonitor(ref) == true
      refute_received {:DOWN, ^ref, _, _, _}
    end
  end

  describe "requests" do
    test "send_request/2 and wait_response/2: a timeout leaves the request pending" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      :ok = SM.suspend(switch)
      request = SM.send_request(switch, :get_count)
      assert SM.wait_response(request, 10) == :timeout
      :ok = SM.resume(switch)
      assert SM.wait_response(request) == {:reply, 0}
    end

    test "receive_response/2" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:on, 4})
      request = SM.send_request(switch, :get_count)
      assert SM.receive_response(request) == {:reply, 4}

      :ok = SM.suspend(switch)
      request = SM.send_request(switch, :get_count)
      assert SM.receive_response(request, 10) == :timeout
    end

    # gen_statem_SUITE abnormal1clean and abnormal1dirty.
    test "no late reply after a receive_response/2 or call/3 time-out" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:on, 4})
      :ok = SM.suspend(switch)
      request = SM.send_request(switch, :get_count)
      assert SM.receive_response(request, 10) == :timeout
      assert {:timeout, _} = caught_exit(fn -> SM.call(switch, :get_count, 10) end)
      :ok = SM.resume(switch)
      :ok = SM.sync(switch)
      refute_receive _, 50
    end

    test "check_response/2" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:on, 4})
      request = SM.send_request(switch, :get_count)
      assert SM.check_response({make_ref(), 4}, request) == :no_reply
      assert_receive reply, @receive_timeout
      assert SM.check_response(reply, request) == {:reply, 4}
    end

    test "a request to a stopped session is {:error, {reason, session}}" do
      {:ok, {switch, ref}} = SM.start_monitor(HandleEventSwitch, {:on, 4})
      :ok = SM.stop(switch)
      assert down(ref) == :normal
      request = SM.send_request(switch, :get_count)
      assert SM.wait_response(request, 1_000) == {:error, {:noproc, switch}}

      request = SM.send_request(switch, :get_count)
      assert_receive {:DOWN, _, :throng, ^switch, :noproc} = down, @receive_timeout
      assert SM.check_response(down, request) == {:error, {:noproc, switch}}
    end

    test "reply/1 and reply/2 answer saved callers" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, []})
      requests = for _ <- 1..3, do: SM.send_request(session, :wait)
      :ok = SM.sync(session)
      :ok = SM.cast(session, {:answer_all, :all})
      for request <- requests, do: assert(SM.receive_response(request, 5_000) == {:reply, :all})

      request = SM.send_request(session, :wait)
      :ok = SM.cast(session, {:answer_each, :each})
      assert SM.receive_response(request, 5_000) == {:reply, :each}

      from = {self(), make_ref()}
      assert SM.reply(from, :direct) == :ok
      assert SM.reply({:reply, from, :action}) == :ok
      {_, tag} = from
      assert_received {^tag, :direct}
      assert_received {^tag, :action}
    end
  end

  describe "system requests" do
    test "suspend/1, resume/1, sync/1, get_state/1 and get_status/1" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      assert SM.suspend(switch) == :ok
      assert SM.cast(switch, :flip) == :ok
      assert SM.cast(switch, :flip) == :ok

      assert %{state: :off, data: 0, queue_len: 2, postponed_len: 0, suspended: true} =
               status = SM.get_status(switch)

      assert status.modules == [HandleEventSwitch]
      assert SM.get_state(switch) == {:off, 0}
      assert SM.resume(switch) == :ok
      assert SM.sync(switch) == :ok
      assert SM.get_state(switch) == {:off, 1}
      assert %{queue_len: 0, suspended: false} = SM.get_status(switch)
    end

    test "a system request to a stopped session exits with :noproc" do
      {:ok, switch} = SM.start_link(HandleEventSwitch, {:off, 0})
      :ok = SM.stop(switch)

      for fun <- [:sync, :suspend, :resume, :get_state, :get_status] do
        assert caught_exit(fn -> apply(SM, fun, [switch]) end) ==
                 {:noproc, {:throng, fun, [switch]}}
      end
    end
  end

  describe "inside a callback" do
    test "self/0 is the session inside a callback and nil outside" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      assert SM.call(session, :self) == session
      assert SM.self() == nil
    end

    test "send/2 to self/0 is an info event" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      assert SM.call(session, {:run, fn -> SM.send(SM.self(), :to_myself) end}) == :ok
      assert_receive {:info, :to_myself, :s}, @receive_timeout
    end

    test "start_timer/2 and cancel_timer/1" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      timer = SM.call(session, {:run, fn -> SM.start_timer(10, :tick) end})
      assert_receive {:info, {:timeout, ^timer, :tick}, :s}, @receive_timeout

      timer = SM.call(session, {:run, fn -> SM.start_timer(60_000, :never) end})
      assert SM.cancel_timer(timer) > 50_000
      assert SM.cancel_timer(timer) == false
    end

    test "monitor_process/1" do
      {:ok, session} = SM.start_link(Reporter, {self(), :s, :d})
      pid = spawn(fn -> receive do: (:go -> exit(:gone)) end)
      ref = SM.call(session, {:run, fn -> SM.monitor_process(pid) end})
      send(pid, :go)
      assert_receive {:info, {:DOWN, ^ref, :process, ^pid, :gone}, :s}, @receive_timeout
    end

    test "start_timer/2 and monitor_process/1 raise outside a callback" do
      assert_raise ErlangError, ~r/not_in_a_callback/, fn -> SM.start_timer(10, :tick) end
      assert_raise ErlangError, ~r/not_in_a_callback/, fn -> SM.monitor_process(self()) end
    end
  end

  describe "use Throng.StateMachine" do
    test "defines GenStateMachine's default callbacks" do
      assert Defaults.callback_mode() == :handle_event_function
      assert Defaults.init({:s, :d}) == {:ok, :s, :d}
      assert Defaults.terminate(:normal, :s, :d) == :ok
      assert Defaults.code_change(:old, :s, :d, :extra) == :undefined
      assert Defaults.handle_event(:cast, :anything, :s, :d) == {:stop, :bad_event}

      behaviours = Defaults.module_info(:attributes) |> Keyword.get_values(:behaviour)
      assert List.flatten(behaviours) == [Throng.StateMachine]
    end

    test "defines no handle_event/4 in the state_functions mode" do
      assert StateFunctionsDefaults.callback_mode() == [:state_functions, :state_enter]
      assert StateFunctionsDefaults.init({:s, :d}) == {:ok, :s, :d}
      refute function_exported?(StateFunctionsDefaults, :handle_event, 4)
    end

    test "the callback_mode option is evaluated in the using module" do
      [{module, _}] =
        Code.compile_string("""
        defmodule Throng.StateMachineTest.ModeAttribute do
          @mode [:handle_event_function, :state_enter]
          use Throng.StateMachine, callback_mode: @mode
        end
        """)

      assert module.callback_mode() == [:handle_event_function, :state_enter]
    end

    test "takes no other option" do
      assert_raise ArgumentError,
                   ~r/accepts only the :callback_mode option, got: \[:restart\]/,
                   fn ->
                     Code.compile_string("""
                     defmodule Throng.StateMachineTest.WithRestart do
                       use Throng.StateMachine, restart: :transient
                     end
                     """)
                   end
    end
  end
end
