/*
 * uapi_glue.c — the UAPI operations of gate44-control (see uapi_glue.h).
 * Main thread. A set=1 request is one transaction: every peer operation in
 * it is applied to the store and the engine, or none is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sodium.h>

#include "ctl.h"
#include "uapi_glue.h"

struct peers {
	struct uapi_peer_info *v;
	size_t n, cap;
};

static int
parse_endpoint(const char *s, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL || *s == '\0')
		return -EINVAL;
	colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	port = strtoul(colon + 1, NULL, 10);
	if (s[0] == '[') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (colon - s < 2 || colon[-1] != ']')
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(colon - s - 2));
		host[colon - s - 2] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

static void
format_endpoint(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else {
		buf[0] = '\0';
	}
}

static int
add_peer(const struct ctl_tunnel *t, void *arg)
{
	struct peers *ps = arg;
	struct uapi_peer_info *p;
	size_t klen;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 32;
		struct uapi_peer_info *v = realloc(ps->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	p = &ps->v[ps->n];
	memset(p, 0, sizeof(*p));
	if (sodium_base642bin(p->public_key, 32, t->public_key, strlen(t->public_key), NULL, &klen,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    klen != 32)
		return 0; /* not a key the engine could hold: skip */
	if (t->has_psk)
		memcpy(p->preshared_key, t->psk, 32);
	p->persistent_keepalive = t->keepalive;
	p->allowed_ips = calloc(t->n_addrs + 1, sizeof(*p->allowed_ips));
	if (p->allowed_ips == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_addrs; i++) {
		p->allowed_ips[i].family = (uint8_t)t->addrs[i].prefix.family;
		p->allowed_ips[i].plen = t->addrs[i].prefix.plen;
		memcpy(p->allowed_ips[i].addr.bytes, t->addrs[i].prefix.addr, 16);
	}
	p->n_allowed_ips = t->n_addrs;
	ps->n++;
	return 0;
}

static void
get_free(void *ctx, struct uapi_device *dev)
{
	(void)ctx;
	if (dev == NULL)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowed_ips);
	sodium_memzero(dev->peers, dev->n_peers * sizeof(*dev->peers));
	free(dev->peers);
	sodium_memzero(dev, sizeof(*dev));
}

static int
get(void *ctx, const char *ifname, struct uapi_device *dev)
{
	struct ctl *c = ctx;
	const struct ctl_cfg_if *ifc = ctl_interface(c, ifname);
	struct peers ps = {0};
	json_t *res = NULL, *x;
	char msg[256];
	size_t i;
	int rc;

	memset(dev, 0, sizeof(*dev));
	if (ifc == NULL)
		return -ENODEV;
	dev->has_private_key = true;
	memcpy(dev->private_key, ifc->private_key, 32);
	rc = ctl_store_tunnel_foreach_active(c->store, ifname, add_peer, &ps);
	dev->peers = ps.v;
	dev->n_peers = ps.n;
	if (rc != 0) {
		get_free(ctx, dev);
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	/* the engine knows the listen port, endpoints, handshakes, counters */
	if (ctl_engine_call(c->engine, json_pack("{ss}", "cmd", "interfaces.list"), &res, msg,
			    sizeof(msg)) == 0) {
		json_array_foreach(res, i, x) {
			if (strcmp(json_string_value(json_object_get(x, "name")) ?: "", ifname) == 0)
				dev->listen_port =
					(uint16_t)json_integer_value(json_object_get(x, "listen_port"));
		}
	}
	json_decref(res);
	res = NULL;
	if (ctl_engine_call(c->engine,
			    json_pack("{ss ss}", "cmd", "peer.list", "interface", ifname), &res,
			    msg, sizeof(msg)) == 0) {
		json_array_foreach(res, i, x) {
			const char *pub = json_string_value(json_object_get(x, "public_key"));
			uint8_t key[32];
			size_t klen;

			if (pub == NULL ||
			    sodium_base642bin(key, 32, pub, strlen(pub), NULL, &klen, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0)
				continue;
			for (size_t k = 0; k < dev->n_peers; k++) {
				struct uapi_peer_info *p = &dev->peers[k];

				if (memcmp(p->public_key, key, 32) != 0)
					continue;
				parse_endpoint(json_string_value(json_object_get(x, "endpoint")),
					       &p->endpoint);
				p->last_handshake_sec = (uint64_t)json_integer_value(
					json_object_get(x, "last_handshake"));
				p->rx_bytes = (uint64_t)json_integer_value(json_object_get(x, "rx_bytes"));
				p->tx_bytes = (uint64_t)json_integer_value(json_object_get(x, "tx_bytes"));
			}
		}
	}
	json_decref(res);
	return 0;
}

static int
err_to_errno(const struct ctl_err *e)
{
	switch (e->status) {
	case 400:
		return -EINVAL;
	case 404:
		return -ENOENT;
	case 409:
		return -EADDRINUSE;
	case 503:
		return -EAGAIN;
	case 507:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static int
uapi_user(struct ctl *c, int64_t *id)
{
	struct ctl_user u;
	int rc = ctl_store_user_get_by_name(c->store, CTL_UAPI_USER, &u);

	if (rc == -ENOENT) {
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), CTL_UAPI_USER);
		u.max_tunnels = INT32_MAX;
		u.max_addresses = INT32_MAX;
		rc = ctl_store_user_create(c->store, &u);
	}
	*id = u.id;
	return rc;
}

struct keyset {
	const struct uapi_set *set;
	int64_t *drop;
	size_t n_drop, cap;
};

static int
collect_unnamed(const struct ctl_tunnel *t, void *arg)
{
	struct keyset *ks = arg;
	char b64[64];

	for (size_t i = 0; i < ks->set->n_peers; i++) {
		sodium_bin2base64(b64, sizeof(b64), ks->set->peers[i].public_key, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		if (!ks->set->peers[i].remove && strcmp(b64, t->public_key) == 0)
			return 0;
	}
	if (ks->n_drop == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 32;
		int64_t *v = realloc(ks->drop, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ks->drop = v;
		ks->cap = cap;
	}
	ks->drop[ks->n_drop++] = t->id;
	return 0;
}

struct by_if {
	const char *ifname;
	struct keyset *ks;
};

static int
collect_if(const struct ctl_tunnel *t, void *arg)
{
	struct by_if *b = arg;

	return strcmp(t->interface, b->ifname) == 0 ? collect_unnamed(t, b->ks) : 0;
}

/* One peer operation, inside the transaction. */
static int
peer_op(struct ctl *c, const char *ifname, const struct uapi_peer_op *op, struct ctl_err *e)
{
	struct ctl_ipam_prefix *allowed = NULL;
	struct ctl_tunnel_patch patch = {.psk = -1};
	struct ctl_tunnel t, out;
	char pub[64], ep[80];
	size_t n = 0;
	bool exists;
	int rc;

	sodium_bin2base64(pub, sizeof(pub), op->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
	exists = ctl_store_tunnel_get_by_key(c->store, ifname, pub, &t) == 0;
	if (op->remove) {
		rc = exists ? ctl_tunnel_delete_tx(c, t.id, e) : 0;
		if (exists)
			ctl_store_tunnel_clear(&t);
		return rc;
	}
	if (!exists && op->update_only)
		return 0;
	/* the allowed IPs it will have: replaced, or added to what it has */
	allowed = calloc(op->n_allowed_ips + (exists ? t.n_addrs : 0) + 1, sizeof(*allowed));
	if (allowed == NULL) {
		if (exists)
			ctl_store_tunnel_clear(&t);
		return ctl_errf(e, 500, "no_memory", NULL, "out of memory");
	}
	if (exists && !op->replace_allowed_ips)
		for (size_t i = 0; i < t.n_addrs; i++)
			allowed[n++] = t.addrs[i].prefix;
	for (size_t i = 0; i < op->n_allowed_ips; i++) {
		struct ctl_ipam_prefix p = {.family = op->allowed_ips[i].family,
					    .plen = op->allowed_ips[i].plen};
		bool dup = false;

		memcpy(p.addr, op->allowed_ips[i].addr.bytes, p.family == AF_INET ? 4 : 16);
		for (size_t k = 0; k < n && !dup; k++)
			dup = allowed[k].family == p.family && allowed[k].plen == p.plen &&
			      memcmp(allowed[k].addr, p.addr, 16) == 0;
		if (!dup)
			allowed[n++] = p;
	}
	if (!exists) {
		struct ctl_tunnel_req req = {.interface = ifname, .public_key = pub};
		char priv[45];

		rc = uapi_user(c, &req.user_id);
		if (rc != 0) {
			free(allowed);
			return ctl_errf(e, 500, "store_error", NULL, "cannot make the wg user");
		}
		rc = ctl_tunnel_create_tx(c, &req, &out, priv, e);
		if (rc != 0) {
			free(allowed);
			return rc;
		}
		memset(&t, 0, sizeof(t));
		t.id = out.id;
		ctl_store_tunnel_clear(&out);
	}
	patch.has_allowed = true;
	patch.allowed = allowed;
	patch.n_allowed = (unsigned)n;
	if (op->has_persistent_keepalive) {
		patch.has_keepalive = true;
		patch.keepalive = op->persistent_keepalive;
	}
	if (op->has_preshared_key) {
		if (sodium_is_zero(op->preshared_key, 32)) {
			patch.psk = 0;
		} else {
			patch.psk = 2;
			memcpy(patch.psk_value, op->preshared_key, 32);
		}
	}
	if (op->has_endpoint) {
		format_endpoint(&op->endpoint, ep, sizeof(ep));
		patch.endpoint = ep;
	}
	rc = ctl_tunnel_update_tx(c, t.id, &patch, &out, e);
	if (rc == 0)
		ctl_store_tunnel_clear(&out);
	if (exists)
		ctl_store_tunnel_clear(&t);
	sodium_memzero(patch.psk_value, sizeof(patch.psk_value));
	free(allowed);
	return rc;
}

static int
set(void *ctx, const char *ifname, const struct uapi_set *s, char *err, size_t errlen)
{
	struct ctl *c = ctx;
	const struct ctl_cfg_if *ifc = ctl_interface(c, ifname);
	struct ctl_err e = {0};
	int rc;

	if (ifc == NULL)
		return -ENODEV;
	if (s->has_private_key && !sodium_is_zero(s->private_key, 32) &&
	    sodium_memcmp(s->private_key, ifc->private_key, 32) != 0) {
		snprintf(err, errlen, "the private key is the engine's: change it in its config");
		return -EPERM;
	}
	if (s->has_fwmark && s->fwmark != 0) {
		snprintf(err, errlen, "fwmark is not supported");
		return -EOPNOTSUPP;
	}
	rc = ctl_tx_begin(c, &e);
	if (rc != 0) {
		snprintf(err, errlen, "%s", e.message);
		return err_to_errno(&e);
	}
	if (s->replace_peers) {
		struct keyset ks = {.set = s};
		struct by_if b = {.ifname = ifname, .ks = &ks};

		rc = ctl_store_tunnel_foreach(c->store, 0, collect_if, &b);
		for (size_t i = 0; rc == 0 && i < ks.n_drop; i++)
			rc = ctl_tunnel_delete_tx(c, ks.drop[i], &e);
		free(ks.drop);
	}
	for (size_t i = 0; rc == 0 && i < s->n_peers; i++)
		rc = peer_op(c, ifname, &s->peers[i], &e);
	if (rc == 0)
		rc = ctl_tx_commit(c, &e);
	else
		ctl_tx_abort(c);
	if (rc != 0) {
		snprintf(err, errlen, "%s", e.message[0] ? e.message : "failed");
		return e.status ? err_to_errno(&e) : rc;
	}
	return 0;
}

const struct uapi_ops ctl_uapi_ops = {
	.get = get,
	.get_free = get_free,
	.set = set,
};
