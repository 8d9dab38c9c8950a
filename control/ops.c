/*
 * ops.c — gate44-control's transactional operations (see ctl.h). Main
 * thread. Each public operation: BEGIN; change the store; tell the engine;
 * COMMIT. When the engine refuses or cannot be reached the store is rolled
 * back; when anything fails after the engine changed, the store is rolled
 * back and a full sync puts the engine back in line with the store, so the
 * two never disagree for longer than the call.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <sodium.h>

#include "api.h"
#include "ctl.h"


int
ctl_errf(struct ctl_err *e, unsigned status, const char *code, const char *field,
	 const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->field, sizeof(e->field), "%s", field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return status >= 500 ? -EIO : -EINVAL;
}

/* A store error as an API error. */
static int
store_err(struct ctl_err *e, int rc, const char *what)
{
	switch (rc) {
	case -ENOENT:
		return ctl_errf(e, 404, "not_found", NULL, "%s not found", what);
	case -EEXIST:
		return ctl_errf(e, 409, "conflict", NULL, "%s already exists", what);
	case -EROFS:
		return ctl_errf(e, 503, "store_readonly", NULL, "the store is read-only");
	case -ENOSPC:
		return ctl_errf(e, 507, "store_full", NULL, "the store's disk is full");
	case -EBUSY:
		return ctl_errf(e, 503, "store_busy", NULL, "the store is busy");
	default:
		return ctl_errf(e, 500, "store_error", NULL, "the store failed (%s)",
				strerror(-rc));
	}
}

static int
engine_err(struct ctl_err *e, int rc, const char *msg)
{
	if (rc == -ENOTCONN || rc == -ETIMEDOUT)
		return ctl_errf(e, 503, "engine_unavailable", NULL, "%s", msg);
	if (rc == -EEXIST)
		return ctl_errf(e, 409, "conflict", NULL, "%s", msg);
	if (rc == -ENOSPC)
		return ctl_errf(e, 507, "engine_full", NULL, "%s", msg);
	return ctl_errf(e, 500, "engine_error", NULL, "%s", msg);
}

const struct ctl_cfg_if *
ctl_interface(const struct ctl *c, const char *name)
{
	for (unsigned i = 0; i < c->cfg.n_ifs; i++)
		if (name == NULL || strcmp(c->cfg.ifs[i].name, name) == 0)
			return &c->cfg.ifs[i];
	return NULL;
}

json_t *
ctl_peer_set_json(const struct ctl_tunnel *t)
{
	json_t *allowed = json_array(), *req;
	char pfx[64], psk[64];

	for (size_t i = 0; i < t->n_addrs; i++) {
		ctl_ipam_prefix_format(&t->addrs[i].prefix, pfx, sizeof(pfx));
		json_array_append_new(allowed, json_string(pfx));
	}
	req = json_pack("{ss ss ss si so sb}", "cmd", "peer.set", "interface", t->interface,
			"public_key", t->public_key, "persistent_keepalive", (int)t->keepalive,
			"allowed_ips", allowed, "replace_allowed_ips", 1);
	if (t->endpoint[0] != '\0') /* set by an operator, or last seen */
		json_object_set_new(req, "endpoint", json_string(t->endpoint));
	if (t->has_psk) {
		sodium_bin2base64(psk, sizeof(psk), t->psk, 32, sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(req, "preshared_key", json_string(psk));
		sodium_memzero(psk, sizeof(psk));
	} else {
		json_object_set_new(req, "preshared_key", json_null());
	}
	return req;
}

static json_t *
peer_remove_json(const char *ifname, const char *pub)
{
	return json_pack("{ss ss ss}", "cmd", "peer.remove", "interface", ifname, "public_key",
			 pub);
}

/* Make the engine hold t as the store says (present when active). */
static int
engine_apply(struct ctl *c, const struct ctl_tunnel *t, struct ctl_err *e)
{
	char msg[256];
	int rc;

	c->engine_dirty = true;
	if (t->active)
		rc = ctl_engine_call(c->engine, ctl_peer_set_json(t), NULL, msg, sizeof(msg));
	else {
		rc = ctl_engine_call(c->engine, peer_remove_json(t->interface, t->public_key), NULL,
				     msg, sizeof(msg));
		if (rc == -ENOENT)
			rc = 0;
	}
	return rc == 0 ? 0 : engine_err(e, rc, msg);
}

static int
engine_remove(struct ctl *c, const struct ctl_tunnel *t, struct ctl_err *e)
{
	char msg[256];
	int rc;

	c->engine_dirty = true;
	rc = ctl_engine_call(c->engine, peer_remove_json(t->interface, t->public_key), NULL,
				 msg, sizeof(msg));

	return rc == 0 || rc == -ENOENT ? 0 : engine_err(e, rc, msg);
}

/* Begin, or explain why not (the engine must be there to change anything). */
int
ctl_tx_begin(struct ctl *c, struct ctl_err *e)
{
	int rc;

	c->engine_dirty = false;
	if (!ctl_engine_connected(c->engine) || c->synced_generation != ctl_engine_generation(c->engine))
		return ctl_errf(e, 503, "engine_unavailable", NULL,
				"the engine is not connected (or not synced yet): try again");
	rc = ctl_store_begin(c->store);
	return rc == 0 ? 0 : store_err(e, rc, "transaction");
}

/* Commit; when that fails, the engine already changed: roll back and put
 * the engine back in line with the store. */
int
ctl_tx_commit(struct ctl *c, struct ctl_err *e)
{
	int rc = ctl_store_commit(c->store);

	if (rc == 0)
		return 0;
	ctl_store_rollback(c->store);
	ctl_engine_sync(c);
	return store_err(e, rc, "commit");
}

/* Roll back; when the engine changed in the meantime, put it back in line
 * with the store. */
void
ctl_tx_abort(struct ctl *c)
{
	ctl_store_rollback(c->store);
	if (c->engine_dirty)
		ctl_engine_sync(c);
	c->engine_dirty = false;
}

static void
b64(char out[45], const uint8_t key[32])
{
	sodium_bin2base64(out, 45, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

static int
check_limits(struct ctl *c, const struct ctl_user *u, unsigned more_tunnels, unsigned more_addrs,
	     struct ctl_err *e)
{
	unsigned tunnels = 0, addrs = 0;
	int64_t max_t = u->max_tunnels == CTL_LIMIT_DEFAULT ? CTL_API_MAX_TUNNELS_DEFAULT : u->max_tunnels;
	int64_t max_a =
		u->max_addresses == CTL_LIMIT_DEFAULT ? CTL_API_MAX_ADDRESSES_DEFAULT : u->max_addresses;
	int rc = ctl_store_user_usage(c->store, u->id, &tunnels, &addrs);

	if (rc != 0)
		return store_err(e, rc, "user");
	if ((int64_t)(tunnels + more_tunnels) > max_t)
		return ctl_errf(e, 409, "limit_exceeded", "user_id",
				"user %s may hold at most %lld tunnels", u->name, (long long)max_t);
	if ((int64_t)(addrs + more_addrs) > max_a)
		return ctl_errf(e, 409, "limit_exceeded", "addresses",
				"user %s may hold at most %lld addresses", u->name, (long long)max_a);
	return 0;
}

static int
allocate(struct ctl *c, const char *ifname, int family, unsigned n, int64_t tunnel_id,
	 struct ctl_err *e)
{
	struct ctl_pool pool;
	struct ctl_address *out;
	char msg[256];
	int rc;

	if (n == 0)
		return 0;
	rc = ctl_ipam_pool_for(c->store, ifname, family, &pool);
	if (rc == -ENOENT)
		return ctl_errf(e, 400, "no_pool", "addresses", "interface %s has no IPv%d pool",
				ifname, family == AF_INET ? 4 : 6);
	if (rc != 0)
		return store_err(e, rc, "pool");
	out = calloc(n, sizeof(*out));
	if (out == NULL)
		return ctl_errf(e, 500, "no_memory", NULL, "out of memory");
	rc = ctl_ipam_allocate(c->store, pool.id, tunnel_id, n, out, msg, sizeof(msg));
	free(out);
	if (rc == -ENOSPC)
		return ctl_errf(e, 409, "pool_exhausted", "addresses", "pool %s: %s", pool.name,
				msg);
	return rc == 0 ? 0 : store_err(e, rc, "address");
}

int
ctl_tunnel_create_tx(struct ctl *c, const struct ctl_tunnel_req *r, struct ctl_tunnel *out,
		     char private_key_b64[45], struct ctl_err *e)
{
	const struct ctl_cfg_if *ifc = ctl_interface(c, r->interface);
	struct ctl_tunnel t = {0};
	struct ctl_user u;
	uint8_t priv[32], pub[32];
	char msg[256];
	int rc;

	private_key_b64[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (ifc == NULL)
		return ctl_errf(e, 400, "invalid", "interface", "no such interface");
	rc = ctl_store_user_get(c->store, r->user_id, &u);
	if (rc != 0)
		return rc == -ENOENT ? ctl_errf(e, 404, "not_found", "user_id", "no such user")
				     : store_err(e, rc, "user");
	if (r->public_key != NULL && !ctl_store_key_valid(r->public_key))
		return ctl_errf(e, 400, "invalid", "public_key",
				"not a WireGuard public key (44 characters of base64)");
	rc = check_limits(c, &u, 1, r->v4 + r->v6 + r->n_own, e);
	if (rc != 0)
		return rc;
	snprintf(t.interface, sizeof(t.interface), "%s", ifc->name);
	snprintf(t.name, sizeof(t.name), "%s", r->name != NULL ? r->name : "");
	if (r->public_key != NULL) {
		snprintf(t.public_key, sizeof(t.public_key), "%s", r->public_key);
	} else {
		randombytes_buf(priv, sizeof(priv));
		crypto_scalarmult_curve25519_base(pub, priv);
		b64(t.public_key, pub);
		b64(private_key_b64, priv);
		sodium_memzero(priv, sizeof(priv));
		t.private_key_generated = true;
	}
	t.user_id = u.id;
	t.has_psk = r->psk;
	if (r->psk)
		randombytes_buf(t.psk, sizeof(t.psk));
	t.keepalive = (uint16_t)r->keepalive;
	t.enabled = !r->disabled;
	t.expires_at = r->expires_at;
	rc = ctl_store_tunnel_create(c->store, &t);
	sodium_memzero(t.psk, sizeof(t.psk));
	if (rc != 0)
		return rc == -EEXIST ? ctl_errf(e, 409, "duplicate_key", "public_key",
						"a tunnel with this public key exists")
				     : store_err(e, rc, "tunnel");
	rc = allocate(c, ifc->name, AF_INET, r->v4, t.id, e);
	if (rc == 0)
		rc = allocate(c, ifc->name, AF_INET6, r->v6, t.id, e);
	for (unsigned i = 0; rc == 0 && i < r->n_own; i++) {
		struct ctl_address a;

		rc = ctl_ipam_assign(c->store, t.id, &r->own[i], &a, msg, sizeof(msg));
		if (rc == -EINVAL)
			rc = ctl_errf(e, 400, "invalid", "own_prefixes", "%s", msg);
		else if (rc == -EEXIST)
			rc = ctl_errf(e, 409, "address_taken", "own_prefixes", "%s", msg);
		else if (rc != 0)
			rc = store_err(e, rc, "address");
	}
	if (rc != 0)
		return rc;
	rc = ctl_store_tunnel_get(c->store, t.id, out);
	if (rc != 0)
		return store_err(e, rc, "tunnel");
	rc = engine_apply(c, out, e);
	if (rc != 0)
		ctl_store_tunnel_clear(out);
	return rc;
}

int
ctl_tunnel_create(struct ctl *c, const struct ctl_tunnel_req *r, struct ctl_tunnel *out,
		  char private_key_b64[45], struct ctl_err *e)
{
	int rc = ctl_tx_begin(c, e);

	private_key_b64[0] = '\0';
	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	rc = ctl_tunnel_create_tx(c, r, out, private_key_b64, e);
	if (rc != 0) {
		ctl_tx_abort(c);
	} else {
		rc = ctl_tx_commit(c, e);
		if (rc != 0)
			ctl_store_tunnel_clear(out);
	}
	if (rc != 0)
		sodium_memzero(private_key_b64, 45);
	return rc;
}

static bool
has_prefix(const struct ctl_tunnel *t, const struct ctl_ipam_prefix *p)
{
	for (size_t i = 0; i < t->n_addrs; i++)
		if (t->addrs[i].prefix.family == p->family && t->addrs[i].prefix.plen == p->plen &&
		    memcmp(t->addrs[i].prefix.addr, p->addr, 16) == 0)
			return true;
	return false;
}

/* Within a transaction: make t's addresses exactly `allowed`. */
static int
set_allowed(struct ctl *c, const struct ctl_tunnel *t, const struct ctl_ipam_prefix *allowed,
	    unsigned n, struct ctl_err *e)
{
	char msg[256];
	int rc;

	for (size_t i = 0; i < t->n_addrs; i++) {
		bool keep = false;

		for (unsigned k = 0; k < n && !keep; k++)
			keep = ctl_ipam_prefix_overlap(&t->addrs[i].prefix, &allowed[k]) &&
			       t->addrs[i].prefix.plen == allowed[k].plen;
		if (!keep) {
			rc = ctl_ipam_release(c->store, t->id, &t->addrs[i].prefix);
			if (rc != 0)
				return store_err(e, rc, "address");
		}
	}
	for (unsigned k = 0; k < n; k++) {
		struct ctl_address a;

		if (has_prefix(t, &allowed[k]))
			continue;
		rc = ctl_ipam_assign(c->store, t->id, &allowed[k], &a, msg, sizeof(msg));
		if (rc == -EINVAL)
			return ctl_errf(e, 400, "invalid", "allowed_ips", "%s", msg);
		if (rc == -EEXIST)
			return ctl_errf(e, 409, "address_taken", "allowed_ips", "%s", msg);
		if (rc != 0)
			return store_err(e, rc, "address");
	}
	return 0;
}

int
ctl_tunnel_update_tx(struct ctl *c, int64_t id, const struct ctl_tunnel_patch *p,
		     struct ctl_tunnel *out, struct ctl_err *e)
{
	struct ctl_tunnel t;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ctl_store_tunnel_get(c->store, id, &t);
	if (rc != 0)
		return store_err(e, rc, "tunnel");
	if (p->name != NULL)
		snprintf(t.name, sizeof(t.name), "%s", p->name);
	if (p->has_keepalive)
		t.keepalive = (uint16_t)p->keepalive;
	if (p->psk == 0) {
		t.has_psk = false;
		sodium_memzero(t.psk, sizeof(t.psk));
	} else if (p->psk == 1) {
		t.has_psk = true;
		randombytes_buf(t.psk, sizeof(t.psk));
	} else if (p->psk == 2) {
		t.has_psk = true;
		memcpy(t.psk, p->psk_value, sizeof(t.psk));
	}
	if (p->has_enabled)
		t.enabled = p->enabled;
	if (p->has_expires) {
		t.expires_at = p->expires_at;
		if (t.expires_at == 0 || t.expires_at > time(NULL))
			t.expired_at = 0;
	}
	if (p->endpoint != NULL)
		snprintf(t.endpoint, sizeof(t.endpoint), "%s", p->endpoint);
	rc = ctl_store_tunnel_update(c->store, &t);
	if (rc != 0)
		rc = store_err(e, rc, "tunnel");
	else if (p->has_allowed)
		rc = set_allowed(c, &t, p->allowed, p->n_allowed, e);
	ctl_store_tunnel_clear(&t);
	if (rc != 0)
		return rc;
	rc = ctl_store_tunnel_get(c->store, id, out);
	if (rc != 0)
		return store_err(e, rc, "tunnel");
	rc = engine_apply(c, out, e);
	if (rc != 0)
		ctl_store_tunnel_clear(out);
	return rc;
}

int
ctl_tunnel_update(struct ctl *c, int64_t id, const struct ctl_tunnel_patch *p,
		  struct ctl_tunnel *out, struct ctl_err *e)
{
	int rc = ctl_tx_begin(c, e);

	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	rc = ctl_tunnel_update_tx(c, id, p, out, e);
	if (rc != 0) {
		ctl_tx_abort(c);
		return rc;
	}
	rc = ctl_tx_commit(c, e);
	if (rc != 0)
		ctl_store_tunnel_clear(out);
	return rc;
}

int
ctl_tunnel_delete_tx(struct ctl *c, int64_t id, struct ctl_err *e)
{
	struct ctl_tunnel t;
	int rc = ctl_store_tunnel_get(c->store, id, &t);

	if (rc != 0)
		return store_err(e, rc, "tunnel");
	rc = ctl_store_tunnel_delete(c->store, id);
	if (rc != 0)
		rc = store_err(e, rc, "tunnel");
	else
		rc = engine_remove(c, &t, e);
	ctl_store_tunnel_clear(&t);
	return rc;
}

int
ctl_tunnel_delete(struct ctl *c, int64_t id, struct ctl_err *e)
{
	int rc = ctl_tx_begin(c, e);

	if (rc != 0)
		return rc;
	rc = ctl_tunnel_delete_tx(c, id, e);
	if (rc != 0) {
		ctl_tx_abort(c);
		return rc;
	}
	return ctl_tx_commit(c, e);
}

json_t *
ctl_tunnel_status(struct ctl *c, const struct ctl_tunnel *t)
{
	json_t *res = NULL, *out;
	char msg[256];
	int64_t hs, now = time(NULL);

	if (ctl_engine_call(c->engine,
			    json_pack("{ss ss ss}", "cmd", "peer.get", "interface", t->interface,
				      "public_key", t->public_key),
			    &res, msg, sizeof(msg)) != 0) {
		if (!ctl_engine_connected(c->engine))
			return NULL;
		/* not in the engine: an inactive tunnel */
		return json_pack("{so si si si sb sb}", "endpoint", json_null(), "last_handshake", 0,
				 "rx_bytes", 0, "tx_bytes", 0, "connected", 0, "active", 0);
	}
	hs = json_integer_value(json_object_get(res, "last_handshake"));
	out = json_pack("{sO sI sO sO sb sb}", "endpoint", json_object_get(res, "endpoint"),
			"last_handshake", (json_int_t)hs, "rx_bytes",
			json_object_get(res, "rx_bytes"), "tx_bytes",
			json_object_get(res, "tx_bytes"), "connected",
			hs != 0 && now - hs < (int64_t)c->cfg.connected_window_s, "active", 1);
	json_decref(res);
	return out;
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int
collect_id(const struct ctl_tunnel *t, void *arg)
{
	struct ids *ids = arg;

	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 64;
		int64_t *v = realloc(ids->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = t->id;
	return 0;
}

/* Within a transaction: put each of the user's tunnels in the engine as the
 * store now says. */
static int
apply_user_tunnels(struct ctl *c, int64_t user_id, bool remove_all, struct ctl_err *e)
{
	struct ids ids = {0};
	int rc = ctl_store_tunnel_foreach(c->store, user_id, collect_id, &ids);

	if (rc != 0) {
		free(ids.v);
		return store_err(e, rc, "tunnels");
	}
	for (size_t i = 0; rc == 0 && i < ids.n; i++) {
		struct ctl_tunnel t;

		rc = ctl_store_tunnel_get(c->store, ids.v[i], &t);
		if (rc != 0) {
			rc = store_err(e, rc, "tunnel");
			break;
		}
		rc = remove_all ? engine_remove(c, &t, e) : engine_apply(c, &t, e);
		ctl_store_tunnel_clear(&t);
	}
	free(ids.v);
	return rc;
}

int
ctl_user_set_disabled(struct ctl *c, int64_t id, bool disabled, struct ctl_err *e)
{
	struct ctl_user u;
	int rc = ctl_tx_begin(c, e);

	if (rc != 0)
		return rc;
	rc = ctl_store_user_get(c->store, id, &u);
	if (rc == 0) {
		u.disabled = disabled;
		rc = ctl_store_user_update(c->store, &u);
	}
	if (rc != 0) {
		ctl_tx_abort(c);
		return store_err(e, rc, "user");
	}
	rc = apply_user_tunnels(c, id, false, e);
	if (rc != 0) {
		ctl_tx_abort(c);
		return rc;
	}
	return ctl_tx_commit(c, e);
}

int
ctl_user_delete(struct ctl *c, int64_t id, struct ctl_err *e)
{
	struct ctl_user u;
	int rc = ctl_tx_begin(c, e);

	if (rc != 0)
		return rc;
	rc = ctl_store_user_get(c->store, id, &u);
	if (rc != 0) {
		ctl_tx_abort(c);
		return store_err(e, rc, "user");
	}
	/* the tunnels leave the engine first, then the user (and with it, by
	 * cascade, its tunnels, addresses and tokens) leaves the store */
	rc = apply_user_tunnels(c, id, true, e);
	if (rc == 0) {
		rc = ctl_store_user_delete(c->store, id);
		if (rc != 0)
			rc = store_err(e, rc, "user");
	}
	if (rc != 0) {
		ctl_tx_abort(c);
		return rc;
	}
	return ctl_tx_commit(c, e);
}

int
ctl_tunnel_expire(struct ctl *c, int64_t id, int64_t now, struct ctl_err *e)
{
	struct ctl_tunnel t;
	int rc = ctl_tx_begin(c, e);

	if (rc != 0)
		return rc;
	rc = ctl_store_tunnel_expire(c->store, id, now);
	if (rc == 0)
		rc = ctl_store_tunnel_get(c->store, id, &t);
	if (rc != 0) {
		ctl_tx_abort(c);
		return store_err(e, rc, "tunnel");
	}
	rc = engine_apply(c, &t, e); /* inactive now: removed from the engine */
	ctl_store_tunnel_clear(&t);
	if (rc != 0) {
		ctl_tx_abort(c);
		return rc;
	}
	return ctl_tx_commit(c, e);
}
