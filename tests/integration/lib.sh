# tests/integration/lib.sh — shell harness for gate44 integration tests.
#
# Sourced by tests/integration/test_*.sh (bash, run as root). A test builds
# its own hosts from network namespaces and veth pairs, runs real WireGuard
# peers (wireguard-go + wg(8)) in them, sends traffic only between them, and
# leaves nothing behind: every namespace, root-namespace link, process and
# temp file is recorded and removed by itest_cleanup, which runs from the
# EXIT trap (pass, fail, error or signal) and may be called again at any
# time. A run killed outright (SIGKILL) is swept by the next run's
# itest_init from a journal in $ITEST_STATE_DIR (see itest_sweep).
#
# Names: parallel runs must not collide, so namespaces, links in the root
# namespace and WireGuard interfaces (their UAPI socket path is global) end
# in the run id; make them with $(itest_name BASE) -> "BASE-<id>". Interface
# names are at most 15 chars and the id is up to 6 (usually 4), so keep
# BASE to 8 chars. ns_add, veth_add (root side) and wg_go_up refuse names
# that do not end in "-<id>".
#
# A test looks like:
#	. "$(dirname "$0")/lib.sh"
#	itest_init test_foo iperf3	# extra required tools after the name
#	A=$(itest_name a); ns_add "$A" ...
#	expect_eq "what is checked" "$actual" "$expected"
#	itest_pass			# cleans up, checks, prints "test_foo: PASS"
#
# Every wait is bounded (wait_for SECS ..., bounded SECS cmd...), and a
# watchdog (ITEST_TIMEOUT seconds, default 300) ends a stuck test.
#
# Environment knobs:
#	ITEST_TIMEOUT=300	whole-test watchdog, seconds (0 = none)
#	ITEST_KEEP_TMP=1	keep the temp dir (logs, pcaps, keys) after the run
#	ITEST_WG_LOG_LEVEL	wireguard-go LOG_LEVEL (verbose|error|silent),
#				default verbose (handshakes/keepalives only; it
#				does not log per data packet)
#	ITEST_VERBOSE=1		print every passing check too (default: yes)
#	ITEST_STATE_DIR		journal dir, default /run/gate44-itest
#
# Conventions: functions return non-zero on failure (usable in `if`); the
# expect_* functions and itest_fail end the test. Tests may use
# `set -euo pipefail`; on an unexpected failing command the ERR trap prints
# the line and command.

[[ -n ${_ITEST_LIB_LOADED:-} ]] && return 0
_ITEST_LIB_LOADED=1

ITEST_NAME=${ITEST_NAME:-itest}
ITEST_ID=
ITEST_TMP=
ITEST_CHECKS=0
ITEST_LAST_PID=
_ITEST_T0=
_ITEST_PASSED=0
_ITEST_IN_PASS=0
_ITEST_EXITING=0
_ITEST_FAIL_MSG=
_ITEST_PIDS=()		# every background pid we started
declare -A _ITEST_BG=()	# bg name -> pid
_ITEST_NS=()		# namespaces to delete
_ITEST_LINKS=()		# root-namespace links to delete
_ITEST_WG=()		# wireguard-go interface names (UAPI sockets)
_ITEST_FILES=()		# other paths to remove (itest_remove_at_end)
_ITEST_WATCHDOG=
_ITEST_STATE=		# journal of this run's resources (see itest_sweep)
_ITEST_OUT=1		# saved stdout/stderr of the test (itest_init)
_ITEST_ERR=2

ITEST_WG_RUN=/var/run/wireguard
ITEST_STATE_DIR=${ITEST_STATE_DIR:-/run/gate44-itest}
ITEST_BASE_TOOLS=(ip ethtool ping timeout ps pgrep ss wg wireguard-go mktemp)

# ---------------------------------------------------------------- messages

itest_log() {
	local ms=0
	[[ -n $_ITEST_T0 ]] && ms=$(($(_itest_now_ms) - _ITEST_T0))
	printf '# [%3d.%ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

itest_warn() { printf '# WARNING: %s\n' "$*" >&2; }

# itest_fail MSG: end the test as failed with MSG (EXIT trap cleans up)
itest_fail() {
	_ITEST_FAIL_MSG=${1:-failed}
	printf 'FAIL: %s\n' "$_ITEST_FAIL_MSG" >&"$_ITEST_ERR"
	exit 1
}

_itest_ok() {
	ITEST_CHECKS=$((ITEST_CHECKS + 1))
	[[ ${ITEST_VERBOSE:-1} == 1 ]] && printf 'ok %d - %s\n' "$ITEST_CHECKS" "$1"
	return 0
}

# ---------------------------------------------------------------- assertions

# expect_eq MSG ACTUAL EXPECTED (string compare)
expect_eq() {
	[[ "$2" == "$3" ]] || itest_fail "$1: expected '$3', got '$2'"
	_itest_ok "$1"
}

# expect_ne MSG ACTUAL UNEXPECTED
expect_ne() {
	[[ "$2" != "$3" ]] || itest_fail "$1: got '$2', which it must not be"
	_itest_ok "$1"
}

_itest_int() { [[ $1 =~ ^-?[0-9]+$ ]]; }

# expect_ge MSG ACTUAL MIN (integers)
expect_ge() {
	_itest_int "$2" && _itest_int "$3" ||
		itest_fail "$1: not integers: '$2' >= '$3'"
	(($2 >= $3)) || itest_fail "$1: expected >= $3, got $2"
	_itest_ok "$1"
}

# expect_le MSG ACTUAL MAX (integers)
expect_le() {
	_itest_int "$2" && _itest_int "$3" ||
		itest_fail "$1: not integers: '$2' <= '$3'"
	(($2 <= $3)) || itest_fail "$1: expected <= $3, got $2"
	_itest_ok "$1"
}

# expect_true MSG CMD... : CMD must succeed
expect_true() {
	local msg=$1; shift
	"$@" || itest_fail "$msg: command failed (rc $?): $*"
	_itest_ok "$msg"
}

# expect_false MSG CMD... : CMD must fail
expect_false() {
	local msg=$1; shift
	! "$@" || itest_fail "$msg: command unexpectedly succeeded: $*"
	_itest_ok "$msg"
}

# ---------------------------------------------------------------- setup

# itest_require TOOL...: fail clearly when a tool is missing
itest_require() {
	local t missing=()
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	((${#missing[@]} == 0)) ||
		itest_fail "missing required tools: ${missing[*]}"
}

_itest_b36() {
	local n=$1 d=0123456789abcdefghijklmnopqrstuvwxyz s=
	while ((n > 0)); do s=${d:n % 36:1}$s; n=$((n / 36)); done
	printf '%s' "${s:-0}"
}

_itest_now_ms() { local t=${EPOCHREALTIME/./}; printf '%s' $((t / 1000)); }
# itest_now_ms: wall clock in milliseconds (for timing things in a test)
itest_now_ms() { _itest_now_ms; }

# itest_init NAME [TOOL...]: start a test run (root, tools, id, temp dir,
# traps, watchdog).
itest_init() {
	ITEST_NAME=${1:?itest_init NAME}; shift
	_ITEST_T0=$(_itest_now_ms)
	# the test's own stdout/stderr: a trap may run while a function's
	# redirection (e.g. `ns_exec ... >/dev/null`) is in force, so the final
	# messages go to these saved descriptors
	exec {_ITEST_OUT}>&1 {_ITEST_ERR}>&2
	trap _itest_on_exit EXIT
	_itest_traps
	((BASH_VERSINFO[0] >= 5)) || itest_fail "bash >= 5 required"
	[[ $EUID -eq 0 ]] || itest_fail "must run as root (network namespaces)"
	itest_require "${ITEST_BASE_TOOLS[@]}" "$@"
	[[ -c /dev/net/tun ]] || itest_fail "/dev/net/tun missing (wireguard-go needs TUN)"

	# pid (unique among live runs) + one random char (against a stale
	# leftover of a dead run that had the same pid): <= 6 chars
	ITEST_ID=$(_itest_b36 $$)$(_itest_b36 $((RANDOM % 36)))
	ITEST_TMP=$(mktemp -d "/tmp/itest-${ITEST_NAME}-${ITEST_ID}.XXXXXX") ||
		itest_fail "mktemp failed"
	itest_sweep
	mkdir -p "$ITEST_STATE_DIR" || itest_fail "mkdir $ITEST_STATE_DIR"
	_ITEST_STATE=$ITEST_STATE_DIR/$ITEST_ID
	printf 'owner %s %s %s\ntmp %s\n' $$ "$(_itest_starttime $$)" \
		"$(readlink /proc/self/ns/pid)" "$ITEST_TMP" \
		>"$_ITEST_STATE" || itest_fail "cannot write $_ITEST_STATE"
	mkdir -p "$ITEST_WG_RUN"
	itest_log "$ITEST_NAME: run id $ITEST_ID, temp $ITEST_TMP"
	_itest_watchdog "${ITEST_TIMEOUT:-300}"
}

_itest_traps() {
	trap 'itest_fail "interrupted by SIGINT"' INT
	trap 'itest_fail "terminated by SIGTERM (watchdog or external)"' TERM
	trap 'itest_fail "hung up (SIGHUP)"' HUP
	trap '_itest_on_err $? $LINENO "$BASH_COMMAND"' ERR
}

_itest_on_err() {
	[[ $- == *e* ]] || return 0
	printf 'FAIL: line %s: command failed (rc %s): %s\n' "$2" "$1" "$3" >&"$_ITEST_ERR"
	_ITEST_FAIL_MSG="line $2: $3 (rc $1)"
}

# The watchdog signals the test, then kills the test's direct children so
# a blocked foreground command returns and the TERM trap can run.
_itest_watchdog() {
	local secs=$1 me=$$
	((secs > 0)) || return 0
	(
		trap 'kill $sp 2>/dev/null; exit 0' TERM
		sleep "$secs" &
		sp=$!
		wait $sp
		echo "FAIL: watchdog: $ITEST_NAME still running after ${secs}s" >&2
		kill -TERM "$me" 2>/dev/null
		for c in $(pgrep -P "$me"); do
			[[ $c == "$BASHPID" ]] || kill -TERM "$c" 2>/dev/null
		done
	) </dev/null &
	_ITEST_WATCHDOG=$!
}

# itest_remove_at_end PATH: remove PATH (file or directory) at cleanup
itest_remove_at_end() { _ITEST_FILES+=("$1"); }

# itest_name BASE: a per-run unique name "BASE-<id>" (max 15 chars)
itest_name() {
	local n="${1:?itest_name BASE}-${ITEST_ID:?itest_init first}"
	if ((${#n} > 15)); then
		echo "itest_name: '$n' is longer than 15 chars" >&2
		return 1
	fi
	printf '%s\n' "$n"
}

_itest_need_id() {	# KIND NAME
	[[ -n $2 && $2 == *"-$ITEST_ID" ]] ||
		itest_fail "$1 '$2' lacks the run id; make it with \$(itest_name ...)"
	((${#2} <= 15)) || itest_fail "$1 '$2' is longer than 15 chars"
}

# ---------------------------------------------------------------- hosts

# ns_exec NS CMD...: run CMD in namespace NS ("" = root namespace)
ns_exec() {
	local ns=$1; shift
	if [[ -z $ns ]]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# ns_add NAME: create a namespace (recorded for cleanup), lo up
ns_add() {
	local ns=$1
	_itest_need_id namespace "$ns"
	_ITEST_NS+=("$ns")
	_itest_journal ns "$ns"
	ip netns add "$ns" || itest_fail "ip netns add $ns"
	ip -n "$ns" link set lo up || itest_fail "lo up in $ns"
}

_itest_link_prep() {	# NS IF: up, tx checksum offload off
	ns_exec "$1" ethtool -K "$2" tx off >/dev/null 2>&1 ||
		itest_fail "ethtool -K $2 tx off (ns '${1}')"
	ns_exec "$1" ip link set "$2" up || itest_fail "link $2 up (ns '${1}')"
}

# veth_add NS1 IF1 NS2 IF2: a veth pair, IF1 in NS1, IF2 in NS2 ("" = root
# namespace; a root-side name must carry the run id). Both ends up with tx
# checksum offload off (else the far side drops TCP).
veth_add() {
	local ns1=$1 if1=$2 ns2=$3 if2=$4 a=() b=()
	[[ -n $if1 && -n $if2 ]] || itest_fail "veth_add NS1 IF1 NS2 IF2"
	if [[ -z $ns1 ]]; then _itest_need_id link "$if1"; _ITEST_LINKS+=("$if1")
		_itest_journal link "$if1"
	else a=(netns "$ns1"); fi
	if [[ -z $ns2 ]]; then _itest_need_id link "$if2"; _ITEST_LINKS+=("$if2")
		_itest_journal link "$if2"
	else b=(netns "$ns2"); fi
	ip link add name "$if1" "${a[@]}" type veth peer name "$if2" "${b[@]}" ||
		itest_fail "veth_add $if1($ns1) <-> $if2($ns2)"
	_itest_link_prep "$ns1" "$if1"
	_itest_link_prep "$ns2" "$if2"
}

# addr_add NS IF CIDR: add an address (IPv6 without DAD, usable at once)
addr_add() {
	local extra=()
	[[ $3 == *:* ]] && extra=(nodad)
	ns_exec "$1" ip addr add "$3" dev "$2" "${extra[@]}" ||
		itest_fail "addr_add $3 on $2 (ns '${1}')"
}

# route_add NS DST VIA|dev IF ...: thin wrapper over `ip route add`
route_add() {
	local ns=$1; shift
	ns_exec "$ns" ip route add "$@" || itest_fail "route_add $* (ns '$ns')"
}

# ---------------------------------------------------------------- processes

_itest_alive() {	# PID: running and not a zombie
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r _ _ st _ </proc/$1/stat 2>/dev/null || return 1
	[[ $st != Z && $st != X ]]
}

# _itest_kill_trees SIG PID...: signal the PIDs and all their descendants
# (one ps snapshot; pgrep -P per process is slow)
_itest_kill_trees() {
	local sig=$1 all; shift
	(($#)) || return 0
	all=$(ps -e -o pid=,ppid= 2>/dev/null | awk -v roots="$*" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) k[r[i]] = 1 }
		{ par[$1] = $2 }
		END {
			for (round = 0; round < 64; round++) {
				grew = 0
				for (p in par) if (!(p in k) && (par[p] in k)) { k[p] = 1; grew = 1 }
				if (!grew) break
			}
			for (p in k) print p
		}')
	kill -"$sig" $all 2>/dev/null || true # some may be gone already
	return 0
}

# _itest_stop PID [GRACE_S]: TERM the tree, wait up to GRACE_S, then KILL;
# reap it if it is our child. Returns the exit status when it was ours.
_itest_stop() {
	local pid=$1 grace=${2:-3} i
	[[ -n $pid ]] || return 0
	_itest_kill_trees TERM "$pid"
	for ((i = 0; i < grace * 20; i++)); do
		_itest_alive "$pid" || break
		sleep 0.05
	done
	_itest_alive "$pid" && _itest_kill_trees KILL "$pid"
	# a process ended by our signal reports 128+N: not a failure of the test
	wait "$pid" 2>/dev/null || true
}

# bg_start NAME CMD...: run CMD in the background, output to
# $ITEST_TMP/NAME.log, pid in ITEST_LAST_PID, killed by cleanup/bg_stop.
# `bg_start NAME ns_exec NS cmd...` runs cmd itself as the tracked process.
bg_start() {
	local name=$1; shift
	[[ -n $name && $# -gt 0 ]] || itest_fail "bg_start NAME CMD..."
	if [[ $1 == ns_exec ]]; then
		shift
		if [[ -n $1 ]]; then set -- ip netns exec "$@"; else shift; fi
	fi
	"$@" >"$ITEST_TMP/$name.log" 2>&1 </dev/null {_ITEST_OUT}>&- {_ITEST_ERR}>&- &
	ITEST_LAST_PID=$!
	_ITEST_PIDS+=("$ITEST_LAST_PID")
	_itest_journal proc "$ITEST_LAST_PID" "$(_itest_starttime "$ITEST_LAST_PID")"
	_ITEST_BG[$name]=$ITEST_LAST_PID
}

# bg_pid NAME: print the pid of a bg_start'ed process
bg_pid() { printf '%s\n' "${_ITEST_BG[$1]:-}"; }

# bg_alive NAME: is it still running?
bg_alive() { [[ -n ${_ITEST_BG[$1]:-} ]] && _itest_alive "${_ITEST_BG[$1]}"; }

# bg_wait NAME SECS: wait (bounded) for it to exit; returns its exit status,
# or 124 on timeout (the process keeps running).
bg_wait() {
	local pid=${_ITEST_BG[$1]:-} i
	[[ -n $pid ]] || return 127
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		_itest_alive "$pid" || { wait "$pid" 2>/dev/null; return; }
		sleep 0.05
	done
	return 124
}

# bg_stop NAME: TERM (then KILL) it and reap it
bg_stop() { _itest_stop "${_ITEST_BG[$1]:-}" 3; return 0; }

# bg_log NAME: path of its log
bg_log() { printf '%s\n' "$ITEST_TMP/$1.log"; }

# bounded SECS CMD...: run an external CMD (or `ns_exec NS cmd...`) for at
# most SECS (TERM, then KILL 2 s later); 124 on timeout. Use it, not plain
# timeout(1), for foreground commands: plain timeout moves CMD into its own
# process group, out of reach of the group signal meson sends on its
# timeout, and this shell would wait for CMD before its cleanup could run.
bounded() {
	local secs=$1; shift
	if [[ $1 == ns_exec ]]; then
		shift
		if [[ -n $1 ]]; then set -- ip netns exec "$@"; else shift; fi
	fi
	timeout --foreground -k 2 "$secs" "$@"
}

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout
wait_for() {
	local secs=$1 i end; shift
	end=$(($(_itest_now_ms) + secs * 1000))
	for ((i = 0; i <= secs * 20 + 1; i++)); do
		"$@" && return 0
		(($(_itest_now_ms) >= end)) && return 1
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- traffic

# ping_ok NS DST [COUNT] [DEADLINE_S]: COUNT (default 3) echo requests 0.2 s
# apart, all must be answered within DEADLINE_S (default COUNT + 3)
ping_ok() {
	local ns=$1 dst=$2 n=${3:-3} fam=-4 dl
	dl=${4:-$((n + 3))}
	[[ $dst == *:* ]] && fam=-6
	bounded $((dl + 2)) ns_exec "$ns" \
		ping "$fam" -n -q -c "$n" -i 0.2 -W 1 -w "$dl" "$dst" >/dev/null 2>&1
}

# tcp_listening NS PORT: is something listening on TCP PORT in NS?
tcp_listening() {
	[[ -n $(ns_exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]
}

# iperf3_tcp CLIENT_NS SERVER_NS SERVER_ADDR SECS [IPERF3 ARGS...]:
# one bounded iperf3 TCP run. Sets ITEST_IPERF_BPS (received bits/s, integer)
# and ITEST_IPERF_JSON (the client's JSON report); returns non-zero when it
# failed. Do not call it in $(...): its server must be tracked by this shell.
iperf3_tcp() {
	local cns=$1 sns=$2 addr=$3 secs=$4 port=5201 n json bps; shift 4
	ITEST_IPERF_BPS=0
	ITEST_IPERF_JSON=$ITEST_TMP/iperf3-$((${_ITEST_IPERF_N:-0} + 1)).json
	n=$((${_ITEST_IPERF_N:-0} + 1)); _ITEST_IPERF_N=$n
	json=$ITEST_TMP/iperf3-$n.json
	bg_start "iperf3-srv-$n" ns_exec "$sns" iperf3 -s -1 -B "$addr" -p $port
	if ! wait_for 5 tcp_listening "$sns" $port; then
		echo "iperf3_tcp: server did not listen" >&2; bg_stop "iperf3-srv-$n"
		return 1
	fi
	bounded $((secs + 15)) ns_exec "$cns" iperf3 -c "$addr" -p $port \
		-t "$secs" -J "$@" >"$json" 2>&1
	local rc=$?
	bg_wait "iperf3-srv-$n" 5 >/dev/null || bg_stop "iperf3-srv-$n"
	if ((rc != 0)) || [[ -n $(jq -r '.error // empty' "$json" 2>/dev/null) ]]; then
		echo "iperf3_tcp: client rc $rc: $(jq -r '.error // empty' "$json" 2>/dev/null)" >&2
		return 1
	fi
	bps=$(jq -r '.end.sum_received.bits_per_second // 0 | floor' "$json") || return 1
	ITEST_IPERF_BPS=$bps
}

# capture_start NAME NS IF [FILTER...]: tcpdump to $(capture_file NAME),
# returns once tcpdump listens. Stop with capture_stop NAME (flushes).
capture_start() {
	local name=$1 ns=$2 ifn=$3; shift 3
	bg_start "$name" ns_exec "$ns" tcpdump -n -U -i "$ifn" \
		-w "$ITEST_TMP/$name.pcap" "$@"
	wait_for 5 grep -q 'listening on' "$ITEST_TMP/$name.log" ||
		itest_fail "tcpdump $name on $ifn did not start: $(cat "$ITEST_TMP/$name.log")"
}
capture_stop() { bg_stop "$1"; }
capture_file() { printf '%s\n' "$ITEST_TMP/$1.pcap"; }

# ---------------------------------------------------------------- WireGuard

wg_genkey() { wg genkey; }
wg_genpsk() { wg genpsk; }
# wg_pubkey PRIVKEY
wg_pubkey() { printf '%s\n' "${1:?wg_pubkey PRIVKEY}" | wg pubkey; }

_itest_wg_sock_ok() { [[ -S $ITEST_WG_RUN/$1.sock ]]; }

# wg_go_up NS IFNAME [MTU]: start wireguard-go for IFNAME in NS, wait for its
# UAPI socket and TUN, bring the link up. Configure it afterwards with
# `ns_exec NS wg set IFNAME ...` or wg_set_priv / wg_peer_add.
wg_go_up() {
	local ns=$1 ifn=$2 mtu=${3:-} log pid
	_itest_need_id "wireguard interface" "$ifn"
	[[ -e $ITEST_WG_RUN/$ifn.sock ]] &&
		itest_fail "stale UAPI socket $ITEST_WG_RUN/$ifn.sock"
	log=$ITEST_TMP/wg-$ifn.log
	_ITEST_WG+=("$ifn")
	_itest_journal wg "$ifn"
	# -f: stay in the foreground (so the pid is wireguard-go's own).
	# WG_I_PREFER_...: older releases refuse to start on Linux without it.
	bg_start "wg-$ifn" ns_exec "$ns" env WG_PROCESS_FOREGROUND=1 \
		WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
		LOG_LEVEL="${ITEST_WG_LOG_LEVEL:-verbose}" wireguard-go -f "$ifn"
	pid=$ITEST_LAST_PID
	if ! wait_for 10 _itest_wg_sock_ok "$ifn"; then
		itest_fail "wireguard-go $ifn: no UAPI socket after 10s (alive: $(_itest_alive "$pid" && echo yes || echo no)); log: $(tail -5 "$log")"
	fi
	wait_for 5 ns_exec "$ns" ip link show dev "$ifn" >/dev/null 2>&1 ||
		itest_fail "wireguard-go $ifn: TUN not present in ns '$ns'"
	[[ -n $mtu ]] && { ns_exec "$ns" ip link set "$ifn" mtu "$mtu" ||
		itest_fail "mtu $mtu on $ifn"; }
	ns_exec "$ns" ip link set "$ifn" up || itest_fail "link $ifn up"
}

# wg_set_priv NS IF PRIVKEY [LISTEN_PORT]: set the interface key (via a
# 0600 file in the temp dir, never on a command line) and port
wg_set_priv() {
	local ns=$1 ifn=$2 key=$3 port=${4:-} f args=()
	f=$ITEST_TMP/key-$ifn
	(umask 077; printf '%s\n' "$key" >"$f")
	args=(private-key "$f")
	[[ -n $port ]] && args+=(listen-port "$port")
	ns_exec "$ns" wg set "$ifn" "${args[@]}" || itest_fail "wg set $ifn private-key"
}

# wg_peer_add NS IF PUBKEY ALLOWED_IPS [ENDPOINT] [KEEPALIVE_S]
# ENDPOINT is host:port, IPv6 as [addr]:port
wg_peer_add() {
	local ns=$1 ifn=$2 pub=$3 allowed=$4 ep=${5:-} ka=${6:-} args=()
	args=(peer "$pub" allowed-ips "$allowed")
	[[ -n $ep ]] && args+=(endpoint "$ep")
	[[ -n $ka ]] && args+=(persistent-keepalive "$ka")
	ns_exec "$ns" wg set "$ifn" "${args[@]}" ||
		itest_fail "wg set $ifn peer ${pub:0:8}..."
}

# wg_transfer NS IF PUBKEY: print "rx tx" bytes for that peer (as `wg show
# transfer` reports them: whole WireGuard messages, handshakes included)
wg_transfer() {
	ns_exec "$1" wg show "$2" transfer 2>/dev/null |
		awk -v k="$3" '$1 == k { print $2, $3; f = 1 } END { exit !f }'
}

# wg_handshake NS IF PUBKEY: print latest-handshake (unix seconds, 0 = none)
wg_handshake() {
	ns_exec "$1" wg show "$2" latest-handshakes 2>/dev/null |
		awk -v k="$3" '$1 == k { print $2; f = 1 } END { exit !f }'
}

# WireGuard message sizes on the wire (UDP payload), as the transfer counters
# count them: handshake initiation 148, response 92, cookie reply 64,
# keepalive 32, data 32 + the inner packet padded to a multiple of 16 (but
# not beyond the MTU).
WG_INIT_BYTES=148 WG_RESP_BYTES=92 WG_COOKIE_BYTES=64 WG_KEEPALIVE_BYTES=32
# wg_data_bytes INNER_LEN [MTU]: size of the data message carrying it
wg_data_bytes() {
	local len=$1 mtu=${2:-1420} p
	p=$(((len + 15) / 16 * 16))
	((p > mtu && len <= mtu)) && p=$mtu
	printf '%s\n' $((32 + p))
}

_itest_wg_hs_done() { local t; t=$(wg_handshake "$@") && ((t > 0)); }

# wg_wait_handshake NS IF PUBKEY [SECS]: wait for a completed handshake
wg_wait_handshake() { wait_for "${4:-10}" _itest_wg_hs_done "$1" "$2" "$3"; }

# ---------------------------------------------------------------- cleanup

# Each run journals what it creates to $ITEST_STATE_DIR/<id> ("owner PID
# START", "ns N", "link L", "wg IF", "proc PID START", "tmp DIR"), so what a
# run killed outright leaves behind (SIGKILL; or meson's timeout, which
# TERMs the process group and KILLs it 0.5 s later) is found and removed by
# the next run's itest_init (or: source lib.sh and call itest_sweep).

_itest_starttime() {	# PID: its start time in clock ticks (identity check)
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }	# skip "pid (comm) "; starttime is field 22
	set -- $st
	printf '%s' "${20:-}"
}

_itest_journal() { [[ -n $_ITEST_STATE ]] && echo "$*" >>"$_ITEST_STATE"; return 0; }

# itest_sweep: remove the leftovers of runs whose owner process is gone
# (only runs from our own pid namespace, where that can be told)
itest_sweep() {
	local f kind a b c i pids myns
	myns=$(readlink /proc/self/ns/pid)
	for f in "$ITEST_STATE_DIR"/*; do
		[[ -f $f ]] || continue
		read -r kind a b c <"$f" || continue
		[[ $kind == owner && -n $b && $c == "$myns" ]] || continue
		[[ "$(_itest_starttime "$a")" == "$b" ]] && continue # alive
		echo "# sweeping leftovers of dead run ${f##*/}" >&2
		while read -r kind a b; do
			case $kind in
			proc)	[[ -n $b && "$(_itest_starttime "$a")" == "$b" ]] &&
					kill -KILL "$a" 2>/dev/null ;;
			ns)	pids=$(ip netns pids "$a" 2>/dev/null)
				[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
				for ((i = 0; i < 20; i++)); do
					[[ -z $(ip netns pids "$a" 2>/dev/null) ]] && break
					sleep 0.05
				done
				ip netns del "$a" 2>/dev/null ;;
			link)	ip link del dev "$a" 2>/dev/null ;;
			wg)	rm -f "$ITEST_WG_RUN/$a.sock" ;;
			tmp)	[[ $a == /tmp/itest-* ]] && rm -rf -- "$a" ;;
			esac
		done <"$f"
		rm -f "$f"
	done
	return 0
}

# itest_check_clean [ID]: list anything of this run (or of run ID: another
# test's, whose pids we do not know) still present; 0 if none
itest_check_clean() {
	local id=${1:-$ITEST_ID} left=() n p pids=()
	[[ -n $id ]] || return 0
	[[ -z ${1:-} ]] && pids=("${_ITEST_PIDS[@]}")
	# names end in "-<id>" (ids differ in length: match the suffix only)
	for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $n == *"-$id" ]] && left+=("netns:$n")
	done
	for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}'); do
		n=${n%%@*}
		[[ $n == *"-$id" ]] && left+=("link:$n")
	done
	for n in "$ITEST_WG_RUN"/*"-$id".sock; do
		[[ -e $n ]] && left+=("file:$n")
	done
	for p in "${pids[@]}" $(pgrep -f -- "-$id( |$)" 2>/dev/null); do
		_itest_alive "$p" && left+=("pid:$p($(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null))")
	done
	for n in /tmp/itest-*-"$id".* "$ITEST_STATE_DIR/$id"; do
		[[ ${ITEST_KEEP_TMP:-0} == 1 && $n == /tmp/* ]] && continue
		[[ -e $n ]] && left+=("file:$n")
	done
	((${#left[@]} == 0)) && return 0
	printf 'leftover: %s\n' "${left[@]}" >&2
	return 1
}

# itest_cleanup: stop processes, delete namespaces and links, remove the
# journal and temp dir. Idempotent, bounded (about 10 s at worst), ignores
# INT/TERM/HUP while it runs, never fails and never exits: a test may call
# it itself (e.g. to check cleanliness); it also runs on EXIT.
itest_cleanup() {
	local opts=$- ns p i alive nspids=() pids
	set +e
	trap - ERR
	trap '' INT TERM HUP
	# 1. signal everything at once: the watchdog, our processes (and their
	# children), whatever else runs in our namespaces. wireguard-go
	# removes its UAPI socket and TUN on TERM.
	for ns in "${_ITEST_NS[@]}"; do
		nspids+=($(ip netns pids "$ns" 2>/dev/null))
	done
	_itest_kill_trees TERM $_ITEST_WATCHDOG "${_ITEST_PIDS[@]}" "${nspids[@]}"
	# 2. the kernel objects first (fast, and what a later SIGKILL of this
	# shell would otherwise leave behind)
	for ns in "${_ITEST_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	_ITEST_NS=()
	for p in "${_ITEST_LINKS[@]}"; do
		ip link del dev "$p" 2>/dev/null
	done
	_ITEST_LINKS=()
	# 3. wait (bounded, 3 s) for the processes, then KILL what is left
	pids=($_ITEST_WATCHDOG "${_ITEST_PIDS[@]}" "${nspids[@]}")
	for ((i = 0; i < 60; i++)); do
		alive=0
		for p in "${pids[@]}"; do _itest_alive "$p" && { alive=1; break; }; done
		((alive)) || break
		sleep 0.05
	done
	((alive)) && _itest_kill_trees KILL "${pids[@]}"
	for p in $_ITEST_WATCHDOG "${_ITEST_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	_ITEST_WATCHDOG=
	_ITEST_PIDS=()
	_ITEST_BG=()
	# 4. files
	for p in "${_ITEST_WG[@]}"; do rm -f "$ITEST_WG_RUN/$p.sock"; done
	_ITEST_WG=()
	for p in "${_ITEST_FILES[@]}"; do rm -rf -- "$p"; done
	_ITEST_FILES=()
	[[ -n $_ITEST_STATE ]] && rm -f "$_ITEST_STATE"
	if [[ -n $ITEST_TMP && -d $ITEST_TMP ]]; then
		if [[ ${ITEST_KEEP_TMP:-0} == 1 ]]; then
			[[ -n ${_ITEST_KEPT:-} ]] || echo "# kept temp dir $ITEST_TMP" >&2
			_ITEST_KEPT=1
		else
			rm -rf -- "$ITEST_TMP"
		fi
	fi
	# deleting a namespace destroys its links asynchronously; give the
	# kernel a bounded moment so a following itest_check_clean is exact
	for ((i = 0; i < 40; i++)); do
		[[ -n $ITEST_ID ]] || break
		ip -o link show 2>/dev/null | grep -qE -- "-${ITEST_ID}[@:]" || break
		sleep 0.05
	done
	if [[ $_ITEST_EXITING != 1 ]]; then
		_itest_traps
		[[ $opts == *e* ]] && set -e
	fi
	return 0
}

# EXIT trap: on any path but itest_pass, show the logs, clean up, print the
# final "NAME: FAIL (reason)" line and exit non-zero.
_itest_on_exit() {
	local rc=$?
	_ITEST_EXITING=1
	set +e
	trap - ERR
	trap '' INT TERM HUP
	exec >&"$_ITEST_OUT" 2>&"$_ITEST_ERR"
	if [[ $_ITEST_IN_PASS != 1 && -n $ITEST_TMP && -d $ITEST_TMP ]]; then
		_itest_dump_logs
	fi
	itest_cleanup
	[[ $_ITEST_IN_PASS == 1 ]] && return 0
	((rc == 0)) && { rc=1; _ITEST_FAIL_MSG=${_ITEST_FAIL_MSG:-"ended without itest_pass"}; }
	printf '%s: FAIL (%s)\n' "$ITEST_NAME" "${_ITEST_FAIL_MSG:-exit status $rc}"
	exit "$rc"
}

_itest_dump_logs() {
	local f
	for f in "$ITEST_TMP"/*.log; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/} (last 20 lines)" >&2
		tail -n 20 "$f" >&2
	done
}

# itest_pass: clean up, check nothing is left, print the final line, exit 0
itest_pass() {
	local ms
	_ITEST_IN_PASS=1	# from here on the EXIT trap only cleans up
	itest_cleanup
	if ! itest_check_clean; then
		printf '%s: FAIL (cleanup left resources behind)\n' "$ITEST_NAME"
		exit 1
	fi
	_ITEST_PASSED=1
	ms=$(($(_itest_now_ms) - _ITEST_T0))
	printf '%s: PASS (%d checks, %d.%ds)\n' "$ITEST_NAME" "$ITEST_CHECKS" \
		$((ms / 1000)) $((ms % 1000 / 100))
	exit 0
}
