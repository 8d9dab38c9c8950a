#!/usr/bin/env bash
# Reliability: kill -9 of gate44-dp under a live tunnel. A user and a tunnel
# made through the API, a wireguard-go client from the API's config
# (persistent keepalive 1 s, plus a continuous ping) passes traffic; then the
# engine is killed outright and restarted with the same config. Measured:
# how long until gate44-control has re-synced (engine connected, the
# tunnel's key back in the engine) and until the client's traffic passes
# again. Only generous bounds are asserted; the figures are logged and, with
# GATE44_RELIABILITY_OUT set, appended to that file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_restart curl
. "$(dirname "$0")/dp_lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
ctl_pop_up

RESYNC_MAX=${RESYNC_MAX:-60}
TRAFFIC_MAX=${TRAFFIC_MAX:-60}

uid=$(api POST /v1/users '{"name":"restart"}' | jq -r .id)
expect_ne "user created" "$uid" null
resp=$(api POST /v1/tunnels "{\"user_id\":$uid,\"name\":\"rst\",\"persistent_keepalive\":1}")
pub=$(jq -r '.tunnel.public_key' <<<"$resp")
expect_ne "tunnel created" "$pub" null
jq -r .config <<<"$resp" >"$ITEST_TMP/u1.conf"
expect_true "the config asks for keepalive 1" grep -q '^PersistentKeepalive = 1$' "$ITEST_TMP/u1.conf"

W1=$(itest_name c1)
user_from_config "$U1" "$W1" "$ITEST_TMP/u1.conf"
expect_true "traffic passes before the crash" ping_ok "$U1" 198.51.100.2 5 15
# a continuous ping keeps the client sending (so it re-handshakes when the
# restarted engine no longer knows its session)
bg_start cping ns_exec "$U1" ping -4 -n -i 0.2 198.51.100.2

engine_has_key() {
	dp_sock "$(printf '{"cmd":"peer.list","interface":"%s"}' "$WGIF")" 2>/dev/null |
		jq -r '.result[].public_key' 2>/dev/null | grep -qxF "$pub"
}
expect_true "the engine holds the tunnel" engine_has_key
resynced() { ctl_synced && engine_has_key; }

old=$(bg_pid dp)
t0=$(itest_now_ms)
{ kill -9 "$old"; bg_wait dp 10; } >/dev/null 2>&1 || true
expect_false "the old engine is gone" bg_alive dp
itest_log "engine pid $old killed (-9), restarting"
dp_start "$ITEST_TMP/dp.conf"
t_up=$(itest_now_ms)
itest_log "engine back up after $(((t_up - t0) / 1000)).$(((t_up - t0) % 1000 / 100)) s"

wait_for "$RESYNC_MAX" resynced || itest_fail "gate44-control did not re-sync within ${RESYNC_MAX}s"
t_sync=$(itest_now_ms)
# traffic: one echo answered within 2 s, tried until the bound
ping1() { ping_ok "$U1" 198.51.100.2 1 2; }
wait_for "$TRAFFIC_MAX" ping1 || itest_fail "no traffic within ${TRAFFIC_MAX}s of the restart"
t_traf=$(itest_now_ms)
fmt() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
resync_s=$(fmt $((t_sync - t0))); traffic_s=$(fmt $((t_traf - t0)))
itest_log "resync after $resync_s s, traffic after $traffic_s s (from the kill)"
expect_le "re-sync within ${RESYNC_MAX}s" $(((t_sync - t0) / 1000)) "$RESYNC_MAX"
expect_le "traffic within ${TRAFFIC_MAX}s" $(((t_traf - t0) / 1000)) "$TRAFFIC_MAX"
expect_true "traffic keeps passing" ping_ok "$U1" 198.51.100.2 5 15
expect_true "the daemon kept running" bg_alive ctl
expect_eq "the API shows the engine connected" "$(api GET /v1/status | jq -r .engine.connected)" true
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "dp_restart resync_s=$resync_s traffic_s=$traffic_s" >>"$GATE44_RELIABILITY_OUT"
fi

bg_stop cping
bg_stop ctl
bg_stop dp
itest_pass
