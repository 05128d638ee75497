defmodule Throng do
  @moduledoc """
  Throng runs millions of `gen_statem`-style state machines ("sessions") in a
  Rust engine and lets Erlang and Elixir drive them as they would drive
  `:gen_statem` or `GenStateMachine` processes.

  `Throng.StateMachine` is the Elixir API: a behaviour and client functions
  that mirror `GenStateMachine` name for name. The Erlang API is `:throng`.
  """

  @doc """
  Returns Throng's version, the `vsn` of the `:throng` application.

      iex> Throng.version() =~ ~r/^\\d+\\.\\d+\\.\\d+/
      true
  """
  @spec version() :: String.t()
  def version do
    # Loading is idempotent; it makes the version available before the
    # application is started.
    _ = Application.load(:throng)
    :throng |> Application.spec(:vsn) |> to_string()
  end
end
