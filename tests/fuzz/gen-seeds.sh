#!/bin/sh
# gen-seeds.sh — regenerate the seed corpora that are made by code rather
# than by hand: fuzz_noise's real initiations, responses and cookie replies
# made by the noise code for the harness's fixed identities, which no fuzzer
# could forge, and fuzz_classify's frames (Ethernet, VLAN, ARP, IPv4, IPv6,
# ND, UDP, ICMP, with right checksums and lengths, and their broken
# variants). The harness writes them when GATE44_FUZZ_WRITE_SEEDS names a
# directory, after checking each against its invariants. Rerun it when
# crypto/noise.c, crypto/cookie.c, the identities in fuzz_noise.c or the
# frames in fuzz_classify.c change, then commit tests/fuzz/corpus/<target>.
# The other corpora are small hand-made files, edited directly.
# Usage: tests/fuzz/gen-seeds.sh [noise] [classify]  (default: both)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
for t in ${*:-noise classify}; do
	case "$t" in
	noise | classify) ;;
	*)
		echo "gen-seeds.sh: no generated seeds for '$t'" >&2
		exit 2
		;;
	esac
	"$here/build.sh" "$t"
	rm -rf "$here/corpus/$t"
	if ! GATE44_FUZZ_WRITE_SEEDS="$here/corpus/$t" "$here/out/fuzz_$t" -runs=0 \
		>"$here/out/gen-seeds-$t.log" 2>&1; then
		cat "$here/out/gen-seeds-$t.log" >&2
		exit 1
	fi
	echo "gen-seeds.sh: $(ls "$here/corpus/$t" | wc -l) seeds in corpus/$t"
done
