#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every
# CUnit suite three times -- a Release build with -Werror (plus the installed
# package consumed by an outside project, and valgrind over the suites that
# stay in one process), an ASan+UBSan build, a ThreadSanitizer build (clang)
# of the suites that stay in one process, and a minute of libFuzzer on
# damaged namespace images (MMF_FUZZ_SECONDS to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)
total=0

run_ctest() { # build-dir, ctest args...
  local dir=$1 out
  shift
  out=$(cd "$dir" && ctest --output-on-failure --timeout 600 "$@" 2>&1) || { echo "$out"; exit 1; }
  echo "$out" | grep -E "tests passed|Test +#"
  total=$((total + $(echo "$out" | sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p')))
}

echo "== Release, -Werror"
cmake -S . -B build/ci-release -DCMAKE_BUILD_TYPE=Release -DMMF_WERROR=ON >/dev/null
cmake --build build/ci-release -j"$jobs" >/dev/null
run_ctest build/ci-release

echo "== valgrind memcheck (suites in one process): no error, no leak"
for t in test_alloc test_index test_api test_threads test_var; do
  valgrind --leak-check=full --error-exitcode=9 -q build/ci-release/tests/$t >"build/ci-release/$t.valgrind" 2>&1 ||
    { cat "build/ci-release/$t.valgrind"; echo "valgrind: $t failed"; exit 1; }
  echo "valgrind: $t clean"
  total=$((total + 1))
done

echo "== ASan + UBSan"
cmake -S . -B build/ci-asan -DCMAKE_BUILD_TYPE=Debug -DMMF_WERROR=ON -DMMF_SANITIZE=address \
  -DMMF_BUILD_BENCH=OFF >/dev/null
cmake --build build/ci-asan -j"$jobs" >/dev/null
run_ctest build/ci-asan

echo "== ThreadSanitizer (clang; suites in one process)"
CC=clang CXX=clang++ cmake -S . -B build/ci-tsan -DCMAKE_BUILD_TYPE=Debug -DMMF_WERROR=ON \
  -DMMF_SANITIZE=thread -DMMF_BUILD_BENCH=OFF >/dev/null
cmake --build build/ci-tsan -j"$jobs" >/dev/null
run_ctest build/ci-tsan -LE "process|robust"

echo "== libFuzzer (clang, ASan+UBSan): damaged images for ${MMF_FUZZ_SECONDS:-60} s"
CC=clang CXX=clang++ cmake -S . -B build/ci-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMF_WERROR=ON \
  -DMMF_FUZZ=ON -DMMF_BUILD_BENCH=OFF -DMMF_BUILD_TOOLS=OFF >/dev/null
cmake --build build/ci-fuzz -j"$jobs" --target fuzz_image test_damage >/dev/null
rm -rf build/ci-fuzz/seeds build/ci-fuzz/corpus
mkdir -p build/ci-fuzz/seeds build/ci-fuzz/corpus
MMF_FUZZ_SEEDS=build/ci-fuzz/seeds build/ci-fuzz/tests/test_damage >/dev/null
cp tests/fuzz/regressions/* build/ci-fuzz/seeds/
(cd build/ci-fuzz && tests/fuzz_image -max_total_time="${MMF_FUZZ_SECONDS:-60}" -timeout=10 \
  -max_len=70000 -print_final_stats=1 corpus seeds >fuzz.log 2>&1) ||
  { tail -n 60 build/ci-fuzz/fuzz.log; echo "fuzz: the property broke (input saved in build/ci-fuzz)"; exit 1; }
grep -E "^Done|stat::number_of_executed_units" build/ci-fuzz/fuzz.log
total=$((total + 1))

echo "ctest: $total passed, 0 failed"
