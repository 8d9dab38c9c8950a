/*
 * api_tunnels.c — the HTTP API's tunnels (/v1/tunnels): the users'
 * WireGuard peers with their 44net addresses. Every change goes through
 * ctl_tunnel_create / ctl_tunnel_update / ctl_tunnel_delete, which apply it
 * to the store and the engine together; listings and history read the
 * store; status asks the engine (ctl_tunnel_status). The client
 * configuration and its QR codes are in api_config.c. Main thread
 * (ctl_http_run) only.
 *
 * Keys: a server-generated private key is in the creation response only
 * (with the full configuration) and is never stored. The preshared key is
 * never in a tunnel's JSON; it is in the client configuration (creation
 * response and GET .../config), which is useless without it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "api_int.h"
#include "wgconf.h"

#define CONNECTED_WINDOW_DEFAULT 180		       /* s, when the config has none */
#define OWN_PREFIXES_MAX	 16		       /* own prefixes in one request */
#define ADDRESSES_MAX		 CTL_WGCONF_LIST_MAX   /* per tunnel: the config must render */
#define EXPIRES_MAX		 INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define HISTORY_SPAN_DEFAULT	 86400		       /* s: the last day */
#define HISTORY_MAX		 10000		       /* samples in one reply */

/* The canonical text of the all-zero key: no peer can have it. */
static const char zero_key[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/* ---- the tunnel as JSON ------------------------------------------------- */

bool
api_tunnel_connected(const struct ctl *c, const struct ctl_tunnel *t, int64_t now)
{
	unsigned window =
		c->cfg.connected_window_s ? c->cfg.connected_window_s : CONNECTED_WINDOW_DEFAULT;

	return t->active && c->engine != NULL && ctl_engine_connected(c->engine) &&
	       t->last_handshake != 0 && now - t->last_handshake <= (int64_t)window;
}

json_t *
api_tunnel_json(const struct ctl *c, const struct ctl_tunnel *t)
{
	char buf[CTL_PREFIX_STRLEN];
	json_t *o, *addrs, *own;
	int64_t now = api_now();
	size_t i;

	addrs = json_array();
	own = json_array();
	if (addrs == NULL || own == NULL)
		goto err;
	for (i = 0; i < t->n_addrs; i++) {
		if (ctl_ipam_prefix_format(&t->addrs[i].prefix, buf, sizeof(buf)) != 0)
			continue;
		json_array_append_new(addrs, json_string(buf));
		if (t->addrs[i].pool_id == 0)
			json_array_append_new(own, json_string(buf));
	}
	o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:b, s:i, s:b, s:b, s:o, s:b}", "id",
		      (json_int_t)t->id, "user_id", (json_int_t)t->user_id, "interface",
		      t->interface, "name", t->name, "public_key", t->public_key,
		      "has_preshared_key", t->has_psk, "private_key_generated",
		      t->private_key_generated, "persistent_keepalive", (int)t->keepalive,
		      "enabled", t->enabled, "active", t->active, "expires_at",
		      api_json_time(t->expires_at), "expired",
		      t->expired_at != 0 || (t->expires_at != 0 && t->expires_at <= now));
	if (o == NULL)
		goto err;
	json_object_set_new(o, "addresses", addrs);
	json_object_set_new(o, "own_prefixes", own);
	json_object_set_new(o, "created_at", json_integer(t->created_at));
	json_object_set_new(o, "updated_at", json_integer(t->updated_at));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)(t->rx_total & INT64_MAX)));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)(t->tx_total & INT64_MAX)));
	json_object_set_new(o, "last_handshake", api_json_time(t->last_handshake));
	json_object_set_new(o, "endpoint", api_json_str_or_null(t->endpoint));
	json_object_set_new(o, "connected", json_boolean(api_tunnel_connected(c, t, now)));
	return o;
err:
	json_decref(addrs);
	json_decref(own);
	return NULL;
}

int
api_tunnel_load(struct ctl_http_req *req, struct ctl *c, struct ctl_tunnel *t)
{
	int64_t id;
	int rc;

	memset(t, 0, sizeof(*t));
	if (ctl_http_param_id(req, "id", &id) != 0)
		return -EINVAL;
	rc = ctl_store_tunnel_get(c->store, id, t);
	if (rc == 0 && !api_may_see(req, t->user_id)) {
		ctl_store_tunnel_clear(t);
		rc = -ENOENT;
	}
	if (rc == -ENOENT) {
		api_reply_not_found(req, "tunnel");
		return rc;
	}
	if (rc != 0) {
		api_reply_errno(req, rc, "tunnel", NULL);
		return rc;
	}
	return 0;
}

/* ---- listing ------------------------------------------------------------- */

struct list_ctx {
	const struct ctl *c;
	json_t *arr;
};

static int
list_one(const struct ctl_tunnel *t, void *arg)
{
	struct list_ctx *lc = arg;
	json_t *o = api_tunnel_json(lc->c, t);

	if (o == NULL || json_array_append_new(lc->arr, o) != 0)
		return -ENOMEM;
	return 0;
}

/* GET /v1/tunnels[?user_id=] — admin: all (or one user's); user: its own. */
int
api_tunnels_list(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct list_ctx lc = {.c = c};
	int64_t user_id;
	int rc;

	if (api_list_owner(req, c, &user_id) != 0)
		return 0;
	lc.arr = json_array();
	if (lc.arr == NULL)
		return -ENOMEM;
	rc = ctl_store_tunnel_foreach(c->store, user_id, list_one, &lc);
	if (rc != 0) {
		json_decref(lc.arr);
		return api_reply_errno(req, rc, "tunnel", NULL);
	}
	return ctl_http_reply_json(req, 200, json_pack("{s:o}", "tunnels", lc.arr));
}

/* ---- creation -------------------------------------------------------------- */

/* "expires_at": unix seconds in the future, or null (never). */
static int
get_expires(struct ctl_http_req *req, json_t *body, int64_t *out)
{
	int64_t v = 0;
	int r;

	r = api_get_int(req, body, "expires_at", NULL, 1, EXPIRES_MAX, true, &v);
	if (r == API_NULL)
		v = 0;
	if (r == API_PRESENT && v <= api_now()) {
		ctl_http_reply_error_field(req, 400, "invalid", "expires_at",
					   "expires_at must be in the future (unix seconds)");
		return -EINVAL;
	}
	*out = v;
	return r;
}

/* "addresses": {"ipv4": n, "ipv6": n}; absent: one IPv4 address. */
static int
get_addresses(struct ctl_http_req *req, json_t *body, unsigned *v4, unsigned *v6)
{
	static const char *const fields[] = {"ipv4", "ipv6", NULL};
	json_t *a = json_object_get(body, "addresses");
	int64_t n4 = 0, n6 = 0;

	*v4 = 1;
	*v6 = 0;
	if (a == NULL)
		return 0;
	if (!json_is_object(a)) {
		ctl_http_reply_error_field(
			req, 400, "invalid", "addresses",
			"addresses must be an object {\"ipv4\": n, \"ipv6\": n}");
		return -EINVAL;
	}
	if (api_fields_check(req, a, "addresses.", fields) < 0 ||
	    api_get_int(req, a, "ipv4", "addresses.ipv4", 0, ADDRESSES_MAX, false, &n4) < 0 ||
	    api_get_int(req, a, "ipv6", "addresses.ipv6", 0, ADDRESSES_MAX, false, &n6) < 0)
		return -EINVAL;
	*v4 = (unsigned)n4;
	*v6 = (unsigned)n6;
	return 0;
}

/* "own_prefixes": ["44.x.y.z/29", ...], each AMPRNet (IPv4) or global
 * unicast (IPv6), no two overlapping. */
static int
get_own(struct ctl_http_req *req, json_t *body, struct ctl_ipam_prefix *own, unsigned *n_own)
{
	json_t *a = json_object_get(body, "own_prefixes"), *v;
	char field[48], why[160];
	size_t i, j;

	*n_own = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > OWN_PREFIXES_MAX) {
		ctl_http_reply_error_field(req, 400, "invalid", "own_prefixes",
					   "own_prefixes must be an array of at most %d prefixes",
					   OWN_PREFIXES_MAX);
		return -EINVAL;
	}
	json_array_foreach (a, i, v) {
		snprintf(field, sizeof(field), "own_prefixes[%zu]", i);
		if (!json_is_string(v) || json_string_length(v) >= CTL_PREFIX_STRLEN) {
			ctl_http_reply_error_field(req, 400, "invalid", field,
						   "%s must be a prefix such as 44.31.7.0/29",
						   field);
			return -EINVAL;
		}
		if (ctl_ipam_prefix_parse(json_string_value(v), &own[i], why, sizeof(why)) != 0 ||
		    ctl_ipam_check_amprnet(&own[i], why, sizeof(why)) != 0) {
			ctl_http_reply_error_field(req, 400, "invalid", field, "%s: %s", field,
						   why);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (ctl_ipam_prefix_overlap(&own[j], &own[i])) {
				ctl_http_reply_error_field(req, 400, "invalid", field,
							   "%s overlaps own_prefixes[%zu]", field,
							   j);
				return -EINVAL;
			}
		}
	}
	*n_own = (unsigned)json_array_size(a);
	return 0;
}

/* user_id: an admin must name the user; a user token may name only itself.
 * Whether the user exists, and the user's limits, ctl_tunnel_create checks
 * inside its transaction (404 user_id, 409 limit_exceeded). */
static int
get_owner(struct ctl_http_req *req, int64_t *user_id)
{
	int64_t id = 0;
	int r;

	r = api_get_int(req, req->body, "user_id", NULL, 1, INT64_MAX, false, &id);
	if (r < 0)
		return r;
	if (!api_is_admin(req)) {
		if (r == API_PRESENT && id != req->principal.user_id) {
			ctl_http_reply_error_field(
				req, 403, "forbidden", "user_id",
				"a user token creates tunnels for its own user only");
			return -EPERM;
		}
		id = req->principal.user_id;
	} else if (r == API_ABSENT) {
		return api_reply_required(req, "user_id");
	}
	*user_id = id;
	return 0;
}

static const char *const create_fields[] = {
	"user_id",
	"interface",
	"name",
	"public_key",
	"preshared_key",
	"persistent_keepalive",
	"addresses",
	"own_prefixes",
	"expires_at",
	"enabled",
	NULL,
};

/* Everything of a creation request but the owner; 0 or -errno (replied). */
static int
parse_create(struct ctl_http_req *req, struct ctl *c, struct ctl_tunnel_req *r,
	     struct ctl_ipam_prefix *own)
{
	json_t *body = req->body;
	int64_t keepalive = 0;
	bool enabled = true;

	if (api_get_str(req, body, "interface", NULL, CTL_IFNAME_MAX, false, &r->interface) < 0)
		return -EINVAL;
	if (ctl_interface(c, r->interface) == NULL) {
		ctl_http_reply_error_field(req, 400, "invalid", "interface",
					   r->interface != NULL ? "no such interface"
								: "no interface is configured");
		return -EINVAL;
	}
	if (api_get_str(req, body, "name", NULL, CTL_LABEL_MAX, false, &r->name) < 0)
		return -EINVAL;
	if (api_get_str(req, body, "public_key", NULL, CTL_KEY_B64_LEN, false, &r->public_key) < 0)
		return -EINVAL;
	if (r->public_key != NULL &&
	    (!ctl_store_key_valid(r->public_key) || strcmp(r->public_key, zero_key) == 0)) {
		ctl_http_reply_error_field(
			req, 400, "invalid", "public_key",
			"public_key must be a WireGuard public key (44 "
			"characters of base64), or absent to have one generated");
		return -EINVAL;
	}
	if (api_get_bool(req, body, "preshared_key", NULL, &r->psk) < 0)
		return -EINVAL;
	if (api_get_int(req, body, "persistent_keepalive", NULL, 0, 65535, false, &keepalive) < 0)
		return -EINVAL;
	r->keepalive = (unsigned)keepalive;
	if (get_addresses(req, body, &r->v4, &r->v6) < 0)
		return -EINVAL;
	if (get_own(req, body, own, &r->n_own) < 0)
		return -EINVAL;
	r->own = own;
	if (r->v4 + r->v6 + r->n_own == 0) {
		ctl_http_reply_error_field(req, 400, "invalid", "addresses",
					   "a tunnel needs at least one address or own prefix");
		return -EINVAL;
	}
	if (r->v4 + r->v6 + r->n_own > ADDRESSES_MAX) {
		ctl_http_reply_error_field(req, 400, "invalid", "addresses",
					   "a tunnel holds at most %d addresses and prefixes",
					   ADDRESSES_MAX);
		return -EINVAL;
	}
	if (get_expires(req, body, &r->expires_at) < 0)
		return -EINVAL;
	if (api_get_bool(req, body, "enabled", NULL, &enabled) < 0)
		return -EINVAL;
	r->disabled = !enabled;
	return 0;
}

/*
 * POST /v1/tunnels -> 201 {tunnel, config, private_key?}. Without
 * public_key the server makes the key pair: private_key and the config
 * holding it are in this response only.
 */
int
api_tunnels_create(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_ipam_prefix own[OWN_PREFIXES_MAX];
	struct ctl_tunnel_req r = {0};
	struct ctl_err err = {0};
	struct ctl_tunnel t;
	char priv[CTL_KEY_B64_LEN + 1] = "";
	char *conf = NULL;
	char loc[64];
	json_t *o, *tj;
	int rc;

	memset(&t, 0, sizeof(t));
	if (api_fields_check(req, req->body, NULL, create_fields) < 0)
		return 0;
	if (get_owner(req, &r.user_id) != 0 || parse_create(req, c, &r, own) != 0)
		return 0;

	rc = ctl_tunnel_create(c, &r, &t, priv, &err);
	if (rc != 0) {
		sodium_memzero(priv, sizeof(priv));
		ctl_store_tunnel_clear(&t);
		return api_reply_ctl_err(req, rc, &err);
	}
	tj = api_tunnel_json(c, &t);
	conf = api_tunnel_config(c, &t, priv[0] != '\0' ? priv : NULL);
	o = json_pack("{s:o}", "tunnel", tj);
	if (o != NULL) {
		if (conf != NULL)
			json_object_set_new(o, "config", json_string(conf));
		if (priv[0] != '\0')
			json_object_set_new(o, "private_key", json_string(priv));
	}
	ctl_wgconf_free(conf);
	sodium_memzero(priv, sizeof(priv));
	snprintf(loc, sizeof(loc), "/v1/tunnels/%" PRId64, t.id);
	ctl_store_tunnel_clear(&t);
	ctl_http_reply_header(req, "Location", loc);
	return ctl_http_reply_json(req, 201, o);
}

/* ---- one tunnel ------------------------------------------------------------ */

/* GET /v1/tunnels/{id} */
int
api_tunnels_get(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_tunnel t;
	json_t *o;

	if (api_tunnel_load(req, c, &t) != 0)
		return 0;
	o = api_tunnel_json(c, &t);
	ctl_store_tunnel_clear(&t);
	return ctl_http_reply_json(req, 200, o);
}

/*
 * PATCH /v1/tunnels/{id} {name?, persistent_keepalive?, preshared_key?
 * (true: a new one, false: none), enabled?, expires_at? (null: never)}
 */
int
api_tunnels_patch(struct ctl_http_req *req, void *ctx)
{
	static const char *const fields[] = {"name",	"persistent_keepalive", "preshared_key",
					     "enabled", "expires_at",		NULL};
	struct ctl *c = ctx;
	struct ctl_tunnel_patch p = {.psk = -1};
	struct ctl_err err = {0};
	struct ctl_tunnel t, out;
	int64_t keepalive = 0;
	bool psk = false;
	json_t *o;
	int r, rc;

	if (api_tunnel_load(req, c, &t) != 0)
		return 0;
	memset(&out, 0, sizeof(out));
	if (api_fields_check(req, req->body, NULL, fields) < 0)
		goto done;
	if (api_get_str(req, req->body, "name", NULL, CTL_LABEL_MAX, false, &p.name) < 0)
		goto done;
	r = api_get_int(req, req->body, "persistent_keepalive", NULL, 0, 65535, false, &keepalive);
	if (r < 0)
		goto done;
	p.has_keepalive = r == API_PRESENT;
	p.keepalive = (unsigned)keepalive;
	if ((r = api_get_bool(req, req->body, "preshared_key", NULL, &psk)) < 0)
		goto done;
	if (r == API_PRESENT)
		p.psk = psk ? 1 : 0;
	if ((r = api_get_bool(req, req->body, "enabled", NULL, &p.enabled)) < 0)
		goto done;
	p.has_enabled = r == API_PRESENT;
	if ((r = get_expires(req, req->body, &p.expires_at)) < 0)
		goto done;
	p.has_expires = r != API_ABSENT;

	if (p.name == NULL && !p.has_keepalive && p.psk < 0 && !p.has_enabled && !p.has_expires) {
		/* nothing to change */
		ctl_http_reply_json(req, 200, api_tunnel_json(c, &t));
		goto done;
	}
	rc = ctl_tunnel_update(c, t.id, &p, &out, &err);
	if (rc != 0) {
		api_reply_ctl_err(req, rc, &err);
		goto done;
	}
	/* reread: out may not carry the addresses */
	ctl_store_tunnel_clear(&out);
	rc = ctl_store_tunnel_get(c->store, t.id, &out);
	if (rc != 0) {
		api_reply_errno(req, rc, "tunnel", NULL);
		goto done;
	}
	o = api_tunnel_json(c, &out);
	ctl_http_reply_json(req, 200, o);
done:
	ctl_store_tunnel_clear(&out);
	ctl_store_tunnel_clear(&t);
	return 0;
}

/* DELETE /v1/tunnels/{id}: the peer leaves the engine, its addresses are
 * freed. */
int
api_tunnels_delete(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_err err = {0};
	struct ctl_tunnel t;
	int64_t id;
	int rc;

	if (api_tunnel_load(req, c, &t) != 0)
		return 0;
	id = t.id;
	ctl_store_tunnel_clear(&t);
	rc = ctl_tunnel_delete(c, id, &err);
	if (rc != 0)
		return api_reply_ctl_err(req, rc, &err);
	return ctl_http_reply_raw(req, 204, NULL, NULL, 0);
}

/* GET /v1/tunnels/{id}/status: the engine's view now; 503 without it. */
int
api_tunnels_status(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_tunnel t;
	json_t *st;

	if (api_tunnel_load(req, c, &t) != 0)
		return 0;
	st = ctl_tunnel_status(c, &t);
	if (st == NULL) {
		ctl_store_tunnel_clear(&t);
		ctl_http_reply_header(req, "Retry-After", "5");
		return ctl_http_reply_error(req, 503, "engine_unavailable",
					    "the engine cannot be asked right now");
	}
	if (json_is_object(st) && json_object_get(st, "id") == NULL)
		json_object_set_new(st, "id", json_integer(t.id));
	ctl_store_tunnel_clear(&t);
	return ctl_http_reply_json(req, 200, st);
}

struct history_ctx {
	json_t *arr;
	bool truncated;
};

static int
history_one(const struct ctl_counter_sample *s, void *arg)
{
	struct history_ctx *h = arg;
	json_t *o;

	if (json_array_size(h->arr) >= HISTORY_MAX) {
		h->truncated = true;
		return 1;
	}
	o = json_pack("{s:I, s:I, s:I}", "ts", (json_int_t)s->ts, "rx_bytes",
		      (json_int_t)(s->rx_bytes & INT64_MAX), "tx_bytes",
		      (json_int_t)(s->tx_bytes & INT64_MAX));
	if (o == NULL || json_array_append_new(h->arr, o) != 0)
		return -ENOMEM;
	return 0;
}

/*
 * GET /v1/tunnels/{id}/history?from=&to= (unix seconds; default: the last
 * day): the byte counts per folding interval, oldest first, at most
 * HISTORY_MAX samples (then "truncated": true: ask for a shorter span).
 */
int
api_tunnels_history(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct history_ctx h = {0};
	struct ctl_tunnel t;
	int64_t from, to = api_now();
	int rc;

	if (ctl_http_query_int(req, "to", 0, EXPIRES_MAX, &to) != 0)
		return 0;
	from = to > HISTORY_SPAN_DEFAULT ? to - HISTORY_SPAN_DEFAULT : 0;
	if (ctl_http_query_int(req, "from", 0, EXPIRES_MAX, &from) != 0)
		return 0;
	if (from > to)
		return ctl_http_reply_error_field(req, 400, "invalid", "from",
						  "from must not be after to");
	if (api_tunnel_load(req, c, &t) != 0)
		return 0;
	h.arr = json_array();
	if (h.arr == NULL) {
		ctl_store_tunnel_clear(&t);
		return -ENOMEM;
	}
	rc = ctl_store_counters_history(c->store, t.id, from, to, history_one, &h);
	if (rc < 0) {
		json_decref(h.arr);
		ctl_store_tunnel_clear(&t);
		return api_reply_errno(req, rc, "tunnel", NULL);
	}
	rc = ctl_http_reply_json(req, 200,
				 json_pack("{s:I, s:I, s:I, s:o, s:b}", "tunnel_id",
					   (json_int_t)t.id, "from", (json_int_t)from, "to",
					   (json_int_t)to, "samples", h.arr, "truncated",
					   h.truncated));
	ctl_store_tunnel_clear(&t);
	return rc;
}
