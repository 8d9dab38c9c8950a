#!/bin/bash
# bench/e2e.sh — end-to-end over veth on this machine: the generator
# (gate44-bench-e2e, core 0) in namespace g44b-gen sends to a POP in
# namespace g44b-sut, first gate44-dp (net_af_packet, its worker on core
# 1), then wireguard-go pinned to core 1 with the kernel forwarding around
# it — the same peers, the same frames, the same counts.
#
#   bench/e2e.sh OUTDIR [--quick|--smoke] [--peers N] [--sizes LIST]
#
# Writes OUTDIR/e2e-gate44-dp.json and OUTDIR/e2e-wireguard-go.json.
# Root only; removes its namespaces on exit. A benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
out=${1:?usage: bench/e2e.sh OUTDIR [--quick] [--peers N] [--sizes LIST]}
shift
quick="" peers=100 sizes="64,512,1420"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=--quick ;;
	--smoke) quick=--smoke ;;
	--peers) peers=$2; shift ;;
	--sizes) sizes=$2; shift ;;
	*) echo "bench/e2e.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
GEN=g44b-gen SUT=g44b-sut
run=$(mktemp -d /tmp/g44b-e2e.XXXXXX)
sut_pid=""

cleanup() {
	if [ -n "$sut_pid" ]; then
		kill "$sut_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$sut_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$sut_pid" 2>/dev/null || true
	fi
	ip netns del $GEN 2>/dev/null || true
	ip netns del $SUT 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
cleanup_ns() { ip netns del $GEN 2>/dev/null || true; ip netns del $SUT 2>/dev/null || true; }
cleanup_ns
mkdir -p "$out"

for t in wireguard-go wg ethtool taskset; do
	command -v $t >/dev/null || { echo "bench/e2e.sh: needs $t (tools/setup-deps)" >&2; exit 1; }
done

ip netns add $GEN
ip netns add $SUT
ip link add g44b-gw type veth peer name g44b-sw
ip link add g44b-gi type veth peer name g44b-si
ip link set g44b-gw netns $GEN
ip link set g44b-gi netns $GEN
ip link set g44b-sw netns $SUT
ip link set g44b-si netns $SUT
ip netns exec $GEN sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec $SUT sysctl -qw net.ipv6.conf.all.disable_ipv6=1
for i in g44b-gw g44b-gi; do
	# one MAC on both of the generator's links: it is one host to the POP
	ip -n $GEN link set $i address 02:00:00:00:44:01
	ip -n $GEN link set $i up
	ip netns exec $GEN ethtool -K $i tx off >/dev/null 2>&1 || true
done
for i in g44b-sw g44b-si; do
	ip -n $SUT link set $i up
	ip netns exec $SUT ethtool -K $i tx off >/dev/null 2>&1 || true
done
wan_mac=$(ip -n $SUT -o link show g44b-sw | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
inet_mac=$(ip -n $SUT -o link show g44b-si | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

(umask 077; wg genkey >"$run/pop.key")
pop_pub=$(wg pubkey <"$run/pop.key")
"$build/bench/gate44-bench-e2e" --print-peers "$peers" >"$run/peers"

gen() { # LABEL
	ip netns exec $GEN taskset -c 0 "$build/bench/gate44-bench-e2e" --wan g44b-gw \
		--inet g44b-gi --pop-pub "$pop_pub" --pop-wan-mac "$wan_mac" \
		--pop-inet-mac "$inet_mac" --label "$1" --peers "$peers" --sizes "$sizes" \
		$quick --json "$out/e2e-$1.json"
}

# ---- gate44-dp ----------------------------------------------------------
{
	printf '[eal]\nargs = --no-huge -m 1536 --no-shconf --no-pci --no-telemetry -l 0-1\n'
	printf 'args = --file-prefix g44bsut%s --log-level lib.eal:error\n' $$
	printf '[engine]\nsocket = %s/engine.sock\nworkers = 1\nmax-peers = %s\n' "$run" \
		$((peers + 16))
	# af_packet rings of 4096 frames (DPDK's default is 512): what a NOC
	# would set for a test on veth; qdisc_bypass as for the generator
	ring=framecnt=4096,blocksz=4096,framesz=2048,qdisc_bypass=1
	printf '[port wan]\ndevice = net_af_packet0,iface=g44b-sw,%s\naddress = 10.0.0.1/24\n' $ring
	printf '[port inet]\ndevice = net_af_packet1,iface=g44b-si,%s\naddress = 10.1.0.1/24\n' $ring
	printf '[wireguard wg0]\nprivate-key-file = %s/pop.key\nlisten-port = 51820\n' "$run"
	printf 'address = 44.128.0.1/10\nmtu = 1420\n'
	printf '[route]\nprefix = 100.64.0.0/10\nvia = 10.0.0.2\nport = wan\n'
	printf '[route]\nprefix = 198.18.0.0/15\nvia = 10.1.0.2\nport = inet\n'
	while read -r key ip; do
		printf '[peer]\ninterface = wg0\npublic-key = %s\nallowed-ips = %s\n' "$key" "$ip"
	done <"$run/peers"
} >"$run/dp.conf"
ip netns exec $SUT "$build/dataplane/gate44-dp" -c "$run/dp.conf" >"$run/dp.log" 2>&1 &
sut_pid=$!
for _ in $(seq 100); do [ -S "$run/engine.sock" ] && break; sleep 0.1; done
[ -S "$run/engine.sock" ] || { cat "$run/dp.log" >&2; exit 1; }
gen gate44-dp
# the engine's own counters: what reached it, what it dropped and why
if command -v socat >/dev/null; then
	echo '{"cmd":"stats"}' | ip netns exec $SUT socat -t 2 - UNIX-CONNECT:"$run/engine.sock" \
		>"$out/e2e-gate44-dp-stats.json" 2>/dev/null || true
fi
kill "$sut_pid"
wait "$sut_pid" 2>/dev/null || true
sut_pid=""
rm -rf "/var/run/dpdk/g44bsut$$"

# ---- wireguard-go, pinned to core 1, the kernel routing around it --------
ip -n $SUT addr add 10.0.0.1/24 dev g44b-sw
ip -n $SUT addr add 10.1.0.1/24 dev g44b-si
ip netns exec $SUT sysctl -qw net.ipv4.ip_forward=1
ip netns exec $SUT sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec $SUT env WG_PROCESS_FOREGROUND=1 taskset -c 1 wireguard-go -f wg0 \
	>"$run/wg.log" 2>&1 &
sut_pid=$!
for _ in $(seq 100); do ip -n $SUT link show wg0 >/dev/null 2>&1 && break; sleep 0.1; done
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$(cat "$run/pop.key")"
	while read -r key ip; do
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = %s\n' "$key" "$ip"
	done <"$run/peers"
} >"$run/wg.conf"
ip netns exec $SUT wg setconf wg0 "$run/wg.conf"
ip -n $SUT addr add 44.128.0.1/10 dev wg0
ip -n $SUT link set wg0 mtu 1420 up
ip -n $SUT route add 100.64.0.0/10 via 10.0.0.2
ip -n $SUT route add 198.18.0.0/15 via 10.1.0.2
gen wireguard-go
