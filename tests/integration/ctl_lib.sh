# tests/integration/ctl_lib.sh — a POP with gate44-dp and gate44-control:
# the engine in $POP on af_packet ports (dp_lib.sh), the daemon beside it
# with its database in the temp dir, an HTTP port chosen by the kernel and a
# per-run WireGuard interface name (its UAPI socket path is global).
# Sourced after lib.sh, itest_init and dp_lib.sh.

CTL=${GATE44_BUILD:?}/control/gate44-control
[[ -x $CTL ]] || itest_fail "no $CTL: build first"

# ctl_pop_up: namespaces POP/U1/INET, engine and daemon running; sets
# WGIF, POP_PUB, CTL_CONF, CTL_URL, ADMIN (an admin token)
ctl_pop_up() {
	POP=$(itest_name pop); U1=$(itest_name u1); INET=$(itest_name inet)
	WGIF=$(itest_name wg)
	DP_WGIF=$WGIF
	# the daemon's UAPI socket /var/run/wireguard/$WGIF.sock outlives a
	# kill -9: cleanup removes it like a wireguard-go one
	_ITEST_WG+=("$WGIF")
	_itest_journal wg "$WGIF"
	for n in "$POP" "$U1" "$INET"; do ns_add "$n"; done
	veth_add "$POP" pu "$U1" e0
	veth_add "$POP" pi "$INET" e0
	for i in pu pi; do ns_exec "$POP" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"; done
	addr_add "$U1" e0 192.0.2.11/24
	addr_add "$INET" e0 198.51.100.2/24
	route_add "$INET" 44.0.0.0/9 via 198.51.100.1

	(umask 077; wg genkey >"$ITEST_TMP/pop.key")
	POP_PUB=$(wg pubkey <"$ITEST_TMP/pop.key")
	dp_conf_base "$ITEST_TMP/dp.conf" 1
	cat >>"$ITEST_TMP/dp.conf" <<CONF
[wireguard $WGIF]
private-key-file = $ITEST_TMP/pop.key
listen-port = 51820
address = 44.31.1.1/24
CONF
	dp_start "$ITEST_TMP/dp.conf"

	CTL_CONF=$ITEST_TMP/control.conf
	cat >"$CTL_CONF" <<CONF
[control]
database = $ITEST_TMP/gate44.db
listen = 127.0.0.1:0
engine-socket = $DP_SOCK
counters-interval = 1
expiry-grace = 3
rate = ${CTL_RATE:-20}
burst = ${CTL_BURST:-40}
[interface $WGIF]
private-key-file = $ITEST_TMP/pop.key
endpoint = 192.0.2.1:51820
[pool v4]
interface = $WGIF
prefix = 44.31.1.0/27
reserve = 44.31.1.0
reserve = 44.31.1.1
[pool v6]
interface = $WGIF
prefix = 2001:db8:44::/48
CONF
	ADMIN=$("$CTL" -c "$CTL_CONF" --create-admin-token admin 2>/dev/null) ||
		itest_fail "cannot create the first admin token"
	ctl_start
}

# ctl_start: (re)start the daemon and wait until it answers
ctl_start() {
	: >"$ITEST_TMP/ctl.out"
	bg_start ctl sh -c "exec '$CTL' -c '$CTL_CONF' >'$ITEST_TMP/ctl.out'"
	wait_for 20 grep -q 'ready on' "$ITEST_TMP/ctl.out" ||
		itest_fail "gate44-control did not start: $(tail -5 "$(bg_log ctl)")"
	CTL_URL=http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$ITEST_TMP/ctl.out")
	wait_for 20 ctl_synced || itest_fail "gate44-control did not reach the engine"
}

ctl_synced() {
	[[ $(api GET /v1/status | jq -r '.engine.connected // .engine_connected // empty') == true ]]
}

# api METHOD PATH [JSON]: print the response body (admin token)
api() { api_as "$ADMIN" "$@"; }
# api_as TOKEN METHOD PATH [JSON]
api_as() {
	local tok=$1 m=$2 p=$3 body=${4:-}
	if [[ -n $body ]]; then
		bounded 20 curl -s -X "$m" -H "Authorization: Bearer $tok" \
			-H 'Content-Type: application/json' --data "$body" "$CTL_URL$p"
	else
		bounded 20 curl -s -X "$m" -H "Authorization: Bearer $tok" "$CTL_URL$p"
	fi
}
# api_code TOKEN METHOD PATH [JSON]: print the HTTP status only
api_code() {
	local tok=$1 m=$2 p=$3 body=${4:-} args=()
	[[ -n $body ]] && args=(-H 'Content-Type: application/json' --data "$body")
	bounded 20 curl -s -o /dev/null -w '%{http_code}' -X "$m" \
		-H "Authorization: Bearer $tok" "${args[@]}" "$CTL_URL$p"
}

# user_from_config NS IF CONFIG_FILE: bring up wireguard-go IF in NS from a
# wg-quick file as the API returned it (wg-quick's own keys by hand)
user_from_config() {
	local ns=$1 ifn=$2 conf=$3 a
	wg_go_up "$ns" "$ifn" 1420
	cp "$conf" "$ITEST_TMP/$ifn.conf"
	ns_exec "$ns" wg setconf "$ifn" <(wg-quick strip "$ITEST_TMP/$ifn.conf") ||
		itest_fail "wg setconf from the API's config failed"
	for a in $(sed -n 's/^Address = //p' "$conf" | tr ',' ' '); do
		addr_add "$ns" "$ifn" "$a"
	done
	route_add "$ns" 198.51.100.0/24 dev "$ifn"
	route_add "$ns" 44.31.1.0/24 dev "$ifn"
}
