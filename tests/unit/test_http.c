/*
 * test_http.c — tests of the HTTP API server (control/http.c) over real
 * HTTP on 127.0.0.1 with ephemeral ports: routing and path parameters,
 * 404/405, bearer authentication (401/403), JSON bodies (400), body limits
 * (413 by Content-Length, lying Content-Length, chunked, body flood), the
 * per-token rate limit (429, refill, bounded table) on an injected clock,
 * the error shape and common headers, raw replies, counters, many
 * concurrent connections, connection limit and timeout, garbage requests,
 * open() errors, and that no token or body ever reaches the log.
 * Threads: each server runs its poll loop (poll + ctl_http_run) in a thread
 * of its own; the cmocka tests are the client, on the main thread, with a
 * small socket HTTP/1.1 client. Only the rate limit uses time, and that is
 * injected: no assertion depends on how fast the machine is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "http.h"

#define SEC	 UINT64_C(1000000000)
#define MS	 UINT64_C(1000000)
#define RESP_MAX (4 * 1024 * 1024)

/* ------------------------------------------------------------------------
 * Shared with the server threads: the clock, the hook counter, the log
 * ------------------------------------------------------------------------ */

static uint64_t fake_now = 1000 * SEC;
static unsigned auth_calls;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[64 * 1024];
static size_t log_len;

static void
clock_advance(uint64_t ns)
{
	__atomic_add_fetch(&fake_now, ns, __ATOMIC_SEQ_CST);
}

static uint64_t
hook_now(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static void
hook_log(void *ctx, int level, const char *msg)
{
	size_t n = strlen(msg);

	(void)ctx;
	(void)level;
	pthread_mutex_lock(&log_lock);
	if (log_len + n + 2 < sizeof(log_buf)) {
		memcpy(log_buf + log_len, msg, n);
		log_len += n;
		log_buf[log_len++] = '\n';
		log_buf[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

static void
log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_len = 0;
	log_buf[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static bool
log_has(const char *s)
{
	bool r;

	pthread_mutex_lock(&log_lock);
	r = strstr(log_buf, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

/* admin-token, user-token, tok-N (user N, token 1000+N); revoked and gone
 * are refused as the store does; explode and noscope misbehave; anything
 * else is unknown. */
static int
hook_auth(void *ctx, const char *tok, struct ctl_principal *out)
{
	(void)ctx;
	__atomic_add_fetch(&auth_calls, 1, __ATOMIC_SEQ_CST);
	if (strcmp(tok, "admin-token") == 0) {
		*out = (struct ctl_principal){CTL_SCOPE_ADMIN, 0, 1};
		return 0;
	}
	if (strcmp(tok, "user-token") == 0) {
		*out = (struct ctl_principal){CTL_SCOPE_USER, 42, 2};
		return 0;
	}
	if (strncmp(tok, "tok-", 4) == 0) {
		int64_t n = strtoll(tok + 4, NULL, 10);

		*out = (struct ctl_principal){CTL_SCOPE_USER, n, 1000 + n};
		return 0;
	}
	if (strcmp(tok, "explode") == 0)
		return -EIO;
	if (strcmp(tok, "revoked") == 0)
		return -EKEYREVOKED;
	if (strcmp(tok, "gone") == 0)
		return -ENOENT;
	if (strcmp(tok, "noscope") == 0)
		return 0;
	return -EACCES;
}

/* ------------------------------------------------------------------------
 * Servers
 * ------------------------------------------------------------------------ */

struct server {
	struct ctl_http *h;
	pthread_t th;
	int stop[2];
	int port;
};

static void *
server_main(void *arg)
{
	struct server *s = arg;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = ctl_http_pollfd(s->h), .events = POLLIN},
					{.fd = s->stop[0], .events = POLLIN}};

		if (poll(pfd, 2, ctl_http_timeout_ms(s->h)) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		ctl_http_run(s->h);
	}
	return NULL;
}

/* ---- handlers ---- */

static int
h_echo(struct ctl_http_req *req, void *ctx)
{
	static const char *const names[] = {"id", "uid", "tid"};
	json_t *j = json_object(), *params = json_object();
	int64_t id;
	size_t i;

	(void)ctx;
	if (ctl_http_param(req, "id") != NULL) {
		if (ctl_http_param_id(req, "id", &id) < 0) {
			json_decref(j);
			json_decref(params);
			return -EINVAL;
		}
		json_object_set_new(j, "id", json_integer(id));
	}
	for (i = 0; i < 3; i++)
		if (ctl_http_param(req, names[i]) != NULL)
			json_object_set_new(params, names[i],
					    json_string(ctl_http_param(req, names[i])));
	json_object_set_new(j, "params", params);
	json_object_set_new(j, "method", json_string(req->method));
	json_object_set_new(j, "path", json_string(req->path));
	json_object_set_new(j, "pattern", json_string(req->pattern));
	json_object_set_new(j, "scope", json_integer(req->principal.scope));
	json_object_set_new(j, "user_id", json_integer(req->principal.user_id));
	json_object_set_new(j, "token_id", json_integer(req->principal.token_id));
	json_object_set_new(j, "body", req->body != NULL ? json_incref(req->body) : json_null());
	return ctl_http_reply_json(req, 200, j);
}

static int
h_query(struct ctl_http_req *req, void *ctx)
{
	const char *name = ctl_http_query(req, "name");
	int64_t limit = 10;

	(void)ctx;
	if (ctl_http_query_int(req, "limit", 1, 100, &limit) < 0)
		return -EINVAL;
	return ctl_http_reply_json(
		req, 200, json_pack("{s:s?,s:I}", "name", name, "limit", (json_int_t)limit));
}

static int
h_counted(struct ctl_http_req *req, void *ctx)
{
	int64_t status = 200;

	(void)ctx;
	if (ctl_http_query_int(req, "status", 200, 599, &status) < 0)
		return -EINVAL;
	if (status >= 400)
		return ctl_http_reply_error(req, (unsigned)status, "teapot", "status %d",
					    (int)status);
	return ctl_http_reply_json(req, (unsigned)status, json_object());
}

/* A PNG signature and chunk start: NULs and bytes >= 0x80 on the wire. */
static const char png_bytes[] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\xff";

static int
h_png(struct ctl_http_req *req, void *ctx)
{
	(void)ctx;
	ctl_http_reply_header(req, "X-Gate44", "yes");
	return ctl_http_reply_raw(req, 200, "image/png", png_bytes, sizeof(png_bytes));
}

static int
h_empty(struct ctl_http_req *req, void *ctx)
{
	(void)ctx;
	return ctl_http_reply_raw(req, 204, NULL, NULL, 0);
}

static int
h_fail(struct ctl_http_req *req, void *ctx)
{
	(void)req;
	(void)ctx;
	return -EIO;
}

static int
h_noreply(struct ctl_http_req *req, void *ctx)
{
	(void)req;
	(void)ctx;
	return 0;
}

static int
h_twice(struct ctl_http_req *req, void *ctx)
{
	int rc;

	(void)ctx;
	ctl_http_reply_json(req, 200, json_pack("{s:s}", "first", "yes"));
	rc = ctl_http_reply_error(req, 500, "internal", "second");
	ctl_http_reply_header(req, "X-Second", rc == -EALREADY ? "ealready" : "other");
	return 0;
}

static int
h_hdr(struct ctl_http_req *req, void *ctx)
{
	const char *custom = ctl_http_header(req, "X-Custom");

	(void)ctx;
	return ctl_http_reply_json(
		req, 200,
		json_pack("{s:b,s:s?,s:i,s:i,s:i,s:i}", "authorization",
			  ctl_http_header(req, "Authorization") != NULL, "custom", custom, "crlf",
			  ctl_http_reply_header(req, "X-Bad", "a\r\nInjected: 1"), "ctype",
			  ctl_http_reply_header(req, "Content-Type", "text/html"), "badname",
			  ctl_http_reply_header(req, "Bad Name", "x"), "ok",
			  ctl_http_reply_header(req, "X-Good", "fine")));
}

static int
h_badutf(struct ctl_http_req *req, void *ctx)
{
	(void)ctx;
	return ctl_http_reply_error_field(req, 422, "invalid", "na\xffme", "bad \xff\xfe byte");
}

static int
h_stats(struct ctl_http_req *req, void *ctx)
{
	struct server *s = ctx;
	struct ctl_http_stats st;

	ctl_http_stats_get(s->h, &st);
	return ctl_http_reply_json(
		req, 200,
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:i,s:i}", "requests", (json_int_t)st.requests,
			  "client_errors", (json_int_t)st.client_errors, "errors",
			  (json_int_t)st.errors, "aborted", (json_int_t)st.aborted, "rate_limited",
			  (json_int_t)st.rate_limited, "connections", (int)st.connections,
			  "rate_entries", (int)st.rate_entries));
}

struct textbuf {
	char s[64 * 1024];
	size_t n;
};

static void
metric_line(void *arg, const char *method, const char *pattern, unsigned status, uint64_t count)
{
	struct textbuf *t = arg;

	if (t->n < sizeof(t->s))
		t->n += (size_t)snprintf(t->s + t->n, sizeof(t->s) - t->n,
					 "gate44_http_requests_total{method=\"%s\",route=\"%s\","
					 "code=\"%u\"} %" PRIu64 "\n",
					 method, pattern, status, count);
}

static int
h_metrics(struct ctl_http_req *req, void *ctx)
{
	struct server *s = ctx;
	struct ctl_http_stats st;
	struct textbuf *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	ctl_http_metrics_foreach(s->h, metric_line, t);
	ctl_http_stats_get(s->h, &st);
	if (t->n < sizeof(t->s))
		t->n += (size_t)snprintf(t->s + t->n, sizeof(t->s) - t->n,
					 "gate44_http_all %" PRIu64 "\ngate44_http_errors %" PRIu64
					 "\ngate44_http_client_errors %" PRIu64 "\n",
					 st.requests, st.errors, st.client_errors);
	rc = ctl_http_reply_raw(req, 200, "text/plain; version=0.0.4", t->s,
				t->n < sizeof(t->s) ? t->n : sizeof(t->s) - 1);
	free(t);
	return rc;
}

static const struct ctl_http_route routes[] = {
	{"GET", "/v1/tunnels/{id}/config", h_echo, 0},
	{"PUT", "/v1/tunnels/{id}/config", h_echo, CTL_HTTP_MUTATING},
	{"GET", "/v1/tunnels/stats", h_echo, 0},
	{"GET", "/v1/tunnels/{id}", h_echo, 0},
	{"DELETE", "/v1/tunnels/{id}", h_echo, CTL_HTTP_MUTATING | CTL_HTTP_ADMIN_ONLY},
	{"GET", "/v1/users/{uid}/tunnels/{tid}", h_echo, 0},
	{"POST", "/v1/echo", h_echo, CTL_HTTP_MUTATING},
	{"GET", "/v1/echo", h_echo, 0},
	{"GET", "/v1/admin", h_echo, CTL_HTTP_ADMIN_ONLY},
	{"GET", "/healthz", h_echo, CTL_HTTP_NO_AUTH},
	{"GET", "/metrics", h_metrics, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/stats", h_stats, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/counted", h_counted, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/query", h_query, CTL_HTTP_NO_AUTH},
	{"GET", "/raw/png", h_png, CTL_HTTP_NO_AUTH},
	{"GET", "/raw/empty", h_empty, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/fail", h_fail, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/noreply", h_noreply, 0},
	{"GET", "/v1/twice", h_twice, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/hdr", h_hdr, CTL_HTTP_NO_AUTH},
	{"GET", "/v1/badutf", h_badutf, CTL_HTTP_NO_AUTH},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static void
server_start(struct server *s, const struct ctl_http_limits *lim)
{
	struct ctl_http_hooks hooks = {
		.authenticate = hook_auth, .now_ns = hook_now, .log = hook_log, .limits = lim};
	char err[256];

	memset(s, 0, sizeof(*s));
	assert_int_equal(pipe(s->stop), 0);
	s->h = ctl_http_open("127.0.0.1:0", routes, N_ROUTES, &hooks, s, err, sizeof(err));
	if (s->h == NULL)
		fail_msg("ctl_http_open: %s", err);
	s->port = ctl_http_port(s->h);
	assert_true(s->port > 0);
	assert_true(ctl_http_pollfd(s->h) >= 0);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void
server_stop(struct server *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->th, NULL);
	ctl_http_close(s->h);
	close(s->stop[0]);
	close(s->stop[1]);
}

static struct server srv; /* default limits; the tests' main server */

/* ------------------------------------------------------------------------
 * A minimal HTTP/1.1 client
 * ------------------------------------------------------------------------ */

struct resp {
	int status; /* 0: the connection closed before a status line */
	char *head; /* status line and headers, NUL-terminated */
	char *body;
	size_t body_len;
	json_t *json; /* when the body is application/json */
};

static void
resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static int
cli_connect_af(int family, int port)
{
	struct sockaddr_storage ss = {0};
	struct timeval tv = {.tv_sec = 60};
	socklen_t len;
	int fd;

	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	/* A stuck server fails the test instead of hanging it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

static int
cli_connect(int port)
{
	return cli_connect_af(AF_INET, port);
}

/* 0, or -errno when the server has closed on us (EPIPE, ECONNRESET). */
static int
cli_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			assert_true(errno == EPIPE || errno == ECONNRESET);
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *
resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p, *e;

	if (r->head == NULL)
		return NULL;
	for (p = strstr(r->head, "\r\n"); p != NULL && p[2] != '\0'; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nlen) == 0 && p[2 + nlen] == ':') {
			p += 3 + nlen;
			while (*p == ' ')
				p++;
			e = strstr(p, "\r\n");
			snprintf(out, outlen, "%.*s", (int)(e - p), p);
			return out;
		}
	}
	return NULL;
}

/* Read one response. head_only: a reply to HEAD (no body follows). A
 * timeout (the server never answered) fails the test. */
static void
cli_read(int fd, struct resp *r, bool head_only)
{
	char *buf = malloc(RESP_MAX + 1), *eoh = NULL, val[64];
	size_t len = 0, hlen, want = SIZE_MAX;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	assert_non_null(buf);
	buf[0] = '\0';
	for (;;) {
		if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			hlen = (size_t)(eoh - buf) + 4;
			r->head = strndup(buf, hlen);
			assert_non_null(r->head);
			assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
			if (head_only || r->status == 204 || r->status == 304)
				want = hlen;
			else if (resp_header(r, "Content-Length", val, sizeof(val)) != NULL)
				want = hlen + strtoull(val, NULL, 10);
		}
		if (eoh != NULL && len >= want)
			break;
		assert_true(len < RESP_MAX);
		n = recv(fd, buf + len, RESP_MAX - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			fail_msg("no reply from the server within 60 s");
		if (n <= 0) /* EOF or ECONNRESET */
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	if (eoh != NULL) {
		hlen = strlen(r->head);
		if (want != SIZE_MAX)
			assert_true(len >= want);
		r->body_len = (want != SIZE_MAX ? want : len) - hlen;
		r->body = malloc(r->body_len + 1);
		assert_non_null(r->body);
		memcpy(r->body, buf + hlen, r->body_len);
		r->body[r->body_len] = '\0';
		if (resp_header(r, "Content-Type", val, sizeof(val)) != NULL &&
		    strcmp(val, "application/json") == 0)
			r->json = json_loadb(r->body, r->body_len, 0, NULL);
	}
	free(buf);
}

static char *
fmt_req(const char *method, const char *path, const char *token, const char *extra,
	const char *body, bool keepalive)
{
	char *s = NULL;
	char auth[1024] = "", cl[64] = "";

	if (token != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	if (body != NULL)
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
	assert_true(asprintf(&s, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%s%s\r\n%s", method,
			     path, auth, cl, extra != NULL ? extra : "",
			     keepalive ? "" : "Connection: close\r\n",
			     body != NULL ? body : "") > 0);
	return s;
}

/* One request on a connection of its own. */
static void
do_req_x(int port, const char *method, const char *path, const char *token, const char *extra,
	 const char *body, struct resp *r)
{
	char *s = fmt_req(method, path, token, extra, body, false);
	int fd = cli_connect(port);

	cli_send(fd, s, strlen(s));
	cli_read(fd, r, strcmp(method, "HEAD") == 0);
	close(fd);
	free(s);
}

static void
do_req(const char *method, const char *path, const char *token, const char *body, struct resp *r)
{
	do_req_x(srv.port, method, path, token, NULL, body, r);
}

static void
raw_req(int port, const void *data, size_t len, struct resp *r)
{
	int fd = cli_connect(port);

	cli_send(fd, data, len);
	cli_read(fd, r, false);
	close(fd);
}

/* Send and half-close: the server sees the end of what comes. */
static void
raw_req_eof(int port, const void *data, size_t len, struct resp *r)
{
	int fd = cli_connect(port);

	cli_send(fd, data, len);
	shutdown(fd, SHUT_WR);
	cli_read(fd, r, false);
	close(fd);
}

/* The reply's status, and the error code when it is an error. */
static void
expect(const struct resp *r, int status, const char *code)
{
	if (r->status != status)
		fail_msg("status %d, want %d; body: %s", r->status, status,
			 r->body != NULL ? r->body : "(none)");
	if (code != NULL) {
		const char *c = json_string_value(
			json_object_get(json_object_get(r->json, "error"), "code"));

		if (c == NULL || strcmp(c, code) != 0)
			fail_msg("error code %s, want %s", c != NULL ? c : "(none)", code);
	}
}

/* A GET that is tried again when the connection closes before a reply:
 * on the server with a 1 s idle timeout, a client stalled for a second
 * between connect() and send() is (rightly) dropped. */
static void
get_retry(int port, const char *path, struct resp *r)
{
	int tries;

	for (tries = 0; tries < 20; tries++) {
		do_req_x(port, "GET", path, NULL, NULL, NULL, r);
		if (r->status != 0)
			return;
		resp_free(r);
	}
}

static json_int_t
stat_of(int port, const char *name)
{
	struct resp r;
	json_int_t v;

	get_retry(port, "/v1/stats", &r);
	expect(&r, 200, NULL);
	v = json_integer_value(json_object_get(r.json, name));
	resp_free(&r);
	return v;
}

static void
healthy(int port)
{
	struct resp r;

	get_retry(port, "/healthz", &r);
	expect(&r, 200, NULL);
	resp_free(&r);
}

/* ------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------ */

static int
refill(void **state)
{
	(void)state;
	clock_advance(3600 * SEC); /* every bucket full again */
	return 0;
}

static void
test_routing(void **state)
{
	static const struct {
		const char *method, *path, *pattern;
		int status;
		json_int_t id;
	} cases[] = {
		{"GET", "/v1/tunnels/42/config", "/v1/tunnels/{id}/config", 200, 42},
		{"PUT", "/v1/tunnels/42/config", "/v1/tunnels/{id}/config", 200, 42},
		{"GET", "/v1/tunnels/stats", "/v1/tunnels/stats", 200, -1},
		{"GET", "/v1/tunnels/7", "/v1/tunnels/{id}", 200, 7},
		{"GET", "/v1/tunnels/%34%32/config", "/v1/tunnels/{id}/config", 200, 42},
		{"GET", "/v1/tunnels/9223372036854775807", "/v1/tunnels/{id}", 200, INT64_MAX},
		{"GET", "/v1/tunnels/007", "/v1/tunnels/{id}", 200, 7},
		{"GET", "/v1/tunnels/abc/config", NULL, 400, 0},
		{"GET", "/v1/tunnels/0/config", NULL, 400, 0},
		{"GET", "/v1/tunnels/-1", NULL, 400, 0},
		{"GET", "/v1/tunnels/+1", NULL, 400, 0},
		{"GET", "/v1/tunnels/1x", NULL, 400, 0},
		{"GET", "/v1/tunnels/9223372036854775808", NULL, 400, 0},
		{"GET", "/v1/tunnels/99999999999999999999999", NULL, 400, 0},
	};
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		do_req(cases[i].method, cases[i].path, "user-token", NULL, &r);
		expect(&r, cases[i].status, cases[i].status == 400 ? "bad_request" : NULL);
		if (cases[i].status == 200) {
			assert_string_equal(json_string_value(json_object_get(r.json, "pattern")),
					    cases[i].pattern);
			assert_string_equal(json_string_value(json_object_get(r.json, "method")),
					    cases[i].method);
			if (cases[i].id >= 0)
				assert_true(json_integer_value(json_object_get(r.json, "id")) ==
					    cases[i].id);
		} else {
			assert_string_equal(json_string_value(json_object_get(
						    json_object_get(r.json, "error"), "field")),
					    "id");
		}
		resp_free(&r);
	}

	/* Two parameters. */
	do_req("GET", "/v1/users/5/tunnels/x9", "user-token", NULL, &r);
	expect(&r, 200, NULL);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.json, "params"), "uid")), "5");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.json, "params"), "tid")), "x9");
	assert_string_equal(json_string_value(json_object_get(r.json, "path")),
			    "/v1/users/5/tunnels/x9");
	resp_free(&r);

	/* Query strings. */
	do_req("GET", "/v1/query?name=a%20b&limit=5", NULL, NULL, &r);
	expect(&r, 200, NULL);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "a b");
	assert_int_equal(json_integer_value(json_object_get(r.json, "limit")), 5);
	resp_free(&r);
	do_req("GET", "/v1/query", NULL, NULL, &r);
	expect(&r, 200, NULL);
	assert_true(json_is_null(json_object_get(r.json, "name")));
	assert_int_equal(json_integer_value(json_object_get(r.json, "limit")), 10);
	resp_free(&r);
	do_req("GET", "/v1/query?limit=0", NULL, NULL, &r);
	expect(&r, 400, "bad_request");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.json, "error"), "field")),
		"limit");
	resp_free(&r);
	do_req("GET", "/v1/query?limit=1e3", NULL, NULL, &r);
	expect(&r, 400, "bad_request");
	resp_free(&r);
	do_req("GET", "/v1/query?limit=", NULL, NULL, &r);
	expect(&r, 400, "bad_request");
	resp_free(&r);

	/* HEAD is served by the GET route, without a body. */
	do_req("HEAD", "/v1/tunnels/42/config", "user-token", NULL, &r);
	expect(&r, 200, NULL);
	assert_int_equal(r.body_len, 0);
	resp_free(&r);
}

static void
test_not_found_and_method(void **state)
{
	static const char *const missing[] = {
		"/nope",
		"/",
		"/v1",
		"/v1/tunnels",
		"/v1/tunnels/42/config/",
		"/v1//tunnels",
		"/v1/tunnels//config",
		"/V1/tunnels/1",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z",
	};
	char val[128];
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		do_req("GET", missing[i], "admin-token", NULL, &r);
		expect(&r, 404, "not_found");
		resp_free(&r);
	}
	/* 405 comes before authentication: the route table is public. */
	do_req("POST", "/v1/tunnels/42/config", NULL, NULL, &r);
	expect(&r, 405, "method_not_allowed");
	assert_non_null(resp_header(&r, "Allow", val, sizeof(val)));
	assert_string_equal(val, "GET, HEAD, PUT");
	resp_free(&r);
	/* Both /v1/tunnels/stats and /v1/tunnels/{id} match this path. */
	do_req("PATCH", "/v1/tunnels/stats", "admin-token", "{}", &r);
	expect(&r, 405, "method_not_allowed");
	assert_non_null(resp_header(&r, "Allow", val, sizeof(val)));
	assert_string_equal(val, "GET, HEAD, DELETE");
	resp_free(&r);
	do_req("BREW", "/healthz", NULL, NULL, &r);
	expect(&r, 405, "method_not_allowed");
	assert_non_null(resp_header(&r, "Allow", val, sizeof(val)));
	assert_string_equal(val, "GET, HEAD");
	resp_free(&r);
	/* DELETE of a literal path falls to the {id} route, whose handler
	 * refuses "stats" as an id. */
	do_req("DELETE", "/v1/tunnels/stats", "admin-token", NULL, &r);
	expect(&r, 400, "bad_request");
	resp_free(&r);
}

static void
test_auth(void **state)
{
	char val[128], longtok[700];
	struct resp r;
	unsigned calls;

	(void)state;
	/* No Authorization header. */
	do_req("GET", "/v1/tunnels/1", NULL, NULL, &r);
	expect(&r, 401, "unauthorized");
	assert_non_null(resp_header(&r, "WWW-Authenticate", val, sizeof(val)));
	assert_true(strncmp(val, "Bearer", 6) == 0);
	resp_free(&r);
	/* Another scheme. */
	do_req_x(srv.port, "GET", "/v1/tunnels/1", NULL, "Authorization: Basic dXNlcjpwYXNz\r\n",
		 NULL, &r);
	expect(&r, 401, "unauthorized");
	assert_non_null(resp_header(&r, "WWW-Authenticate", val, sizeof(val)));
	assert_true(strncmp(val, "Bearer", 6) == 0);
	resp_free(&r);
	/* An unknown token. */
	do_req("GET", "/v1/tunnels/1", "wrong-token", NULL, &r);
	expect(&r, 401, "unauthorized");
	assert_non_null(resp_header(&r, "WWW-Authenticate", val, sizeof(val)));
	assert_non_null(strstr(val, "invalid_token"));
	resp_free(&r);
	/* The store's other ways of saying no. */
	do_req("GET", "/v1/tunnels/1", "revoked", NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	do_req("GET", "/v1/tunnels/1", "gone", NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	/* Malformed tokens never reach the hook. */
	calls = __atomic_load_n(&auth_calls, __ATOMIC_SEQ_CST);
	do_req_x(srv.port, "GET", "/v1/tunnels/1", NULL, "Authorization: Bearer \r\n", NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	do_req("GET", "/v1/tunnels/1", "two words", NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	do_req("GET", "/v1/tunnels/1", "a\"b", NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	memset(longtok, 'a', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';
	do_req("GET", "/v1/tunnels/1", longtok, NULL, &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
	assert_int_equal(__atomic_load_n(&auth_calls, __ATOMIC_SEQ_CST), calls);

	/* Good tokens; the scheme is case-insensitive. */
	do_req_x(srv.port, "GET", "/v1/tunnels/1", NULL, "Authorization: bearer user-token\r\n",
		 NULL, &r);
	expect(&r, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "scope")), CTL_SCOPE_USER);
	assert_int_equal(json_integer_value(json_object_get(r.json, "user_id")), 42);
	assert_int_equal(json_integer_value(json_object_get(r.json, "token_id")), 2);
	resp_free(&r);
	/* Admin-only routes. */
	do_req("GET", "/v1/admin", "user-token", NULL, &r);
	expect(&r, 403, "forbidden");
	resp_free(&r);
	do_req("DELETE", "/v1/tunnels/5", "user-token", NULL, &r);
	expect(&r, 403, "forbidden");
	resp_free(&r);
	do_req("GET", "/v1/admin", "admin-token", NULL, &r);
	expect(&r, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "scope")), CTL_SCOPE_ADMIN);
	resp_free(&r);
	do_req("DELETE", "/v1/tunnels/5", "admin-token", NULL, &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	/* A failing hook, a hook that forgets the scope. */
	do_req("GET", "/v1/tunnels/1", "explode", NULL, &r);
	expect(&r, 500, "internal");
	resp_free(&r);
	do_req("GET", "/v1/tunnels/1", "noscope", NULL, &r);
	expect(&r, 500, "internal");
	resp_free(&r);
	/* NO_AUTH routes ignore the header, good or bad. */
	do_req("GET", "/healthz", NULL, NULL, &r);
	expect(&r, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "scope")), CTL_SCOPE_NONE);
	resp_free(&r);
	do_req("GET", "/healthz", "wrong-token", NULL, &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	/* A 401 to a request with a body pending: refused before the body. */
	do_req("POST", "/v1/echo", "wrong-token", "{\"a\":1}", &r);
	expect(&r, 401, "unauthorized");
	resp_free(&r);
}

static void
test_json_body(void **state)
{
	static const struct {
		const char *body;
		int status;
		const char *code;
	} cases[] = {
		{"{\"a\":", 400, "invalid_json"},
		{"{a:1}", 400, "invalid_json"},
		{"{\"a\":1} trailing", 400, "invalid_json"},
		{"{\"a\":1,\"a\":2}", 400, "invalid_json"},
		{"{\"a\":\"\xff\"}", 400, "invalid_json"},
		{"{\"a\":\"\\u0000\"}", 400, "invalid_json"},
		{"[1,2]", 400, "bad_request"},
		{"\"str\"", 400, "bad_request"},
		{"null", 400, "bad_request"},
		{"42", 400, "bad_request"},
		{"{}", 200, NULL},
		{" {\"name\":\"x\",\"n\":[1,2,{\"d\":null}]} ", 200, NULL},
	};
	struct resp r;
	json_t *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		do_req("POST", "/v1/echo", "admin-token", cases[i].body, &r);
		expect(&r, cases[i].status, cases[i].code);
		assert_non_null(r.json); /* the reply is valid JSON, even for \xff */
		if (cases[i].status == 200) {
			want = json_loads(cases[i].body, 0, NULL);
			assert_true(json_equal(json_object_get(r.json, "body"), want));
			json_decref(want);
		}
		resp_free(&r);
	}
	/* An empty body is no body. */
	do_req("POST", "/v1/echo", "admin-token", "", &r);
	expect(&r, 200, NULL);
	assert_true(json_is_null(json_object_get(r.json, "body")));
	resp_free(&r);
	/* A chunked body in small pieces. */
	{
		const char *s = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				"Authorization: Bearer admin-token\r\n"
				"Transfer-Encoding: chunked\r\n\r\n"
				"4\r\n{\"k\"\r\n3\r\n:[1\r\n5\r\n,2]}\n\r\n0\r\n\r\n";

		raw_req(srv.port, s, strlen(s), &r);
		expect(&r, 200, NULL);
		want = json_pack("{s:[i,i]}", "k", 1, 2);
		assert_true(json_equal(json_object_get(r.json, "body"), want));
		json_decref(want);
		resp_free(&r);
	}
}

/* A JSON object of exactly n bytes. */
static char *
json_of_size(size_t n)
{
	char *s = malloc(n + 1);

	assert_true(n >= 8);
	memcpy(s, "{\"p\":\"", 6);
	memset(s + 6, 'x', n - 8);
	memcpy(s + n - 2, "\"}", 3);
	return s;
}

static void
test_body_limits(void **state)
{
	const size_t max = CTL_HTTP_BODY_MAX_DEFAULT;
	char hdr[512], *body, *chunk;
	struct resp r;
	json_int_t aborted;
	size_t sent;
	int fd;

	(void)state;
	/* Exactly the limit: accepted. */
	body = json_of_size(max);
	do_req("POST", "/v1/echo", "admin-token", body, &r);
	expect(&r, 200, NULL);
	assert_int_equal(
		strlen(json_string_value(json_object_get(json_object_get(r.json, "body"), "p"))),
		max - 8);
	resp_free(&r);
	free(body);

	/* One byte over, by Content-Length: refused on the headers alone (the
	 * body is never sent, so a server waiting for it would time out). */
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Content-Length: %zu\r\n\r\n",
		 max + 1);
	raw_req(srv.port, hdr, strlen(hdr), &r);
	expect(&r, 413, "payload_too_large");
	resp_free(&r);

	/* The same with Expect: 100-continue: 413 and no 100 first. */
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
		 10 * max);
	raw_req(srv.port, hdr, strlen(hdr), &r);
	expect(&r, 413, "payload_too_large");
	resp_free(&r);

	/* A lying Content-Length: a terabyte announced, ten bytes sent. */
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Content-Length: 1000000000000\r\n\r\n{\"a\":\"b\"}");
	raw_req(srv.port, hdr, strlen(hdr), &r);
	expect(&r, 413, "payload_too_large");
	resp_free(&r);

	/* A Content-Length too large for any integer. */
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Content-Length: 99999999999999999999999999\r\n\r\n");
	raw_req(srv.port, hdr, strlen(hdr), &r);
	assert_true(r.status == 413 || r.status == 400);
	resp_free(&r);

	/* Content-Length smaller than what follows: only the declared bytes
	 * are the body; the rest is the next (broken) request. */
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Content-Length: 7\r\n\r\n{\"a\":1}GARBAGE GARBAGE\r\n\r\n");
	raw_req(srv.port, hdr, strlen(hdr), &r);
	expect(&r, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "body"), "a")),
			 1);
	resp_free(&r);

	/* Chunked, past the limit: the rest is read and dropped, then 413. */
	chunk = malloc(8192 + 32);
	snprintf(chunk, 32, "2000\r\n");
	memset(chunk + 6, 'x', 8192);
	memcpy(chunk + 6 + 8192, "\r\n", 2);
	fd = cli_connect(srv.port);
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(cli_send(fd, hdr, strlen(hdr)), 0);
	for (sent = 0; sent < 2 * max; sent += 8192)
		assert_int_equal(cli_send(fd, chunk, 6 + 8192 + 2), 0);
	assert_int_equal(cli_send(fd, "0\r\n\r\n", 5), 0);
	cli_read(fd, &r, false);
	expect(&r, 413, "payload_too_large");
	resp_free(&r);
	close(fd);

	/* A chunked flood: the connection is closed without reading it all,
	 * and counted as aborted. */
	aborted = stat_of(srv.port, "aborted");
	fd = cli_connect(srv.port);
	assert_int_equal(cli_send(fd, hdr, strlen(hdr)), 0);
	for (sent = 0; sent < 64 * 1024 * 1024; sent += 8192)
		if (cli_send(fd, chunk, 6 + 8192 + 2) < 0)
			break;
	assert_true(sent < 64 * 1024 * 1024);
	cli_read(fd, &r, false);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	close(fd);
	assert_int_equal(stat_of(srv.port, "aborted"), aborted + 1);
	free(chunk);
	healthy(srv.port);
}

static void
test_rate_limit(void **state)
{
	char val[32], tok[32];
	struct resp r;
	int i, fd;

	(void)state;
	/* The default burst, then 429. */
	for (i = 0; i < CTL_HTTP_BURST_DEFAULT; i++) {
		do_req("POST", "/v1/echo", "tok-1", NULL, &r);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	do_req("POST", "/v1/echo", "tok-1", "{}", &r);
	expect(&r, 429, "rate_limited");
	assert_non_null(resp_header(&r, "Retry-After", val, sizeof(val)));
	assert_string_equal(val, "1");
	resp_free(&r);
	/* Other routes and other tokens are not held back. */
	do_req("GET", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	do_req("POST", "/v1/echo", "tok-2", NULL, &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	/* One token comes back every 1/20 s. */
	clock_advance(49 * MS);
	do_req("POST", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 429, "rate_limited");
	resp_free(&r);
	clock_advance(1 * MS);
	do_req("POST", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	do_req("POST", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 429, "rate_limited");
	resp_free(&r);
	/* A clock stepping back grants nothing. */
	__atomic_sub_fetch(&fake_now, 10 * SEC, __ATOMIC_SEQ_CST);
	do_req("POST", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 429, "rate_limited");
	resp_free(&r);
	clock_advance(10 * SEC);
	/* A long pause refills to the burst, no more. */
	clock_advance(3600 * SEC);
	for (i = 0; i < CTL_HTTP_BURST_DEFAULT; i++) {
		do_req("POST", "/v1/echo", "tok-1", NULL, &r);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	do_req("POST", "/v1/echo", "tok-1", NULL, &r);
	expect(&r, 429, "rate_limited");
	resp_free(&r);

	/* Many tokens: all served, the table stays bounded. One keep-alive
	 * connection. */
	fd = cli_connect(srv.port);
	for (i = 0; i < 2 * CTL_HTTP_RATE_TABLE; i++) {
		char *s;

		snprintf(tok, sizeof(tok), "tok-%d", 100 + i);
		s = fmt_req("POST", "/v1/echo", tok, NULL, NULL, true);
		assert_int_equal(cli_send(fd, s, strlen(s)), 0);
		free(s);
		cli_read(fd, &r, false);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	close(fd);
	assert_true(stat_of(srv.port, "rate_entries") <= CTL_HTTP_RATE_TABLE);
	assert_true(stat_of(srv.port, "rate_entries") > CTL_HTTP_RATE_TABLE / 2);
	assert_true(stat_of(srv.port, "rate_limited") >= 5);
}

static void
test_rate_limit_config(void **state)
{
	struct ctl_http_limits lim = {.rate_per_s = 2, .rate_burst = 3};
	struct server s;
	char val[32];
	struct resp r;
	int i;

	(void)state;
	server_start(&s, &lim);
	for (i = 0; i < 3; i++) {
		do_req_x(s.port, "PUT", "/v1/tunnels/1/config", "tok-9", NULL, "{}", &r);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	do_req_x(s.port, "PUT", "/v1/tunnels/1/config", "tok-9", NULL, "{}", &r);
	expect(&r, 429, "rate_limited");
	assert_non_null(resp_header(&r, "Retry-After", val, sizeof(val)));
	assert_string_equal(val, "1");
	resp_free(&r);
	clock_advance(500 * MS);
	do_req_x(s.port, "PUT", "/v1/tunnels/1/config", "tok-9", NULL, "{}", &r);
	expect(&r, 200, NULL);
	resp_free(&r);
	server_stop(&s);

	lim = (struct ctl_http_limits){.rate_off = true};
	server_start(&s, &lim);
	for (i = 0; i < 3 * CTL_HTTP_BURST_DEFAULT; i++) {
		do_req_x(s.port, "POST", "/v1/echo", "tok-9", NULL, NULL, &r);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	server_stop(&s);
}

/* {"error": {"code": s, "message": s, "field"?: s}} and nothing else,
 * with the common headers. */
static void
check_error_shape(const struct resp *r, bool with_field)
{
	json_t *e = json_object_get(r->json, "error");
	char val[128];

	assert_non_null(r->json);
	assert_int_equal(json_object_size(r->json), 1);
	assert_true(json_is_object(e));
	assert_int_equal(json_object_size(e), with_field ? 3 : 2);
	assert_true(json_is_string(json_object_get(e, "code")));
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_string_length(json_object_get(e, "message")) > 0);
	if (with_field)
		assert_true(json_is_string(json_object_get(e, "field")));
	assert_non_null(resp_header(r, "Content-Type", val, sizeof(val)));
	assert_string_equal(val, "application/json");
	assert_non_null(resp_header(r, "Cache-Control", val, sizeof(val)));
	assert_string_equal(val, "no-store");
}

static void
test_error_shape(void **state)
{
	char hdr[256];
	struct resp r;

	(void)state;
	do_req("GET", "/nope", NULL, NULL, &r);
	expect(&r, 404, "not_found");
	check_error_shape(&r, false);
	resp_free(&r);
	do_req("GET", "/v1/tunnels/1", NULL, NULL, &r);
	check_error_shape(&r, false);
	resp_free(&r);
	do_req("GET", "/v1/tunnels/x", "user-token", NULL, &r);
	expect(&r, 400, "bad_request");
	check_error_shape(&r, true);
	resp_free(&r);
	do_req("POST", "/v1/echo", "user-token", "{", &r);
	check_error_shape(&r, false);
	resp_free(&r);
	do_req("POST", "/healthz", NULL, NULL, &r);
	check_error_shape(&r, false);
	resp_free(&r);
	snprintf(hdr, sizeof(hdr),
		 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n"
		 "Content-Length: 999999\r\n\r\n");
	raw_req(srv.port, hdr, strlen(hdr), &r);
	expect(&r, 413, "payload_too_large");
	check_error_shape(&r, false);
	resp_free(&r);
	do_req("GET", "/v1/fail", NULL, NULL, &r);
	expect(&r, 500, "internal");
	check_error_shape(&r, false);
	resp_free(&r);
	/* Bytes that are not UTF-8 in a handler's message and field. */
	do_req("GET", "/v1/badutf", NULL, NULL, &r);
	expect(&r, 422, "invalid");
	check_error_shape(&r, true);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
		"bad ?? byte");
	resp_free(&r);
}

static uint64_t
metric(const char *text, const char *line_prefix)
{
	const char *p = strstr(text, line_prefix);

	return p != NULL ? strtoull(p + strlen(line_prefix), NULL, 10) : 0;
}

static void
test_metrics(void **state)
{
	struct resp before, after, r;
	char val[64];
	int i;

	(void)state;
	do_req("GET", "/metrics", NULL, NULL, &before);
	expect(&before, 200, NULL);
	assert_non_null(resp_header(&before, "Content-Type", val, sizeof(val)));
	assert_string_equal(val, "text/plain; version=0.0.4");
	for (i = 0; i < 3; i++) {
		do_req("GET", "/v1/counted", NULL, NULL, &r);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	for (i = 0; i < 2; i++) {
		do_req("GET", "/v1/counted?status=418", NULL, NULL, &r);
		expect(&r, 418, "teapot");
		resp_free(&r);
	}
	do_req("GET", "/v1/counted?status=abc", NULL, NULL, &r);
	expect(&r, 400, "bad_request");
	resp_free(&r);
	do_req("GET", "/v1/counted?status=503", NULL, NULL, &r);
	expect(&r, 503, "teapot");
	resp_free(&r);
	do_req("GET", "/no/such/thing", NULL, NULL, &r);
	expect(&r, 404, "not_found");
	resp_free(&r);
	do_req("GET", "/metrics", NULL, NULL, &after);
	expect(&after, 200, NULL);

	assert_int_equal(metric(after.body, "{method=\"GET\",route=\"/v1/counted\",code=\"200\"} "),
			 3);
	assert_int_equal(metric(after.body, "{method=\"GET\",route=\"/v1/counted\",code=\"418\"} "),
			 2);
	assert_int_equal(metric(after.body, "{method=\"GET\",route=\"/v1/counted\",code=\"400\"} "),
			 1);
	assert_int_equal(metric(after.body, "{method=\"GET\",route=\"/v1/counted\",code=\"503\"} "),
			 1);
	assert_int_equal(metric(after.body, "{method=\"\",route=\"\",code=\"404\"} "),
			 metric(before.body, "{method=\"\",route=\"\",code=\"404\"} ") + 1);
	assert_int_equal(metric(after.body, "{method=\"GET\",route=\"/metrics\",code=\"200\"} "),
			 metric(before.body, "{method=\"GET\",route=\"/metrics\",code=\"200\"} ") +
				 1);
	/* The first /metrics is counted once it is answered, so it is in here:
	 * 1 + 3 + 2 + 1 + 1 + 1. */
	assert_int_equal(metric(after.body, "gate44_http_all "),
			 metric(before.body, "gate44_http_all ") + 9);
	assert_int_equal(metric(after.body, "gate44_http_client_errors "),
			 metric(before.body, "gate44_http_client_errors ") + 4);
	assert_int_equal(metric(after.body, "gate44_http_errors "),
			 metric(before.body, "gate44_http_errors ") + 1);
	resp_free(&before);
	resp_free(&after);
}

static void
test_raw_and_headers(void **state)
{
	char val[128];
	struct resp r;

	(void)state;
	do_req("GET", "/raw/png", NULL, NULL, &r);
	expect(&r, 200, NULL);
	assert_int_equal(r.body_len, sizeof(png_bytes));
	assert_memory_equal(r.body, png_bytes, sizeof(png_bytes));
	assert_non_null(resp_header(&r, "Content-Type", val, sizeof(val)));
	assert_string_equal(val, "image/png");
	assert_non_null(resp_header(&r, "X-Gate44", val, sizeof(val)));
	assert_string_equal(val, "yes");
	assert_non_null(resp_header(&r, "Cache-Control", val, sizeof(val)));
	assert_string_equal(val, "no-store");
	assert_non_null(resp_header(&r, "X-Content-Type-Options", val, sizeof(val)));
	assert_string_equal(val, "nosniff");
	resp_free(&r);

	do_req("GET", "/raw/empty", NULL, NULL, &r);
	expect(&r, 204, NULL);
	assert_int_equal(r.body_len, 0);
	assert_null(resp_header(&r, "Content-Type", val, sizeof(val)));
	assert_non_null(resp_header(&r, "Cache-Control", val, sizeof(val)));
	resp_free(&r);

	/* A second reply is refused; the first stands. */
	do_req("GET", "/v1/twice", NULL, NULL, &r);
	expect(&r, 200, NULL);
	assert_string_equal(json_string_value(json_object_get(r.json, "first")), "yes");
	assert_non_null(resp_header(&r, "X-Second", val, sizeof(val)));
	assert_string_equal(val, "ealready");
	resp_free(&r);

	/* Handlers failing without a reply get a 500. */
	do_req("GET", "/v1/fail", NULL, NULL, &r);
	expect(&r, 500, "internal");
	resp_free(&r);
	do_req("GET", "/v1/noreply", "user-token", NULL, &r);
	expect(&r, 500, "internal");
	resp_free(&r);
	assert_true(log_has("handler returned without a reply"));

	/* Request headers; Authorization is never handed out. Reply headers
	 * refuse CR/LF, bad names and the ones MHD owns. */
	do_req_x(srv.port, "GET", "/v1/hdr", "admin-token", "X-Custom: hello\r\n", NULL, &r);
	expect(&r, 200, NULL);
	assert_false(json_is_true(json_object_get(r.json, "authorization")));
	assert_string_equal(json_string_value(json_object_get(r.json, "custom")), "hello");
	assert_int_equal(json_integer_value(json_object_get(r.json, "crlf")), -EINVAL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "ctype")), -EINVAL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "badname")), -EINVAL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "ok")), 0);
	assert_null(resp_header(&r, "X-Bad", val, sizeof(val)));
	assert_null(resp_header(&r, "Injected", val, sizeof(val)));
	assert_non_null(resp_header(&r, "X-Good", val, sizeof(val)));
	assert_non_null(resp_header(&r, "Content-Type", val, sizeof(val)));
	assert_string_equal(val, "application/json");
	resp_free(&r);
}

static void
test_concurrent(void **state)
{
	enum { N = 100 };
	int fd[N], i, round;
	struct resp r;
	char *s;

	(void)state;
	for (i = 0; i < N; i++)
		fd[i] = cli_connect(srv.port);
	/* Every connection sends before any reads; keep-alive, two rounds. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < N; i++) {
			char tok[32];

			snprintf(tok, sizeof(tok), "tok-%d", 5000 + N * round + i);
			s = fmt_req(i % 2 ? "GET" : "POST", i % 2 ? "/v1/tunnels/3" : "/v1/echo",
				    tok, NULL, i % 2 ? NULL : "{\"n\":1}", true);
			assert_int_equal(cli_send(fd[i], s, strlen(s)), 0);
			free(s);
		}
		for (i = N - 1; i >= 0; i--) {
			cli_read(fd[i], &r, false);
			expect(&r, 200, NULL);
			resp_free(&r);
		}
	}
	for (i = 0; i < N; i++)
		close(fd[i]);
	healthy(srv.port);
}

static void
test_garbage(void **state)
{
	static const char *const junk[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GARBAGE GARBAGE GARBAGE\r\n\r\n",
		"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /healthz\r\n\r\n",
		"GET nope HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		("POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		 "Authorization: Bearer admin-token\r\n\r\nZZZ\r\n"),
	};
	unsigned char bin[4096];
	char *big;
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		raw_req_eof(srv.port, junk[i], strlen(junk[i]), &r);
		/* MHD answers 400 or 505 (or just closes when it cannot even
		 * split the request line); never a success. */
		if (r.status != 0 && (r.status < 400 || r.status > 599))
			fail_msg("junk %zu: status %d", i, r.status);
		resp_free(&r);
		healthy(srv.port);
	}
	/* A request line MHD can split but not accept: its own 400. */
	raw_req_eof(srv.port, junk[2], strlen(junk[2]), &r);
	expect(&r, 400, NULL);
	resp_free(&r);
	/* Binary noise with NULs and no line ends. */
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 131 + 7);
	raw_req_eof(srv.port, bin, sizeof(bin), &r);
	assert_true(r.status == 0 || r.status >= 400);
	resp_free(&r);
	healthy(srv.port);
	/* Headers larger than MHD's per-connection memory. */
	big = malloc(256 * 1024);
	strcpy(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + strlen(big), 'a', 200 * 1024);
	strcpy(big + strlen("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") + 200 * 1024,
	       "\r\n\r\n");
	raw_req_eof(srv.port, big, strlen(big), &r);
	assert_true(r.status == 0 || r.status >= 400);
	resp_free(&r);
	free(big);
	healthy(srv.port);
}

static void
test_conn_limit(void **state)
{
	struct ctl_http_limits lim = {.conn_limit = 4, .conn_timeout_s = 600};
	struct pollfd pfd;
	struct server s;
	struct resp r;
	int fd[4], extra, i, tries;
	char *get = fmt_req("GET", "/healthz", NULL, NULL, NULL, true);
	char buf[64];

	(void)state;
	server_start(&s, &lim);
	for (i = 0; i < 4; i++) {
		fd[i] = cli_connect(s.port);
		assert_int_equal(cli_send(fd[i], get, strlen(get)), 0);
		cli_read(fd[i], &r, false);
		expect(&r, 200, NULL);
		resp_free(&r);
	}
	/* A fifth gets no reply while the four are open (it is closed or
	 * left waiting). Waiting longer only makes this more certain. */
	extra = cli_connect(s.port);
	cli_send(extra, get, strlen(get));
	pfd = (struct pollfd){.fd = extra, .events = POLLIN};
	if (poll(&pfd, 1, 500) == 1) {
		ssize_t n = recv(extra, buf, sizeof(buf), 0);

		assert_true(n <= 0);
		close(extra);
		extra = -1;
	}
	/* Free a slot: a new request is served. */
	close(fd[0]);
	if (extra >= 0) {
		cli_read(extra, &r, false);
		expect(&r, 200, NULL);
		resp_free(&r);
		close(extra);
	} else {
		for (tries = 0;; tries++) {
			assert_true(tries < 600);
			extra = cli_connect(s.port);
			cli_send(extra, get, strlen(get));
			cli_read(extra, &r, false);
			close(extra);
			if (r.status == 200)
				break;
			resp_free(&r);
			usleep(50 * 1000);
		}
		resp_free(&r);
	}
	for (i = 1; i < 4; i++)
		close(fd[i]);
	free(get);
	server_stop(&s);
}

static void
test_slow_client(void **state)
{
	struct ctl_http_limits lim = {.conn_timeout_s = 1};
	const char *part = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bear";
	const char *body =
		"POST /v1/echo HTTP/1.1\r\nHost: x\r\n"
		"Authorization: Bearer admin-token\r\nContent-Length: 100\r\n\r\n{\"a\":";
	struct server s;
	struct resp r;
	int fd;

	(void)state;
	server_start(&s, &lim);
	/* Stalled in the headers, then in the body: closed, no reply. */
	fd = cli_connect(s.port);
	assert_int_equal(cli_send(fd, part, strlen(part)), 0);
	cli_read(fd, &r, false);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	close(fd);
	fd = cli_connect(s.port);
	assert_int_equal(cli_send(fd, body, strlen(body)), 0);
	cli_read(fd, &r, false);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	close(fd);
	/* Noise without a line end, and empty lines only (MHD skips them,
	 * even after a half-close): MHD waits for more, then gives up. */
	fd = cli_connect(s.port);
	assert_int_equal(cli_send(fd, "\x01\x02\x03 \xff\xfe", 7), 0);
	cli_read(fd, &r, false);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	close(fd);
	fd = cli_connect(s.port);
	assert_int_equal(cli_send(fd, "\r\n\r\n\r\n\r\n", 8), 0);
	shutdown(fd, SHUT_WR);
	cli_read(fd, &r, false);
	assert_int_equal(r.status, 0);
	resp_free(&r);
	close(fd);
	assert_int_equal(stat_of(s.port, "aborted"), 1);
	assert_int_equal(stat_of(s.port, "errors"), 1);
	healthy(s.port);
	server_stop(&s);
}

static void
test_no_secrets_logged(void **state)
{
	struct resp r;

	(void)state;
	log_clear();
	do_req("GET", "/v1/tunnels/1", "SECRETTOKEN-abc123", NULL, &r);
	expect(&r, 401, NULL);
	resp_free(&r);
	do_req("POST", "/v1/echo", "explode", "{\"x\":\"BODYSECRET1\"}", &r);
	expect(&r, 500, NULL);
	resp_free(&r);
	do_req("POST", "/v1/echo", "admin-token", "{\"x\":\"BODYSECRET2\"", &r);
	expect(&r, 400, NULL);
	resp_free(&r);
	do_req("GET", "/v1/fail?q=QUERYSECRET", "admin-token", NULL, &r);
	expect(&r, 500, NULL);
	resp_free(&r);
	do_req("GET", "/v1/noreply", "admin-token", NULL, &r);
	expect(&r, 500, NULL);
	resp_free(&r);
	{
		const char *g = "GARBAGE Bearer GARBAGESECRET\r\n\r\n";

		raw_req(srv.port, g, strlen(g), &r);
	}
	resp_free(&r);
	assert_true(log_has("/v1/fail"));
	assert_true(log_has("authentication failed"));
	assert_false(log_has("SECRETTOKEN"));
	assert_false(log_has("BODYSECRET"));
	assert_false(log_has("QUERYSECRET"));
	assert_false(log_has("GARBAGESECRET"));
	assert_false(log_has("admin-token"));
	assert_false(log_has("explode"));
}

static int
h_dummy(struct ctl_http_req *req, void *ctx)
{
	(void)ctx;
	return ctl_http_reply_json(req, 200, json_object());
}

static void
test_open_errors(void **state)
{
	static const char *const bad_listen[] = {
		"127.0.0.1", "1.2.3:80",   "[::1]8044",	   "127.0.0.1:99999", "host:80", ":80",
		"[::1:80",   "127.0.0.1:", "127.0.0.1:8x", "[127.0.0.1]:80",  "::1:80",	 "",
	};
	static const char *const bad_patterns[] = {
		"no-slash",
		"/a/{}/b",
		"/a/{x}{y}",
		"/a/{id}/b/{id}",
		"/a/x{id}",
		"/a/{id",
		"/a//b",
		"/a/",
		"/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17",
		"/{a}/{b}/{c}/{d}/{e}",
	};
	struct ctl_http_hooks hooks = {.authenticate = hook_auth, .log = hook_log};
	struct ctl_http_route rt[2] = {{"GET", "/x", h_dummy, 0}, {"GET", "/y", h_dummy, 0}};
	struct ctl_http *h, *h2;
	char err[256], listen_addr[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		err[0] = '\0';
		assert_null(ctl_http_open(bad_listen[i], rt, 1, &hooks, NULL, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_true(err[0] != '\0');
	}
	for (i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++) {
		rt[0].pattern = bad_patterns[i];
		err[0] = '\0';
		h = ctl_http_open("127.0.0.1:0", rt, 1, &hooks, NULL, err, sizeof(err));
		if (h != NULL)
			fail_msg("pattern %s accepted", bad_patterns[i]);
		assert_true(err[0] != '\0');
	}
	rt[0].pattern = "/x";
	/* Defined twice; NO_AUTH with ADMIN_ONLY; no method; no handler; no
	 * authentication hook for routes that need one. */
	rt[1].pattern = "/x";
	assert_null(ctl_http_open("127.0.0.1:0", rt, 2, &hooks, NULL, err, sizeof(err)));
	rt[1].pattern = "/y";
	rt[1].flags = CTL_HTTP_NO_AUTH | CTL_HTTP_ADMIN_ONLY;
	assert_null(ctl_http_open("127.0.0.1:0", rt, 2, &hooks, NULL, err, sizeof(err)));
	rt[1].flags = 0;
	rt[1].method = NULL;
	assert_null(ctl_http_open("127.0.0.1:0", rt, 2, &hooks, NULL, err, sizeof(err)));
	rt[1].method = "GET";
	rt[1].handler = NULL;
	assert_null(ctl_http_open("127.0.0.1:0", rt, 2, &hooks, NULL, err, sizeof(err)));
	rt[1].handler = h_dummy;
	assert_null(ctl_http_open("127.0.0.1:0", rt, 2, NULL, NULL, err, sizeof(err)));
	assert_null(ctl_http_open(NULL, rt, 2, &hooks, NULL, err, sizeof(err)));
	/* NO_AUTH everywhere needs no hooks at all; no err buffer is fine. */
	rt[0].flags = rt[1].flags = CTL_HTTP_NO_AUTH;
	h = ctl_http_open("127.0.0.1:0", rt, 2, NULL, NULL, NULL, 0);
	assert_non_null(h);
	/* The port in use. */
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%d", ctl_http_port(h));
	h2 = ctl_http_open(listen_addr, rt, 2, &hooks, NULL, err, sizeof(err));
	assert_null(h2);
	assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
	assert_true(ctl_http_timeout_ms(h) >= -1);
	ctl_http_run(h);
	ctl_http_close(h);

	/* NULL everywhere is harmless. */
	ctl_http_close(NULL);
	ctl_http_run(NULL);
	assert_true(ctl_http_pollfd(NULL) < 0);
	assert_true(ctl_http_port(NULL) < 0);
	assert_int_equal(ctl_http_timeout_ms(NULL), -1);
	assert_null(ctl_http_param(NULL, "id"));
	assert_null(ctl_http_query(NULL, "id"));
	assert_null(ctl_http_header(NULL, "id"));
	assert_int_equal(ctl_http_reply_json(NULL, 200, json_object()), -EINVAL);
	assert_int_equal(ctl_http_reply_raw(NULL, 200, NULL, NULL, 0), -EINVAL);
	assert_int_equal(ctl_http_reply_header(NULL, "a", "b"), -EINVAL);
	ctl_http_metrics_foreach(NULL, metric_line, NULL);
}

static void
test_ipv6(void **state)
{
	struct ctl_http_hooks hooks = {.authenticate = hook_auth, .log = hook_log};
	struct server s = {0};
	char err[256], *get;
	struct resp r;
	int fd;

	(void)state;
	s.h = ctl_http_open("[::1]:0", routes, N_ROUTES, &hooks, &s, err, sizeof(err));
	if (s.h == NULL && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
		skip(); /* no IPv6 loopback in this sandbox */
	if (s.h == NULL)
		fail_msg("ctl_http_open [::1]:0: %s", err);
	s.port = ctl_http_port(s.h);
	assert_int_equal(pipe(s.stop), 0);
	assert_int_equal(pthread_create(&s.th, NULL, server_main, &s), 0);
	fd = cli_connect_af(AF_INET6, s.port);
	get = fmt_req("GET", "/v1/tunnels/6", "user-token", NULL, NULL, false);
	assert_int_equal(cli_send(fd, get, strlen(get)), 0);
	cli_read(fd, &r, false);
	expect(&r, 200, NULL);
	assert_int_equal(json_integer_value(json_object_get(r.json, "id")), 6);
	resp_free(&r);
	close(fd);
	free(get);
	server_stop(&s);
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	server_start(&srv, NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	server_stop(&srv);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_routing, refill),
		cmocka_unit_test_setup(test_not_found_and_method, refill),
		cmocka_unit_test_setup(test_auth, refill),
		cmocka_unit_test_setup(test_json_body, refill),
		cmocka_unit_test_setup(test_body_limits, refill),
		cmocka_unit_test_setup(test_rate_limit, refill),
		cmocka_unit_test_setup(test_rate_limit_config, refill),
		cmocka_unit_test_setup(test_error_shape, refill),
		cmocka_unit_test_setup(test_metrics, refill),
		cmocka_unit_test_setup(test_raw_and_headers, refill),
		cmocka_unit_test_setup(test_concurrent, refill),
		cmocka_unit_test_setup(test_garbage, refill),
		cmocka_unit_test_setup(test_conn_limit, refill),
		cmocka_unit_test_setup(test_slow_client, refill),
		cmocka_unit_test_setup(test_no_secrets_logged, refill),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
