# Elixir's logger (for capture_log) is not started by mix test on its own.
{:ok, _} = Application.ensure_all_started(:logger)
ExUnit.start()
