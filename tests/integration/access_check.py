#!/usr/bin/env python3
"""access_check.py — who may read or change what through a running
gate44-control's HTTP API, proved route by route from the outside.

The routes come from the server's own OpenAPI document (GET
/v1/openapi.json, generated from the route table) and, with GATE44_SRCDIR,
are checked against the table in control/api.c itself. Every operation
needs a plan in PLANS (how to aim it at someone else's objects): an
operation without a plan, or a plan without an operation, fails the run,
so a route added later cannot be left out silently.

For every operation (and HEAD for every GET), both ways (B on A's objects,
A on B's):
  - a user token on another user's objects (the user, its tokens and
    tunnels; the admin's tokens too) gets what the route's x-gate44-scope
    means: admin routes 403, object routes 404 with the very reply an id
    nobody has gets (no existence oracle), another user's listing 404,
    creation for another user (or an admin token) 403; that status must be
    among the operation's documented responses;
  - admin routes refuse a user token on its own objects too (403);
  - no reply holds anything of the other user (name, email, tunnel names,
    public keys, token prefixes);
  - after every request that could change something, everything the admin
    sees (users, tokens, tunnels and their configs, pools) is unchanged.
Without a usable token (none, empty, unknown, garbage, a near miss of a
real one, its listed prefix, revoked, of a disabled or a deleted user,
Basic auth, the admin token in the query string) every authenticated
operation answers 401 with WWW-Authenticate: Bearer, and nothing changes.
Last, each plan's request sent by the rightful owner (or the admin) is
accepted: the refusals above were of requests that would have worked.

Environment: GATE44_URL, GATE44_ADMIN_TOKEN (required), GATE44_SRCDIR
(optional), GATE44_VERBOSE=1. Stdlib only; exits 1 on any failure.
"""

import base64
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl_client import Checks, Client  # noqa: E402

URL = os.environ.get("GATE44_URL", "")
ADMIN = os.environ.get("GATE44_ADMIN_TOKEN", "")
SRCDIR = os.environ.get("GATE44_SRCDIR", "")
if not URL or not ADMIN:
    sys.exit("access_check.py: set GATE44_URL and GATE44_ADMIN_TOKEN")

api = Client(URL)
ck = Checks(os.environ.get("GATE44_VERBOSE") == "1")
NOBODY = 999999999
TAG = "%x" % (int(time.time() * 1000) & 0xffffff)
FUTURE = int(time.time()) + 7 * 86400
METHOD_ORDER = {"GET": 0, "POST": 1, "PATCH": 2, "PUT": 3, "DELETE": 4}
_fresh = [0]


def fresh_name():
    _fresh[0] += 1
    return "AccN%s%d" % (TAG, _fresh[0])


def rand_key():
    return base64.b64encode(os.urandom(32)).decode()


def must(resp, status, what):
    """Setup steps: without them nothing below means anything."""
    if resp.status != status:
        print("FAIL setup: %s: %r" % (what, resp))
        sys.exit(1)
    return resp.json


def plan(kind=None, queries=("",), bodies=(None,)):
    """kind: what the path's {id} names; queries: appended to the path
    ({id}, {name}, {now} are the target user's); bodies: functions of the
    target user giving the JSON body (None: no body). The first query and
    body are the main request, the one the owner must get accepted."""
    return {"kind": kind, "queries": queries, "bodies": bodies}


PLANS = {
    ("GET", "/v1/users"): plan(queries=("", "?name={name}")),
    ("POST", "/v1/users"): plan(bodies=(lambda v: {"name": fresh_name()},)),
    ("GET", "/v1/users/{id}"): plan("user"),
    ("PATCH", "/v1/users/{id}"): plan("user", bodies=(
        lambda v: {"email": "evil@example.net", "max_tunnels": 999, "disabled": True},)),
    ("DELETE", "/v1/users/{id}"): plan("user"),
    ("GET", "/v1/tokens"): plan(queries=("?user_id={id}",)),
    ("POST", "/v1/tokens"): plan(bodies=(lambda v: {"user_id": v.id, "name": "evil"},
                                         lambda v: {"scope": "admin", "name": "evil"})),
    ("DELETE", "/v1/tokens/{id}"): plan("token"),
    ("GET", "/v1/tunnels"): plan(queries=("?user_id={id}",)),
    ("POST", "/v1/tunnels"): plan(bodies=(lambda v: {"user_id": v.id, "name": "evil"},)),
    ("GET", "/v1/tunnels/{id}"): plan("tunnel"),
    ("PATCH", "/v1/tunnels/{id}"): plan("tunnel", bodies=(
        lambda v: {"name": "evil", "enabled": False, "preshared_key": True,
                   "persistent_keepalive": 7, "expires_at": FUTURE},)),
    ("DELETE", "/v1/tunnels/{id}"): plan("tunnel"),
    ("GET", "/v1/tunnels/{id}/config"): plan("tunnel"),
    ("GET", "/v1/tunnels/{id}/config.png"): plan("tunnel"),
    ("GET", "/v1/tunnels/{id}/config.svg"): plan("tunnel"),
    ("GET", "/v1/tunnels/{id}/status"): plan("tunnel"),
    ("GET", "/v1/tunnels/{id}/history"): plan("tunnel", queries=("", "?from=0&to={now}")),
    ("GET", "/v1/pools"): plan(),
    ("GET", "/v1/status"): plan(),
    ("GET", "/metrics"): plan(),
    ("GET", "/v1/openapi.json"): plan(),
}


class Party:
    """A user made by the admin, with three tokens (main, spare, revoked)
    and two tunnels (a server-made key with a PSK; an own key with IPv4
    and, when there is an IPv6 pool, IPv6)."""

    def __init__(self, letter, have_v6):
        self.letter = letter
        self.name = "Acc%s%s" % (letter, TAG)
        email = "acc-%s-%s@example.net" % (letter.lower(), TAG)
        self.id = must(api.call("POST", "/v1/users", ADMIN, {"name": self.name, "email": email}),
                       201, "user " + letter)["id"]
        self.markers = [self.name, email]
        self.token, self.token_id = self.make_token("main")
        self.spare, self.spare_id = self.make_token("spare")
        self.revoked, self.revoked_id = self.make_token("revoked")
        must(api.call("DELETE", "/v1/tokens/%d" % self.revoked_id, ADMIN), 204, "revoke")
        self.tunnels = []
        addrs = {"ipv4": 1, "ipv6": 1} if have_v6 else {"ipv4": 1}
        for body in ({"name": "acc-%s-1-%s" % (letter, TAG), "preshared_key": True},
                     {"name": "acc-%s-2-%s" % (letter, TAG), "public_key": rand_key(),
                      "addresses": addrs}):
            body["user_id"] = self.id
            t = must(api.call("POST", "/v1/tunnels", ADMIN, body), 201, "tunnel")["tunnel"]
            self.tunnels.append(t["id"])
            self.markers += [t["name"], t["public_key"]]

    def make_token(self, name):
        t = must(api.call("POST", "/v1/tokens", ADMIN,
                          {"scope": "user", "user_id": self.id, "name": name}), 201, "token")
        self.markers.append(t["prefix"])
        return t["secret"], t["id"]

    def objects(self, kind):
        return {"user": [self.id], "token": [self.token_id, self.spare_id, self.revoked_id],
                "tunnel": self.tunnels}[kind]


# ---- what the server says about its routes ---------------------------------

def load_ops():
    r = api.call("GET", "/v1/openapi.json")
    doc = must(r, 200, "openapi.json")
    ops = {}
    for path, item in (doc.get("paths") or {}).items():
        for m, op in item.items():
            if m.upper() in METHOD_ORDER:
                ops[(m.upper(), path)] = op
    ck.check("the document lists operations", len(ops) > 0)
    for key, op in sorted(ops.items()):
        ck.check("%s %s has x-gate44-scope" % key,
                 op.get("x-gate44-scope") in ("none", "user", "admin"), repr(op)[:200])
    missing = sorted(set(ops) - set(PLANS))
    extra = sorted(set(PLANS) - set(ops))
    ck.check("every documented operation has an access plan", not missing,
             "add to PLANS: %s" % missing)
    ck.check("every access plan is a documented operation", not extra, "gone: %s" % extra)
    return {k: v for k, v in ops.items() if k in PLANS}


def check_source_table(ops):
    """The route table in control/api.c: the same operations, the same
    scopes (ADMIN_ONLY: admin, NO_AUTH: none)."""
    if not SRCDIR:
        print("skip route table of control/api.c: GATE44_SRCDIR not set")
        return
    text = open(os.path.join(SRCDIR, "control", "api.c")).read()
    start = text.index("ctl_api_routes[] = {")
    table = text[start:text.index("};", start)]
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([^}]*)\}', table)
    src = {(m, p): flags for m, p, flags in rows}
    ck.check("control/api.c's table parsed", len(src) >= len(ops), "%d rows" % len(src))
    ck.check("the document has exactly the route table's operations", set(src) == set(ops),
             "table only: %s, document only: %s" % (sorted(set(src) - set(ops)),
                                                    sorted(set(ops) - set(src))))
    for key in sorted(set(src) & set(ops)):
        flags = src[key]
        want = "admin" if "ADMIN_ONLY" in flags else "none" if "NO_AUTH" in flags else "user"
        ck.check("%s %s: scope %s as in the table" % (key[0], key[1], want),
                 ops[key].get("x-gate44-scope") == want, repr(ops[key].get("x-gate44-scope")))


def refusal(op, method, pattern):
    """The status a user token acting on another user's objects gets."""
    scope = op["x-gate44-scope"]
    if scope == "none":
        return 200
    if scope == "admin":
        return 403
    if "{id}" in pattern:
        return 404  # another user's object is answered as if it did not exist
    return 404 if method == "GET" else 403  # another's listing; acting for another


def success(op):
    ok = [int(s) for s in op["responses"] if s.isdigit() and 200 <= int(s) < 300]
    return ok[0] if len(ok) == 1 else None


# ---- the world as the admin sees it -----------------------------------------

VOLATILE = {"last_used_at", "rx_bytes", "tx_bytes", "last_handshake", "endpoint", "connected"}


def strip(obj):
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def world():
    w = {}
    for path in ("/v1/users", "/v1/tokens", "/v1/tunnels", "/v1/pools"):
        r = api.call("GET", path, ADMIN)
        w[path] = strip(r.json) if r.status == 200 else repr(r)
    for t in (w["/v1/tunnels"] or {}).get("tunnels", []):
        r = api.call("GET", "/v1/tunnels/%d/config" % t["id"], ADMIN)
        w["config %d" % t["id"]] = r.text
    return json.dumps(w, sort_keys=True)


class Baseline:
    def __init__(self):
        self.w = world()

    def unchanged(self, name):
        now = world()
        if not ck.check("%s: nothing changed" % name, now == self.w, diff(self.w, now)):
            self.w = now  # report once, not on every later request


def diff(a, b):
    a, b = json.loads(a), json.loads(b)
    return "; ".join("%s: %s -> %s" % (k, str(a.get(k))[:150], str(b.get(k))[:150])
                     for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))[:900]


# ---- B on A's objects ----------------------------------------------------------

def requests_of(key, victim, attacker, scope, admin_tokens):
    """(target id or None, path, query, body) of every request of a plan
    aimed at victim."""
    method, pattern = key
    p = PLANS[key]
    targets = [None]
    if p["kind"] is not None:
        targets = list(victim.objects(p["kind"]))
        if p["kind"] == "token":
            targets += admin_tokens
        if scope == "admin" and p["kind"] == "user":
            targets.append(attacker.id)  # admin routes: the caller's own user too
    for t in targets:
        base = pattern.replace("{id}", str(t)) if t is not None else pattern
        for q in p["queries"]:
            q = q.format(id=victim.id, name=victim.name, now=int(time.time()))
            for mk in p["bodies"]:
                body = mk(victim) if mk is not None else None
                yield t, base + q, q, body


def attack(ops, attacker, victim, admin_tokens, base):
    sent = 0
    for key in sorted(ops, key=lambda k: (METHOD_ORDER[k[0]], k[1])):
        method, pattern = key
        op = ops[key]
        scope = op["x-gate44-scope"]
        want = refusal(op, method, pattern)
        ck.check("%s %s: %d is documented" % (method, pattern, want),
                 str(want) in op.get("responses", {}))
        for target, path, query, body in requests_of(key, victim, attacker, scope, admin_tokens):
            for m in ([method, "HEAD"] if method == "GET" else [method]):
                r = api.call(m, path, attacker.token, body)
                sent += 1
                name = "%s's token: %s %s%s" % (attacker.letter, m, path,
                                                " %s" % json.dumps(body) if body else "")
                ck.check("%s -> %d" % (name, want), r.status == want, repr(r))
                if m == "HEAD":
                    continue
                if want >= 400:
                    code = {403: "forbidden", 404: "not_found"}[want]
                    ck.check("%s: error code %s" % (name, code), r.error("code") == code,
                             repr(r))
                leaked = [mk for mk in victim.markers if mk in r.text]
                ck.check("%s: nothing of %s's in the reply" % (name, victim.letter), not leaked,
                         "holds %s" % leaked)
                if m != "GET":
                    base.unchanged(name)
                if target is not None and target != attacker.id:
                    r2 = api.call(m, pattern.replace("{id}", str(NOBODY)) + query,
                                  attacker.token, body)
                    sent += 1
                    ck.check("%s: the same reply as for an id nobody has" % name,
                             (r.status, r.json) == (r2.status, r2.json),
                             "%r vs %r" % (r, r2))
    return sent


# ---- no usable token ---------------------------------------------------------

def bad_credentials(a, disabled, deleted):
    near = a.token[:-1] + ("A" if a.token[-1] != "A" else "B")
    basic = base64.b64encode(("admin:" + ADMIN).encode()).decode()
    return [
        ("no Authorization", {}, ""),
        ("an empty bearer token", {"auth": "Bearer "}, ""),
        ("an unknown token", {"token": "g44_" + "A" * 43}, ""),
        ("garbage", {"token": "not-a-token"}, ""),
        ("a near miss of a real token", {"token": near}, ""),
        ("another prefix on a real token", {"token": "g45_" + a.token[4:]}, ""),
        ("a real token with a byte more", {"token": a.token + "A"}, ""),
        ("a token's listed prefix", {"token": a.token[:12]}, ""),
        ("a revoked token", {"token": a.revoked}, ""),
        ("a disabled user's token", {"token": disabled}, ""),
        ("a deleted user's token", {"token": deleted}, ""),
        ("the admin token as Basic auth", {"auth": "Basic " + basic}, ""),
        ("the admin token in the query string", {}, "access_token=" + ADMIN),
    ]


def unauthenticated(ops, a, creds, base):
    sent = 0
    for key in sorted(ops, key=lambda k: (METHOD_ORDER[k[0]], k[1])):
        if ops[key]["x-gate44-scope"] == "none":
            continue
        ck.check("%s %s: 401 is documented" % key, "401" in ops[key].get("responses", {}))
        _, path, _, body = next(requests_of(key, a, a, "user", []))
        for label, kw, query in creds:
            p = path + (("&" if "?" in path else "?") + query if query else "")
            r = api.call(key[0], p, body=body, **kw)
            sent += 1
            name = "%s %s with %s" % (key[0], path, label)
            ck.check("%s -> 401" % name, r.status == 401 and r.error("code") == "unauthorized",
                     repr(r))
            ck.check("%s: WWW-Authenticate: Bearer" % name,
                     r.headers.get("www-authenticate", "").startswith("Bearer"), repr(r.headers))
            if key[0] != "GET":
                base.unchanged(name)
    return sent


# ---- methods a path does not have ------------------------------------------------

def other_methods(ops, attacker, victim, base):
    """Every method a documented path does not list answers 405 (the route
    table is public: before any token is looked at), with the other user's
    objects in the path, and changes nothing."""
    sent = 0
    for path in sorted({k[1] for k in ops}):
        listed = {m for m, p in ops if p == path}
        kind = next(PLANS[k]["kind"] for k in ops if k[1] == path)
        concrete = path.replace("{id}", str(victim.objects(kind)[0])) if kind else path
        for m in sorted(set(METHOD_ORDER) - listed):
            body = {"name": "evil"} if m in ("POST", "PUT", "PATCH") else None
            r = api.call(m, concrete, attacker.token, body)
            sent += 1
            name = "%s's token: %s %s (not a route)" % (attacker.letter, m, concrete)
            ck.check("%s -> 405" % name, r.status == 405 and "allow" in r.headers, repr(r))
            base.unchanged(name)
    return sent


# ---- odd spellings of a path -------------------------------------------------

def odd_paths(ops, owner):
    """A path that is not the route's own spelling is not served as the
    route: with the owner's token on the owner's objects (where the plain
    path answers 200), a NUL ("%00") after the id or at the end, or a
    trailing slash, is refused (400 or 404), never served as a shorter path
    (a proxy's rule on the whole path would not see what runs). Spellings
    that decode to the route itself are served as it, rules included."""
    sent = 0
    for key in sorted(ops):
        method, pattern = key
        if method != "GET" or ops[key]["x-gate44-scope"] != "user":
            continue
        if "{id}" in pattern:
            kind = PLANS[key]["kind"]
            oid = str(owner.objects(kind)[0])
            plain = pattern.replace("{id}", oid)
            odd = [pattern.replace("{id}", oid + "%00"), plain + "%00", plain + "/",
                   pattern.replace("{id}", oid + "%00x")]
        else:
            plain = pattern + "?user_id=%d" % owner.id
            odd = [plain + "%00", pattern + "/"]
        r = api.call(method, plain, owner.token)
        ck.check("the owner's GET %s -> 200" % plain, r.status == 200, repr(r))
        for path in odd:
            r = api.call(method, path, owner.token)
            sent += 1
            ck.check("the owner's GET %s is refused" % path, r.status in (400, 404), repr(r))
    for path in ("/v1/%75sers", "/v1/users?", "/v1/users%00", "/v1/users/", "//v1/users",
                 "/v1//users", "/v1/./users", "/v1/tunnels/../users", "/metrics/"):
        r = api.call("GET", path, owner.token)
        sent += 1
        ck.check("a user's GET %s is refused" % path, r.status in (400, 403, 404), repr(r))
    return sent


# ---- the owner's requests work --------------------------------------------------

def owners_can(ops, c):
    """Each plan's main request from the rightful principal, on C's objects
    (C is spent: its user is deleted last)."""
    def order(k):
        return (ops[k]["x-gate44-scope"] == "admin", METHOD_ORDER[k[0]], k[1])

    made_users = []
    for key in sorted(ops, key=order):
        method, pattern = key
        op, p = ops[key], PLANS[key]
        tok = {"none": None, "user": c.token, "admin": ADMIN}[op["x-gate44-scope"]]
        target = None
        if p["kind"] is not None:
            target = c.spare_id if p["kind"] == "token" else c.objects(p["kind"])[0]
        path = pattern.replace("{id}", str(target)) if target is not None else pattern
        path += p["queries"][0].format(id=c.id, name=c.name, now=int(time.time()))
        body = p["bodies"][0](c) if p["bodies"][0] is not None else None
        r = api.call(method, path, tok, body)
        want = success(op)
        ck.check("the owner's %s %s -> %s" % (method, path, want), r.status == want, repr(r))
        if key == ("POST", "/v1/users") and r.status == 201:
            made_users.append(r.json["id"])
    for uid in made_users:
        api.call("DELETE", "/v1/users/%d" % uid, ADMIN)


def main():
    ops = load_ops()
    check_source_table(ops)
    r = api.call("GET", "/v1/pools", ADMIN)
    have_v6 = any(p.get("family") == "ipv6" for p in (r.json or {}).get("pools", []))
    a, b, c = Party("A", have_v6), Party("B", have_v6), Party("C", have_v6)
    r = must(api.call("GET", "/v1/tokens", ADMIN), 200, "token list")
    admin_tokens = [t["id"] for t in r["tokens"] if t["scope"] == "admin"]
    ck.check("the admin's tokens are listed", len(admin_tokens) > 0)

    # a user then disabled, a user then deleted: their tokens are dead
    d = Party("D", False)
    must(api.call("PATCH", "/v1/users/%d" % d.id, ADMIN, {"disabled": True}), 200, "disable D")
    e = Party("E", False)
    must(api.call("DELETE", "/v1/users/%d" % e.id, ADMIN), 204, "delete E")
    for who in (a, b):
        for tid in who.tunnels:
            ck.check("%s's tunnel %d exists" % (who.letter, tid),
                     api.call("GET", "/v1/tunnels/%d" % tid, ADMIN).status == 200)

    base = Baseline()
    n_ops = len(ops)
    sent = attack(ops, b, a, admin_tokens, base)
    sent += attack(ops, a, b, admin_tokens, base)
    sent_401 = unauthenticated(ops, a, bad_credentials(a, d.token, e.token), base)
    sent_odd = odd_paths(ops, b) + other_methods(ops, b, a, base)
    base.unchanged("after everything")
    for who in (a, b):
        ck.check("%s's own token still works" % who.letter,
                 api.call("GET", "/v1/tunnels", who.token).status == 200)
    owners_can(ops, c)
    for who in (a, b, d):
        api.call("DELETE", "/v1/users/%d" % who.id, ADMIN)
    n_get = sum(1 for k in ops if k[0] == "GET")
    print("access: %d operations (+%d HEAD) on %d paths; %d requests as another user, "
          "%d without a usable token (%d kinds), %d odd paths and methods" %
          (n_ops, n_get, len({k[1] for k in ops}), sent, sent_401,
           len(bad_credentials(a, "", "")), sent_odd))
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
