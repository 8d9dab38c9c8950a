/*
 * sync.c — keeping the engine in line with the store: the full sync after
 * every (re)connection, folding the engine's per-peer counters into the
 * store, and tunnel expiry. Main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "ctl.h"

enum { SYNC_CHUNK = 256 };

struct batch {
	struct ctl *c;
	json_t *cmds;
	int rc;
	json_t *keep; /* public keys the store has, per interface */
};

static int
flush(struct batch *b)
{
	char msg[256];
	json_t *res = NULL;
	int rc;

	if (json_array_size(b->cmds) == 0)
		return 0;
	rc = ctl_engine_call(b->c->engine, json_pack("{ss sO}", "cmd", "batch", "commands", b->cmds),
			     &res, msg, sizeof(msg));
	json_array_clear(b->cmds);
	if (rc == 0) {
		size_t i;
		json_t *r;

		json_array_foreach(res, i, r) {
			if (!json_is_true(json_object_get(r, "ok"))) {
				syslog(LOG_WARNING, "sync: engine refused a change: %s",
				       json_string_value(json_object_get(
					       json_object_get(r, "error"), "message")));
			}
		}
	}
	json_decref(res);
	return rc;
}

static int
add_tunnel(const struct ctl_tunnel *t, void *arg)
{
	struct batch *b = arg;

	json_object_set_new(b->keep, t->public_key, json_true());
	json_array_append_new(b->cmds, ctl_peer_set_json(t));
	if (json_array_size(b->cmds) >= SYNC_CHUNK) {
		b->rc = flush(b);
		return b->rc;
	}
	return 0;
}

int
ctl_engine_sync(struct ctl *c)
{
	char msg[256];
	int rc = 0;

	if (!ctl_engine_connected(c->engine))
		return -ENOTCONN;
	for (unsigned i = 0; rc == 0 && i < c->cfg.n_ifs; i++) {
		const char *ifname = c->cfg.ifs[i].name;
		struct batch b = {.c = c, .cmds = json_array(), .keep = json_object()};
		json_t *peers = NULL, *p;
		size_t k;

		rc = ctl_store_tunnel_foreach_active(c->store, ifname, add_tunnel, &b);
		if (rc == 0)
			rc = b.rc ? b.rc : flush(&b);
		/* what the engine has and the store does not, goes */
		if (rc == 0)
			rc = ctl_engine_call(c->engine,
					     json_pack("{ss ss}", "cmd", "peer.list", "interface",
						       ifname),
					     &peers, msg, sizeof(msg));
		json_array_foreach(peers, k, p) {
			const char *pub = json_string_value(json_object_get(p, "public_key"));

			if (rc != 0 || pub == NULL || json_object_get(b.keep, pub) != NULL)
				continue;
			json_array_append_new(b.cmds,
					      json_pack("{ss ss ss}", "cmd", "peer.remove",
							"interface", ifname, "public_key", pub));
			if (json_array_size(b.cmds) >= SYNC_CHUNK)
				rc = flush(&b);
		}
		if (rc == 0)
			rc = flush(&b);
		json_decref(peers);
		json_decref(b.cmds);
		json_decref(b.keep);
	}
	if (rc == 0) {
		c->synced_generation = ctl_engine_generation(c->engine);
		syslog(LOG_INFO, "engine synced");
	} else {
		syslog(LOG_WARNING, "engine sync failed: %s", strerror(-rc));
	}
	return rc;
}

/* Last counters seen per tunnel, to fold deltas. */
struct seen {
	int64_t id;
	uint64_t rx, tx;
};
static struct seen *seen;
static size_t n_seen, cap_seen;
static uint64_t seen_instance;
static bool seen_valid;

static struct seen *
seen_find(int64_t id, bool add)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].id == id)
			return &seen[i];
	if (!add)
		return NULL;
	if (n_seen == cap_seen) {
		size_t cap = cap_seen ? cap_seen * 2 : 256;
		struct seen *v = realloc(seen, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		seen = v;
		cap_seen = cap;
	}
	seen[n_seen] = (struct seen){.id = id};
	return &seen[n_seen++];
}

void
ctl_counters_fold(struct ctl *c, int64_t now)
{
	json_t *stats = NULL, *peers = NULL, *p;
	char msg[256];
	uint64_t instance;
	bool first;
	size_t k;

	if (!ctl_engine_connected(c->engine) ||
	    ctl_engine_call(c->engine, json_pack("{ss}", "cmd", "stats"), &stats, msg,
			    sizeof(msg)) != 0)
		return;
	instance = (uint64_t)json_integer_value(json_object_get(stats, "instance"));
	json_decref(stats);
	/* a restarted engine counts from zero again; our own restart lost the
	 * baselines, so the first round after it only takes them */
	first = !seen_valid;
	if (seen_valid && instance != seen_instance)
		n_seen = 0;
	if (ctl_engine_call(c->engine, json_pack("{ss}", "cmd", "peer.list"), &peers, msg,
			    sizeof(msg)) != 0)
		return;
	if (ctl_store_begin(c->store) != 0) {
		json_decref(peers);
		return;
	}
	json_array_foreach(peers, k, p) {
		const char *ifname = json_string_value(json_object_get(p, "interface"));
		const char *pub = json_string_value(json_object_get(p, "public_key"));
		const char *ep = json_string_value(json_object_get(p, "endpoint"));
		uint64_t rx = (uint64_t)json_integer_value(json_object_get(p, "rx_bytes"));
		uint64_t tx = (uint64_t)json_integer_value(json_object_get(p, "tx_bytes"));
		int64_t hs = json_integer_value(json_object_get(p, "last_handshake"));
		struct ctl_tunnel t;
		struct seen *s;

		if (ifname == NULL || pub == NULL ||
		    ctl_store_tunnel_get_by_key(c->store, ifname, pub, &t) != 0)
			continue;
		s = seen_find(t.id, true);
		if (s != NULL) {
			uint64_t drx = first ? 0 : rx >= s->rx ? rx - s->rx : rx;
			uint64_t dtx = first ? 0 : tx >= s->tx ? tx - s->tx : tx;

			ctl_store_counters_fold(c->store, t.id, now, drx, dtx, hs, ep);
			s->rx = rx;
			s->tx = tx;
		}
		ctl_store_tunnel_clear(&t);
	}
	if (ctl_store_commit(c->store) != 0)
		ctl_store_rollback(c->store);
	seen_instance = instance;
	seen_valid = true;
	json_decref(peers);
}

struct idlist {
	int64_t *v;
	size_t n, cap;
};

static int
collect(const struct ctl_tunnel *t, void *arg)
{
	struct idlist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int64_t *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = t->id;
	return 0;
}

void
ctl_expiry_run(struct ctl *c, int64_t now)
{
	struct idlist due = {0}, gone = {0};
	struct ctl_err e;

	/* expired: disabled (out of the engine), kept for the grace period */
	if (ctl_store_tunnel_foreach_expiring(c->store, now, collect, &due) == 0)
		for (size_t i = 0; i < due.n; i++)
			if (ctl_tunnel_expire(c, due.v[i], now, &e) != 0)
				syslog(LOG_WARNING, "expiry of tunnel %lld: %s",
				       (long long)due.v[i], e.message);
	/* then removed */
	if (ctl_store_tunnel_foreach_expired(c->store, now - (int64_t)c->cfg.expiry_grace_s,
					     collect, &gone) == 0)
		for (size_t i = 0; i < gone.n; i++)
			if (ctl_tunnel_delete(c, gone.v[i], &e) != 0)
				syslog(LOG_WARNING, "removal of expired tunnel %lld: %s",
				       (long long)gone.v[i], e.message);
	free(due.v);
	free(gone.v);
}
