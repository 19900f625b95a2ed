#!/usr/bin/env bash
# Installs, from Debian's packages, whatever mmf needs to build and test that
# this machine does not have yet.
set -euo pipefail
# build and tests (clang-format for scripts/format_check.sh, libperl-dev for the Perl binding,
# python3-dev for the Python one); then the benchmark peers (LMDB, Redis, Boost.Interprocess;
# python3-lmdb for bindings/python/bench.py) and gnuplot for the benchmark's plots
pkgs=(build-essential cmake pkg-config libcunit1-dev libbenchmark-dev libxxhash-dev
      clang clang-format libclang-rt-dev valgrind jq libperl-dev python3-dev
      liblmdb-dev libhiredis-dev redis-server libboost-dev gnuplot-nox python3-lmdb)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
