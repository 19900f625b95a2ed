#!/usr/bin/env bash
# The benchmark harness runs end to end: every mmf workload (by name, through
# handles, and the spinning waiters) and the floors (a pipe, a bare shared
# word) do work without errors, and its JSON parses. (Speed is not judged
# here: bench/ reports it.)
set -euo pipefail
bench=$1 out=$2
rm -rf "$out"
"$bench" --seconds 0.1 --keys 2000 --systems mmf,mmf-var,mmf-spin,pipe,word --out "$out" >"$out.log"
jq -e '[.runs[] | select(.system == "mmf")] | length == 12' "$out/results.json" >/dev/null
jq -e '[.runs[] | select(.system == "mmf-var")] | length == 12' "$out/results.json" >/dev/null
jq -e '[.runs[] | select(.system == "mmf-spin")] | length == 3' "$out/results.json" >/dev/null
jq -e '[.runs[] | select((.system | startswith("mmf")) and (.errors > 0 or .ops == 0))] | length == 0' \
  "$out/results.json" >/dev/null
jq -e '.runs[] | select(.system == "pipe") | .latency_ns.p50 > 0' "$out/results.json" >/dev/null
jq -e '[.runs[] | select(.system == "word" and .errors == 0 and .ops > 0 and .latency_ns.p50 > 0)]
       | length == 3' "$out/results.json" >/dev/null
grep -q "read-only x1 | mmf" "$out/results.md"
grep -q "ping-pong | mmf-spin" "$out/results.md"
echo "mmf-bench: the mmf workloads (by name, handles, spinning) and the floors (pipe, word) ran, JSON and table written"
