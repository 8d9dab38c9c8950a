"""ctl_client.py — what access_check.py and secrets_check.py share: a small
HTTP client for gate44-control's API (one request per connection, 429
retried after Retry-After, a bounded number of times) and a check counter
that prints failures and ends with "N passed, M failed". Stdlib only.
"""

import http.client
import json
import time
import urllib.parse


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def error(self, member):
        e = self.json.get("error") if isinstance(self.json, dict) else None
        return e.get(member) if isinstance(e, dict) else None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:300].decode("utf-8", "replace"))


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.requests = 0

    def call(self, method, path, token=None, body=None, auth=None, headers=None):
        """One request. token: a bearer token; auth: the whole
        Authorization value instead (neither: no header); body: JSON."""
        hdrs = dict(headers or {})
        if auth is not None:
            hdrs["Authorization"] = auth
        elif token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        resp = None
        for _ in range(60):
            c = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                c.request(method, path, body=data, headers=hdrs)
                r = c.getresponse()
                resp = Resp(r.status, r.getheaders(), r.read())
            finally:
                c.close()
            self.requests += 1
            if resp.status != 429:
                break
            time.sleep(max(0.2, min(5.0, float(resp.headers.get("retry-after", "1")))))
        return resp


class Checks:
    def __init__(self, verbose=False):
        self.passed = self.failed = 0
        self.verbose = verbose

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if self.verbose:
                print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
        return ok

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed or not self.passed else 0
