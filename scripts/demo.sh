#!/usr/bin/env bash
# The main job: install what is missing, build (Release), then
#  1. the multi-process demonstration on the default POSIX shared-memory
#     namespace (mmf-demo),
#  2. a short run of the benchmark harness against LMDB, Redis and a pipe
#     (mmf-bench --quick), which prints its table and targets and leaves
#     JSON, Markdown and plots in mmf-bench-results/,
#  3. mmf's get against the in-process floor (mmf-bench-micro).
# Under a minute in all, once built. It also installs the library, the mmf
# tool and the Python module under /usr/local, so that `mmf` and
# `python3 -c "import mmf"` work from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DMMF_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null
cmake --install build/release >/dev/null
bash scripts/python_path.sh build/release
build/release/bench/mmf-demo
echo
build/release/bench/mmf-bench --quick --out mmf-bench-results
echo
echo "mmf's get against the floor (an in-process table, same hash), 100,000 variables:"
build/release/bench/mmf-bench-micro --benchmark_min_time=0.3 \
  --benchmark_filter='get_(hit|chase)/(floor|mmf)/100000/64$' 2>/dev/null |
  grep -E '^(Benchmark|get_)'
