defmodule Throng.BuildTest do
  # The same topic as test/throng_build_SUITE.erl and
  # native/throng_nif/tests/test_build.rs: the build Mix made is consistent.
  use ExUnit.Case, async: true
  doctest Throng

  test "version/0 is the vsn Mix read from src/throng.app.src" do
    assert Throng.version() == Mix.Project.config()[:version]
  end

  test "the NIF library is loaded and was built from this tree" do
    assert {:module, :throng_nif} = Code.ensure_loaded(:throng_nif)
    assert :throng_nif.core_version() == Throng.version()
  end

  test "priv holds the NIF library" do
    assert File.regular?(Path.join(:code.priv_dir(:throng), "throng_nif.so"))
  end

  test "priv holds the port program, which the port backend finds there" do
    program = :code.priv_dir(:throng) |> Path.join("throng_port") |> to_charlist()
    assert {:ok, %File.Stat{type: :regular, mode: mode}} = File.stat(program)
    assert Bitwise.band(mode, 0o111) != 0
    assert {:ok, ^program} = :throng_port_engine.find_program(%{})
  end
end
