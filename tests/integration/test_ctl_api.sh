#!/usr/bin/env bash
# gate44-control with gate44-dp: a user and a tunnel made through the HTTP
# API, a wireguard-go client brought up from the config the API returned
# passes traffic, the API shows it connected with its counters; the stock
# wg(8) works on the UAPI socket (show, dump, set, syncconf) through the same
# store; then every route and error code of the API (api_check.py).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_ctl_api curl
. "$(dirname "$0")/dp_lib.sh"
. "$(dirname "$0")/ctl_lib.sh"
ctl_pop_up

uid=$(api POST /v1/users '{"name":"DL1ABC","email":"dl1abc@example.net"}' | jq -r .id)
expect_ne "user created" "$uid" null
resp=$(api POST /v1/tunnels "{\"user_id\":$uid,\"name\":\"shack\",\"persistent_keepalive\":25}")
tid=$(jq -r '.tunnel.id // .id' <<<"$resp")
jq -r .config <<<"$resp" >"$ITEST_TMP/u1.conf"
expect_true "the config carries the private key once" grep -q '^PrivateKey = ' "$ITEST_TMP/u1.conf"
addr=$(sed -n 's/^Address = \([0-9.]*\).*/\1/p' "$ITEST_TMP/u1.conf")
expect_true "a 44net address from the pool" test -n "$addr"

W1=$(itest_name c1)
user_from_config "$U1" "$W1" "$ITEST_TMP/u1.conf"
expect_true "the API's config passes traffic" ping_ok "$U1" 198.51.100.2 5 15
expect_true "the internet reaches the user's 44net address" ping_ok "$INET" "$addr" 3
status=$(api GET "/v1/tunnels/$tid/status")
expect_eq "tunnel connected" "$(jq -r .connected <<<"$status")" true
expect_ge "status rx bytes" "$(jq -r .rx_bytes <<<"$status")" 500
# later downloads of the config carry no private key
api GET "/v1/tunnels/$tid/config" >"$ITEST_TMP/later.conf"
expect_false "no private key in later downloads" grep -q '^PrivateKey = [A-Za-z0-9+/]' "$ITEST_TMP/later.conf"

# the stock wg(8) on the UAPI socket
dump=$(wg show "$WGIF" dump)
expect_true "wg show dump lists the tunnel" grep -q "$(jq -r '.tunnel.public_key // .public_key' <<<"$resp")" <<<"$dump"
K2=$(wg genkey); P2=$(wg pubkey <<<"$K2")
expect_true "wg set adds a peer" wg set "$WGIF" peer "$P2" allowed-ips 44.99.0.0/29 persistent-keepalive 10
expect_true "the engine has the new peer" test "$(dp_peer "$P2" public_key)" = "$P2"
expect_true "the API lists the new peer" grep -q "$P2" <<<"$(api GET /v1/tunnels)"
expect_true "wg show shows it" grep -q "44.99.0.0/29" <<<"$(wg show "$WGIF" allowed-ips)"
expect_false "an allowed IP of a pool is refused" wg set "$WGIF" peer "$P2" allowed-ips 44.31.1.20/32
expect_true "wg set remove" wg set "$WGIF" peer "$P2" remove
expect_eq "gone from the engine" "$(dp_sock "$(printf '{"cmd":"peer.get","interface":"%s","public_key":"%s"}' "$WGIF" "$P2")" | jq -r .ok)" false

# expiry: disabled (out of the engine) when due, removed after the grace
exp=$(( $(date +%s) + 2 ))
resp2=$(api POST /v1/tunnels "{\"user_id\":$uid,\"name\":\"short\",\"expires_at\":$exp}")
tid2=$(jq -r '.tunnel.id' <<<"$resp2"); pub2=$(jq -r '.tunnel.public_key' <<<"$resp2")
expect_eq "the new tunnel is in the engine" "$(dp_peer "$pub2" public_key)" "$pub2"
tunnel_expired() { [[ $(api GET "/v1/tunnels/$1" | jq -r .expired) == true ]]; }
tunnel_gone() { [[ $(api_code "$ADMIN" GET "/v1/tunnels/$1") == 404 ]]; }
expect_true "expired and disabled when due" wait_for 20 tunnel_expired "$tid2"
not_in_engine() { [[ $(dp_peer "$1" public_key) == null ]]; }
expect_true "expired tunnel left the engine" wait_for 20 not_in_engine "$pub2"
expect_true "removed after the grace period" wait_for 20 tunnel_gone "$tid2"

# every route and every error code
expect_true "api_check.py" env GATE44_URL="$CTL_URL" GATE44_ADMIN_TOKEN="$ADMIN" \
	python3 "$(dirname "$0")/api_check.py"

# the gate44 CLI, every command against the same daemon
expect_true "cli_check.py" env GATE44_URL="$CTL_URL" GATE44_TOKEN="$ADMIN" \
	GATE44_CLI="$GATE44_BUILD/tools/gate44/gate44" python3 "$(dirname "$0")/cli_check.py"

# wg syncconf: the file becomes the whole truth of the interface
K3=$(wg genkey); P3=$(wg pubkey <<<"$K3")
cat >"$ITEST_TMP/sync.conf" <<CONF
[Interface]
PrivateKey = $(cat "$ITEST_TMP/pop.key")
ListenPort = 51820

[Peer]
PublicKey = $P3
AllowedIPs = 44.99.1.0/29
PersistentKeepalive = 15
CONF
expect_true "wg syncconf" wg syncconf "$WGIF" "$ITEST_TMP/sync.conf"
expect_eq "wg show lists exactly the file's peer" "$(wg show "$WGIF" peers)" "$P3"
expect_eq "the engine holds exactly that peer" \
	"$(dp_sock "$(printf '{"cmd":"peer.list","interface":"%s"}' "$WGIF")" | jq -r '.result[].public_key')" "$P3"
expect_eq "the API agrees" "$(api GET /v1/tunnels | jq -r '.tunnels[].public_key')" "$P3"
expect_false "a foreign private key is refused" wg set "$WGIF" private-key <(wg genkey)

bg_stop ctl
bg_stop dp
itest_pass
