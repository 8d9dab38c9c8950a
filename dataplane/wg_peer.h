/*
 * wg_peer.h — the peer table and keypair lifecycle, main lcore side:
 * adding, changing and removing peers (looked up by public key), allocating
 * keypairs with their receiver index (slot bits + random bits) and freeing
 * them after an RCU grace period once their owner worker let go.
 */
#ifndef GATE44_WG_PEER_H
#define GATE44_WG_PEER_H

#include "engine.h"

struct dp_peer_conf {
	uint16_t wg_if;
	uint8_t public_key[WG_KEY_LEN];
	bool has_psk;
	uint8_t psk[WG_KEY_LEN];
	struct dp_endpoint endpoint;  /* family 0: none */
	uint16_t persistent_keepalive;
};

int wg_peers_init(struct dp_engine *e, uint32_t max_peers, char *err, size_t errlen);
void wg_peers_fini(struct dp_engine *e);

/* Find a peer of interface wg_if by public key; NULL when none. */
struct wg_peer *wg_peer_find(struct dp_engine *e, uint16_t wg_if, const uint8_t pub[WG_KEY_LEN]);
/* Add (or update, when the key exists) a peer. Return its id or -errno
 * (-ENOSPC: table full). */
int wg_peer_set(struct dp_engine *e, const struct dp_peer_conf *c);
/* Remove a peer: its allowed IPs and routes must be gone already. */
int wg_peer_remove(struct dp_engine *e, struct wg_peer *p);
/* The owner let go of a removed peer: its id may be reused. */
void wg_peer_id_release(struct dp_engine *e, uint32_t id);

/* A fresh keypair with a unique receiver index, published in the index
 * table (not yet usable: its keys are zero until the handshake fills them
 * and it is handed to the owner). NULL when the table is full. */
struct wg_keypair *wg_kp_alloc(struct dp_engine *e, struct wg_peer *p);
/* Unpublish and free after a grace period (main lcore). */
void wg_kp_release(struct dp_engine *e, struct wg_keypair *kp);
/* Free what the grace period has let go; call from the main loop. */
void wg_kp_reclaim(struct dp_engine *e, bool wait);

#endif /* GATE44_WG_PEER_H */
