/*
 * test_neigh.c — unit tests of the neighbour table (dataplane/neigh.c):
 * ARP and ND input as tables of frames and what must come out (reply
 * bytes, learned state, counted drop), resolution with queueing and
 * flushing, retransmission and failure, aging and unicast probes, static
 * entries, the unresolved and queue bounds, RCU-deferred reuse, and a
 * reader thread that must never see a torn MAC. EAL runs once, without
 * hugepages or devices: two fake ports and a tx callback that captures.
 * Every test ends with the mempool back at its baseline (no mbuf leaks).
 * Main thread, plus one reader pthread in test_concurrent_reader.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "neigh.h"

#define SEC    1000000000ull
#define T0     (1000 * SEC)
#define CAPMAX 256

static struct rte_mempool *mp;
static unsigned baseline;
static struct dp_port ports[2];
static struct dp_lcore_stats stats;
static struct dp_neigh *nt;
static uint64_t now;

static struct {
	uint16_t port;
	struct rte_mbuf *m;
} cap[CAPMAX];
static unsigned ncap;

static const uint8_t v4_me0[4] = {44, 0, 0, 1};
static const uint8_t v4_me1a[4] = {10, 1, 0, 1};
static const uint8_t v4_me1b[4] = {10, 2, 0, 1};
static const uint8_t v6_me0[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1};
static const uint8_t v6_me1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1};
static const uint8_t ll_me0[16] = {0xfe, 0x80, [15] = 1};
static const uint8_t ll_me1[16] = {0xfe, 0x80, [15] = 2};
static const uint8_t v6_unspec[16];
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};

/* --- fixtures --- */

static void
tx_capture(void *ctx, uint16_t port, struct rte_mbuf *m)
{
	assert_ptr_equal(ctx, &ncap);
	assert_true(ncap < CAPMAX);
	cap[ncap].port = port;
	cap[ncap].m = m;
	ncap++;
}

static void
cap_clear(void)
{
	unsigned i;

	for (i = 0; i < ncap; i++)
		rte_pktmbuf_free(cap[i].m);
	ncap = 0;
}

static void
add_addr(struct dp_port *p, int family, const uint8_t *a, uint8_t plen)
{
	struct dp_addr *d = &p->addrs[p->n_addrs++];

	d->family = family;
	memcpy(d->addr, a, family == AF_INET ? 4 : 16);
	d->plen = plen;
}

static void
ports_init(void)
{
	static const uint8_t other6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 3, [15] = 1};
	unsigned i;

	memset(ports, 0, sizeof(ports));
	for (i = 0; i < 2; i++) {
		ports[i].index = (uint16_t)i;
		ports[i].port_id = (uint16_t)i;
		ports[i].mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, (uint8_t)(i + 1)}};
	}
	add_addr(&ports[0], AF_INET, v4_me0, 24);
	add_addr(&ports[0], AF_INET6, v6_me0, 64);
	memcpy(ports[0].ll6, ll_me0, 16);
	add_addr(&ports[1], AF_INET6, other6, 64);
	add_addr(&ports[1], AF_INET, v4_me1a, 24);
	add_addr(&ports[1], AF_INET, v4_me1b, 24);
	add_addr(&ports[1], AF_INET6, v6_me1, 64);
	memcpy(ports[1].ll6, ll_me1, 16);
}

static void
set_time(uint64_t t)
{
	now = t;
	dp_neigh_timer(nt, t);
}

static int
setup_n(unsigned max_entries, struct rte_rcu_qsbr *qsbr)
{
	ports_init();
	memset(&stats, 0, sizeof(stats));
	ncap = 0;
	nt = dp_neigh_create("tneigh", max_entries, SOCKET_ID_ANY, ports, 2, tx_capture, &ncap, mp,
			     &stats, qsbr);
	assert_non_null(nt);
	set_time(T0);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	return setup_n(256, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	cap_clear();
	dp_neigh_free(nt);
	nt = NULL;
	assert_int_equal(rte_mempool_in_use_count(mp), baseline);
	return 0;
}

static uint64_t
drops(void)
{
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < DP_DROP_MAX; i++)
		s += stats.drops[i];
	return s;
}

static struct rte_ether_addr
mac_of(uint8_t last)
{
	return (struct rte_ether_addr){{0x02, 0xaa, 0, 0, 0, last}};
}

/* --- looking at the table --- */

struct find {
	uint16_t port;
	int family;
	const uint8_t *addr;
	struct dp_neigh_info info;
	int found;
	unsigned total;
};

static int
find_cb(void *arg, const struct dp_neigh_info *i)
{
	struct find *f = arg;

	f->total++;
	if (i->port == f->port && i->family == f->family &&
	    memcmp(i->addr, f->addr, f->family == AF_INET ? 4 : 16) == 0) {
		f->info = *i;
		f->found++;
	}
	return 0;
}

/* The state of an entry, 0 if there is none; its MAC in *mac. */
static int
state_of(uint16_t port, int family, const uint8_t *addr, struct rte_ether_addr *mac)
{
	struct find f = {.port = port, .family = family, .addr = addr};

	assert_int_equal(dp_neigh_walk(nt, find_cb, &f), 0);
	assert_true(f.found <= 1);
	if (mac != NULL)
		*mac = f.info.mac;
	return f.found ? (int)f.info.state : 0;
}

static unsigned
n_entries(void)
{
	struct find f = {.addr = v6_unspec};

	dp_neigh_walk(nt, find_cb, &f);
	return f.total;
}

/* --- building frames --- */

static struct rte_mbuf *
frame(const void *bytes, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	char *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, len);
	assert_non_null(p);
	memcpy(p, bytes, len);
	return m;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An ARP frame, byte by byte (not with the module's structs). */
static uint16_t
arp_bytes(uint8_t *b, const struct rte_ether_addr *eth_dst, const struct rte_ether_addr *eth_src,
	  uint16_t op, const struct rte_ether_addr *sha, const uint8_t *sip,
	  const struct rte_ether_addr *tha, const uint8_t *tip)
{
	memset(b, 0, 60);
	memcpy(b, eth_dst, 6);
	memcpy(b + 6, eth_src, 6);
	put16(b + 12, 0x0806);
	put16(b + 14, 1);
	put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	put16(b + 20, op);
	memcpy(b + 22, sha, 6);
	memcpy(b + 28, sip, 4);
	if (tha != NULL)
		memcpy(b + 32, tha, 6);
	memcpy(b + 38, tip, 4);
	return 60;
}

static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static void
arp_in(uint16_t port, uint16_t op, const struct rte_ether_addr *eth_dst, uint8_t sha_last,
       const uint8_t *sip, const uint8_t *tip)
{
	struct rte_ether_addr sha = mac_of(sha_last);
	uint8_t b[60];

	arp_bytes(b, eth_dst, &sha, op, &sha, sip, NULL, tip);
	dp_neigh_input(nt, port, frame(b, 60));
}

/* The ICMPv6 checksum, computed the plain way: 0 when l4 carries a valid one. */
static uint16_t
cksum6(const uint8_t *src, const uint8_t *dst, const uint8_t *l4, uint32_t len)
{
	uint8_t ph[40];
	uint32_t sum = 0, i;

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = 58;
	for (i = 0; i < 40; i += 2)
		sum += get16(ph + i);
	for (i = 0; i + 1 < len; i += 2)
		sum += get16(l4 + i);
	if (len & 1)
		sum += (uint32_t)l4[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct nd_spec {
	uint8_t type;  /* 135 NS, 136 NA, 133 RS */
	uint8_t flags; /* NA R S O */
	uint8_t code;
	uint8_t hop; /* 0: 255 */
	const uint8_t *src, *dst, *target;
	uint8_t opt_type; /* 0: no option */
	bool opt_len0;	  /* the option's length 0 (invalid) instead of 1 */
	uint8_t opt_mac;  /* last byte of 02:aa:00:00:00:xx */
	bool bad_cksum;
	int plen_delta;	 /* added to payload_len after the checksum */
	uint8_t eth_src; /* last byte of 02:aa:.., default 0x99 */
};

static uint16_t
nd_bytes(uint8_t *b, const struct nd_spec *s, const struct rte_ether_addr *eth_dst)
{
	uint16_t l4 = 24 + (s->opt_type ? 8 : 0);
	struct rte_ether_addr esrc = mac_of(s->eth_src ? s->eth_src : 0x99);
	uint8_t *ip = b + 14, *nd = b + 54;
	uint16_t c;

	memset(b, 0, 14 + 40 + l4);
	memcpy(b, eth_dst, 6);
	memcpy(b + 6, &esrc, 6);
	put16(b + 12, 0x86dd);
	ip[0] = 0x60;
	put16(ip + 4, l4);
	ip[6] = 58;
	ip[7] = s->hop ? s->hop : 255;
	memcpy(ip + 8, s->src, 16);
	memcpy(ip + 24, s->dst, 16);
	nd[0] = s->type;
	nd[1] = s->code;
	nd[4] = s->flags;
	if (s->target != NULL)
		memcpy(nd + 8, s->target, 16);
	if (s->opt_type) {
		struct rte_ether_addr om = mac_of(s->opt_mac);

		nd[24] = s->opt_type;
		nd[25] = s->opt_len0 ? 0 : 1;
		memcpy(nd + 26, &om, 6);
	}
	c = cksum6(s->src, s->dst, nd, l4);
	if (s->bad_cksum)
		c ^= 0x0100;
	put16(nd + 2, c);
	put16(ip + 4, (uint16_t)(l4 + s->plen_delta));
	return (uint16_t)(14 + 40 + l4);
}

static void
nd_in(uint16_t port, const struct nd_spec *s)
{
	struct rte_ether_addr d = {{0x33, 0x33, 0xff, 0, 0, 0}};
	uint8_t b[128];
	uint16_t len;

	if (s->dst[0] != 0xff)
		d = ports[port].mac;
	len = nd_bytes(b, s, &d);
	dp_neigh_input(nt, port, frame(b, len));
}

/* Check an NS/NA we sent; returns a pointer to its ICMPv6 part. */
static const uint8_t *
check_nd_out(struct rte_mbuf *m, uint16_t port, uint8_t type, uint8_t flags,
	     const struct rte_ether_addr *eth_dst, const uint8_t *src, const uint8_t *dst,
	     const uint8_t *target)
{
	const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip = b + 14, *nd = b + 54;

	assert_int_equal(m->pkt_len, 14 + 40 + 32);
	assert_memory_equal(b, eth_dst, 6);
	assert_memory_equal(b + 6, &ports[port].mac, 6);
	assert_int_equal(get16(b + 12), 0x86dd);
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal(get16(ip + 4), 32);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255);
	assert_memory_equal(ip + 8, src, 16);
	assert_memory_equal(ip + 24, dst, 16);
	assert_int_equal(nd[0], type);
	assert_int_equal(nd[1], 0);
	assert_int_equal(nd[4], flags);
	assert_int_equal(nd[5] | nd[6] | nd[7], 0);
	assert_memory_equal(nd + 8, target, 16);
	assert_int_equal(nd[24], type == 135 ? 1 : 2);
	assert_int_equal(nd[25], 1);
	assert_memory_equal(nd + 26, &ports[port].mac, 6);
	assert_int_equal(cksum6(src, dst, nd, 32), 0);
	return nd;
}

/* A data packet for resolve: Ethernet (type IPv4) + 20 bytes tagged seq. */
static struct rte_mbuf *
data_pkt(uint8_t seq)
{
	uint8_t b[34] = {0};

	put16(b + 12, 0x0800);
	b[14] = 0x45;
	b[33] = seq;
	return frame(b, sizeof(b));
}

static void
check_data_out(unsigned i, uint16_t port, const struct rte_ether_addr *dst, uint8_t seq)
{
	const uint8_t *b = rte_pktmbuf_mtod(cap[i].m, const uint8_t *);

	assert_int_equal(cap[i].port, port);
	assert_int_equal(cap[i].m->pkt_len, 34);
	assert_memory_equal(b, dst, 6);
	assert_memory_equal(b + 6, &ports[port].mac, 6);
	assert_int_equal(get16(b + 12), 0x0800);
	assert_int_equal(b[33], seq);
}

/* --- ARP input --- */

#define DROP(r) (DP_DROP_##r + 1)

struct arp_case {
	const char *name;
	uint16_t port;
	int pre;	    /* learn sip with 02:aa::pre first (0: no) */
	bool pre_reachable; /* ... and confirm it */
	uint16_t op;
	uint8_t sha;
	uint8_t sip[4], tip[4];
	bool bcast;   /* Ethernet broadcast, else to the port's MAC */
	uint16_t hw;  /* 0: 1 */
	uint8_t hlen; /* 0: 6 */
	uint16_t len; /* 0: 60 */
	bool reply;
	int state;   /* of sip afterwards, 0: no entry */
	uint8_t mac; /* its MAC's last byte */
	int drop;    /* DROP(reason), 0: none */
};

static void
test_arp_table(void **state)
{
	/* clang-format off */
	static const struct arp_case cases[] = {
	{"request for us: reply, learn STALE",
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .reply = true, .state = DP_NEIGH_STALE, .mac = 9},
	{"request for another: ignored, not learned",
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 77}, .bcast = true},
	{"request for another from a known host: MAC updated", .pre = 5, .pre_reachable = true,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 77}, .bcast = true,
	 .state = DP_NEIGH_STALE, .mac = 9},
	{"request for another, same MAC: state kept", .pre = 9, .pre_reachable = true,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 77}, .bcast = true,
	 .state = DP_NEIGH_REACHABLE, .mac = 9},
	{"gratuitous request updates", .pre = 5,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 9}, .bcast = true,
	 .state = DP_NEIGH_STALE, .mac = 9},
	{"gratuitous request for an unknown host: not learned",
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 9}, .bcast = true},
	{"unicast reply confirms", .pre = 9,
	 .op = 2, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1},
	 .state = DP_NEIGH_REACHABLE, .mac = 9},
	{"broadcast reply with a new MAC: STALE", .pre = 5, .pre_reachable = true,
	 .op = 2, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 9}, .bcast = true,
	 .state = DP_NEIGH_STALE, .mac = 9},
	{"unsolicited reply: not learned",
	 .op = 2, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}},
	{"probe from 0.0.0.0: answered, not learned",
	 .op = 1, .sha = 9, .sip = {0, 0, 0, 0}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .reply = true},
	{"request on the wrong port", .port = 1,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true},
	{"request for port 1's second address", .port = 1,
	 .op = 1, .sha = 9, .sip = {10, 2, 0, 9}, .tip = {10, 2, 0, 1}, .bcast = true,
	 .reply = true, .state = DP_NEIGH_STALE, .mac = 9},
	{"sender claims our address: answered, not learned",
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 1}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .reply = true},
	{"hardware type 6", .hw = 6,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .drop = DROP(RX_MALFORMED)},
	{"hardware length 5", .hlen = 5,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .drop = DROP(RX_MALFORMED)},
	{"truncated", .len = 30,
	 .op = 1, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .drop = DROP(RX_MALFORMED)},
	{"RARP opcode",
	 .op = 3, .sha = 9, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .drop = DROP(RX_UNSUPPORTED)},
	{"multicast sender MAC",
	 .op = 1, .sha = 0x01, .sip = {44, 0, 0, 9}, .tip = {44, 0, 0, 1}, .bcast = true,
	 .drop = DROP(RX_MALFORMED)},
	};
	/* clang-format on */
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct arp_case *c = &cases[i];
		struct rte_ether_addr sha = mac_of(c->sha), mac;
		const struct rte_ether_addr *edst = c->bcast ? &bcast : &ports[c->port].mac;
		uint8_t b[60], want[60];
		uint64_t before;
		uint16_t len;

		print_message("arp: %s\n", c->name);
		if (i > 0) {
			teardown(NULL);
			setup(NULL);
		}
		if (c->sha == 0x01) /* group bit in the first byte */
			sha.addr_bytes[0] = 0x03;
		if (c->pre) {
			const uint8_t *me = c->port ? v4_me1a : v4_me0;

			arp_in(c->port, 1, &bcast, (uint8_t)c->pre, c->sip, me);
			if (c->pre_reachable)
				arp_in(c->port, 2, &ports[c->port].mac, (uint8_t)c->pre, c->sip,
				       me);
			cap_clear();
			assert_int_equal(state_of(c->port, AF_INET, c->sip, NULL),
					 c->pre_reachable ? DP_NEIGH_REACHABLE : DP_NEIGH_STALE);
		}
		before = drops();
		len = arp_bytes(b, edst, &sha, c->op, &sha, c->sip, NULL, c->tip);
		if (c->hw)
			put16(b + 14, c->hw);
		if (c->hlen)
			b[18] = c->hlen;
		if (c->len)
			len = c->len;
		dp_neigh_input(nt, c->port, frame(b, len));

		if (c->drop) {
			assert_int_equal(stats.drops[c->drop - 1], 1);
			assert_int_equal(drops() - before, 1);
		} else {
			assert_int_equal(drops(), before);
		}
		assert_int_equal(ncap, c->reply ? 1 : 0);
		if (c->reply) {
			arp_bytes(want, &sha, &ports[c->port].mac, 2, &ports[c->port].mac, c->tip,
				  &sha, c->sip);
			assert_int_equal(cap[0].port, c->port);
			assert_int_equal(cap[0].m->pkt_len, 60);
			assert_memory_equal(rte_pktmbuf_mtod(cap[0].m, void *), want, 60);
		}
		assert_int_equal(state_of(c->port, AF_INET, c->sip, &mac), c->state);
		if (c->state) {
			struct rte_ether_addr want_mac = mac_of(c->mac), got;

			assert_memory_equal(&mac, &want_mac, 6);
			assert_int_equal(dp_neigh_lookup(nt, c->port, AF_INET, c->sip, &got), 0);
			assert_memory_equal(&got, &want_mac, 6);
		} else {
			assert_int_equal(dp_neigh_lookup(nt, c->port, AF_INET, c->sip, &mac),
					 -ENOENT);
		}
	}
}

/* A request split over two segments is linearized and answered. */
static void
test_arp_multiseg(void **state)
{
	struct rte_ether_addr sha = mac_of(9);
	struct rte_mbuf *m, *m2;
	uint8_t b[60];

	(void)state;
	arp_bytes(b, &bcast, &sha, 1, &sha, (const uint8_t[]){44, 0, 0, 9}, NULL, v4_me0);
	m = frame(b, 20);
	m2 = frame(b + 20, 40);
	assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	dp_neigh_input(nt, 0, m);
	assert_int_equal(ncap, 1);
	assert_int_equal(drops(), 0);
}

/* --- ND input --- */

/* An nd_spec: type, flags, source, destination, target, then any field. */
#define SPEC(t, f, s_, d_, g_, ...)                                                              \
	{                                                                                        \
		.type = (t), .flags = (f), .src = (s_), .dst = (d_), .target = (g_), __VA_ARGS__ \
	}
#define SLLA(x) .opt_type = 1, .opt_mac = (x)
#define TLLA(x) .opt_type = 2, .opt_mac = (x)

struct nd_case {
	const char *name;
	uint16_t port;
	int pre; /* learn src/target with 02:aa::pre first (0: no) */
	bool pre_reachable;
	struct nd_spec s;
	/* what must come out */
	bool reply;
	uint8_t r_flags;
	const uint8_t *r_dst; /* NULL: the NS source */
	uint8_t r_eth;	      /* last byte of 02:aa::, 0: 33:33:00:00:00:01 */
	const uint8_t *who;   /* the address whose entry is checked */
	int state;
	uint8_t mac;
	int drop; /* DROP(reason), 0: none */
};

static const uint8_t g9[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 9};
static const uint8_t ll9[16] = {0xfe, 0x80, [15] = 9};
static const uint8_t snm_me0[16] = {0xff, 0x02, [11] = 1, 0xff, 0, 0, 1};
static const uint8_t snm_g9[16] = {0xff, 0x02, [11] = 1, 0xff, 0, 0, 9};
static const uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x77};

static void
test_nd_table(void **state)
{
	enum { NS = 135, NA = 136, R = 0x80, S = 0x40, O = 0x20 };
	/* clang-format off */
	static const struct nd_case cases[] = {
	{"NS for our global: NA R+S+O with TLLA, sender learned STALE",
	 .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9)),
	 .reply = true, .r_flags = R | S | O, .r_eth = 9, .who = g9, .state = DP_NEIGH_STALE, .mac = 9},
	{"NS for our link-local",
	 .s = SPEC(NS, 0, ll9, snm_me0, ll_me0, SLLA(9)),
	 .reply = true, .r_flags = R | S | O, .r_eth = 9, .who = ll9, .state = DP_NEIGH_STALE, .mac = 9},
	{"NS unicast without SLLA (a probe): answered to the frame's source",
	 .s = SPEC(NS, 0, g9, v6_me0, v6_me0, .eth_src = 0x42),
	 .reply = true, .r_flags = R | S | O, .r_eth = 0x42, .who = g9},
	{"NS with a new SLLA from a known host: MAC updated, STALE", .pre = 5, .pre_reachable = true,
	 .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9)),
	 .reply = true, .r_flags = R | S | O, .r_eth = 9, .who = g9, .state = DP_NEIGH_STALE, .mac = 9},
	{"NS with the same SLLA: state kept", .pre = 9, .pre_reachable = true,
	 .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9)),
	 .reply = true, .r_flags = R | S | O, .r_eth = 9, .who = g9, .state = DP_NEIGH_REACHABLE, .mac = 9},
	{"NS for another address: silence, nothing learned",
	 .s = SPEC(NS, 0, g9, snm_g9, other, SLLA(9)), .who = g9},
	{"NS on the wrong port", .port = 1,
	 .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9)), .who = g9},
	{"DAD NS from ::: NA to all-nodes with S=0",
	 .s = SPEC(NS, 0, v6_unspec, snm_me0, v6_me0),
	 .reply = true, .r_flags = R | O, .r_dst = all_nodes, .who = g9},
	{"DAD NS with an SLLA", .s = SPEC(NS, 0, v6_unspec, snm_me0, v6_me0, SLLA(9)),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"DAD NS not to a solicited-node group", .s = SPEC(NS, 0, v6_unspec, v6_me0, v6_me0),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"hop limit 254", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .hop = 254),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"bad checksum", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .bad_cksum = true),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"code 1", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .code = 1),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"option of length 0", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .opt_len0 = true),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"ICMPv6 shorter than an NS", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .plen_delta = -16),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"payload length beyond the frame", .s = SPEC(NS, 0, g9, snm_me0, v6_me0, SLLA(9), .plen_delta = 8),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"multicast target", .s = SPEC(NS, 0, g9, snm_me0, all_nodes),
	 .who = g9, .drop = DROP(RX_MALFORMED)},
	{"RS is not handled here", .s = SPEC(133, 0, g9, all_nodes, NULL),
	 .who = g9, .drop = DROP(RX_UNSUPPORTED)},
	{"NA solicited with TLLA confirms", .pre = 9,
	 .s = SPEC(NA, S | O, g9, v6_me0, g9, TLLA(9)),
	 .who = g9, .state = DP_NEIGH_REACHABLE, .mac = 9},
	{"NA solicited without TLLA confirms", .pre = 9,
	 .s = SPEC(NA, S, g9, v6_me0, g9),
	 .who = g9, .state = DP_NEIGH_REACHABLE, .mac = 9},
	{"NA O=0 with another MAC: STALE, MAC kept", .pre = 5, .pre_reachable = true,
	 .s = SPEC(NA, S, g9, v6_me0, g9, TLLA(9)),
	 .who = g9, .state = DP_NEIGH_STALE, .mac = 5},
	{"NA unsolicited O=1 with another MAC: STALE, MAC replaced", .pre = 5, .pre_reachable = true,
	 .s = SPEC(NA, O, g9, all_nodes, g9, TLLA(9)),
	 .who = g9, .state = DP_NEIGH_STALE, .mac = 9},
	{"NA for an unknown target: not learned",
	 .s = SPEC(NA, S | O, g9, v6_me0, g9, TLLA(9)), .who = g9},
	{"NA to a group with S set", .pre = 9,
	 .s = SPEC(NA, S | O, g9, all_nodes, g9, TLLA(7)),
	 .who = g9, .state = DP_NEIGH_STALE, .mac = 9, .drop = DROP(RX_MALFORMED)},
	{"NA with hop limit 64", .pre = 9,
	 .s = SPEC(NA, S | O, g9, v6_me0, g9, TLLA(7), .hop = 64),
	 .who = g9, .state = DP_NEIGH_STALE, .mac = 9, .drop = DROP(RX_MALFORMED)},
	};
	/* clang-format on */
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct nd_case *c = &cases[i];
		struct rte_ether_addr mac;
		uint64_t before;

		print_message("nd: %s\n", c->name);
		if (i > 0) {
			teardown(NULL);
			setup(NULL);
		}
		if (c->pre) {
			struct nd_spec pre =
				SPEC(NS, 0, c->who, snm_me0, v6_me0, SLLA((uint8_t)c->pre));
			struct nd_spec conf = SPEC(NA, S, c->who, v6_me0, c->who);

			nd_in(0, &pre);
			if (c->pre_reachable)
				nd_in(0, &conf);
			cap_clear();
			assert_int_equal(state_of(0, AF_INET6, c->who, NULL),
					 c->pre_reachable ? DP_NEIGH_REACHABLE : DP_NEIGH_STALE);
		}
		before = drops();
		nd_in(c->port, &c->s);
		if (c->drop) {
			assert_int_equal(stats.drops[c->drop - 1], 1);
			assert_int_equal(drops() - before, 1);
		} else {
			assert_int_equal(drops(), before);
		}
		assert_int_equal(ncap, c->reply ? 1 : 0);
		if (c->reply) {
			struct rte_ether_addr edst = mac_of(c->r_eth);

			if (c->r_eth == 0)
				edst = (struct rte_ether_addr){{0x33, 0x33, 0, 0, 0, 1}};
			assert_int_equal(cap[0].port, c->port);
			check_nd_out(cap[0].m, c->port, NA, c->r_flags, &edst, c->s.target,
				     c->r_dst ? c->r_dst : c->s.src, c->s.target);
		}
		assert_int_equal(state_of(0, AF_INET6, c->who, &mac), c->state);
		if (c->state) {
			struct rte_ether_addr want = mac_of(c->mac);

			assert_memory_equal(&mac, &want, 6);
		}
	}
}

/* --- resolution --- */

static void
test_resolve_arp(void **state)
{
	static const uint8_t nh[4] = {44, 0, 0, 50};
	struct rte_ether_addr mac, learned = mac_of(0x50);
	const uint8_t *b;
	unsigned i;

	(void)state;
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	for (i = 0; i < DP_NEIGH_QUEUE_LEN + 3; i++)
		dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt((uint8_t)i));
	/* one broadcast request, from our address on that subnet */
	assert_int_equal(ncap, 1);
	b = rte_pktmbuf_mtod(cap[0].m, const uint8_t *);
	{
		uint8_t want[60];

		arp_bytes(want, &bcast, &ports[0].mac, 1, &ports[0].mac, v4_me0, NULL, nh);
		assert_int_equal(cap[0].m->pkt_len, 60);
		assert_memory_equal(b, want, 60);
	}
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 3);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_INCOMPLETE);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	cap_clear();

	/* the reply flushes the queue in order with the right header */
	set_time(T0 + SEC / 2);
	arp_in(0, 2, &ports[0].mac, 0x50, nh, v4_me0);
	assert_int_equal(ncap, DP_NEIGH_QUEUE_LEN);
	for (i = 0; i < DP_NEIGH_QUEUE_LEN; i++)
		check_data_out(i, 0, &learned, (uint8_t)i);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_REACHABLE);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0);
	assert_memory_equal(&mac, &learned, 6);
	cap_clear();

	/* resolved: sent at once */
	dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(99));
	assert_int_equal(ncap, 1);
	check_data_out(0, 0, &learned, 99);
	/* and no more requests from the timer */
	cap_clear();
	set_time(T0 + 5 * SEC);
	assert_int_equal(ncap, 0);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 3);
}

static void
test_resolve_nd(void **state)
{
	static const uint8_t nh[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [13] = 0x12, 0x34, 0x56};
	static const uint8_t snm[16] = {0xff, 0x02, [11] = 1, 0xff, 0x12, 0x34, 0x56};
	static const uint8_t llnh[16] = {0xfe, 0x80, [13] = 0xab, 0xcd, 0xef};
	static const uint8_t llsnm[16] = {0xff, 0x02, [11] = 1, 0xff, 0xab, 0xcd, 0xef};
	const struct rte_ether_addr e_snm = {{0x33, 0x33, 0xff, 0x12, 0x34, 0x56}};
	const struct rte_ether_addr e_llsnm = {{0x33, 0x33, 0xff, 0xab, 0xcd, 0xef}};
	struct rte_ether_addr mac, learned = mac_of(0x56);
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++)
		dp_neigh_resolve(nt, 0, AF_INET6, nh, data_pkt((uint8_t)i));
	dp_neigh_resolve(nt, 0, AF_INET6, llnh, data_pkt(50));
	assert_int_equal(ncap, 2);
	check_nd_out(cap[0].m, 0, 135, 0, &e_snm, v6_me0, snm, nh);
	check_nd_out(cap[1].m, 0, 135, 0, &e_llsnm, ll_me0, llsnm, llnh);
	cap_clear();

	/* an unsolicited NA does not complete resolution... without TLLA */
	{
		struct nd_spec na = SPEC(136, 0x40, nh, v6_me0, nh);

		nd_in(0, &na);
		assert_int_equal(state_of(0, AF_INET6, nh, NULL), DP_NEIGH_INCOMPLETE);
	}
	/* ...a solicited one with TLLA does, and flushes */
	{
		struct nd_spec na = SPEC(136, 0x40 | 0x20, nh, v6_me0, nh, TLLA(0x56));

		nd_in(0, &na);
	}
	assert_int_equal(ncap, 4);
	for (i = 0; i < 4; i++)
		check_data_out(i, 0, &learned, (uint8_t)i);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET6, nh, &mac), 0);
	assert_memory_equal(&mac, &learned, 6);
	cap_clear();

	/* an NS from the link-local neighbour resolves it too (STALE, usable) */
	{
		struct nd_spec ns = SPEC(135, 0, llnh, snm_me0, v6_me0, SLLA(0xef));
		struct rte_ether_addr want = mac_of(0xef);

		nd_in(0, &ns);
		assert_int_equal(ncap, 2); /* the waiting packet, then the NA */
		check_data_out(0, 0, &want, 50);
		check_nd_out(cap[1].m, 0, 136, 0xe0, &want, v6_me0, llnh, v6_me0);
		assert_int_equal(state_of(0, AF_INET6, llnh, NULL), DP_NEIGH_STALE);
	}
	assert_int_equal(drops(), 0);
}

/* The source of a request: same subnet, else the first (v4) / link-local (v6). */
static void
test_source_selection(void **state)
{
	static const struct {
		int family;
		uint8_t target[16];
		const uint8_t *src;
	} cases[] = {
		{AF_INET, {10, 2, 0, 7}, v4_me1b},
		{AF_INET, {10, 1, 0, 7}, v4_me1a},
		{AF_INET, {192, 0, 2, 1}, v4_me1a},
		{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 7}, v6_me1},
		{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 7}, ll_me1},
		{AF_INET6, {0xfe, 0x80, [15] = 7}, ll_me1},
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *b;

		dp_neigh_resolve(nt, 1, cases[i].family, cases[i].target, data_pkt(0));
		assert_int_equal(ncap, 1);
		assert_int_equal(cap[0].port, 1);
		b = rte_pktmbuf_mtod(cap[0].m, const uint8_t *);
		if (cases[i].family == AF_INET) {
			assert_memory_equal(b + 28, cases[i].src, 4);
			assert_memory_equal(b + 38, cases[i].target, 4);
		} else {
			assert_memory_equal(b + 22, cases[i].src, 16);
			assert_memory_equal(b + 62, cases[i].target, 16);
		}
		cap_clear();
	}
}

/* A port without an address of the family sends nothing, and fails in time. */
static void
test_no_source(void **state)
{
	static const uint8_t nh[4] = {44, 0, 0, 3};
	unsigned i;

	(void)state;
	ports[0].n_addrs = 0;
	dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(0));
	assert_int_equal(ncap, 0);
	for (i = 1; i <= 3; i++)
		set_time(T0 + i * SEC);
	assert_int_equal(ncap, 0);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_FAILED);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 1);
}

/* --- timers --- */

static void
test_retry_then_fail(void **state)
{
	static const uint8_t nh[4] = {44, 0, 0, 60};
	struct rte_ether_addr mac;
	unsigned i;

	(void)state;
	for (i = 0; i < 5; i++)
		dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt((uint8_t)i));
	assert_int_equal(ncap, 1);
	set_time(T0 + SEC / 2);
	assert_int_equal(ncap, 1);
	set_time(T0 + SEC);
	assert_int_equal(ncap, 2);
	set_time(T0 + SEC + SEC / 2);
	assert_int_equal(ncap, 2);
	set_time(T0 + 2 * SEC);
	assert_int_equal(ncap, 3);
	for (i = 0; i < 3; i++) {
		const uint8_t *b = rte_pktmbuf_mtod(cap[i].m, const uint8_t *);

		assert_memory_equal(b, &bcast, 6);
		assert_int_equal(get16(b + 20), 1);
		assert_memory_equal(b + 38, nh, 4);
	}
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_INCOMPLETE);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 0);
	set_time(T0 + 3 * SEC);
	assert_int_equal(ncap, 3); /* three tries only */
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_FAILED);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 5);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	cap_clear();

	/* traffic again: a new attempt, at once (the last request was 1 s ago) */
	dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(7));
	assert_int_equal(ncap, 1);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_INCOMPLETE);
	for (i = 4; i <= 6; i++)
		set_time(T0 + i * SEC);
	assert_int_equal(ncap, 3);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_FAILED);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 6);
	/* FAILED entries go away after a while */
	set_time(T0 + 6 * SEC + DP_NEIGH_FAILED_NS - SEC);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_FAILED);
	set_time(T0 + 6 * SEC + DP_NEIGH_FAILED_NS);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), 0);
	assert_int_equal(n_entries(), 0);
}

static void
test_stale_and_probe(void **state)
{
	static const uint8_t nh[4] = {44, 0, 0, 70};
	struct rte_ether_addr mac, learned = mac_of(0x70);
	uint64_t t;
	const uint8_t *b;

	(void)state;
	dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(1));
	arp_in(0, 2, &ports[0].mac, 0x70, nh, v4_me0);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_REACHABLE);
	cap_clear();

	t = T0 + DP_NEIGH_REACHABLE_NS - SEC;
	set_time(t);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_REACHABLE);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0); /* stamps use */
	t = T0 + DP_NEIGH_REACHABLE_NS;
	set_time(t);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_STALE);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0); /* still usable */
	assert_memory_equal(&mac, &learned, 6);
	set_time(t += SEC / 5);
	/* in use: a unicast probe */
	assert_int_equal(ncap, 1);
	b = rte_pktmbuf_mtod(cap[0].m, const uint8_t *);
	assert_memory_equal(b, &learned, 6);
	assert_int_equal(get16(b + 20), 1);
	assert_memory_equal(b + 28, v4_me0, 4);
	assert_memory_equal(b + 38, nh, 4);
	cap_clear();
	/* answered: REACHABLE again */
	arp_in(0, 2, &ports[0].mac, 0x70, nh, v4_me0);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_REACHABLE);
	set_time(t += SEC);
	assert_int_equal(ncap, 0);

	/* stale again but unused: no probe */
	t += DP_NEIGH_REACHABLE_NS;
	set_time(t);
	set_time(t += SEC);
	set_time(t += SEC);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_STALE);
	assert_int_equal(ncap, 0);

	/* used, probes unanswered: three, then FAILED */
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0);
	set_time(t += SEC / 5);
	set_time(t += SEC);
	set_time(t += SEC);
	assert_int_equal(ncap, 3);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_STALE);
	set_time(t += SEC);
	assert_int_equal(ncap, 3);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), DP_NEIGH_FAILED);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	cap_clear();

	/* an idle STALE entry is removed after DP_NEIGH_GC_NS */
	arp_in(0, 1, &bcast, 0x71, (const uint8_t[]){44, 0, 0, 71}, v4_me0);
	cap_clear();
	assert_int_equal(state_of(0, AF_INET, (const uint8_t[]){44, 0, 0, 71}, NULL),
			 DP_NEIGH_STALE);
	set_time(t + DP_NEIGH_GC_NS - SEC);
	assert_int_equal(state_of(0, AF_INET, (const uint8_t[]){44, 0, 0, 71}, NULL),
			 DP_NEIGH_STALE);
	/* used 40 s ago (no probe any more) but not idle long enough: kept */
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, (const uint8_t[]){44, 0, 0, 71}, &mac), 0);
	set_time(t + DP_NEIGH_GC_NS + 39 * SEC);
	assert_int_equal(ncap, 0);
	assert_int_equal(n_entries(), 1);
	set_time(t + 2 * DP_NEIGH_GC_NS);
	assert_int_equal(n_entries(), 0);
}

/* --- bounds --- */

static void
test_queue_bounds(void **state)
{
	const unsigned per = DP_NEIGH_QUEUE_LEN;
	const unsigned n_addr = DP_NEIGH_QUEUE_TOTAL / per + 2;
	unsigned i, j;
	uint8_t nh[4] = {44, 0, 0, 0};

	(void)state;
	teardown(NULL);
	setup_n(2048, NULL);
	for (i = 0; i < n_addr; i++) {
		nh[2] = (uint8_t)(i >> 8);
		nh[3] = (uint8_t)i;
		for (j = 0; j < per + 1; j++)
			dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(0));
		assert_int_equal(ncap, 1);
		cap_clear();
	}
	/* per entry: one over each; total: the last two entries got nothing */
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED],
			 n_addr * (per + 1) - DP_NEIGH_QUEUE_TOTAL);
	assert_int_equal(rte_mempool_in_use_count(mp), baseline + DP_NEIGH_QUEUE_TOTAL);
}

static void
test_unresolved_cap(void **state)
{
	uint8_t nh[4] = {44, 0, 0, 0};
	unsigned i;

	(void)state;
	teardown(NULL);
	setup_n(16, NULL);
	for (i = 1; i <= 9; i++) {
		nh[3] = (uint8_t)i;
		dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(0));
	}
	/* half the table at most waits for answers */
	assert_int_equal(ncap, 8);
	assert_int_equal(n_entries(), 8);
	assert_int_equal(stats.drops[DP_DROP_NEIGH_UNRESOLVED], 1);
	/* neighbours that talk to us still get in */
	for (i = 100; i < 108; i++) {
		nh[3] = (uint8_t)i;
		arp_in(0, 1, &bcast, (uint8_t)i, nh, v4_me0);
	}
	assert_int_equal(n_entries(), 16);
	/* full: the next one is not learned, but still answered */
	cap_clear();
	nh[3] = 200;
	arp_in(0, 1, &bcast, 200, nh, v4_me0);
	assert_int_equal(ncap, 1);
	assert_int_equal(n_entries(), 16);
	assert_int_equal(state_of(0, AF_INET, nh, NULL), 0);
}

/* --- static entries, deletion, RCU --- */

static void
test_static(void **state)
{
	static const uint8_t nh[4] = {44, 0, 0, 80};
	struct rte_ether_addr mac, st = mac_of(0x80);
	struct find f = {.port = 0, .family = AF_INET, .addr = nh};

	(void)state;
	dp_neigh_resolve(nt, 0, AF_INET, nh, data_pkt(3));
	cap_clear();
	assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &st), 0);
	assert_int_equal(ncap, 1); /* the waiting packet */
	check_data_out(0, 0, &st, 3);
	cap_clear();
	/* learning does not override it, time does not age it */
	arp_in(0, 1, &bcast, 0x81, nh, v4_me0);
	set_time(T0 + 2 * DP_NEIGH_GC_NS);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0);
	assert_memory_equal(&mac, &st, 6);
	dp_neigh_walk(nt, find_cb, &f);
	assert_int_equal(f.found, 1);
	assert_true(f.info.is_static);
	assert_int_equal(f.info.state, DP_NEIGH_REACHABLE);
	/* bad arguments */
	assert_int_equal(dp_neigh_add_static(nt, 5, AF_INET, nh, &st), -EINVAL);
	assert_int_equal(dp_neigh_add_static(nt, 0, 99, nh, &st), -EAFNOSUPPORT);
	assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &bcast), -EINVAL);
	/* removal */
	assert_int_equal(dp_neigh_del(nt, 0, AF_INET, nh), 0);
	assert_int_equal(dp_neigh_del(nt, 0, AF_INET, nh), -ENOENT);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	assert_int_equal(n_entries(), 0);
}

/* A removed entry's slot is reused only after the readers' grace period. */
static void
test_rcu_reuse(void **state)
{
	struct rte_ether_addr st = mac_of(1), mac;
	struct rte_rcu_qsbr *v;
	uint8_t nh[4] = {44, 0, 0, 0};
	size_t sz = rte_rcu_qsbr_get_memsize(1);
	unsigned i;

	(void)state;
	teardown(NULL);
	v = rte_zmalloc(NULL, sz, RTE_CACHE_LINE_SIZE);
	assert_non_null(v);
	assert_int_equal(rte_rcu_qsbr_init(v, 1), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(v, 0), 0);
	rte_rcu_qsbr_thread_online(v, 0);
	setup_n(8, v);
	for (i = 1; i <= 8; i++) {
		nh[3] = (uint8_t)i;
		assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &st), 0);
	}
	nh[3] = 9;
	assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &st), -ENOSPC);
	nh[3] = 1;
	assert_int_equal(dp_neigh_del(nt, 0, AF_INET, nh), 0);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), -ENOENT);
	nh[3] = 9;
	set_time(T0 + SEC);
	/* the reader has not passed a quiescent state: still full */
	assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &st), -ENOSPC);
	rte_rcu_qsbr_quiescent(v, 0);
	set_time(T0 + 2 * SEC);
	assert_int_equal(dp_neigh_add_static(nt, 0, AF_INET, nh, &st), 0);
	assert_int_equal(dp_neigh_lookup(nt, 0, AF_INET, nh, &mac), 0);
	teardown(NULL);
	rte_rcu_qsbr_thread_offline(v, 0);
	rte_free(v);
	setup(NULL);
}

/* --- a reader on another thread never sees a torn MAC --- */

struct reader {
	bool stop; /* __atomic */
	uint64_t hits, bad;
};

static const uint8_t rd_nh[4] = {44, 0, 0, 90};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct rte_ether_addr a = mac_of(0x11), b = {{0x06, 0x55, 0x44, 0x33, 0x22, 0xee}}, m;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (dp_neigh_lookup(nt, 0, AF_INET, rd_nh, &m) != 0)
			continue;
		r->hits++;
		if (!rte_is_same_ether_addr(&m, &a) && !rte_is_same_ether_addr(&m, &b))
			r->bad++;
	}
	return NULL;
}

static void
test_concurrent_reader(void **state)
{
	struct rte_ether_addr a = mac_of(0x11), b = {{0x06, 0x55, 0x44, 0x33, 0x22, 0xee}};
	struct reader r = {0};
	pthread_t th;
	unsigned i;
	uint8_t f[60];

	(void)state;
	arp_in(0, 1, &bcast, 0x11, rd_nh, v4_me0);
	cap_clear();
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	for (i = 0; i < 100000; i++) {
		const struct rte_ether_addr *s = (i & 1) ? &a : &b;

		arp_bytes(f, &bcast, s, 2, s, rd_nh, NULL, rd_nh);
		dp_neigh_input(nt, 0, frame(f, 60));
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	print_message("reader: %" PRIu64 " hits\n", r.hits);
	assert_true(r.hits > 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(ncap, 0);
}

/* --- odds and ends --- */

static void
test_create_args(void **state)
{
	(void)state;
	assert_null(dp_neigh_create("x", 16, SOCKET_ID_ANY, NULL, 1, tx_capture, &ncap, mp, &stats,
				    NULL));
	assert_null(dp_neigh_create("x", 16, SOCKET_ID_ANY, ports, 0, tx_capture, &ncap, mp, &stats,
				    NULL));
	assert_null(
		dp_neigh_create("x", 16, SOCKET_ID_ANY, ports, 2, NULL, &ncap, mp, &stats, NULL));
	/* the same name twice */
	assert_null(dp_neigh_create("tneigh", 16, SOCKET_ID_ANY, ports, 2, tx_capture, &ncap, mp,
				    &stats, NULL));
	dp_neigh_free(NULL);
}

static void
test_other_input(void **state)
{
	uint8_t b[64] = {0};

	(void)state;
	put16(b + 12, 0x0800);
	dp_neigh_input(nt, 0, frame(b, 60));
	assert_int_equal(stats.drops[DP_DROP_RX_UNSUPPORTED], 1);
	put16(b + 12, 0x0806);
	dp_neigh_input(nt, 0, frame(b, 10));
	assert_int_equal(stats.drops[DP_DROP_RX_MALFORMED], 1);
	dp_neigh_input(nt, 7, frame(b, 60)); /* no such port */
	assert_int_equal(stats.drops[DP_DROP_RX_MALFORMED], 2);
	/* IPv6 with another next header (an extension header) */
	put16(b + 12, 0x86dd);
	b[14] = 0x60;
	b[20] = 0; /* hop-by-hop */
	dp_neigh_input(nt, 0, frame(b, 64));
	assert_int_equal(stats.drops[DP_DROP_RX_UNSUPPORTED], 2);
	assert_int_equal(ncap, 0);
}

int
main(void)
{
	char *argv[] = {
		"test_neigh",	  "--no-huge",	       "-m", "256", "--no-shconf", "--no-pci",
		"--no-telemetry", "--log-level=error", "-l", "0"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_multiseg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nd_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_nd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unresolved_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcu_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_input, setup, teardown),
	};
	int rc;

	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])), argv) < 0) {
		fprintf(stderr, "test_neigh: EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("tneigh_mp", 8191, 0,
				     RTE_ALIGN(sizeof(struct dp_meta), RTE_MBUF_PRIV_ALIGN),
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL) {
		fprintf(stderr, "test_neigh: no mempool\n");
		return 1;
	}
	baseline = rte_mempool_in_use_count(mp);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return rc;
}
