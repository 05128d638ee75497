defmodule Throng.StatusTest do
  # format_status/1,2, change_code/4 and replace_state/2 from Elixir; the
  # same topic as test/throng_status_SUITE.erl (which covers the rules in
  # depth). The same modules run on :gen_statem, through :sys, for the
  # comparisons.
  use ExUnit.Case, async: true

  alias Throng.StateMachine, as: SM

  # A password-keeping machine: format_status/1 hides the password.
  defmodule Vault do
    use Throng.StateMachine

    @impl true
    def handle_event(:cast, {:set, password}, _state, data) do
      {:next_state, :locked, %{data | password: password}}
    end

    def handle_event({:call, from}, :get, state, data) do
      {:keep_state_and_data, [{:reply, from, {state, data}}]}
    end

    @impl true
    def format_status(status) do
      Map.update!(status, :data, &%{&1 | password: :hidden})
    end

    @impl true
    def code_change("1", state, data, :add_tries), do: {:ok, state, Map.put(data, :tries, 0)}
    def code_change(_old_vsn, _state, _data, extra), do: {:no, extra}
  end

  # The older format_status/2.
  defmodule OldVault do
    use Throng.StateMachine

    @impl true
    def format_status(_reason, [_pdict, state, _data]) do
      [data: [{~c"State", {state, :hidden}}]]
    end
  end

  setup_all do
    {:ok, _} = Application.ensure_all_started(:logger)
    :ok
  end

  # The same module and argument on :gen_statem and on Throng.
  defp both(module, arg) do
    {:ok, pid} = :gen_statem.start(module, arg, [])
    {:ok, session} = SM.start(module, arg)

    on_exit(fn ->
      :gen_statem.stop(pid)
      SM.stop(session)
    end)

    {pid, session}
  end

  # What :sys.get_status/1 shows in place of the state and data.
  defp sys_state_part(pid) do
    {:status, ^pid, {:module, :gen_statem}, [_, _, _, _, [_header, _data | part]]} =
      :sys.get_status(pid)

    part
  end

  test "format_status/1 hides the data in get_status/1, as in :sys.get_status/1" do
    {pid, session} = both(Vault, {:open, %{password: "secret"}})
    status = SM.get_status(session)
    assert %{state: :open, data: %{password: :hidden}} = status
    assert sys_state_part(pid) == [data: [{~c"State", {status.state, status.data}}]]
    assert SM.get_state(session) == {:open, %{password: "secret"}}
  end

  test "format_status/2's result is the status's :status" do
    {pid, session} = both(OldVault, {:open, %{password: "secret"}})
    status = SM.get_status(session)
    assert status.status == [data: [{~c"State", {:open, :hidden}}]]
    refute Map.has_key?(status, :data)
    assert sys_state_part(pid) == status.status
  end

  test "change_code/4 as :sys.change_code/4" do
    {pid, session} = both(Vault, {:open, %{password: "secret"}})

    for {vsn, extra} <- [{"1", :add_tries}, {"2", :other}] do
      :ok = :sys.suspend(pid)
      expected = :sys.change_code(pid, Vault, vsn, extra)
      :ok = :sys.resume(pid)
      assert SM.change_code(session, Vault, vsn, extra) == expected
    end

    assert SM.get_state(session) == {:open, %{password: "secret", tries: 0}}
    assert SM.get_state(session) == :sys.get_state(pid)
  end

  test "replace_state/2 as :sys.replace_state/2" do
    {pid, session} = both(Vault, {:open, %{password: "secret"}})
    fun = fn {state, data} -> {state, %{data | password: "new"}} end
    assert SM.replace_state(session, fun) == :sys.replace_state(pid, fun)
    assert SM.call(session, :get) == {:open, %{password: "new"}}

    crash = fn _ -> raise "oops" end
    sys_error = catch_error(:sys.replace_state(pid, crash))
    assert catch_error(SM.replace_state(session, crash)) == sys_error
    assert {:callback_failed, {:gen_statem, :system_replace_state}, {:error, _}} = sys_error
    assert SM.get_state(session) == {:open, %{password: "new"}}
  end
end
