#!/usr/bin/env python3
"""cli_check.py — run the gate44 CLI against a running gate44-control and
check every command's human output (tables, detail views), its --json
output and its exit codes (0 ok, 1 API error, 2 usage, 3 cannot connect).

Environment:
  GATE44_CLI    the built gate44 binary (default: gate44 on PATH)
  GATE44_URL    the daemon's API (default http://127.0.0.1:8044)
  GATE44_TOKEN  an admin token

The daemon needs at least one IPv4 pool with a few free addresses; an IPv6
pool and an engine that answers are used when present (checks that need
them are skipped, and say so, otherwise). Everything it creates is made
under names starting with "cc<random>" and deleted at the end, even after a
failure. zbarimg, when installed, decodes the terminal QR code.

Exit status: 0 when every check passed, 1 otherwise. Python 3 stdlib only.
"""
import base64
import ipaddress
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile

CLI = os.environ.get("GATE44_CLI") or shutil.which("gate44") or "gate44"
URL = os.environ.get("GATE44_URL", "http://127.0.0.1:8044")
TOKEN = os.environ.get("GATE44_TOKEN", "")
TAG = "cc%06x" % random.getrandbits(24)
TMP = tempfile.mkdtemp(prefix="gate44-cli-check-")

failures = []
skips = []
checks = 0


def check(cond, what, detail=""):
    global checks
    checks += 1
    if cond:
        return True
    failures.append(what + (": " + detail if detail else ""))
    print("FAIL", what, detail[:2000] if detail else "", file=sys.stderr)
    return False


def skip(what):
    skips.append(what)
    print("SKIP", what, file=sys.stderr)


class Run:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def __str__(self):
        return "gate44 %s -> rc %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.args), self.rc, self.out, self.err)

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            check(False, "valid JSON from gate44 " + " ".join(self.args), self.out)
            return {}


def run(*args, env=None, token=True, url=True, rc=0, binary=False):
    """Run the CLI; check its exit code is rc (None: any)."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e["GATE44_URL"] = URL if url else ""
    e["GATE44_TOKEN"] = TOKEN if token else ""
    e["HOME"] = TMP  # no stray token file
    e.pop("XDG_CONFIG_HOME", None)
    if env:
        e.update(env)
    p = subprocess.run([CLI, *args], env=e, capture_output=True, timeout=60)
    out = p.stdout if binary else p.stdout.decode("utf-8", "replace")
    r = Run(list(args), p.returncode, out, p.stderr.decode("utf-8", "replace"))
    if rc is not None:
        check(p.returncode == rc, "exit %d from gate44 %s" % (rc, " ".join(args)), str(r))
    return r


def api_error(r, status, code, field=None):
    """stderr's first line is "gate44: <status> <code>: <message> (field)"."""
    line = r.err.splitlines()[0] if r.err else ""
    m = re.match(r"^gate44: (\d{3}) ([a-z_]+): (.+?)(?: \(([^()]+)\))?$", line)
    ok = (m is not None and m.group(1) == str(status) and m.group(2) == code
          and (field is None or m.group(4) == field))
    check(ok, "error line %s %s%s for gate44 %s" % (
        status, code, " (%s)" % field if field else "", " ".join(r.args)), str(r))
    check(r.out == "", "nothing on stdout after an API error: " + " ".join(r.args), r.out)


def table(r, left, right):
    """Parse an aligned table: the header names, left-aligned columns start
    at their header's column and right-aligned ones end at theirs. Returns
    the rows as dicts."""
    lines = [l for l in r.out.split("\n") if l]
    if not check(len(lines) >= 1, "a table header from gate44 " + " ".join(r.args), str(r)):
        return []
    head = lines[0]
    cols = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", head)]
    names = [c[0] for c in cols]
    check(set(left + right) <= set(names), "table columns of gate44 " + " ".join(r.args),
          head)
    for name in names:
        check(name in left + right, "known column %s" % name, head)
    rows = []
    for line in lines[1:]:
        row = {}
        for i, (name, start, end) in enumerate(cols):
            if name in left:
                ok = (len(line) > start and line[start] != " "
                      and (start == 0 or line[start - 1] == " "))
                check(ok, "column %s aligned in gate44 %s" % (name, " ".join(r.args)),
                      head + "\n" + line)
                if i + 1 < len(cols) and cols[i + 1][0] in left:
                    cell = line[start:cols[i + 1][1]]
                else:
                    # the last column, or a right-aligned one next that may
                    # start to the left of its header: up to two blanks
                    cell = re.split(r"  +", line[start:])[0]
                row[name] = cell.strip()
            else:
                ok = len(line) >= end and line[end - 1] != " " and (
                    len(line) == end or line[end] == " ")
                check(ok, "column %s right-aligned in gate44 %s" % (name, " ".join(r.args)),
                      head + "\n" + line)
                row[name] = re.split(r"  +", line[:end].strip())[-1] if ok else ""
        rows.append(row)
    return rows


def read(path, mode="r"):
    """A file's content, or "" when it is missing (a failed check says why)."""
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def mode_of(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def kv(r):
    """A detail view: "key:   value" lines."""
    d = {}
    for line in r.out.splitlines():
        m = re.match(r"^([a-z][a-z -]*):\s+(.*)$", line)
        if m:
            d[m.group(1)] = m.group(2)
    return d


# ---- the checks ------------------------------------------------------------


def check_usage_and_connect():
    r = run("--version")
    check(r.out.startswith("gate44 "), "--version", str(r))
    r = run("--help")
    check("usage: gate44" in r.out and "tunnel create" in r.out, "--help", str(r))
    run(rc=2)
    run("frobnicate", rc=2)
    run("user", rc=2)
    run("user", "frob", rc=2)
    r = run("user", "create", rc=2)
    check("usage: gate44 user create" in r.err, "usage line on a usage error", str(r))
    run("user", "create", "a", "b", rc=2)
    run("user", "list", "--bogus", rc=2)
    run("tunnel", "show", "abc", rc=2)
    run("tunnel", "show", "0", rc=2)
    run("tunnel", "create", rc=2)  # --user is required
    run("tunnel", "create", "--user", "1", "--keepalive", "70000", rc=2)
    run("tunnel", "create", "--user", "1", "--expires", "soon", rc=2)
    run("tunnel", "create", "--user", "1", "--ipv4", "-1", rc=2)
    run("tunnel", "qr", "1", "-o", os.path.join(TMP, "x.jpg"), rc=2)
    run("token", "create", "--admin", "--user", "1", rc=2)
    run("token", "revoke", "x", rc=2)
    run("status", "1", "2", rc=2)
    r = run("tunnel", "create", "--help")
    check("usage: gate44 tunnel create" in r.out, "subcommand --help", str(r))
    run("--url", "https://127.0.0.1:8044", "status", rc=2)
    run("--url", "127.0.0.1:8044", "status", rc=2)
    run("--token", "has space", "status", rc=2)
    r = run("--url", "http://127.0.0.1:1", "status", rc=3)
    check("cannot connect" in r.err, "cannot connect message", str(r))
    run("status", env={"GATE44_URL": "http://127.0.0.1:1"}, url=False, rc=3)
    r = run("status", token=False, rc=1)
    api_error(r, 401, "unauthorized")
    r = run("--token", "g44_not-a-real-token", "status", rc=1)
    api_error(r, 401, "unauthorized")

    # the token file: ~/.config/gate44/token, or $XDG_CONFIG_HOME/gate44/token
    home = os.path.join(TMP, "home")
    os.makedirs(os.path.join(home, ".config", "gate44"), exist_ok=True)
    path = os.path.join(home, ".config", "gate44", "token")
    with open(path, "w") as f:
        f.write(TOKEN + "\n# the admin token\n")
    os.chmod(path, 0o600)
    r = run("status", token=False, env={"HOME": home})
    check(r.err == "", "no warning for a 0600 token file", str(r))
    os.chmod(path, 0o644)
    r = run("status", token=False, env={"HOME": home})
    check("readable by others" in r.err, "warning for a world-readable token file", str(r))
    xdg = os.path.join(TMP, "xdg")
    os.makedirs(os.path.join(xdg, "gate44"), exist_ok=True)
    shutil.copy(path, os.path.join(xdg, "gate44", "token"))
    os.chmod(os.path.join(xdg, "gate44", "token"), 0o600)
    run("status", token=False, env={"XDG_CONFIG_HOME": xdg})
    # --token wins over $GATE44_TOKEN
    run("--token", TOKEN, "status", env={"GATE44_TOKEN": "g44_wrong"})


def check_status_and_pools():
    r = run("status")
    d = kv(r)
    for k in ("time", "engine", "store", "users", "tunnels", "rx", "tx"):
        check(k in d, "status shows %s" % k, str(r))
    j = run("status", "--json").json()
    check(isinstance(j.get("engine"), dict) and "tunnels" in j, "status --json", str(j))
    j2 = run("--json", "status").json()
    check(j2.keys() == j.keys(), "--json before the command", str(j2))
    engine = bool(j.get("engine", {}).get("connected"))

    r = run("pool", "list")
    rows = table(r, ["NAME", "PREFIX", "IFACE"],
                 ["ID", "BLOCK", "SIZE", "ALLOCATED", "RESERVED", "FREE"])
    pools = run("pools", "list", "--json").json().get("pools", [])
    check(len(rows) == len(pools), "pool list rows = --json pools", str(r))
    for row, p in zip(rows, pools):
        check(row.get("PREFIX") == p["prefix"] and row.get("FREE") == str(p["free"])
              and row.get("BLOCK") == "/%d" % p["alloc_len"], "pool row %s" % p["name"],
              "%r vs %r" % (row, p))
    v4 = [p for p in pools if p["family"] == "ipv4" and p["free"] >= 6]
    v6 = [p for p in pools if p["family"] == "ipv6" and p["free"] >= 2]
    if not check(v4, "the daemon has an IPv4 pool with 6 free addresses", json.dumps(pools)):
        raise SystemExit(1)
    r = run("metrics")
    check("# TYPE gate44_" in r.out, "metrics", r.out[:500])
    return engine, v4, v6, pools


def check_users():
    name = TAG + "-A"
    r = run("user", "create", name, "--email", "k1abc@example.org", "--max-tunnels", "7")
    d = kv(r)
    check(d.get("name") == name and d.get("email") == "k1abc@example.org"
          and d.get("state") == "active" and d.get("tunnels", "").startswith("0 of 7"),
          "user create shows the user", str(r))
    uid = int(d.get("id", "0"))
    j = run("user", "create", TAG + "-B", "--json").json()
    check(j.get("name") == TAG + "-B" and j.get("max_tunnels") is None
          and isinstance(j.get("limits", {}).get("tunnels"), int), "user create --json", str(j))
    uid_b = j.get("id")

    api_error(run("user", "create", name, rc=1), 409, "conflict", "name")
    api_error(run("user", "create", "bad name", rc=1), 400, "invalid", "name")
    api_error(run("user", "create", TAG + "-C", "--email", "nope", rc=1), 400, "invalid",
              "email")
    run("user", "create", TAG + "-C", "--max-tunnels", "lots", rc=2)

    r = run("user", "list")
    rows = table(r, ["NAME", "EMAIL", "STATE", "CREATED"], ["ID", "TUNNELS", "ADDRESSES"])
    mine = [x for x in rows if x.get("NAME") == name]
    check(len(mine) == 1 and mine[0].get("ID") == str(uid) and mine[0].get("TUNNELS") == "0/7"
          and mine[0].get("EMAIL") == "k1abc@example.org" and mine[0].get("STATE") == "active",
          "user list row", str(r))
    users = run("users", "list", "--json").json().get("users", [])
    check(any(u["id"] == uid and u["name"] == name for u in users), "user list --json")

    for arg in (str(uid), name):
        d = kv(run("user", "show", arg))
        check(d.get("id") == str(uid) and d.get("name") == name, "user show " + arg, str(d))
    check(run("user", "show", name, "--json").json().get("id") == uid, "user show --json")
    api_error(run("user", "show", "999999999", rc=1), 404, "not_found")
    r = run("user", "show", TAG + "-nobody", rc=1)
    check("no user named" in r.err, "an unknown user name", str(r))

    d = kv(run("user", "set", name, "--max-tunnels", "default", "--email", ""))
    check("default" in d.get("tunnels", "") and d.get("email") == "-", "user set", str(d))
    run("user", "set", name, rc=2)
    r = run("user", "disable", name)
    check(r.out.strip() == "user %d disabled" % uid, "user disable", str(r))
    check(run("user", "show", str(uid), "--json").json().get("disabled") is True,
          "disabled in JSON")
    rows = table(run("user", "list"), ["NAME", "EMAIL", "STATE", "CREATED"],
                 ["ID", "TUNNELS", "ADDRESSES"])
    check(any(x.get("NAME") == name and x.get("STATE") == "disabled" for x in rows),
          "disabled in the table")
    j = run("user", "enable", str(uid), "--json").json()
    check(j.get("disabled") is False, "user enable --json", str(j))
    return uid, name, uid_b


def check_tokens(uid, name):
    r = run("token", "create", "--user", name, "--name", TAG + "-tok")
    secret = r.out.strip()
    check(secret and "\n" not in secret and " " not in secret,
          "token create prints the secret alone", str(r))
    check("shown only this once" in r.err, "token create warns", str(r))
    toks = run("token", "list", "--json").json().get("tokens", [])
    mine = [t for t in toks if t.get("name") == TAG + "-tok"]
    check(len(mine) == 1 and mine[0]["user_id"] == uid and mine[0]["scope"] == "user"
          and mine[0]["revoked"] is False and "secret" not in mine[0], "token list --json",
          json.dumps(toks))
    tid = mine[0]["id"] if mine else 0
    check(not any(secret in json.dumps(t) for t in toks), "no secret in token list")
    rows = table(run("token", "list", "--user", str(uid)),
                 ["SCOPE", "USER", "NAME", "PREFIX", "CREATED", "LAST-USED", "STATE"], ["ID"])
    check(any(x.get("ID") == str(tid) and x.get("STATE") == "active"
              and x.get("LAST-USED") == "never" for x in rows), "token list row", str(rows))

    # what the user token may do
    api_error(run("user", "list", env={"GATE44_TOKEN": secret}, token=False, rc=1), 403,
              "forbidden")
    run("tunnel", "list", env={"GATE44_TOKEN": secret}, token=False)
    check(run("token", "list", "--json", env={"GATE44_TOKEN": secret}, token=False)
          .json().get("tokens") is not None, "a user token lists its tokens")
    api_error(run("token", "create", "--admin", env={"GATE44_TOKEN": secret}, token=False,
                  rc=1), 403, "forbidden", "scope")
    api_error(run("token", "create", rc=1), 400, "invalid", "user_id")

    r = run("token", "revoke", str(tid))
    check(r.out.strip() == "token %d revoked" % tid, "token revoke", str(r))
    api_error(run("tunnel", "list", env={"GATE44_TOKEN": secret}, token=False, rc=1), 401,
              "unauthorized")
    toks = run("token", "list", "--json").json().get("tokens", [])
    check(any(t["id"] == tid and t["revoked"] for t in toks), "revoked in the list")
    api_error(run("token", "revoke", "999999999", rc=1), 404, "not_found")
    r = run("token", "create", "--admin", "--name", TAG + "-adm")
    adm = run("token", "list", "--json").json().get("tokens", [])
    adm = [t for t in adm if t.get("name") == TAG + "-adm"]
    check(len(adm) == 1 and adm[0]["scope"] == "admin" and adm[0]["user_id"] is None,
          "an admin token", str(r))
    if adm:
        run("token", "revoke", str(adm[0]["id"]))


def check_rate_limit(uid):
    """More changes than the daemon's burst (40 by default), back to back:
    the CLI waits out each 429 and every one of them succeeds."""
    n = 50
    procs = [subprocess.Popen([CLI, "user", "set", str(uid), "--max-addresses", str(16 + i % 2)],
                              env={**os.environ, "GATE44_URL": URL, "GATE44_TOKEN": TOKEN,
                                   "HOME": TMP},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(n)]
    bad = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        if p.returncode != 0:
            bad.append(err.decode("utf-8", "replace").strip())
    check(not bad, "%d changes at once all succeed (429 is retried)" % n, "\n".join(bad[:3]))
    run("user", "set", str(uid), "--max-addresses", "default")


def free_prefix(pools):
    """A /29 in 44.128.0.0/10 that no pool overlaps."""
    nets = [ipaddress.ip_network(p["prefix"]) for p in pools]
    for _ in range(100):
        n = ipaddress.ip_network("44.%d.%d.%d/29" % (
            random.randint(160, 190), random.randint(0, 255), random.randint(0, 31) * 8))
        if not any(n.overlaps(m) for m in nets if m.version == 4):
            return str(n)
    return "44.190.250.0/29"


def check_tunnels(uid, name, engine, v6, pools):
    # a server-made key pair: the config, with the private key, on stdout
    r = run("tunnel", "create", "--user", name, "--name", "phone", "--psk", "--keepalive", "25")
    conf = r.out
    check(re.search(r"^PrivateKey = \S{44}$", conf, re.M) is not None
          and re.search(r"^PresharedKey = \S{44}$", conf, re.M) is not None
          and "PersistentKeepalive = 25" in conf and "[Peer]" in conf,
          "tunnel create prints the config with the private key", str(r))
    check("shown only this once" in r.err, "tunnel create warns about the private key", str(r))
    m = re.search(r"tunnel (\d+) created for user (\d+)", r.err)
    check(m is not None and int(m.group(2)) == uid, "tunnel create says which", str(r))
    t1 = int(m.group(1)) if m else 0

    # the user's own key, JSON out
    pub = base64.b64encode(os.urandom(32)).decode()
    args = ["tunnel", "create", "--user", str(uid), "--public-key", pub, "--name", "laptop",
            "--expires", "+30d", "--json"]
    if v6:
        args += ["--ipv6", "1"]
    j = run(*args).json()
    t = j.get("tunnel", {})
    check(t.get("public_key") == pub and "private_key" not in j
          and "# PrivateKey" in j.get("config", "") and t.get("expires_at"),
          "tunnel create --public-key --json", json.dumps(j))
    if v6:
        check(any(":" in a for a in t.get("addresses", [])), "--ipv6 1 gives an IPv6 block",
              json.dumps(t))
    else:
        skip("no IPv6 pool: --ipv6 not checked")
    t2 = t.get("id", 0)

    # an own prefix, and the human view without a private key
    own = free_prefix(pools)
    r = run("tunnel", "create", "--user", name, "--public-key",
            base64.b64encode(os.urandom(32)).decode(), "--prefix", own, "--disabled")
    d = kv(r)
    check(d.get("own prefixes") == own and d.get("state") == "disabled"
          and "private_key" not in r.out, "tunnel create --prefix shows the tunnel", str(r))
    check("tunnel config" in r.err, "tunnel create hints at tunnel config", str(r))
    t3 = int(d.get("id", "0"))

    api_error(run("tunnel", "create", "--user", name, "--prefix", "10.0.0.0/8", rc=1), 400,
              "invalid", "own_prefixes[0]")
    api_error(run("tunnel", "create", "--user", name, "--public-key", "short", rc=1), 400,
              "invalid", "public_key")
    api_error(run("tunnel", "create", "--user", "999999999", rc=1), 404, "not_found",
              "user_id")
    r = run("tunnel", "create", "--user", name, "--ipv4", "0", rc=1)
    api_error(r, 400, "invalid", "addresses")

    # -o FILE: the config in a 0600 file
    path = os.path.join(TMP, "new.conf")
    r = run("tunnel", "create", "--user", name, "--name", "file", "-o", path)
    check(mode_of(path) == 0o600 and r.out == "", "tunnel create -o FILE", str(r))
    check("PrivateKey = " in read(path), "the file has the private key")
    m = re.search(r"tunnel (\d+) created", r.err)
    t4 = int(m.group(1)) if m else 0

    # --qr: the config with its key as a terminal QR code
    r = run("tunnel", "create", "--user", name, "--name", "qr", "--qr",
            env={"NO_COLOR": "1"})
    check("\u2588" in r.out and "\x1b[" not in r.out, "tunnel create --qr", str(r))
    m = re.search(r"tunnel (\d+) created", r.err)
    t5 = int(m.group(1)) if m else 0
    ids = [t1, t2, t3, t4, t5]

    # list
    r = run("tunnel", "list", "--user", name)
    rows = table(r, ["USER", "NAME", "IFACE", "ADDRESSES", "STATE", "HANDSHAKE", "EXPIRES"],
                 ["ID", "RX", "TX"])
    check(sorted(int(x.get("ID", 0)) for x in rows) == sorted(ids), "tunnel list --user",
          str(r))
    for x in rows:
        check(x.get("USER") == name, "USER column shows the name", str(x))
        check(x.get("STATE") in ("up", "down", "disabled", "inactive", "expired"),
              "STATE column", str(x))
        for col in ("RX", "TX"):
            check(re.match(r"^\d+(\.\d)? (B|KiB|MiB|GiB|TiB|PiB|EiB)$", x.get(col, ""))
                  is not None, "%s column" % col, str(x))
    row3 = [x for x in rows if x.get("ID") == str(t3)]
    check(row3 and row3[0]["STATE"] == "disabled" and own in row3[0]["ADDRESSES"],
          "the disabled tunnel's row", str(row3))
    row2 = [x for x in rows if x.get("ID") == str(t2)]
    check(row2 and re.match(r"^\d{4}-\d\d-\d\d$", row2[0]["EXPIRES"]) is not None,
          "EXPIRES column", str(row2))
    tl = run("tunnel", "list", "--json", "--user", str(uid)).json().get("tunnels", [])
    check(sorted(t["id"] for t in tl) == sorted(ids), "tunnel list --json --user")
    all_ids = [t["id"] for t in run("tunnel", "list", "--json").json().get("tunnels", [])]
    check(set(ids) <= set(all_ids), "tunnel list --json")

    # show
    d = kv(run("tunnel", "show", str(t1)))
    check(d.get("id") == str(t1) and d.get("preshared key") == "yes"
          and d.get("keepalive") == "25 s" and "made by the server" in d.get("public key", ""),
          "tunnel show", str(d))
    check(run("tunnel", "show", str(t2), "--json").json().get("public_key") == pub,
          "tunnel show --json")
    api_error(run("tunnel", "show", "999999999", rc=1), 404, "not_found")

    # config and QR codes
    r = run("tunnel", "config", str(t1))
    check("[Interface]" in r.out and "# PrivateKey" in r.out
          and re.search(r"^PrivateKey", r.out, re.M) is None, "tunnel config", str(r))
    conf_dl = r.out
    path = os.path.join(TMP, "t1.conf")
    run("tunnel", "config", str(t1), "-o", path)
    check(read(path) == conf_dl and mode_of(path) == 0o600, "tunnel config -o")
    png = os.path.join(TMP, "t1.png")
    svg = os.path.join(TMP, "t1.SVG")
    run("tunnel", "qr", str(t1), "-o", png)
    check(read(png, "rb")[:8] == b"\x89PNG\r\n\x1a\n", "tunnel qr -o FILE.png")
    run("tunnel", "qr", str(t1), "-o", svg)
    check("<svg" in read(svg), "tunnel qr -o FILE.SVG")
    r = run("tunnel", "qr", str(t1))
    check("\x1b[" in r.out and any(ch in r.out for ch in "\u2580\u2584\u2588"),
          "tunnel qr: ANSI half blocks", r.out[:300])
    check("no private key" in r.err, "tunnel qr notes the missing private key", r.err)
    r = run("tunnel", "qr", str(t1), "--plain")
    check("\x1b[" not in r.out and "\u2588" in r.out, "tunnel qr --plain", r.out[:300])
    check_qr_decodes(r.out, conf_dl)
    run("tunnel", "qr", str(t1), "--light")
    api_error(run("tunnel", "config", "999999999", rc=1), 404, "not_found")

    # enable / disable
    r = run("tunnel", "disable", str(t1))
    check(r.out.strip() == "tunnel %d disabled" % t1, "tunnel disable", str(r))
    check(run("tunnel", "show", str(t1), "--json").json().get("enabled") is False,
          "disabled in JSON")
    j = run("tunnel", "enable", str(t1), "--json").json()
    check(j.get("enabled") is True, "tunnel enable --json", str(j))

    # live status (needs the engine)
    for args in (("status", str(t1)), ("tunnel", "status", str(t1))):
        r = run(*args, rc=None)
        if r.rc == 1 and " 503 " in r.err:
            skip("the engine does not answer: gate44 %s" % " ".join(args))
            continue
        check(r.rc == 0, "exit 0 from gate44 " + " ".join(args), str(r))
        d = kv(r)
        check(d.get("connected") in ("yes", "no") and "last handshake" in d
              and "endpoint" in d and re.search(r"B \(\d+ bytes\)$", d.get("rx", "")),
              "tunnel status", str(r))
        j = run(*args, "--json").json()
        check("connected" in j and "rx_bytes" in j, "tunnel status --json", str(j))
    api_error(run("status", "999999999", rc=1), 404, "not_found")

    # delete
    for tid in ids:
        r = run("tunnel", "delete", str(tid))
        check(r.out.startswith("tunnel %d deleted" % tid), "tunnel delete", str(r))
    api_error(run("tunnel", "delete", str(t1), rc=1), 404, "not_found")
    api_error(run("tunnel", "delete", str(t2), "--json", rc=1), 404, "not_found")
    check(run("tunnel", "list", "--json", "--user", name).json().get("tunnels") == [],
          "no tunnels left")


def check_qr_decodes(drawn, text):
    """Turn --plain half blocks back into modules and let zbarimg read them."""
    zbar = shutil.which("zbarimg")
    if zbar is None:
        skip("zbarimg not installed: the terminal QR code is not decoded")
        return
    rows = []
    for line in drawn.split("\n"):
        if not line:
            continue
        rows.append([c not in "\u2588\u2580" for c in line])  # drawn = light
        rows.append([c not in "\u2588\u2584" for c in line])
    rows = rows[:-1]
    if not check(len(rows) > 20, "a QR code to decode", drawn[:200]):
        return
    s = 6
    pbm = os.path.join(TMP, "qr.pbm")
    with open(pbm, "w") as f:
        f.write("P1\n%d %d\n" % (len(rows[0]) * s, len(rows) * s))
        for row in rows:
            line = " ".join("1" if dark else "0" for dark in row for _ in range(s))
            f.write((line + "\n") * s)
    p = subprocess.run([zbar, "-q", "--raw", pbm], capture_output=True)
    got = p.stdout.decode("utf-8", "replace")
    check(got.rstrip("\n") == text.rstrip("\n"), "the terminal QR code decodes to the config",
          got)


def cleanup():
    users = run("user", "list", "--json", rc=None)
    try:
        users = json.loads(users.out).get("users", [])
    except ValueError:
        users = []
    for u in users:
        if u.get("name", "").startswith(TAG):
            run("user", "delete", str(u["id"]), rc=None)
    shutil.rmtree(TMP, ignore_errors=True)


def main():
    if not TOKEN:
        print("cli_check: set GATE44_TOKEN to an admin token", file=sys.stderr)
        return 1
    print("cli_check: %s against %s (tag %s)" % (CLI, URL, TAG))
    try:
        check_usage_and_connect()
        engine, v4, v6, pools = check_status_and_pools()
        if not engine:
            skip("the engine is not connected: tunnel creation may be refused")
        uid, name, uid_b = check_users()
        check_tokens(uid, name)
        check_rate_limit(uid)
        check_tunnels(uid, name, engine, v6, pools)
        r = run("user", "delete", name)
        check(r.out.startswith("user %d deleted" % uid), "user delete", str(r))
        api_error(run("user", "show", str(uid), rc=1), 404, "not_found")
        run("user", "delete", str(uid_b), "--json")
    finally:
        cleanup()
    print("cli_check: %d checks, %d failed, %d skipped" % (checks, len(failures), len(skips)))
    for f in failures:
        print("  FAILED:", f.splitlines()[0])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
