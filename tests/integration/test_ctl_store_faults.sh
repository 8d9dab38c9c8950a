#!/usr/bin/env bash
# Reliability: gate44-control's SQLite store on a full disk and on a
# read-only filesystem. The database moves to a 1 MiB tmpfs inside the temp
# dir (unmounted on every exit path). (a) Disk full: mutating calls fail
# with 507 store_full (a JSON error with a code) while reads still answer
# 200; once space is back, writes work and the database passes
# integrity_check. (b) The tmpfs remounted read-only: the daemon must start
# with the store read-only (/v1/status store.readonly), mutating calls get
# 503 store_readonly while reads work; remounted read-write and restarted,
# writes work and integrity_check is ok. Twice: (b1) after a kill -9, the
# -wal/-shm files left beside the database, and (b2) after a clean stop,
# when SQLite has removed them.
#
# Known failure (a gate44-control bug): in (b2) the daemon
# exits with "<db>: unable to open database file": a WAL database without
# its -shm cannot be opened by SQLite on a read-only filesystem unless
# opened immutable, so ctl_store_open's read-only fallback cannot work.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_ctl_store_faults curl sqlite3 mount umount dd
. "$(dirname "$0")/dp_lib.sh"
. "$(dirname "$0")/ctl_lib.sh"

MNT=$ITEST_TMP/store
MOUNTED=0
sf_umount() {
	if ((MOUNTED)); then
		# lazy: the daemon may still hold the file open on a failure path
		umount -l "$MNT" 2>/dev/null || true
		MOUNTED=0
	fi
}
# unmount before the harness cleanup removes the temp dir, on every path
# (set +e first: under errexit the `(exit $rc)` would end the trap early)
trap 'rc=$?; set +e; sf_umount; (exit $rc); _itest_on_exit' EXIT

ctl_pop_up

mkdir -p "$MNT"
mount -t tmpfs -o size=1M,mode=0700 gate44-itest "$MNT" || itest_fail "cannot mount a tmpfs on $MNT"
MOUNTED=1

# api_w METHOD PATH [JSON]: print "STATUS ERROR_CODE" (- when none)
api_w() {	# METHOD PATH [JSON]: "STATUS CODE"
	local m=$1 p=$2 body=${3:-} args=() out
	[[ -n $body ]] && args=(-H 'Content-Type: application/json' --data "$body")
	out=$(bounded 20 curl -s -X "$m" -H "Authorization: Bearer $ADMIN" "${args[@]}" \
		-w '\n%{http_code}' "$CTL_URL$p") || true
	printf '%s %s\n' "${out##*$'\n'}" \
		"$(jq -r '.error.code // "-"' <<<"${out%$'\n'*}" 2>/dev/null || echo '?')"
}
n_users() { api GET /v1/users | jq '.users | length'; }
integrity() { sqlite3 "file:$1?mode=ro" 'PRAGMA integrity_check' 2>&1; }

# ---- move the database onto the tmpfs
bg_stop ctl
for f in "$ITEST_TMP"/gate44.db{,-wal,-shm}; do
	[[ -e $f ]] && cp -p "$f" "$MNT/"
done
DB=$MNT/gate44.db
sed -i "s|^database = .*|database = $DB|" "$CTL_CONF"
ctl_start
expect_true "the daemon runs on the tmpfs database" grep -q "^database = $DB\$" "$CTL_CONF"
expect_eq "a write works before the faults" "$(api_w POST /v1/users '{"name":"before"}')" "201 -"
users0=$(n_users)
itest_log "store on tmpfs: $(du -k "$DB" | cut -f1) kB, $(df -k --output=avail "$MNT" | tail -1 | tr -d ' ') kB free"

# ---- (a) disk full
bounded 30 dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null || true
itest_log "filled: $(df -k --output=avail "$MNT" | tail -1 | tr -d ' ') kB free"
fails=()
for i in 1 2 3; do fails+=("$(api_w POST /v1/users "{\"name\":\"full$i\"}")"); done
itest_log "POST /v1/users on a full disk: ${fails[*]}"
for r in "${fails[@]}"; do
	expect_eq "a write on a full disk fails with 507 store_full" "$r" "507 store_full"
done
expect_eq "GET /v1/users on a full disk" "$(api_w GET /v1/users)" "200 -"
expect_eq "no user added on a full disk" "$(n_users)" "$users0"
expect_true "the daemon runs on" bg_alive ctl
rm -f "$MNT/fill"
expect_eq "a write after space is back" "$(api_w POST /v1/users '{"name":"after-full"}')" "201 -"
expect_eq "the user is there" "$(n_users)" $((users0 + 1))
expect_eq "integrity_check after the full disk" "$(integrity "$DB")" ok

# ---- (b) read-only filesystem
# ctl_start_ro WHAT: start the daemon on the read-only store; it must come
# up (the store read-only), else fail with what it said
ctl_start_ro() {
	: >"$ITEST_TMP/ctl.out"
	bg_start ctl sh -c "exec '$CTL' -c '$CTL_CONF' >'$ITEST_TMP/ctl.out'"
	wait_for 20 bash -c "grep -q 'ready on' '$ITEST_TMP/ctl.out' || ! kill -0 $(bg_pid ctl) 2>/dev/null" || true
	grep -q 'ready on' "$ITEST_TMP/ctl.out" ||
		itest_fail "$1: gate44-control did not start on a read-only filesystem (alive: $(bg_alive ctl && echo yes || echo no)); it said: $(cat "$(bg_log ctl)" "$ITEST_TMP/ctl.out" | tail -n 5)"
	CTL_URL=http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\)$/\1/p' "$ITEST_TMP/ctl.out")
	# the brief allows "it says so or it starts"; /v1/status must say so
	# (ro_checks). main.c drops ctl_store_open's "opened read-only" notice.
	if grep -qi 'read-only' "$(bg_log ctl)" "$ITEST_TMP/ctl.out"; then
		itest_log "$1: the daemon says: $(grep -ih 'read-only' "$(bg_log ctl)" "$ITEST_TMP/ctl.out" | head -1)"
	else
		itest_warn "$1: the daemon started read-only without logging it"
	fi
	expect_true "$1: it reaches the engine" wait_for 20 ctl_synced
}
# ro_checks WHAT USERS: reads work, writes get 503 store_readonly
ro_checks() {
	local tid
	expect_eq "$1: /v1/status reports the store read-only" "$(api GET /v1/status | jq -r .store.readonly)" true
	expect_eq "$1: GET /v1/users" "$(api_w GET /v1/users)" "200 -"
	expect_eq "$1: POST /v1/users fails with 503 store_readonly" \
		"$(api_w POST /v1/users '{"name":"ro"}')" "503 store_readonly"
	tid=$(api GET /v1/tunnels | jq -r '.tunnels[0].id // empty')
	if [[ -n $tid ]]; then
		expect_eq "$1: PATCH of a tunnel fails with 503 store_readonly" \
			"$(api_w PATCH "/v1/tunnels/$tid" '{"name":"ro"}')" "503 store_readonly"
	fi
	expect_eq "$1: no user added" "$(n_users)" "$2"
	expect_true "$1: the daemon runs on" bg_alive ctl
}
# back_rw WHAT USERS: remount rw, restart, a write works, integrity ok
back_rw() {
	bg_stop ctl
	mount -o remount,rw "$MNT" || itest_fail "remount rw failed"
	ctl_start
	expect_eq "$1: /v1/status: writable again" "$(api GET /v1/status | jq -r .store.readonly)" false
	expect_eq "$1: a write after remount rw" "$(api_w POST /v1/users "{\"name\":\"rw$2\"}")" "201 -"
	expect_eq "$1: the user is there" "$(n_users)" $(($2 + 1))
	expect_eq "$1: integrity_check" "$(integrity "$DB")" ok
}

# (b1) after a crash: the -wal and -shm files are left on the filesystem
expect_eq "a tunnel to PATCH" "$(api POST /v1/tunnels "{\"user_id\":$(api GET /v1/users | jq '.users[0].id'),\"name\":\"t\"}" | jq -r '.tunnel.id != null')" true
users1=$(n_users)
{ kill -9 "$(bg_pid ctl)"; bg_wait ctl 10; } >/dev/null 2>&1 || true
itest_log "after kill -9: $(cd "$MNT" && echo gate44.db*)"
mount -o remount,ro "$MNT" || itest_fail "remount ro failed"
ctl_start_ro "ro after crash"
ro_checks "ro after crash" "$users1"
back_rw "ro after crash" "$users1"
users2=$((users1 + 1))

# (b2) after a clean stop: SQLite removed -wal and -shm on close
bg_stop ctl
itest_log "after a clean stop: $(cd "$MNT" && echo gate44.db*)"
mount -o remount,ro "$MNT" || itest_fail "remount ro failed"
ctl_start_ro "ro after clean stop"
ro_checks "ro after clean stop" "$users2"
back_rw "ro after clean stop" "$users2"
bg_stop ctl

bg_stop dp
sf_umount
itest_pass
