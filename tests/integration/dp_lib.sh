# tests/integration/dp_lib.sh — helpers for tests that run gate44-dp:
# a POP namespace with a users segment and an internet segment, the engine
# on af_packet ports, wireguard-go users, and engine-socket queries.
# Sourced after lib.sh and itest_init.

DP=${GATE44_BUILD:?GATE44_BUILD: the meson build dir}/dataplane/gate44-dp
[[ -x $DP ]] || itest_fail "no $DP: build first"
itest_require socat jq python3

# dp_sock CMD_JSON: send one request line to the engine, print the reply
dp_sock() {
	printf '%s\n' "$1" | bounded 5 socat - UNIX-CONNECT:"$DP_SOCK"
}

# dp_drop NAME: the engine's drop counter NAME
dp_drop() {
	dp_sock '{"cmd":"stats"}' | jq -r --arg n "$1" '.result.drops[$n]'
}

# dp_peer PUBKEY FIELD: a field of the engine's view of a peer on
# ${DP_WGIF:-wg0}
dp_peer() {
	dp_sock "$(printf '{"cmd":"peer.get","interface":"%s","public_key":"%s"}' \
		"${DP_WGIF:-wg0}" "$1")" | jq -r --arg f "$2" '.result[$f]'
}

# dp_conf_base FILE WORKERS [EAL_LCORES]: write the [eal] and [engine]
# sections (no hugepages, a per-run file prefix, the socket in the temp dir)
# and the usual two ports: "users" on $POP's pu and "inet" on $POP's pi,
# with the addresses given in $DP_USERS_ADDRS / $DP_INET_ADDRS (space
# separated). The caller appends [wireguard] and [peer] sections.
dp_conf_base() {
	local f=$1 workers=$2 lcores=${3:--l 0-1} a
	DP_SOCK=$ITEST_TMP/engine.sock
	{
		printf '[eal]\nargs = --no-huge -m 1536 --no-shconf --no-pci%s' \
			"$([[ -n ${DP_TELEMETRY:-} ]] || echo ' --no-telemetry')"
		printf ' --log-level=*:warning %s --file-prefix=%s\n' "$lcores" "$POP"
		printf '[engine]\nsocket = %s\nworkers = %s\nmbufs = 8191\n' "$DP_SOCK" "$workers"
		printf '[port users]\ndevice = net_af_packet_u,iface=pu\n'
		for a in ${DP_USERS_ADDRS:-192.0.2.1/24}; do printf 'address = %s\n' "$a"; done
		printf '[port inet]\ndevice = net_af_packet_i,iface=pi\n'
		for a in ${DP_INET_ADDRS:-198.51.100.1/24}; do printf 'address = %s\n' "$a"; done
	} >"$f"
}

# dp_telemetry CMD: ask the engine's rte_telemetry socket (DP_TELEMETRY=1
# when the config was written) and print the JSON answer
dp_telemetry() {
	python3 - "/var/run/dpdk/$POP/dpdk_telemetry.v2" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)                      # the greeting
s.send(sys.argv[2].encode())
print(s.recv(65536).decode())
PY
}

# dp_start CONF: start the engine in $POP and wait for its socket
dp_start() {
	itest_remove_at_end "/var/run/dpdk/$POP" # EAL's runtime dir for --file-prefix
	bg_start dp ns_exec "$POP" "$DP" -c "$1"
	wait_for 30 dp_alive || itest_fail "gate44-dp did not start: $(tail -5 "$(bg_log dp)")"
}

dp_alive() { [[ -S $DP_SOCK ]] && dp_sock '{"cmd":"ping"}' 2>/dev/null | grep -q pong; }

# udp_send NS SRC_PORT DST_IP DST_PORT HEX: one datagram with the given payload
udp_send() {
	ns_exec "$1" python3 - "$2" "$3" "$4" "$5" <<'PY'
import socket, sys
sport, dst, dport, payload = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sport:
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
s.sendto(payload, (dst, dport))
PY
}

# The flood tests' hosts: the POP (pu toward the users' LAN, pi toward the
# internet host), a user U1 (192.0.2.11) and an attacker ATK (192.0.2.66)
# on one bridged LAN, and INET (198.51.100.2) routing 44/9 to the POP.
# Sets POP U1 ATK INET LAN.
dp_flood_topology() {
	POP=$(itest_name pop); U1=$(itest_name u1); ATK=$(itest_name atk)
	INET=$(itest_name inet); LAN=$(itest_name lan)
	for n in "$POP" "$U1" "$ATK" "$INET" "$LAN"; do ns_add "$n"; done
	ns_exec "$LAN" ip link add br0 type bridge
	ns_exec "$LAN" ip link set br0 up
	veth_add "$POP" pu "$LAN" lp
	veth_add "$U1" e0 "$LAN" l1
	veth_add "$ATK" e0 "$LAN" l2
	for l in lp l1 l2; do ns_exec "$LAN" ip link set "$l" master br0; done
	veth_add "$POP" pi "$INET" e0
	for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
	addr_add "$U1" e0 192.0.2.11/24
	addr_add "$ATK" e0 192.0.2.66/24
	addr_add "$INET" e0 198.51.100.2/24
	route_add "$INET" 44.0.0.0/9 via 198.51.100.1
}
