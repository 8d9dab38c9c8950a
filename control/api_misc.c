/*
 * api_misc.c — the HTTP API's read-only views of the whole POP: address
 * pools (/v1/pools), the POP summary (/v1/status), Prometheus metrics
 * (/metrics) and the OpenAPI document (/v1/openapi.json). Main thread
 * (ctl_http_run) only; the engine is asked for its counters with one
 * blocking ctl_engine_call (bounded by the engine client's timeout), and
 * only while it is connected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api_int.h"

/* ---- pools ----------------------------------------------------------------- */

/* Blocks of alloc_len in the pool; capped at INT64_MAX (JSON integers). */
static uint64_t
pool_size(const struct ctl_pool *p)
{
	unsigned bits = p->alloc_len > p->prefix.plen ? p->alloc_len - p->prefix.plen : 0;

	return bits >= 63 ? (uint64_t)INT64_MAX : UINT64_C(1) << bits;
}

struct pool_row {
	struct ctl_pool p;
	uint64_t size, allocated, reserved, free;
};

/* Fills r from the pool and its usage. */
static int
pool_row(struct ctl *c, const struct ctl_pool *p, struct pool_row *r)
{
	int rc;

	r->p = *p;
	r->size = pool_size(p);
	rc = ctl_store_pool_usage(c->store, p->id, &r->allocated, &r->reserved);
	if (rc != 0)
		return rc;
	r->free = r->allocated + r->reserved < r->size ? r->size - r->allocated - r->reserved : 0;
	return 0;
}

struct pools_ctx {
	struct ctl *c;
	json_t *arr;
};

static int
pools_one(const struct ctl_pool *p, void *arg)
{
	struct pools_ctx *pc = arg;
	char prefix[CTL_PREFIX_STRLEN];
	struct pool_row r;
	json_t *o;
	int rc;

	if ((rc = pool_row(pc->c, p, &r)) != 0)
		return rc;
	if (ctl_ipam_prefix_format(&p->prefix, prefix, sizeof(prefix)) != 0)
		return -EINVAL;
	o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:o, s:I, s:I, s:I, s:I}", "id", (json_int_t)p->id,
		      "name", p->name, "prefix", prefix, "family",
		      p->prefix.family == AF_INET6 ? "ipv6" : "ipv4", "alloc_len",
		      (int)p->alloc_len, "interface", api_json_str_or_null(p->interface), "size",
		      (json_int_t)r.size, "allocated", (json_int_t)r.allocated, "reserved",
		      (json_int_t)r.reserved, "free", (json_int_t)r.free);
	if (o == NULL || json_array_append_new(pc->arr, o) != 0)
		return -ENOMEM;
	return 0;
}

/* GET /v1/pools (admin) */
int
api_pools_list(struct ctl_http_req *req, void *ctx)
{
	struct pools_ctx pc = {.c = ctx};
	int rc;

	pc.arr = json_array();
	if (pc.arr == NULL)
		return -ENOMEM;
	rc = ctl_store_pool_foreach(pc.c->store, pools_one, &pc);
	if (rc != 0) {
		json_decref(pc.arr);
		return api_reply_errno(req, rc, "pool", NULL);
	}
	return ctl_http_reply_json(req, 200, json_pack("{s:o}", "pools", pc.arr));
}

/* ---- the POP's tunnels, summed ------------------------------------------------ */

struct tsum {
	uint64_t tunnels, active, connected, rx, tx;
};

struct tsum_ctx {
	const struct ctl *c;
	int64_t now;
	struct tsum all;
	struct tsum per_if[CTL_CFG_MAX_IFS];
};

static int
tsum_one(const struct ctl_tunnel *t, void *arg)
{
	struct tsum_ctx *tc = arg;
	struct tsum *s[2] = {&tc->all, NULL};
	unsigned i;

	for (i = 0; i < tc->c->cfg.n_ifs; i++)
		if (strcmp(tc->c->cfg.ifs[i].name, t->interface) == 0)
			s[1] = &tc->per_if[i];
	for (i = 0; i < 2 && s[i] != NULL; i++) {
		s[i]->tunnels++;
		s[i]->active += t->active;
		s[i]->connected += api_tunnel_connected(tc->c, t, tc->now);
		s[i]->rx += t->rx_total;
		s[i]->tx += t->tx_total;
	}
	return 0;
}

static int
count_user(const struct ctl_user *u, void *arg)
{
	(void)u;
	(*(uint64_t *)arg)++;
	return 0;
}

static bool
engine_up(const struct ctl *c)
{
	return c->engine != NULL && ctl_engine_connected(c->engine);
}

/* GET /v1/status (admin): the POP at a glance. */
int
api_status_get(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct tsum_ctx tc = {.c = c, .now = api_now()};
	struct ctl_http_stats hs = {0};
	uint64_t users = 0;
	json_t *o, *ifs;
	unsigned i;
	int rc;

	rc = ctl_store_tunnel_foreach(c->store, 0, tsum_one, &tc);
	if (rc == 0)
		rc = ctl_store_user_foreach(c->store, count_user, &users);
	if (rc != 0)
		return api_reply_errno(req, rc, "tunnel", NULL);
	ifs = json_array();
	for (i = 0; ifs != NULL && i < c->cfg.n_ifs; i++)
		json_array_append_new(ifs, json_pack("{s:s, s:s, s:I, s:I, s:I}", "name",
						     c->cfg.ifs[i].name, "endpoint",
						     c->cfg.ifs[i].endpoint, "tunnels",
						     (json_int_t)tc.per_if[i].tunnels, "active",
						     (json_int_t)tc.per_if[i].active, "connected",
						     (json_int_t)tc.per_if[i].connected));
	if (c->http != NULL)
		ctl_http_stats_get(c->http, &hs);
	o = json_pack("{s:I, s:{s:b, s:I}, s:{s:b}, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:o, "
		      "s:{s:I, s:I, s:I, s:i}}",
		      "time", (json_int_t)tc.now, "engine", "connected", engine_up(c), "generation",
		      (json_int_t)(c->engine != NULL ? ctl_engine_generation(c->engine) : 0),
		      "store", "readonly", ctl_store_readonly(c->store), "users", (json_int_t)users,
		      "tunnels", "total", (json_int_t)tc.all.tunnels, "active",
		      (json_int_t)tc.all.active, "connected", (json_int_t)tc.all.connected,
		      "rx_bytes", (json_int_t)(tc.all.rx & INT64_MAX), "tx_bytes",
		      (json_int_t)(tc.all.tx & INT64_MAX), "interfaces", ifs, "http", "requests",
		      (json_int_t)hs.requests, "client_errors", (json_int_t)hs.client_errors,
		      "errors", (json_int_t)hs.errors, "connections", (int)hs.connections);
	return ctl_http_reply_json(req, 200, o);
}

/* ---- /metrics ---------------------------------------------------------------- */

/* A user id and name, for the tunnels' "user" label. */
struct uname {
	int64_t id;
	char name[CTL_NAME_MAX + 1];
};

/* A tunnel's numbers, kept so each metric family is printed in one block
 * (the exposition format wants a family's samples together). */
struct trow {
	int64_t id, user_id, last_handshake;
	char interface[CTL_IFNAME_MAX + 1];
	uint64_t rx, tx;
	bool connected, active;
};

struct metrics {
	const struct ctl *c;
	int64_t now;
	FILE *f;
	struct uname *users;
	size_t n_users, cap_users;
	struct trow *t;
	size_t n_t, cap_t;
};

static int
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap ? 2 * *cap : 64;
	p = realloc(*arr, nc * size);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int
m_user(const struct ctl_user *u, void *arg)
{
	struct metrics *m = arg;

	if (grow((void **)&m->users, &m->cap_users, m->n_users, sizeof(*m->users)) != 0)
		return -ENOMEM;
	m->users[m->n_users].id = u->id;
	memcpy(m->users[m->n_users].name, u->name, sizeof(u->name));
	m->n_users++;
	return 0;
}

static int
m_tunnel(const struct ctl_tunnel *t, void *arg)
{
	struct metrics *m = arg;
	struct trow *r;

	if (grow((void **)&m->t, &m->cap_t, m->n_t, sizeof(*m->t)) != 0)
		return -ENOMEM;
	r = &m->t[m->n_t++];
	r->id = t->id;
	r->user_id = t->user_id;
	r->last_handshake = t->last_handshake;
	memcpy(r->interface, t->interface, sizeof(r->interface));
	r->rx = t->rx_total;
	r->tx = t->tx_total;
	r->active = t->active;
	r->connected = api_tunnel_connected(m->c, t, m->now);
	return 0;
}

static int
uname_cmp(const void *key, const void *elem)
{
	int64_t id = *(const int64_t *)key, e = ((const struct uname *)elem)->id;

	return id < e ? -1 : id > e;
}

/* The users come by id from the store: a binary search finds a name. */
static const char *
user_name(const struct metrics *m, int64_t id)
{
	const struct uname *u;

	u = bsearch(&id, m->users, m->n_users, sizeof(*m->users), uname_cmp);
	return u != NULL ? u->name : "";
}

/* A label value, escaped as the exposition format wants. */
static void
label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum tcol { T_RX, T_TX, T_CONNECTED, T_ACTIVE, T_HANDSHAKE };

static void
tunnel_family(struct metrics *m, const char *name, const char *type, const char *help,
	      enum tcol col)
{
	const struct trow *r;
	uint64_t v = 0;
	size_t i;

	family(m->f, name, type, help);
	for (i = 0; i < m->n_t; i++) {
		r = &m->t[i];
		switch (col) {
		case T_RX:
			v = r->rx;
			break;
		case T_TX:
			v = r->tx;
			break;
		case T_CONNECTED:
			v = r->connected;
			break;
		case T_ACTIVE:
			v = r->active;
			break;
		case T_HANDSHAKE:
			v = (uint64_t)r->last_handshake;
			break;
		}
		fprintf(m->f, "%s{tunnel=\"%" PRId64 "\",user=\"", name, r->id);
		label(m->f, user_name(m, r->user_id));
		fputs("\",interface=\"", m->f);
		label(m->f, r->interface);
		fprintf(m->f, "\"} %" PRIu64 "\n", v);
	}
}

static void
pop_totals(struct metrics *m)
{
	uint64_t rx = 0, tx = 0, active = 0, connected = 0;
	size_t i;

	for (i = 0; i < m->n_t; i++) {
		rx += m->t[i].rx;
		tx += m->t[i].tx;
		active += m->t[i].active;
		connected += m->t[i].connected;
	}
	family(m->f, "gate44_rx_bytes_total", "counter", "Bytes received from all tunnels.");
	fprintf(m->f, "gate44_rx_bytes_total %" PRIu64 "\n", rx);
	family(m->f, "gate44_tx_bytes_total", "counter", "Bytes sent into all tunnels.");
	fprintf(m->f, "gate44_tx_bytes_total %" PRIu64 "\n", tx);
	family(m->f, "gate44_tunnels", "gauge", "Tunnels by state.");
	fprintf(m->f, "gate44_tunnels{state=\"total\"} %zu\n", m->n_t);
	fprintf(m->f, "gate44_tunnels{state=\"active\"} %" PRIu64 "\n", active);
	fprintf(m->f, "gate44_tunnels{state=\"connected\"} %" PRIu64 "\n", connected);
	family(m->f, "gate44_users", "gauge", "Users.");
	fprintf(m->f, "gate44_users %zu\n", m->n_users);
}

static int
m_pool(const struct ctl_pool *p, void *arg)
{
	struct metrics *m = arg;
	struct pool_row r;
	int rc;

	if ((rc = pool_row((struct ctl *)m->c, p, &r)) != 0)
		return rc;
	fprintf(m->f, "gate44_pool_blocks{pool=\"");
	label(m->f, p->name);
	fprintf(m->f, "\",state=\"allocated\"} %" PRIu64 "\n", r.allocated);
	fprintf(m->f, "gate44_pool_blocks{pool=\"");
	label(m->f, p->name);
	fprintf(m->f, "\",state=\"reserved\"} %" PRIu64 "\n", r.reserved);
	fprintf(m->f, "gate44_pool_blocks{pool=\"");
	label(m->f, p->name);
	fprintf(m->f, "\",state=\"free\"} %" PRIu64 "\n", r.free);
	return 0;
}

/* The engine's drop reasons and buffers, when it answers. */
static void
engine_metrics(struct metrics *m)
{
	struct ctl *c = (struct ctl *)m->c;
	json_t *res = NULL, *drops, *v;
	const char *reason;
	char err[128];
	bool up = engine_up(c);

	if (up && ctl_engine_call(c->engine, json_pack("{s:s}", "cmd", "stats"), &res, err,
				  sizeof(err)) != 0)
		res = NULL;
	family(m->f, "gate44_engine_connected", "gauge",
	       "1 when the control daemon is connected to the engine.");
	fprintf(m->f, "gate44_engine_connected %d\n", engine_up(c));
	if (res == NULL)
		return;
	drops = json_object_get(res, "drops");
	if (json_is_object(drops)) {
		family(m->f, "gate44_engine_drops_total", "counter",
		       "Packets the engine dropped, by reason.");
		json_object_foreach (drops, reason, v) {
			if (!json_is_integer(v))
				continue;
			fputs("gate44_engine_drops_total{reason=\"", m->f);
			label(m->f, reason);
			fprintf(m->f, "\"} %" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
		}
	}
	v = json_object_get(res, "peers");
	if (json_is_integer(v)) {
		family(m->f, "gate44_engine_peers", "gauge", "Peers the engine holds.");
		fprintf(m->f, "gate44_engine_peers %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(v));
	}
	v = json_object_get(res, "mbufs_in_use");
	if (json_is_integer(v)) {
		family(m->f, "gate44_engine_mbufs_in_use", "gauge", "Packet buffers in use.");
		fprintf(m->f, "gate44_engine_mbufs_in_use %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(v));
	}
	v = json_object_get(res, "mbufs_total");
	if (json_is_integer(v)) {
		family(m->f, "gate44_engine_mbufs_total", "gauge", "Packet buffers in all.");
		fprintf(m->f, "gate44_engine_mbufs_total %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(v));
	}
	json_decref(res);
}

static void
http_metric(void *arg, const char *method, const char *pattern, unsigned status, uint64_t count)
{
	FILE *f = arg;

	fputs("gate44_http_requests_total{method=\"", f);
	label(f, method[0] != '\0' ? method : "-");
	fputs("\",route=\"", f);
	label(f, pattern[0] != '\0' ? pattern : "(unmatched)");
	if (status != 0)
		fprintf(f, "\",code=\"%u\"} %" PRIu64 "\n", status, count);
	else
		fprintf(f, "\",code=\"other\"} %" PRIu64 "\n", count);
}

static void
http_metrics(struct metrics *m)
{
	struct ctl_http_stats hs;

	if (m->c->http == NULL)
		return;
	family(m->f, "gate44_http_requests_total", "counter",
	       "API requests answered, by route and status code.");
	ctl_http_metrics_foreach(m->c->http, http_metric, m->f);
	ctl_http_stats_get(m->c->http, &hs);
	family(m->f, "gate44_http_aborted_total", "counter",
	       "API requests dropped without a reply.");
	fprintf(m->f, "gate44_http_aborted_total %" PRIu64 "\n", hs.aborted);
	family(m->f, "gate44_http_connections", "gauge", "Open API connections.");
	fprintf(m->f, "gate44_http_connections %u\n", hs.connections);
}

/*
 * GET /metrics (admin token): Prometheus text format 0.0.4. Tunnel byte
 * counters are the store's totals as of the last fold of the engine's
 * counters (every counters_interval_s).
 */
int
api_metrics_get(struct ctl_http_req *req, void *ctx)
{
	struct metrics m = {.c = ctx, .now = api_now()};
	struct ctl *c = ctx;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	m.f = open_memstream(&buf, &len);
	if (m.f == NULL)
		return -ENOMEM;
	rc = ctl_store_user_foreach(c->store, m_user, &m);
	if (rc == 0)
		rc = ctl_store_tunnel_foreach(c->store, 0, m_tunnel, &m);
	if (rc == 0) {
		tunnel_family(&m, "gate44_tunnel_rx_bytes_total", "counter",
			      "Bytes received from the tunnel's peer.", T_RX);
		tunnel_family(&m, "gate44_tunnel_tx_bytes_total", "counter",
			      "Bytes sent to the tunnel's peer.", T_TX);
		tunnel_family(&m, "gate44_tunnel_connected", "gauge",
			      "1 when the peer made a handshake within the connected window.",
			      T_CONNECTED);
		tunnel_family(
			&m, "gate44_tunnel_active", "gauge",
			"1 when the tunnel is enabled, not expired and its user not disabled.",
			T_ACTIVE);
		tunnel_family(&m, "gate44_tunnel_last_handshake_seconds", "gauge",
			      "Unix time of the peer's last handshake (0: never).", T_HANDSHAKE);
		pop_totals(&m);
		family(m.f, "gate44_pool_blocks", "gauge", "Address pool blocks by state.");
		rc = ctl_store_pool_foreach(c->store, m_pool, &m);
	}
	if (rc == 0) {
		family(m.f, "gate44_store_readonly", "gauge", "1 when the store is read-only.");
		fprintf(m.f, "gate44_store_readonly %d\n", ctl_store_readonly(c->store));
		engine_metrics(&m);
		http_metrics(&m);
	}
	free(m.users);
	free(m.t);
	if (fclose(m.f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc != 0) {
		free(buf);
		return api_reply_errno(req, rc, "metrics", NULL);
	}
	rc = ctl_http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
	free(buf);
	return rc;
}

/* ---- /v1/openapi.json ------------------------------------------------------ */

/* GET /v1/openapi.json (no token): the API's OpenAPI 3 document. */
int
api_openapi_get(struct ctl_http_req *req, void *ctx)
{
	(void)ctx;
	return ctl_http_reply_json(req, 200, api_openapi_doc());
}
