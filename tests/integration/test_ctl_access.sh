#!/usr/bin/env bash
# Access and secrets of gate44-control with gate44-dp ("Reliability and
# security", section Access):
#  - modes: the database and its -wal/-shm, the UAPI socket (as wg(8) finds
#    a wireguard-go one: /var/run/wireguard/NAME.sock, owner only) and the
#    engine socket are 0600 although both daemons run under umask 000; a
#    database left 0644 is 0600 again after a restart;
#  - access_check.py: every route of the API, from its OpenAPI document and
#    control/api.c, against another user's objects, the admin's routes and
#    every kind of unusable token, both ways; nothing changes;
#  - secrets_check.py: tokens stored hashed only; private keys (and PSKs)
#    in no API reply, log, engine view or UAPI dump where they do not
#    belong, after an engine restart (full sync with its socket's debug log
#    on) and a daemon restart have been logged too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_ctl_access curl
. "$(dirname "$0")/dp_lib.sh"
CTL_RATE=100000 CTL_BURST=100000
. "$(dirname "$0")/ctl_lib.sh"
itest_require zbarimg

HERE=$(dirname "$0")
DB=$ITEST_TMP/gate44.db
UAPI_SOCK=/var/run/wireguard
SAVED=$ITEST_TMP/earlier-logs.txt

# what a file is, its mode and owner: "socket 600 0"
kind_mode() { stat -c '%F %a %u' "$1" | sed 's/^regular empty file/regular file/'; }
# keep a daemon's logs before a restart truncates them
save_logs() { cat "$(bg_log "$1")" >>"$SAVED"; [[ $1 != ctl ]] || cat "$ITEST_TMP/ctl.out" >>"$SAVED"; }

# Every file and socket the daemons make must be private whatever the umask.
umask 000
ctl_pop_up
umask 022
UAPI_SOCK=$UAPI_SOCK/$WGIF.sock

expect_eq "database 0600 under umask 000" "$(kind_mode "$DB")" "regular file 600 0"
for s in -wal -shm; do
	expect_eq "database$s 0600" "$(kind_mode "$DB$s")" "regular file 600 0"
done
expect_eq "UAPI socket 0600, root's" "$(kind_mode "$UAPI_SOCK")" "socket 600 0"
expect_eq "no one else may add to its directory" \
	"$(($(stat -c '0%a' "$(dirname "$UAPI_SOCK")") & 8#022))" 0
expect_eq "wg(8) finds and uses the UAPI socket" "$(wg show "$WGIF" public-key)" "$POP_PUB"
expect_eq "engine socket 0600, root's" "$(kind_mode "$DP_SOCK")" "socket 600 0"

save_logs ctl
bg_stop ctl
chmod 0644 "$DB"
umask 000
ctl_start
umask 022
expect_eq "a database left 0644 is 0600 again" "$(kind_mode "$DB")" "regular file 600 0"
for s in -wal -shm; do
	expect_eq "and its$s" "$(kind_mode "$DB$s")" "regular file 600 0"
done
expect_eq "the UAPI socket made again 0600" "$(kind_mode "$UAPI_SOCK")" "socket 600 0"

# run a checker, keep its output for the figures (tests/reliability-report)
checker() { # OUT CMD...
	local out=$1 rc=0
	shift
	"$@" >"$out" 2>&1 || rc=$?
	cat "$out"
	return $rc
}
expect_true "access_check.py: every route, another user's objects, bad tokens" \
	checker "$ITEST_TMP/access.out" \
	env GATE44_URL="$CTL_URL" GATE44_ADMIN_TOKEN="$ADMIN" GATE44_SRCDIR="$GATE44_SRCDIR" \
	python3 "$HERE/access_check.py"

SECRETS=$ITEST_TMP/secrets.json
export GATE44_ADMIN_TOKEN=$ADMIN GATE44_WGIF=$WGIF
expect_true "secrets_check.py make" env GATE44_URL="$CTL_URL" \
	python3 "$HERE/secrets_check.py" make "$SECRETS"

# the engine restarts with its socket's debug log on: the full sync sends
# every peer and PSK over the socket, and whatever it logs is scanned
save_logs dp
bg_stop dp
sed -i 's/--log-level=\*:warning/& --log-level=user1:debug/' "$ITEST_TMP/dp.conf"
dp_start "$ITEST_TMP/dp.conf"
engine_peers() { dp_sock "$(printf '{"cmd":"peer.list","interface":"%s"}' "$WGIF")" | jq '.result | length'; }
engine_full() { (($(engine_peers) >= 5)); } # secrets_check's 4 tunnels and wg(8)'s peer
expect_true "the full sync gives the new engine every tunnel" wait_for 30 engine_full
# the daemon restarts: its start-up and sync are logged too
save_logs ctl
bg_stop ctl
ctl_start
expect_false "wg(8) may not change the interface's key" wg set "$WGIF" private-key <(wg genkey)

expect_true "secrets_check.py scan: database, API, engine, UAPI, logs" \
	checker "$ITEST_TMP/secrets.out" env GATE44_URL="$CTL_URL" GATE44_DB="$DB" GATE44_ENGINE_SOCK="$DP_SOCK" GATE44_POP_KEY_FILE="$ITEST_TMP/pop.key" \
	GATE44_LOGS="$SAVED $ITEST_TMP/ctl.out $(bg_log ctl) $(bg_log dp)" \
	python3 "$HERE/secrets_check.py" scan "$SECRETS"

if [ -n "${GATE44_RELIABILITY_OUT:-}" ]; then
	{
		printf 'ctl_access checks=%s secret_checks=%s\n' \
			"$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$ITEST_TMP/access.out")" \
			"$(sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p' "$ITEST_TMP/secrets.out")"
		sed -n 's/^access: /ctl_access_text /p' "$ITEST_TMP/access.out"
	} >>"$GATE44_RELIABILITY_OUT"
fi
bg_stop ctl
bg_stop dp
itest_pass
