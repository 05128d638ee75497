# Elixir's logger (for capture_log) is not started by mix test on its own.
{:ok, _} = Application.ensure_all_started(:logger)

# THRONG_TEST_BACKEND=port: the default engine runs in the throng_port
# program (make test runs the tests on both backends).
case System.get_env("THRONG_TEST_BACKEND", "nif") do
  "nif" ->
    :ok

  "port" ->
    :ok = Application.stop(:throng)
    :ok = Application.put_env(:throng, :default_engine, %{backend: :port})
    {:ok, _} = Application.ensure_all_started(:throng)
    {:throng_port, _} = :throng.default_engine()
end

ExUnit.start()
