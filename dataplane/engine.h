/*
 * engine.h — the engine object (one per process) and the lcore contexts.
 * The engine is built by main.c on the main lcore, then each worker lcore
 * runs dp_worker_loop() and the main lcore runs dp_main_loop() until
 * dp_engine_stop(). See dp.h for who writes what.
 */
#ifndef GATE44_ENGINE_H
#define GATE44_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "config.h"
#include "dp.h"

struct dp_neigh;
struct cr_ratelimit;

enum {
	DP_MAX_RXQ_PER_LCORE = 64,
	DP_MAX_BURST = 256,
	DP_MAX_ADJ = 4096,
};

/* A gateway next hop: the FIB's DP_NH_ADJ index points here. Written by the
 * main lcore before the FIB entry that refers to it is published. */
struct dp_adj {
	uint16_t port;
	int family;
	uint8_t addr[16];
	bool in_use;
};

/* Events the main lcore sends a worker about a peer it owns. */
enum dp_event_type {
	DP_EV_KEYPAIR_NEW = 1,   /* install ev.kp: initiator -> current, responder -> next */
	DP_EV_KEEPALIVE,         /* send a keepalive to the peer */
	DP_EV_PEER_FLUSH,        /* drop keypairs and staged packets (peer removed/reset) */
	DP_EV_KEYS_ZERO,         /* zero the keypairs (3 x REJECT_AFTER_TIME) */
};

struct dp_event {
	uint32_t type;
	uint32_t peer;
	struct wg_keypair *kp;
};

/* Events a worker sends the main lcore. */
enum dp_main_event_type {
	DP_MEV_NEED_HANDSHAKE = 1, /* peer has data to send but no usable keypair */
	DP_MEV_KEYPAIR_RETIRED,    /* kp no longer referenced by its owner: free after grace */
	DP_MEV_PEER_RELEASED,      /* the owner flushed a removed peer */
};

struct dp_lcore {
	unsigned index;               /* worker index; main = n_workers */
	unsigned lcore_id;
	bool is_main;
	struct dp_lcore_stats stats;
	struct cr_aead_burst *aead;
	struct rte_ring *handoff;     /* mbufs from other lcores (workers only) */
	struct rte_ring *events;      /* struct dp_event from main (workers only) */
	uint16_t rxq_port[DP_MAX_RXQ_PER_LCORE];
	uint16_t rxq_queue[DP_MAX_RXQ_PER_LCORE];
	unsigned n_rxq;
	uint16_t txq;                 /* tx queue index on every port */
	struct rte_eth_dev_tx_buffer *txb[DP_MAX_PORTS];
	uint64_t drain_tsc;
	/* packets for peers this lcore owns, sealed together in one burst */
	struct rte_mbuf *enc[DP_MAX_BURST];
	unsigned n_enc;
} __rte_cache_aligned;

struct dp_engine {
	struct dp_cfg cfg;
	unsigned burst;
	struct rte_mempool *mp;

	struct dp_port ports[DP_MAX_PORTS];
	unsigned n_ports;
	int exception_port;           /* index into ports, -1: none */

	struct dp_wg_if wg[DP_MAX_WG];
	unsigned n_wg;

	struct wg_peer *peers;        /* [max_peers] */
	uint32_t max_peers;
	uint32_t n_peers;

	/* receiver index -> keypair: slot = index & kp_mask, the rest random.
	 * Written by the main lcore, read lock-free by every worker. */
	struct wg_keypair **kp_table;
	uint32_t kp_mask;
	uint32_t kp_bits;

	struct dp_fib *fib;
	struct dp_adj adj[DP_MAX_ADJ];
	struct dp_neigh *neigh;
	struct cr_ratelimit *ratelimit;

	struct dp_lcore lcores[DP_MAX_LCORES]; /* workers, then main */
	unsigned n_workers;
	struct rte_ring *main_ring;   /* mbufs for the main lcore */
	struct rte_ring *main_events; /* struct dp_event for the main lcore */
	struct rte_rcu_qsbr *qs;

	uint64_t tsc_hz;
	uint64_t instance;            /* random per start: counters restart with it */
	uint64_t under_load_until_ns; /* handshake queue busy: demand cookies */
	atomic_bool quit;
};

extern struct dp_engine *dp_eng;

static inline uint64_t
dp_now_ns(void)
{
	return (uint64_t)((double)rte_rdtsc() * 1e9 / (double)dp_eng->tsc_hz);
}

/* The worker that owns peer id: computed, not stored, so the data path
 * need not read the peer to know where a packet goes. */
/* now - t, or 0 when t is later: another lcore may stamp with a clock read
 * after `now`, and an unsigned difference would wrap to "centuries ago"
 * (a session zeroed or its keys expired a microsecond after its birth). */
static inline uint64_t
dp_ns_since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

static inline uint16_t
dp_peer_owner(uint32_t id)
{
	return (uint16_t)(id % dp_eng->n_workers);
}

static inline struct dp_lcore *
dp_main_lcore_ctx(void)
{
	return &dp_eng->lcores[dp_eng->n_workers];
}

/* Build the engine from a loaded config (EAL already initialised).
 * Return 0 or -errno with err filled. */
int dp_engine_init(struct dp_engine *e, char *err, size_t errlen);
void dp_engine_fini(struct dp_engine *e);
void dp_engine_stop(void);

int dp_worker_loop(void *arg);   /* arg: struct dp_lcore * */
/* Apply the events the main lcore has posted to this worker so far. */
void dp_worker_events_drain(struct dp_lcore *lc);
int dp_main_loop(struct dp_engine *e);

/* Transmit m on port through lc's tx buffer (buffered, drained by the loop). */
void dp_tx(struct dp_lcore *lc, uint16_t port, struct rte_mbuf *m);
void dp_tx_flush(struct dp_lcore *lc);
/* Count a drop and free m. */
static inline void
dp_drop(struct dp_lcore *lc, struct rte_mbuf *m, enum dp_drop why)
{
	lc->stats.drops[why]++;
	rte_pktmbuf_free(m);
}
/* Hand m to the main lcore with an action (counted drop when its ring is full). */
void dp_to_main(struct dp_lcore *lc, struct rte_mbuf *m, enum dp_action act);
/* Post an event to the main lcore / a worker; false when the ring is full. */
bool dp_main_event(uint32_t type, uint32_t peer, struct wg_keypair *kp);
bool dp_worker_event(unsigned worker, uint32_t type, uint32_t peer, struct wg_keypair *kp);

#endif /* GATE44_ENGINE_H */
