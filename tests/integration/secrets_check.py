#!/usr/bin/env python3
"""secrets_check.py — where gate44-control's secrets may and may not be
found, searched for byte by byte in every place they could leak to.

  secrets_check.py make FILE   make a user, tokens and tunnels with keys
                               made by the server (the creation reply is
                               the only place their private keys are ever
                               given) and PSKs, one PSK set through wg(8);
                               write every secret to FILE (0600)
  secrets_check.py scan FILE   search for them (base64, base64url, hex in
                               both cases; raw bytes in binary files):

  - the SQLite files (database, -wal, -shm): no token (nor the part of it
    never shown, nor its 32 bytes), no private key — but each token's
    BLAKE2b-256 hash is there (tokens are stored hashed) and so are the
    PSKs (configs need them: the search does find what is there);
  - every GET of the API, from the OpenAPI document, as the admin and as
    the user (every tunnel's JSON, config, QR codes decoded with zbarimg,
    status, history; lists; /metrics): no private key, not the POP's
    either; no PSK outside the config files;
  - the engine socket's views (interfaces.list, peer.list, peer.get of
    each, route.list, stats): no private key, no PSK;
  - the UAPI socket, raw and through wg(8): no peer's private key ever; the
    interface's own private key in `get` (`wg showconf`, the first line of
    `wg show dump`) and the peers' PSKs, as the cross-platform UAPI
    specifies and the kernel does, but not in `wg show` (it says hidden);
  - the logs given (GATE44_LOGS, space-separated paths): no key, no PSK,
    no token.

Environment: GATE44_URL, GATE44_ADMIN_TOKEN, GATE44_WGIF, and for scan
GATE44_DB, GATE44_ENGINE_SOCK, GATE44_POP_KEY_FILE, GATE44_LOGS;
GATE44_VERBOSE=1. Stdlib, wg(8) and zbarimg. Exits 1 on any failure.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctl_client import Checks, Client  # noqa: E402

ENV = os.environ
api = Client(ENV.get("GATE44_URL", ""))
ADMIN = ENV.get("GATE44_ADMIN_TOKEN", "")
WGIF = ENV.get("GATE44_WGIF", "")
ck = Checks(ENV.get("GATE44_VERBOSE") == "1")


def must(resp, status, what):
    if resp.status != status:
        print("FAIL setup: %s: %r" % (what, resp))
        sys.exit(1)
    return resp.json


def key_bytes(b64):
    raw = base64.b64decode(b64)
    assert len(raw) == 32, b64
    return raw


def text_forms(raw):
    """The ways a 32-byte secret could be printed."""
    b64 = base64.b64encode(raw).decode()
    return [b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            raw.hex(), raw.hex().upper()]


def token_forms(tok):
    """A token, the part of it never shown (after the listed prefix), its
    32 bytes in every form."""
    raw = base64.urlsafe_b64decode(tok[4:] + "=")
    return [tok, tok[12:]] + text_forms(raw)


def found(haystack, needles):
    return [n for n in needles if n in haystack]


# ---- make -------------------------------------------------------------------

def make(path):
    tag = "%x" % (int(time.time() * 1000) & 0xffffff)
    r = api.call("GET", "/v1/pools", ADMIN)
    v6 = any(p.get("family") == "ipv6" for p in (r.json or {}).get("pools", []))
    uid = must(api.call("POST", "/v1/users", ADMIN, {"name": "Sec" + tag}), 201, "user")["id"]
    user_tok = must(api.call("POST", "/v1/tokens", ADMIN, {"user_id": uid, "name": "s"}), 201,
                    "user token")["secret"]
    adm_tok = must(api.call("POST", "/v1/tokens", ADMIN, {"scope": "admin", "name": "s"}), 201,
                   "admin token")["secret"]
    s = {"user_id": uid, "user_token": user_tok, "tokens": [ADMIN, user_tok, adm_tok],
         "private_keys": [], "psks": [], "public_keys": [], "tunnels": []}
    bodies = [{}, {"preshared_key": True, "persistent_keepalive": 25},
              {"preshared_key": True, "addresses": {"ipv4": 1, "ipv6": 1} if v6 else {"ipv4": 2}},
              {"public_key": base64.b64encode(os.urandom(32)).decode(), "preshared_key": True}]
    for i, body in enumerate(bodies):
        body["name"] = "sec%d" % i
        r = must(api.call("POST", "/v1/tunnels", user_tok, body), 201, "tunnel %d" % i)
        t, conf = r["tunnel"], r.get("config", "")
        s["tunnels"].append(t["id"])
        s["public_keys"].append(t["public_key"])
        if "public_key" not in body:
            ck.check("tunnel %d: the creation reply gives the private key" % i,
                     "PrivateKey = %s" % r.get("private_key") in conf, conf[:200])
            s["private_keys"].append(r["private_key"])
        for line in conf.splitlines():
            if line.startswith("PresharedKey = "):
                s["psks"].append(line.split(" = ", 1)[1].strip())
    ck.check("every PSK asked for is in a config", len(s["psks"]) == 3, repr(s["psks"]))

    # a peer with a PSK through wg(8), the UAPI's way in
    priv = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
    psk = subprocess.run(["wg", "genpsk"], capture_output=True, text=True, check=True).stdout
    pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True,
                         check=True).stdout.strip()
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(os.path.abspath(path))) as f:
        f.write(psk)
        f.flush()
        r = subprocess.run(["wg", "set", WGIF, "peer", pub, "preshared-key", f.name,
                            "allowed-ips", "44.99.%d.0/29" % (int(tag, 16) % 250)],
                           capture_output=True, text=True)
    ck.check("wg set adds a peer with a PSK", r.returncode == 0, r.stderr)
    s["private_keys"].append(priv.strip())  # the peer's: never sent anywhere
    s["psks"].append(psk.strip())
    s["public_keys"].append(pub)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(s, f)
    return ck.done()


# ---- scan -------------------------------------------------------------------

class Secrets:
    def __init__(self, path):
        s = json.load(open(path))
        self.s = s
        self.pop = key_bytes(open(ENV["GATE44_POP_KEY_FILE"]).read().strip())
        self.priv = [key_bytes(k) for k in s["private_keys"]]
        self.psk = [key_bytes(k) for k in s["psks"]]
        self.priv_text = sum((text_forms(k) for k in self.priv), [])
        self.pop_text = text_forms(self.pop)
        self.psk_text = sum((text_forms(k) for k in self.psk), [])
        self.tok_text = sum((token_forms(t) for t in s["tokens"]), [])


def scan_db(sec):
    db = ENV["GATE44_DB"]
    blob = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            blob += open(db + suffix, "rb").read()
    ck.check("the database files were read", len(blob) > 4096, "%d bytes" % len(blob))
    for tok in sec.s["tokens"]:
        raw = base64.urlsafe_b64decode(tok[4:] + "=")
        hits = found(blob, [f.encode() for f in token_forms(tok)] + [raw])
        ck.check("no token %s... in the database" % tok[:12], not hits, repr(hits)[:120])
        h = hashlib.blake2b(tok.encode(), digest_size=32).digest()
        ck.check("token %s... is in the database as its hash" % tok[:12], h in blob)
    for i, k in enumerate(sec.priv):
        hits = found(blob, [f.encode() for f in text_forms(k)] + [k])
        ck.check("no private key %d in the database" % i, not hits, repr(hits)[:120])
    hits = found(blob, [f.encode() for f in sec.pop_text] + [sec.pop])
    ck.check("the POP's private key is not in the database", not hits)
    ck.check("the PSKs are (the configs need them)", all(k in blob for k in sec.psk))


def get_paths(s):
    """Every GET the OpenAPI document lists, with every id there is."""
    doc = must(api.call("GET", "/v1/openapi.json"), 200, "openapi.json")
    ids = {"users": [s["user_id"]], "tunnels": s["tunnels"], "tokens": []}
    paths = []
    for pattern, item in doc["paths"].items():
        if "get" not in item:
            continue
        if "{id}" not in pattern:
            paths += [pattern, pattern + "?user_id=%d" % s["user_id"]]
            continue
        coll = pattern.split("/")[2]
        ck.check("GET %s: ids known" % pattern, coll in ids, coll)
        paths += [pattern.replace("{id}", str(i)) for i in ids.get(coll, [])]
    return paths


def zbar(png):
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png)
        f.flush()
        r = subprocess.run(["zbarimg", "--quiet", "--raw", f.name], capture_output=True)
    return r.stdout.decode("utf-8", "replace")


def scan_api(sec):
    n = 0
    for who, tok in (("admin", ADMIN), ("user", sec.s["user_token"])):
        for path in get_paths(sec.s):
            r = api.call("GET", path, tok)
            if (r.status == 403 and who == "user") or (r.status == 400 and "?" in path):
                continue  # the admin's routes; a query the route does not take
            n += 1
            body = r.text
            if path.endswith("config.png"):
                body = zbar(r.body)
                ck.check("%s %s: the QR code decodes to a config" % (who, path),
                         "[Interface]" in body, body[:100])
            ck.check("%s GET %s answers" % (who, path), r.status == 200, repr(r))
            hits = found(body, sec.priv_text + sec.pop_text + sec.tok_text)
            ck.check("%s GET %s: no private key, no token" % (who, path), not hits, repr(hits))
            if "/config" not in path:
                hits = found(body, sec.psk_text)
                ck.check("%s GET %s: no PSK" % (who, path), not hits, repr(hits))
    ck.check("the API replies scanned", n >= 20, "%d" % n)
    r = api.call("GET", "/v1/tunnels", ADMIN)
    ck.check("the scan sees the tunnels (public keys listed)",
             all(k in r.text for k in sec.s["public_keys"][:4]))


def engine(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(ENV["GATE44_ENGINE_SOCK"])
    s.sendall((json.dumps(cmd) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf.decode()


def scan_engine(sec):
    views = [{"cmd": "interfaces.list"}, {"cmd": "peer.list"}, {"cmd": "route.list"},
             {"cmd": "stats"}]
    views += [{"cmd": "peer.get", "interface": WGIF, "public_key": k}
              for k in sec.s["public_keys"]]
    text = ""
    for v in views:
        out = engine(v)
        text += out
        hits = found(out, sec.priv_text + sec.pop_text + sec.psk_text)
        ck.check("engine %s: no private key, no PSK" % v["cmd"], not hits, repr(hits))
    ck.check("the engine's views hold the peers",
             all(k in text for k in sec.s["public_keys"]), text[:200])
    ck.check("the engine has the PSKs (has_preshared_key)", '"has_preshared_key":true' in
             text.replace(" ", ""))


def uapi_get():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect("/var/run/wireguard/%s.sock" % WGIF)
    s.sendall(b"get=1\n\n")
    buf = b""
    while not buf.endswith(b"\n\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf.decode()


def scan_uapi(sec):
    outs = {"get=1": uapi_get()}
    for args in (["show", WGIF], ["show", WGIF, "dump"], ["showconf", WGIF]):
        r = subprocess.run(["wg"] + args, capture_output=True, text=True, timeout=20)
        ck.check("wg %s" % " ".join(args), r.returncode == 0, r.stderr)
        outs["wg " + " ".join(args)] = r.stdout
    for what, out in outs.items():
        hits = found(out, sec.priv_text)
        ck.check("%s: no peer's private key" % what, not hits, repr(hits))
    get = outs["get=1"]
    ck.check("get=1: the interface's private_key, as the UAPI specifies",
             "private_key=%s\n" % sec.pop.hex() in get, get[:200])
    ck.check("get=1: the peers' preshared_key, as the UAPI specifies",
             all("preshared_key=%s\n" % k.hex() in get for k in sec.psk), get[:300])
    ck.check("wg show hides the interface's private key",
             not found(outs["wg show " + WGIF], sec.pop_text) and
             "(hidden)" in outs["wg show " + WGIF])
    ck.check("wg showconf has it, as the kernel's does",
             "PrivateKey = %s" % base64.b64encode(sec.pop).decode() in outs["wg showconf " + WGIF])
    first = outs["wg show %s dump" % WGIF].split("\n", 1)[0]
    ck.check("wg show dump's first line has it, as the kernel's does",
             first.startswith(base64.b64encode(sec.pop).decode() + "\t"), first[:60])


def scan_logs(sec):
    total = 0
    for path in ENV.get("GATE44_LOGS", "").split():
        text = open(path, "rb").read().decode("utf-8", "replace")
        total += len(text)
        hits = found(text, sec.priv_text + sec.pop_text + sec.psk_text + sec.tok_text)
        ck.check("log %s: no key, no PSK, no token" % os.path.basename(path), not hits,
                 repr(hits)[:200])
    ck.check("the logs hold something", total > 0)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "scan"):
        sys.exit("usage: secrets_check.py make|scan FILE")
    if sys.argv[1] == "make":
        return make(sys.argv[2])
    ck.check("zbarimg is there", shutil.which("zbarimg") is not None)
    sec = Secrets(sys.argv[2])
    scan_db(sec)
    scan_api(sec)
    scan_engine(sec)
    scan_uapi(sec)
    scan_logs(sec)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
