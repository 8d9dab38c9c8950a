#!/usr/bin/env bash
# The exception path: traffic for the POP's own addresses that the engine
# does not handle itself (here a TCP service, as SSH or BGP would be) goes
# up a TAP to the host kernel and the kernel's answers come back down, over
# IPv4 and IPv6, from the internet side and from inside a WireGuard tunnel.
# ICMP echo to the same addresses stays with the engine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_exception
. "$(dirname "$0")/dp_lib.sh"

POP=$(itest_name pop); U1=$(itest_name u1); INET=$(itest_name inet)
TAP=$(itest_name g44h)
for n in "$POP" "$U1" "$INET"; do ns_add "$n"; done
veth_add "$POP" pu "$U1" e0
veth_add "$POP" pi "$INET" e0
for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
addr_add "$U1" e0 192.0.2.11/24
addr_add "$INET" e0 198.51.100.2/24
addr_add "$INET" e0 2001:db8:100::2/64
route_add "$INET" 44.0.0.0/9 via 198.51.100.1

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
DP_TELEMETRY=1 DP_INET_ADDRS="198.51.100.1/24 2001:db8:100::1/64" \
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
[exception]
tap = $TAP
CONF
dp_start "$ITEST_TMP/dp.conf"

# the host side of the POP: its addresses as /32 and /128 on the TAP
wait_for 10 ns_exec "$POP" ip link show "$TAP" >/dev/null 2>&1 || itest_fail "no TAP $TAP"
ns_exec "$POP" ip link set "$TAP" up
addr_add "$POP" "$TAP" 198.51.100.1/32
addr_add "$POP" "$TAP" 44.31.1.1/32
addr_add "$POP" "$TAP" 2001:db8:100::1/128
route_add "$POP" 198.51.100.0/24 dev "$TAP"
route_add "$POP" 44.31.1.0/24 dev "$TAP"
route_add "$POP" 2001:db8:100::/64 dev "$TAP"
bg_start echo4 ns_exec "$POP" socat TCP4-LISTEN:7777,fork,reuseaddr EXEC:cat
bg_start echo6 ns_exec "$POP" socat TCP6-LISTEN:7777,fork,reuseaddr,ipv6only=1 EXEC:cat
wait_for 5 tcp_listening "$POP" 7777 || itest_fail "echo service did not start"

echo_via() { # NS ADDR: a line through the POP host's TCP echo service
	local got
	got=$(printf 'hello gate44\n' | bounded 10 ns_exec "$1" socat -t2 - "TCP:$2:7777" 2>/dev/null)
	[[ $got == "hello gate44" ]]
}
expect_true "internet -> POP host over TCP/IPv4" echo_via "$INET" 198.51.100.1
expect_true "internet -> POP host over TCP/IPv6" echo_via "$INET" "[2001:db8:100::1]"

W1=$(itest_name wg1)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1"
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24" 192.0.2.1:51820
addr_add "$U1" "$W1" 44.31.1.2/32
route_add "$U1" 44.31.1.0/24 dev "$W1"
wait_for 20 ns_exec "$U1" ping -c1 -W1 44.31.1.1 >/dev/null || itest_fail "tunnel not up"
expect_true "tunnel user -> POP host over TCP" echo_via "$U1" 44.31.1.1

up=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].exception_up] | add')
down=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].exception_down] | add')
expect_ge "packets up to the host" "$up" 6
expect_ge "packets down from the host" "$down" 6
icmp0=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].icmp_tx] | add')
expect_true "ping to the POP answered" ping_ok "$INET" 198.51.100.1 3
icmp1=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].icmp_tx] | add')
expect_ge "echo replies come from the engine" "$icmp1" $((icmp0 + 3))

# the same counters over rte_telemetry
tel=$(dp_telemetry /gate44/stats)
expect_ge "rte_telemetry /gate44/stats counts icmp_tx" "$(jq '."/gate44/stats".icmp_tx' <<<"$tel")" 3
expect_true "rte_telemetry /gate44/drops names every reason" \
	test "$(dp_telemetry /gate44/drops | jq '."/gate44/drops" | length')" -ge 20

bg_stop echo4
bg_stop echo6
bg_stop dp
itest_pass
