#!/usr/bin/env python3
"""hs_cookie_flood.py — handshake floods against gate44-dp for
test_dp_hs_cookie_flood.sh, written from the WireGuard paper (section 5.4)
with hashlib's BLAKE2s and PyNaCl (python3-nacl), independent of the
engine's own crypto/ code.

  junk POP_PUB DST PORT SRC SECONDS
      Initiations with random contents and a valid mac1, as fast as this
      process goes, for SECONDS, from one socket bound to SRC. They never
      answer a cookie reply: under load each costs the engine a cookie reply,
      otherwise a Diffie-Hellman that fails (wg_handshake_invalid). Prints
      "junk sent N in S s" every second.

  answer POP_PUB PORT SOURCES WARMUP_S MEASURE_S ENGINE_SOCK OUT_JSON
      Real initiations (Noise IKpsk2 message 1) from every source in the
      file SOURCES (lines "GROUP ADDR PORT DST PRIVATE_KEY_B64": one socket
      bound to ADDR:PORT that sends to DST:PORT as a configured peer of the
      engine; GROUP is a label copied to the output), round-robin, as fast as
      this process goes. A cookie reply (type 3) is decrypted with
      XChaCha20-Poly1305 under HASH("cookie--" || POP_PUB), its nonce, and
      as AD the mac1 of the initiation it answers (found by the sender index
      the reply names); from then on that socket's initiations carry a valid
      mac2 = MAC(cookie, msg up to mac2). Each initiation has a new sender
      index and a newer TAI64N timestamp, so every one the engine lets
      through is answered by a handshake response (type 2) naming that
      index: responses per source count what the engine processed.

      Warm-up: until every socket holds a cookie (at most WARMUP_S). Then a
      measured window of MEASURE_S seconds: sends, responses and cookie
      replies per socket, and the engine's drop counters (read from
      ENGINE_SOCK, a filesystem unix socket, reachable from any network
      namespace) at the window's two ends. Figures go to OUT_JSON.

  fill POP_PUB DST PORT PREFIX TARGET SECONDS ENGINE_SOCK OUT_JSON
      New sources for the engine's rate limiter, up to FILL_RATE a second:
      source i is PREFIX + i * 2^64 + 1 (one IPv6 /64 each, the limiter's
      key; PREFIX, a /44, is routed to this namespace, which takes it as
      local), all through one socket (IPV6_PKTINFO picks the source). Each
      sends one initiation without a mac2 (valid, from a static key the
      engine does not know: without load it costs the engine its
      Diffie-Hellman and counts as wg_handshake_unknown_peer), takes the
      cookie reply and sends a handshake response with a valid mac2 that
      answers nothing: under load it reaches the limiter, a new source
      there, then fails its keypair lookup (wg_handshake_invalid), or is
      refused (wg_handshake_ratelimited) if the limiter's table is full.
      Ends when the engine's counters show TARGET of them reached the
      limiter (wg_handshake_invalid + wg_handshake_ratelimited), or after
      SECONDS. Writes its figures and those counters to OUT_JSON.

  sockprobe ENGINE_SOCK SECONDS OUT
      A ping on the engine socket every 0.2 s for SECONDS, a new connection
      each, waiting up to 10 s for each answer; appends a line per ping to
      OUT as it goes: the latency in ms, or "lost MS ERROR".

Every loop is bounded by a deadline. Exit status: 0 when done, 2 on a
usage error, 1 (with a traceback) on any other error.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

from nacl import bindings as nb

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"
MSG_INITIATION, MSG_RESPONSE, MSG_COOKIE = 1, 2, 3
RESPONSE_LEN, COOKIE_LEN = 92, 64
MAC1_OFF, RESPONSE_MAC1_OFF = 116, 60  # where mac1 starts: initiation, response
TAI64_EPOCH = 0x400000000000000A
# sender index: socket number in the top 12 bits, a per-socket sequence in
# the low 20; the mac1 of the last MAC1_RING initiations of a socket is kept
# to decrypt the cookie reply that answers one of them
SEQ_BITS = 20
# fill: one socket; new sources per second at most (a quarter of the
# engine's limiter table, 2^16: a limiter that forgets sources idle for a
# second never holds more than half of it)
FILL_PORT, FILL_RATE = 40100, 16384
FILL_MAX_SOURCES = 1 << 20  # the /64s of a /44
IPV6_FREEBIND = 78  # linux/in6.h; not in Python's socket module
MAC1_RING = 1 << 14


def blake2s(*parts):
    h = hashlib.blake2s()
    for p in parts:
        h.update(p)
    return h.digest()


def mac(key, data):
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def hmac_b2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def kdf2(ck, data):
    t0 = hmac_b2s(ck, data)
    t1 = hmac_b2s(t0, b"\x01")
    t2 = hmac_b2s(t0, t1 + b"\x02")
    return t1, t2


def kdf1(ck, data):
    return kdf2(ck, data)[0]


def aead(key, counter, plain, ad):
    nonce = b"\x00" * 4 + struct.pack("<Q", counter)
    return nb.crypto_aead_chacha20poly1305_ietf_encrypt(plain, ad, nonce, key)


def tai64n(ns):
    return struct.pack(">QI", TAI64_EPOCH + ns // 1000000000, ns % 1000000000)


def initiation_head(s_priv, pop_pub):
    """Message 1 of an initiator with static key s_priv and a new ephemeral
    key, up to the timestamp: (ephemeral || encrypted static, the
    timestamp's key, the timestamp's AD)."""
    s_pub = nb.crypto_scalarmult_base(s_priv)
    e_priv = os.urandom(32)
    e_pub = nb.crypto_scalarmult_base(e_priv)
    ck = blake2s(CONSTRUCTION)
    h = blake2s(ck, IDENTIFIER)
    h = blake2s(h, pop_pub)
    ck = kdf1(ck, e_pub)                                    # e
    h = blake2s(h, e_pub)
    ck, k = kdf2(ck, nb.crypto_scalarmult(e_priv, pop_pub))  # es
    enc_static = aead(k, 0, s_pub, h)                       # s
    h = blake2s(h, enc_static)
    ck, ts_key = kdf2(ck, nb.crypto_scalarmult(s_priv, pop_pub))  # ss
    return e_pub + enc_static, ts_key, h


class Source:
    """One socket, one peer key; initiations share one ephemeral key, so
    only the timestamp (and its AEAD), the index and the MACs change."""

    def __init__(self, num, group, addr, port, dst, priv_b64, pop_pub):
        self.num, self.group, self.addr, self.port = num, group, addr, port
        self.dst = dst
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((addr, port))
        self.sock.setblocking(False)
        self.head_tail, self.ts_key, self.ts_ad = initiation_head(
            base64.b64decode(priv_b64), pop_pub)
        self.mac1_key = blake2s(LABEL_MAC1, pop_pub)
        self.cookie = None
        self.seq = 0
        self.mac1s = [None] * MAC1_RING
        self.ts_ns = time.time_ns()
        self.reset_counts()

    def reset_counts(self):
        self.sent = self.sent_mac2 = self.resp = self.cookies = 0
        self.send_err = 0

    def initiation(self):
        self.seq = (self.seq + 1) & ((1 << SEQ_BITS) - 1)
        sender = (self.num << SEQ_BITS) | self.seq
        # strictly newer than any timestamp this peer sent before
        self.ts_ns = max(self.ts_ns + 1000, time.time_ns())
        enc_ts = aead(self.ts_key, 0, tai64n(self.ts_ns), self.ts_ad)
        body = struct.pack("<II", MSG_INITIATION, sender) + self.head_tail + enc_ts
        mac1 = mac(self.mac1_key, body)
        self.mac1s[self.seq % MAC1_RING] = (self.seq, mac1)
        if self.cookie is None:
            return body + mac1 + bytes(16), False
        return body + mac1 + mac(self.cookie, body + mac1), True

    def send_one(self):
        msg, with_mac2 = self.initiation()
        try:
            self.sock.sendto(msg, self.dst)
        except OSError:
            self.send_err += 1
            return
        self.sent += 1
        self.sent_mac2 += with_mac2

    def take(self, data, cookie_key):
        """A datagram from the engine: a response or a cookie reply."""
        if len(data) < 8:
            return
        typ, receiver = struct.unpack_from("<II", data, 0)
        if typ == MSG_RESPONSE and len(data) == RESPONSE_LEN:
            receiver = struct.unpack_from("<I", data, 8)[0]
        if receiver >> SEQ_BITS != self.num:
            return
        seq = receiver & ((1 << SEQ_BITS) - 1)
        slot = self.mac1s[seq % MAC1_RING]
        if slot is None or slot[0] != seq:
            return  # answers an initiation too old to remember
        if typ == MSG_RESPONSE and len(data) == RESPONSE_LEN:
            self.resp += 1
        elif typ == MSG_COOKIE and len(data) == COOKIE_LEN:
            nonce, enc = data[8:32], data[32:64]
            try:
                self.cookie = nb.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    enc, slot[1], nonce, cookie_key)
            except Exception:  # nacl raises CryptoError on a bad tag
                return
            self.cookies += 1


def engine_call(path, cmd, timeout, raise_errors=False):
    """One request on the engine socket: its result, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(json.dumps({"id": 1, "cmd": cmd}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n") and len(buf) < (1 << 20):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)["result"]
    except (OSError, ValueError, KeyError):
        if raise_errors:
            raise
        return None


def engine_stats(path):
    """The engine's counters, or None if it does not answer in 5 s."""
    r = engine_call(path, "stats", 5)
    try:
        return {"drops": r["drops"],
                "cookies_tx": sum(lc["cookies_tx"] for lc in r["lcores"]),
                "handshakes_tx": sum(lc["handshakes_tx"] for lc in r["lcores"])}
    except (TypeError, KeyError):
        return None


def sockprobe(path, secs, out):
    end = time.monotonic() + secs
    with open(out, "a") as f:
        while time.monotonic() < end:
            t = time.monotonic()
            err = ""
            try:
                r = engine_call(path, "ping", 10, raise_errors=True)
                if not (isinstance(r, dict) and r.get("pong") is True):
                    err = "no-pong"
            except (OSError, ValueError, KeyError) as e:
                err = type(e).__name__
            ms = round((time.monotonic() - t) * 1000)
            f.write("%d\n" % ms if not err else "lost %d %s\n" % (ms, err))
            f.flush()
            time.sleep(0.2)


def fill(pop_pub, dst, prefix, target, secs, engine_sock, out):
    mac1_key = blake2s(LABEL_MAC1, pop_pub)
    cookie_key = blake2s(LABEL_COOKIE, pop_pub)
    base = int(ipaddress.IPv6Address(prefix))
    # the first message of a source: a valid initiation from a key the
    # engine does not know (the sender index is outside the AEADs, so one
    # serves every source); the second: a response that answers nothing
    head_tail, ts_key, ts_ad = initiation_head(os.urandom(32), pop_pub)
    init_tail = head_tail + aead(ts_key, 0, tai64n(time.time_ns()), ts_ad)
    resp_tail = struct.pack("<I", 0) + os.urandom(RESPONSE_MAC1_OFF - 12)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
    s.bind(("::", FILL_PORT))
    s.setblocking(False)

    def first(i):
        body = struct.pack("<II", MSG_INITIATION, i) + init_tail
        return body, mac(mac1_key, body)

    def send(i, msg):
        src = (base + (i << 64) + 1).to_bytes(16, "big")
        try:
            s.sendmsg([msg], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
                               struct.pack("16sI", src, 0))], 0, dst)
            return True
        except OSError:
            return False

    st0 = engine_stats(engine_sock)
    t0 = time.monotonic()
    nxt = cookies = mac2_sent = 0
    delta = {}
    next_check = t0
    while st0 is not None and time.monotonic() < t0 + secs:
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 0.5
            st = engine_stats(engine_sock)
            if st is not None:
                delta = {k: st["drops"][k] - st0["drops"][k] for k in
                         ("wg_handshake_invalid", "wg_handshake_ratelimited",
                          "wg_handshake_unknown_peer")}
                if (delta["wg_handshake_invalid"] +
                        delta["wg_handshake_ratelimited"] >= target):
                    break
        # new sources at FILL_RATE at most
        n = min(int((now - t0) * FILL_RATE) - nxt, 256, FILL_MAX_SOURCES - nxt)
        for _ in range(max(n, 0)):
            body, mac1 = first(nxt)
            send(nxt, body + mac1 + bytes(16))
            nxt += 1
        got = 0
        for _ in range(1024):
            try:
                data = s.recv(256)
            except BlockingIOError:
                break
            got += 1
            if len(data) != COOKIE_LEN or data[0] != MSG_COOKIE:
                continue
            i = struct.unpack_from("<I", data, 4)[0]
            if i >= nxt:
                continue
            body, mac1 = first(i)
            try:
                cookie = nb.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    data[32:64], mac1, data[8:32], cookie_key)
            except Exception:  # nacl's CryptoError: a bad tag
                continue
            cookies += 1
            resp = struct.pack("<II", MSG_RESPONSE, i) + resp_tail
            resp += mac(mac1_key, resp)
            mac2_sent += send(i, resp + mac(cookie, resp))
        if n <= 0 and got == 0:
            time.sleep(0.001)
    res = {"sources": nxt, "cookies": cookies, "mac2_sent": mac2_sent,
           "reached_limiter": delta.get("wg_handshake_invalid", 0) +
           delta.get("wg_handshake_ratelimited", 0),
           "ratelimited": delta.get("wg_handshake_ratelimited", 0),
           "unknown_peer": delta.get("wg_handshake_unknown_peer", 0),
           "seconds": round(time.monotonic() - t0, 3)}
    with open(out, "w") as f:
        json.dump(res, f)
    print("fill: %s" % json.dumps(res))


def junk(pop_pub, dst, src, secs):
    key = blake2s(LABEL_MAC1, pop_pub)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # replies: dropped
    s.bind((src, 0))
    msgs = []
    for _ in range(4096):
        body = b"\x01\x00\x00\x00" + os.urandom(MAC1_OFF - 4)
        msgs.append(body + mac(key, body) + bytes(16))
    t0 = time.monotonic()
    i = 0
    next_report = t0 + 1
    while time.monotonic() < t0 + secs:
        for _ in range(1000):
            try:
                s.sendto(msgs[i & 4095], dst)
            except OSError:
                pass
            i += 1
        # a line a second: the caller may stop this flood at any time
        if time.monotonic() >= next_report:
            next_report += 1
            print("junk sent %d in %.1f s" % (i, time.monotonic() - t0), flush=True)


def pump(sources, by_fd, ep, cookie_key, end):
    """Send round-robin and take replies until end (monotonic)."""
    rounds = 0
    while time.monotonic() < end:
        for src in sources:
            src.send_one()
        rounds += 1
        for fd, _ in ep.poll(0):
            src = by_fd[fd]
            for _ in range(256):
                try:
                    data = src.sock.recv(256)
                except BlockingIOError:
                    break
                src.take(data, cookie_key)
    return rounds


def answer(pop_pub, dport, sources_file, warmup, measure, engine_sock, out):
    cookie_key = blake2s(LABEL_COOKIE, pop_pub)
    sources = []
    with open(sources_file) as f:
        for line in f:
            if line.strip():
                group, addr, port, dst, priv = line.split()
                sources.append(Source(len(sources), group, addr, int(port),
                                      (dst, dport), priv, pop_pub))
    ep = select.epoll()
    by_fd = {}
    for src in sources:
        ep.register(src.sock.fileno(), select.EPOLLIN)
        by_fd[src.sock.fileno()] = src

    t_start = time.monotonic()
    deadline = t_start + warmup
    while time.monotonic() < deadline:
        pump(sources, by_fd, ep, cookie_key, time.monotonic() + 0.1)
        if all(s.cookie is not None for s in sources):
            break
    warm_s = time.monotonic() - t_start
    with_cookie = sum(s.cookie is not None for s in sources)
    # a second of flooding with cookies before the window: every bucket is
    # drained to its steady state, the window measures the rate
    pump(sources, by_fd, ep, cookie_key, time.monotonic() + 1.0)

    for s in sources:
        s.reset_counts()
    st0 = engine_stats(engine_sock)
    t0 = time.monotonic()
    pump(sources, by_fd, ep, cookie_key, t0 + measure)
    t1 = time.monotonic()
    st1 = engine_stats(engine_sock)
    # late answers to what the window sent: a short drain, still counted
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        for fd, _ in ep.poll(0.05):
            src = by_fd[fd]
            for _ in range(256):
                try:
                    src.take(src.sock.recv(256), cookie_key)
                except BlockingIOError:
                    break

    res = {
        "sources": [{"group": s.group, "addr": s.addr, "port": s.port,
                     "sent": s.sent, "sent_mac2": s.sent_mac2,
                     "responses": s.resp, "cookie_replies": s.cookies,
                     "send_errors": s.send_err}
                    for s in sources],
        "warmup_s": round(warm_s, 3),
        "sources_with_cookie": with_cookie,
        "window_s": round(t1 - t0, 3),
        "engine_before": st0,
        "engine_after": st1,
    }
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("window %.2f s, sent %d, responses %d" % (
        t1 - t0, sum(s.sent for s in sources), sum(s.resp for s in sources)))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "junk" and len(argv) == 7:
        junk(base64.b64decode(argv[2]), (argv[3], int(argv[4])), argv[5],
             float(argv[6]))
    elif cmd == "answer" and len(argv) == 9:
        answer(base64.b64decode(argv[2]), int(argv[3]), argv[4],
               float(argv[5]), float(argv[6]), argv[7], argv[8])
    elif cmd == "fill" and len(argv) == 10:
        fill(base64.b64decode(argv[2]), (argv[3], int(argv[4])), argv[5],
             int(argv[6]), float(argv[7]), argv[8], argv[9])
    elif cmd == "sockprobe" and len(argv) == 5:
        sockprobe(argv[2], float(argv[3]), argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
