#!/usr/bin/env bash
# Handshake floods that answer cookies, against the per-source rate
# limiter (crypto/ratelimit.c, applied under load in dataplane/
# wg_handshake.c). Sources on the users' segment — 16 IPv4 addresses with
# 2 ports each, and 2 IPv6 /64s with 2 addresses each, every socket a
# configured peer — send real initiations as fast as the generator goes
# (hs_cookie_flood.py answer); under load the engine answers with cookie
# replies, the generator decrypts each cookie and sends the socket's next
# initiations with a valid mac2. A second flood (hs_cookie_flood.py junk:
# random initiations with a valid mac1 that never answer cookies) keeps the
# engine under load, as the rest of an attacker's spoofed sources would.
#
# Before that, more new sources than the limiter's table holds (a /44 of
# IPv6 /64s routed to the attacker, hs_cookie_flood.py fill) each answer one
# cookie, at most a quarter of the table a second. The limiter must forget
# sources idle for a second; if it does not, its table fills for good and
# every new source is refused under load: the fill's last sources, and all
# the measured ones below.
#
# Over a measured window, per limiter key (an IPv4 address or an IPv6 /64:
# the sockets that share one are a group), the test checks that
#  (a) the engine processed — answered with a handshake response — at most
#      BURST + RATE x (window + 1 s) initiations (the limiter's constants,
#      read from crypto/wg_const.h; the second covers the main ring's queue
#      at the window's edges), and at least RATE x window / 10 (the cookie
#      path works for each; a busy machine that starves the main lcore for
#      longer than a burst's worth of tokens lowers the rate), and all
#      groups together more than twice what one bucket allows (the limit
#      is per source, not global);
#  (b) the rest were counted as wg_handshake_ratelimited (not under
#      another reason), and the engine stayed under load all the window (no
#      junk initiation processed without a cookie), so (a) measured the
#      limiter and not a gap in the load;
# and, all through both floods,
#  (c) the engine socket answered its pings (one every 0.2 s, each waited
#      for up to 10 s): half of them within SOCK_MEDIAN_MAX_MS, and
#      SOCK_ANSWERED_MIN_PCT % at all (a main lcore that worked through
#      its whole queue between two polls of the socket would be late for
#      most; a busy machine that stalls it, or the prober, for a moment
#      delays only a few);
#  (d) an established wireguard-go user kept passing traffic (pings).
# The figures are printed and, with GATE44_RELIABILITY_OUT set, appended to
# that file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_hs_cookie_flood
. "$(dirname "$0")/dp_lib.sh"

NADDR4=16                # IPv4 groups, 2 ports each
WARMUP_S=10              # at most: load, and a cookie for every socket
WINDOW_S=8               # the measured window
SOCK_MEDIAN_MAX_MS=1000  # half of the engine socket's pings answer within
SOCK_ANSWERED_MIN_PCT=90 # of them answer within 10 s
PING_MIN_PCT=50          # of the user's pings during the floods that pass
PING_GAP_MAX_S=15        # and never longer than this without one

# the generator needs PyNaCl (python3-nacl, from tools/setup-deps); a
# python3 earlier in PATH (pyenv, a venv) may lack it
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import nacl.bindings' 2>/dev/null; then PY=$p; break; fi
done
[[ -n $PY ]] || itest_fail "no python3 with PyNaCl: run tools/setup-deps (python3-nacl)"
GEN=$(dirname "$0")/hs_cookie_flood.py

# the limiter's constants, from the source it is built from
WG_CONST=${GATE44_SRCDIR:?GATE44_SRCDIR: the source dir}/crypto/wg_const.h
RATE=$(sed -n 's/.*WG_RATELIMIT_PACKETS_PER_SECOND = \([0-9]*\).*/\1/p' "$WG_CONST")
BURST=$(sed -n 's/.*WG_RATELIMIT_BURST = \([0-9]*\).*/\1/p' "$WG_CONST")
MAIN_RING=$(sed -n 's/.*DP_MAIN_RING = \([0-9]*\).*/\1/p' "$GATE44_SRCDIR/dataplane/dp.h")
[[ -n $RATE && -n $BURST && -n $MAIN_RING ]] ||
	itest_fail "no rate limiter constants in $WG_CONST or DP_MAIN_RING in dataplane/dp.h"
# the engine's limiter table size, and the fill: that many new sources and
# an eighth more, from a /44 of /64s routed to the attacker, in FILL_S at most
RL_TABLE=$(sed -n 's/.*cr_ratelimit_create(1u << \([0-9]*\)).*/\1/p' \
	"$GATE44_SRCDIR/dataplane/engine.c")
[[ -n $RL_TABLE ]] || itest_fail "no cr_ratelimit_create(1u << N) in dataplane/engine.c"
RL_TABLE=$((1 << RL_TABLE))
FILL_TARGET=$((RL_TABLE + RL_TABLE / 8))
FILL_S=150
FILL_PREFIX=2001:db8:1000::

dp_flood_topology

# the sources: "GROUP ADDR PORT DST" (a key is added below); a group is
# what the limiter keys on
SRC_SPEC=()
for ((i = 0; i < NADDR4; i++)); do
	a=192.0.2.$((100 + i))
	addr_add "$ATK" e0 "$a/24"
	SRC_SPEC+=("$a $a 40000 192.0.2.1" "$a $a 40001 192.0.2.1")
done
for n in a b; do
	for h in 10 11; do
		addr_add "$ATK" e0 "2001:db8:0:$n::$h/64"
		SRC_SPEC+=("2001:db8:0:$n::/64 2001:db8:0:$n::$h 40000 2001:db8:0:$n::1")
	done
done
# the fill's sources: all of FILL_PREFIX/44 is local here (AnyIP)
ns_exec "$ATK" ip -6 route add local "$FILL_PREFIX/44" dev lo

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
DP_USERS_ADDRS="192.0.2.1/24 2001:db8:0:a::1/64 2001:db8:0:b::1/64"
dp_conf_base "$ITEST_TMP/dp.conf" 1
cat >>"$ITEST_TMP/dp.conf" <<CONF
[wireguard wg0]
private-key = $POP_KEY
listen-port = 51820
address = 44.31.1.1/24
[peer]
interface = wg0
public-key = $P1
allowed-ips = 44.31.1.2/32
[route]
prefix = $FILL_PREFIX/44
via = 2001:db8:0:a::10
port = users
CONF
SOURCES=$ITEST_TMP/sources
(umask 077; : >"$SOURCES")
for s in "${SRC_SPEC[@]}"; do
	k=$(wg_genkey)
	printf '%s %s\n' "$s" "$k" >>"$SOURCES"
	printf '[peer]\ninterface = wg0\npublic-key = %s\n' "$(wg_pubkey "$k")" >>"$ITEST_TMP/dp.conf"
done
NGROUPS=$(cut -d' ' -f1 "$SOURCES" | sort -u | wc -l)
dp_start "$ITEST_TMP/dp.conf"

W1=$(itest_name wg1)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1"
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24" 192.0.2.1:51820
addr_add "$U1" "$W1" 44.31.1.2/32
route_add "$U1" 198.51.100.0/24 dev "$W1"
wait_for 20 ping_ok "$U1" 198.51.100.2 1 2 || itest_fail "tunnel not up before the flood"

# The floods. junk runs (bounded) until the end; the engine socket is
# pinged all along (c)
JUNK_S=$((FILL_S + WARMUP_S + 1 + WINDOW_S + 30))
bg_start junk ns_exec "$ATK" "$PY" "$GEN" junk "$POP_PUB" 192.0.2.1 51820 192.0.2.66 "$JUNK_S"
PROBES=$ITEST_TMP/sockprobe
bg_start sockprobe "$PY" "$GEN" sockprobe "$DP_SOCK" "$JUNK_S" "$PROBES"
cookies_tx() { dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].cookies_tx] | add'; }
under_load() { (($(cookies_tx) > 0)); }
wait_for 20 under_load || itest_fail "the junk flood did not bring the engine under load"

# during NAME: the user's pings (d), one at a time (each up to 2 s), while
# NAME runs; the longest time without a passing one
pings=0 pings_ok=0 ping_last_ok=$(itest_now_ms) ping_gap_ms=0
during() {
	local end=$(($(itest_now_ms) + (JUNK_S + 10) * 1000)) now
	while bg_alive "$1" && (($(itest_now_ms) < end)); do
		pings=$((pings + 1))
		ping_ok "$U1" 198.51.100.2 1 2 && pings_ok=$((pings_ok + 1)) ping_last_ok=$(itest_now_ms)
		now=$(itest_now_ms)
		((now - ping_last_ok > ping_gap_ms)) && ping_gap_ms=$((now - ping_last_ok))
		sleep 0.2
	done
}

# first, more new sources than the limiter's table holds, each answering a
# cookie once: a new source is always let through (it has a full bucket),
# so any refusal means the table was full of sources idle for seconds
FILL_OUT=$ITEST_TMP/fill.json
bg_start fill ns_exec "$ATK" "$PY" "$GEN" fill "$POP_PUB" 2001:db8:0:a::1 51820 "$FILL_PREFIX" \
	"$FILL_TARGET" "$FILL_S" "$DP_SOCK" "$FILL_OUT"
during fill
bg_wait fill 5 || itest_fail "the fill failed: $(tail -5 "$(bg_log fill)")"
[[ -s $FILL_OUT ]] || itest_fail "no figures from the fill: $(tail -5 "$(bg_log fill)")"
fill_reached=$(jq .reached_limiter "$FILL_OUT")
fill_refused=$(jq .ratelimited "$FILL_OUT")
fill_s=$(jq .seconds "$FILL_OUT")
itest_log "fill: $(cat "$FILL_OUT")"
expect_ge "fill: new sources that reached the limiter (its table: $RL_TABLE)" \
	"$fill_reached" "$FILL_TARGET"
expect_eq "fill: none refused (idle sources are forgotten, the table never fills)" \
	"$fill_refused" 0

# then the measured flood
OUT=$ITEST_TMP/flood.json
bg_start answer ns_exec "$ATK" "$PY" "$GEN" answer "$POP_PUB" 51820 "$SOURCES" \
	"$WARMUP_S" "$WINDOW_S" "$DP_SOCK" "$OUT"
during answer
bg_wait answer 5 || itest_fail "the generator failed: $(tail -5 "$(bg_log answer)")"
bg_stop sockprobe
bg_stop junk
[[ -s $PROBES ]] || itest_fail "no figures from the socket probe"
sock_probes=$(wc -l <"$PROBES")
sock_lost=$(grep -c lost "$PROBES" || true)
sock_max_ms=$(grep -v lost "$PROBES" | sort -n | tail -1 || true)
grep lost "$PROBES" | sed 's/^/# engine socket ping: /' || true
pct() { grep -v lost "$PROBES" | sort -n | awk -v p="$1" '{ v[NR] = $1 } END { print v[int(NR * p / 100) + 1] + 0 }'; }
sock_median_ms=$(pct 50)
sock_p90_ms=$(pct 90)
[[ -s $OUT ]] || itest_fail "no figures from the generator: $(tail -5 "$(bg_log answer)")"

# the figures
jqo() { jq -r "$@" "$OUT"; }
window=$(jqo .window_s)
win_ms=$(jqo '.window_s * 1000 | floor')
[[ $(jqo '.engine_before != null and .engine_after != null') == true ]] ||
	itest_fail "the generator could not read the engine's counters"
delta() { jqo --arg n "$1" '.engine_after.drops[$n] - .engine_before.drops[$n]'; }
sent=$(jqo '[.sources[].sent] | add')
sent_mac2=$(jqo '[.sources[].sent_mac2] | add')
responses=$(jqo '[.sources[].responses] | add')
rate_pps=$((sent * 1000 / win_ms))
junk_pps=$(awk '/^junk sent/ { r = $3 / $5 } END { printf "%d", r }' "$(bg_log junk)")
cookies=$(jqo '.engine_after.cookies_tx - .engine_before.cookies_tx')
ratelimited=$(delta wg_handshake_ratelimited)
invalid=$(delta wg_handshake_invalid)
unknown=$(delta wg_handshake_unknown_peer)
hs_flood=$(delta wg_handshake_flood)
replay=$(delta wg_handshake_replay)
ring_full=$(delta control_ring_full)
itest_log "flood: $rate_pps initiations/s with a valid mac2 from $(jqo '.sources | length') sockets in $NGROUPS groups over ${window} s, junk ~$junk_pps/s; warm-up $(jqo .warmup_s) s, $(jqo .sources_with_cookie) sockets held a cookie"
itest_log "engine in the window: $responses responses, ratelimited $ratelimited, cookie replies $cookies, invalid $invalid, unknown_peer $unknown, flood $hs_flood, replay $replay, ring_full $ring_full"
# per group: responses, and per second
GROUPS_TXT=$ITEST_TMP/groups
jqo --argjson w "$window" '.sources | group_by(.group)[] |
	"\(.[0].group) \(map(.responses) | add) \((map(.responses) | add) / $w * 10 | round / 10)"' \
	>"$GROUPS_TXT"
sed 's/^/#   /' "$GROUPS_TXT"
per_s_min=$(sort -k3 -n "$GROUPS_TXT" | head -1 | cut -d' ' -f3)
per_s_max=$(sort -k3 -n "$GROUPS_TXT" | tail -1 | cut -d' ' -f3)
itest_log "responses per group per second: $per_s_min..$per_s_max (limiter: $RATE/s, burst $BURST)"
itest_log "engine socket: $sock_probes pings, median ${sock_median_ms} ms, 90th percentile ${sock_p90_ms} ms, slowest ${sock_max_ms} ms, $sock_lost unanswered in 10 s; user pings $pings_ok/$pings, longest without one ${ping_gap_ms} ms"
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "dp_hs_cookie_flood rate_pps=$rate_pps junk_pps=$junk_pps groups=$NGROUPS window_s=$window resp_per_group_s_min=$per_s_min resp_per_group_s_max=$per_s_max limit_per_s=$RATE burst=$BURST ratelimited=$ratelimited cookies=$cookies invalid=$invalid flood=$hs_flood ring_full=$ring_full sock_median_ms=$sock_median_ms sock_p90_ms=$sock_p90_ms sock_max_ms=$sock_max_ms fill_sources=$fill_reached fill_refused=$fill_refused fill_s=$fill_s pings=$pings_ok/$pings ping_gap_ms=$ping_gap_ms" \
		>>"$GATE44_RELIABILITY_OUT"
fi

# preconditions: every socket answered a cookie, and the engine was under
# load for the whole window (cookie replies went out, and no junk
# initiation was processed, which happens only without load)
expect_eq "every socket decrypted a cookie reply and sent a valid mac2" \
	"$(jqo .sources_with_cookie)" "$(jqo '.sources | length')"
expect_ge "the engine was under load in the window (cookie replies to the junk)" "$cookies" 1
expect_le "... all the window (junk processed without load: < 1 per 100 cookie replies)" \
	"$invalid" $((cookies / 100))

# (a) per group, what the engine processed against the limiter's allowance
max_per_group=$((BURST + RATE * (win_ms + 1000) / 1000))
min_per_group=$((RATE * win_ms / 1000 / 10))
while read -r group n _; do
	expect_le "group $group: processed at most burst + rate x (window + 1 s)" "$n" "$max_per_group"
	expect_ge "group $group: processed at least rate x window / 10" "$n" "$min_per_group"
done <"$GROUPS_TXT"
expect_ge "the limit is per source: all groups together got more than one bucket allows, twice" \
	"$responses" $((2 * max_per_group))

# (b) the rest was dropped under its own name
expect_ge "wg_handshake_ratelimited counts the refused initiations (>= 1/10 of those sent)" \
	"$ratelimited" $(((sent_mac2 - responses) / 10))
expect_le "... and no more than were sent (+ the main ring's backlog)" \
	"$ratelimited" $((sent_mac2 + MAIN_RING))
expect_eq "no flood initiation taken for an unknown peer" "$unknown" 0

# (c), (d)
expect_ge "engine socket pinged during the flood" "$sock_probes" 10
expect_ge "the engine socket answered its pings within 10 s (%)" \
	$(((sock_probes - sock_lost) * 100 / sock_probes)) "$SOCK_ANSWERED_MIN_PCT"
expect_le "... half of them within ${SOCK_MEDIAN_MAX_MS} ms" "$sock_median_ms" "$SOCK_MEDIAN_MAX_MS"
expect_ge "user pings during the floods" "$pings" 3
expect_ge "the user's pings passed during the floods (%)" $((pings_ok * 100 / pings)) "$PING_MIN_PCT"
expect_le "... never ${PING_GAP_MAX_S} s without one (ms)" "$ping_gap_ms" $((PING_GAP_MAX_S * 1000))
expect_true "the user's traffic after the flood" ping_ok "$U1" 198.51.100.2 3
expect_true "engine alive after the flood" dp_alive

bg_stop dp
itest_pass
