#!/bin/sh
# gen-seeds.sh — regenerate the seed corpus of fuzz_noise: real
# initiations, responses and cookie replies made by the noise code for the
# harness's fixed identities, which no fuzzer could forge (the harness
# writes them when GATE44_FUZZ_WRITE_SEEDS names a directory). Rerun it
# when crypto/noise.c, crypto/cookie.c or the identities in fuzz_noise.c
# change, then commit tests/fuzz/corpus/noise. The other corpora are small
# hand-made files, edited directly. Usage: tests/fuzz/gen-seeds.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
"$here/build.sh" noise
rm -rf "$here/corpus/noise"
GATE44_FUZZ_WRITE_SEEDS="$here/corpus/noise" "$here/out/fuzz_noise" -runs=0 >/dev/null 2>&1
echo "gen-seeds.sh: $(ls "$here/corpus/noise" | wc -l) seeds in corpus/noise"
