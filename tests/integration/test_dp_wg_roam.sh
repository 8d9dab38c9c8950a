#!/usr/bin/env bash
# gate44-dp with a wireguard-go user over outer IPv6 carrying inner IPv4 and
# IPv6; the user roams to a new source port mid-stream and traffic goes on;
# a replayed data packet from another source never moves the endpoint; a
# spoofed inner source is dropped and counted; garbage, truncated and
# oversized datagrams to the listen port are counted and dropped while the
# engine keeps forwarding.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_wg_roam tcpdump
. "$(dirname "$0")/dp_lib.sh"

POP=$(itest_name pop); U1=$(itest_name u1); INET=$(itest_name inet)
for n in "$POP" "$U1" "$INET"; do ns_add "$n"; done
veth_add "$POP" pu "$U1" e0
veth_add "$POP" pi "$INET" e0
for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
addr_add "$U1" e0 2001:db8:1::11/64
addr_add "$INET" e0 198.51.100.2/24
addr_add "$INET" e0 2001:db8:100::2/64
route_add "$INET" 44.0.0.0/9 via 198.51.100.1
route_add "$INET" 2001:db8:44::/48 via 2001:db8:100::1

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
DP_USERS_ADDRS="2001:db8:1::1/64" DP_INET_ADDRS="198.51.100.1/24 2001:db8:100::1/64" \
	dp_conf_base "$ITEST_TMP/dp.conf" 1
cat >>"$ITEST_TMP/dp.conf" <<CONF
[wireguard wg0]
private-key = $POP_KEY
listen-port = 51820
address = 44.31.1.1/24
address = 2001:db8:44::1/64
[peer]
interface = wg0
public-key = $P1
allowed-ips = 44.31.1.2/32, 2001:db8:44::2/128
CONF
dp_start "$ITEST_TMP/dp.conf"

W1=$(itest_name wg1)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1" 40001
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24,2001:db8:44::/64,2001:db8:100::/64" "[2001:db8:1::1]:51820"
addr_add "$U1" "$W1" 44.31.1.2/32
addr_add "$U1" "$W1" 2001:db8:44::2/128
route_add "$U1" 44.31.1.0/24 dev "$W1"
route_add "$U1" 198.51.100.0/24 dev "$W1"
route_add "$U1" 2001:db8:44::/64 dev "$W1"
route_add "$U1" 2001:db8:100::/64 dev "$W1"

# outer IPv6: inner IPv4 and inner IPv6, both directions
wait_for 20 ns_exec "$U1" ping -c1 -W1 198.51.100.2 >/dev/null ||
	itest_fail "U1 cannot reach 198.51.100.2 over outer IPv6"
expect_true "inner v4 user -> internet" ping_ok "$U1" 198.51.100.2 5
expect_true "inner v6 user -> internet" ping_ok "$U1" 2001:db8:100::2 5
expect_true "inner v6 internet -> user" ping_ok "$INET" 2001:db8:44::2 3
expect_true "inner v4 internet -> user" ping_ok "$INET" 44.31.1.2 3
expect_eq "endpoint learned" "$(dp_peer "$P1" endpoint)" "[2001:db8:1::11]:40001"

# a replayed data packet from another source port never moves the endpoint
capture_start cap "$U1" e0 "udp and dst port 51820 and greater 100"
sleep 0.5
ping_ok "$U1" 198.51.100.2 2
sleep 0.5
capture_stop cap
pkt=$(ns_exec "" python3 - "$(capture_file cap)" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, out = 24, ""
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    frame = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(frame) > 62 and frame[12:14] == b"\x86\xdd" and frame[20] == 17:
        payload = frame[14 + 40 + 8:]
        if payload[:4] == b"\x04\x00\x00\x00":
            out = payload.hex()
print(out)
PY
)
[[ -n $pkt ]] || itest_fail "no data packet captured"
before=$(dp_drop wg_replay)
udp_send "$U1" 40999 2001:db8:1::1 51820 "$pkt"
wait_for 5 test "$(dp_drop wg_replay)" -gt "$before" || itest_fail "replay not counted"
expect_eq "endpoint unchanged by a replay" "$(dp_peer "$P1" endpoint)" "[2001:db8:1::11]:40001"

# roaming: the user's source port changes mid-stream, traffic continues
ns_exec "$U1" wg set "$W1" listen-port 40002
expect_true "traffic after roaming" ping_ok "$U1" 198.51.100.2 5
expect_eq "endpoint moved with the user" "$(dp_peer "$P1" endpoint)" "[2001:db8:1::11]:40002"
expect_true "internet reaches the roamed user" ping_ok "$INET" 44.31.1.2 3

# a spoofed inner source (not in the peer's allowed IPs) is dropped, counted
addr_add "$U1" "$W1" 44.31.1.99/32
before=$(dp_drop wg_allowed_ips)
ns_exec "$U1" ping -c3 -i0.2 -W1 -I 44.31.1.99 198.51.100.2 >/dev/null 2>&1 || true
wait_for 5 test "$(dp_drop wg_allowed_ips)" -ge $((before + 3)) ||
	itest_fail "spoofed inner source not counted (wg_allowed_ips=$(dp_drop wg_allowed_ips))"
expect_ge "spoofed inner source dropped x3" "$(dp_drop wg_allowed_ips)" $((before + 3))

# garbage, truncated and oversized datagrams: counted drops, no harm
short0=$(dp_drop wg_short); bad0=$(dp_drop wg_bad_type); idx0=$(dp_drop wg_unknown_index)
hs0=$(dp_drop wg_handshake_invalid)
udp_send "$U1" 0 2001:db8:1::1 51820 "00"                        # 1 byte
udp_send "$U1" 0 2001:db8:1::1 51820 "0400000001020304"          # data, truncated
udp_send "$U1" 0 2001:db8:1::1 51820 "09000000$(printf '%064d' 0)" # unknown type
udp_send "$U1" 0 2001:db8:1::1 51820 "01000000$(printf '%0200d' 0)" # initiation, wrong size
udp_send "$U1" 0 2001:db8:1::1 51820 "04000000deadbeef$(printf '%0128d' 0)" # unknown index
udp_send "$U1" 0 2001:db8:1::1 51820 "04000000$(head -c 1400 /dev/urandom | od -An -tx1 | tr -d ' \n')"
wait_for 5 test "$(dp_drop wg_short)" -ge $((short0 + 2)) || itest_fail "short not counted"
expect_ge "truncated datagrams counted" "$(dp_drop wg_short)" $((short0 + 2))
expect_ge "bad types counted" "$(dp_drop wg_bad_type)" $((bad0 + 2))
expect_ge "unknown receiver index counted" "$(dp_drop wg_unknown_index)" $((idx0 + 2))
expect_true "still forwarding after garbage" ping_ok "$U1" 198.51.100.2 3
expect_true "engine answers its socket" dp_alive
# every mbuf of all that traffic and garbage is back in the pool
sleep 0.5
expect_eq "no mbuf leaked" "$(dp_sock '{"cmd":"stats"}' | jq '.result.mbufs_in_use')" 0

bg_stop dp
itest_pass
