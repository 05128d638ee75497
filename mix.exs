defmodule Mix.Tasks.Compile.ThrongNative do
  @moduledoc """
  Builds the NIF library and the port program with `scripts/build_native.sh`
  (the script rebar3's hooks run too), which installs them as
  `priv/throng_nif.so` and `priv/throng_port`.

  Cargo decides what to rebuild; the task reports `:noop` when neither
  installed file changed.
  """
  use Mix.Task.Compiler

  @root Path.dirname(__ENV__.file)
  @script Path.join(@root, "scripts/build_native.sh")
  @priv Path.join(@root, "priv")
  @installed [Path.join(@priv, "throng_nif.so"), Path.join(@priv, "throng_port")]

  @impl Mix.Task.Compiler
  def run(_args) do
    before = fingerprint()

    case System.cmd("sh", [@script, @priv], stderr_to_stdout: true, into: IO.stream(:stdio, :line)) do
      {_, 0} ->
        # Mix links priv/ into _build before the compilers run; on a fresh
        # checkout priv/ did not exist then, so link it now that it does.
        Mix.Project.build_structure()
        if fingerprint() == before, do: {:noop, []}, else: {:ok, []}

      {_, status} ->
        Mix.raise("scripts/build_native.sh exited with status #{status}")
    end
  end

  # The script installs by rename, so a new file is a new inode.
  defp fingerprint do
    for file <- @installed do
      case File.stat(file) do
        {:ok, %File.Stat{inode: inode, mtime: mtime}} -> {inode, mtime}
        {:error, _} -> nil
      end
    end
  end

  @impl Mix.Task.Compiler
  def clean do
    Enum.each(@installed, &File.rm/1)
    :ok
  end
end

defmodule Throng.MixProject do
  use Mix.Project

  # The version and the application keys live in one place, the rebar3
  # application resource file; Mix reads them from there.
  @app_src Path.join(Path.dirname(__ENV__.file), "src/throng.app.src")
  @external_resource @app_src
  {:ok, [{:application, :throng, app}]} = :file.consult(@app_src)
  @app app

  def project do
    [
      app: :throng,
      version: to_string(@app[:vsn]),
      description: to_string(@app[:description]),
      elixir: "~> 1.14",
      compilers: [:throng_native] ++ Mix.compilers(),
      erlc_paths: ["erlang/src"],
      erlc_options: erlc_options(Mix.env()),
      elixirc_paths: ["elixir"],
      test_paths: ["test/elixir"],
      start_permanent: Mix.env() == :prod,
      deps: []
    ]
  end

  # As rebar.config: every exported function carries a spec, and in the test
  # env (the gate `make test` runs) warnings fail the build. Mix 1.14's
  # --warnings-as-errors does not reach the Erlang compiler. As a dependency,
  # Throng is built in :prod, so a newer OTP's new warnings cannot break a
  # consumer's build.
  defp erlc_options(:test), do: [:warnings_as_errors | erlc_options(:prod)]
  defp erlc_options(_env), do: [:debug_info, :warn_missing_spec]

  def application do
    # kernel, stdlib and elixir are added by Mix.
    [
      extra_applications: @app[:applications] -- [:kernel, :stdlib],
      registered: @app[:registered],
      env: @app[:env]
    ] ++ Keyword.take(@app, [:mod])
  end
end
