#!/usr/bin/env bash
# A transport-data flood against gate44-dp from another host on the users'
# segment: unknown receiver indices, a captured data packet replayed over
# and over, and that packet with far-ahead counters and a broken tag, as fast as Python
# sends them for a bounded time. Every one is dropped and counted under its
# reason, the established user keeps passing traffic, and every mbuf comes
# back to the pool.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_transport_flood tcpdump
. "$(dirname "$0")/dp_lib.sh"

dp_flood_topology

POP_KEY=$(wg_genkey); POP_PUB=$(wg_pubkey "$POP_KEY")
K1=$(wg_genkey); P1=$(wg_pubkey "$K1")
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
CONF
dp_start "$ITEST_TMP/dp.conf"

W1=$(itest_name wg1)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1"
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24" 192.0.2.1:51820
addr_add "$U1" "$W1" 44.31.1.2/32
route_add "$U1" 198.51.100.0/24 dev "$W1"
wait_for 20 ns_exec "$U1" ping -c1 -W1 198.51.100.2 >/dev/null || itest_fail "tunnel not up"

# one real data packet, captured on the wire, for the replays
capture_start cap "$U1" e0 udp and dst port 51820 and greater 100
sleep 0.5
ping_ok "$U1" 198.51.100.2 2
sleep 0.5
capture_stop cap
pkt=$(python3 - "$(capture_file cap)" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, out = 24, ""
while off + 16 <= len(d):
    incl = struct.unpack("<I", d[off + 8:off + 12])[0]
    frame = d[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(frame) > 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
        ihl = (frame[14] & 15) * 4
        payload = frame[14 + ihl + 8:]
        if payload[:4] == b"\x04\x00\x00\x00":
            out = payload.hex()
print(out)
PY
)
[[ -n $pkt ]] || itest_fail "no data packet captured"

base=$(dp_sock '{"cmd":"stats"}' | jq '.result.mbufs_in_use')
idx0=$(dp_drop wg_unknown_index); rep0=$(dp_drop wg_replay); dec0=$(dp_drop wg_decrypt)
cat >"$ITEST_TMP/flood.py" <<'PY'
import os, socket, sys, time
pkt = bytes.fromhex(sys.argv[1])
# a broken tag under fresh counters far ahead: it must be decrypted to be
# refused, and must not move the replay window (or the user's own packets,
# with small counters, would be refused as too old after it)
def bad(n):
    b = bytearray(pkt)
    b[8:16] = (2**40 + n).to_bytes(8, "little")
    b[-1] ^= 0x55
    return bytes(b)
unknown = [b"\x04\x00\x00\x00" + os.urandom(4) + os.urandom(8) + os.urandom(len(pkt) - 16)
           for _ in range(256)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 8
n = 0
while time.time() < end:
    for m in (unknown[n & 255], pkt, bad(n)):
        try:
            s.sendto(m, ("192.0.2.1", 51820))
        except OSError:
            pass
    n += 1
print(n * 3)
PY
bg_start flood ns_exec "$ATK" python3 "$ITEST_TMP/flood.py" "$pkt"
sleep 2
expect_true "the user passes traffic during the flood" ping_ok "$U1" 198.51.100.2 5 15
expect_true "the engine answers its socket during the flood" dp_alive
bg_wait flood 20 >/dev/null || bg_stop flood
sent=$(tail -1 "$(bg_log flood)")
idx=$(( $(dp_drop wg_unknown_index) - idx0 ))
rep=$(( $(dp_drop wg_replay) - rep0 ))
dec=$(( $(dp_drop wg_decrypt) - dec0 ))
itest_log "sent $sent: unknown index $idx, replay $rep, bad tag $dec"
expect_ge "unknown receiver indices counted" "$idx" 100
expect_ge "replays counted" "$rep" 100
expect_ge "broken tags counted" "$dec" 100
expect_true "traffic after the flood" ping_ok "$U1" 198.51.100.2 3
mbufs_back() { [[ $(dp_sock '{"cmd":"stats"}' | jq '.result.mbufs_in_use') -le $base ]]; }
expect_true "every mbuf back in the pool (baseline $base)" wait_for 10 mbufs_back
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "dp_transport_flood sent=$sent unknown_index=$idx replay=$rep bad_tag=$dec" >>"$GATE44_RELIABILITY_OUT"
fi

bg_stop dp
itest_pass
