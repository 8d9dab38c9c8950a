/*
 * test_classify.c — unit tests of the packet classifier (dataplane/
 * classify.c, cmocka): a table of frames built field by field (Ethernet,
 * 802.1Q / 802.1ad, ARP, IPv4 with and without options, IPv6, ND, UDP,
 * ICMP, fragments, padding) and of their broken variants, each with the
 * class or the drop reason the data path must give it; a header checked
 * against a checksum computed elsewhere (RFC 1071's worked header); the
 * entry points fwd.c calls on bare IP packets (dp_cls_ip, dp_cls_l4,
 * dp_cls_is_nd). Every frame is classified from a buffer of its exact
 * length, so the sanitizer build sees a read past its end. No EAL: the
 * classifier needs none. Main thread only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "classify.h"

static const uint8_t self_mac[6] = {0x02, 0x44, 0, 0, 0, 1};
static const uint8_t peer_mac[6] = {0x02, 0x44, 0, 0, 0, 2};
static const uint8_t other_mac[6] = {0x02, 0x44, 0, 0, 0, 3};
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t nd_mcast_mac[6] = {0x33, 0x33, 0xff, 0, 0, 1};

enum {
	WG_PORT = 51820,
	ET_IPV4 = 0x0800,
	ET_IPV6 = 0x86dd,
	ET_ARP = 0x0806,
	ET_LLDP = 0x88cc,
};

/* How to build a frame, and what the classifier must say about it. */
struct spec {
	const char *name;
	/* the frame */
	const uint8_t *dst, *src; /* default: to self from peer */
	unsigned tags;		  /* VLAN tags: 1 802.1Q, 2 802.1ad + 802.1Q, ... */
	uint16_t type;		  /* EtherType after the tags */
	uint16_t type_override;	  /* written instead of type (the payload stays type's) */
	uint8_t proto;		  /* IPv4 protocol / IPv6 next header */
	uint8_t icmp_type;	  /* first L4 byte for ICMP / ICMPv6 */
	uint16_t l4;		  /* bytes behind the IP header */
	uint8_t ihl;		  /* IPv4 header length in words, 0: 5 */
	uint8_t version;	  /* written instead of 4 / 6 when set */
	uint16_t frag;		  /* IPv4 flags + fragment offset field */
	int len_delta;		  /* added to IPv4 total / IPv6 payload length */
	int udp_len_delta;	  /* added to the UDP length */
	bool bad_csum;		  /* flip a bit of the IPv4 checksum */
	size_t cut;		  /* bytes cut off the end */
	size_t pad;		  /* link padding added */
	unsigned flags;		  /* DP_CLS_F_* */
	/* the answer */
	uint8_t kind;
	uint8_t drop;
	uint8_t family;
	uint32_t l3_len;
	uint8_t l4_proto;
	bool frag_out, udp, udp_len_ok, icmp;
};

struct frame {
	uint8_t b[1600];
	size_t n;
};

static void
put(struct frame *f, const void *p, size_t len)
{
	assert_true(f->n + len <= sizeof(f->b));
	memcpy(f->b + f->n, p, len);
	f->n += len;
}

static void
put16(struct frame *f, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(f, b, 2);
}

static void
zeros(struct frame *f, size_t len)
{
	assert_true(f->n + len <= sizeof(f->b));
	memset(f->b + f->n, 0, len);
	f->n += len;
}

/* The Internet checksum (RFC 1071) of b[0..len), len even. */
static uint16_t
inet_csum(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
build_l4(struct frame *f, const struct spec *s)
{
	size_t at = f->n;

	zeros(f, s->l4);
	if (s->proto == IPPROTO_UDP && s->l4 >= 8) {
		f->b[at] = 40000 >> 8;
		f->b[at + 1] = 40000 & 0xff;
		f->b[at + 2] = WG_PORT >> 8;
		f->b[at + 3] = WG_PORT & 0xff;
		f->b[at + 4] = (uint8_t)((s->l4 + s->udp_len_delta) >> 8);
		f->b[at + 5] = (uint8_t)(s->l4 + s->udp_len_delta);
	} else if ((s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) && s->l4 >= 1) {
		f->b[at] = s->icmp_type;
	} else if (s->proto == 0 && s->l4 >= 8) {
		/* hop-by-hop options: next header ICMPv6, PadN; then an NS */
		f->b[at] = IPPROTO_ICMPV6;
		f->b[at + 2] = 1;
		f->b[at + 3] = 4;
		if (s->l4 > 8)
			f->b[at + 8] = 135;
	}
}

static void
build(const struct spec *s, struct frame *f)
{
	size_t ip;

	f->n = 0;
	put(f, s->dst ? s->dst : self_mac, 6);
	put(f, s->src ? s->src : peer_mac, 6);
	for (unsigned t = 0; t < s->tags; t++) {
		put16(f, t == 0 && s->tags > 1 ? 0x88a8 : 0x8100);
		put16(f, 0xa000 | (100 + t)); /* PCP 5: not part of the VLAN ID */
	}
	put16(f, s->type_override ? s->type_override : s->type);
	ip = f->n;
	switch (s->type) {
	case ET_IPV4: {
		unsigned ihl = s->ihl ? s->ihl : 5, hl = ihl * 4;
		uint16_t ck;

		zeros(f, hl < 20 ? 20 : hl);
		f->b[ip] = (uint8_t)((s->version ? s->version : 4) << 4 | ihl);
		f->b[ip + 2] = (uint8_t)((hl + s->l4 + s->len_delta) >> 8);
		f->b[ip + 3] = (uint8_t)(hl + s->l4 + s->len_delta);
		f->b[ip + 6] = (uint8_t)(s->frag >> 8);
		f->b[ip + 7] = (uint8_t)s->frag;
		f->b[ip + 8] = 64;
		f->b[ip + 9] = s->proto;
		memcpy(f->b + ip + 12, (uint8_t[8]){192, 0, 2, 2, 44, 0, 0, 1}, 8);
		for (unsigned i = 20; i < hl; i++)
			f->b[ip + i] = 1; /* NOP options */
		ck = inet_csum(f->b + ip, hl < 20 ? 20 : hl);
		f->b[ip + 10] = (uint8_t)(ck >> 8);
		f->b[ip + 11] = (uint8_t)ck;
		if (s->bad_csum)
			f->b[ip + 11] ^= 0x10;
		build_l4(f, s);
		break;
	}
	case ET_IPV6:
		zeros(f, 40);
		f->b[ip] = (uint8_t)((s->version ? s->version : 6) << 4);
		f->b[ip + 4] = (uint8_t)((s->l4 + s->len_delta) >> 8);
		f->b[ip + 5] = (uint8_t)(s->l4 + s->len_delta);
		f->b[ip + 6] = s->proto;
		f->b[ip + 7] = 255;
		f->b[ip + 8] = 0xfe;
		f->b[ip + 9] = 0x80;
		f->b[ip + 23] = 2;
		f->b[ip + 24] = 0xff;
		f->b[ip + 25] = 0x02;
		build_l4(f, s);
		break;
	case ET_ARP:
		put(f, (uint8_t[8]){0, 1, 8, 0, 6, 4, 0, 1}, 8);
		put(f, peer_mac, 6);
		put(f, (uint8_t[4]){192, 0, 2, 2}, 4);
		zeros(f, 6);
		put(f, (uint8_t[4]){192, 0, 2, 1}, 4);
		break;
	default:
		zeros(f, 46);
		break;
	}
	assert_true(s->cut <= f->n);
	f->n -= s->cut;
	zeros(f, s->pad);
}

/* Classify b[0..n) from a buffer of exactly n bytes. */
static void
classify(const uint8_t *b, size_t n, unsigned flags, struct dp_cls *c)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct rte_ether_addr self;

	assert_non_null(copy);
	memcpy(copy, b, n);
	memcpy(self.addr_bytes, self_mac, 6);
	dp_classify(copy, (uint32_t)n, &self, flags, c);
	free(copy);
}

#define IP4		   .type = ET_IPV4
#define IP6		   .type = ET_IPV6
#define UDP(n)		   .proto = IPPROTO_UDP, .l4 = (n)
#define ICMP4(t, n)	   .proto = IPPROTO_ICMP, .icmp_type = (t), .l4 = (n)
#define ICMP6(t, n)	   .proto = IPPROTO_ICMPV6, .icmp_type = (t), .l4 = (n)
#define IS_IP(fam, len, p) .kind = DP_CLS_IP, .family = (fam), .l3_len = (len), .l4_proto = (p)
#define IS_ND(len) \
	.kind = DP_CLS_ND, .family = AF_INET6, .l3_len = (len), .l4_proto = 58, .icmp = true
#define DROPPED(why) .kind = DP_CLS_DROP, .drop = DP_DROP_##why
#define UDP_OK	     .udp = true, .udp_len_ok = true

static const struct spec specs[] = {
	/* what the data path routes */
	{"ipv4 udp", IP4, UDP(40), IS_IP(AF_INET, 60, 17), UDP_OK},
	{"ipv4 udp, link padding", IP4, UDP(10), .pad = 16, IS_IP(AF_INET, 30, 17), UDP_OK},
	{"ipv4 options, udp", IP4, .ihl = 7, UDP(16), IS_IP(AF_INET, 44, 17), UDP_OK},
	{"ipv4 icmp echo", IP4, ICMP4(8, 16), IS_IP(AF_INET, 36, 1), .icmp = true},
	{"ipv4 first fragment (MF)", IP4, UDP(32), .frag = 0x2000, IS_IP(AF_INET, 52, 17),
	 .frag_out = true},
	{"ipv4 later fragment", IP4, UDP(32), .frag = 0x0010, IS_IP(AF_INET, 52, 17),
	 .frag_out = true},
	{"ipv4 DF is no fragment", IP4, UDP(8), .frag = 0x4000, IS_IP(AF_INET, 28, 17), UDP_OK},
	{"ipv4 udp length past the packet", IP4, UDP(16), .udp_len_delta = 1,
	 IS_IP(AF_INET, 36, 17), .udp = true},
	{"ipv4 udp length under 8", IP4, UDP(16), .udp_len_delta = -9, IS_IP(AF_INET, 36, 17),
	 .udp = true},
	{"ipv4 udp header cut", IP4, UDP(7), IS_IP(AF_INET, 27, 17)},
	{"ipv4 empty icmp", IP4, ICMP4(8, 0), IS_IP(AF_INET, 20, 1)},
	{"ipv4 header under the IPv6 type", IP4, .type_override = ET_IPV6, UDP(8),
	 DROPPED(RX_MALFORMED)},
	{"ipv6 header under the IPv4 type", IP6, .type_override = ET_IPV4, UDP(8),
	 DROPPED(RX_MALFORMED)},
	{"ipv6 udp", IP6, UDP(40), IS_IP(AF_INET6, 80, 17), UDP_OK},
	{"ipv6 udp, link padding", IP6, UDP(8), .pad = 6, IS_IP(AF_INET6, 48, 17), UDP_OK},
	{"ipv6 icmp echo", IP6, ICMP6(128, 16), IS_IP(AF_INET6, 56, 58), .icmp = true},
	{"ipv6 icmp 132 is not ND", IP6, ICMP6(132, 24), IS_IP(AF_INET6, 64, 58), .icmp = true},
	{"ipv6 icmp 138 is not ND", IP6, ICMP6(138, 24), IS_IP(AF_INET6, 64, 58), .icmp = true},
	{"ipv6 empty icmp", IP6, ICMP6(135, 0), IS_IP(AF_INET6, 40, 58)},
	{"ipv6 hop-by-hop, then NS", IP6, .proto = 0, .l4 = 32, .dst = nd_mcast_mac,
	 IS_IP(AF_INET6, 72, 0)},
	{"ipv4 to broadcast", IP4, UDP(8), .dst = bcast_mac, IS_IP(AF_INET, 28, 17), UDP_OK},
	{"802.1Q ipv4 udp", IP4, .tags = 1, UDP(16), IS_IP(AF_INET, 36, 17), UDP_OK},
	{"802.1ad+802.1Q ipv6 icmp", IP6, .tags = 2, ICMP6(128, 8), IS_IP(AF_INET6, 48, 58),
	 .icmp = true},
	/* what goes to the main lcore as a frame */
	{"arp request", .type = ET_ARP, .dst = bcast_mac, .kind = DP_CLS_ARP},
	{"arp reply", .type = ET_ARP, .kind = DP_CLS_ARP},
	{"arp in a chained mbuf", .type = ET_ARP, .flags = DP_CLS_F_CHAINED, .kind = DP_CLS_ARP},
	{"802.1Q arp", .type = ET_ARP, .tags = 1, .kind = DP_CLS_ARP},
	{"nd router solicitation", IP6, ICMP6(133, 8), IS_ND(48)},
	{"nd neighbor solicitation", IP6, ICMP6(135, 24), .dst = nd_mcast_mac, IS_ND(64)},
	{"nd neighbor advertisement", IP6, ICMP6(136, 24), IS_ND(64)},
	{"nd redirect", IP6, ICMP6(137, 40), IS_ND(80)},
	{"nd, link padding", IP6, ICMP6(135, 24), .pad = 4, IS_ND(64)},
	/* rx_malformed */
	{"frame shorter than ethernet", .type = ET_ARP, .cut = 28 + 1, DROPPED(RX_MALFORMED)},
	{"802.1Q tag cut", .type = ET_ARP, .tags = 1, .cut = 28 + 1, DROPPED(RX_MALFORMED)},
	{"nothing after the ethertype", IP4, UDP(8), .cut = 28, DROPPED(RX_MALFORMED)},
	{"ipv4 header cut", IP4, UDP(0), .cut = 1, DROPPED(RX_MALFORMED)},
	{"ipv4 ihl 4", IP4, .ihl = 4, UDP(8), DROPPED(RX_MALFORMED)},
	{"ipv4 total length past the frame", IP4, UDP(8), .len_delta = 1, DROPPED(RX_MALFORMED)},
	{"ipv4 total length under ihl", IP4, .ihl = 6, UDP(8), .len_delta = -9,
	 DROPPED(RX_MALFORMED)},
	{"ipv4 packet cut", IP4, UDP(40), .cut = 1, DROPPED(RX_MALFORMED)},
	{"ipv6 header cut", IP6, UDP(0), .cut = 1, DROPPED(RX_MALFORMED)},
	{"ipv6 payload length past the frame", IP6, UDP(8), .len_delta = 1, DROPPED(RX_MALFORMED)},
	{"ip version 5", IP4, .version = 5, UDP(8), DROPPED(RX_MALFORMED)},
	{"ipv6 type, version 15", IP6, .version = 0xf, UDP(8), DROPPED(RX_MALFORMED)},
	{"ipv4 in a chained mbuf", IP4, UDP(8), .flags = DP_CLS_F_CHAINED, DROPPED(RX_MALFORMED)},
	{"nd in a chained mbuf", IP6, ICMP6(135, 24), .flags = DP_CLS_F_CHAINED,
	 DROPPED(RX_MALFORMED)},
	{"802.1Q ipv4 cut", IP4, .tags = 1, UDP(8), .cut = 1, DROPPED(RX_MALFORMED)},
	/* rx_unsupported */
	{"our own frame looped back", .type = ET_ARP, .dst = bcast_mac, .src = self_mac,
	 DROPPED(RX_UNSUPPORTED)},
	{"our own ipv4 to us", IP4, UDP(8), .src = self_mac, DROPPED(RX_UNSUPPORTED)},
	{"unicast to another host", IP4, UDP(8), .dst = other_mac, DROPPED(RX_UNSUPPORTED)},
	{"lldp", .type = ET_LLDP, .dst = (const uint8_t[6]){0x01, 0x80, 0xc2, 0, 0, 0x0e},
	 DROPPED(RX_UNSUPPORTED)},
	{"three VLAN tags", IP4, .tags = 3, UDP(8), DROPPED(RX_UNSUPPORTED)},
	/* ip_bad_checksum */
	{"ipv4 bad checksum", IP4, UDP(8), .bad_csum = true, DROPPED(IP_BAD_CSUM)},
	{"ipv4 options, bad checksum", IP4, .ihl = 15, ICMP4(8, 8), .bad_csum = true,
	 DROPPED(IP_BAD_CSUM)},
	{"ipv4 bad checksum the NIC verified", IP4, UDP(8), .bad_csum = true,
	 .flags = DP_CLS_F_CSUM_GOOD, IS_IP(AF_INET, 28, 17), UDP_OK},
};

static void
test_table(void **state)
{
	bool kinds[4] = {false}, drops[DP_DROP_MAX] = {false};

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct spec *s = &specs[i];
		unsigned tags = s->tags < 3 ? s->tags : 2;
		struct frame f;
		struct dp_cls c;

		build(s, &f);
		classify(f.b, f.n, s->flags, &c);
		print_message("%-40s kind %u drop %s\n", s->name, c.kind,
			      c.kind == DP_CLS_DROP ? dp_drop_names[c.drop] : "-");
		assert_int_equal(c.kind, s->kind);
		kinds[c.kind] = true;
		if (c.kind == DP_CLS_DROP) {
			assert_int_equal(c.drop, s->drop);
			drops[c.drop] = true;
			continue;
		}
		assert_int_equal(c.tagged, s->tags > 0);
		assert_int_equal(c.n_vlan, tags);
		for (unsigned t = 0; t < tags; t++)
			assert_int_equal(c.vlan[t], 100 + t);
		assert_int_equal(c.ethertype, s->type_override ? s->type_override : s->type);
		assert_int_equal(c.l3_off, 14 + 4 * tags);
		if (c.kind == DP_CLS_ARP)
			continue;
		assert_int_equal(c.family, s->family);
		assert_int_equal(c.l3_len, s->l3_len);
		assert_int_equal(c.l3_off + c.l3_len + s->pad, f.n);
		assert_int_equal(c.l4.proto, s->l4_proto);
		assert_int_equal(c.l4.off, s->family == AF_INET ? (s->ihl ? s->ihl : 5) * 4 : 40);
		assert_int_equal(c.l4.frag, s->frag_out);
		assert_int_equal(c.l4.udp, s->udp);
		assert_int_equal(c.l4.udp_len_ok, s->udp_len_ok);
		assert_int_equal(c.l4.icmp, s->icmp);
		if (c.l4.udp) {
			assert_int_equal(ntohs(c.l4.sport), 40000);
			assert_int_equal(ntohs(c.l4.dport), WG_PORT);
			assert_int_equal(c.l4.udp_len, s->l4 + s->udp_len_delta);
		}
		if (c.l4.icmp)
			assert_int_equal(c.l4.icmp_type, s->icmp_type);
	}
	/* the table covers every class and every reason the classifier gives */
	for (unsigned k = DP_CLS_DROP; k <= DP_CLS_IP; k++)
		assert_true(kinds[k]);
	assert_true(drops[DP_DROP_RX_MALFORMED]);
	assert_true(drops[DP_DROP_RX_UNSUPPORTED]);
	assert_true(drops[DP_DROP_IP_BAD_CSUM]);
}

/* An IPv4 header with its checksum (b861) as published (the example of
 * Wikipedia's "IPv4 header checksum"), not computed by this file; then
 * every single bit flipped where the header still parses. */
static void
test_known_checksum(void **state)
{
	static const uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
					0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	struct frame f = {.n = 0};
	struct dp_cls c;

	(void)state;
	put(&f, self_mac, 6);
	put(&f, peer_mac, 6);
	put16(&f, ET_IPV4);
	put(&f, hdr, sizeof(hdr));
	zeros(&f, 0x73 - 20);
	classify(f.b, f.n, 0, &c);
	assert_int_equal(c.kind, DP_CLS_IP);
	assert_int_equal(c.l3_len, 0x73);
	assert_int_equal(inet_csum(hdr, sizeof(hdr)), 0);
	for (unsigned i = 0; i < 20 * 8; i++) {
		if (i / 8 == 0 || i / 8 == 2 || i / 8 == 3)
			continue;
		f.b[14 + i / 8] ^= (uint8_t)(1 << (i % 8));
		classify(f.b, f.n, 0, &c);
		assert_int_equal(c.kind, DP_CLS_DROP);
		assert_int_equal(c.drop, DP_DROP_IP_BAD_CSUM);
		f.b[14 + i / 8] ^= (uint8_t)(1 << (i % 8));
	}
}

/* dp_cls_ip, dp_cls_l4 and dp_cls_is_nd on bare IP packets, as
 * dp_ip_check, wg_classify and dp_is_nd call them. */
static void
test_entry_points(void **state)
{
	const struct spec v4 = {IP4, UDP(24)}, v6 = {IP6, ICMP6(135, 24)};
	struct frame f4, f6;
	struct dp_cls_l4 l4;
	uint32_t len = 0;
	uint8_t *p4, *p6;

	(void)state;
	build(&v4, &f4);
	build(&v6, &f6);
	p4 = f4.b + 14;
	p6 = f6.b + 14;

	assert_int_equal(dp_cls_ip(p4, 44, 0, &len), AF_INET);
	assert_int_equal(len, 44);
	assert_int_equal(dp_cls_ip(p4, 50, 0, &len), AF_INET); /* 6 bytes of padding */
	assert_int_equal(len, 44);
	assert_int_equal(dp_cls_ip(p4, 43, 0, &len), -EINVAL);
	assert_int_equal(dp_cls_ip(p4, 44, DP_CLS_F_CHAINED, &len), -EINVAL);
	assert_int_equal(dp_cls_ip(p4, 0, 0, &len), -EINVAL);
	p4[10] ^= 1;
	assert_int_equal(dp_cls_ip(p4, 44, 0, &len), -EBADMSG);
	assert_int_equal(dp_cls_ip(p4, 44, DP_CLS_F_CSUM_GOOD, &len), AF_INET);
	p4[10] ^= 1;
	assert_int_equal(dp_cls_ip(p6, 64, 0, &len), AF_INET6);
	assert_int_equal(len, 64);
	assert_int_equal(dp_cls_ip(p6, 39, 0, &len), -EINVAL);
	assert_int_equal(dp_cls_ip(p6, 63, 0, &len), -EINVAL);

	assert_int_equal(dp_cls_l4(p4, 44, AF_INET, &l4), 0);
	assert_true(l4.udp && l4.udp_len_ok && l4.off == 20 && ntohs(l4.dport) == WG_PORT);
	assert_int_equal(dp_cls_l4(p4, 27, AF_INET, &l4), 0); /* UDP header cut */
	assert_true(l4.proto == IPPROTO_UDP && !l4.udp);
	assert_int_equal(dp_cls_l4(p4, 19, AF_INET, &l4), -EINVAL);
	assert_int_equal(l4.proto, 0);
	assert_int_equal(dp_cls_l4(p4, 44, AF_UNIX, &l4), -EINVAL);
	p4[0] = 0x46; /* 24-byte header in a 22-byte buffer */
	assert_int_equal(dp_cls_l4(p4, 22, AF_INET, &l4), -EINVAL);
	p4[0] = 0x44;
	assert_int_equal(dp_cls_l4(p4, 44, AF_INET, &l4), -EINVAL);
	p4[0] = 0x45;
	assert_int_equal(dp_cls_l4(p6, 39, AF_INET6, &l4), -EINVAL);

	for (unsigned t = 128; t < 140; t++) {
		p6[40] = (uint8_t)t;
		assert_int_equal(dp_cls_is_nd(p6, 64), t >= 133 && t <= 137);
	}
	p6[40] = 136;
	assert_false(dp_cls_is_nd(p6, 40)); /* no ICMPv6 byte */
	assert_true(dp_cls_is_nd(p6, 41));
	p6[6] = IPPROTO_UDP;
	assert_false(dp_cls_is_nd(p6, 64));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_known_checksum),
		cmocka_unit_test(test_entry_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
