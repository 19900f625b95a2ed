#!/usr/bin/env bash
# Checks that the C files held to .clang-format are formatted by it; prints
# the ones that are not (fix: clang-format -i FILE). The list starts with the
# tool, the tests, the benchmarks (C and C++) and the bindings' C sources
# (not the Perl XS, which is not C) and grows, directory by directory, to
# every C file.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(tools/*.c tools/*.h tests/*.c tests/*.h
       bench/*.c bench/*.h bench/*.cc bench/harness/*.c bench/harness/*.h
       bindings/python/src/*.c bindings/python/src/*.h bindings/python/tests/*.c)
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "format: not as .clang-format says (clang-format -i them): ${bad[*]}"
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format says"
