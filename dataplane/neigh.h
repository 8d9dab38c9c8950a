/*
 * neigh.h — the neighbour table (ARP for IPv4, Neighbor Discovery for IPv6):
 * next-hop address on a port -> MAC. The main lcore is the only writer: it
 * answers ARP requests and Neighbor Solicitations for the ports' own
 * addresses, learns from requests, replies and advertisements, resolves
 * next hops (queueing the packets that wait), retransmits and ages entries.
 * Worker lcores only read, lock-free: dp_neigh_lookup().
 */
#ifndef GATE44_NEIGH_H
#define GATE44_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "counters.h"
#include "dp.h"

struct dp_neigh;

enum dp_neigh_state {
	DP_NEIGH_INCOMPLETE = 1, /* request sent, no answer yet: packets queue */
	DP_NEIGH_REACHABLE,	 /* confirmed within DP_NEIGH_REACHABLE_NS */
	DP_NEIGH_STALE,		 /* MAC known, not confirmed lately: usable */
	DP_NEIGH_FAILED,	 /* no answer: lookups fail, resolve retries */
};

enum {
	DP_NEIGH_QUEUE_LEN = 16,     /* packets waiting per entry */
	DP_NEIGH_QUEUE_TOTAL = 4096, /* packets waiting in the whole table */
	DP_NEIGH_MAX_PROBES = 3,     /* requests before INCOMPLETE/probing fails */
};

#define DP_NEIGH_RETRANS_NS   1000000000ull   /* between requests */
#define DP_NEIGH_REACHABLE_NS 30000000000ull  /* REACHABLE -> STALE; re-probe */
#define DP_NEIGH_FAILED_NS    10000000000ull  /* FAILED entries kept this long */
#define DP_NEIGH_GC_NS	      600000000000ull /* idle STALE entries removed */

/* Sends a frame on a port (our index); takes ownership of m. */
typedef void (*dp_neigh_tx_fn)(void *ctx, uint16_t port_index, struct rte_mbuf *m);

/* One entry as dp_neigh_walk() reports it. */
struct dp_neigh_info {
	uint16_t port;
	int family;		   /* AF_INET or AF_INET6 */
	uint8_t addr[16];	   /* IPv4 in the first 4 bytes */
	struct rte_ether_addr mac; /* zero unless REACHABLE or STALE */
	enum dp_neigh_state state;
	bool is_static;
	unsigned queued;       /* packets waiting */
	uint64_t confirmed_ns; /* last confirmation, 0: never */
};

/*
 * Create a table of up to max_entries neighbours (at least 8) for the ports
 * ports[0..n_ports) (indexed by dp_port.index). Requests and replies are
 * built from mp and sent with tx(tx_ctx, ...); drops are counted in
 * main_stats (the main lcore's counters; NULL: not counted). qsbr: the RCU
 * variable the readers of dp_neigh_lookup() report on, so removed entries
 * are reused only after a grace period; NULL if no other lcore reads.
 * Main lcore. Returns NULL with rte_errno set on failure.
 */
struct dp_neigh *dp_neigh_create(const char *name, unsigned max_entries, int socket_id,
				 struct dp_port *ports, unsigned n_ports, dp_neigh_tx_fn tx,
				 void *tx_ctx, struct rte_mempool *mp,
				 struct dp_lcore_stats *main_stats, struct rte_rcu_qsbr *qsbr);
/* Free the table and every packet still queued. No reader may be left. */
void dp_neigh_free(struct dp_neigh *n);

/*
 * Any lcore, lock-free: the MAC of (port, family, addr) if the entry is
 * REACHABLE or STALE (0), else -ENOENT (hand the packet to the main lcore,
 * which calls dp_neigh_resolve()). A hit stamps the entry as used.
 */
int dp_neigh_lookup(const struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
		    struct rte_ether_addr *mac);

/*
 * Main lcore: an ARP frame or ICMPv6 NS/NA (whole Ethernet frame, no VLAN
 * tag) received on port. Answers requests for the port's addresses, learns
 * the sender, validates ND (RFC 4861 §7.1), flushes packets that waited for
 * a newly resolved entry. Always consumes m.
 */
void dp_neigh_input(struct dp_neigh *n, uint16_t port, struct rte_mbuf *m);

/*
 * Main lcore: send m (an Ethernet frame whose ether_type and payload are
 * set; dst and src MAC are written here) to the neighbour addr on port, now
 * if resolved, else queue it and solicit. Always consumes m.
 */
void dp_neigh_resolve(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
		      struct rte_mbuf *m);

/*
 * Main lcore, every few milliseconds: the module's clock (monotonic ns).
 * Retransmits requests, fails unanswered entries (dropping their queue),
 * ages REACHABLE to STALE, re-probes STALE entries in use, removes idle
 * ones, reclaims removed entries after the RCU grace period.
 */
void dp_neigh_timer(struct dp_neigh *n, uint64_t now_ns);

/* Main lcore: a permanent entry (never aged, not overridden by learning). */
int dp_neigh_add_static(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
			const struct rte_ether_addr *mac);
/* Main lcore: remove an entry (static or learned), dropping its queue. */
int dp_neigh_del(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr);

/*
 * Main lcore: call cb for every entry; a non-zero return from cb stops the
 * walk and is returned. Returns 0 after a full walk.
 */
int dp_neigh_walk(const struct dp_neigh *n, int (*cb)(void *arg, const struct dp_neigh_info *),
		  void *arg);

#endif /* GATE44_NEIGH_H */
