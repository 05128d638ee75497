#!/bin/sh
# Build the NIF library and install it into an application's priv dir.
#
#   sh scripts/build_native.sh [PRIV_DIR]
#
# The one build script for the native code: mix (Mix.Tasks.Compile.ThrongNative
# in mix.exs) and rebar3 (pre_hooks in rebar.config) both call it, so the two
# build tools share one release build in one Cargo target dir.
#
#   PRIV_DIR          where throng_nif.so goes; default: <repo>/priv
#   CARGO_TARGET_DIR  honoured as Cargo does; default: <repo>/target
#   CARGO             the cargo to run; default: cargo on PATH, else ~/.cargo/bin/cargo
#
# The library is copied to a temp file in PRIV_DIR and renamed over
# throng_nif.so, so a VM that has the old file mapped never sees a half-written
# one. If the built library is identical to the installed one, nothing is
# touched.
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

(cd "$root" && CARGO_TARGET_DIR=$target "$cargo" build --release -p throng_nif)

built=$target/release/$lib
installed=$priv/throng_nif.so
mkdir -p "$priv"
if [ -f "$installed" ] && cmp -s "$built" "$installed"; then
    exit 0
fi
tmp=$priv/.throng_nif.so.$$
trap 'rm -f "$tmp"' EXIT
cp "$built" "$tmp"
mv -f "$tmp" "$installed"
trap - EXIT
echo "build_native.sh: installed $installed"
