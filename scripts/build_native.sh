#!/bin/sh
# Build the NIF library and the port program and install them into an
# application's priv dir.
#
#   sh scripts/build_native.sh [PRIV_DIR]
#
# The one build script for the native code: mix (Mix.Tasks.Compile.ThrongNative
# in mix.exs) and rebar3 (pre_hooks in rebar.config) both call it, so the two
# build tools share one release build in one Cargo target dir.
#
#   PRIV_DIR          where throng_nif.so and throng_port go; default: <repo>/priv
#   CARGO_TARGET_DIR  honoured as Cargo does; default: <repo>/target
#   CARGO             the cargo to run; default: cargo on PATH, else ~/.cargo/bin/cargo
#
# Each file is copied to a temp file in PRIV_DIR and renamed over the
# installed one, so a VM that has the old library mapped (or runs the old
# program) never sees a half-written file. A file identical to the installed
# one is not touched.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
priv=${1:-$root/priv}

# Cargo resolves a relative CARGO_TARGET_DIR against its working directory;
# resolve it against the caller's, before changing directory.
case "${CARGO_TARGET_DIR:-}" in
    "") target=$root/target ;;
    /*) target=$CARGO_TARGET_DIR ;;
    *) target=$(pwd)/$CARGO_TARGET_DIR ;;
esac

if [ -n "${CARGO:-}" ]; then
    cargo=$CARGO
elif command -v cargo >/dev/null 2>&1; then
    cargo=cargo
elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    cargo=${CARGO_HOME:-$HOME/.cargo}/bin/cargo
else
    echo "build_native.sh: cargo not found; install Rust (https://rustup.rs) or set CARGO" >&2
    exit 1
fi

case "$(uname -s)" in
    Darwin) lib=libthrong_nif.dylib ;;
    *) lib=libthrong_nif.so ;;
esac

(cd "$root" && CARGO_TARGET_DIR=$target "$cargo" build --release -p throng_nif -p throng_port)

mkdir -p "$priv"
tmp=
trap 'if [ -n "$tmp" ]; then rm -f "$tmp"; fi' EXIT

# install BUILT NAME: BUILT as PRIV_DIR/NAME, unless it is there already.
install() {
    installed=$priv/$2
    if [ -f "$installed" ] && cmp -s "$1" "$installed"; then
        return 0
    fi
    tmp=$priv/.$2.$$
    cp "$1" "$tmp"
    mv -f "$tmp" "$installed"
    tmp=
    echo "build_native.sh: installed $installed"
}

install "$target/release/$lib" throng_nif.so
install "$target/release/throng_port" throng_port
