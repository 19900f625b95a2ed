#!/usr/bin/env bash
# The whole test suite: install what is missing, check the format of the C
# files that are held to it, then build and run the suite from the presets
# in CMakePresets.json -- release (-Werror; plus the installed package
# consumed by an outside project, and valgrind over the suites that stay in
# one process), asan (ASan+UBSan), tsan (ThreadSanitizer, clang; the suites
# that stay in one process) and fuzz (a minute of libFuzzer on damaged
# namespace images; MMF_FUZZ_SECONDS to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/format_check.sh
jobs=$(nproc)
total=0

# Builds and runs one preset. ctest fails on any test that fails, so when it
# passes every test it listed passed: the count comes from its own listing.
run_preset() { # preset
  local preset=$1 out n
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs" >/dev/null
  n=$(ctest --preset "$preset" --show-only=json-v1 | jq '.tests | length')
  out=$(ctest --preset "$preset" 2>&1) || { echo "$out"; exit 1; }
  echo "$out" | grep -E "tests passed|Test +#"
  total=$((total + n))
}

echo "== Release, -Werror"
run_preset release

echo "== valgrind memcheck (suites in one process): no error, no leak"
for t in test_alloc test_index test_api test_threads test_var; do
  valgrind --leak-check=full --error-exitcode=9 -q build/ci-release/tests/$t >"build/ci-release/$t.valgrind" 2>&1 ||
    { cat "build/ci-release/$t.valgrind"; echo "valgrind: $t failed"; exit 1; }
  echo "valgrind: $t clean"
  total=$((total + 1))
done

echo "== ASan + UBSan"
run_preset asan

echo "== ThreadSanitizer (clang; suites in one process)"
run_preset tsan

echo "== libFuzzer (clang, ASan+UBSan): damaged images for ${MMF_FUZZ_SECONDS:-60} s"
run_preset fuzz
grep -E "^Done|stat::number_of_executed_units" build/ci-fuzz/fuzz.log

echo "ctest: $total passed, 0 failed"
