#!/usr/bin/env bash
# Checks that every C file is formatted by .clang-format; prints the ones
# that are not (fix: clang-format -i FILE). The Perl XS is not C, and is
# left out.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(include/*.h common/*.c common/*.h alloc/*.c alloc/*.h index/*.c index/*.h
       core/*.c core/*.h tools/*.c tools/*.h tests/*.c tests/*.h tests/*/*.c
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
