/*
 * api.c — the engine's operations (see api.h), main lcore only. Every
 * change to routes and allowed IPs runs as a FIB transaction that is
 * committed or aborted whole, so a failed call leaves nothing behind.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <sodium.h>

#include "api.h"
#include "engine.h"
#include "fib.h"
#include "util.h"
#include "wg_data.h"
#include "x25519.h"

/* Per-peer allowed IPs as configured (main lcore), indexed by peer id. */
struct allowed_list {
	struct dp_cfg_prefix *v;
	unsigned n;
};
static struct allowed_list *allowed_of;

unsigned
dp_api_peer_allowed(uint32_t id, const struct dp_cfg_prefix **v)
{
	if (allowed_of == NULL || id >= dp_eng->max_peers) {
		*v = NULL;
		return 0;
	}
	*v = allowed_of[id].v;
	return allowed_of[id].n;
}


static void
dp_endpoint_from_sockaddr(struct dp_endpoint *ep, const struct sockaddr_storage *ss)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		ep->family = AF_INET;
		memcpy(ep->addr, &in->sin_addr, 4);
		ep->port = in->sin_port;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		ep->family = AF_INET6;
		memcpy(ep->addr, &in6->sin6_addr, 16);
		ep->port = in6->sin6_port;
	}
}

static int
ensure_allowed(void)
{
	if (allowed_of == NULL)
		allowed_of = calloc(dp_eng->max_peers, sizeof(*allowed_of));
	return allowed_of == NULL ? -ENOMEM : 0;
}

int
dp_api_wg_find(const char *name)
{
	for (unsigned i = 0; i < dp_eng->n_wg; i++)
		if (strcmp(dp_eng->wg[i].name, name) == 0)
			return (int)i;
	return -1;
}

static uint32_t
local_nh(void)
{
	return dp_nh_make(DP_NH_LOCAL, DP_LOCAL_ADDRESS);
}

/* Add the /32 or /128 of addr as local, and its prefix with nh_prefix. */
static int
add_addr(const struct dp_cfg_prefix *a, uint32_t nh_prefix, char *err, size_t errlen)
{
	uint8_t net[16];
	unsigned bytes = a->family == AF_INET ? 4 : 16, full = a->family == AF_INET ? 32 : 128;
	int rc;

	rc = dp_fib_add(dp_eng->fib, a->family, a->addr, (uint8_t)full, local_nh());
	if (rc != 0 && rc != -EEXIST)
		return dp_errf(err, errlen, rc, "cannot add a local address: %s", strerror(-rc));
	if (a->plen >= full)
		return 0;
	memset(net, 0, sizeof(net));
	memcpy(net, a->addr, bytes);
	for (unsigned b = a->plen; b < full; b++)
		net[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	rc = dp_fib_add(dp_eng->fib, a->family, net, a->plen, nh_prefix);
	if (rc != 0 && rc != -EEXIST)
		return dp_errf(err, errlen, rc, "cannot add a connected prefix: %s", strerror(-rc));
	return 0;
}

int
dp_api_wg_add(const struct dp_cfg_wg *w, char *err, size_t errlen)
{
	struct dp_wg_if *wif;
	char name[32];
	int rc;

	if (dp_eng->n_wg >= DP_MAX_WG)
		return dp_errf(err, errlen, -ENOSPC, "too many WireGuard interfaces");
	if (dp_api_wg_find(w->name) >= 0)
		return dp_errf(err, errlen, -EEXIST, "interface %s exists", w->name);
	wif = &dp_eng->wg[dp_eng->n_wg];
	memset(wif, 0, sizeof(*wif));
	wif->index = (uint16_t)dp_eng->n_wg;
	snprintf(wif->name, sizeof(wif->name), "%s", w->name);
	memcpy(wif->self.priv, w->private_key, WG_KEY_LEN);
	if (cr_x25519_public(wif->self.pub, wif->self.priv) != 0) {
		sodium_memzero(wif, sizeof(*wif));
		return dp_errf(err, errlen, -EINVAL, "%s: bad private key", w->name);
	}
	cr_cookie_checker_init(&wif->cookie, wif->self.pub);
	wif->listen_port = rte_cpu_to_be_16(w->listen_port);
	wif->mtu = w->mtu;
	snprintf(name, sizeof(name), "g44al%u", wif->index);
	wif->allowed = dp_fib_create(name, dp_eng->cfg.routes4, dp_eng->cfg.routes6,
				     (int)rte_socket_id(), dp_eng->qs);
	if (wif->allowed == NULL) {
		sodium_memzero(wif, sizeof(*wif));
		return dp_errf(err, errlen, -ENOMEM, "%s: cannot create the allowed-IPs table", w->name);
	}
	dp_fib_begin(dp_eng->fib);
	for (unsigned i = 0; i < w->n_addrs; i++) {
		struct dp_addr *a = &wif->addrs[wif->n_addrs++];

		a->family = w->addrs[i].family;
		memcpy(a->addr, w->addrs[i].addr, 16);
		a->plen = w->addrs[i].plen;
		/* the tunnel subnet: what no peer claims is unreachable */
		rc = add_addr(&w->addrs[i], dp_nh_make(DP_NH_DROP, 1), err, errlen);
		if (rc != 0) {
			dp_fib_abort(dp_eng->fib);
			dp_fib_free(wif->allowed);
			sodium_memzero(wif, sizeof(*wif));
			return rc;
		}
	}
	rc = dp_fib_commit(dp_eng->fib);
	if (rc != 0) {
		dp_fib_free(wif->allowed);
		sodium_memzero(wif, sizeof(*wif));
		return dp_errf(err, errlen, rc, "%s: cannot commit routes", w->name);
	}
	wif->up = true;
	dp_eng->n_wg++;
	return 0;
}

/* Set prefix -> nh in fib, replacing what was there; the old nh in *old
 * (DP_NH_DROP when none). Inside a transaction. */
static int
fib_replace(struct dp_fib *fib, const struct dp_cfg_prefix *p, uint32_t nh, uint32_t *old,
	    bool *existed)
{
	int rc;

	*existed = dp_fib_get(fib, p->family, p->addr, p->plen, old) == 0;
	if (*existed) {
		rc = dp_fib_del(fib, p->family, p->addr, p->plen);
		if (rc != 0)
			return rc;
	}
	return dp_fib_add(fib, p->family, p->addr, p->plen, nh);
}

static bool
prefix_eq(const struct dp_cfg_prefix *a, const struct dp_cfg_prefix *b)
{
	return a->family == b->family && a->plen == b->plen && memcmp(a->addr, b->addr, 16) == 0;
}

static bool
list_has(const struct allowed_list *l, const struct dp_cfg_prefix *p)
{
	for (unsigned i = 0; i < l->n; i++)
		if (prefix_eq(&l->v[i], p))
			return true;
	return false;
}

static void
list_remove(struct allowed_list *l, const struct dp_cfg_prefix *p)
{
	for (unsigned i = 0; i < l->n; i++) {
		if (prefix_eq(&l->v[i], p)) {
			l->v[i] = l->v[--l->n];
			return;
		}
	}
}

/* An allowed IP that moves from another peer of the interface to this one. */
struct move {
	uint32_t from;
	struct dp_cfg_prefix prefix;
};

int
dp_api_peer_set(const struct dp_peer_conf *c, const struct dp_cfg_prefix *allowed,
		unsigned n_allowed, bool replace_allowed, char *err, size_t errlen)
{
	struct dp_wg_if *wif;
	struct wg_peer *p;
	struct allowed_list *l, next = {0};
	struct move *moves = NULL;
	unsigned n_moves = 0;
	bool created;
	uint32_t nh;
	int rc, id;

	if (ensure_allowed() != 0)
		return dp_errf(err, errlen, -ENOMEM, "out of memory");
	if (c->wg_if >= dp_eng->n_wg)
		return dp_errf(err, errlen, -ENOENT, "no such interface");
	wif = &dp_eng->wg[c->wg_if];
	for (unsigned i = 0; i < n_allowed; i++) {
		if (!dp_prefix_is_network(&allowed[i]))
			return dp_errf(err, errlen, -EINVAL, "allowed IP %u has host bits set", i);
		for (unsigned j = 0; j < i; j++)
			if (prefix_eq(&allowed[i], &allowed[j]))
				return dp_errf(err, errlen, -EINVAL, "allowed IP %u is listed twice", i);
	}
	/* an existing peer keeps its settings until the routes are in place;
	 * a new one needs its id first and is removed again on failure */
	p = wg_peer_find(dp_eng, c->wg_if, c->public_key);
	created = p == NULL;
	if (created) {
		id = wg_peer_set(dp_eng, c);
		if (id < 0)
			return dp_errf(err, errlen, id,
				    id == -ENOSPC ? "peer table full" : "cannot add peer");
		p = &dp_eng->peers[id];
	}
	id = (int)p->id;
	nh = dp_nh_make(DP_NH_PEER, (uint32_t)id);
	l = &allowed_of[id];
	next.v = calloc(n_allowed + (replace_allowed ? 0 : l->n) + 1, sizeof(*next.v));
	moves = calloc(n_allowed + (replace_allowed ? 0 : l->n) + 1, sizeof(*moves));
	if (next.v == NULL || moves == NULL) {
		rc = dp_errf(err, errlen, -ENOMEM, "out of memory");
		goto undo_lists;
	}
	if (!replace_allowed) {
		memcpy(next.v, l->v, l->n * sizeof(*next.v));
		next.n = l->n;
	}
	for (unsigned i = 0; i < n_allowed; i++)
		if (!list_has(&next, &allowed[i]))
			next.v[next.n++] = allowed[i];

	dp_fib_begin(wif->allowed);
	dp_fib_begin(dp_eng->fib);
	/* what this peer no longer has */
	for (unsigned i = 0; i < l->n; i++) {
		uint32_t cur;

		if (list_has(&next, &l->v[i]))
			continue;
		dp_fib_del(wif->allowed, l->v[i].family, l->v[i].addr, l->v[i].plen);
		if (dp_fib_get(dp_eng->fib, l->v[i].family, l->v[i].addr, l->v[i].plen, &cur) ==
			    0 &&
		    cur == nh)
			dp_fib_del(dp_eng->fib, l->v[i].family, l->v[i].addr, l->v[i].plen);
	}
	/* what it has now; an allowed IP of another peer of the interface
	 * moves here, as in wg(8) */
	for (unsigned i = 0; i < next.n; i++) {
		char pfx[DP_CFG_PREFIX_STRLEN];
		uint32_t old;
		bool existed;

		dp_prefix_format(&next.v[i], pfx, sizeof(pfx));
		rc = fib_replace(wif->allowed, &next.v[i], nh, &old, &existed);
		if (rc == 0 && existed && old != nh) {
			moves[n_moves].from = dp_nh_index(old);
			moves[n_moves++].prefix = next.v[i];
		}
		if (rc == 0) {
			rc = fib_replace(dp_eng->fib, &next.v[i], nh, &old, &existed);
			if (rc == 0 && existed && old != nh &&
			    (dp_nh_kind(old) != DP_NH_PEER ||
			     dp_eng->peers[dp_nh_index(old)].wg_if != c->wg_if)) {
				rc = dp_errf(err, errlen, -EEXIST,
					  "allowed IP %s conflicts with a route%s", pfx,
					  dp_nh_kind(old) == DP_NH_PEER ? " to another interface"
									: "");
				goto abort;
			}
		}
		if (rc != 0) {
			dp_errf(err, errlen, rc, "cannot route allowed IP %s: %s", pfx, strerror(-rc));
			goto abort;
		}
	}
	rc = dp_fib_commit(wif->allowed);
	if (rc != 0) {
		dp_errf(err, errlen, rc, "cannot commit: %s", strerror(-rc));
		goto abort;
	}
	rc = dp_fib_commit(dp_eng->fib);
	if (rc != 0) {
		/* the allowed-IPs table went ahead: put it back as it was */
		dp_errf(err, errlen, rc, "cannot commit: %s", strerror(-rc));
		dp_fib_begin(wif->allowed);
		for (unsigned i = 0; i < next.n; i++)
			dp_fib_del(wif->allowed, next.v[i].family, next.v[i].addr, next.v[i].plen);
		for (unsigned i = 0; i < l->n; i++)
			dp_fib_add(wif->allowed, l->v[i].family, l->v[i].addr, l->v[i].plen, nh);
		for (unsigned i = 0; i < n_moves; i++)
			dp_fib_add(wif->allowed, moves[i].prefix.family, moves[i].prefix.addr,
				   moves[i].prefix.plen, dp_nh_make(DP_NH_PEER, moves[i].from));
		dp_fib_commit(wif->allowed);
		goto undo_lists;
	}
	for (unsigned i = 0; i < n_moves; i++)
		list_remove(&allowed_of[moves[i].from], &moves[i].prefix);
	free(moves);
	free(l->v);
	*l = next;
	if (!created)
		wg_peer_set(dp_eng, c); /* cannot fail for an existing peer */
	return id;
abort:
	dp_fib_abort(dp_eng->fib);
	dp_fib_abort(wif->allowed);
undo_lists:
	free(moves);
	free(next.v);
	if (created)
		wg_peer_remove(dp_eng, p);
	return rc;
}

int
dp_api_peer_remove(uint16_t wg_if, const uint8_t pub[32], char *err, size_t errlen)
{
	struct wg_peer *p;
	struct allowed_list *l;
	struct dp_wg_if *wif;
	uint32_t nh;
	int rc;

	if (ensure_allowed() != 0)
		return dp_errf(err, errlen, -ENOMEM, "out of memory");
	if (wg_if >= dp_eng->n_wg)
		return dp_errf(err, errlen, -ENOENT, "no such interface");
	p = wg_peer_find(dp_eng, wg_if, pub);
	if (p == NULL)
		return dp_errf(err, errlen, -ENOENT, "no such peer");
	wif = &dp_eng->wg[wg_if];
	l = &allowed_of[p->id];
	nh = dp_nh_make(DP_NH_PEER, p->id);
	dp_fib_begin(wif->allowed);
	dp_fib_begin(dp_eng->fib);
	for (unsigned i = 0; i < l->n; i++) {
		uint32_t cur;

		dp_fib_del(wif->allowed, l->v[i].family, l->v[i].addr, l->v[i].plen);
		if (dp_fib_get(dp_eng->fib, l->v[i].family, l->v[i].addr, l->v[i].plen, &cur) ==
			    0 &&
		    cur == nh)
			dp_fib_del(dp_eng->fib, l->v[i].family, l->v[i].addr, l->v[i].plen);
	}
	rc = dp_fib_commit(wif->allowed);
	if (rc == 0)
		rc = dp_fib_commit(dp_eng->fib);
	if (rc != 0) {
		dp_fib_abort(dp_eng->fib);
		return dp_errf(err, errlen, rc, "cannot commit: %s", strerror(-rc));
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
	return wg_peer_remove(dp_eng, p);
}

/* Routes added by dp_api_route_add: the only ones dp_api_route_del takes
 * (addresses and allowed IPs go with their owners). */
static struct allowed_list static_routes;

static int
static_add(const struct dp_cfg_prefix *p)
{
	struct dp_cfg_prefix *v = realloc(static_routes.v, (static_routes.n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	static_routes.v = v;
	v[static_routes.n++] = *p;
	return 0;
}

static int
adj_get(uint16_t port, int family, const uint8_t *addr)
{
	int free_slot = -1;

	for (unsigned i = 0; i < DP_MAX_ADJ; i++) {
		struct dp_adj *a = &dp_eng->adj[i];

		if (!a->in_use) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (a->port == port && a->family == family && memcmp(a->addr, addr, 16) == 0)
			return (int)i;
	}
	if (free_slot >= 0) {
		struct dp_adj *a = &dp_eng->adj[free_slot];

		a->port = port;
		a->family = family;
		memset(a->addr, 0, 16);
		memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
		__atomic_store_n(&a->in_use, true, __ATOMIC_RELEASE);
	}
	return free_slot;
}

int
dp_api_route_add(const struct dp_api_route *r, char *err, size_t errlen)
{
	uint32_t nh;
	int rc;

	if (!dp_prefix_is_network(&r->prefix))
		return dp_errf(err, errlen, -EINVAL, "prefix has host bits set");
	switch (r->kind) {
	case DP_ROUTE_VIA: {
		int a;

		if (r->port >= dp_eng->n_ports || dp_eng->ports[r->port].is_exception)
			return dp_errf(err, errlen, -ENOENT, "no such port");
		a = adj_get(r->port, r->prefix.family, r->via);
		if (a < 0)
			return dp_errf(err, errlen, -ENOSPC, "adjacency table full");
		nh = dp_nh_make(DP_NH_ADJ, (uint32_t)a);
		break;
	}
	case DP_ROUTE_PEER: {
		struct wg_peer *p;

		if (r->wg_if >= dp_eng->n_wg)
			return dp_errf(err, errlen, -ENOENT, "no such interface");
		p = wg_peer_find(dp_eng, r->wg_if, r->peer_key);
		if (p == NULL)
			return dp_errf(err, errlen, -ENOENT, "no such peer");
		nh = dp_nh_make(DP_NH_PEER, p->id);
		break;
	}
	case DP_ROUTE_EXCEPTION:
		nh = dp_nh_make(DP_NH_LOCAL, DP_LOCAL_EXCEPTION);
		break;
	case DP_ROUTE_DROP:
	default:
		nh = dp_nh_make(DP_NH_DROP, 1);
		break;
	}
	if (static_add(&r->prefix) != 0)
		return dp_errf(err, errlen, -ENOMEM, "out of memory");
	rc = dp_fib_add(dp_eng->fib, r->prefix.family, r->prefix.addr, r->prefix.plen, nh);
	if (rc != 0) {
		static_routes.n--;
		return dp_errf(err, errlen, rc, rc == -EEXIST ? "route exists" : "cannot add route: %s",
			    strerror(-rc));
	}
	return 0;
}

int
dp_api_route_del(const struct dp_cfg_prefix *prefix, char *err, size_t errlen)
{
	int rc;

	if (!list_has(&static_routes, prefix))
		return dp_errf(err, errlen, -ENOENT,
			    "no such static route (addresses and allowed IPs go with their "
			    "interface or peer)");
	rc = dp_fib_del(dp_eng->fib, prefix->family, prefix->addr, prefix->plen);
	if (rc == 0)
		list_remove(&static_routes, prefix);
	if (rc != 0)
		return dp_errf(err, errlen, rc, rc == -ENOENT ? "no such route" : "cannot delete: %s",
			    strerror(-rc));
	return 0;
}

int
dp_api_apply_config(const struct dp_cfg *cfg, char *err, size_t errlen)
{
	char e2[256];
	int rc;

	/* the POP's own addresses and their on-link prefixes */
	dp_fib_begin(dp_eng->fib);
	for (unsigned i = 0; i < dp_eng->n_ports; i++) {
		const struct dp_port *p = &dp_eng->ports[i];

		for (unsigned k = 0; k < p->n_addrs; k++) {
			struct dp_cfg_prefix a = {.family = p->addrs[k].family,
						  .plen = p->addrs[k].plen};

			memcpy(a.addr, p->addrs[k].addr, 16);
			rc = add_addr(&a, dp_nh_make(DP_NH_CONNECTED, i), err, errlen);
			if (rc != 0) {
				dp_fib_abort(dp_eng->fib);
				return rc;
			}
		}
	}
	rc = dp_fib_commit(dp_eng->fib);
	if (rc != 0)
		return dp_errf(err, errlen, rc, "cannot commit port addresses");
	for (unsigned i = 0; i < cfg->n_wgs; i++) {
		rc = dp_api_wg_add(&cfg->wgs[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	for (unsigned i = 0; i < cfg->n_peers; i++) {
		const struct dp_cfg_peer *cp = &cfg->peers[i];
		struct dp_peer_conf c = {.wg_if = (uint16_t)cp->wg,
					 .has_psk = cp->has_psk,
					 .persistent_keepalive = cp->keepalive};

		memcpy(c.public_key, cp->public_key, 32);
		memcpy(c.psk, cp->psk, 32);
		if (cp->has_endpoint)
			dp_endpoint_from_sockaddr(&c.endpoint, &cp->endpoint);
		rc = dp_api_peer_set(&c, cp->allowed_ips, cp->n_allowed_ips, true, e2, sizeof(e2));
		sodium_memzero(c.psk, sizeof(c.psk));
		if (rc < 0)
			return dp_errf(err, errlen, rc, "%s:%u: %s", "peer", cp->line, e2);
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct dp_cfg_route *cr = &cfg->routes[i];
		struct dp_api_route r = {.kind = cr->kind, .prefix = cr->prefix,
					 .port = (uint16_t)cr->port};

		memcpy(r.via, cr->via, 16);
		if (cr->kind == DP_ROUTE_PEER) {
			r.wg_if = (uint16_t)cfg->peers[cr->peer].wg;
			memcpy(r.peer_key, cfg->peers[cr->peer].public_key, 32);
		}
		rc = dp_api_route_add(&r, e2, sizeof(e2));
		if (rc != 0)
			return dp_errf(err, errlen, rc, "route at line %u: %s", cr->line, e2);
	}
	return 0;
}
