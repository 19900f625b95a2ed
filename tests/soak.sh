#!/usr/bin/env bash
# The soak, at a scale CI has no time for: the random-kill loop (writers
# killed at random instants while readers check every value), the creation
# race, live writers of 16 MiB beside a checking reader, and the fuzzer over
# damaged images. One summary line per part; exits non-zero if any failed.
# Counts: MMF_SOAK_KILLS (10000), MMF_SOAK_ROUNDS (1000), MMF_SOAK_SECONDS
# (600, the live writers), MMF_SOAK_FUZZ_RUNS (10000000, over MMF_SOAK_JOBS
# parallel fuzzers, default the core count).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export MMF_SOAK_KILLS=${MMF_SOAK_KILLS:-10000} MMF_SOAK_ROUNDS=${MMF_SOAK_ROUNDS:-1000}
export MMF_SOAK_SECONDS=${MMF_SOAK_SECONDS:-600}
runs=${MMF_SOAK_FUZZ_RUNS:-10000000} jobs=${MMF_SOAK_JOBS:-$(nproc)}
out=build/soak
mkdir -p "$out"
cmake -S . -B "$out/release" -DCMAKE_BUILD_TYPE=Release -DMMF_BUILD_BENCH=OFF >/dev/null &&
  cmake --build "$out/release" -j"$(nproc)" --target test_stress test_race test_crash >/dev/null || exit 1
CC=clang CXX=clang++ cmake -S . -B "$out/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMF_FUZZ=ON \
  -DMMF_BUILD_BENCH=OFF -DMMF_BUILD_TOOLS=OFF >/dev/null &&
  cmake --build "$out/fuzz" -j"$(nproc)" --target fuzz_image test_damage >/dev/null || exit 1

failed=0
part() { # name, log, summary pattern, command...
  local name=$1 log=$2 pattern=$3 start=$SECONDS rc
  shift 3
  "$@" >"$log" 2>&1
  rc=$?
  ((rc)) && failed=1
  printf '%-13s %s in %d s: %s\n' "$name" "$( ((rc)) && echo FAILED || echo passed)" \
    $((SECONDS - start)) "$(grep -E "$pattern" "$log" | tr -s ' ' | paste -sd';' -)"
}

echo "soak $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
MMF_TEST_FILTER="writers killed" part kills "$out/kills.log" "writers killed;|longest get" \
  "$out/release/tests/test_stress"
part race "$out/race.log" "rounds of" "$out/release/tests/test_race"
MMF_TEST_FILTER="live writers" part live-writers "$out/live.log" "live writers of" \
  "$out/release/tests/test_crash"
rm -rf "$out/fuzz/seeds" "$out/fuzz/corpus"
mkdir -p "$out/fuzz/seeds" "$out/fuzz/corpus"
MMF_FUZZ_SEEDS="$out/fuzz/seeds" "$out/fuzz/tests/test_damage" >/dev/null
cp tests/fuzz/regressions/* "$out/fuzz/seeds/"
part fuzz "$out/fuzz.log" "stat::number_of_executed_units|^Done" \
  bash -c "cd '$out/fuzz' && tests/fuzz_image -runs=$((runs / jobs)) -jobs=$jobs -workers=$jobs \
    -timeout=10 -max_len=70000 -print_final_stats=1 corpus seeds && cat fuzz-*.log"
exit $failed
