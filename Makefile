# One task runner: CI runs `bash .ci/run`, which is `make setup test`.
#
#   make setup       install Erlang/OTP, Elixir and rebar3 (Debian) if missing
#   make test        every gate and test suite, in the order CI runs them
#   make demo        a million Throng sessions beside 100,000 gen_statem processes
#   make bench-core  the throng_core benchmark (release build)
#   make bench-targets  the BEAM bridge's targets at a million sessions
#   make bench       gen_statem beside Throng: JSON, report, plots (QUICK=1: < 2 min)
#   make bench-port  the port backend: protocol figures and the API beside the NIF
#   make fuzz        the port's frame decoder under libFuzzer (nightly)
#   make mem-probe   memory per idle session, its parts shown apart (N=1000000)
#   make clean       remove build output
#
# Rust is built three ways, each once: `check` metadata for clippy, debug for
# the Rust tests, release for the NIF. The NIF's release build lives in the
# same Cargo target dir (CARGO_TARGET_DIR, else ./target) whichever of
# rebar3, mix or a consumer fixture triggers it, so it is built once.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

CARGO ?= cargo
REBAR3 ?= rebar3
MIX ?= mix

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := erlang-nox erlang-dev elixir rebar3 erlang-common-test \
	erlang-dialyzer erlang-eunit erlang-src

FIXTURES := test/fixtures

# The steps of `make test` share one Cargo target dir and one _build; run
# them one after another, in the order listed, even under `make -j`.
.NOTPARALLEL:

.PHONY: setup test rust-test erlang-test elixir-test consumer-test \
	mix-consumer-test rebar-consumer-test bench-core demo bench bench-targets bench-port fuzz mem-probe clean

setup:
	@if command -v erl >/dev/null && command -v mix >/dev/null && command -v rebar3 >/dev/null; then \
		echo "setup: erl, mix and rebar3 are installed"; \
	elif command -v apt-get >/dev/null; then \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEBIAN_PACKAGES); \
	else \
		echo "setup: install Erlang/OTP 25+, Elixir 1.14+ and rebar3 3.19+ (only Debian is automated)" >&2; \
		exit 1; \
	fi
	@command -v $(CARGO) >/dev/null || { \
		echo "setup: cargo not found; install Rust with https://rustup.rs" >&2; exit 1; }
	@if command -v rustup >/dev/null && ! { $(CARGO) fmt --version && $(CARGO) clippy --version; } >/dev/null 2>&1; then \
		rustup component add rustfmt clippy; \
	fi

test: rust-test erlang-test elixir-test consumer-test

rust-test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --workspace && $(CARGO) test --workspace --doc"; \
		$(CARGO) nextest run --workspace; \
		$(CARGO) test --workspace --doc; \
	else \
		echo "$(CARGO) test --workspace  # cargo-nextest not installed; includes doctests"; \
		$(CARGO) test --workspace; \
	fi

# The compile step of each runs scripts/build_native.sh (rebar.config hooks).
erlang-test:
	$(REBAR3) eunit
	# A hung VM (a deadlock) must fail CI, not stall it.
	timeout 1200 $(REBAR3) ct
	$(REBAR3) xref
	$(REBAR3) dialyzer

# MIX_ENV=test throughout so the checked compile is the one mix test uses.
# priv/ is removed first so that Mix's compile proves what a fresh checkout
# needs (the compiler task installing the library and relinking priv/).
elixir-test: export MIX_ENV := test
elixir-test:
	$(MIX) format --check-formatted
	rm -rf priv
	$(MIX) compile --warnings-as-errors
	$(MIX) test
	# The same tests with the default engine on the port backend.
	THRONG_TEST_BACKEND=port $(MIX) test

# Throng as a dependency, built from scratch in each consumer project.
consumer-test: mix-consumer-test rebar-consumer-test

mix-consumer-test: export MIX_ENV := test
mix-consumer-test:
	rm -rf $(FIXTURES)/mix_consumer/_build
	cd $(FIXTURES)/mix_consumer && $(MIX) test

rebar-consumer-test:
	rm -rf $(FIXTURES)/rebar_consumer/_build
	mkdir -p $(FIXTURES)/rebar_consumer/_checkouts
	ln -sfn ../../../.. $(FIXTURES)/rebar_consumer/_checkouts/throng
	cd $(FIXTURES)/rebar_consumer && $(REBAR3) eunit

bench-core:
	$(CARGO) run --release -p throng_core --bin throng_bench_core

# make demo: a million code-lock sessions on the default engine beside
# 100,000 gen_statem processes (bench/throng_demo.erl). Built with rebar3
# (which builds the NIF), run on a plain node. +MMmcs 0: the BEAM keeps no
# cache of freed memory segments, so the RSS the starters' collected heaps
# held is given back and not counted as the sessions' (see make mem-probe).
DEMO_EBIN := _build/demo

# $(call bench_run,Module,ErlFlags): builds throng (and the NIF), compiles
# bench/demo_lock.erl and bench/Module.erl, runs Module:main() on a plain node.
define bench_run
	$(REBAR3) compile
	mkdir -p $(DEMO_EBIN)
	erlc -o $(DEMO_EBIN) bench/demo_lock.erl bench/$(1).erl
	erl -noshell +P 2000000 $(2) -pa _build/rebar3/default/lib/throng/ebin -pa $(DEMO_EBIN) \
		-eval '$(1):main()'
endef

demo:
	$(call bench_run,throng_demo,+MMmcs 0)

# make bench-targets: the BEAM bridge's targets (memory per idle session,
# casts per second, call round trip) at a million sessions of gen_statem,
# of Throng's default engine and of an engine with inline => all
# (bench/throng_targets.erl); about a minute.
bench-targets:
	$(call bench_run,throng_targets,+MMmcs 0)

# make bench: gen_statem beside Throng (callback module on the NIF, native
# machine on the NIF and on the port) at 100,000 and 1,000,000 sessions, in
# one run (bench/throng_bench.erl, docs/benchmark.md); QUICK=1 runs 10,000
# and 100,000. Writes bench/results/latest.json, then report.md and the PNG
# plots (bench/report.py, matplotlib in a venv under _build/bench-venv) and
# the README's performance section.
BENCH_VENV := _build/bench-venv
bench:
	$(call bench_run,throng_bench,+MMmcs 0)
	@test -x $(BENCH_VENV)/bin/python || { python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q matplotlib; }
	$(BENCH_VENV)/bin/python bench/report.py bench/results/latest.json --readme README.md

# make bench-port: the port backend, at the protocol (this VM speaks to
# throng_port directly: pipelined and batched casts, round trips) and
# through the throng API beside a NIF engine (bench/throng_port_bench.erl).
bench-port:
	$(call bench_run,throng_port_bench,)

# make fuzz: the port's frame decoder under libFuzzer (nightly Rust and
# cargo-fuzz: `rustup toolchain install nightly`, `cargo install
# cargo-fuzz`), RUNS inputs from the seeds in native/throng_port/fuzz/seeds.
# make test runs the stable stand-in (a proptest over random and mutated
# frames) instead.
RUNS ?= 1000000

fuzz:
	cd native/throng_port/fuzz && mkdir -p corpus/decode_request && \
		$(CARGO) +nightly fuzz run decode_request corpus/decode_request seeds -- -runs=$(RUNS) -max_len=4096

# make mem-probe: N demo_lock sessions started and stopped; prints RSS,
# native memory, BEAM blocks and BEAM allocator slack per session apart
# (bench/mem_probe.erl). Default VM flags, so the slack shows.
N ?= 1000000

mem-probe:
	$(REBAR3) compile
	mkdir -p $(DEMO_EBIN)
	erlc -o $(DEMO_EBIN) bench/demo_lock.erl bench/mem_probe.erl
	erl -noshell +P 2000000 -pa _build/rebar3/default/lib/throng/ebin -pa $(DEMO_EBIN) \
		-eval 'mem_probe:main([$(N)])'

clean:
	$(CARGO) clean
	rm -rf _build priv
	rm -rf $(FIXTURES)/*/_build $(FIXTURES)/*/deps $(FIXTURES)/*/_checkouts
