#!/usr/bin/env bash
# What the library exports: links the whole of libmmf.a into a throwaway
# shared object and checks that its dynamic symbols are exactly the
# functions mmf.h declares with MMF_API (everything else is built hidden);
# then that the binding modules given export none of libmmf's symbols.
# usage: exports.sh CC LIBMMF.a MMF.H BUILD-DIR [MODULE.so ...]
set -euo pipefail
cc=$1 lib=$2 header=$3 dir=$4
shift 4
mkdir -p "$dir"
probe=$dir/libmmf-exports.so
"$cc" -shared -o "$probe" -Wl,--whole-archive "$lib" -Wl,--no-whole-archive -pthread -lm
declared=$(sed -n 's/^MMF_API [^(]*[ *]\(mmf_[a-z0-9_]*\)(.*/\1/p' "$header" | sort)
exported=$(nm -D --defined-only "$probe" | awk '{print $3}' | sort)
if [[ -z $declared ]]; then
    echo "exports: no MMF_API declaration found in $header"
    exit 1
fi
if [[ $declared != "$exported" ]]; then
    echo "exports: a shared object of $lib exports other symbols than mmf.h declares"
    diff <(echo "$declared") <(echo "$exported") | sed 's/^</  declared only:/; s/^>/  exported only:/' | grep ':' || true
    exit 1
fi
echo "exports: $(echo "$exported" | wc -l) symbols, all declared with MMF_API in mmf.h"
for m in "$@"; do
    leaked=$(nm -D --defined-only "$m" | awk '$3 ~ /^mmf/ {print $3}')
    if [[ -n $leaked ]]; then
        echo "exports: $m exports libmmf's symbols: $leaked"
        exit 1
    fi
    echo "exports: $(basename "$m") exports none of libmmf's symbols"
done
