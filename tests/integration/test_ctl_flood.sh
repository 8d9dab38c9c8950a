#!/usr/bin/env bash
# Reliability: an API flood against gate44-control (rate 5/s, burst 10 on
# mutating routes). A python3 stdlib client, 4 threads with keep-alive
# connections, sends 10 000 requests of mixed kinds: valid GETs (200),
# valid PATCHes of a tunnel (200, or 429 once the bucket is empty),
# malformed JSON (400 or 429), 100 KiB bodies (413 or 429), no token (401),
# a wrong token (401), unknown routes (404). Every request must be answered
# with a status expected for its kind and the house error body; connection
# errors are failures. The daemon's RSS must stay bounded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_init test_ctl_flood curl
. "$(dirname "$0")/dp_lib.sh"
CTL_RATE=5 CTL_BURST=10
. "$(dirname "$0")/ctl_lib.sh"
ctl_pop_up

N=${FLOOD_N:-10000}
FLOOD_MAX_S=${FLOOD_MAX_S:-120}
RSS_MAX_KB=$((64 * 1024))
RSS_GROWTH_KB=$((16 * 1024))

uid=$(api POST /v1/users '{"name":"flood"}' | jq -r .id)
expect_ne "user created" "$uid" null
tid=$(api POST /v1/tunnels "{\"user_id\":$uid,\"name\":\"fl\"}" | jq -r .tunnel.id)
expect_ne "tunnel created" "$tid" null

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(bg_pid ctl)/status"; }
# let the rate bucket refill after the setup writes
sleep 3
rss_before=$(rss_kb)
itest_log "daemon RSS before the flood: $rss_before kB"

cat >"$ITEST_TMP/flood.py" <<'PY'
import http.client, json, random, sys, threading, time, urllib.parse
url, tok, tid, n, limit_s, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
u = urllib.parse.urlparse(url)
THREADS = 4
# kind -> (method, path, headers, body, {status: error code or None})
auth = {"Authorization": "Bearer " + tok}
js = dict(auth, **{"Content-Type": "application/json"})
KINDS = {
    "get":       ("GET", "/v1/users", auth, None, {200: None}),
    "patch":     ("PATCH", "/v1/tunnels/" + tid, js, None, {200: None, 429: "rate_limited"}),
    "badjson":   ("PATCH", "/v1/tunnels/" + tid, js, b'{"name": "x",', {400: "invalid_json", 429: "rate_limited"}),
    "oversized": ("PATCH", "/v1/tunnels/" + tid, js, b'{"name":"' + b"a" * (100 * 1024) + b'"}',
                  {413: "payload_too_large", 429: "rate_limited"}),
    "notoken":   ("GET", "/v1/users", {}, None, {401: "unauthorized"}),
    "badtoken":  ("GET", "/v1/users", {"Authorization": "Bearer g44_" + "A" * 43}, None, {401: "unauthorized"}),
    "unknown":   ("GET", "/v1/no-such-route", auth, None, {404: "not_found"}),
}
names = list(KINDS)
rnd = random.Random(44)
# the first three mutating requests meet a full bucket: one of each kind
seq = ["patch", "badjson", "oversized"] + [rnd.choice(names) for _ in range(n - 3)]
lock = threading.Lock()
stat = {"answered": 0, "failures": 0, "unexpected": 0, "by_status": {}, "by_kind": {},
        "errors": [], "bad": []}
nxt = [0]
deadline = time.monotonic() + limit_s

def take():
    with lock:
        if nxt[0] >= len(seq) or time.monotonic() > deadline:
            return None
        i = nxt[0]; nxt[0] += 1
        return seq[i]

def worker(wi):
    conn = None
    ka = 0
    while True:
        kind = take()
        if kind is None:
            break
        m, p, h, body, want = KINDS[kind]
        if kind == "patch":
            ka += 1
            body = json.dumps({"persistent_keepalive": (wi * 1000 + ka) % 60000}).encode()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
            conn.request(m, p, body, h)
            r = conn.getresponse()
            data = r.read()
            st = r.status
            if r.will_close:
                conn.close(); conn = None
        except Exception as e:
            if conn is not None:
                conn.close(); conn = None
            with lock:
                stat["failures"] += 1
                if len(stat["errors"]) < 10:
                    stat["errors"].append("%s: %r" % (kind, e))
            continue
        ok = st in want
        if ok and want[st] is not None:
            try:
                ok = json.loads(data)["error"]["code"] == want[st]
            except Exception:
                ok = False
        with lock:
            stat["answered"] += 1
            k = "%s %d" % (kind, st)
            stat["by_kind"][k] = stat["by_kind"].get(k, 0) + 1
            stat["by_status"][str(st)] = stat["by_status"].get(str(st), 0) + 1
            if not ok:
                stat["unexpected"] += 1
                if len(stat["bad"]) < 10:
                    stat["bad"].append("%s -> %d %s" % (kind, st, data[:200]))
    if conn is not None:
        conn.close()

t0 = time.monotonic()
ths = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
for t in ths: t.start()
for t in ths: t.join()
stat["elapsed_s"] = time.monotonic() - t0
stat["sent"] = nxt[0]
json.dump(stat, open(out, "w"), indent=1)
PY

itest_log "flood: $N requests, 4 threads, bound ${FLOOD_MAX_S}s"
bounded $((FLOOD_MAX_S + 30)) python3 "$ITEST_TMP/flood.py" "$CTL_URL" "$ADMIN" "$tid" "$N" \
	"$FLOOD_MAX_S" "$ITEST_TMP/flood.json" || itest_fail "the flood client failed (rc $?)"
R=$ITEST_TMP/flood.json
answered=$(jq -r .answered "$R"); failures=$(jq -r .failures "$R")
unexpected=$(jq -r .unexpected "$R"); elapsed=$(jq -r '.elapsed_s * 10 | floor / 10' "$R")
rate=$(jq -r '(.answered / .elapsed_s) | floor' "$R")
itest_log "answered $answered of $N in $elapsed s ($rate req/s), failures $failures, unexpected $unexpected"
itest_log "by status: $(jq -c .by_status "$R")"
itest_log "by kind: $(jq -c .by_kind "$R")"
[[ $failures == 0 ]] || itest_log "connection errors: $(jq -c .errors "$R")"
[[ $unexpected == 0 ]] || itest_log "unexpected answers: $(jq -c .bad "$R")"
expect_true "the daemon survived the flood" bg_alive ctl
rss_after=$(rss_kb)
itest_log "daemon RSS after the flood: $rss_after kB (before $rss_before kB)"

expect_eq "no connection errors" "$failures" 0
expect_eq "every request answered" "$answered" "$N"
expect_eq "no unexpected status or error body" "$unexpected" 0
expect_ge "429 seen" "$(jq -r '.by_status["429"] // 0' "$R")" 1
expect_ge "200 seen for PATCH" "$(jq -r '.by_kind["patch 200"] // 0' "$R")" 1
expect_ge "400 seen" "$(jq -r '.by_status["400"] // 0' "$R")" 1
expect_ge "413 seen" "$(jq -r '.by_status["413"] // 0' "$R")" 1
expect_le "RSS after the flood below $((RSS_MAX_KB / 1024)) MiB" "$rss_after" "$RSS_MAX_KB"
expect_le "RSS growth at most $((RSS_GROWTH_KB / 1024)) MiB" $((rss_after - rss_before)) "$RSS_GROWTH_KB"
expect_eq "the API still answers" "$(api_code "$ADMIN" GET /v1/status)" 200
if [[ -n ${GATE44_RELIABILITY_OUT:-} ]]; then
	echo "ctl_flood requests=$answered rate_per_s=$rate rss_before_kb=$rss_before rss_after_kb=$rss_after" \
		>>"$GATE44_RELIABILITY_OUT"
fi

bg_stop ctl
bg_stop dp
itest_pass
