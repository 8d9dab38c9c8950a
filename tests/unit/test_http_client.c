/*
 * test_http_client.c — unit tests of the gate44 CLI's HTTP client
 * (tools/gate44/http_client.c) without a network: the response parser on
 * table cases (Content-Length, chunked, read-until-close, interim 1xx,
 * HEAD, 204, malformed and oversized input), every prefix of every
 * complete response (must ask for more, or fail on EOF), random bodies in
 * random chunkings checked against the bytes that were encoded, the URL
 * parser and the request formatter. Mutated responses must not crash the
 * parser (build with -fsanitize=address to make that check sharp).
 * Single-threaded.
 *
 * Set GATE44_SEED to replay a random run; the seed used is always printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_client.h"

#define RANDOM_RUNS 3000

/* ---- table cases ---------------------------------------------------------- */

struct pcase {
	const char *name;
	const char *in;
	bool eof, no_body;
	int rc;
	int status;
	const char *body; /* NULL: not checked */
	const char *ctype;
	const char *retry_after;
	bool prefixes; /* check that every prefix asks for more */
};

#define OK200 "HTTP/1.1 200 OK\r\n"

static const struct pcase pcases[] = {
	{"content-length", OK200 "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	 false, false, 0, 200, "{}", "application/json", "", true},
	{"content-length, bytes after", OK200 "Content-Length: 3\r\n\r\nabcdef", false, false, 0,
	 200, "abc", "", "", false},
	{"content-length 0", OK200 "Content-Length: 0\r\n\r\n", false, false, 0, 200, "", "", "",
	 true},
	{"content-length short", OK200 "Content-Length: 10\r\n\r\nabc", false, false, -EAGAIN},
	{"content-length short at eof", OK200 "Content-Length: 10\r\n\r\nabc", true, false,
	 -EBADMSG},
	{"content-length repeated, equal", OK200 "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	 false, false, 0, 200, "x", "", "", false},
	{"content-length repeated, differing",
	 OK200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy", false, false, -EBADMSG},
	{"content-length negative", OK200 "Content-Length: -1\r\n\r\n", false, false, -EBADMSG},
	{"content-length with sign", OK200 "Content-Length: +1\r\n\r\nx", false, false, -EBADMSG},
	{"content-length empty", OK200 "Content-Length:\r\n\r\n", false, false, -EBADMSG},
	{"content-length hex", OK200 "Content-Length: 0x10\r\n\r\n", false, false, -EBADMSG},
	{"content-length huge", OK200 "Content-Length: 99999999999999999999999\r\n\r\n", false,
	 false, -EMSGSIZE},
	{"content-length wrapping to 5", OK200 "Content-Length: 18446744073709551621\r\n\r\nhello",
	 false, false, -EMSGSIZE},
	{"content-length over the limit", OK200 "Content-Length: 67108865\r\n\r\n", false, false,
	 -EMSGSIZE},
	{"chunked",
	 OK200 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n"
	       "5\r\nworld\r\n0\r\n\r\n",
	 false, false, 0, 200, "hello world", "", "", true},
	{"chunked, upper-case hex and name",
	 OK200 "TRANSFER-ENCODING: Chunked\r\n\r\n"
	       "A\r\n0123456789\r\n0\r\n\r\n",
	 false, false, 0, 200, "0123456789", "", "", true},
	{"chunked, trailers",
	 OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
	       "X-Trailer: 1\r\nY: 2\r\n\r\n",
	 false, false, 0, 200, "abc", "", "", true},
	{"chunked, empty", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, false, 0,
	 200, "", "", "", true},
	{"chunked, lone LFs", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n", false,
	 false, 0, 200, "ab", "", "", true},
	{"chunked overrides content-length",
	 OK200 "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
	 false, false, 0, 200, "z", "", "", true},
	{"chunked, no last chunk at eof", OK200 "Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n",
	 true, false, -EBADMSG},
	{"chunked, no final CRLF at eof", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\n", true,
	 false, -EBADMSG},
	{"chunked, bad size", OK200 "Transfer-Encoding: chunked\r\n\r\nzz\r\n", false, false,
	 -EBADMSG},
	{"chunked, empty size", OK200 "Transfer-Encoding: chunked\r\n\r\n\r\nabc", false, false,
	 -EBADMSG},
	{"chunked, junk after size", OK200 "Transfer-Encoding: chunked\r\n\r\n1 x\r\nz\r\n", false,
	 false, -EBADMSG},
	{"chunked, data longer than size",
	 OK200 "Transfer-Encoding: chunked\r\n\r\n1\r\nzz\r\n0\r\n\r\n", false, false, -EBADMSG},
	{"chunked, size overflow",
	 OK200 "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n", false, false,
	 -EMSGSIZE},
	{"chunked, size wrapping to 5",
	 OK200 "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", false,
	 false, -EMSGSIZE},
	{"chunked, over the limit", OK200 "Transfer-Encoding: chunked\r\n\r\n4000001\r\n", false,
	 false, -EMSGSIZE},
	{"gzip", OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n", false, false, -ENOTSUP},
	{"chunked twice", OK200 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	 false, false, -ENOTSUP},
	{"until close", OK200 "Content-Type: text/plain; charset=utf-8\r\n\r\nsome text", true,
	 false, 0, 200, "some text", "text/plain", ""},
	{"until close, not yet", OK200 "\r\nsome text", false, false, -EAGAIN},
	{"HEAD", OK200 "Content-Length: 1234\r\n\r\n", false, true, 0, 200, "", "", "", true},
	{"204", "HTTP/1.1 204 No Content\r\n\r\n", false, false, 0, 204, "", "", "", true},
	{"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, false,
	 0, 304, "", "", "", true},
	{"interim 100",
	 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
	 "Content-Length: 1\r\n\r\nx",
	 false, false, 0, 201, "x", "", "", true},
	{"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, false, -EBADMSG},
	{"error with retry-after",
	 "HTTP/1.1 503 Service Unavailable\r\nRetry-After:  5 \r\n"
	 "Content-Type: APPLICATION/JSON\r\nContent-Length: 2\r\n\r\n{}",
	 false, false, 0, 503, "{}", "application/json", "5", true},
	{"HTTP/1.0, no reason", "HTTP/1.0 404\r\nContent-Length: 0\r\n\r\n", false, false, 0, 404,
	 "", "", "", true},
	{"empty reason", "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", false, false, 0, 500, "", "",
	 "", true},
	{"HTTP/2", "HTTP/2 200 OK\r\n\r\n", false, false, -EBADMSG},
	{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", false, false, -EBADMSG},
	{"status 2 digits", "HTTP/1.1 20 OK\r\n\r\n", false, false, -EBADMSG},
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", false, false, -EBADMSG},
	{"status letters", "HTTP/1.1 2x0 OK\r\n\r\n", false, false, -EBADMSG},
	{"status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n", false, false, -EBADMSG},
	{"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n", false, false, -EBADMSG},
	{"no header end yet", OK200 "Content-Length: 1\r\n", false, false, -EAGAIN},
	{"no header end at eof", OK200 "Content-Length: 1\r\n", true, false, -EBADMSG},
	{"empty at eof", "", true, false, -EBADMSG},
	{"empty", "", false, false, -EAGAIN},
	{"header without colon", OK200 "Bogus\r\n\r\n", false, false, -EBADMSG},
	{"header with space before colon", OK200 "Content-Length : 1\r\n\r\nx", false, false,
	 -EBADMSG},
	{"empty header name", OK200 ": x\r\n\r\n", false, false, -EBADMSG},
	{"folded header", OK200 "X-A: 1\r\n  continued\r\n\r\n", false, false, -EBADMSG},
	{"CR inside a header", OK200 "X-A: 1\r2\r\n\r\n", false, false, -EBADMSG},
	{"long header ignored", NULL, false, false, 0, 200, "", "", "", false},
};

/* The long-header case: a 4000-byte X-Long header, then Content-Length 0. */
static char *
long_header_response(void)
{
	char *s = malloc(5000);
	int n;

	assert_non_null(s);
	n = snprintf(s, 5000, OK200 "X-Long: ");
	memset(s + n, 'a', 4000);
	snprintf(s + n + 4000, 5000 - (size_t)n - 4000, "\r\nContent-Length: 0\r\n\r\n");
	return s;
}

static void
check_case(const struct pcase *pc, const char *in, size_t len)
{
	struct cli_http_resp r;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = cli_http_parse((const uint8_t *)in, len, pc->eof, pc->no_body, &r);
	if (rc != pc->rc)
		fail_msg("%s: rc %d, want %d", pc->name, rc, pc->rc);
	if (rc != 0)
		return;
	if (r.status != pc->status)
		fail_msg("%s: status %d, want %d", pc->name, r.status, pc->status);
	if (pc->body != NULL &&
	    (r.body_len != strlen(pc->body) || memcmp(r.body, pc->body, r.body_len) != 0))
		fail_msg("%s: body '%.*s', want '%s'", pc->name, (int)r.body_len, r.body, pc->body);
	if (r.body[r.body_len] != '\0')
		fail_msg("%s: body not NUL-terminated", pc->name);
	if (strcmp(r.content_type, pc->ctype) != 0)
		fail_msg("%s: content type '%s', want '%s'", pc->name, r.content_type, pc->ctype);
	if (strcmp(r.retry_after, pc->retry_after) != 0)
		fail_msg("%s: retry-after '%s', want '%s'", pc->name, r.retry_after,
			 pc->retry_after);
	cli_http_resp_free(&r);

	if (!pc->prefixes)
		return;
	/* every proper prefix: more is needed, and EOF there is an error */
	for (size_t n = 0; n < len; n++) {
		rc = cli_http_parse((const uint8_t *)in, n, false, pc->no_body, &r);
		if (rc != -EAGAIN)
			fail_msg("%s: prefix %zu/%zu: rc %d, want -EAGAIN", pc->name, n, len, rc);
		rc = cli_http_parse((const uint8_t *)in, n, true, pc->no_body, &r);
		if (rc != -EBADMSG)
			fail_msg("%s: prefix %zu/%zu at eof: rc %d, want -EBADMSG", pc->name, n,
				 len, rc);
	}
}

static void
test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		if (pcases[i].in == NULL) {
			char *s = long_header_response();

			check_case(&pcases[i], s, strlen(s));
			free(s);
		} else {
			check_case(&pcases[i], pcases[i].in, strlen(pcases[i].in));
		}
	}
}

/* Headers past CLI_HTTP_HEADERS_MAX: too large, with or without an end. */
static void
test_parse_limits(void **state)
{
	size_t n = CLI_HTTP_HEADERS_MAX + 100, hl;
	struct cli_http_resp r;
	char *s = malloc(n + 64);

	(void)state;
	assert_non_null(s);
	hl = (size_t)snprintf(s, n, OK200);
	while (hl + 12 < n)
		hl += (size_t)snprintf(s + hl, n + 64 - hl, "X-A: 1234\r\n");
	assert_int_equal(cli_http_parse((uint8_t *)s, hl, false, false, &r), -EMSGSIZE);
	hl += (size_t)snprintf(s + hl, n + 64 - hl, "\r\n");
	assert_int_equal(cli_http_parse((uint8_t *)s, hl, false, false, &r), -EMSGSIZE);
	/* a status line alone, never ended */
	memset(s, 'H', n);
	assert_int_equal(cli_http_parse((uint8_t *)s, n, false, false, &r), -EMSGSIZE);
	free(s);
}

/* ---- random bodies, random framings ---------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void __attribute__((format(printf, 2, 3))) putf(struct buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(b, tmp, (size_t)n);
}

/* body encoded as the server might: chunks of random sizes (hex in random
 * case, extensions, trailers), or Content-Length; noise after it. */
static void
encode(uint64_t *s, const uint8_t *body, size_t len, bool chunked, struct buf *out)
{
	size_t off = 0, n;

	put(out, OK200, strlen(OK200));
	if (rnd(s) % 2)
		putf(out, "Content-Type: application/json\r\n");
	if (!chunked) {
		putf(out, "Content-Length: %zu\r\n\r\n", len);
		put(out, body, len);
		return;
	}
	putf(out, "Transfer-Encoding: chunked\r\n\r\n");
	while (off < len) {
		n = 1 + rnd(s) % (rnd(s) % 4 == 0 ? 4096 : 40);
		if (n > len - off)
			n = len - off;
		if (rnd(s) % 2)
			putf(out, "%zx", n);
		else
			putf(out, "%zX", n);
		if (rnd(s) % 5 == 0)
			putf(out, ";name=value");
		putf(out, "\r\n");
		put(out, body + off, n);
		putf(out, "\r\n");
		off += n;
	}
	putf(out, "0\r\n");
	if (rnd(s) % 3 == 0)
		putf(out, "X-Checksum: 42\r\n");
	putf(out, "\r\n");
}

static void
test_parse_random(void **state)
{
	uint64_t seed = 0x6a7e44c1ULL, s;
	const char *env = getenv("GATE44_SEED");
	struct cli_http_resp r;
	uint8_t *body;
	size_t len, i, cut;
	int run, rc;

	(void)state;
	if (env != NULL)
		seed = strtoull(env, NULL, 0);
	print_message("http_client random: seed 0x%" PRIx64 " (set GATE44_SEED to repeat)\n", seed);
	s = seed;
	body = malloc(70000);
	assert_non_null(body);
	for (run = 0; run < RANDOM_RUNS; run++) {
		struct buf out = {0};
		bool chunked = rnd(&s) % 3 != 0;

		len = rnd(&s) % 4 == 0 ? rnd(&s) % 70000 : rnd(&s) % 300;
		for (i = 0; i < len; i++) /* CR, LF, NUL and digits are likely */
			body[i] = rnd(&s) % 4 == 0 ? (uint8_t) "\r\n0\0"[rnd(&s) % 4]
						   : (uint8_t)rnd(&s);
		encode(&s, body, len, chunked, &out);
		rc = cli_http_parse((uint8_t *)out.p, out.len, false, false, &r);
		if (rc != 0)
			fail_msg("run %d (%s, %zu bytes): rc %d", run,
				 chunked ? "chunked" : "length", len, rc);
		if (r.status != 200 || r.body_len != len || memcmp(r.body, body, len) != 0)
			fail_msg("run %d: body differs", run);
		cli_http_resp_free(&r);

		/* as if it came in pieces: a random cut must ask for more */
		cut = out.len > 1 ? rnd(&s) % out.len : 0;
		rc = cli_http_parse((uint8_t *)out.p, cut, false, false, &r);
		if (rc != -EAGAIN)
			fail_msg("run %d: cut at %zu of %zu: rc %d", run, cut, out.len, rc);
		/* a few bytes flipped: any answer but a crash (ASan builds) or a
		 * body longer than what came */
		for (i = 0; i < 3 && out.len > 0; i++) {
			size_t at = rnd(&s) % out.len;
			char saved = out.p[at];

			out.p[at] = (char)rnd(&s);
			rc = cli_http_parse((uint8_t *)out.p, out.len, rnd(&s) % 2, false, &r);
			if (rc == 0) {
				if (r.body_len > out.len)
					fail_msg("run %d: body of %zu from %zu bytes", run,
						 r.body_len, out.len);
				cli_http_resp_free(&r);
			} else if (rc != -EAGAIN && rc != -EBADMSG && rc != -EMSGSIZE &&
				   rc != -ENOTSUP) {
				fail_msg("run %d: mutated: rc %d", run, rc);
			}
			out.p[at] = saved;
		}
		/* noise after a complete response is not ours */
		put(&out, "HTTP/1.1 500 X\r\n", 16);
		rc = cli_http_parse((uint8_t *)out.p, out.len, true, false, &r);
		if (rc != 0 || r.body_len != len || memcmp(r.body, body, len) != 0)
			fail_msg("run %d: trailing noise: rc %d", run, rc);
		cli_http_resp_free(&r);
		free(out.p);
	}
	free(body);
}

/* ---- URLs ------------------------------------------------------------------ */

struct ucase {
	const char *url;
	int rc;
	const char *host, *port, *authority, *base;
};

static const struct ucase ucases[] = {
	{"http://127.0.0.1:8044", 0, "127.0.0.1", "8044", "127.0.0.1:8044", ""},
	{"http://127.0.0.1:8044/", 0, "127.0.0.1", "8044", "127.0.0.1:8044", ""},
	{"HTTP://localhost", 0, "localhost", "80", "localhost", ""},
	{"http://pop1.example.net/gate44/", 0, "pop1.example.net", "80", "pop1.example.net",
	 "/gate44"},
	{"http://[::1]:8044/api//", 0, "::1", "8044", "[::1]:8044", "/api"},
	{"http://[2001:db8::44]", 0, "2001:db8::44", "80", "[2001:db8::44]", ""},
	{"https://pop1.example.net", -EPROTONOSUPPORT},
	{"ftp://x", -EPROTONOSUPPORT},
	{"127.0.0.1:8044", -EINVAL},
	{"http://", -EINVAL},
	{"http://:8044", -EINVAL},
	{"http://host:", -EINVAL},
	{"http://host:0", -EINVAL},
	{"http://host:65536", -EINVAL},
	{"http://host:80a", -EINVAL},
	{"http://host:123456", -EINVAL},
	{"http://[::1", -EINVAL},
	{"http://[::1]x", -EINVAL},
	{"http://user:pw@host", -EINVAL},
	{"http://host/?q=1", -EINVAL},
	{"http://host/#frag", -EINVAL},
	{"http://host/a b", -EINVAL},
	{"http://ho st", -EINVAL},
};

static void
test_url(void **state)
{
	struct cli_http_url u;
	char err[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
		const struct ucase *uc = &ucases[i];

		err[0] = '\0';
		rc = cli_http_url_parse(uc->url, &u, err, sizeof(err));
		if (rc != uc->rc)
			fail_msg("%s: rc %d, want %d", uc->url, rc, uc->rc);
		if (rc != 0) {
			if (err[0] == '\0')
				fail_msg("%s: no error message", uc->url);
			continue;
		}
		if (strcmp(u.host, uc->host) != 0 || strcmp(u.port, uc->port) != 0 ||
		    strcmp(u.authority, uc->authority) != 0 || strcmp(u.base, uc->base) != 0)
			fail_msg("%s: host '%s' port '%s' authority '%s' base '%s'", uc->url,
				 u.host, u.port, u.authority, u.base);
	}
}

/* ---- requests ---------------------------------------------------------------- */

static void
test_request_format(void **state)
{
	static const char want_get[] = "GET /base/v1/users?name=K1ABC HTTP/1.1\r\n"
				       "Host: [::1]:8044\r\n"
				       "Accept: application/json\r\n"
				       "Authorization: Bearer g44_x\r\n"
				       "Connection: close\r\n\r\n";
	static const char want_post[] = "POST /v1/users HTTP/1.1\r\n"
					"Host: 127.0.0.1:8044\r\n"
					"Content-Type: application/json\r\n"
					"Content-Length: 16\r\n"
					"Connection: close\r\n\r\n"
					"{\"name\":\"K1ABC\"}";
	static const char want_delete[] = "DELETE /v1/tokens/3 HTTP/1.1\r\n"
					  "Host: 127.0.0.1:8044\r\n"
					  "Connection: close\r\n\r\n";
	struct cli_http_header h[2] = {{"Accept", "application/json"},
				       {"Authorization", "Bearer g44_x"}};
	struct cli_http_header ct = {"Content-Type", "application/json"};
	struct cli_http_header bad_v = {"X-A", "1\r\nX-Injected: 1"};
	struct cli_http_header bad_n = {"X A", "1"};
	struct cli_http_url u6, u4;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(cli_http_url_parse("http://[::1]:8044/base", &u6, NULL, 0), 0);
	assert_int_equal(cli_http_url_parse("http://127.0.0.1:8044", &u4, NULL, 0), 0);

	assert_int_equal(cli_http_request_format(&u6, "GET", "/v1/users?name=K1ABC", h, 2, NULL, 0,
						 &out, &len),
			 0);
	assert_int_equal(len, strlen(want_get));
	assert_memory_equal(out, want_get, len);
	free(out);

	assert_int_equal(cli_http_request_format(&u4, "POST", "/v1/users", &ct, 1,
						 "{\"name\":\"K1ABC\"}", 16, &out, &len),
			 0);
	assert_int_equal(len, strlen(want_post));
	assert_memory_equal(out, want_post, len);
	free(out);

	/* a PATCH without a body still says Content-Length: 0 */
	assert_int_equal(
		cli_http_request_format(&u4, "PATCH", "/v1/users/1", NULL, 0, NULL, 0, &out, &len),
		0);
	assert_non_null(strstr(out, "\r\nContent-Length: 0\r\n"));
	free(out);

	assert_int_equal(cli_http_request_format(&u4, "DELETE", "/v1/tokens/3", NULL, 0, NULL, 0,
						 &out, &len),
			 0);
	assert_int_equal(len, strlen(want_delete));
	assert_memory_equal(out, want_delete, len);
	free(out);

	/* header injection, bad names, bad targets and methods */
	assert_int_equal(cli_http_request_format(&u4, "GET", "/", &bad_v, 1, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(cli_http_request_format(&u4, "GET", "/", &bad_n, 1, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(cli_http_request_format(&u4, "GET", "/a b", NULL, 0, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(
		cli_http_request_format(&u4, "GET", "/a\r\nX: 1", NULL, 0, NULL, 0, &out, &len),
		-EINVAL);
	assert_int_equal(cli_http_request_format(&u4, "GET", "v1", NULL, 0, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(cli_http_request_format(&u4, "GE T", "/", NULL, 0, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(cli_http_request_format(&u4, "", "/", NULL, 0, NULL, 0, &out, &len),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_random),   cmocka_unit_test(test_url),
		cmocka_unit_test(test_request_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
