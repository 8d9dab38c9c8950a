/*
 * gen.h — the load generator's side of WireGuard: a population of client
 * peers (static keys, inner and outer addresses), initiations and the
 * consumption of the POP's responses, and the frames the harness sends:
 * transport data sealed before the timed phase, plain inner packets from
 * "the internet", ARP replies. Used by the engine-only harness (ring ports
 * in the engine's process) and the end-to-end one (af_packet over veth),
 * so both send the same packets.
 */
#ifndef GATE44_BENCH_GEN_H
#define GATE44_BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "aead_burst.h"
#include "cookie.h"
#include "noise.h"

/* One client peer. Its keys and counters live in the generator only. */
struct gen_peer {
	struct cr_noise_static s;
	struct cr_noise_hs hs;
	struct cr_cookie_maker cm;     /* mac1 toward the POP */
	uint32_t local_index;          /* ours: the POP sends data to it */
	uint32_t remote_index;         /* the POP's: we send data to it */
	uint8_t send_key[32], recv_key[32];
	uint64_t send_ctr;
	uint64_t established_ns;       /* 0: no keys */
	uint32_t inner;                /* 44net address, host order */
	uint32_t outer;                /* its public address, host order */
	uint16_t outer_port;
	bool hs_pending;               /* initiation sent, no response yet */
};

/* Where the POP is, seen from the generator. Addresses in host order. */
struct gen_net {
	uint8_t pop_pub[32];           /* the WireGuard interface's public key */
	uint32_t pop_wan;              /* the POP's address users send to */
	uint16_t pop_port;             /* its listen port */
	struct rte_ether_addr pop_wan_mac, pop_inet_mac;
	struct rte_ether_addr gen_mac; /* ours, on both sides */
	uint32_t inet_src;             /* internet hosts: inet_src + (i % 256) */
	uint32_t inet_dst;             /* where users' packets go: inet_dst + (i % 256) */
};

struct gen {
	struct gen_net net;
	struct gen_peer *peers;
	uint32_t n_peers;
	struct cr_aead_burst *aead;
	uint32_t index_base;           /* local_index = index_base + peer number */
	uint64_t rng;
};

/* Make n peers: keys derived from seed (the same run after run), inner
 * addresses inner_base + 1 + i, outer outer_base + 1 + i, port 40000 + i % 20000. */
int gen_init(struct gen *g, const struct gen_net *net, uint32_t n, uint64_t seed,
	     uint32_t inner_base, uint32_t outer_base);
void gen_fini(struct gen *g);

/* Frame an initiation from peer i (fresh ephemeral, TAI64N now) into m:
 * Ethernet / IPv4 / UDP to the POP. 0 or -errno. */
int gen_initiation(struct gen *g, uint32_t i, struct rte_mbuf *m);

/* Consume the POP's response to a pending initiation: 0 (the peer has
 * keys; *peer set), -ENOENT (not ours, or not pending), -EBADMSG. */
int gen_response(struct gen *g, const struct cr_wg_msg_response *r, uint32_t *peer,
		 uint64_t now_ns);

/* Inner IPv4/UDP packet of len bytes (>= 28), src -> dst, into buf. */
void gen_inner_ipv4(uint8_t *buf, uint32_t len, uint32_t src, uint32_t dst, uint16_t id);
/* Transport data from peer i carrying an inner packet of len bytes, framed
 * Ethernet / IPv4 / UDP into m, the payload not yet sealed: op is filled for
 * cr_aead_burst_seal (in place) and the counter taken. 0 or -errno. */
int gen_data_frame(struct gen *g, uint32_t i, uint32_t len, uint16_t id, struct rte_mbuf *m,
		   struct cr_aead_op *op);
/* A plain packet from the internet to peer i's inner address, framed for
 * the POP's internet port. 0 or -errno. */
int gen_plain_frame(struct gen *g, uint32_t i, uint32_t len, uint16_t id, struct rte_mbuf *m);

/* If m is an ARP request, rewrite it in place into the reply for its
 * target (any address: the generator answers for every next hop) and
 * return true. */
bool gen_arp_reply(struct rte_mbuf *m, const struct rte_ether_addr *mac);

/* A 64-bit xorshift for choosing peers. */
static inline uint64_t
gen_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

#endif /* GATE44_BENCH_GEN_H */
