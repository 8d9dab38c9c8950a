#!/usr/bin/env python3
"""api_check.py — exercise every route and every error code of a running
gate44-control's HTTP API, from the outside.

Environment:
  GATE44_URL            base URL, e.g. http://127.0.0.1:8044 (required)
  GATE44_ADMIN_TOKEN    an admin token (required)
  GATE44_SMALL_POOL_IF  interface whose IPv4 pool is small (optional; else
                        the default interface): tunnels are created there
                        until the pool is full (409 within 300 tries)
  GATE44_ENGINE_STOP_CMD / GATE44_ENGINE_START_CMD
                        shell commands that stop and restart the engine
                        (optional): enable the 503 engine_unavailable checks
  GATE44_VERBOSE=1      print every check, not only failures

Checks user isolation (a user token sees and changes only its own user's
objects: others are 404, admin routes 403), the error shape
{"error": {"code", "message", "field"?}}, limits, pool exhaustion, 413,
429, and that /v1/openapi.json documents exactly the routes the server
answers. Stdlib only. Prints "N passed, M failed"; exits 1 on any failure.
"""

import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

URL = os.environ.get("GATE44_URL", "")
ADMIN = os.environ.get("GATE44_ADMIN_TOKEN", "")
VERBOSE = os.environ.get("GATE44_VERBOSE") == "1"
if not URL or not ADMIN:
    sys.exit("api_check.py: set GATE44_URL and GATE44_ADMIN_TOKEN")
_u = urllib.parse.urlsplit(URL)
HOST, PORT = _u.hostname, _u.port or 80

# Every route the server answers: the OpenAPI document must list exactly these.
ROUTES = [
    ("GET", "/v1/users"), ("POST", "/v1/users"), ("GET", "/v1/users/{id}"),
    ("PATCH", "/v1/users/{id}"), ("DELETE", "/v1/users/{id}"),
    ("GET", "/v1/tokens"), ("POST", "/v1/tokens"), ("DELETE", "/v1/tokens/{id}"),
    ("GET", "/v1/tunnels"), ("POST", "/v1/tunnels"), ("GET", "/v1/tunnels/{id}"),
    ("PATCH", "/v1/tunnels/{id}"), ("DELETE", "/v1/tunnels/{id}"),
    ("GET", "/v1/tunnels/{id}/config"), ("GET", "/v1/tunnels/{id}/config.png"),
    ("GET", "/v1/tunnels/{id}/config.svg"), ("GET", "/v1/tunnels/{id}/status"),
    ("GET", "/v1/tunnels/{id}/history"),
    ("GET", "/v1/pools"), ("GET", "/v1/status"), ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
]

TUNNEL_KEYS = {"id", "user_id", "interface", "name", "public_key", "has_preshared_key",
               "persistent_keepalive", "enabled", "expires_at", "expired", "addresses",
               "created_at", "updated_at", "rx_bytes", "tx_bytes", "last_handshake",
               "endpoint"}
SECRET_KEYS = {"private_key", "preshared_key", "psk", "secret"}
NOBODY = 999999999  # an id no object has

passed = failed = skipped = 0
SEEN = set()  # (method, route pattern, status) of every answer


def route_of(method, path):
    """The route pattern a concrete path matches (literal segments first)."""
    segs = urllib.parse.urlsplit(path).path.split("/")
    best, score = None, -1
    for m, pat in ROUTES:
        ps = pat.split("/")
        if len(ps) != len(segs) or (m != method and not (method == "HEAD" and m == "GET")):
            continue
        sc = 0
        for i, (a, b) in enumerate(zip(ps, segs)):
            if a.startswith("{"):
                if not b:
                    break
            elif a != b:
                break
            else:
                sc += 1 << (16 - i)
        else:
            if sc > score:
                best, score = pat, sc
    return best


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        if VERBOSE:
            print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
    return ok


def skip(name, why):
    global skipped
    skipped += 1
    print("skip %s: %s" % (name, why))


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        e = (self.json or {}).get("error") if isinstance(self.json, dict) else None
        return e.get("code") if isinstance(e, dict) else None

    @property
    def field(self):
        e = (self.json or {}).get("error") if isinstance(self.json, dict) else None
        return e.get("field") if isinstance(e, dict) else None

    @property
    def message(self):
        e = (self.json or {}).get("error") if isinstance(self.json, dict) else None
        return e.get("message") if isinstance(e, dict) else None

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:300].decode("utf-8", "replace"))


def call(method, path, token=ADMIN, body=None, raw=None, headers=None, retry429=True,
         conn=None):
    """One request; body is JSON-encoded, raw is sent as is. Retries 429."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    for attempt in range(60):
        c = conn or http.client.HTTPConnection(HOST, PORT, timeout=30)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            if conn is None:
                c.close()
        pat = route_of(method, path)
        if pat is not None:
            SEEN.add((method if method != "HEAD" else "GET", pat, resp.status))
        if resp.status == 429 and retry429:
            time.sleep(max(0.2, min(5.0, float(resp.headers.get("retry-after", "1")))))
            continue
        return resp
    return resp


def expect(name, resp, status, code=None, field=None):
    """Check the status and, for errors, the error shape, code and field."""
    ok = resp.status == status
    detail = "got %r, want %d" % (resp, status)
    if ok and status >= 400:
        e = resp.json.get("error") if isinstance(resp.json, dict) else None
        ok = (isinstance(e, dict) and isinstance(e.get("code"), str)
              and isinstance(e.get("message"), str) and set(e) <= {"code", "message", "field"})
        detail = "bad error shape: %r" % resp
        if ok and code is not None and e["code"] != code:
            ok, detail = False, "code %r, want %r (%r)" % (e["code"], code, resp)
        if ok and field is not None and e.get("field") != field:
            ok, detail = False, "field %r, want %r (%r)" % (e.get("field"), field, resp)
        if ok and resp.headers.get("content-type", "").split(";")[0] != "application/json":
            ok, detail = False, "error content type %r" % resp.headers.get("content-type")
    return check(name, ok, detail)


def rand_key():
    return base64.b64encode(os.urandom(32)).decode()


def no_secrets(obj):
    """No private or preshared key anywhere in obj."""
    if isinstance(obj, dict):
        return not (set(obj) & SECRET_KEYS) and all(no_secrets(v) for v in obj.values())
    if isinstance(obj, list):
        return all(no_secrets(v) for v in obj)
    return True


SUFFIX = "%x" % (int(time.time() * 1000) & 0xffffff)


def uname(tag):
    return "T%s%s" % (SUFFIX, tag)


# ---------------------------------------------------------------------------

def test_openapi():
    r = call("GET", "/v1/openapi.json", token=None)
    expect("openapi.json without a token", r, 200)
    doc = r.json or {}
    check("openapi version 3", str(doc.get("openapi", "")).startswith("3."), repr(doc.get("openapi")))
    ops = set()
    for path, item in (doc.get("paths") or {}).items():
        for m, op in item.items():
            if m.upper() in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                ops.add((m.upper(), path))
                check("openapi %s %s has responses" % (m.upper(), path),
                      isinstance(op.get("responses"), dict) and op["responses"], repr(op)[:200])
    want = set(ROUTES)
    check("openapi documents every route", want <= ops, "missing: %s" % sorted(want - ops))
    check("openapi documents no other route", ops <= want, "extra: %s" % sorted(ops - want))
    schemas = (doc.get("components") or {}).get("schemas") or {}
    check("openapi has the error schema", "Error" in schemas)
    for name in ("User", "Token", "Tunnel", "TunnelCreate", "TunnelPatch", "Pool"):
        check("openapi schema %s" % name, name in schemas)
    return doc


def check_statuses_documented(doc):
    """Every status a route answered in this run is in its documented responses."""
    paths = doc.get("paths") or {}
    missing = []
    for m, pat, st in sorted(SEEN):
        op = (paths.get(pat) or {}).get(m.lower()) or {}
        if str(st) not in (op.get("responses") or {}):
            missing.append("%s %s %d" % (m, pat, st))
    check("every status answered is documented", not missing, ", ".join(missing))


def probe_documented(doc):
    """Every documented path+method is a route: never a routing 404 or 405."""
    for path, item in (doc.get("paths") or {}).items():
        for m in item:
            m = m.upper()
            if m not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                continue
            p = path.replace("{id}", str(NOBODY))
            body = {} if m in ("POST", "PATCH") else None
            r = call(m, p, body=body)
            routed = r.status != 405 and not (r.status == 404 and r.message == "no such resource")
            check("documented %s %s is routed" % (m, path), routed, repr(r))
            if r.status >= 400:
                expect("documented %s %s error shape" % (m, path), r, r.status)


def test_auth():
    expect("no token: 401", call("GET", "/v1/users", token=None), 401, "unauthorized")
    expect("unknown token: 401", call("GET", "/v1/users", token="g44_" + "A" * 43), 401,
           "unauthorized")
    expect("garbage token: 401", call("GET", "/v1/tunnels", token="not a token"), 401)
    expect("basic auth: 401",
           call("GET", "/v1/users", token=None, headers={"Authorization": "Basic YTpi"}), 401)
    r = call("GET", "/v1/nothing-here")
    expect("unknown route: 404", r, 404, "not_found")
    r = call("PUT", "/v1/users")
    expect("wrong method: 405", r, 405, "method_not_allowed")
    check("405 has Allow", "allow" in r.headers, repr(r.headers))
    r = call("HEAD", "/v1/status")
    check("HEAD on a GET route", r.status == 200, repr(r))


def test_users():
    a = call("POST", "/v1/users", body={"name": uname("A"), "email": "a@example.net"})
    expect("create user A", a, 201)
    check("user Location", a.headers.get("location") == "/v1/users/%s" % (a.json or {}).get("id"),
          repr(a.headers))
    b = call("POST", "/v1/users", body={"name": uname("B")})
    expect("create user B", b, 201)
    ua, ub = a.json, b.json
    check("user JSON", all(k in ua for k in ("id", "name", "email", "disabled", "max_tunnels",
                                              "max_addresses", "created_at")), repr(ua))
    check("default limits are null", ua.get("max_tunnels") is None and ua.get("max_addresses") is None)
    check("limits in force", (ua.get("limits") or {}).get("tunnels") == 10 and
          (ua.get("limits") or {}).get("addresses") == 16, repr(ua.get("limits")))

    expect("duplicate user name: 409", call("POST", "/v1/users", body={"name": uname("A")}),
           409, "conflict", "name")
    expect("duplicate name, other case: 409",
           call("POST", "/v1/users", body={"name": uname("A").lower()}), 409, None, "name")
    expect("bad user name: 400", call("POST", "/v1/users", body={"name": "no spaces"}), 400,
           "invalid", "name")
    expect("missing user name: 400", call("POST", "/v1/users", body={}), 400, "invalid", "name")
    expect("no body: 400", call("POST", "/v1/users"), 400, "invalid", "name")
    expect("unknown user field: 400",
           call("POST", "/v1/users", body={"name": uname("X"), "bogus": 1}), 400,
           "unknown_field", "bogus")
    expect("bad max_tunnels type: 400",
           call("POST", "/v1/users", body={"name": uname("X"), "max_tunnels": "9"}), 400,
           "invalid", "max_tunnels")
    expect("negative max_addresses: 400",
           call("POST", "/v1/users", body={"name": uname("X"), "max_addresses": -2}), 400,
           "invalid", "max_addresses")
    expect("bad email: 400",
           call("POST", "/v1/users", body={"name": uname("X"), "email": "nope"}), 400,
           "invalid", "email")
    expect("invalid JSON: 400", call("POST", "/v1/users", raw=b'{"name": '), 400, "invalid_json")
    expect("JSON array body: 400", call("POST", "/v1/users", raw=b'[1,2]'), 400)
    expect("duplicate JSON member: 400",
           call("POST", "/v1/users", raw=b'{"name":"x1","name":"x2"}'), 400)

    r = call("GET", "/v1/users")
    expect("list users", r, 200)
    ids = {u["id"] for u in (r.json or {}).get("users", [])}
    check("list has A and B", {ua["id"], ub["id"]} <= ids)
    r = call("GET", "/v1/users?name=" + uname("A").lower())
    check("find user by name", r.status == 200 and [u["id"] for u in r.json["users"]] == [ua["id"]],
          repr(r))
    expect("get user A", call("GET", "/v1/users/%d" % ua["id"]), 200)
    expect("get unknown user: 404", call("GET", "/v1/users/%d" % NOBODY), 404, "not_found")
    expect("bad user id: 400", call("GET", "/v1/users/abc"), 400)
    expect("user id 0: 400", call("GET", "/v1/users/0"), 400)

    r = call("PATCH", "/v1/users/%d" % ua["id"],
             body={"email": "new@example.net", "max_tunnels": 5, "max_addresses": 7})
    expect("patch user", r, 200)
    check("patch user applied", r.json and r.json["email"] == "new@example.net" and
          r.json["max_tunnels"] == 5 and r.json["limits"]["addresses"] == 7, repr(r))
    r = call("PATCH", "/v1/users/%d" % ua["id"],
             body={"email": None, "max_tunnels": None, "max_addresses": None})
    check("patch user back to defaults", r.status == 200 and r.json["email"] is None and
          r.json["max_tunnels"] is None and r.json["limits"]["tunnels"] == 10, repr(r))
    expect("patch user unknown field: 400",
           call("PATCH", "/v1/users/%d" % ua["id"], body={"name": "renamed"}), 400,
           "unknown_field", "name")
    expect("patch user bad disabled: 400",
           call("PATCH", "/v1/users/%d" % ua["id"], body={"disabled": "yes"}), 400, "invalid",
           "disabled")
    expect("patch unknown user: 404", call("PATCH", "/v1/users/%d" % NOBODY, body={}), 404)
    return ua, ub


def make_token(user_id, name="t"):
    r = call("POST", "/v1/tokens", body={"scope": "user", "user_id": user_id, "name": name})
    expect("create user token %s" % name, r, 201)
    return r.json


def test_tokens(ua, ub):
    ta = make_token(ua["id"], "a")
    tb = make_token(ub["id"], "b")
    check("token secret shown once", ta.get("secret", "").startswith("g44_") and
          ta.get("prefix") and ta["secret"].startswith(ta["prefix"]), repr(ta))
    check("token JSON", all(k in ta for k in ("id", "scope", "user_id", "name", "created_at",
                                              "revoked")), repr(ta))
    r = call("GET", "/v1/tokens")
    expect("list tokens (admin)", r, 200)
    toks = (r.json or {}).get("tokens", [])
    check("token list has no secrets", toks and all("secret" not in t for t in toks))
    check("token list has both", {ta["id"], tb["id"]} <= {t["id"] for t in toks})
    admin_ids = [t["id"] for t in toks if t["scope"] == "admin"]
    r = call("GET", "/v1/tokens?user_id=%d" % ua["id"])
    check("list tokens of A (admin)", r.status == 200 and r.json["tokens"] and
          all(t["user_id"] == ua["id"] for t in r.json["tokens"]), repr(r))
    expect("list tokens of nobody: 404", call("GET", "/v1/tokens?user_id=%d" % NOBODY), 404)
    expect("list tokens bad user_id: 400", call("GET", "/v1/tokens?user_id=x"), 400)

    expect("user token without user_id: 400", call("POST", "/v1/tokens", body={"scope": "user"}),
           400, "invalid", "user_id")
    expect("admin token with user_id: 400",
           call("POST", "/v1/tokens", body={"scope": "admin", "user_id": ua["id"]}), 400,
           "invalid", "user_id")
    expect("bad scope: 400", call("POST", "/v1/tokens", body={"scope": "root"}), 400, "invalid",
           "scope")
    expect("token for nobody: 404",
           call("POST", "/v1/tokens", body={"scope": "user", "user_id": NOBODY}), 404, None,
           "user_id")
    expect("unknown token field: 400",
           call("POST", "/v1/tokens", body={"scope": "admin", "expires": 1}), 400,
           "unknown_field", "expires")
    r = call("POST", "/v1/tokens", body={"scope": "admin", "name": "api_check"})
    expect("create admin token", r, 201)
    adm2 = r.json
    check("admin token has no user", adm2 and adm2["user_id"] is None and adm2["scope"] == "admin")
    expect("the new admin token works", call("GET", "/v1/pools", token=adm2["secret"]), 200)
    expect("revoke admin token", call("DELETE", "/v1/tokens/%d" % adm2["id"]), 204)
    expect("revoked token: 401", call("GET", "/v1/pools", token=adm2["secret"]), 401)
    expect("revoke again: 204", call("DELETE", "/v1/tokens/%d" % adm2["id"]), 204)
    expect("revoke unknown token: 404", call("DELETE", "/v1/tokens/%d" % NOBODY), 404)

    # a user's own tokens
    A = ta["secret"]
    r = call("GET", "/v1/tokens", token=A)
    check("user lists only own tokens", r.status == 200 and r.json["tokens"] and
          all(t["user_id"] == ua["id"] for t in r.json["tokens"]), repr(r))
    expect("user lists other's tokens: 404",
           call("GET", "/v1/tokens?user_id=%d" % ub["id"], token=A), 404)
    r = call("POST", "/v1/tokens", token=A, body={"name": "own"})
    expect("user creates own token", r, 201)
    own = r.json
    check("own token belongs to A", own and own["user_id"] == ua["id"] and own["scope"] == "user")
    expect("user creates admin token: 403",
           call("POST", "/v1/tokens", token=A, body={"scope": "admin"}), 403, "forbidden")
    expect("user creates token for B: 403",
           call("POST", "/v1/tokens", token=A, body={"user_id": ub["id"]}), 403, "forbidden",
           "user_id")
    expect("user revokes B's token: 404", call("DELETE", "/v1/tokens/%d" % tb["id"], token=A), 404)
    for i in admin_ids[:1]:
        expect("user revokes an admin token: 404", call("DELETE", "/v1/tokens/%d" % i, token=A), 404)
    expect("B's token still works", call("GET", "/v1/tunnels", token=tb["secret"]), 200)
    expect("user revokes own token", call("DELETE", "/v1/tokens/%d" % own["id"], token=A), 204)
    expect("revoked own token: 401", call("GET", "/v1/tunnels", token=own["secret"]), 401)
    return ta, tb


def test_user_isolation(ua, ub, A):
    expect("user gets self", call("GET", "/v1/users/%d" % ua["id"], token=A), 200)
    expect("user gets other user: 404", call("GET", "/v1/users/%d" % ub["id"], token=A), 404,
           "not_found")
    expect("user lists users: 403", call("GET", "/v1/users", token=A), 403, "forbidden")
    expect("user creates user: 403", call("POST", "/v1/users", token=A, body={"name": uname("Z")}),
           403, "forbidden")
    expect("user patches self: 403",
           call("PATCH", "/v1/users/%d" % ua["id"], token=A, body={"max_tunnels": 100}), 403)
    expect("user deletes other: 403", call("DELETE", "/v1/users/%d" % ub["id"], token=A), 403)
    expect("user reads pools: 403", call("GET", "/v1/pools", token=A), 403, "forbidden")
    expect("user reads status: 403", call("GET", "/v1/status", token=A), 403)
    expect("user reads metrics: 403", call("GET", "/metrics", token=A), 403)


def test_tunnels(ua, ub, A, B, have_v6):
    r = call("POST", "/v1/tunnels", token=A, body={"name": "shack"})
    expect("user creates a tunnel (server key)", r, 201)
    created = r.json or {}
    t1 = created.get("tunnel") or {}
    check("creation returns the private key once", len(created.get("private_key", "")) == 44)
    conf = created.get("config", "")
    check("creation config has the private key",
          ("PrivateKey = %s" % created.get("private_key")) in conf, conf[:200])
    check("tunnel JSON fields", TUNNEL_KEYS <= set(t1), "missing %s" % (TUNNEL_KEYS - set(t1)))
    check("tunnel JSON has no secrets", no_secrets(t1))
    check("tunnel owned by A", t1.get("user_id") == ua["id"])
    check("one IPv4 address by default", len(t1.get("addresses", [])) == 1 and
          t1["addresses"][0].endswith("/32"), repr(t1.get("addresses")))
    check("tunnel Location", r.headers.get("location") == "/v1/tunnels/%s" % t1.get("id"))
    check("new tunnel enabled, not expired", t1.get("enabled") is True and t1.get("expired") is False
          and t1.get("expires_at") is None)

    pub = rand_key()
    future = int(time.time()) + 86400
    body = {"public_key": pub, "preshared_key": True, "persistent_keepalive": 25,
            "name": "rig", "expires_at": future}
    if have_v6:
        body["addresses"] = {"ipv4": 1, "ipv6": 1}
    r = call("POST", "/v1/tunnels", token=A, body=body)
    expect("user creates a tunnel with own key", r, 201)
    t2 = (r.json or {}).get("tunnel") or {}
    check("no private key for an own key", "private_key" not in (r.json or {}))
    check("own key tunnel fields", t2.get("public_key") == pub and t2.get("has_preshared_key") is True
          and t2.get("persistent_keepalive") == 25 and t2.get("expires_at") == future, repr(t2))
    if have_v6:
        check("IPv4 and IPv6 addresses", len(t2.get("addresses", [])) == 2 and
              any(":" in a for a in t2["addresses"]), repr(t2.get("addresses")))
    conf2 = (r.json or {}).get("config", "")
    check("own key config has a PSK and no private key",
          "PresharedKey = " in conf2 and "\nPrivateKey = " not in conf2, conf2[:300])

    expect("duplicate public key: 409",
           call("POST", "/v1/tunnels", token=A, body={"public_key": pub}), 409)
    expect("user creates tunnel for B: 403",
           call("POST", "/v1/tunnels", token=A, body={"user_id": ub["id"]}), 403, "forbidden",
           "user_id")
    expect("admin creates tunnel without user_id: 400", call("POST", "/v1/tunnels", body={}), 400,
           "invalid", "user_id")
    expect("tunnel for nobody: 404", call("POST", "/v1/tunnels", body={"user_id": NOBODY}), 404,
           None, "user_id")
    expect("bad public key: 400",
           call("POST", "/v1/tunnels", token=A, body={"public_key": "abc"}), 400, "invalid",
           "public_key")
    expect("zero public key: 400",
           call("POST", "/v1/tunnels", token=A, body={"public_key": "A" * 43 + "="}), 400,
           "invalid", "public_key")
    expect("unknown tunnel field: 400",
           call("POST", "/v1/tunnels", token=A, body={"allowed_ips": ["0.0.0.0/0"]}), 400,
           "unknown_field", "allowed_ips")
    expect("no addresses: 400",
           call("POST", "/v1/tunnels", token=A, body={"addresses": {"ipv4": 0}}), 400, "invalid",
           "addresses")
    expect("unknown addresses member: 400",
           call("POST", "/v1/tunnels", token=A, body={"addresses": {"ipv9": 1}}), 400,
           "unknown_field", "addresses.ipv9")
    expect("negative address count: 400",
           call("POST", "/v1/tunnels", token=A, body={"addresses": {"ipv4": -1}}), 400,
           "invalid", "addresses.ipv4")
    expect("addresses not an object: 400",
           call("POST", "/v1/tunnels", token=A, body={"addresses": 2}), 400, "invalid",
           "addresses")
    expect("non-AMPRNet own prefix: 400",
           call("POST", "/v1/tunnels", token=A, body={"own_prefixes": ["10.0.0.0/8"]}), 400,
           "invalid", "own_prefixes[0]")
    expect("own prefix with host bits: 400",
           call("POST", "/v1/tunnels", token=A, body={"own_prefixes": ["44.140.0.1/29"]}), 400,
           "invalid", "own_prefixes[0]")
    expect("44.192/10 is not AMPRNet: 400",
           call("POST", "/v1/tunnels", token=A, body={"own_prefixes": ["44.192.0.0/29"]}), 400,
           "invalid", "own_prefixes[0]")
    expect("unknown interface: 400",
           call("POST", "/v1/tunnels", token=A, body={"interface": "nope0"}), 400, "invalid",
           "interface")
    expect("expiry in the past: 400",
           call("POST", "/v1/tunnels", token=A, body={"expires_at": 1000}), 400, "invalid",
           "expires_at")
    expect("keepalive too large: 400",
           call("POST", "/v1/tunnels", token=A, body={"persistent_keepalive": 70000}), 400,
           "invalid", "persistent_keepalive")
    expect("preshared_key not a bool: 400",
           call("POST", "/v1/tunnels", token=A, body={"preshared_key": "yes"}), 400, "invalid",
           "preshared_key")

    # an own prefix (AMPRNet, 44.128/10), then the same one again
    own = "44.%d.%d.0/29" % (140 + int(SUFFIX, 16) % 40, int(SUFFIX, 16) % 250)
    r = call("POST", "/v1/tunnels", token=B,
             body={"own_prefixes": [own], "addresses": {"ipv4": 0}, "enabled": False})
    expect("B creates a tunnel with an own prefix", r, 201)
    tb = (r.json or {}).get("tunnel") or {}
    check("own prefix routed", own in tb.get("addresses", []) and own in tb.get("own_prefixes", []),
          repr(tb))
    check("disabled at creation", tb.get("enabled") is False and tb.get("active") is False)
    expect("own prefix taken: 409",
           call("POST", "/v1/tunnels", token=A, body={"own_prefixes": [own]}), 409)

    # isolation
    r = call("GET", "/v1/tunnels", token=A)
    check("A lists only own tunnels", r.status == 200 and
          {t["id"] for t in r.json["tunnels"]} >= {t1["id"], t2["id"]} and
          all(t["user_id"] == ua["id"] for t in r.json["tunnels"]), repr(r))
    check("tunnel list has no secrets", no_secrets(r.json))
    expect("A lists B's tunnels: 404", call("GET", "/v1/tunnels?user_id=%d" % ub["id"], token=A),
           404)
    tbid = tb.get("id", NOBODY)
    for m, sub, body in (("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None),
                         ("GET", "/config", None), ("GET", "/config.png", None),
                         ("GET", "/config.svg", None), ("GET", "/status", None),
                         ("GET", "/history", None)):
        expect("A %s B's tunnel%s: 404" % (m, sub),
               call(m, "/v1/tunnels/%d%s" % (tbid, sub), token=A, body=body), 404, "not_found")
    r = call("GET", "/v1/tunnels?user_id=%d" % ua["id"])
    check("admin lists A's tunnels", r.status == 200 and
          all(t["user_id"] == ua["id"] for t in r.json["tunnels"]), repr(r))
    r = call("GET", "/v1/tunnels")
    check("admin lists all tunnels", r.status == 200 and
          {t1["id"], tbid} <= {t["id"] for t in r.json["tunnels"]}, repr(r))
    expect("list tunnels bad user_id: 400", call("GET", "/v1/tunnels?user_id=-1"), 400)

    # one tunnel
    tid = t1["id"]
    path = "/v1/tunnels/%d" % tid
    r = call("GET", path, token=A)
    expect("get tunnel", r, 200)
    check("get tunnel has no private key", no_secrets(r.json))
    expect("get unknown tunnel: 404", call("GET", "/v1/tunnels/%d" % NOBODY), 404)

    r = call("PATCH", path, token=A, body={"name": "renamed", "persistent_keepalive": 10,
                                          "enabled": False})
    expect("patch tunnel", r, 200)
    check("patch tunnel applied", r.json and r.json["name"] == "renamed" and
          r.json["persistent_keepalive"] == 10 and r.json["enabled"] is False and
          r.json["active"] is False, repr(r))
    r = call("PATCH", path, token=A, body={"enabled": True, "preshared_key": True,
                                          "expires_at": future})
    check("patch enable + psk + expiry", r.status == 200 and r.json["active"] is True and
          r.json["has_preshared_key"] is True and r.json["expires_at"] == future, repr(r))
    check("patch reply has no secrets", no_secrets(r.json))
    r = call("PATCH", path, token=A, body={"preshared_key": False, "expires_at": None})
    check("patch remove psk + never expire", r.status == 200 and
          r.json["has_preshared_key"] is False and r.json["expires_at"] is None, repr(r))
    expect("patch empty body", call("PATCH", path, token=A, body={}), 200)
    expect("patch unknown field: 400", call("PATCH", path, token=A, body={"public_key": pub}), 400,
           "unknown_field", "public_key")
    expect("patch bad keepalive: 400",
           call("PATCH", path, token=A, body={"persistent_keepalive": -1}), 400, "invalid",
           "persistent_keepalive")
    expect("patch expiry in the past: 400",
           call("PATCH", path, token=A, body={"expires_at": 5}), 400, "invalid", "expires_at")
    expect("patch unknown tunnel: 404", call("PATCH", "/v1/tunnels/%d" % NOBODY, body={}), 404)

    # config and QR codes
    r = call("GET", path + "/config", token=A)
    expect("config", r, 200)
    text = r.body.decode("utf-8", "replace")
    check("config is text/plain", r.headers.get("content-type", "").startswith("text/plain"))
    check("config is a wg-quick file", "[Interface]" in text and "[Peer]" in text and
          "Address = " in text and "Endpoint = " in text, text[:300])
    check("config has no private key", re.search(r"^PrivateKey\s*=", text, re.M) is None and
          "# PrivateKey" in text, text[:300])
    check("config attachment name", "filename=" in r.headers.get("content-disposition", ""))
    r = call("GET", path + "/config.png", token=A)
    check("config.png", r.status == 200 and r.headers.get("content-type") == "image/png" and
          r.body[:8] == b"\x89PNG\r\n\x1a\n", repr(r)[:100])
    r = call("GET", path + "/config.svg", token=A)
    check("config.svg", r.status == 200 and r.headers.get("content-type", "").startswith(
        "image/svg+xml") and b"<svg" in r.body, repr(r)[:100])
    expect("config of unknown tunnel: 404", call("GET", "/v1/tunnels/%d/config" % NOBODY), 404)

    # status and history
    r = call("GET", path + "/status", token=A)
    if r.status == 503:
        expect("status: engine unavailable", r, 503, "engine_unavailable")
    else:
        expect("status", r, 200)
        check("status is an object", isinstance(r.json, dict), repr(r))
    r = call("GET", path + "/history", token=A)
    expect("history", r, 200)
    check("history samples", isinstance((r.json or {}).get("samples"), list), repr(r))
    now = int(time.time())
    r = call("GET", path + "/history?from=%d&to=%d" % (now - 60, now), token=A)
    check("history window", r.status == 200 and r.json["from"] == now - 60 and
          r.json["to"] == now, repr(r))
    expect("history from > to: 400", call("GET", path + "/history?from=10&to=5", token=A), 400,
           None, "from")
    expect("history bad from: 400", call("GET", path + "/history?from=yesterday", token=A), 400,
           None, "from")

    # deletion
    expect("delete tunnel", call("DELETE", "/v1/tunnels/%d" % t2["id"], token=A), 204)
    expect("deleted tunnel: 404", call("GET", "/v1/tunnels/%d" % t2["id"], token=A), 404)
    expect("delete again: 404", call("DELETE", "/v1/tunnels/%d" % t2["id"], token=A), 404)
    expect("delete bad id: 400", call("DELETE", "/v1/tunnels/x1", token=A), 400)
    return t1, tb


def test_limits():
    r = call("POST", "/v1/users", body={"name": uname("L"), "max_tunnels": 1, "max_addresses": 1})
    expect("create limited user", r, 201)
    ul = r.json
    r = call("POST", "/v1/tunnels", body={"user_id": ul["id"], "addresses": {"ipv4": 2}})
    expect("too many addresses: 409", r, 409, "limit_exceeded")
    r = call("POST", "/v1/tunnels", body={"user_id": ul["id"]})
    expect("first tunnel within limits", r, 201)
    r = call("POST", "/v1/tunnels", body={"user_id": ul["id"]})
    expect("too many tunnels: 409", r, 409, "limit_exceeded")
    r = call("GET", "/v1/users/%d" % ul["id"])
    check("usage counted", r.status == 200 and r.json.get("usage", {}).get("tunnels") == 1, repr(r))
    expect("delete limited user", call("DELETE", "/v1/users/%d" % ul["id"]), 204)


def test_pool_exhaustion():
    r = call("POST", "/v1/users", body={"name": uname("P"), "max_tunnels": 1000,
                                        "max_addresses": 1000})
    expect("create pool-filling user", r, 201)
    up = r.json
    body = {"user_id": up["id"]}
    ifname = os.environ.get("GATE44_SMALL_POOL_IF")
    if ifname:
        body["interface"] = ifname
    got = None
    for i in range(300):
        body["public_key"] = rand_key()
        r = call("POST", "/v1/tunnels", body=body)
        if r.status != 201:
            got = r
            break
    check("pool exhaustion within 300 tunnels", got is not None, "still creating after 300")
    if got is not None:
        expect("pool exhausted: 409", got, 409)
        check("pool exhausted is not a user limit", got.code != "limit_exceeded", repr(got))
        pools = call("GET", "/v1/pools").json or {}
        check("a pool is full", any(p.get("free") == 0 for p in pools.get("pools", [])),
              repr(pools)[:300])
    expect("delete pool-filling user", call("DELETE", "/v1/users/%d" % up["id"]), 204)
    pools = call("GET", "/v1/pools").json or {}
    check("pools free again", all(p.get("free", 0) > 0 or p.get("size") == p.get("reserved")
                                  for p in pools.get("pools", [])), repr(pools)[:300])


def test_pools_status_metrics(ua, t1):
    r = call("GET", "/v1/pools")
    expect("pools", r, 200)
    pools = (r.json or {}).get("pools", [])
    check("pools listed", pools and all(all(k in p for k in ("name", "prefix", "interface",
                                                             "allocated", "free"))
                                        for p in pools), repr(r)[:300])
    check("allocation counted", any(p["allocated"] > 0 for p in pools), repr(pools)[:300])
    r = call("GET", "/v1/status")
    expect("status", r, 200)
    st = r.json or {}
    check("status fields", isinstance(st.get("engine", {}).get("connected"), bool) and
          st.get("tunnels", {}).get("total", 0) >= 1 and "connected" in st.get("tunnels", {}),
          repr(st)[:300])
    r = call("GET", "/metrics")
    expect("metrics", r, 200)
    ct = r.headers.get("content-type", "")
    check("metrics content type", ct.startswith("text/plain") and "version=0.0.4" in ct, ct)
    text = r.body.decode("utf-8", "replace")
    bad = [l for l in text.splitlines() if l and not l.startswith("#") and not re.match(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
        r'-?[0-9.e+Na]+$', l)]
    check("metrics lines parse", not bad, repr(bad[:3]))
    check("per-tunnel metrics with labels",
          re.search(r'gate44_tunnel_rx_bytes_total\{tunnel="%d",user="%s",interface="[^"]+"\} \d+'
                    % (t1["id"], re.escape(ua["name"])), text) is not None, text[:400])
    for m in ("gate44_tunnel_tx_bytes_total", "gate44_tunnel_connected", "gate44_tunnels",
              "gate44_rx_bytes_total", "gate44_http_requests_total"):
        check("metric %s" % m, ("\n%s" % m) in text)
    check("API requests by route and code",
          re.search(r'gate44_http_requests_total\{method="GET",route="/v1/status",code="200"\} \d+',
                    text) is not None)
    if st.get("engine", {}).get("connected"):
        check("engine drop reasons", "gate44_engine_drops_total{reason=" in text)
    else:
        skip("engine drop reasons", "engine not connected")


def raw_request(head, body=b"", chunks=None):
    """Send a request by hand; return (status, json or None)."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    try:
        s.sendall(head)
        try:
            if chunks is not None:
                for c in chunks:
                    s.sendall(b"%x\r\n%s\r\n" % (len(c), c))
                s.sendall(b"0\r\n\r\n")
            elif body:
                s.sendall(body)
        except OSError:
            pass  # the server answered early and closed: read what it said
        r = http.client.HTTPResponse(s)
        r.begin()
        data = r.read()
        return r.status, Resp(r.status, r.getheaders(), data)
    finally:
        s.close()


def test_413(ua):
    # a token of its own: the admin token's rate-limit bucket may be low
    # here, and 429 is checked before the body
    r = call("POST", "/v1/tokens", body={"scope": "admin", "name": "api_check_413"})
    expect("admin token for 413", r, 201)
    tok = (r.json or {}).get("secret", ADMIN)
    big = json.dumps({"name": "x" * (100 * 1024)}).encode()
    head = ("POST /v1/users HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (HOST, tok, len(big)))
    try:
        st, r = raw_request(head.encode(), big)
        expect("100 KiB body: 413", r, 413, "payload_too_large")
    except (ConnectionResetError, http.client.HTTPException) as e:
        # the server may reset before we read its answer: ask with Expect
        head2 = head.replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n")
        st, r = raw_request(head2.encode())
        expect("100 KiB body (Expect: 100-continue): 413 (%s)" % type(e).__name__, r, 413,
               "payload_too_large")
    head = ("PATCH /v1/users/%d HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            % (ua["id"], HOST, tok))
    try:
        st, r = raw_request(head.encode(), chunks=[b"{" + b" " * 8192] * 13 + [b"}"])
        expect("100 KiB chunked body: 413", r, 413, "payload_too_large")
    except (ConnectionResetError, http.client.HTTPException) as e:
        check("100 KiB chunked body: 413", False, "connection broke: %r" % e)
    if r.status == 201 or "id" in (r.json or {}):
        call("DELETE", "/v1/tokens/%d" % r.json["id"])


def test_429(ua, t1):
    tok = make_token(ua["id"], "burst")["secret"]
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    got = None
    for i in range(400):
        try:
            r = call("PATCH", "/v1/tunnels/%d" % t1["id"], token=tok, body={"name": "b%d" % i},
                     retry429=False, conn=conn)
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
            continue
        if r.status == 429:
            got = r
            break
        if r.status != 200:
            check("burst PATCH %d" % i, False, repr(r))
            break
    conn.close()
    check("burst of PATCHes hits the rate limit", got is not None, "no 429 in 400 requests")
    if got is not None:
        expect("rate limited: 429", got, 429, "rate_limited")
        check("429 has Retry-After", got.headers.get("retry-after", "").isdigit(), repr(got.headers))
        expect("reads are not rate limited", call("GET", "/v1/tunnels", token=tok, retry429=False),
               200)


def test_disable(ub, B, tb):
    r = call("PATCH", "/v1/users/%d" % ub["id"], body={"disabled": True})
    if r.status == 503:
        expect("disable user: engine unavailable", r, 503, "engine_unavailable")
        return
    expect("disable user", r, 200)
    check("user disabled", (r.json or {}).get("disabled") is True)
    expect("disabled user's token: 401", call("GET", "/v1/tunnels", token=B), 401)
    r = call("PATCH", "/v1/tunnels/%d" % tb["id"], body={"enabled": True})
    check("disabled user's tunnel stays inactive", r.status == 200 and r.json["enabled"] is True and
          r.json["active"] is False, repr(r))
    r = call("PATCH", "/v1/users/%d" % ub["id"], body={"disabled": False})
    expect("enable user", r, 200)
    expect("enabled user's token works", call("GET", "/v1/tunnels", token=B), 200)
    r = call("GET", "/v1/tunnels/%d" % tb["id"])
    check("tunnel active again", r.status == 200 and r.json["active"] is True, repr(r))


def wait_engine(connected, secs=30):
    end = time.time() + secs
    while time.time() < end:
        r = call("GET", "/v1/status")
        if r.status == 200 and (r.json or {}).get("engine", {}).get("connected") == connected:
            return True
        time.sleep(0.5)
    return False


def test_503(ua, A, t1):
    stop, start = os.environ.get("GATE44_ENGINE_STOP_CMD"), os.environ.get("GATE44_ENGINE_START_CMD")
    if not stop or not start:
        skip("503 engine_unavailable", "GATE44_ENGINE_STOP_CMD/START_CMD not set")
        return
    subprocess.run(stop, shell=True, check=False)
    try:
        check("engine seen disconnected", wait_engine(False))
        expect("create while the engine is down: 503",
               call("POST", "/v1/tunnels", token=A, body={}), 503, "engine_unavailable")
        expect("status while the engine is down: 503",
               call("GET", "/v1/tunnels/%d/status" % t1["id"], token=A), 503, "engine_unavailable")
        expect("reads work while the engine is down",
               call("GET", "/v1/tunnels/%d" % t1["id"], token=A), 200)
    finally:
        subprocess.run(start, shell=True, check=False)
    check("engine seen connected again", wait_engine(True, 60))


def main():
    doc = test_openapi()
    test_auth()
    r = call("GET", "/v1/pools")
    have_v6 = r.status == 200 and any(p.get("family") == "ipv6" or ":" in p.get("prefix", "")
                                      for p in (r.json or {}).get("pools", []))
    ua, ub = test_users()
    ta, tb_tok = test_tokens(ua, ub)
    A, B = ta["secret"], tb_tok["secret"]
    test_user_isolation(ua, ub, A)
    t1, tb = test_tunnels(ua, ub, A, B, have_v6)
    test_limits()
    test_pools_status_metrics(ua, t1)
    test_disable(ub, B, tb)
    test_pool_exhaustion()
    test_413(ua)
    test_429(ua, t1)
    probe_documented(doc)
    test_503(ua, A, t1)
    check_statuses_documented(doc)
    skip("503 store_readonly", "cannot make the store read-only from outside")
    skip("507 store_full", "cannot fill the disk from outside")

    # cleanup: a deleted user's tokens and tunnels go with it
    expect("delete user A", call("DELETE", "/v1/users/%d" % ua["id"]), 204)
    expect("deleted user: 404", call("GET", "/v1/users/%d" % ua["id"]), 404)
    expect("deleted user's tunnel: 404", call("GET", "/v1/tunnels/%d" % t1["id"]), 404)
    expect("deleted user's token: 401", call("GET", "/v1/tunnels", token=A), 401)
    expect("delete user B", call("DELETE", "/v1/users/%d" % ub["id"]), 204)
    expect("delete unknown user: 404", call("DELETE", "/v1/users/%d" % ub["id"]), 404)

    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
