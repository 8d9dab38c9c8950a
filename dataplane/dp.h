/*
 * dp.h — the engine's shared objects: ports, lcore contexts, WireGuard
 * interfaces, peers and keypairs, and the per-mbuf metadata that travels
 * with a packet between lcores. Which thread may write what is stated on
 * every field group; the rule of the house is one writer per field.
 *
 * Threads: the main lcore (engine socket, handshakes, timers, ARP/ND, TAP)
 * and N worker lcores (rx -> classify -> decrypt/encrypt -> FIB -> tx).
 * A peer is owned by one worker (peer id % workers): only that worker
 * touches its keypair slots, send counters, replay windows and staged queue.
 * Objects crossing threads are indices or RCU-protected pointers.
 */
#ifndef GATE44_DP_H
#define GATE44_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_seqlock.h>

#include "aead_burst.h"
#include "cookie.h"
#include "counters.h"
#include "noise.h"
#include "replay.h"
#include "wg_const.h"

struct dp_fib;

enum {
	DP_MAX_PORTS = 32,
	DP_MAX_WG = 16,
	DP_MAX_LCORES = 64,
	DP_MAX_ADDRS = 16,
	DP_NAME_LEN = 16,
	DP_HANDOFF_RING = 4096,   /* per worker, mbufs from other lcores */
	DP_EVENT_RING = 8192,     /* per worker, events from the main lcore */
	DP_MAIN_RING = 8192,      /* mbufs for the main lcore */
	DP_MAIN_EVENT_RING = 16384,
	DP_DRAIN_US = 100,        /* tx buffer drain interval */
};

/* An address of the POP on a port or tunnel interface. */
struct dp_addr {
	int family;               /* AF_INET or AF_INET6 */
	uint8_t addr[16];         /* IPv4 in the first 4 bytes, network order */
	uint8_t plen;
};

/* An outer endpoint (the far side of a tunnel). */
struct dp_endpoint {
	int family;               /* 0: none */
	uint8_t addr[16];
	uint16_t port;            /* network order */
};

struct dp_port {
	uint16_t port_id;         /* DPDK ethdev id */
	uint16_t index;           /* our index */
	char name[DP_NAME_LEN];
	struct rte_ether_addr mac;
	uint16_t mtu;
	uint16_t nb_rxq;
	uint16_t nb_txq;          /* workers + 1: the main lcore has the last */
	struct dp_addr addrs[DP_MAX_ADDRS];
	unsigned n_addrs;
	uint8_t ll6[16];          /* IPv6 link-local (from the MAC, EUI-64) */
	bool is_exception;        /* the TAP to the host kernel */
};

/* A WireGuard interface: a static identity and a listen port. */
struct dp_wg_if {
	uint16_t index;
	char name[DP_NAME_LEN];
	struct cr_noise_static self;      /* main lcore only */
	struct cr_cookie_checker cookie;  /* main lcore only */
	uint16_t listen_port;             /* network order */
	uint16_t mtu;
	struct dp_addr addrs[DP_MAX_ADDRS];
	unsigned n_addrs;
	struct dp_fib *allowed;           /* cryptokey routing: src -> peer */
	bool up;
};

/* One transport session. Allocated and freed by the main lcore (after an
 * RCU grace period), installed in the index table by the main lcore, and
 * used for crypto only by the peer's owner worker. */
struct wg_keypair {
	uint8_t send_key[WG_KEY_LEN];
	uint8_t recv_key[WG_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	uint32_t peer_id;
	bool initiator;
	bool confirmed;           /* responder: first data received on it */
	uint64_t birth_ns;
	/* owner worker only */
	uint64_t send_counter;
	struct cr_replay replay;
};

/* Per-peer fields stamped by the owner worker, read by the main lcore for
 * timers and status (aligned 64-bit: single-copy atomic on x86-64). */
struct wg_peer_stamps {
	uint64_t last_rx_ns;          /* any authenticated packet received */
	uint64_t last_tx_ns;          /* any authenticated packet sent */
	uint64_t last_data_rx_ns;     /* non-keepalive data received */
	uint64_t last_data_tx_ns;     /* non-keepalive data sent */
	uint64_t rx_bytes, tx_bytes;  /* outer UDP payload bytes, as wg(8) counts */
	uint64_t rx_pkts, tx_pkts;
	uint64_t cur_birth_ns;        /* of the current keypair, 0: none */
	bool cur_initiator;
	bool want_handshake;          /* set by the worker, cleared by main */
};

struct wg_peer {
	uint32_t id;
	uint16_t wg_if;
	bool in_use;
	uint8_t public_key[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN];
	uint16_t persistent_keepalive; /* seconds, 0: off */

	/* endpoint: written under endpoint_lock by the owner worker (roaming on
	 * authenticated data) and the main lcore (authenticated handshake,
	 * configuration); read through the seqlock. */
	rte_seqlock_t endpoint_lock;
	struct dp_endpoint endpoint;

	/* owner worker only */
	struct wg_keypair *current, *previous, *next;
	struct rte_mbuf *staged_head, *staged_tail;
	uint32_t staged_count;

	struct wg_peer_stamps st;     /* owner writes, main reads */

	/* main lcore only */
	uint8_t ss[WG_KEY_LEN];       /* DH(interface key, peer key): fixed, so computed once */
	bool ss_valid;
	struct cr_noise_hs hs;
	uint32_t hs_local_index;
	uint64_t hs_sent_ns;          /* last initiation sent */
	uint64_t hs_attempt_start_ns; /* first initiation of this attempt */
	unsigned hs_attempts;
	struct cr_cookie_maker cookie;
	uint8_t last_tai64n[WG_TAI64N_LEN];
	uint64_t last_initiation_rx_ns;
	uint64_t last_handshake_ns;   /* wall-clock ns of the last completed one */
	uint64_t last_handshake_mono_ns;
	uint64_t hs_retry_at_ns;      /* retransmit the initiation then */
	uint64_t keepalive_req_ns;    /* last keepalive asked of the owner */
	uint64_t new_hs_req_ns;
	uint64_t st_tx_stamp_ns;      /* last handshake message sent */
	uint64_t hs_rx_bytes, hs_tx_bytes; /* handshake bytes, counted by wg(8) too */
};

/* What a packet's metadata says to do with it when it crosses lcores. */
enum dp_action {
	DP_ACT_NONE = 0,
	DP_ACT_DECRYPT,           /* transport data for a peer of the target */
	DP_ACT_ENCRYPT,           /* inner packet to send to meta.peer */
	DP_ACT_HANDSHAKE,         /* to main: initiation / response / cookie */
	DP_ACT_CONTROL,           /* to main: ARP, ND, ICMP to us, exception */
	DP_ACT_NEIGH_WAIT,        /* to main: next hop unresolved */
};

/* Why a packet went to the main lcore with DP_ACT_CONTROL. */
enum dp_ctl_reason {
	DP_CTL_LOCAL = 0,         /* addressed to the POP (ICMP echo, exception) */
	DP_CTL_L2,                /* ARP / ND frame */
	DP_CTL_TTL,               /* TTL / hop limit expired: time exceeded */
	DP_CTL_TOO_BIG,           /* over the next hop's MTU: frag needed / too big */
	DP_CTL_UNREACH,           /* no route: destination unreachable */
};

/* Per-mbuf private area (mempool priv_size). */
struct dp_meta {
	uint32_t peer;            /* peer id (encrypt), or local index (decrypt) */
	uint32_t nh;              /* FIB next hop */
	uint16_t in_port;         /* port index it arrived on, UINT16_MAX: a tunnel */
	uint16_t out_port;        /* port index (neighbour wait) */
	uint8_t action;           /* enum dp_action */
	uint8_t family;           /* AF_INET / AF_INET6 of the L3 header */
	uint16_t wg_if;           /* WireGuard interface it came in on */
	uint8_t l2;               /* data starts at the Ethernet header */
	uint8_t reason;           /* enum dp_ctl_reason, for DP_ACT_CONTROL */
	uint8_t nh_addr[16];      /* next-hop address to resolve (neighbour wait) */
	struct dp_endpoint src;   /* outer source of a WireGuard message */
	struct rte_mbuf *staged_next; /* a peer's staged queue link */
};

static inline struct dp_meta *
dp_meta(struct rte_mbuf *m)
{
	return (struct dp_meta *)rte_mbuf_to_priv(m);
}

#endif /* GATE44_DP_H */
