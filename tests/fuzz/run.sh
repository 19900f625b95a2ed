#!/usr/bin/env bash
# The libFuzzer run over damaged namespace images, as ctest's test fuzz_image
# (label "fuzz", the fuzz preset): seeds from test_damage's images and the
# saved regressions, then MMF_FUZZ_SECONDS (default 60) of fuzz_image. Leaves
# seeds/, corpus/ and fuzz.log (with any input that broke the property) in
# the build directory BUILD. -max_len holds test_damage's image (a 64 KiB namespace
# that cannot grow: about 156 KiB with its reserved regions).
set -euo pipefail
build=$1 regressions=$2
cd "$build"
rm -rf seeds corpus
mkdir -p seeds corpus
MMF_FUZZ_SEEDS=seeds tests/test_damage >/dev/null
cp "$regressions"/* seeds/
if ! tests/fuzz_image -max_total_time="${MMF_FUZZ_SECONDS:-60}" -timeout=10 -max_len=163840 \
  -print_final_stats=1 corpus seeds >fuzz.log 2>&1; then
  tail -n 60 fuzz.log
  echo "fuzz: the property broke (input saved in $build)"
  exit 1
fi
grep -E "^Done|stat::number_of_executed_units" fuzz.log
