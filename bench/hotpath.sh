#!/usr/bin/env bash
# The hot path's figures from one run, as one Markdown table: gets by name
# and through handles against the in-process floor and LMDB, the in-place
# set, instructions per get, and publication to observation (spinning) and
# to wake-up (sleeping) against the bare shared word and a pipe.
#
#   bench/hotpath.sh [BUILD_DIR [PASSES]]    (default build/release, 5)
#
# Ratios are taken within one pass of mmf-bench-micro (floor, mmf and LMDB
# one after the other, 100,000 variables, 16-byte keys, 64-byte values) and
# the table gives their median over PASSES passes, with the lowest and
# highest. Instruction counts need the test build's callgrind_gets
# (tests/callgrind); a build without tests says so. Takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
passes=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -x "$build/tests/callgrind_gets" ] && command -v valgrind >/dev/null; then
  # budgets of 1e9: this only reads the counts
  tests/callgrind/check.sh "$build/tests/callgrind_gets" 1e9 1e9 >"$tmp/callgrind.txt"
else
  echo "no callgrind_gets in $build (a build with tests has it)" >"$tmp/callgrind.txt"
fi

for i in $(seq "$passes"); do
  "$build/bench/mmf-bench-micro" --benchmark_min_time=0.3 --benchmark_format=json \
    --benchmark_filter='(get_hit|get_handle|set_in_place)/(floor|mmf|lmdb)/100000/64$' \
    >"$tmp/micro.$i.json" 2>/dev/null
done

"$build/bench/mmf-bench" --seconds 1 --keys 20000 --churn 0 --fill 0 \
  --systems mmf,mmf-var,mmf-spin,word,pipe --out "$tmp/waits" >"$tmp/waits.log" 2>&1

python3 - "$tmp" "$passes" <<'EOF'
import json, re, statistics, sys

tmp, passes = sys.argv[1], int(sys.argv[2])
micro = []
for i in range(1, passes + 1):
    with open(f"{tmp}/micro.{i}.json") as f:
        micro.append({b["name"]: b["real_time"] for b in json.load(f)["benchmarks"]
                      if b.get("error_occurred") is not True})

def ratio(num, den):
    rs = [p[num] / p[den] for p in micro if num in p and den in p]
    if not rs:
        return "not run"
    return f"{statistics.median(rs):.2f} ({min(rs):.2f} – {max(rs):.2f})"

def op(name, system):
    return f"{name}/{system}/100000/64"

with open(f"{tmp}/callgrind.txt") as f:
    cg = f.read()
def instructions(mode):
    m = re.search(rf"get by {mode}: ([0-9.]+) instructions", cg)
    return m.group(1) if m else cg.strip()

with open(f"{tmp}/waits/results.json") as f:
    runs = {(r["system"], r["workload"]): r for r in json.load(f)["runs"] if "latency_ns" in r}
def p50(system, workload):
    r = runs.get((system, workload))
    return r["latency_ns"]["p50"] if r else None
def ns(v):
    if v is None:
        return "not run"
    return f"{v} ns" if v < 10000 else f"{v / 1000:.1f} µs"
def times(a, b):
    return f"{a / b:.2f}x" if a and b else "—"

spin, word = p50("mmf-spin", "publish x1"), p50("word", "publish x1")
spin_pp, word_pp = p50("mmf-spin", "ping-pong"), p50("word", "ping-pong")
rows = [
    ("`mmf_get` by name / the floor's get", ratio(op("get_hit", "mmf"), op("get_hit", "floor")), "≤ 1.5"),
    ("`mmf_var_get` / the floor's get", ratio(op("get_handle", "mmf"), op("get_hit", "floor")), "≤ 1"),
    ("LMDB `mdb_get` / `mmf_get`", ratio(op("get_hit", "lmdb"), op("get_hit", "mmf")), "≥ 5"),
    ("LMDB `mdb_get` / `mmf_var_get`", ratio(op("get_hit", "lmdb"), op("get_handle", "mmf")), "—"),
    ("instructions per `mmf_get` (callgrind)", instructions("name"), "≤ 150"),
    ("instructions per `mmf_var_get` (callgrind)", instructions("handle"), "≤ 40"),
    ("in-place `mmf_set` / the floor's set", ratio(op("set_in_place", "mmf"), op("set_in_place", "floor")), "≤ 2"),
    ("publish → observe, a waiter spinning through a handle (p50)",
     f"{ns(spin)}; the bare shared word {ns(word)} ({times(spin, word)})", "≤ 300 ns"),
    ("spinning ping-pong round trip (p50)",
     f"{ns(spin_pp)}; the bare shared word {ns(word_pp)} ({times(spin_pp, word_pp)})", "—"),
    ("publish → wake-up through `mmf_wait` (p50, by name / handle)",
     f"{ns(p50('mmf', 'publish x1'))} / {ns(p50('mmf-var', 'publish x1'))}", "—"),
    ("ping-pong sleeping in `mmf_wait` (p50, by name / handle; a pipe)",
     f"{ns(p50('mmf', 'ping-pong'))} / {ns(p50('mmf-var', 'ping-pong'))}; {ns(p50('pipe', 'ping-pong'))}", "—"),
]
print(f"| | measured ({passes} passes: median (lowest – highest)) | target |")
print("|---|---|---|")
for what, got, want in rows:
    print(f"| {what} | {got} | {want} |")
EOF
