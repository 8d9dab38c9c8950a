/*
 * neigh.c — the neighbour table: ARP (RFC 826) and IPv6 Neighbor Discovery
 * (RFC 4861 address resolution and unreachability detection, simplified).
 * The main lcore writes (input, resolve, timer); any lcore reads through
 * dp_neigh_lookup().
 *
 * Sharing: an rte_hash in lock-free read/write mode (one writer) maps the
 * key (port, family, address) to a position, and the position indexes a
 * preallocated entry array. What readers use of an entry is one 64-bit word,
 * MAC in bits 0..47 and state in bits 56..63, stored atomically, so a reader
 * never sees half a MAC. Readers stamp last_used (coarsely, relaxed) so the
 * timer knows which stale entries are worth re-probing. A removed entry's
 * position is freed, and so reusable, only after an RCU grace period on the
 * qsbr variable given at create (at once if there is none).
 *
 * States: INCOMPLETE (broadcast requests once a second, up to three, packets
 * queue) -> REACHABLE (a reply or solicited advertisement) -> STALE after
 * 30 s without confirmation -> unicast probes if used in the last 30 s ->
 * REACHABLE again, or FAILED after three unanswered requests. Requests and
 * unsolicited information make or keep entries STALE, as RFC 4861 says.
 *
 * Not done: DAD for our own addresses, RS/RA, redirects, proxy ARP/ND, the
 * DELAY state (a stale entry in use is probed at once).
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_malloc.h>

#include "neigh.h"

enum {
	ICMP6_NS = 135,
	ICMP6_NA = 136,
	ND_OPT_SLLA = 1,
	ND_OPT_TLLA = 2,
	ND_HOP_LIMIT = 255,
	NA_ROUTER = 0x80,
	NA_SOLICITED = 0x40,
	NA_OVERRIDE = 0x20,
	ETH_MIN_FRAME = 60,   /* without the FCS: ARP frames are padded to it */
	ST_NONE = 0,	      /* a free or removed entry, as readers see it */
	HANDLED = -1,	      /* an input handler's answer: no drop */
	HASH_MIN_ENTRIES = 8, /* rte_hash wants at least a bucket's worth */
};

#define SCAN_NS	      100000000ull /* the timer walks the table this often */
#define USED_GRAIN_NS 100000000ull /* readers stamp last_used this coarsely */
#define NEVER	      UINT64_MAX

/* Neighbor Solicitation / Advertisement (RFC 4861 §4.3, §4.4). */
struct nd_msg {
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	uint8_t flags; /* NA: R S O */
	uint8_t rsvd[3];
	uint8_t target[16];
};

/* Source/Target Link-Layer Address option for Ethernet (§4.6.1). */
struct nd_opt_lla {
	uint8_t type;
	uint8_t len; /* in units of 8 bytes: 1 */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
};

struct neigh_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t pad;
};

struct neigh_entry {
	uint64_t word;	    /* MAC | state << 56; atomic, read by any lcore */
	uint64_t last_used; /* n->now_ns, stamped by readers (relaxed) */
	/* main lcore only */
	struct neigh_key key;
	bool in_use;
	bool is_static;
	uint8_t tries; /* requests sent in this attempt / probe round */
	uint8_t q_len;
	uint64_t req_sent_ns; /* NEVER: none */
	uint64_t confirmed_ns;
	uint64_t updated_ns; /* created, changed state or MAC */
	struct rte_mbuf *q[DP_NEIGH_QUEUE_LEN];
} __rte_cache_aligned;

/* A removed position waiting for its grace period. */
struct neigh_defer {
	int32_t pos;
	uint64_t token;
};

struct dp_neigh {
	struct rte_hash *h;
	struct neigh_entry *e;
	unsigned cap;
	unsigned hwm; /* positions [0, hwm) have been used */
	struct dp_port *ports;
	unsigned n_ports;
	dp_neigh_tx_fn tx;
	void *tx_ctx;
	struct rte_mempool *mp;
	struct dp_lcore_stats *stats;
	struct rte_rcu_qsbr *qsbr;
	unsigned queued;	 /* packets waiting in all entries */
	unsigned unresolved;	 /* INCOMPLETE + FAILED entries */
	unsigned unresolved_max; /* new resolutions refused beyond this */
	uint64_t last_scan_ns;
	struct neigh_defer *defer; /* FIFO of cap */
	unsigned defer_head, defer_n;
	/* written by the main lcore's timer, read by readers */
	uint64_t now_ns __rte_cache_aligned;
};

static const uint8_t zero16[16];

/* --- entries --- */

static inline uint64_t
word_make(const struct rte_ether_addr *mac, unsigned state)
{
	uint64_t w = (uint64_t)state << 56;
	unsigned i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		w |= (uint64_t)mac->addr_bytes[i] << (40 - 8 * i);
	return w;
}

static inline void
word_mac(uint64_t w, struct rte_ether_addr *mac)
{
	unsigned i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(w >> (40 - 8 * i));
}

static inline unsigned
word_state(uint64_t w)
{
	return (unsigned)(w >> 56);
}

static inline bool
usable(unsigned state)
{
	return state == DP_NEIGH_REACHABLE || state == DP_NEIGH_STALE;
}

static inline bool
unresolved(unsigned state)
{
	return state == DP_NEIGH_INCOMPLETE || state == DP_NEIGH_FAILED;
}

static inline unsigned
entry_state(const struct neigh_entry *e)
{
	return word_state(e->word); /* the main lcore is the only writer */
}

static inline int
make_key(struct neigh_key *k, uint16_t port, int family, const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	if (family == AF_INET)
		memcpy(k->addr, addr, 4);
	else if (family == AF_INET6)
		memcpy(k->addr, addr, 16);
	else
		return -EAFNOSUPPORT;
	k->port = port;
	k->family = (uint8_t)family;
	return 0;
}

static void
count(struct dp_neigh *n, enum dp_drop why)
{
	if (n->stats != NULL)
		n->stats->drops[why]++;
}

static void
drop(struct dp_neigh *n, struct rte_mbuf *m, enum dp_drop why)
{
	count(n, why);
	rte_pktmbuf_free(m);
}

static struct neigh_entry *
entry_find(const struct dp_neigh *n, const struct neigh_key *k)
{
	int32_t pos = rte_hash_lookup(n->h, k);

	if (pos < 0 || (unsigned)pos >= n->cap)
		return NULL;
	return &n->e[pos];
}

/* Free the positions whose grace period has passed. */
static void
reclaim(struct dp_neigh *n)
{
	while (n->defer_n > 0) {
		struct neigh_defer *d = &n->defer[n->defer_head];

		if (n->qsbr != NULL && rte_rcu_qsbr_check(n->qsbr, d->token, false) != 1)
			break;
		rte_hash_free_key_with_position(n->h, d->pos);
		n->defer_head = (n->defer_head + 1) % n->cap;
		n->defer_n--;
	}
}

/* A new entry in state ST_NONE (readers see it as absent), or NULL. */
static struct neigh_entry *
entry_new(struct dp_neigh *n, const struct neigh_key *k)
{
	struct neigh_entry *e;
	int32_t pos;

	pos = rte_hash_add_key(n->h, k);
	if (pos == -ENOSPC) {
		reclaim(n);
		pos = rte_hash_add_key(n->h, k);
	}
	if (pos < 0)
		return NULL;
	if ((unsigned)pos >= n->cap) { /* cannot happen: positions < entries */
		rte_hash_del_key(n->h, k);
		rte_hash_free_key_with_position(n->h, pos);
		return NULL;
	}
	e = &n->e[pos];
	/* e->word is 0 (ST_NONE) since its removal: a reader finding the key
	 * before the state is stored sees no usable entry. */
	e->key = *k;
	e->in_use = true;
	e->is_static = false;
	e->tries = 0;
	e->q_len = 0;
	e->req_sent_ns = NEVER;
	e->confirmed_ns = 0;
	e->updated_ns = n->now_ns;
	__atomic_store_n(&e->last_used, 0, __ATOMIC_RELAXED);
	if ((unsigned)pos + 1 > n->hwm)
		n->hwm = (unsigned)pos + 1;
	return e;
}

static void
set_state(struct dp_neigh *n, struct neigh_entry *e, const struct rte_ether_addr *mac,
	  unsigned state)
{
	static const struct rte_ether_addr none;
	unsigned old = entry_state(e);

	if (unresolved(old) && !unresolved(state))
		n->unresolved--;
	else if (!unresolved(old) && unresolved(state))
		n->unresolved++;
	__atomic_store_n(&e->word, word_make(mac != NULL ? mac : &none, state), __ATOMIC_RELEASE);
	e->updated_ns = n->now_ns;
	if (usable(state))
		e->tries = 0;
	if (state == DP_NEIGH_REACHABLE)
		e->confirmed_ns = n->now_ns;
}

static void
send_to(struct dp_neigh *n, uint16_t port, const struct rte_ether_addr *dst, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&n->ports[port].mac, &eth->src_addr);
	n->tx(n->tx_ctx, port, m);
}

/* Send the packets that waited for e, now resolved. */
static void
queue_flush(struct dp_neigh *n, struct neigh_entry *e)
{
	struct rte_mbuf *q[DP_NEIGH_QUEUE_LEN];
	struct rte_ether_addr mac;
	unsigned i, len = e->q_len;

	word_mac(e->word, &mac);
	memcpy(q, e->q, len * sizeof(q[0]));
	e->q_len = 0;
	n->queued -= len;
	for (i = 0; i < len; i++)
		send_to(n, e->key.port, &mac, q[i]);
}

static void
queue_drop(struct dp_neigh *n, struct neigh_entry *e, bool counted)
{
	unsigned i;

	for (i = 0; i < e->q_len; i++) {
		if (counted)
			count(n, DP_DROP_NEIGH_UNRESOLVED);
		rte_pktmbuf_free(e->q[i]);
	}
	n->queued -= e->q_len;
	e->q_len = 0;
}

static void
entry_fail(struct dp_neigh *n, struct neigh_entry *e)
{
	queue_drop(n, e, true);
	set_state(n, e, NULL, DP_NEIGH_FAILED);
}

static void
entry_remove(struct dp_neigh *n, struct neigh_entry *e)
{
	int32_t pos;
	unsigned tail;

	queue_drop(n, e, true);
	if (unresolved(entry_state(e)))
		n->unresolved--;
	__atomic_store_n(&e->word, 0, __ATOMIC_RELEASE);
	e->in_use = false;
	pos = rte_hash_del_key(n->h, &e->key);
	if (pos < 0)
		return;
	tail = (n->defer_head + n->defer_n) % n->cap;
	n->defer[tail].pos = pos;
	n->defer[tail].token = n->qsbr != NULL ? rte_rcu_qsbr_start(n->qsbr) : 0;
	n->defer_n++;
	if (n->qsbr == NULL)
		reclaim(n);
}

/* --- addresses --- */

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned plen, unsigned max)
{
	unsigned bytes, bits;

	if (plen > max)
		plen = max;
	bytes = plen / 8;
	bits = plen % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	return bits == 0 || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

static bool
port_has(const struct dp_port *p, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;
	unsigned i;

	if (memcmp(addr, zero16, len) == 0)
		return false;
	for (i = 0; i < p->n_addrs && i < DP_MAX_ADDRS; i++)
		if (p->addrs[i].family == family && memcmp(p->addrs[i].addr, addr, len) == 0)
			return true;
	return family == AF_INET6 && memcmp(p->ll6, addr, 16) == 0;
}

/*
 * The port's address to solicit target from: the one on target's subnet,
 * else (IPv6) the link-local, else the first of the family. false: none.
 */
static bool
pick_src(const struct dp_port *p, int family, const uint8_t *target, uint8_t *src)
{
	size_t len = family == AF_INET ? 4 : 16;
	const uint8_t *first = NULL;
	unsigned i;

	for (i = 0; i < p->n_addrs && i < DP_MAX_ADDRS; i++) {
		const struct dp_addr *a = &p->addrs[i];

		if (a->family != family)
			continue;
		if (prefix_match(a->addr, target, a->plen, (unsigned)len * 8)) {
			memcpy(src, a->addr, len);
			return true;
		}
		if (first == NULL)
			first = a->addr;
	}
	if (family == AF_INET6 && memcmp(p->ll6, zero16, 16) != 0)
		first = p->ll6;
	if (first == NULL)
		return false;
	memcpy(src, first, len);
	return true;
}

/* --- building frames --- */

static struct rte_mbuf *
frame_new(struct dp_neigh *n, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->mp);
	char *p;

	if (m == NULL) {
		count(n, DP_DROP_NO_MBUF);
		return NULL;
	}
	p = rte_pktmbuf_append(m, len);
	if (p == NULL) {
		drop(n, m, DP_DROP_NO_MBUF);
		return NULL;
	}
	memset(p, 0, len);
	return m;
}

/* sip, tip: 4 bytes, network order. tha NULL: zero. */
static void
arp_send(struct dp_neigh *n, uint16_t port, uint16_t op, const struct rte_ether_addr *eth_dst,
	 const struct rte_ether_addr *tha, const uint8_t *sip, const uint8_t *tip)
{
	const struct dp_port *p = &n->ports[port];
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	m = frame_new(n, ETH_MIN_FRAME);
	if (m == NULL)
		return;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(eth_dst, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	memcpy(&arp->arp_data.arp_sip, sip, 4);
	if (tha != NULL)
		rte_ether_addr_copy(tha, &arp->arp_data.arp_tha);
	memcpy(&arp->arp_data.arp_tip, tip, 4);
	n->tx(n->tx_ctx, port, m);
}

/* An NS or NA with our MAC in its one option (SLLA for NS, TLLA for NA). */
static void
nd_send(struct dp_neigh *n, uint16_t port, uint8_t type, uint8_t flags,
	const struct rte_ether_addr *eth_dst, const uint8_t *src, const uint8_t *dst,
	const uint8_t *target)
{
	const uint16_t l4_len = sizeof(struct nd_msg) + sizeof(struct nd_opt_lla);
	const struct dp_port *p = &n->ports[port];
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip6;
	struct nd_opt_lla *opt;
	struct nd_msg *nd;
	struct rte_mbuf *m;

	m = frame_new(n, sizeof(*eth) + sizeof(*ip6) + l4_len);
	if (m == NULL)
		return;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(eth_dst, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16(l4_len);
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = ND_HOP_LIMIT;
	memcpy(ip6->src_addr, src, 16);
	memcpy(ip6->dst_addr, dst, 16);
	nd = (struct nd_msg *)(ip6 + 1);
	nd->type = type;
	nd->flags = flags;
	memcpy(nd->target, target, 16);
	opt = (struct nd_opt_lla *)(nd + 1);
	opt->type = type == ICMP6_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	opt->len = 1;
	memcpy(opt->mac, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	/* rte_ipv6_udptcp_cksum takes the next header from ip6: ICMPv6 too */
	nd->cksum = rte_ipv6_udptcp_cksum(ip6, nd);
	n->tx(n->tx_ctx, port, m);
}

/*
 * One request for e: broadcast ARP / NS to the solicited-node group, or,
 * when probing a known neighbour, unicast to its MAC. Counted as a try even
 * when it could not be built, so the entry fails in time.
 */
static void
solicit(struct dp_neigh *n, struct neigh_entry *e, bool unicast)
{
	const struct dp_port *p = &n->ports[e->key.port];
	struct rte_ether_addr dst;
	uint8_t src[16], group[16];

	e->req_sent_ns = n->now_ns;
	e->tries++;
	if (!pick_src(p, e->key.family, e->key.addr, src))
		return;
	if (unicast)
		word_mac(e->word, &dst);
	if (e->key.family == AF_INET) {
		if (!unicast)
			memset(&dst, 0xff, sizeof(dst));
		arp_send(n, e->key.port, RTE_ARP_OP_REQUEST, &dst, NULL, src, e->key.addr);
		return;
	}
	if (unicast) {
		memcpy(group, e->key.addr, 16);
	} else {
		/* ff02::1:ffXX:XXXX and 33:33:ff:XX:XX:XX */
		static const uint8_t snm[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

		memcpy(group, snm, 13);
		memcpy(group + 13, e->key.addr + 13, 3);
		dst.addr_bytes[0] = 0x33;
		dst.addr_bytes[1] = 0x33;
		memcpy(&dst.addr_bytes[2], group + 12, 4);
	}
	nd_send(n, e->key.port, ICMP6_NS, 0, &dst, src, group, e->key.addr);
}

/* --- learning --- */

/*
 * What a message tells about addr having MAC mac (NULL: no link-layer
 * option). create: make a STALE entry if there is none. confirm: proof of
 * reachability (unicast ARP reply, solicited NA). override: may replace a
 * known MAC (always for ARP; the NA O flag).
 */
static void
learn(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
      const struct rte_ether_addr *mac, bool create, bool confirm, bool override)
{
	struct rte_ether_addr old;
	struct neigh_entry *e;
	struct neigh_key k;
	unsigned st;
	bool same;

	make_key(&k, port, family, addr);
	e = entry_find(n, &k);
	if (e == NULL) {
		if (create && mac != NULL && (e = entry_new(n, &k)) != NULL)
			set_state(n, e, mac, DP_NEIGH_STALE);
		return;
	}
	if (e->is_static)
		return;
	st = entry_state(e);
	if (unresolved(st)) {
		if (mac == NULL)
			return;
		set_state(n, e, mac, confirm ? DP_NEIGH_REACHABLE : DP_NEIGH_STALE);
		queue_flush(n, e);
		return;
	}
	word_mac(e->word, &old);
	same = mac == NULL || rte_is_same_ether_addr(mac, &old);
	if (!same && !override) {
		if (st == DP_NEIGH_REACHABLE)
			set_state(n, e, &old, DP_NEIGH_STALE);
		return;
	}
	if (confirm)
		set_state(n, e, same ? &old : mac, DP_NEIGH_REACHABLE);
	else if (!same)
		set_state(n, e, mac, DP_NEIGH_STALE);
}

/* --- input --- */

/* The input handlers return HANDLED or the reason to drop; the caller frees m. */
static int
arp_input(struct dp_neigh *n, uint16_t port, const struct rte_mbuf *m)
{
	const struct dp_port *p = &n->ports[port];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);
	struct rte_ether_addr sha;
	uint8_t sip[4], tip[4];
	bool for_us, confirm;
	uint16_t op;

	if (m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return DP_DROP_RX_MALFORMED;
	op = rte_be_to_cpu_16(arp->arp_opcode);
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY)
		return DP_DROP_RX_UNSUPPORTED;
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &sha);
	memcpy(sip, &arp->arp_data.arp_sip, 4);
	memcpy(tip, &arp->arp_data.arp_tip, 4);
	if (!rte_is_valid_assigned_ether_addr(&sha))
		return DP_DROP_RX_MALFORMED;
	if (rte_is_same_ether_addr(&sha, &p->mac))
		return HANDLED; /* our own, looped back */
	for_us = port_has(p, AF_INET, tip);
	confirm = op == RTE_ARP_OP_REPLY && rte_is_same_ether_addr(&eth->dst_addr, &p->mac);
	/* RFC 826: update the sender if known, add it if we are the target.
	 * Not from 0.0.0.0 (RFC 5227 probes), multicast, or our own address. */
	if (memcmp(sip, zero16, 4) != 0 && sip[0] < 224 && !port_has(p, AF_INET, sip))
		learn(n, port, AF_INET, sip, &sha, for_us && op == RTE_ARP_OP_REQUEST, confirm,
		      true);
	if (op == RTE_ARP_OP_REQUEST && for_us)
		arp_send(n, port, RTE_ARP_OP_REPLY, &sha, &sha, tip, sip);
	return HANDLED;
}

static bool
icmp6_cksum_ok(const struct rte_ipv6_hdr *ip6, const void *l4, uint16_t len)
{
	uint32_t sum = rte_raw_cksum(l4, len);

	sum += rte_ipv6_phdr_cksum(ip6, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static void
ns_input(struct dp_neigh *n, uint16_t port, const struct rte_mbuf *m,
	 const struct rte_ipv6_hdr *ip6, const struct nd_msg *ns, const struct rte_ether_addr *slla)
{
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};
	static const struct rte_ether_addr all_nodes_mac = {{0x33, 0x33, 0, 0, 0, 0x01}};
	const struct dp_port *p = &n->ports[port];
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (!port_has(p, AF_INET6, ns->target))
		return; /* not ours: nothing to say */
	if (memcmp(ip6->src_addr, zero16, 16) == 0) {
		/* DAD (§7.2.4): tell all nodes the address is taken */
		nd_send(n, port, ICMP6_NA, NA_ROUTER | NA_OVERRIDE, &all_nodes_mac, ns->target,
			all_nodes, ns->target);
		return;
	}
	if (slla != NULL && !port_has(p, AF_INET6, ip6->src_addr))
		learn(n, port, AF_INET6, ip6->src_addr, slla, true, false, true);
	/* a unicast NS without SLLA (a reachability probe): answer the
	 * frame's source rather than resolve the asker first */
	nd_send(n, port, ICMP6_NA, NA_ROUTER | NA_SOLICITED | NA_OVERRIDE,
		slla != NULL ? slla : &eth->src_addr, ns->target, ip6->src_addr, ns->target);
}

/* RFC 4861 §7.1 validation, then §7.2.3 (NS) or §7.2.5 (NA). */
static int
nd_input(struct dp_neigh *n, uint16_t port, const struct rte_mbuf *m)
{
	const size_t hdrs = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv6_hdr);
	const struct dp_port *p = &n->ports[port];
	const struct rte_ether_addr *lla = NULL;
	struct rte_ether_addr lla_buf;
	const struct rte_ipv6_hdr *ip6;
	const struct nd_msg *nd;
	const uint8_t *l4;
	uint16_t len, off;

	if (m->data_len < hdrs + 4)
		return DP_DROP_RX_MALFORMED;
	ip6 = rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, sizeof(struct rte_ether_hdr));
	if ((rte_be_to_cpu_32(ip6->vtc_flow) >> 28) != 6)
		return DP_DROP_RX_MALFORMED;
	if (ip6->proto != IPPROTO_ICMPV6)
		return DP_DROP_RX_UNSUPPORTED; /* extension headers too */
	len = rte_be_to_cpu_16(ip6->payload_len);
	if (len > m->data_len - hdrs || len < 4)
		return DP_DROP_RX_MALFORMED;
	nd = (const struct nd_msg *)(ip6 + 1);
	l4 = (const uint8_t *)nd;
	if (nd->type != ICMP6_NS && nd->type != ICMP6_NA)
		return DP_DROP_RX_UNSUPPORTED;
	if (ip6->hop_limits != ND_HOP_LIMIT || nd->code != 0 || len < sizeof(*nd) ||
	    !icmp6_cksum_ok(ip6, nd, len) || nd->target[0] == 0xff || ip6->src_addr[0] == 0xff)
		return DP_DROP_RX_MALFORMED;
	for (off = sizeof(*nd); off < len; off += l4[off + 1] * 8) {
		if (len - off < 2 || l4[off + 1] == 0 || l4[off + 1] * 8 > len - off)
			return DP_DROP_RX_MALFORMED;
		if (l4[off + 1] == 1 &&
		    l4[off] == (nd->type == ICMP6_NS ? ND_OPT_SLLA : ND_OPT_TLLA)) {
			memcpy(lla_buf.addr_bytes, l4 + off + 2, RTE_ETHER_ADDR_LEN);
			lla = &lla_buf;
		}
	}
	if (lla != NULL && !rte_is_valid_assigned_ether_addr(lla))
		return DP_DROP_RX_MALFORMED;
	if (lla != NULL && rte_is_same_ether_addr(lla, &p->mac))
		return HANDLED; /* our own, looped back */
	if (nd->type == ICMP6_NS) {
		/* from :: only to a solicited-node group, and without SLLA */
		if (memcmp(ip6->src_addr, zero16, 16) == 0 &&
		    (lla != NULL || ip6->dst_addr[0] != 0xff || ip6->dst_addr[1] != 0x02 ||
		     ip6->dst_addr[11] != 0x01 || ip6->dst_addr[12] != 0xff))
			return DP_DROP_RX_MALFORMED;
		ns_input(n, port, m, ip6, nd, lla);
		return HANDLED;
	}
	if (ip6->dst_addr[0] == 0xff && (nd->flags & NA_SOLICITED))
		return DP_DROP_RX_MALFORMED;
	/* our own address advertised by someone else: a conflict, not news */
	if (!port_has(p, AF_INET6, nd->target))
		learn(n, port, AF_INET6, nd->target, lla, false, nd->flags & NA_SOLICITED,
		      nd->flags & NA_OVERRIDE);
	return HANDLED;
}

void
dp_neigh_input(struct dp_neigh *n, uint16_t port, struct rte_mbuf *m)
{
	rte_be16_t type;
	int why;

	/* the handlers read the frame as one buffer */
	if (port >= n->n_ports || (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) ||
	    m->data_len < sizeof(struct rte_ether_hdr)) {
		why = DP_DROP_RX_MALFORMED;
		goto out;
	}
	type = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->ether_type;
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		why = arp_input(n, port, m);
	else if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
		why = nd_input(n, port, m);
	else
		why = DP_DROP_RX_UNSUPPORTED;
out:
	if (why != HANDLED)
		count(n, (enum dp_drop)why);
	rte_pktmbuf_free(m);
}

/* --- the API --- */

int
dp_neigh_lookup(const struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
		struct rte_ether_addr *mac)
{
	struct neigh_entry *e;
	struct neigh_key k;
	uint64_t w, now;

	if (make_key(&k, port, family, addr) != 0 || (e = entry_find(n, &k)) == NULL)
		return -ENOENT;
	w = __atomic_load_n(&e->word, __ATOMIC_ACQUIRE);
	if (!usable(word_state(w)))
		return -ENOENT;
	word_mac(w, mac);
	/* stamp coarsely, so the cache line is written a few times a second */
	now = __atomic_load_n(&n->now_ns, __ATOMIC_RELAXED);
	if (now - __atomic_load_n(&e->last_used, __ATOMIC_RELAXED) >= USED_GRAIN_NS)
		__atomic_store_n(&e->last_used, now, __ATOMIC_RELAXED);
	return 0;
}

void
dp_neigh_resolve(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
		 struct rte_mbuf *m)
{
	struct rte_ether_addr mac;
	struct neigh_entry *e;
	struct neigh_key k;
	unsigned st;

	if (port >= n->n_ports || make_key(&k, port, family, addr) != 0 ||
	    m->data_len < sizeof(struct rte_ether_hdr))
		goto unresolved;
	e = entry_find(n, &k);
	st = e != NULL ? entry_state(e) : ST_NONE;
	if (usable(st)) {
		__atomic_store_n(&e->last_used, n->now_ns, __ATOMIC_RELAXED);
		word_mac(e->word, &mac);
		send_to(n, port, &mac, m);
		return;
	}
	if (e == NULL) {
		/* unresolved entries are capped so a scan of a connected /64
		 * cannot crowd out the neighbours that answer */
		if (n->unresolved >= n->unresolved_max || (e = entry_new(n, &k)) == NULL)
			goto unresolved;
		set_state(n, e, NULL, DP_NEIGH_INCOMPLETE);
	} else if (st != DP_NEIGH_INCOMPLETE) { /* FAILED: try again */
		set_state(n, e, NULL, DP_NEIGH_INCOMPLETE);
		e->tries = 0;
	}
	if (e->q_len >= DP_NEIGH_QUEUE_LEN || n->queued >= DP_NEIGH_QUEUE_TOTAL) {
		drop(n, m, DP_DROP_NEIGH_UNRESOLVED);
	} else {
		e->q[e->q_len++] = m;
		n->queued++;
	}
	/* at most one request a second: later ones come from the timer */
	if (e->tries == 0 &&
	    (e->req_sent_ns == NEVER || n->now_ns - e->req_sent_ns >= DP_NEIGH_RETRANS_NS))
		solicit(n, e, false);
	return;

unresolved:
	drop(n, m, DP_DROP_NEIGH_UNRESOLVED);
}

void
dp_neigh_timer(struct dp_neigh *n, uint64_t now_ns)
{
	struct rte_ether_addr mac;
	unsigned i;

	__atomic_store_n(&n->now_ns, now_ns, __ATOMIC_RELAXED);
	reclaim(n);
	if (now_ns - n->last_scan_ns < SCAN_NS)
		return;
	n->last_scan_ns = now_ns;
	for (i = 0; i < n->hwm; i++) {
		struct neigh_entry *e = &n->e[i];
		uint64_t used;

		if (!e->in_use || e->is_static)
			continue;
		switch (entry_state(e)) {
		case DP_NEIGH_INCOMPLETE:
			if (e->req_sent_ns != NEVER &&
			    now_ns - e->req_sent_ns < DP_NEIGH_RETRANS_NS)
				break;
			if (e->tries >= DP_NEIGH_MAX_PROBES)
				entry_fail(n, e);
			else
				solicit(n, e, false);
			break;
		case DP_NEIGH_REACHABLE:
			if (now_ns - e->confirmed_ns >= DP_NEIGH_REACHABLE_NS) {
				word_mac(e->word, &mac);
				set_state(n, e, &mac, DP_NEIGH_STALE);
			}
			break;
		case DP_NEIGH_STALE:
			used = __atomic_load_n(&e->last_used, __ATOMIC_RELAXED);
			if (e->tries > 0) { /* probing */
				if (now_ns - e->req_sent_ns < DP_NEIGH_RETRANS_NS)
					break;
				if (e->tries >= DP_NEIGH_MAX_PROBES)
					entry_fail(n, e);
				else
					solicit(n, e, true);
			} else if (used != 0 && now_ns - used < DP_NEIGH_REACHABLE_NS) {
				solicit(n, e, true);
			} else if (now_ns - used >= DP_NEIGH_GC_NS &&
				   now_ns - e->updated_ns >= DP_NEIGH_GC_NS) {
				entry_remove(n, e);
			}
			break;
		case DP_NEIGH_FAILED:
			if (now_ns - e->updated_ns >= DP_NEIGH_FAILED_NS)
				entry_remove(n, e);
			break;
		}
	}
}

int
dp_neigh_add_static(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr,
		    const struct rte_ether_addr *mac)
{
	struct neigh_entry *e;
	struct neigh_key k;

	if (port >= n->n_ports || !rte_is_valid_assigned_ether_addr(mac))
		return -EINVAL;
	if (make_key(&k, port, family, addr) != 0)
		return -EAFNOSUPPORT;
	e = entry_find(n, &k);
	if (e == NULL && (e = entry_new(n, &k)) == NULL)
		return -ENOSPC;
	e->is_static = true;
	set_state(n, e, mac, DP_NEIGH_REACHABLE);
	queue_flush(n, e);
	return 0;
}

int
dp_neigh_del(struct dp_neigh *n, uint16_t port, int family, const uint8_t *addr)
{
	struct neigh_entry *e;
	struct neigh_key k;

	if (make_key(&k, port, family, addr) != 0)
		return -EAFNOSUPPORT;
	e = entry_find(n, &k);
	if (e == NULL || !e->in_use)
		return -ENOENT;
	entry_remove(n, e);
	return 0;
}

int
dp_neigh_walk(const struct dp_neigh *n, int (*cb)(void *arg, const struct dp_neigh_info *),
	      void *arg)
{
	struct dp_neigh_info info;
	unsigned i;
	int rc;

	for (i = 0; i < n->hwm; i++) {
		const struct neigh_entry *e = &n->e[i];

		if (!e->in_use)
			continue;
		memset(&info, 0, sizeof(info));
		info.port = e->key.port;
		info.family = e->key.family;
		memcpy(info.addr, e->key.addr, 16);
		word_mac(e->word, &info.mac);
		info.state = (enum dp_neigh_state)entry_state(e);
		info.is_static = e->is_static;
		info.queued = e->q_len;
		info.confirmed_ns = e->confirmed_ns;
		rc = cb(arg, &info);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct dp_neigh *
dp_neigh_create(const char *name, unsigned max_entries, int socket_id, struct dp_port *ports,
		unsigned n_ports, dp_neigh_tx_fn tx, void *tx_ctx, struct rte_mempool *mp,
		struct dp_lcore_stats *main_stats, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.key_len = sizeof(struct neigh_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
		/* one writer, lock-free readers; the extendable table lets every
		 * one of max_entries keys in whatever buckets they hash to */
		.extra_flag =
			RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dp_neigh *n;

	if (name == NULL || ports == NULL || n_ports == 0 || n_ports > DP_MAX_PORTS || tx == NULL ||
	    mp == NULL || max_entries > (1u << 24)) {
		rte_errno = EINVAL;
		return NULL;
	}
	n = rte_zmalloc_socket("dp_neigh", sizeof(*n), RTE_CACHE_LINE_SIZE, socket_id);
	if (n == NULL)
		goto err_nomem;
	n->cap = RTE_MAX(max_entries, (unsigned)HASH_MIN_ENTRIES);
	n->e = rte_zmalloc_socket("dp_neigh_e", (size_t)n->cap * sizeof(n->e[0]),
				  RTE_CACHE_LINE_SIZE, socket_id);
	n->defer = rte_zmalloc_socket("dp_neigh_d", (size_t)n->cap * sizeof(n->defer[0]), 0,
				      socket_id);
	if (n->e == NULL || n->defer == NULL)
		goto err_nomem;
	hp.entries = n->cap;
	n->h = rte_hash_create(&hp);
	if (n->h == NULL)
		goto err_free; /* rte_errno set */
	n->ports = ports;
	n->n_ports = n_ports;
	n->tx = tx;
	n->tx_ctx = tx_ctx;
	n->mp = mp;
	n->stats = main_stats;
	n->qsbr = qsbr;
	n->unresolved_max = RTE_MAX(n->cap / 2, 1u);
	return n;

err_nomem:
	rte_errno = ENOMEM;
err_free:
	if (n != NULL) {
		rte_free(n->defer);
		rte_free(n->e);
		rte_free(n);
	}
	return NULL;
}

void
dp_neigh_free(struct dp_neigh *n)
{
	unsigned i;

	if (n == NULL)
		return;
	for (i = 0; i < n->hwm; i++)
		if (n->e[i].in_use)
			queue_drop(n, &n->e[i], false);
	rte_hash_free(n->h);
	rte_free(n->defer);
	rte_free(n->e);
	rte_free(n);
}
