/*
 * wg_peer.c — peers and keypairs on the main lcore (see wg_peer.h).
 * Workers read the keypair index table lock-free; entries are cleared here
 * and the memory is freed only after rte_rcu_qsbr says every worker has
 * passed a quiescent point since.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <sodium.h>

#include "wg_data.h"
#include "wg_peer.h"
#include "x25519.h"

struct key_of {
	uint16_t wg_if;
	uint8_t pub[WG_KEY_LEN];
} __attribute__((packed));

struct kp_deferred {
	struct wg_keypair *kp;
	uint64_t token;
	struct kp_deferred *next;
};

static struct rte_hash *peer_hash;
static uint32_t *free_ids;
static uint32_t n_free;
static struct kp_deferred *deferred_head, *deferred_tail;

int
wg_peers_init(struct dp_engine *e, uint32_t max_peers, char *err, size_t errlen)
{
	struct rte_hash_parameters hp = {
		.name = "gate44_peers",
		.entries = max_peers < 8 ? 8 : max_peers,
		.key_len = sizeof(struct key_of),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
	};
	uint32_t bits = 1;

	e->max_peers = max_peers;
	e->peers = rte_zmalloc("gate44_peers", sizeof(struct wg_peer) * max_peers,
			       RTE_CACHE_LINE_SIZE);
	free_ids = malloc(sizeof(*free_ids) * max_peers);
	peer_hash = rte_hash_create(&hp);
	/* three keypairs per peer plus handshakes in flight */
	while ((1u << bits) < max_peers * 4u && bits < 24)
		bits++;
	e->kp_bits = bits;
	e->kp_mask = (1u << bits) - 1;
	e->kp_table = rte_zmalloc("gate44_kp", sizeof(*e->kp_table) << bits, RTE_CACHE_LINE_SIZE);
	if (e->peers == NULL || free_ids == NULL || peer_hash == NULL || e->kp_table == NULL) {
		snprintf(err, errlen, "cannot allocate the peer table for %u peers", max_peers);
		wg_peers_fini(e);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < max_peers; i++) {
		free_ids[i] = max_peers - 1 - i;
		rte_seqlock_init(&e->peers[i].endpoint_lock);
	}
	n_free = max_peers;
	return 0;
}

void
wg_peers_fini(struct dp_engine *e)
{
	wg_kp_reclaim(e, true);
	if (e->kp_table != NULL) {
		for (uint32_t i = 0; i <= e->kp_mask; i++) {
			if (e->kp_table[i] != NULL) {
				sodium_memzero(e->kp_table[i], sizeof(struct wg_keypair));
				rte_free(e->kp_table[i]);
			}
		}
	}
	if (e->peers != NULL)
		sodium_memzero(e->peers, sizeof(struct wg_peer) * e->max_peers);
	rte_free(e->kp_table);
	rte_free(e->peers);
	rte_hash_free(peer_hash);
	free(free_ids);
	e->kp_table = NULL;
	e->peers = NULL;
	peer_hash = NULL;
	free_ids = NULL;
}

struct wg_peer *
wg_peer_find(struct dp_engine *e, uint16_t wg_if, const uint8_t pub[WG_KEY_LEN])
{
	struct key_of k = {.wg_if = wg_if};
	void *data;

	memcpy(k.pub, pub, WG_KEY_LEN);
	if (rte_hash_lookup_data(peer_hash, &k, &data) < 0)
		return NULL;
	return &e->peers[(uintptr_t)data];
}

int
wg_peer_set(struct dp_engine *e, const struct dp_peer_conf *c)
{
	struct wg_peer *p = wg_peer_find(e, c->wg_if, c->public_key);
	struct key_of k = {.wg_if = c->wg_if};
	uint32_t id;
	int rc;

	if (c->wg_if >= e->n_wg)
		return -EINVAL;
	if (p == NULL) {
		if (n_free == 0)
			return -ENOSPC;
		id = free_ids[n_free - 1];
		memcpy(k.pub, c->public_key, WG_KEY_LEN);
		rc = rte_hash_add_key_data(peer_hash, &k, (void *)(uintptr_t)id);
		if (rc < 0)
			return rc;
		n_free--;
		p = &e->peers[id];
		memset(&p->st, 0, sizeof(p->st));
		p->id = id;
		p->wg_if = c->wg_if;
		memcpy(p->public_key, c->public_key, WG_KEY_LEN);
		/* the initiator's static-static DH, once for all its handshakes */
		p->ss_valid = cr_x25519(p->ss, e->wg[c->wg_if].self.priv, c->public_key) == 0;
		cr_cookie_maker_init(&p->cookie, c->public_key);
		memset(p->last_tai64n, 0, sizeof(p->last_tai64n));
		p->last_handshake_ns = 0;
		p->hs_attempts = 0;
		p->hs_sent_ns = 0;
		__atomic_store_n(&p->in_use, true, __ATOMIC_RELEASE);
		e->n_peers++;
	}
	if (c->has_psk)
		memcpy(p->psk, c->psk, WG_KEY_LEN);
	else
		sodium_memzero(p->psk, WG_KEY_LEN);
	if (c->endpoint.family != 0)
		wg_peer_endpoint_set(p, &c->endpoint);
	p->persistent_keepalive = c->persistent_keepalive;
	return (int)p->id;
}

int
wg_peer_remove(struct dp_engine *e, struct wg_peer *p)
{
	struct key_of k = {.wg_if = p->wg_if};
	struct dp_endpoint none = {0};

	memcpy(k.pub, p->public_key, WG_KEY_LEN);
	if (rte_hash_del_key(peer_hash, &k) < 0)
		return -ENOENT;
	__atomic_store_n(&p->in_use, false, __ATOMIC_RELEASE);
	if (p->hs_local_index != 0) {
		struct wg_keypair *kp = e->kp_table[p->hs_local_index & e->kp_mask];

		if (kp != NULL && kp->local_index == p->hs_local_index)
			wg_kp_release(e, kp);
		p->hs_local_index = 0;
	}
	cr_noise_hs_clear(&p->hs);
	cr_cookie_maker_clear(&p->cookie);
	sodium_memzero(p->psk, WG_KEY_LEN);
	sodium_memzero(p->ss, WG_KEY_LEN);
	p->ss_valid = false;
	wg_peer_endpoint_set(p, &none);
	/* the owner drops its keypairs (reporting each as retired) and staged
	 * packets, then reports DP_MEV_PEER_RELEASED: only then is the id
	 * free again (wg_peer_id_release) */
	if (!dp_worker_event(dp_peer_owner(p->id), DP_EV_PEER_FLUSH, p->id, NULL))
		wg_peer_id_release(e, p->id); /* nothing can reach it: ring full means the
						 worker is gone */
	e->n_peers--;
	return 0;
}

void
wg_peer_id_release(struct dp_engine *e, uint32_t id)
{
	if (id < e->max_peers && !e->peers[id].in_use && n_free < e->max_peers)
		free_ids[n_free++] = id;
}

struct wg_keypair *
wg_kp_alloc(struct dp_engine *e, struct wg_peer *p)
{
	struct wg_keypair *kp = rte_zmalloc("gate44_kp", sizeof(*kp), RTE_CACHE_LINE_SIZE);

	if (kp == NULL)
		return NULL;
	/* a free slot, at a random place; the index's high bits are random */
	for (unsigned tries = 0; tries < 64; tries++) {
		uint32_t r = randombytes_random();
		uint32_t slot = r & e->kp_mask;

		if (e->kp_table[slot] != NULL || r == 0)
			continue;
		kp->local_index = r;
		kp->peer_id = p->id;
		cr_replay_init(&kp->replay);
		__atomic_store_n(&e->kp_table[slot], kp, __ATOMIC_RELEASE);
		return kp;
	}
	rte_free(kp);
	return NULL;
}

void
wg_kp_release(struct dp_engine *e, struct wg_keypair *kp)
{
	struct wg_keypair **slot = &e->kp_table[kp->local_index & e->kp_mask];
	struct kp_deferred *d;

	if (*slot == kp)
		__atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
	d = malloc(sizeof(*d));
	if (d == NULL) { /* cannot defer: wait for the grace period now */
		rte_rcu_qsbr_synchronize(e->qs, RTE_QSBR_THRID_INVALID);
		sodium_memzero(kp, sizeof(*kp));
		rte_free(kp);
		return;
	}
	d->kp = kp;
	d->token = rte_rcu_qsbr_start(e->qs);
	d->next = NULL;
	if (deferred_tail != NULL)
		deferred_tail->next = d;
	else
		deferred_head = d;
	deferred_tail = d;
}

void
wg_kp_reclaim(struct dp_engine *e, bool wait)
{
	while (deferred_head != NULL) {
		struct kp_deferred *d = deferred_head;

		if (rte_rcu_qsbr_check(e->qs, d->token, wait) != 1)
			return;
		deferred_head = d->next;
		if (deferred_head == NULL)
			deferred_tail = NULL;
		sodium_memzero(d->kp, sizeof(*d->kp));
		rte_free(d->kp);
		free(d);
	}
}
