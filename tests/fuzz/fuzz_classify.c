/*
 * fuzz_classify.c — libFuzzer target for the engine's packet classifier
 * (dataplane/classify.c: dp_classify, dp_cls_ip, dp_cls_l4, dp_cls_is_nd),
 * the code fwd.c runs on every received frame, on any bytes. Invariants
 * beyond "no crash, no read past the frame" (the frame is copied into a
 * buffer of its exact size, so ASan sees any over-read):
 *  - the result equals that of a naive reference classifier written here
 *    from the RFCs (byte by byte, its own checksum loop): kind, drop
 *    reason, VLAN tags, EtherType, L3 offset, length and family, the UDP /
 *    ICMP fields;
 *  - what a result promises holds: a drop reason is one of the three the
 *    classifier may give, the IP packet and its L4 header lie inside the
 *    frame;
 *  - metamorphic: link padding after an IP packet changes nothing; the
 *    frame cut one byte short of its IP packet is rx_malformed; a chained
 *    buffer is refused for IP and not for ARP; a NIC-verified checksum
 *    never gives ip_bad_checksum; the same frame without its VLAN tags
 *    classifies the same, two or four bytes further up per tag;
 *  - the entry points fwd.c uses on IP packets alone (dp_cls_ip,
 *    dp_cls_l4, dp_cls_is_nd) agree with dp_classify.
 *
 * Input: flags (1 byte: bit 0 DP_CLS_F_CSUM_GOOD, bit 1 DP_CLS_F_CHAINED),
 * the receiving port's MAC (6), then the frame. GATE44_FUZZ_WRITE_SEEDS=DIR
 * writes the seed corpus (tests/fuzz/gen-seeds.sh). Single-threaded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include "classify.h"

#include "fuzz_common.h"

enum {
	HDR = 7,	    /* flags, MAC: before the frame in an input */
	FRAME_MAX = 0xffff, /* an mbuf segment's data_len is 16 bits */
};

static inline unsigned
rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* ---- the reference classifier ----------------------------------------------- */

/* Fill r for the frame f[0..n); return the drop reason, or -1 when r->kind
 * says what it is. */
static int
ref_parse(const uint8_t *f, size_t n, const uint8_t mac[6], unsigned flags, struct dp_cls *r)
{
	const uint8_t *ip;
	size_t at = 12, m, hl, tot, off;
	unsigned type, v;

	if (n < 14)
		return DP_DROP_RX_MALFORMED;
	if (memcmp(f + 6, mac, 6) == 0 || (memcmp(f, mac, 6) != 0 && !(f[0] & 1)))
		return DP_DROP_RX_UNSUPPORTED;
	type = rd16(f + 12);
	r->tagged = type == 0x8100 || type == 0x88a8;
	while (type == 0x8100 || type == 0x88a8) {
		if (r->n_vlan == 2) {
			r->ethertype = (uint16_t)type;
			return DP_DROP_RX_UNSUPPORTED;
		}
		if (n < at + 6) /* TPID, TCI, the next type */
			return DP_DROP_RX_MALFORMED;
		r->vlan[r->n_vlan++] = (uint16_t)(rd16(f + at + 2) & 0xfff);
		at += 4;
		type = rd16(f + at);
	}
	r->ethertype = (uint16_t)type;
	r->l3_off = (uint16_t)(at + 2);
	if (type == 0x0806) {
		r->kind = DP_CLS_ARP;
		return -1;
	}
	if (type != 0x0800 && type != 0x86dd)
		return DP_DROP_RX_UNSUPPORTED;
	ip = f + r->l3_off;
	m = n - r->l3_off;
	if ((flags & DP_CLS_F_CHAINED) || m == 0)
		return DP_DROP_RX_MALFORMED;
	v = ip[0] >> 4;
	if (v != (type == 0x0800 ? 4 : 6))
		return DP_DROP_RX_MALFORMED;
	if (v == 4) {
		uint32_t sum = 0;

		if (m < 20)
			return DP_DROP_RX_MALFORMED;
		hl = (ip[0] & 15u) * 4;
		tot = rd16(ip + 2);
		if (hl < 20 || tot < hl || tot > m)
			return DP_DROP_RX_MALFORMED;
		for (size_t i = 0; i < hl; i += 2)
			sum += rd16(ip + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (!(flags & DP_CLS_F_CSUM_GOOD) && sum != 0xffff)
			return DP_DROP_IP_BAD_CSUM;
		r->family = AF_INET;
		r->l4.proto = ip[9];
		r->l4.frag = (rd16(ip + 6) & 0x3fff) != 0;
		off = hl;
	} else if (v == 6) {
		if (m < 40)
			return DP_DROP_RX_MALFORMED;
		tot = 40 + rd16(ip + 4);
		if (tot > m)
			return DP_DROP_RX_MALFORMED;
		r->family = AF_INET6;
		r->l4.proto = ip[6];
		off = 40;
	} else {
		return DP_DROP_RX_MALFORMED;
	}
	r->l3_len = (uint32_t)tot;
	r->l4.off = (uint16_t)off;
	if (!r->l4.frag && r->l4.proto == 17 && tot >= off + 8) {
		r->l4.udp = true;
		r->l4.sport = htons((uint16_t)rd16(ip + off));
		r->l4.dport = htons((uint16_t)rd16(ip + off + 2));
		r->l4.udp_len = (uint16_t)rd16(ip + off + 4);
		r->l4.udp_len_ok = r->l4.udp_len >= 8 && off + r->l4.udp_len <= tot;
	}
	if (!r->l4.frag && r->l4.proto == (v == 4 ? 1 : 58) && tot > off) {
		r->l4.icmp = true;
		r->l4.icmp_type = ip[off];
	}
	r->kind = v == 6 && r->l4.icmp && r->l4.icmp_type >= 133 && r->l4.icmp_type <= 137
			  ? DP_CLS_ND
			  : DP_CLS_IP;
	return -1;
}

static void
ref_classify(const uint8_t *f, size_t n, const uint8_t mac[6], unsigned flags, struct dp_cls *r)
{
	int drop;

	memset(r, 0, sizeof(*r));
	drop = ref_parse(f, n, mac, flags, r);
	if (drop >= 0) {
		r->kind = DP_CLS_DROP;
		r->drop = (uint8_t)drop;
	}
}

/* ---- comparing results ------------------------------------------------------ */

static bool
l4_equal(const struct dp_cls_l4 *a, const struct dp_cls_l4 *b)
{
	return a->off == b->off && a->proto == b->proto && a->frag == b->frag && a->udp == b->udp &&
	       a->udp_len_ok == b->udp_len_ok && a->sport == b->sport && a->dport == b->dport &&
	       a->udp_len == b->udp_len && a->icmp == b->icmp && a->icmp_type == b->icmp_type;
}

/* Equal, with b's L3 header shift bytes further into its frame than a's. */
static bool
cls_equal(const struct dp_cls *a, const struct dp_cls *b, unsigned shift)
{
	if (a->kind != b->kind || a->drop != b->drop)
		return false;
	if (a->kind == DP_CLS_DROP)
		return true; /* how far the parse went is not part of the answer */
	return a->ethertype == b->ethertype && a->l3_off + shift == b->l3_off &&
	       a->l3_len == b->l3_len && a->family == b->family && l4_equal(&a->l4, &b->l4);
}

static void
classify_copy(const uint8_t *f, size_t n, const struct rte_ether_addr *self, unsigned flags,
	      struct dp_cls *c)
{
	uint8_t *copy = malloc(n ? n : 1); /* exactly n: ASan sees one byte past */

	FUZZ_CHECK(copy != NULL);
	memcpy(copy, f, n);
	dp_classify(copy, (uint32_t)n, self, flags, c);
	free(copy);
}

/* The invariants of an IP or ND result c for the frame f[0..n). */
static void
check_ip(const uint8_t *f, size_t n, const struct rte_ether_addr *self, unsigned flags,
	 const struct dp_cls *c)
{
	size_t end = (size_t)c->l3_off + c->l3_len;
	struct dp_cls_l4 l4;
	struct dp_cls c2;
	uint8_t *ip, *pad;
	uint32_t len;

	/* the packet and its L4 header lie inside the frame */
	FUZZ_CHECK(end <= n);
	FUZZ_CHECK(c->l4.off <= c->l3_len);
	FUZZ_CHECK(!c->l4.udp || c->l4.off + 8u <= c->l3_len);
	FUZZ_CHECK(!c->l4.udp_len_ok || (c->l4.udp && c->l4.off + c->l4.udp_len <= c->l3_len));
	FUZZ_CHECK(!c->l4.frag || (!c->l4.udp && !c->l4.icmp));
	FUZZ_CHECK(c->family == ((f[c->l3_off] >> 4) == 4 ? AF_INET : AF_INET6));

	/* the IP-only entry points agree (dp_ip_check, dp_is_nd, wg_classify
	 * call them on the packet alone), padded or not */
	ip = malloc(n - c->l3_off);
	FUZZ_CHECK(ip != NULL);
	memcpy(ip, f + c->l3_off, n - c->l3_off);
	FUZZ_CHECK(dp_cls_ip(ip, (uint32_t)(n - c->l3_off), flags, &len) == c->family);
	FUZZ_CHECK(len == c->l3_len);
	FUZZ_CHECK(dp_cls_ip(ip, c->l3_len, flags, &len) == c->family && len == c->l3_len);
	FUZZ_CHECK(dp_cls_ip(ip, (uint32_t)(n - c->l3_off), flags | DP_CLS_F_CHAINED, &len) ==
		   -EINVAL);
	FUZZ_CHECK(dp_cls_l4(ip, c->l3_len, c->family, &l4) == 0 && l4_equal(&l4, &c->l4));
	if (c->family == AF_INET6)
		FUZZ_CHECK(dp_cls_is_nd(ip, c->l3_len) == (c->kind == DP_CLS_ND));
	free(ip);

	/* cut one byte short: malformed; padded: the same; chained: refused */
	pad = malloc(end + 17);
	FUZZ_CHECK(pad != NULL);
	memcpy(pad, f, end);
	memset(pad + end, 0xa5, 17);
	classify_copy(pad, end - 1, self, flags, &c2);
	FUZZ_CHECK(c2.kind == DP_CLS_DROP && c2.drop == DP_DROP_RX_MALFORMED);
	classify_copy(pad, end + 17, self, flags, &c2);
	FUZZ_CHECK(cls_equal(c, &c2, 0) && c2.n_vlan == c->n_vlan);
	classify_copy(pad, end, self, flags | DP_CLS_F_CHAINED, &c2);
	FUZZ_CHECK(c2.kind == DP_CLS_DROP && c2.drop == DP_DROP_RX_MALFORMED);

	/* without its tags: the same packet, the L3 header 4 bytes up per tag */
	if (c->n_vlan > 0) {
		size_t tags = 4u * c->n_vlan;

		memmove(pad + 12, pad + 12 + tags, end - 12 - tags);
		classify_copy(pad, end - tags, self, flags, &c2);
		FUZZ_CHECK(!c2.tagged && cls_equal(&c2, c, (unsigned)tags));
	}
	free(pad);
}

/* Every invariant for the frame in[0..n) received on a port with MAC self. */
static void
check(const uint8_t *in, size_t n, const struct rte_ether_addr *self, unsigned flags)
{
	uint8_t *f = malloc(n ? n : 1); /* aligned, as an mbuf's data is */
	struct dp_cls c, r, c2;

	FUZZ_CHECK(f != NULL);
	memcpy(f, in, n);
	classify_copy(f, n, self, flags, &c);
	ref_classify(f, n, self->addr_bytes, flags, &r);
	FUZZ_CHECK(c.kind == r.kind && c.drop == r.drop);
	FUZZ_CHECK(cls_equal(&c, &r, 0));
	if (c.kind == DP_CLS_DROP) {
		FUZZ_CHECK(c.drop == DP_DROP_RX_MALFORMED || c.drop == DP_DROP_RX_UNSUPPORTED ||
			   c.drop == DP_DROP_IP_BAD_CSUM);
		FUZZ_CHECK(!(flags & DP_CLS_F_CSUM_GOOD) || c.drop != DP_DROP_IP_BAD_CSUM);
	} else {
		FUZZ_CHECK(c.tagged == r.tagged && c.n_vlan == r.n_vlan);
		FUZZ_CHECK(memcmp(c.vlan, r.vlan, sizeof(c.vlan)) == 0);
		FUZZ_CHECK(c.l3_off == 14 + 4 * c.n_vlan);
	}
	if (c.kind == DP_CLS_ARP) {
		classify_copy(f, n, self, flags ^ DP_CLS_F_CHAINED, &c2);
		FUZZ_CHECK(cls_equal(&c, &c2, 0));
	}
	if (c.kind == DP_CLS_DROP && c.drop == DP_DROP_IP_BAD_CSUM) {
		classify_copy(f, n, self, flags | DP_CLS_F_CSUM_GOOD, &c2);
		FUZZ_CHECK(c2.kind == DP_CLS_IP || c2.kind == DP_CLS_ND);
	}
	if (c.kind == DP_CLS_IP || c.kind == DP_CLS_ND)
		check_ip(f, n, self, flags, &c);
	free(f);
}

/* ---- seeds ------------------------------------------------------------------ */

static const uint8_t self_mac[6] = {0x02, 0x44, 0x00, 0x00, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x44, 0x00, 0x00, 0x00, 0x02};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t sn_mcast[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01};

/* A frame under construction: the input's header, then the bytes. */
struct seed {
	uint8_t b[256];
	size_t n;
};

static void
put(struct seed *s, const void *p, size_t len)
{
	memcpy(s->b + s->n, p, len);
	s->n += len;
}

static void
put16(struct seed *s, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(s, b, 2);
}

/* Start a seed: the input's flags and port MAC, then the Ethernet MACs. */
static void
eth(struct seed *s, unsigned flags, const uint8_t *dst, const uint8_t *src)
{
	s->n = 0;
	s->b[s->n++] = (uint8_t)flags;
	put(s, self_mac, 6);
	put(s, dst, 6);
	put(s, src, 6);
}

/* IPv4 header with a right checksum, options of optlen bytes; returns the
 * offset of the header (for a later total length). */
static size_t
ipv4(struct seed *s, uint8_t proto, size_t payload, size_t optlen, unsigned frag)
{
	size_t at, hl = 20 + optlen;
	uint32_t sum = 0;

	put16(s, 0x0800);
	at = s->n;
	s->b[s->n++] = (uint8_t)(0x40 | hl / 4);
	s->b[s->n++] = 0;
	put16(s, (unsigned)(hl + payload));
	put16(s, 0x1234);
	put16(s, frag);
	s->b[s->n++] = 64;
	s->b[s->n++] = proto;
	put16(s, 0);
	put(s, (uint8_t[4]){192, 0, 2, 2}, 4);
	put(s, (uint8_t[4]){44, 0, 0, 1}, 4);
	for (size_t i = 0; i < optlen; i++)
		s->b[s->n++] = i + 1 == optlen ? 0 : 1; /* NOPs, then end of options */
	for (size_t i = 0; i < hl; i += 2)
		sum += rd16(s->b + at + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	s->b[at + 10] = (uint8_t)(~sum >> 8);
	s->b[at + 11] = (uint8_t)~sum;
	return at;
}

static void
ipv6(struct seed *s, uint8_t next, size_t payload, bool link_local)
{
	static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 2};
	static const uint8_t dst[16] = {0x2a, 0x00, 0x44, [15] = 1};
	static const uint8_t ll[16] = {0xfe, 0x80, [15] = 2};
	static const uint8_t sn[16] = {0xff, 0x02, [11] = 1, 0xff, 0, 0, 1};

	put16(s, 0x86dd);
	put(s, (uint8_t[4]){0x60, 0, 0, 0}, 4);
	put16(s, (unsigned)payload);
	s->b[s->n++] = next;
	s->b[s->n++] = 255;
	put(s, link_local ? ll : src, 16);
	put(s, link_local ? sn : dst, 16);
}

static void
udp(struct seed *s, unsigned dport, size_t payload)
{
	put16(s, 40000);
	put16(s, dport);
	put16(s, (unsigned)(8 + payload));
	put16(s, 0);
	for (size_t i = 0; i < payload; i++)
		s->b[s->n++] = (uint8_t)i;
}

static void
icmp(struct seed *s, uint8_t type, size_t len)
{
	s->b[s->n++] = type;
	for (size_t i = 1; i < len; i++)
		s->b[s->n++] = 0;
}

static void
arp(struct seed *s, unsigned op, const uint8_t *tha)
{
	put16(s, 0x0806);
	put16(s, 1);
	put16(s, 0x0800);
	s->b[s->n++] = 6;
	s->b[s->n++] = 4;
	put16(s, op);
	put(s, peer_mac, 6);
	put(s, (uint8_t[4]){192, 0, 2, 2}, 4);
	put(s, tha, 6);
	put(s, (uint8_t[4]){192, 0, 2, 1}, 4);
}

static void
vlan(struct seed *s, unsigned tpid, unsigned vid)
{
	put16(s, tpid);
	put16(s, vid);
}

static void
seed_write(const char *dir, const char *name, const struct seed *s)
{
	struct rte_ether_addr self;
	char path[4096];
	FILE *f;

	/* a seed must pass the invariants itself */
	memcpy(self.addr_bytes, s->b + 1, 6);
	check(s->b + HDR, s->n - HDR, &self, s->b[0]);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(s->b, 1, s->n, f) != s->n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void
seeds_write(const char *dir)
{
	static const uint8_t zero[6];
	struct seed s;
	size_t at;

	mkdir(dir, 0755);
	/* WireGuard transport data to the listen port, IPv4 and IPv6 */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 48, 0, 0);
	udp(&s, 51820, 48);
	seed_write(dir, "ipv4-udp", &s);
	eth(&s, 0, self_mac, peer_mac);
	ipv6(&s, 17, 8 + 48, false);
	udp(&s, 51820, 48);
	seed_write(dir, "ipv6-udp", &s);
	/* a short packet in a minimum-size frame: padding to trim */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 4, 0, 0);
	udp(&s, 51820, 4);
	while (s.n < HDR + 60)
		s.b[s.n++] = 0;
	seed_write(dir, "ipv4-udp-padded", &s);
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 16, 8, 0);
	udp(&s, 53, 16);
	seed_write(dir, "ipv4-options-udp", &s);
	/* the UDP length says more than the packet holds */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 16, 0, 0);
	udp(&s, 51820, 16);
	s.b[s.n - 16 - 4] = 0x40;
	seed_write(dir, "ipv4-udp-bad-length", &s);
	/* a first fragment (MF) */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 32, 0, 0x2000);
	udp(&s, 51820, 32);
	seed_write(dir, "ipv4-udp-fragment", &s);
	/* echo requests */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 1, 16, 0, 0);
	icmp(&s, 8, 16);
	seed_write(dir, "ipv4-icmp-echo", &s);
	eth(&s, 0, self_mac, peer_mac);
	ipv6(&s, 58, 16, false);
	icmp(&s, 128, 16);
	seed_write(dir, "ipv6-icmp-echo", &s);
	/* Neighbor Discovery: NS to the solicited-node group, NA unicast */
	eth(&s, 0, sn_mcast, peer_mac);
	ipv6(&s, 58, 32, true);
	icmp(&s, 135, 32);
	seed_write(dir, "nd-ns", &s);
	eth(&s, 0, self_mac, peer_mac);
	ipv6(&s, 58, 32, true);
	icmp(&s, 136, 32);
	seed_write(dir, "nd-na", &s);
	/* ICMPv6 behind a hop-by-hop header: not ND, not walked */
	eth(&s, 0, sn_mcast, peer_mac);
	ipv6(&s, 0, 8 + 24, true);
	put(&s, (uint8_t[8]){58, 0, 5, 2, 0, 0, 1, 0}, 8);
	icmp(&s, 143, 24);
	seed_write(dir, "ipv6-hop-by-hop", &s);
	/* ARP */
	eth(&s, 0, bcast, peer_mac);
	arp(&s, 1, zero);
	seed_write(dir, "arp-request", &s);
	eth(&s, 0, self_mac, peer_mac);
	arp(&s, 2, self_mac);
	seed_write(dir, "arp-reply", &s);
	/* VLANs: 802.1Q, and 802.1ad over 802.1Q */
	eth(&s, 0, self_mac, peer_mac);
	vlan(&s, 0x8100, 44);
	ipv4(&s, 17, 8 + 16, 0, 0);
	udp(&s, 51820, 16);
	seed_write(dir, "vlan-ipv4-udp", &s);
	eth(&s, 0, self_mac, peer_mac);
	vlan(&s, 0x88a8, 100);
	vlan(&s, 0x8100, 0x2000 | 44);
	ipv6(&s, 58, 8, false);
	icmp(&s, 128, 8);
	seed_write(dir, "qinq-ipv6-icmp", &s);
	eth(&s, 0, bcast, peer_mac);
	vlan(&s, 0x8100, 7);
	arp(&s, 1, zero);
	seed_write(dir, "vlan-arp", &s);
	/* checksums: wrong; wrong but verified by the NIC */
	eth(&s, 0, self_mac, peer_mac);
	at = ipv4(&s, 1, 8, 0, 0);
	icmp(&s, 8, 8);
	s.b[at + 10] ^= 0x01;
	seed_write(dir, "ipv4-bad-checksum", &s);
	s.b[0] = DP_CLS_F_CSUM_GOOD;
	seed_write(dir, "ipv4-csum-good-flag", &s);
	/* chained mbuf */
	eth(&s, DP_CLS_F_CHAINED, self_mac, peer_mac);
	ipv4(&s, 17, 8, 0, 0);
	udp(&s, 51820, 0);
	seed_write(dir, "ipv4-chained", &s);
	/* lengths: total length past the frame, header length 16, IPv6
	 * payload length past the frame, frame cut in the Ethernet header,
	 * VLAN tag cut */
	eth(&s, 0, self_mac, peer_mac);
	ipv4(&s, 17, 8 + 16, 0, 0);
	udp(&s, 51820, 16);
	s.n -= 5;
	seed_write(dir, "ipv4-truncated", &s);
	eth(&s, 0, self_mac, peer_mac);
	at = ipv4(&s, 17, 8, 0, 0);
	udp(&s, 51820, 0);
	s.b[at] = 0x44;
	seed_write(dir, "ipv4-bad-ihl", &s);
	eth(&s, 0, self_mac, peer_mac);
	ipv6(&s, 17, 8 + 64, false);
	udp(&s, 51820, 8);
	seed_write(dir, "ipv6-truncated", &s);
	eth(&s, 0, self_mac, peer_mac);
	s.n = HDR + 10;
	seed_write(dir, "eth-truncated", &s);
	eth(&s, 0, self_mac, peer_mac);
	put16(&s, 0x8100);
	s.b[s.n++] = 0;
	seed_write(dir, "vlan-truncated", &s);
	/* not for us: our own frame looped back, another host's, LLDP */
	eth(&s, 0, bcast, self_mac);
	arp(&s, 1, zero);
	seed_write(dir, "own-source", &s);
	eth(&s, 0, peer_mac, (uint8_t[6]){0x02, 0x44, 0, 0, 0, 3});
	ipv4(&s, 1, 8, 0, 0);
	icmp(&s, 8, 8);
	seed_write(dir, "other-unicast", &s);
	eth(&s, 0, (uint8_t[6]){0x01, 0x80, 0xc2, 0, 0, 0x0e}, peer_mac);
	put16(&s, 0x88cc);
	put(&s, (uint8_t[8]){0x02, 0x07, 0x04, 0x02, 0x44, 0, 0, 0}, 8);
	seed_write(dir, "lldp", &s);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("GATE44_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (seeds != NULL)
		seeds_write(seeds);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct rte_ether_addr self;
	unsigned flags;

	if (size > HDR + FRAME_MAX)
		return 0; /* no such frame reaches the classifier */
	flags = fuzz_u8(&in) & (DP_CLS_F_CSUM_GOOD | DP_CLS_F_CHAINED);
	fuzz_bytes(&in, self.addr_bytes, sizeof(self.addr_bytes));
	check(in.p, in.n, &self, flags);
	return 0;
}
