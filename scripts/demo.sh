#!/usr/bin/env bash
# The main job: install what is missing, build (Release), and run the
# multi-process demonstration and benchmark on the default POSIX
# shared-memory namespace.  Arguments go to mmf-demo (seconds, readers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DMMF_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target mmf-demo >/dev/null
exec build/release/bench/mmf-demo "$@"
