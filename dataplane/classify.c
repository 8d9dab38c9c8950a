/*
 * classify.c — parse and classify a received frame from its bytes (see
 * classify.h). Runs on every lcore, on each frame before anything else
 * looks at it: every read is bounded by the length given, headers are read
 * byte by byte (no alignment assumed beyond the 2 bytes of an Ethernet
 * header), and nothing is written but the result.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include <rte_ip.h>

#include "classify.h"

enum {
	ETH_HLEN = 14,
	VLAN_HLEN = 4,
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	UDP_HLEN = 8,
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ETHERTYPE_VLAN = 0x8100, /* 802.1Q customer tag */
	ETHERTYPE_QINQ = 0x88a8, /* 802.1ad service tag */
	ETHERTYPE_IPV6 = 0x86dd,
	IP4_FRAG_MASK = 0x3fff, /* MF and the fragment offset */
	ICMP6_ND_FIRST = 133,	/* router solicitation */
	ICMP6_ND_LAST = 137,	/* redirect */
};

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline bool
is_tpid(uint16_t et)
{
	return et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ;
}

int
dp_cls_ip(const uint8_t *p, uint32_t len, unsigned flags, uint32_t *ip_len)
{
	uint32_t hl, tot;

	if ((flags & DP_CLS_F_CHAINED) || len < 1)
		return -EINVAL;
	switch (p[0] >> 4) {
	case 4:
		if (len < IP4_HLEN)
			return -EINVAL;
		hl = (uint32_t)(p[0] & 0xf) * 4;
		tot = be16(p + 2);
		if (hl < IP4_HLEN || tot < hl || tot > len)
			return -EINVAL;
		/* The one's-complement sum over the header, its checksum field
		 * included, is 0xffff exactly when the checksum is right. (fwd.c
		 * used to test rte_ipv4_cksum() != 0xffff first: always true
		 * since rte_ipv4_cksum covers the options too, so dropped.) */
		if (!(flags & DP_CLS_F_CSUM_GOOD) && rte_raw_cksum(p, hl) != 0xffff)
			return -EBADMSG;
		*ip_len = tot;
		return AF_INET;
	case 6:
		if (len < IP6_HLEN)
			return -EINVAL;
		tot = IP6_HLEN + (uint32_t)be16(p + 4);
		if (tot > len)
			return -EINVAL;
		*ip_len = tot;
		return AF_INET6;
	default:
		return -EINVAL;
	}
}

int
dp_cls_l4(const uint8_t *ip, uint32_t len, int family, struct dp_cls_l4 *l4)
{
	uint32_t off, rest;

	memset(l4, 0, sizeof(*l4));
	if (family == AF_INET) {
		if (len < IP4_HLEN)
			return -EINVAL;
		off = (uint32_t)(ip[0] & 0xf) * 4;
		if (off < IP4_HLEN || off > len)
			return -EINVAL;
		l4->proto = ip[9];
		l4->frag = (be16(ip + 6) & IP4_FRAG_MASK) != 0;
	} else if (family == AF_INET6) {
		if (len < IP6_HLEN)
			return -EINVAL;
		off = IP6_HLEN;
		l4->proto = ip[6];
	} else {
		return -EINVAL;
	}
	l4->off = (uint16_t)off;
	if (l4->frag)
		return 0; /* a later fragment holds no header; the first is not reassembled */
	rest = len - off;
	if (l4->proto == IPPROTO_UDP && rest >= UDP_HLEN) {
		l4->udp = true;
		memcpy(&l4->sport, ip + off, 2);
		memcpy(&l4->dport, ip + off + 2, 2);
		l4->udp_len = be16(ip + off + 4);
		l4->udp_len_ok = l4->udp_len >= UDP_HLEN && l4->udp_len <= rest;
	} else if (((family == AF_INET && l4->proto == IPPROTO_ICMP) ||
		    (family == AF_INET6 && l4->proto == IPPROTO_ICMPV6)) &&
		   rest >= 1) {
		l4->icmp = true;
		l4->icmp_type = ip[off];
	}
	return 0;
}

static inline bool
l4_is_nd(const struct dp_cls_l4 *l4)
{
	return l4->icmp && l4->proto == IPPROTO_ICMPV6 && l4->icmp_type >= ICMP6_ND_FIRST &&
	       l4->icmp_type <= ICMP6_ND_LAST;
}

bool
dp_cls_is_nd(const uint8_t *ip6, uint32_t len)
{
	struct dp_cls_l4 l4;

	return dp_cls_l4(ip6, len, AF_INET6, &l4) == 0 && l4_is_nd(&l4);
}

static inline void
cls_drop(struct dp_cls *c, enum dp_drop why)
{
	c->kind = DP_CLS_DROP;
	c->drop = (uint8_t)why;
}

void
dp_classify(const uint8_t *frame, uint32_t len, const struct rte_ether_addr *self, unsigned flags,
	    struct dp_cls *c)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	uint32_t off = ETH_HLEN;
	uint16_t et;
	int fam;

	memset(c, 0, sizeof(*c));
	if (len < ETH_HLEN) {
		cls_drop(c, DP_DROP_RX_MALFORMED);
		return;
	}
	/* packet sockets also see what we sent: never loop our own frames */
	if (rte_is_same_ether_addr(&eth->src_addr, self) ||
	    (!rte_is_same_ether_addr(&eth->dst_addr, self) &&
	     !rte_is_multicast_ether_addr(&eth->dst_addr))) {
		cls_drop(c, DP_DROP_RX_UNSUPPORTED);
		return;
	}
	et = be16(frame + 12);
	c->tagged = is_tpid(et);
	while (is_tpid(et)) {
		if (c->n_vlan == DP_CLS_MAX_VLAN) {
			c->ethertype = et;
			cls_drop(c, DP_DROP_RX_UNSUPPORTED);
			return;
		}
		if (len < off + VLAN_HLEN) {
			cls_drop(c, DP_DROP_RX_MALFORMED);
			return;
		}
		/* TPID at off - 2, then the TCI (PCP, DEI, VID), then the type */
		c->vlan[c->n_vlan++] = be16(frame + off) & 0x0fff;
		et = be16(frame + off + 2);
		off += VLAN_HLEN;
	}
	c->ethertype = et;
	c->l3_off = (uint16_t)off;
	if (et == ETHERTYPE_ARP) {
		c->kind = DP_CLS_ARP;
		return;
	}
	if (et != ETHERTYPE_IPV4 && et != ETHERTYPE_IPV6) {
		cls_drop(c, DP_DROP_RX_UNSUPPORTED);
		return;
	}
	/* the EtherType picks the protocol, as in Linux: an IPv4 header under
	 * the IPv6 type (or the reverse) is malformed, not "the other one" */
	if (len > off && (frame[off] >> 4) != (et == ETHERTYPE_IPV4 ? 4 : 6)) {
		cls_drop(c, DP_DROP_RX_MALFORMED);
		return;
	}
	fam = dp_cls_ip(frame + off, len - off, flags, &c->l3_len);
	if (fam < 0) {
		cls_drop(c, fam == -EBADMSG ? DP_DROP_IP_BAD_CSUM : DP_DROP_RX_MALFORMED);
		return;
	}
	c->family = (uint8_t)fam;
	dp_cls_l4(frame + off, c->l3_len, fam, &c->l4); /* cannot fail: header checked */
	c->kind = fam == AF_INET6 && l4_is_nd(&c->l4) ? DP_CLS_ND : DP_CLS_IP;
}
