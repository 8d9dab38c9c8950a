#!/usr/bin/env bash
# The protocol's timers in gate44-dp, watched from outside:
# - persistent keepalive: an idle tunnel gets a 32-byte keepalive every N s;
# - passive keepalive: data that arrives and is not answered gets a
#   keepalive back after KEEPALIVE_TIMEOUT (10 s);
# - handshake retry: an initiation nobody answers is sent again after
#   REKEY_TIMEOUT (5 s) plus up to 1/3 s of jitter, with a new sender index.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_wg_timers tcpdump
. "$(dirname "$0")/dp_lib.sh"

POP=$(itest_name pop); U1=$(itest_name u1); INET=$(itest_name inet)
for n in "$POP" "$U1" "$INET"; do ns_add "$n"; done
veth_add "$POP" pu "$U1" e0
veth_add "$POP" pi "$INET" e0
for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
addr_add "$U1" e0 192.0.2.11/24
addr_add "$INET" e0 198.51.100.2/24

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
K2=$(wg_genkey); P2=$(wg_pubkey "$K2")
K3=$(wg_genkey); P3=$(wg_pubkey "$K3")
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
[peer]
interface = wg0
public-key = $P2
allowed-ips = 44.31.1.3/32
endpoint = 192.0.2.11:51822
persistent-keepalive = 2
[peer]
interface = wg0
public-key = $P3
allowed-ips = 44.31.1.4/32
endpoint = 192.0.2.11:51999
persistent-keepalive = 1
CONF
dp_start "$ITEST_TMP/dp.conf"

# handshake retry: P3's endpoint has no WireGuard behind it
capture_start cap "$U1" e0 udp and dst port 51999
W1=$(itest_name wg1); W2=$(itest_name wg2)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1"
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24" 192.0.2.1:51820
addr_add "$U1" "$W1" 44.31.1.2/32
route_add "$U1" 198.51.100.0/24 dev "$W1"
route_add "$U1" 44.31.1.0/24 dev "$W1"
wg_go_up "$U1" "$W2" 1420
wg_set_priv "$U1" "$W2" "$K2" 51822
wg_peer_add "$U1" "$W2" "$POP_PUB" "44.31.1.1/32"

# persistent keepalive: the engine dials P2 itself and keeps it warm
expect_true "engine dialled the keepalive peer" wg_wait_handshake "$U1" "$W2" "$POP_PUB" 10
read -r rx0 _ < <(wg_transfer "$U1" "$W2" "$POP_PUB")
sleep 5
read -r rx1 _ < <(wg_transfer "$U1" "$W2" "$POP_PUB")
expect_ge "2 s persistent keepalives over 5 s (bytes)" $((rx1 - rx0)) 64
expect_le "no more than one per 2 s (bytes)" $((rx1 - rx0)) 128

# passive keepalive: one-way data from U1 (to a port nobody answers)
# (the internet host has no route back: nothing answers the datagram)
wait_for 20 ns_exec "$U1" ping -c1 -W1 44.31.1.1 >/dev/null || itest_fail "U1 tunnel"
ns_exec "$U1" python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x"*100, ("198.51.100.2", 9))'
read -r rx0 _ < <(wg_transfer "$U1" "$W1" "$POP_PUB")
sleep 12
read -r rx1 _ < <(wg_transfer "$U1" "$W1" "$POP_PUB")
expect_eq "one keepalive answers unanswered data after 10 s (bytes)" $((rx1 - rx0)) 32

capture_stop cap
times=$(ns_exec "" tcpdump -nn -tt -r "$(capture_file cap)" 2>/dev/null | awk '{print $1}')
n=$(wc -w <<<"$times")
expect_ge "initiations to the silent peer" "$n" 3
retry_gaps_ok() {
	python3 - "$@" <<'PY'
import sys
t = [float(x) for x in sys.argv[1:]]
gaps = [b - a for a, b in zip(t, t[1:])]
print("# retry gaps:", " ".join("%.2f" % g for g in gaps))
sys.exit(0 if gaps and all(4.9 <= g <= 5.6 for g in gaps) else 1)
PY
}
# shellcheck disable=SC2086
expect_true "retry spacing is REKEY_TIMEOUT + up to 1/3 s jitter" retry_gaps_ok $times

bg_stop dp
itest_pass
