/*
 * http.c — the HTTP API server: libmicrohttpd in external-epoll mode (the
 * daemon's poll loop owns the only thread), route matching with {params},
 * bearer authentication through the daemon's hook, JSON bodies capped in
 * size, replies with the house error shape, a per-token token bucket on
 * mutating routes, and per-route/status counters. Runs on the control
 * daemon's main thread only: MHD calls on_request() from ctl_http_run().
 *
 * A request goes: first MHD callback (headers only) -> route (404/405) ->
 * authenticate (401/403) -> rate limit (429) -> Content-Length (413); any
 * of these replies before a byte of body is read, and MHD then drops the
 * body and closes. Then body chunks are buffered up to the limit; past it
 * MHD 0.9.75 cannot queue a reply mid-upload, so the rest is discarded
 * unbuffered and 413 goes out at the end, unless the client sends more
 * than DISCARD_MAX on top, when the connection is closed instead.
 *
 * Longer than the house ~800 lines: routing, authentication, limits and
 * replies all work on the one per-request state (struct reqstate). The
 * token bucket and the counters are self-contained sections that can move
 * to a file of their own if they grow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "http.h"

#define DISCARD_MAX   (1024 * 1024) /* bytes read and dropped past body_max */
#define REPLY_HEADERS 8
#define STATUS_SLOTS  16
#define RL_WAYS	      8
#define RL_SETS	      (CTL_HTTP_RATE_TABLE / RL_WAYS)
#define NS_PER_S      UINT64_C(1000000000)

struct status_count {
	unsigned status;
	uint64_t n;
};

struct counters {
	struct status_count s[STATUS_SLOTS];
	uint64_t other;
};

struct route {
	char *method;
	char *pattern;
	char *segbuf; /* the pattern split at '/'; params without braces */
	const char *seg[CTL_HTTP_MAX_SEGMENTS];
	unsigned nseg;
	uint32_t param_mask;
	ctl_http_handler_fn *handler;
	unsigned flags;
	struct counters cnt;
};

/* One token bucket; credit is kept in ns of refill time, as Linux
 * WireGuard's ratelimiter does. */
struct rl_entry {
	int64_t token_id;
	uint64_t credit_ns;
	uint64_t last_ns;
	bool used;
};

struct ctl_http {
	struct MHD_Daemon *mhd;
	void *ctx;
	struct ctl_http_hooks hooks;
	struct ctl_http_limits lim;
	struct route *routes;
	size_t n_routes;
	struct counters unmatched;
	struct ctl_http_stats stats;
	struct rl_entry *rl; /* RL_SETS sets of RL_WAYS, LRU within a set */
	uint64_t rl_cost_ns, rl_cap_ns;
	unsigned rl_used;
	char *open_err; /* MHD's messages go here while ctl_http_open() runs */
	size_t open_errlen;
};

struct reqstate {
	struct ctl_http_req pub;
	struct ctl_http *h;
	struct MHD_Connection *conn;
	struct route *route;
	char *buf; /* the path, then its copy split at '/' */
	const char *seg[CTL_HTTP_MAX_SEGMENTS];
	char *body;
	size_t body_len, body_cap;
	uint64_t discarded;
	bool too_large;
	bool replied; /* resp is ready */
	bool sent;    /* queued to MHD */
	struct MHD_Response *resp;
	unsigned status;
	unsigned n_hdr;
	char *hdr[REPLY_HEADERS][2];
};

#define RS(req) ((struct reqstate *)(void *)((char *)(req)-offsetof(struct reqstate, pub)))

static void __attribute__((format(printf, 3, 4)))
say(const struct ctl_http *h, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (h->hooks.log != NULL)
		h->hooks.log(h->ctx, level, msg);
	else
		fprintf(stderr, "gate44-control: http: %s\n", msg);
}

static uint64_t
now_ns(const struct ctl_http *h)
{
	struct timespec ts;

	if (h->hooks.now_ns != NULL)
		return h->hooks.now_ns(h->ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------
 * Rate limit: a token bucket per token id in a set-associative table; a
 * new token evicts the least recently seen entry of its set, which then
 * starts again with a full bucket. Token ids are issued by the daemon, not
 * chosen by clients, so an unkeyed multiplicative hash spreads them.
 * ------------------------------------------------------------------------ */

/* 0: allowed (a token taken); else the seconds to wait, at least 1. */
static unsigned
rl_take(struct ctl_http *h, int64_t token_id)
{
	unsigned set =
		(unsigned)(((uint64_t)token_id * UINT64_C(0x9E3779B97F4A7C15)) >> 40) % RL_SETS;
	struct rl_entry *e = &h->rl[set * RL_WAYS], *hit = NULL, *victim = NULL;
	uint64_t now = now_ns(h), wait;
	unsigned i;

	for (i = 0; i < RL_WAYS; i++) {
		if (e[i].used && e[i].token_id == token_id) {
			hit = &e[i];
			break;
		}
		if (victim == NULL ||
		    (victim->used && (!e[i].used || e[i].last_ns < victim->last_ns)))
			victim = &e[i];
	}
	if (hit == NULL) {
		hit = victim;
		if (!hit->used)
			h->rl_used++;
		hit->used = true;
		hit->token_id = token_id;
		hit->credit_ns = h->rl_cap_ns;
		hit->last_ns = now;
	} else if (now > hit->last_ns) {
		uint64_t dt = now - hit->last_ns;

		hit->credit_ns =
			dt >= h->rl_cap_ns - hit->credit_ns ? h->rl_cap_ns : hit->credit_ns + dt;
		hit->last_ns = now;
	}
	if (hit->credit_ns >= h->rl_cost_ns) {
		hit->credit_ns -= h->rl_cost_ns;
		return 0;
	}
	wait = (h->rl_cost_ns - hit->credit_ns + NS_PER_S - 1) / NS_PER_S;
	return wait < 1 ? 1 : wait > 3600 ? 3600 : (unsigned)wait;
}

/* ------------------------------------------------------------------------
 * Counters
 * ------------------------------------------------------------------------ */

static void
count(struct ctl_http *h, struct route *r, unsigned status)
{
	struct counters *c = r != NULL ? &r->cnt : &h->unmatched;
	unsigned i;

	h->stats.requests++;
	if (status >= 500)
		h->stats.errors++;
	else if (status >= 400)
		h->stats.client_errors++;
	if (status == 429)
		h->stats.rate_limited++;
	for (i = 0; i < STATUS_SLOTS; i++) {
		if (c->s[i].status == status || c->s[i].status == 0) {
			c->s[i].status = status;
			c->s[i].n++;
			return;
		}
	}
	c->other++;
}

static void
foreach_counters(const struct counters *c, const char *method, const char *pattern,
		 ctl_http_metric_fn *fn, void *arg)
{
	unsigned i;

	for (i = 0; i < STATUS_SLOTS && c->s[i].status != 0; i++)
		fn(arg, method, pattern, c->s[i].status, c->s[i].n);
	if (c->other != 0)
		fn(arg, method, pattern, 0, c->other);
}

void
ctl_http_metrics_foreach(const struct ctl_http *h, ctl_http_metric_fn *fn, void *arg)
{
	size_t i;

	if (h == NULL || fn == NULL)
		return;
	for (i = 0; i < h->n_routes; i++)
		foreach_counters(&h->routes[i].cnt, h->routes[i].method, h->routes[i].pattern, fn,
				 arg);
	foreach_counters(&h->unmatched, "", "", fn, arg);
}

static unsigned connections(struct ctl_http *h);

void
ctl_http_stats_get(struct ctl_http *h, struct ctl_http_stats *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	if (h == NULL)
		return;
	*out = h->stats;
	out->connections = connections(h);
	out->rate_entries = h->rl_used;
}

/* ------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------ */

/* RFC 9110 token characters, for header names. */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return false;
	return true;
}

static bool
is_header_value(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

static int
set_reply(struct reqstate *rs, unsigned status, struct MHD_Response *resp)
{
	if (rs->replied || rs->sent) {
		MHD_destroy_response(resp);
		return -EALREADY;
	}
	rs->resp = resp;
	rs->status = status >= 100 && status <= 599 ? status : 500;
	rs->replied = true;
	return 0;
}

int
ctl_http_reply_raw(struct ctl_http_req *req, unsigned status, const char *content_type,
		   const void *bytes, size_t len)
{
	struct MHD_Response *resp;
	struct reqstate *rs;

	if (req == NULL || (len != 0 && bytes == NULL) ||
	    (content_type != NULL && !is_header_value(content_type)))
		return -EINVAL;
	rs = RS(req);
	if (rs->replied || rs->sent)
		return -EALREADY;
	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)bytes,
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return -ENOMEM;
	if (content_type != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) {
		MHD_destroy_response(resp);
		return -ENOMEM;
	}
	return set_reply(rs, status, resp);
}

int
ctl_http_reply_json(struct ctl_http_req *req, unsigned status, json_t *body)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	struct MHD_Response *resp;
	struct reqstate *rs;
	char *buf;
	size_t n;

	if (req == NULL) {
		json_decref(body);
		return -EINVAL;
	}
	rs = RS(req);
	if (rs->replied || rs->sent) {
		json_decref(body);
		return -EALREADY;
	}
	if (body == NULL)
		return -ENOMEM;
	n = json_dumpb(body, NULL, 0, flags);
	buf = n != 0 ? malloc(n + 1) : NULL;
	if (buf == NULL || json_dumpb(body, buf, n, flags) != n) {
		free(buf);
		json_decref(body);
		return -ENOMEM;
	}
	json_decref(body);
	buf[n] = '\n'; /* friendlier to curl in a terminal */
	resp = MHD_create_response_from_buffer(n + 1, buf, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(buf);
		return -ENOMEM;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
	    MHD_YES) {
		MHD_destroy_response(resp);
		return -ENOMEM;
	}
	return set_reply(rs, status, resp);
}

/* A JSON string of s; bytes that are not valid UTF-8 become '?'. */
static json_t *
json_text(const char *s)
{
	json_t *j = json_string(s);
	char buf[512];
	size_t i;

	if (j != NULL)
		return j;
	snprintf(buf, sizeof(buf), "%s", s);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_string(buf);
}

static int __attribute__((format(printf, 5, 0)))
reply_verror(struct ctl_http_req *req, unsigned status, const char *code, const char *field,
	     const char *fmt, va_list ap)
{
	json_t *root = json_object(), *e = json_object();
	char msg[512];

	if (fmt != NULL)
		vsnprintf(msg, sizeof(msg), fmt, ap);
	else
		msg[0] = '\0';
	if (root == NULL || e == NULL || json_object_set_new(root, "error", e) < 0) {
		json_decref(root);
		json_decref(e);
		return ctl_http_reply_json(req, status, NULL);
	}
	if (json_object_set_new(e, "code", json_text(code != NULL ? code : "internal")) < 0 ||
	    json_object_set_new(e, "message", json_text(msg)) < 0 ||
	    (field != NULL && json_object_set_new(e, "field", json_text(field)) < 0)) {
		json_decref(root);
		return ctl_http_reply_json(req, status, NULL);
	}
	return ctl_http_reply_json(req, status, root);
}

int
ctl_http_reply_error(struct ctl_http_req *req, unsigned status, const char *code, const char *fmt,
		     ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = reply_verror(req, status, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
ctl_http_reply_error_field(struct ctl_http_req *req, unsigned status, const char *code,
			   const char *field, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = reply_verror(req, status, code, field, fmt, ap);
	va_end(ap);
	return rc;
}

int
ctl_http_reply_header(struct ctl_http_req *req, const char *name, const char *value)
{
	static const char *const reserved[] = {"Content-Type", "Content-Length",
					       "Transfer-Encoding", "Connection"};
	struct reqstate *rs;
	char *n, *v;
	size_t i;

	if (req == NULL || name == NULL || value == NULL || !is_token(name) ||
	    !is_header_value(value))
		return -EINVAL;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return -EINVAL;
	rs = RS(req);
	if (rs->n_hdr == REPLY_HEADERS)
		return -ENOSPC;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	rs->hdr[rs->n_hdr][0] = n;
	rs->hdr[rs->n_hdr][1] = v;
	rs->n_hdr++;
	return 0;
}

/* Queue the reply (a 500 if there is none) with the common headers. */
static enum MHD_Result
send_reply(struct reqstate *rs)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned i;

	if (!rs->replied)
		ctl_http_reply_error(&rs->pub, 500, "internal", "internal error");
	if (!rs->replied)
		return MHD_NO; /* out of memory: drop the connection */
	resp = rs->resp;
	rs->resp = NULL;
	ret = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ret == MHD_YES)
		ret = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	for (i = 0; i < rs->n_hdr && ret == MHD_YES; i++)
		ret = MHD_add_response_header(resp, rs->hdr[i][0], rs->hdr[i][1]);
	if (ret == MHD_YES)
		ret = MHD_queue_response(rs->conn, rs->status, resp);
	MHD_destroy_response(resp);
	if (ret != MHD_YES) {
		say(rs->h, LOG_WARNING, "cannot queue a %u reply", rs->status);
		return MHD_NO;
	}
	rs->sent = true;
	count(rs->h, rs->route, rs->status);
	return MHD_YES;
}

/* ------------------------------------------------------------------------
 * Request accessors
 * ------------------------------------------------------------------------ */

const char *
ctl_http_param(const struct ctl_http_req *req, const char *name)
{
	const struct reqstate *rs;
	unsigned i;

	if (req == NULL || name == NULL)
		return NULL;
	rs = RS((struct ctl_http_req *)(uintptr_t)req);
	if (rs->route == NULL)
		return NULL;
	for (i = 0; i < rs->route->nseg; i++)
		if ((rs->route->param_mask & (1u << i)) && strcmp(rs->route->seg[i], name) == 0)
			return rs->seg[i];
	return NULL;
}

/* Decimal, optional leading '-', no spaces, no overflow. */
static int
parse_i64(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, lim;

	if (s == NULL)
		return -EINVAL;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return -EINVAL;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (lim - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
ctl_http_param_id(struct ctl_http_req *req, const char *name, int64_t *out)
{
	const char *s = ctl_http_param(req, name);
	int64_t v;

	if (req == NULL || out == NULL)
		return -EINVAL;
	if (s == NULL) {
		say(RS(req)->h, LOG_ERR, "%s: no path parameter {%s}", req->pattern,
		    name != NULL ? name : "(null)");
		ctl_http_reply_error(req, 500, "internal", "internal error");
		return -EINVAL;
	}
	if (*s == '-' || parse_i64(s, &v) < 0 || v < 1) {
		ctl_http_reply_error_field(req, 400, "bad_request", name,
					   "%s must be a positive integer", name);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

const char *
ctl_http_query(const struct ctl_http_req *req, const char *name)
{
	if (req == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value(RS((struct ctl_http_req *)(uintptr_t)req)->conn,
					   MHD_GET_ARGUMENT_KIND, name);
}

int
ctl_http_query_int(struct ctl_http_req *req, const char *name, int64_t min, int64_t max,
		   int64_t *out)
{
	const char *s = ctl_http_query(req, name);
	int64_t v;

	if (req == NULL || out == NULL)
		return -EINVAL;
	if (s == NULL)
		return 0;
	if (parse_i64(s, &v) < 0 || v < min || v > max) {
		ctl_http_reply_error_field(req, 400, "bad_request", name,
					   "%s must be an integer from %" PRId64 " to %" PRId64,
					   name, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

const char *
ctl_http_header(const struct ctl_http_req *req, const char *name)
{
	if (req == NULL || name == NULL || strcasecmp(name, MHD_HTTP_HEADER_AUTHORIZATION) == 0)
		return NULL;
	return MHD_lookup_connection_value(RS((struct ctl_http_req *)(uintptr_t)req)->conn,
					   MHD_HEADER_KIND, name);
}

/* ------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------ */

/* Split "/a/b" in place into segments; "/" has none. -1 when p is not
 * absolute or has too many segments. */
static int
split_path(char *p, const char **seg)
{
	int n = 0;

	if (*p != '/')
		return -1;
	if (*++p == '\0')
		return 0;
	for (;;) {
		if (n == CTL_HTTP_MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		p = strchr(p, '/');
		if (p == NULL)
			return n;
		*p++ = '\0';
	}
}

/* -1: no match; else how specific: a literal segment outranks a {param},
 * the earlier segments counting most. */
static long
route_score(const struct route *r, const char *const *seg, unsigned nseg)
{
	long score = 0;
	unsigned i;

	if (r->nseg != nseg)
		return -1;
	for (i = 0; i < nseg; i++) {
		if (r->param_mask & (1u << i)) {
			if (seg[i][0] == '\0')
				return -1;
		} else {
			if (strcmp(r->seg[i], seg[i]) != 0)
				return -1;
			score |= 1L << (CTL_HTTP_MAX_SEGMENTS - 1 - i);
		}
	}
	return score;
}

static bool
method_matches(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	       (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Is word one of the items of the ", "-separated list? */
static bool
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (*list != '\0') {
		if (strncmp(list, word, n) == 0 && (list[n] == ',' || list[n] == '\0'))
			return true;
		list = strchr(list, ',');
		if (list == NULL)
			return false;
		list += 2;
	}
	return false;
}

/* The best route for the path and method; else reply 404 or 405. */
static struct route *
route_find(struct reqstate *rs, int nseg)
{
	struct ctl_http *h = rs->h;
	struct route *best = NULL;
	long best_score = -1, s;
	char allow[128] = "";
	bool path_known = false;
	size_t i, len;

	for (i = 0; nseg >= 0 && i < h->n_routes; i++) {
		s = route_score(&h->routes[i], rs->seg, (unsigned)nseg);
		if (s < 0)
			continue;
		path_known = true;
		if (method_matches(h->routes[i].method, rs->pub.method) && s > best_score) {
			best = &h->routes[i];
			best_score = s;
		}
		if (!in_list(allow, h->routes[i].method)) {
			len = strlen(allow);
			snprintf(allow + len, sizeof(allow) - len, "%s%s%s", len ? ", " : "",
				 h->routes[i].method,
				 strcmp(h->routes[i].method, "GET") == 0 ? ", HEAD" : "");
		}
	}
	if (best != NULL)
		return best;
	if (!path_known) {
		ctl_http_reply_error(&rs->pub, 404, "not_found", "no such resource");
		return NULL;
	}
	ctl_http_reply_header(&rs->pub, "Allow", allow);
	ctl_http_reply_error(&rs->pub, 405, "method_not_allowed", "method %s not allowed here",
			     is_token(rs->pub.method) ? rs->pub.method : "?");
	return NULL;
}

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

static int
unauthorized(struct reqstate *rs, bool invalid, const char *msg)
{
	ctl_http_reply_header(&rs->pub, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			      invalid ? "Bearer realm=\"gate44\", error=\"invalid_token\""
				      : "Bearer realm=\"gate44\"");
	ctl_http_reply_error(&rs->pub, 401, "unauthorized", "%s", msg);
	return -EACCES;
}

/* RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / then '='s. */
static bool
is_b64token(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			 (s[i] >= '0' && s[i] <= '9') || strchr("-._~+/", s[i]) != NULL))
		i++;
	if (i == 0)
		return false;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

/* Sets the principal, or replies 401/500 and returns -errno. */
static int
authenticate(struct reqstate *rs)
{
	struct ctl_http *h = rs->h;
	struct ctl_principal p = {0};
	char tok[CTL_HTTP_TOKEN_MAX + 1];
	const char *v;
	size_t n;
	int rc;

	v = MHD_lookup_connection_value(rs->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (v == NULL)
		return unauthorized(rs, false, "a bearer token is required");
	if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return unauthorized(rs, false, "a bearer token is required");
	for (v += 6; *v == ' ' || *v == '\t'; v++)
		;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n > CTL_HTTP_TOKEN_MAX || !is_b64token(v, n))
		return unauthorized(rs, true, "invalid bearer token");
	memcpy(tok, v, n);
	tok[n] = '\0';
	rc = h->hooks.authenticate(h->ctx, tok, &p);
	sodium_memzero(tok, sizeof(tok));
	/* The store's ways of saying no, as well as the hook's -EACCES. */
	if (rc == -EACCES || rc == -ENOENT || rc == -EKEYREVOKED || rc == -EKEYEXPIRED ||
	    rc == -EPERM)
		return unauthorized(rs, true, "invalid bearer token");
	if (rc == 0 && p.scope != CTL_SCOPE_USER && p.scope != CTL_SCOPE_ADMIN)
		rc = -EPROTO;
	if (rc != 0) {
		say(h, LOG_ERR, "%s %s: authentication failed: %s", rs->route->method,
		    rs->route->pattern, strerror(rc < 0 ? -rc : EPROTO));
		ctl_http_reply_error(&rs->pub, 500, "internal", "internal error");
		return rc < 0 ? rc : -EPROTO;
	}
	rs->pub.principal = p;
	return 0;
}

/* First call for a request: headers are in, no body yet. Replies here go
 * out before any body is read. */
static enum MHD_Result
begin(struct reqstate *rs, const char *url, const char *method)
{
	struct ctl_http *h = rs->h;
	size_t len = strlen(url);
	unsigned long long cl;
	unsigned wait;
	const char *v;
	char *end;
	int nseg;

	rs->buf = malloc(2 * len + 2);
	if (rs->buf == NULL)
		return MHD_NO;
	memcpy(rs->buf, url, len + 1);
	memcpy(rs->buf + len + 1, url, len + 1);
	rs->pub.method = method;
	rs->pub.path = rs->buf;
	nseg = split_path(rs->buf + len + 1, rs->seg);
	rs->route = route_find(rs, nseg);
	if (rs->route == NULL)
		return send_reply(rs);
	rs->pub.pattern = rs->route->pattern;

	if (!(rs->route->flags & CTL_HTTP_NO_AUTH)) {
		if (authenticate(rs) < 0)
			return send_reply(rs);
		if ((rs->route->flags & CTL_HTTP_ADMIN_ONLY) &&
		    rs->pub.principal.scope != CTL_SCOPE_ADMIN) {
			ctl_http_reply_error(&rs->pub, 403, "forbidden", "admin scope required");
			return send_reply(rs);
		}
	}
	if ((rs->route->flags & CTL_HTTP_MUTATING) && !h->lim.rate_off) {
		wait = rl_take(h, rs->pub.principal.token_id);
		if (wait != 0) {
			char secs[16];

			snprintf(secs, sizeof(secs), "%u", wait);
			ctl_http_reply_header(&rs->pub, MHD_HTTP_HEADER_RETRY_AFTER, secs);
			ctl_http_reply_error(&rs->pub, 429, "rate_limited",
					     "too many requests; retry in %u s", wait);
			return send_reply(rs);
		}
	}
	v = MHD_lookup_connection_value(rs->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v != NULL) {
		errno = 0;
		cl = strtoull(v, &end, 10);
		if ((errno == ERANGE || (end != v && cl > h->lim.body_max))) {
			ctl_http_reply_error(&rs->pub, 413, "payload_too_large",
					     "the request body is larger than %zu bytes",
					     h->lim.body_max);
			return send_reply(rs);
		}
		if (end != v && cl > 0) {
			rs->body = malloc(cl);
			if (rs->body == NULL)
				return MHD_NO;
			rs->body_cap = cl;
		}
	}
	return MHD_YES;
}

static enum MHD_Result
take_body(struct reqstate *rs, const char *data, size_t *size)
{
	struct ctl_http *h = rs->h;
	size_t n = *size, cap;
	char *nb;

	*size = 0;
	if (!rs->too_large && n > h->lim.body_max - rs->body_len) {
		rs->too_large = true;
		free(rs->body);
		rs->body = NULL;
		rs->body_len = rs->body_cap = 0;
	}
	if (rs->too_large) {
		rs->discarded += n;
		if (rs->discarded > DISCARD_MAX) {
			say(h, LOG_NOTICE,
			    "%s %s: request body far over the limit, connection closed",
			    rs->route->method, rs->route->pattern);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (rs->body_len + n > rs->body_cap) {
		cap = rs->body_cap != 0 ? rs->body_cap : 4096;
		while (cap < rs->body_len + n)
			cap *= 2;
		if (cap > h->lim.body_max)
			cap = h->lim.body_max;
		nb = realloc(rs->body, cap);
		if (nb == NULL)
			return MHD_NO;
		rs->body = nb;
		rs->body_cap = cap;
	}
	memcpy(rs->body + rs->body_len, data, n);
	rs->body_len += n;
	return MHD_YES;
}

/* Last call: the whole body is in. */
static enum MHD_Result
dispatch(struct reqstate *rs)
{
	struct ctl_http *h = rs->h;
	json_error_t jerr;
	json_t *j;
	int rc;

	if (rs->too_large) {
		ctl_http_reply_error(&rs->pub, 413, "payload_too_large",
				     "the request body is larger than %zu bytes", h->lim.body_max);
		return send_reply(rs);
	}
	if (rs->body_len != 0) {
		j = json_loadb(rs->body, rs->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			       &jerr);
		if (j == NULL) {
			ctl_http_reply_error(&rs->pub, 400, "invalid_json",
					     "invalid JSON at line %d, column %d: %s", jerr.line,
					     jerr.column, jerr.text);
			return send_reply(rs);
		}
		if (!json_is_object(j)) {
			json_decref(j);
			ctl_http_reply_error(&rs->pub, 400, "bad_request",
					     "the request body must be a JSON object");
			return send_reply(rs);
		}
		rs->pub.body = j;
	}
	rc = rs->route->handler(&rs->pub, h->ctx);
	if (!rs->replied)
		say(h, LOG_ERR, "%s %s: %s", rs->route->method, rs->route->pattern,
		    rc < 0 ? strerror(-rc) : "handler returned without a reply");
	return send_reply(rs);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct reqstate *rs = *con_cls;

	(void)version;
	if (rs == NULL) {
		rs = calloc(1, sizeof(*rs));
		if (rs == NULL)
			return MHD_NO;
		rs->h = cls;
		rs->conn = conn;
		*con_cls = rs;
		return begin(rs, url, method);
	}
	if (rs->sent) { /* replied early; MHD should not call again */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
		return take_body(rs, upload_data, upload_data_size);
	return dispatch(rs);
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * MHD's unescaping of the path and of query arguments (in place; returns
 * the new length), less one thing: "%00" stays as it is. Decoded, a NUL
 * would end the C string there, and "/v1/tunnels/7%00/config" would be
 * served as "/v1/tunnels/7", a route the URL does not name (and that a
 * proxy's rule on the whole path never saw). Kept, it makes a bad id (400)
 * or an unknown path (404). Other escapes decode as MHD's own do.
 */
static size_t
on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	(void)cls;
	(void)conn;
	while (*r != '\0') {
		if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 &&
		    (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct ctl_http *h = cls;
	struct reqstate *rs = *con_cls;
	unsigned i;

	(void)conn;
	(void)toe;
	if (rs == NULL)
		return;
	if (!rs->sent) {
		h->stats.requests++;
		h->stats.errors++;
		h->stats.aborted++;
	}
	if (rs->resp != NULL)
		MHD_destroy_response(rs->resp);
	for (i = 0; i < rs->n_hdr; i++) {
		free(rs->hdr[i][0]);
		free(rs->hdr[i][1]);
	}
	json_decref(rs->pub.body);
	free(rs->body);
	free(rs->buf);
	free(rs);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct ctl_http *h = cls;
	char msg[256], *end;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* "Error processing request (HTTP response code is 400 ('<html>...')).":
	 * the page adds nothing. */
	end = strstr(msg, " ('<html>");
	if (end != NULL)
		snprintf(end, sizeof(msg) - (size_t)(end - msg), ")");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (h->open_err != NULL && h->open_errlen != 0 && h->open_err[0] == '\0')
		snprintf(h->open_err, h->open_errlen, "%s", msg);
	say(h, LOG_INFO, "libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------------ */

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen != 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
route_compile(struct route *r, const struct ctl_http_route *src, char *err, size_t errlen)
{
	int nseg, i, j;
	size_t len;

	if (src->method == NULL || !is_token(src->method) || src->pattern == NULL ||
	    src->handler == NULL)
		return fail(err, errlen, "route %s: needs a method, a pattern and a handler",
			    src->pattern != NULL ? src->pattern : "(null)");
	if ((src->flags & CTL_HTTP_NO_AUTH) && (src->flags & CTL_HTTP_ADMIN_ONLY))
		return fail(err, errlen, "route %s: NO_AUTH and ADMIN_ONLY", src->pattern);
	r->method = strdup(src->method);
	r->pattern = strdup(src->pattern);
	r->segbuf = strdup(src->pattern);
	if (r->method == NULL || r->pattern == NULL || r->segbuf == NULL)
		return -ENOMEM;
	r->handler = src->handler;
	r->flags = src->flags;
	nseg = split_path(r->segbuf, r->seg);
	if (nseg < 0)
		return fail(err, errlen, "route %s: not an absolute path of at most %d segments",
			    src->pattern, CTL_HTTP_MAX_SEGMENTS);
	r->nseg = (unsigned)nseg;
	for (i = 0; i < nseg; i++) {
		len = strlen(r->seg[i]);
		if (len >= 3 && r->seg[i][0] == '{' && r->seg[i][len - 1] == '}') {
			((char *)(uintptr_t)r->seg[i])[len - 1] = '\0';
			r->seg[i]++;
			r->param_mask |= 1u << i;
			if (__builtin_popcount(r->param_mask) > CTL_HTTP_MAX_PARAMS)
				return fail(err, errlen, "route %s: more than %d parameters",
					    src->pattern, CTL_HTTP_MAX_PARAMS);
			for (j = 0; j < i; j++)
				if ((r->param_mask & (1u << j)) &&
				    strcmp(r->seg[j], r->seg[i]) == 0)
					return fail(err, errlen, "route %s: parameter {%s} twice",
						    src->pattern, r->seg[i]);
		}
		if (len == 0 || strpbrk(r->seg[i], "{}") != NULL)
			return fail(err, errlen, "route %s: bad segment %d", src->pattern, i + 1);
	}
	return 0;
}

static int
parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6, bool *any6, uint16_t *port,
	     char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	const char *p, *e;
	unsigned long v = 0;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	*v6 = s[0] == '[';
	if (*v6) {
		e = strchr(s, ']');
		if (e == NULL || e[1] != ':')
			goto bad;
		s++;
		p = e + 2;
	} else {
		e = strrchr(s, ':');
		if (e == NULL)
			goto bad;
		p = e + 1;
	}
	n = (size_t)(e - s);
	if (n == 0 || n >= sizeof(host) || *p == '\0' || strlen(p) > 5)
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		goto bad;
	*port = (uint16_t)v;
	if (*v6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(*port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		*any6 = IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons(*port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		*any6 = false;
	}
	return 0;
bad:
	return fail(err, errlen, "listen address: want ADDRESS:PORT or [ADDRESS]:PORT");
}

static void
free_routes(struct ctl_http *h)
{
	size_t i;

	for (i = 0; h->routes != NULL && i < h->n_routes; i++) {
		free(h->routes[i].method);
		free(h->routes[i].pattern);
		free(h->routes[i].segbuf);
	}
	free(h->routes);
}

struct ctl_http *
ctl_http_open(const char *listen, const struct ctl_http_route *routes, size_t n_routes,
	      const struct ctl_http_hooks *hooks, void *ctx, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *di;
	struct ctl_http_limits *l;
	struct ctl_http *h;
	bool v6 = false, any6 = false, need_auth = false;
	unsigned flags;
	uint16_t port = 0;
	size_t i, j;
	int rc;

	if (err != NULL && errlen != 0)
		err[0] = '\0';
	if (listen == NULL || (routes == NULL && n_routes != 0)) {
		fail(err, errlen, "no listen address or routes");
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		goto err_nomem;
	h->ctx = ctx;
	if (hooks != NULL) {
		h->hooks = *hooks;
		if (hooks->limits != NULL)
			h->lim = *hooks->limits;
		h->hooks.limits = NULL;
	}
	l = &h->lim;
	l->body_max = l->body_max ? l->body_max : CTL_HTTP_BODY_MAX_DEFAULT;
	l->rate_per_s = l->rate_per_s ? l->rate_per_s : CTL_HTTP_RATE_DEFAULT;
	l->rate_burst = l->rate_burst ? l->rate_burst : CTL_HTTP_BURST_DEFAULT;
	l->conn_limit = l->conn_limit ? l->conn_limit : CTL_HTTP_CONN_LIMIT_DEFAULT;
	l->conn_per_ip = l->conn_per_ip ? l->conn_per_ip : CTL_HTTP_CONN_PER_IP_DEFAULT;
	l->conn_timeout_s = l->conn_timeout_s ? l->conn_timeout_s : CTL_HTTP_CONN_TIMEOUT_DEFAULT;
	h->rl_cost_ns = NS_PER_S / l->rate_per_s;
	if (h->rl_cost_ns == 0)
		h->rl_cost_ns = 1;
	h->rl_cap_ns = h->rl_cost_ns * l->rate_burst;

	h->routes = calloc(n_routes ? n_routes : 1, sizeof(*h->routes));
	h->rl = calloc(CTL_HTTP_RATE_TABLE, sizeof(*h->rl));
	if (h->routes == NULL || h->rl == NULL)
		goto err_nomem;
	for (i = 0; i < n_routes; i++) {
		h->n_routes = i + 1;
		rc = route_compile(&h->routes[i], &routes[i], err, errlen);
		if (rc == -ENOMEM)
			goto err_nomem;
		if (rc < 0)
			goto err_inval;
		for (j = 0; j < i; j++) {
			if (strcmp(h->routes[j].method, h->routes[i].method) == 0 &&
			    strcmp(h->routes[j].pattern, h->routes[i].pattern) == 0) {
				fail(err, errlen, "route %s %s: defined twice", routes[i].method,
				     routes[i].pattern);
				goto err_inval;
			}
		}
		need_auth |= !(routes[i].flags & CTL_HTTP_NO_AUTH);
	}
	if (need_auth && h->hooks.authenticate == NULL) {
		fail(err, errlen, "routes need authentication but there is no hook");
		goto err_inval;
	}
	if (parse_listen(listen, &ss, &v6, &any6, &port, err, errlen) < 0)
		goto err_inval;

	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= any6 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	h->open_err = err;
	h->open_errlen = errlen;
	errno = 0;
	/* clang-format off */
	h->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, h,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, l->conn_limit,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->conn_per_ip,
				  MHD_OPTION_CONNECTION_TIMEOUT, l->conn_timeout_s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				  MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, h,
				  MHD_OPTION_END);
	/* clang-format on */
	rc = errno != 0 ? errno : EADDRNOTAVAIL;
	h->open_err = NULL;
	if (h->mhd == NULL) {
		char why[256];

		snprintf(why, sizeof(why), "%s",
			 err != NULL && errlen != 0 && err[0] != '\0' ? err : strerror(rc));
		fail(err, errlen, "cannot listen on %s: %s", listen, why);
		ctl_http_close(h);
		errno = rc;
		return NULL;
	}
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL || di->epoll_fd < 0) {
		fail(err, errlen, "libmicrohttpd has no epoll support");
		ctl_http_close(h);
		errno = ENOTSUP;
		return NULL;
	}
	return h;

err_nomem:
	fail(err, errlen, "out of memory");
	ctl_http_close(h);
	errno = ENOMEM;
	return NULL;
err_inval:
	ctl_http_close(h);
	errno = EINVAL;
	return NULL;
}

void
ctl_http_close(struct ctl_http *h)
{
	if (h == NULL)
		return;
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd); /* runs on_completed for open requests */
	free_routes(h);
	free(h->rl);
	free(h);
}

int
ctl_http_pollfd(struct ctl_http *h)
{
	const union MHD_DaemonInfo *di;

	if (h == NULL)
		return -EINVAL;
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return di != NULL ? di->epoll_fd : -EBADF;
}

int
ctl_http_timeout_ms(struct ctl_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h == NULL || MHD_get_timeout(h->mhd, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static unsigned
connections(struct ctl_http *h)
{
	const union MHD_DaemonInfo *di;

	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di != NULL ? di->num_connections : 0;
}

void
ctl_http_run(struct ctl_http *h)
{
	unsigned before;

	if (h == NULL)
		return;
	before = connections(h);
	MHD_run(h->mhd);
	/* At the connection limit MHD 0.9.75 takes the listening socket out
	 * of its epoll set, and puts it back only at the start of a run: when
	 * connections closed in this one, run again, or connections waiting
	 * in the backlog would wait for some unrelated event (up to the idle
	 * timeout). */
	if (connections(h) < before)
		MHD_run(h->mhd);
}

int
ctl_http_port(struct ctl_http *h)
{
	const union MHD_DaemonInfo *di;

	if (h == NULL)
		return -EINVAL;
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL && di->port != 0 ? di->port : -EBADF;
}
