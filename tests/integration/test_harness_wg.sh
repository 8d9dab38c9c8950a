#!/usr/bin/env bash
# test_harness_wg.sh — proves the integration harness (lib.sh) on its own,
# with two wireguard-go peers and no gate44: for an outer IPv4 and an outer
# IPv6 underlay, namespaces A and B joined by a veth pair, wireguard-go in
# each, inner IPv4+IPv6; pings both ways, `wg show` counters non-zero and
# consistent (A's tx == B's rx for that peer, and exactly the expected
# message sizes), `wg show dump`, a bounded iperf3 TCP run through the
# tunnel. A veth end in the root namespace. Then the harness's failure
# paths (a failed check, a failing command under set -e, the watchdog) in
# child runs, each of which must exit non-zero with a FAIL line and leave
# nothing behind; and this run's own cleanup is checked by itest_pass.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
itest_init test_harness_wg iperf3 jq

# counters_consistent NSA IFA PUBB NSB IFB PUBA: both sides' counters for
# each other are stable and A.tx == B.rx, B.tx == A.rx
counters_consistent() {
	local a1 b1 a2 b2 arx atx brx btx
	a1=$(wg_transfer "$1" "$2" "$3") || return 1
	b1=$(wg_transfer "$4" "$5" "$6") || return 1
	sleep 0.2
	a2=$(wg_transfer "$1" "$2" "$3") || return 1
	b2=$(wg_transfer "$4" "$5" "$6") || return 1
	[[ $a1 == "$a2" && $b1 == "$b2" ]] || return 1
	read -r arx atx <<<"$a2"
	read -r brx btx <<<"$b2"
	((atx == brx && btx == arx))
}

# counters_stable NSA IFA PUBB NSB IFB PUBA: no counter moves for 0.2 s
counters_stable() {
	local a1 b1
	a1=$(wg_transfer "$1" "$2" "$3") && b1=$(wg_transfer "$4" "$5" "$6") || return 1
	sleep 0.2
	[[ $a1 == "$(wg_transfer "$1" "$2" "$3")" && $b1 == "$(wg_transfer "$4" "$5" "$6")" ]]
}

# udp_rcvbuf_errors NS: UDP datagrams NS dropped for a full receive buffer
# (IPv4 + IPv6; read from /proc inside the namespace)
udp_rcvbuf_errors() {
	ns_exec "$1" awk '
		FILENAME ~ /snmp6$/ && $1 == "Udp6RcvbufErrors" { n += $2 }
		FILENAME !~ /snmp6$/ && $1 == "Udp:" {
			if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 }
			else if (c) n += $c
		}
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6 2>/dev/null || echo "?"
}

# counters_consistent_delta NSA IFA PUBB NSB IFB PUBA "ARX ATX" "BRX BTX":
# since the given snapshot, A's tx grew exactly by B's rx growth and vice
# versa (and something was counted), and the counters are stable
counters_consistent_delta() {
	local a1 b1 a2 b2 arx atx brx btx arx0 atx0 brx0 btx0
	read -r arx0 atx0 <<<"$7"
	read -r brx0 btx0 <<<"$8"
	a1=$(wg_transfer "$1" "$2" "$3") || return 1
	b1=$(wg_transfer "$4" "$5" "$6") || return 1
	sleep 0.2
	a2=$(wg_transfer "$1" "$2" "$3") || return 1
	b2=$(wg_transfer "$4" "$5" "$6") || return 1
	[[ $a1 == "$a2" && $b1 == "$b2" ]] || return 1
	read -r arx atx <<<"$a2"
	read -r brx btx <<<"$b2"
	((atx > atx0 && atx - atx0 == brx - brx0 && btx - btx0 == arx - arx0))
}

# pair FAM: one A/B pair over an outer IPv$FAM underlay
pair() {
	local fam=$1 A B wa wb ka kb pa pb oa ob epa epb
	local ia4=10.44.$fam.1 ib4=10.44.$fam.2 ia6=fd44:$fam::1 ib6=fd44:$fam::2
	local t0 t1 arx atx brx btx dump mtu sent rcvd
	itest_log "---- outer IPv$fam"
	A=$(itest_name a$fam)
	B=$(itest_name b$fam)
	ns_add "$A"
	ns_add "$B"
	veth_add "$A" eth0 "$B" eth0
	if ((fam == 4)); then
		oa=192.0.2.1 ob=192.0.2.2
		addr_add "$A" eth0 $oa/24
		addr_add "$B" eth0 $ob/24
		epa=$oa:51820 epb=$ob:51820
	else
		oa=2001:db8:44::1 ob=2001:db8:44::2
		addr_add "$A" eth0 $oa/64
		addr_add "$B" eth0 $ob/64
		epa="[$oa]:51820" epb="[$ob]:51820"
	fi
	expect_true "v$fam: underlay A->B" ping_ok "$A" $ob 2

	wa=$(itest_name w${fam}a)
	wb=$(itest_name w${fam}b)
	t0=$(itest_now_ms)
	wg_go_up "$A" "$wa"
	t1=$(itest_now_ms)
	itest_log "v$fam: wireguard-go $wa up (socket + TUN) in $((t1 - t0)) ms"
	wg_go_up "$B" "$wb"
	mtu=$(ip -n "$A" -o link show dev "$wa" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
	itest_log "v$fam: default TUN MTU $mtu"

	ka=$(wg_genkey)
	kb=$(wg_genkey)
	pa=$(wg_pubkey "$ka")
	pb=$(wg_pubkey "$kb")
	expect_eq "v$fam: public key is 44 chars of base64" "${#pa}" 44
	wg_set_priv "$A" "$wa" "$ka" 51820
	wg_set_priv "$B" "$wb" "$kb" 51820
	wg_peer_add "$A" "$wa" "$pb" "$ib4/32,$ib6/128" "$epb"
	wg_peer_add "$B" "$wb" "$pa" "$ia4/32,$ia6/128" "$epa"
	addr_add "$A" "$wa" $ia4/24
	addr_add "$A" "$wa" $ia6/64
	addr_add "$B" "$wb" $ib4/24
	addr_add "$B" "$wb" $ib6/64

	expect_eq "v$fam: A's public key as wg reports it" \
		"$(ns_exec "$A" wg show "$wa" public-key)" "$pa"
	expect_eq "v$fam: A's listen port" \
		"$(ns_exec "$A" wg show "$wa" listen-port)" 51820
	expect_eq "v$fam: counters zero before traffic" \
		"$(wg_transfer "$A" "$wa" "$pb")" "0 0"
	expect_eq "v$fam: no handshake before traffic" \
		"$(wg_handshake "$A" "$wa" "$pb")" 0

	t0=$(itest_now_ms)
	expect_true "v$fam: inner v4 A->B" ping_ok "$A" $ib4 3
	t1=$(itest_now_ms)
	itest_log "v$fam: first ping run (incl. handshake) took $((t1 - t0)) ms"
	expect_true "v$fam: handshake seen by A" wg_wait_handshake "$A" "$wa" "$pb" 5
	expect_true "v$fam: handshake seen by B" wg_wait_handshake "$B" "$wb" "$pa" 5
	expect_true "v$fam: inner v4 B->A" ping_ok "$B" $ia4 3
	expect_true "v$fam: inner v6 A->B" ping_ok "$A" $ib6 3
	expect_true "v$fam: inner v6 B->A" ping_ok "$B" $ia6 3
	expect_false "v$fam: an address outside allowed-ips is not reachable" \
		ping_ok "$A" 10.44.$fam.3 1 1

	expect_true "v$fam: counters settle and agree" \
		wait_for 5 counters_consistent "$A" "$wa" "$pb" "$B" "$wb" "$pa"
	read -r arx atx <<<"$(wg_transfer "$A" "$wa" "$pb")"
	read -r brx btx <<<"$(wg_transfer "$B" "$wb" "$pa")"
	itest_log "v$fam: after pings A rx/tx $arx/$atx, B rx/tx $brx/$btx"
	expect_ge "v$fam: A sent bytes" "$atx" 1
	expect_ge "v$fam: A received bytes" "$arx" 1
	expect_eq "v$fam: bytes A sent == bytes B received" "$atx" "$brx"
	expect_eq "v$fam: bytes B sent == bytes A received" "$btx" "$arx"
	# exactly: A initiated the handshake; each side sent 3 echo requests
	# and 3 replies per inner family (ICMP echo: 84 bytes in IPv4, 104 in
	# IPv6); the ping outside allowed-ips never left A
	local d4 d6
	d4=$(wg_data_bytes 84)
	d6=$(wg_data_bytes 104)
	expect_eq "v$fam: A's tx is exactly init + 6 v4 + 6 v6 data messages" \
		"$atx" $((WG_INIT_BYTES + 6 * d4 + 6 * d6))
	expect_eq "v$fam: B's tx is exactly resp + 6 v4 + 6 v6 data messages" \
		"$btx" $((WG_RESP_BYTES + 6 * d4 + 6 * d6))

	# `wg show dump`: interface line, then one tab-separated peer line
	dump=$(ns_exec "$A" wg show "$wa" dump)
	expect_eq "v$fam: dump has interface + 1 peer line" "$(wc -l <<<"$dump")" 2
	expect_eq "v$fam: dump peer line: 8 fields, key, endpoint, counters" \
		"$(sed -n 2p <<<"$dump" | awk -F'\t' '{print NF, $1, $3, $6, $7}')" \
		"8 $pb $epb $arx $atx"

	if ((fam == 4)); then
		iperf3_tcp "$A" "$B" $ib4 2 ||
			itest_fail "v$fam: iperf3 over inner v4 failed"
	else
		iperf3_tcp "$A" "$B" $ib6 2 ||
			itest_fail "v$fam: iperf3 over inner v6 failed"
	fi
	itest_log "v$fam: iperf3 TCP A->B $((ITEST_IPERF_BPS / 1000000)) Mbit/s"
	expect_ge "v$fam: iperf3 moved data" "$ITEST_IPERF_BPS" 1
	sent=$(jq -r '.end.sum_sent.bytes' "$ITEST_IPERF_JSON")
	rcvd=$(jq -r '.end.sum_received.bytes' "$ITEST_IPERF_JSON")
	wait_for 5 counters_stable "$A" "$wa" "$pb" "$B" "$wb" "$pa" || true
	read -r arx atx <<<"$(wg_transfer "$A" "$wa" "$pb")"
	read -r brx btx <<<"$(wg_transfer "$B" "$wb" "$pa")"
	itest_log "v$fam: after iperf3 A tx $atx / B rx $brx, B tx $btx / A rx $arx;" \
		"B UDP receive-buffer drops: $(udp_rcvbuf_errors "$B")"
	# Under load the receiving wireguard-go drops datagrams (UDP receive
	# buffer full: TCP then retransmits), so rx == tx need not hold here;
	# but no side can receive more than was sent, and what the iperf3
	# server received must have come through B's WireGuard interface.
	expect_ge "v$fam: A's tx counter covers the iperf3 payload sent" "$atx" "$sent"
	expect_ge "v$fam: B's rx counter covers the iperf3 payload received" "$brx" "$rcvd"
	expect_le "v$fam: B received no more than A sent" "$brx" "$atx"
	expect_le "v$fam: A received no more than B sent" "$arx" "$btx"
	# once quiet again, a fresh exchange is counted identically both sides
	expect_true "v$fam: inner v4 A->B after iperf3" ping_ok "$A" $ib4 3
	expect_true "v$fam: counters settle after the pings" \
		wait_for 5 counters_consistent_delta "$A" "$wa" "$pb" "$B" "$wb" "$pa" \
		"$arx $atx" "$brx $btx"
}

# root namespace side of veth_add / ns_exec / ping_ok (link-local only, so
# parallel runs cannot clash on addresses)
root_link() {
	local R N
	itest_log "---- root-namespace link"
	N=$(itest_name r)
	R=$(itest_name rv)
	ns_add "$N"
	veth_add "" "$R" "$N" eth0
	ip link set "$R" addrgenmode none 2>/dev/null || true
	addr_add "" "$R" fe80::44:1/64
	addr_add "$N" eth0 fe80::44:2/64
	expect_true "root <-> ns over link-local" ping_ok "" "fe80::44:2%$R" 2
	expect_true "ns <-> root over link-local" ping_ok "$N" "fe80::44:1%eth0" 2
}

# child ... : a harness run that must fail and clean up after itself
child() {
	itest_log "---- child run: $1"
	local mode=$1 script=$ITEST_TMP/child.sh out rc=0 id last bgpid
	cat >"$script" <<EOF
set -euo pipefail
. "$here/lib.sh"
itest_init child_$mode
echo "ID=\$ITEST_ID"
N=\$(itest_name c)
ns_add "\$N"
veth_add "\$N" e0 "\$N" e1
veth_add "" "\$(itest_name cr)" "\$N" e2
wg_go_up "\$N" "\$(itest_name cw)"
bg_start sleeper ns_exec "\$N" sleep 60
bg_start rootsleeper sleep 61
echo "BGPID=\$ITEST_LAST_PID"
case $mode in
fail) expect_eq "deliberate mismatch" 1 2 ;;
errexit) false ;;
watchdog) sleep 30 ;;
esac
itest_pass
EOF
	local tmo=120
	[[ $mode == watchdog ]] && tmo=3
	out=$(ITEST_TIMEOUT=$tmo bounded 60 bash "$script" 2>&1) || rc=$?
	id=$(sed -n 's/^ID=//p' <<<"$out")
	bgpid=$(sed -n 's/^BGPID=//p' <<<"$out")
	last=$(tail -n 1 <<<"$out")
	expect_ne "child $mode: reported its run id" "$id" ""
	expect_ge "child $mode: exit status non-zero" "$rc" 1
	expect_ne "child $mode: not killed by timeout(1)" "$rc" 124
	expect_true "child $mode: final line is FAIL ($last)" \
		grep -q "^child_$mode: FAIL (" <<<"$last"
	expect_true "child $mode: left nothing behind" itest_check_clean "$id"
	expect_false "child $mode: its root-namespace process is gone" \
		test -e "/proc/${bgpid:-0}"
}

pair 4
pair 6
root_link
child fail
child errexit
child watchdog
itest_pass
