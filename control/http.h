/*
 * http.h — the HTTP API server of gate44-control: libmicrohttpd driven by
 * the daemon's one poll loop (no thread of its own), a routing table with
 * path parameters, bearer-token authentication through a hook, JSON request
 * bodies and replies, a per-token rate limit on mutating routes, and
 * request counters for /metrics. Everything here, handlers included, runs
 * on the control daemon's main thread; nothing is thread-safe.
 *
 * Loop:   fd = ctl_http_pollfd(h);  poll fd for POLLIN with
 *         ctl_http_timeout_ms(h) (-1: none) merged into the loop's timeout;
 *         after poll() returns call ctl_http_run(h) (cheap when idle).
 * Order:  404/405 (the route table is public) -> 401/403 -> 429 -> 413 by
 *         Content-Length, all before any body is read -> 413 past the
 *         limit while reading -> 400 bad JSON -> the handler.
 * Errors: {"error": {"code": "...", "message": "...", "field": "..."}};
 *         codes set here: bad_request, invalid_json, unauthorized,
 *         forbidden, not_found, method_not_allowed, payload_too_large,
 *         rate_limited, internal.
 */
#ifndef GATE44_CTL_HTTP_H
#define GATE44_CTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_HTTP_BODY_MAX_DEFAULT     (64 * 1024)
#define CTL_HTTP_RATE_DEFAULT	      20 /* mutating requests/s per token */
#define CTL_HTTP_BURST_DEFAULT	      40
#define CTL_HTTP_CONN_LIMIT_DEFAULT   256
#define CTL_HTTP_CONN_PER_IP_DEFAULT  128
#define CTL_HTTP_CONN_TIMEOUT_DEFAULT 30   /* s of inactivity */
#define CTL_HTTP_RATE_TABLE	      1024 /* tokens tracked at once (LRU) */
#define CTL_HTTP_MAX_PARAMS	      4	   /* {params} per pattern */
#define CTL_HTTP_MAX_SEGMENTS	      16   /* '/'-separated path segments */
#define CTL_HTTP_TOKEN_MAX	      512  /* bearer token length */

/* Route flags. */
enum {
	CTL_HTTP_ADMIN_ONLY = 1u << 0, /* a user principal gets 403 */
	CTL_HTTP_NO_AUTH = 1u << 1,    /* no Authorization needed (health, metrics) */
	CTL_HTTP_MUTATING = 1u << 2,   /* per-token rate limit (NO_AUTH: one shared bucket) */
};

enum ctl_scope {
	CTL_SCOPE_NONE = 0, /* anonymous: NO_AUTH routes */
	CTL_SCOPE_USER,
	CTL_SCOPE_ADMIN,
};

struct ctl_principal {
	enum ctl_scope scope;
	int64_t user_id;  /* 0 when the token belongs to no user */
	int64_t token_id; /* the rate limit key */
};

/* What a handler sees. Fields are read-only; the body is borrowed (take a
 * json_incref to keep it past the handler). */
struct ctl_http_req {
	const char *method;  /* as sent: "GET", "HEAD", "POST", ... */
	const char *path;    /* percent-decoded, without the query string */
	const char *pattern; /* the matched route's pattern */
	json_t *body;	     /* a JSON object, or NULL when there is no body */
	struct ctl_principal principal;
};

/* A handler replies with exactly one ctl_http_reply_*() and returns 0, or
 * returns -errno; returning without a reply makes a 500. ctx is the one
 * given to ctl_http_open(). */
typedef int ctl_http_handler_fn(struct ctl_http_req *req, void *ctx);

struct ctl_http_route {
	const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE"; GET also serves HEAD */
	const char *pattern; /* "/v1/tunnels/{id}/config": literal or whole-segment {name} */
	ctl_http_handler_fn *handler;
	unsigned flags; /* CTL_HTTP_* */
};

/* Zero fields take the defaults above. */
struct ctl_http_limits {
	size_t body_max;	 /* bytes; larger bodies get 413 */
	uint32_t rate_per_s;	 /* token refill rate on MUTATING routes */
	uint32_t rate_burst;	 /* bucket size */
	bool rate_off;		 /* no rate limit at all */
	unsigned conn_limit;	 /* open connections */
	unsigned conn_per_ip;	 /* open connections from one address */
	unsigned conn_timeout_s; /* an idle (or slow) connection is closed after this */
};

struct ctl_http_hooks {
	/* Required unless every route is NO_AUTH. Fill *out (scope USER or
	 * ADMIN) and return 0; -EACCES for an unknown, expired or revoked
	 * token (401; -ENOENT, -EKEYREVOKED, -EKEYEXPIRED and -EPERM mean
	 * the same); any other -errno makes a 500. Never log the token. */
	int (*authenticate)(void *ctx, const char *bearer_token, struct ctl_principal *out);
	/* Optional: monotonic clock in ns for the rate limit (tests inject
	 * time). NULL: CLOCK_MONOTONIC. */
	uint64_t (*now_ns)(void *ctx);
	/* Optional: log sink, syslog levels. NULL: stderr. Messages never
	 * hold request bodies, query strings or Authorization headers. */
	void (*log)(void *ctx, int level, const char *msg);
	/* Optional: NULL for the defaults. Read once, by ctl_http_open(). */
	const struct ctl_http_limits *limits;
};

struct ctl_http;

/* listen: "127.0.0.1:8044", "[::1]:8044", "0.0.0.0:8044", "[::]:8044" (this
 * one also takes IPv4, as mapped addresses); port 0 picks a free port.
 * routes and hooks are copied (patterns are checked: "/a/{id}/b", a param
 * is a whole segment, no duplicate method+pattern). NULL with a message in
 * err and errno set on failure. */
struct ctl_http *ctl_http_open(const char *listen, const struct ctl_http_route *routes,
			       size_t n_routes, const struct ctl_http_hooks *hooks, void *ctx,
			       char *err, size_t errlen);
/* Stops listening, drops open connections (their requests are counted as
 * aborted). Never from inside a handler. NULL is fine. */
void ctl_http_close(struct ctl_http *h);
/* The fd to poll for POLLIN (an epoll set holding every socket). */
int ctl_http_pollfd(struct ctl_http *h);
/* Milliseconds until ctl_http_run() is due even without I/O; -1: none. */
int ctl_http_timeout_ms(struct ctl_http *h);
/* Accept, read, run handlers, write, expire idle connections; never
 * blocks on the network. */
void ctl_http_run(struct ctl_http *h);
/* The port actually bound (after port 0); -errno on failure. */
int ctl_http_port(struct ctl_http *h);

/* Request accessors. */

/* A path parameter by name ("id" for "{id}"); NULL if the route has none. */
const char *ctl_http_param(const struct ctl_http_req *req, const char *name);
/* The path parameter as a positive int64 (1..INT64_MAX, decimal digits
 * only): 0, or -EINVAL after replying 400 bad_request with field=name. */
int ctl_http_param_id(struct ctl_http_req *req, const char *name, int64_t *out);
/* A query string argument (percent-decoded), NULL when absent. */
const char *ctl_http_query(const struct ctl_http_req *req, const char *name);
/* An optional integer query argument in [min, max]: *out is left alone when
 * absent. 0, or -EINVAL after replying 400 bad_request with field=name. */
int ctl_http_query_int(struct ctl_http_req *req, const char *name, int64_t min, int64_t max,
		       int64_t *out);
/* A request header (case-insensitive). Authorization is never returned. */
const char *ctl_http_header(const struct ctl_http_req *req, const char *name);

/* Replies: one per request; a second one is dropped with -EALREADY (and
 * still steals its JSON). Every reply carries Cache-Control: no-store and
 * X-Content-Type-Options: nosniff. Status outside 100..599 becomes 500.
 * 0 or -errno (on failure a 500 is sent when the handler returns). */

/* Steals one reference to body (NULL makes a 500); application/json. */
int ctl_http_reply_json(struct ctl_http_req *req, unsigned status, json_t *body);
int ctl_http_reply_error(struct ctl_http_req *req, unsigned status, const char *code,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* As ctl_http_reply_error, with "field": the offending input (field may be
 * NULL: no "field" member). */
int ctl_http_reply_error_field(struct ctl_http_req *req, unsigned status, const char *code,
			       const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Copies len bytes; content_type NULL (and len 0) for an empty reply (204). */
int ctl_http_reply_raw(struct ctl_http_req *req, unsigned status, const char *content_type,
		       const void *bytes, size_t len);
/* An extra response header (Location, ETag, Content-Disposition, ...), set
 * before or after the reply call; copied. -EINVAL for CR/LF or a bad
 * name, -ENOSPC beyond 8 headers. */
int ctl_http_reply_header(struct ctl_http_req *req, const char *name, const char *value);

/* Counters, for the daemon's /metrics handler. */

struct ctl_http_stats {
	uint64_t requests;	/* requests answered or aborted */
	uint64_t client_errors; /* 4xx replies */
	uint64_t errors;	/* 5xx replies and requests aborted without a reply */
	uint64_t aborted;	/* of which: no reply (client gone, timeout, body flood) */
	uint64_t rate_limited;	/* 429 replies (also in client_errors) */
	unsigned connections;	/* open now */
	unsigned rate_entries;	/* tokens in the rate limit table now */
};

void ctl_http_stats_get(struct ctl_http *h, struct ctl_http_stats *out);

/* Called once per (route, status) with a non-zero count, routes in table
 * order. Requests that matched no route (404, 405) come last with method
 * and pattern "". status 0 collects the rare statuses beyond the 16 kept
 * per route. Replies MHD makes itself (400 for broken HTTP, 431 for huge
 * headers) are not seen here. */
typedef void ctl_http_metric_fn(void *arg, const char *method, const char *pattern, unsigned status,
				uint64_t count);
void ctl_http_metrics_foreach(const struct ctl_http *h, ctl_http_metric_fn *fn, void *arg);

#endif /* GATE44_CTL_HTTP_H */
