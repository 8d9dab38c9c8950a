#!/usr/bin/env bash
# gate44-dp as WireGuard initiator: traffic from the internet for a user the
# engine has no session with makes it dial the user's wireguard-go (which
# has no endpoint for the POP: it only answers). A user restarted with the
# same key (new ephemeral, newer timestamp) is re-handshaken. Packets over
# the tunnel MTU get ICMP "fragmentation needed" with the tunnel's MTU, and
# path MTU discovery then lets TCP (iperf3) through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_wg_initiator iperf3
. "$(dirname "$0")/dp_lib.sh"

POP=$(itest_name pop); U1=$(itest_name u1); INET=$(itest_name inet)
for n in "$POP" "$U1" "$INET"; do ns_add "$n"; done
veth_add "$POP" pu "$U1" e0
veth_add "$POP" pi "$INET" e0
for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
addr_add "$U1" e0 192.0.2.11/24
addr_add "$INET" e0 198.51.100.2/24
route_add "$INET" 44.0.0.0/9 via 198.51.100.1

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
dp_conf_base "$ITEST_TMP/dp.conf" 1
cat >>"$ITEST_TMP/dp.conf" <<CONF
[wireguard wg0]
private-key = $POP_KEY
listen-port = 51820
address = 44.31.1.1/24
mtu = 1420
[peer]
interface = wg0
public-key = $P1
allowed-ips = 44.31.1.2/32
endpoint = 192.0.2.11:51821
CONF
dp_start "$ITEST_TMP/dp.conf"

W1=$(itest_name wg1)
user_up() {
	# MTU 1500 on the user's tunnel: its TCP announces an MSS the POP's
	# 1420-byte tunnel cannot carry, so PMTU discovery has work to do
	wg_go_up "$U1" "$W1" 1500
	wg_set_priv "$U1" "$W1" "$K1" 51821
	wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24"
	addr_add "$U1" "$W1" 44.31.1.2/32
	route_add "$U1" 198.51.100.0/24 dev "$W1"
}
user_up

# the engine dials: the first packets from the internet are held while it
# handshakes, then delivered
expect_eq "no session yet" "$(dp_peer "$P1" session)" "false"
expect_true "internet reaches U1 (engine initiates)" ping_ok "$INET" 44.31.1.2 3 10
expect_true "U1 saw a handshake from the POP" wg_wait_handshake "$U1" "$W1" "$POP_PUB" 5
expect_eq "engine session up" "$(dp_peer "$P1" session)" "true"
expect_true "U1 -> internet" ping_ok "$U1" 198.51.100.2 3

# over the tunnel MTU: ICMP fragmentation needed, with the MTU
out=$(ns_exec "$INET" ping -c1 -W2 -M do -s 1472 44.31.1.2 2>&1 || true)
ns_exec "$INET" ip route flush cache >/dev/null 2>&1 || true
out2=$(ns_exec "$INET" ping -c1 -W2 -M do -s 1472 44.31.1.2 2>&1 || true)
expect_true "ICMP frag needed names MTU 1420" grep -q "mtu = 1420\|mtu=1420" <<<"$out$out2"
expect_ge "too_big counted" "$(dp_drop too_big)" 1
# PMTU discovery lets TCP through: user -> internet and internet -> user
expect_true "iperf3 internet -> user through PMTU" iperf3_tcp "$INET" "$U1" 44.31.1.2 2
expect_ge "iperf3 moved bytes" "$ITEST_IPERF_BPS" 1000000
expect_true "iperf3 user -> internet" iperf3_tcp "$U1" "$INET" 198.51.100.2 2
expect_ge "iperf3 moved bytes" "$ITEST_IPERF_BPS" 1000000

# the user restarts with the same key: new ephemeral, newer timestamp
bg_stop "wg-$W1"
wait_for 5 test ! -e "/var/run/wireguard/$W1.sock" || true
sleep 1
user_up
ns_exec "$U1" wg set "$W1" peer "$POP_PUB" endpoint 192.0.2.1:51820
expect_true "U1 back after restart" ping_ok "$U1" 198.51.100.2 3 10
# the restarted user had no session: a handshake on it now is a new one
expect_true "restarted U1 handshook with the POP" wg_wait_handshake "$U1" "$W1" "$POP_PUB" 5
expect_true "internet reaches restarted U1" ping_ok "$INET" 44.31.1.2 3

bg_stop dp
itest_pass
