#!/usr/bin/env bash
# gate44-dp (three workers on two cores, so packets cross between them)
# terminates WireGuard tunnels from real wireguard-go clients:
# handshake as responder, inner IPv4 both ways between a tunnel user and an
# "internet" host, client to client through the engine, echo replies from
# the POP's tunnel address, and byte accounting equal to what wg(8) shows
# on the client. Topology (every host a network namespace):
#
#   U1 (wireguard-go, 44.31.1.2) --\                      /-- I (198.51.100.2)
#                                   > [users] POP [inet] <
#   U2 (wireguard-go, 44.31.1.3) --/   gate44-dp on af_packet
#   users segment 192.0.2.0/24 (a bridge in U-side ns), inet 198.51.100.0/24
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_wg_basic
. "$(dirname "$0")/dp_lib.sh"

POP=$(itest_name pop); LAN=$(itest_name lan); U1=$(itest_name u1)
U2=$(itest_name u2); INET=$(itest_name inet)
for n in "$POP" "$LAN" "$U1" "$U2" "$INET"; do ns_add "$n"; done

# the users' LAN: a bridge in LAN joining the POP and both users
ns_exec "$LAN" ip link add br0 type bridge
ns_exec "$LAN" ip link set br0 up
veth_add "$POP" pu "$LAN" lp
veth_add "$U1" e0 "$LAN" l1
veth_add "$U2" e0 "$LAN" l2
for l in lp l1 l2; do ns_exec "$LAN" ip link set "$l" master br0; done
veth_add "$POP" pi "$INET" e0
for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done

addr_add "$U1" e0 192.0.2.11/24
addr_add "$U2" e0 192.0.2.12/24
addr_add "$INET" e0 198.51.100.2/24
route_add "$INET" 44.0.0.0/9 via 198.51.100.1

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
K2=$(wg_genkey); P2=$(wg_pubkey "$K2")

CONF=$ITEST_TMP/dp.conf
dp_conf_base "$CONF" 3 "--lcores=0@0,1@1,2@1,3@0"
cat >>"$CONF" <<CONF
[wireguard wg0]
private-key = $POP_KEY
listen-port = 51820
address = 44.31.1.1/24
mtu = 1420
[peer]
interface = wg0
public-key = $P1
allowed-ips = 44.31.1.2/32
[peer]
interface = wg0
public-key = $P2
allowed-ips = 44.31.1.3/32
CONF

dp_start "$CONF"

i=0
for U in "$U1" "$U2"; do
	i=$((i + 1))
	W=$(itest_name wg$i)
	KEY=K$i
	wg_go_up "$U" "$W" 1420
	wg_set_priv "$U" "$W" "${!KEY}"
	wg_peer_add "$U" "$W" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24" 192.0.2.1:51820
	addr_add "$U" "$W" 44.31.1.$((i + 1))/32
	route_add "$U" 44.31.1.0/24 dev "$W"
	route_add "$U" 198.51.100.0/24 dev "$W"
done
W1=$(itest_name wg1); W2=$(itest_name wg2)

# user -> internet (the first packet triggers the handshake)
wait_for 20 ns_exec "$U1" ping -c1 -W1 198.51.100.2 >/dev/null ||
	itest_fail "U1 cannot reach the internet host; dp log: $(tail -5 "$(bg_log dp)")"
expect_true "U1 handshake completed" wg_wait_handshake "$U1" "$W1" "$POP_PUB" 5
expect_true "U1 pings internet x5" ns_exec "$U1" ping -c5 -i0.2 -W2 198.51.100.2
# internet -> user
expect_true "internet pings U1" ns_exec "$INET" ping -c3 -i0.2 -W2 44.31.1.2
# the POP's tunnel address answers
expect_true "U1 pings POP 44.31.1.1" ns_exec "$U1" ping -c3 -i0.2 -W2 44.31.1.1
# client to client through the engine
wait_for 20 ns_exec "$U2" ping -c1 -W1 198.51.100.2 >/dev/null || itest_fail "U2 no route"
expect_true "U1 pings U2 through the POP" ns_exec "$U1" ping -c3 -i0.2 -W2 44.31.1.3

# three workers on two cores: peers are owned by one worker each, and what
# lands elsewhere crosses through the owner's ring
handoffs=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].handoff_in] | add')
expect_ge "packets handed to the owning worker" "$handoffs" 1

# byte accounting: engine per-peer rx/tx == client's tx/rx (idle first)
sleep 1
read -r crx ctx < <(wg_transfer "$U1" "$W1" "$POP_PUB")
erx=$(dp_peer "$P1" rx_bytes)
etx=$(dp_peer "$P1" tx_bytes)
[[ $erx == "$ctx" && $etx == "$crx" ]] ||
	itest_log "mismatch; engine drops: $(dp_sock '{"cmd":"stats"}' | jq -c '.result.drops | with_entries(select(.value > 0))')"
expect_eq "engine rx bytes == client tx bytes" "$erx" "$ctx"
expect_eq "engine tx bytes == client rx bytes" "$etx" "$crx"

bg_stop dp
itest_pass
