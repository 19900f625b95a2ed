#!/usr/bin/env bash
# The benchmark harness runs end to end: every mmf workload does work without
# errors, and its JSON parses. (Speed is not judged here: bench/ reports it.)
set -euo pipefail
bench=$1 out=$2
rm -rf "$out"
"$bench" --seconds 0.1 --keys 2000 --systems mmf,pipe --out "$out" >"$out.log"
jq -e '[.runs[] | select(.system == "mmf")] | length == 11' "$out/results.json" >/dev/null
jq -e '[.runs[] | select(.system == "mmf" and (.errors > 0 or .ops == 0))] | length == 0' \
  "$out/results.json" >/dev/null
jq -e '.runs[] | select(.system == "pipe") | .latency_ns.p50 > 0' "$out/results.json" >/dev/null
grep -q "read-only x1 | mmf" "$out/results.md"
echo "mmf-bench: 11 mmf workloads and the pipe floor ran, JSON and table written"
