#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds and runs the
# consumer project against it twice: find_package(mmf), then pkg-config.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  cmake -S "$src" -B "$work/pkgconfig" -DUSE_PKGCONFIG=ON >/dev/null
cmake --build "$work/pkgconfig" >/dev/null
"$work/pkgconfig/consumer"
