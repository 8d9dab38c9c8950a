#!/usr/bin/env bash
# Crash safety of gate44-control: kill -9 in the middle of a burst of API
# writes, 20 rounds. After each restart every acknowledged write is there,
# nothing unacknowledged is half there (a tunnel always has its address),
# and the engine holds exactly the store's tunnels. The engine keeps running
# through all of it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_ctl_crash curl
. "$(dirname "$0")/dp_lib.sh"
CTL_RATE=100000 CTL_BURST=100000
. "$(dirname "$0")/ctl_lib.sh"
ctl_pop_up

uid=$(api POST /v1/users '{"name":"crash","max_tunnels":100000,"max_addresses":100000}' | jq -r .id)
expect_ne "user created" "$uid" null
ACKED=$ITEST_TMP/acked
: >"$ACKED"

# writer: creates tunnels as fast as it can, logging each 201 it received
writer() {
	python3 - "$CTL_URL" "$ADMIN" "$uid" "$ACKED" <<'PY'
import base64, http.client, json, os, sys, urllib.parse
url, tok, uid, acked = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(url)
out = open(acked, "a")
while True:
    key = base64.b64encode(os.urandom(32)).decode()
    body = json.dumps({"user_id": uid, "public_key": key, "addresses": {"ipv4": 0, "ipv6": 1}})
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("POST", "/v1/tunnels", body, {"Authorization": "Bearer " + tok,
                                                 "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status == 201:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
    except Exception:
        sys.exit(0)
PY
}

store_keys() { api GET /v1/tunnels | jq -r '.tunnels[].public_key' | sort -u; }
engine_keys() {
	dp_sock "$(printf '{"cmd":"peer.list","interface":"%s"}' "$WGIF")" | jq -r '.result[].public_key' | sort -u
}
no_tunnel_without_address() {
	[[ $(api GET /v1/tunnels | jq '[.tunnels[] | select((.addresses | length) == 0)] | length') == 0 ]]
}

for round in $(seq 1 20); do
	bg_start writer writer
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$(bg_pid ctl)"
	bg_stop writer
	ctl_start
	missing=$(comm -23 <(sort -u "$ACKED") <(store_keys) | wc -l)
	[[ $missing == 0 ]] || itest_fail "round $round: $missing acknowledged tunnel(s) lost"
	no_tunnel_without_address || itest_fail "round $round: a tunnel without its address"
	wait_for 10 test "$(store_keys | md5sum)" = "$(engine_keys | md5sum)" ||
		itest_fail "round $round: engine and store differ"
done
n=$(wc -l <"$ACKED")
itest_log "20 rounds, $n acknowledged writes"
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "ctl_crash rounds=20 acknowledged=$n lost=$(comm -23 <(sort -u "$ACKED") <(store_keys) | wc -l)" >>"$GATE44_RELIABILITY_OUT"
fi
expect_ge "acknowledged writes over 20 rounds" "$n" 20
expect_eq "every acknowledged write is in the store" \
	"$(comm -23 <(sort -u "$ACKED") <(store_keys) | wc -l)" 0
expect_eq "engine holds exactly the store's tunnels" "$(engine_keys | md5sum)" "$(store_keys | md5sum)"
expect_true "engine kept running" dp_alive

bg_stop ctl
bg_stop dp
itest_pass
