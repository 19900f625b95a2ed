#!/usr/bin/env bash
# The instruction-count check: runs callgrind_gets (gets.c) under callgrind
# with N and 2N gets, by name and through handles, and fails if the
# instructions per get -- the difference of the two runs over N, so that
# setup and the namespace's creation cancel out -- exceed the budget.
# Instruction counts are deterministic: this is not a timing test.
#
#   check.sh BINARY BUDGET_BY_NAME BUDGET_HANDLE
set -euo pipefail
bin=$1
budget_name=$2
budget_handle=$3
n=${MMF_CALLGRIND_N:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() { # mode gets -> instructions in run_gets
  valgrind --tool=callgrind --toggle-collect=run_gets --callgrind-out-file="$tmp/out" \
    "$bin" "$1" "$2" >"$tmp/log" 2>&1 || { cat "$tmp/log"; echo "callgrind run failed"; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/log"
}

status=0
for mode in name handle; do
  budget=$budget_name
  [ "$mode" = handle ] && budget=$budget_handle
  one=$(count "$mode" "$n")
  two=$(count "$mode" $((2 * n)))
  per=$(awk -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
  if awk -v p="$per" -v b="$budget" 'BEGIN { exit !(p <= b) }'; then
    echo "get by $mode: $per instructions per get (budget $budget)"
  else
    echo "get by $mode: $per instructions per get, over the budget of $budget"
    status=1
  fi
done
exit $status
