#!/bin/bash
# test_bench_smoke: the load harness works, as bench/run uses it, on a few
# thousand packets per run: gate44-bench-engine (real handshakes through
# the engine, both directions at three sizes, latency, memory, the flood)
# and bench/e2e.sh (the same generator over veth against gate44-dp and
# wireguard-go), then bench/report.py. It checks that every figure is
# there and that every packet came through; never a rate (figures are the
# benchmark's, not a test's).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_bench_smoke jq wireguard-go gnuplot

SRC=${GATE44_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=$ITEST_TMP/bench
mkdir -p "$OUT"

expect_true "gate44-bench-engine --smoke runs" \
	"$GATE44_BUILD/bench/gate44-bench-engine" --smoke --peers 1,200 --sizes 64,1420,imix \
	--json "$OUT/engine.json"
E=$OUT/engine.json
expect_eq "no error" "$(jq -r .error "$E")" ""
expect_eq "2 stages x 3 sizes x 2 directions" "$(jq '.runs | length' "$E")" 12
expect_eq "every run sent its 20000 frames" \
	"$(jq '[.runs[] | select(.sent != 20000)] | length' "$E")" 0
# a busy machine may make the engine drop (a full tx ring): counted, not lost
expect_eq "and every frame came through the engine or was counted as a drop" \
	"$(jq '[.runs[] | select(.received + .engine_drops != .sent or .received == 0)] | length' "$E")" 0
expect_eq "every run has a rate and latency samples" \
	"$(jq '[.runs[] | select(.mpps <= 0 or .latency.samples == 0)] | length' "$E")" 0
expect_eq "199 handshakes completed, none failed" \
	"$(jq -c '[.handshakes[] | .completed, .failed]' "$E")" "[199,0]"
expect_eq "memory measured at 200 established peers" \
	"$(jq '.memory.established_peers' "$E")" 200
expect_true "memory per peer is a figure" \
	test "$(jq '.memory.rss_per_peer_bytes > 0' "$E")" = true
expect_true "the flood sent its initiations beside data that came through" \
	test "$(jq '.flood.initiations_sent > 0 and .flood.flood_mpps > 0' "$E")" = true

expect_true "bench/e2e.sh --smoke runs against gate44-dp and wireguard-go" \
	env BUILD="$GATE44_BUILD" "$SRC/bench/e2e.sh" "$OUT" --smoke --peers 10 --sizes 64
for sut in gate44-dp wireguard-go; do
	J=$OUT/e2e-$sut.json
	expect_eq "$sut: no error" "$(jq -r .error "$J")" ""
	expect_eq "$sut: both directions" "$(jq '.runs | length' "$J")" 2
	expect_eq "$sut: each with a rate at <= 1% loss" \
		"$(jq '[.runs[] | select(.mpps <= 0 or .received < 0.99 * .sent)] | length' "$J")" 0
done
expect_true "no namespace left behind" sh -c '! ip netns list | grep -q "^g44b-"'

"$GATE44_BUILD/bench/gate44-bench-crypto" --quick --json "$OUT/crypto.json" >/dev/null
printf '{"cpu_model":"test"}\n' >"$OUT/machine.json"
expect_true "bench/report.py writes the report" python3 "$SRC/bench/report.py" "$OUT"
expect_true "with its targets table" grep -q '^## Targets' "$OUT/REPORT.md"
expect_true "and the plots" test -s "$OUT/mpps-vs-size.png" -a -s "$OUT/mpps-vs-peers.png"
itest_pass
