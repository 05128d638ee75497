# Inputs are listed one directory at a time: test/fixtures/rebar_consumer/
# _checkouts/throng links back to the repository root, so a `test/**` glob
# would walk in circles.
[
  inputs: [
    "{mix,.formatter}.exs",
    "elixir/**/*.{ex,exs}",
    "test/elixir/**/*.{ex,exs}",
    "test/fixtures/mix_consumer/{mix,.formatter}.exs",
    "test/fixtures/mix_consumer/{lib,test}/**/*.{ex,exs}"
  ]
]
