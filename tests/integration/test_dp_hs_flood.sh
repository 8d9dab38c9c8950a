#!/usr/bin/env bash
# A handshake flood against gate44-dp: initiations with a valid mac1 (the
# attacker knows the POP's public key) from another host, as fast as the
# generator goes, for a bounded time. The engine comes under load, answers
# with cookie replies instead of doing Diffie-Hellman (the per-source rate
# limit applies to initiations that come back with a valid cookie, which
# this flood does not do; test_dp_hs_cookie_flood does), keeps answering
# its socket, and a real wireguard-go user still completes its handshake
# (through the cookie) and passes traffic.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_dp_hs_flood
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

# the flood: random initiations with a correct mac1, for 20 s at most
cat >"$ITEST_TMP/flood.py" <<'PY'
import base64, hashlib, os, socket, sys, time
pub = base64.b64decode(sys.argv[1])
key = hashlib.blake2s(b"mac1----" + pub).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
msgs = []
for _ in range(4096):
    body = b"\x01\x00\x00\x00" + os.urandom(4 + 32 + 48 + 28)
    msgs.append(body + hashlib.blake2s(body, digest_size=16, key=key).digest() + bytes(16))
end = time.time() + 20
i = 0
while time.time() < end:
    for _ in range(1000):
        try:
            s.sendto(msgs[i & 4095], ("192.0.2.1", 51820))
        except OSError:
            pass
        i += 1
PY
bg_start flood ns_exec "$ATK" python3 "$ITEST_TMP/flood.py" "$POP_PUB"
sleep 2

W1=$(itest_name wg1)
wg_go_up "$U1" "$W1" 1420
wg_set_priv "$U1" "$W1" "$K1"
wg_peer_add "$U1" "$W1" "$POP_PUB" "44.31.1.0/24,198.51.100.0/24" 192.0.2.1:51820
addr_add "$U1" "$W1" 44.31.1.2/32
route_add "$U1" 198.51.100.0/24 dev "$W1"

expect_true "engine answers its socket under the flood" dp_alive
expect_true "the user handshakes and passes traffic during the flood" \
	wait_for 30 ping_ok "$U1" 198.51.100.2 1 3
cookies=$(dp_sock '{"cmd":"stats"}' | jq '[.result.lcores[].cookies_tx] | add')
expect_ge "cookie replies sent under load" "$cookies" 1
itest_log "cookies $cookies, ratelimited $(dp_drop wg_handshake_ratelimited), invalid $(dp_drop wg_handshake_invalid), ring full $(dp_drop control_ring_full)"
bg_stop flood
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "dp_hs_flood cookies=$cookies invalid=$(dp_drop wg_handshake_invalid) ring_full=$(dp_drop control_ring_full) user_handshake=ok" >>"$GATE44_RELIABILITY_OUT"
fi
expect_true "traffic after the flood" ping_ok "$U1" 198.51.100.2 3

bg_stop dp
itest_pass
