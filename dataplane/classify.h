/*
 * classify.h — what a received frame is, from its bytes alone: Ethernet
 * (with up to two VLAN tags), ARP, IPv4, IPv6, Neighbor Discovery, and the
 * UDP or ICMP header behind the IP header, with the header checks of the
 * data path and the drop reason when one fails. No mbuf, no engine state,
 * no EAL: fwd.c runs it on every frame a port receives (and on the IP
 * packets of the exception and decryption paths, through dp_ip_check and
 * dp_is_nd), and the unit tests and tests/fuzz/fuzz_classify.c run the same
 * code on plain buffers. Any lcore; it only reads its input.
 */
#ifndef GATE44_CLASSIFY_H
#define GATE44_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "counters.h"

/* What the data path does with a frame. */
enum dp_cls_kind {
	DP_CLS_DROP = 0, /* count cls.drop and free it */
	DP_CLS_ARP,	 /* to the main lcore as received (neigh.c checks the body) */
	DP_CLS_ND,	 /* ICMPv6 133..137: to the main lcore with its Ethernet header */
	DP_CLS_IP,	 /* an IPv4 or IPv6 packet to route */
};

/* Facts about the buffer that the bytes alone do not tell (flags). */
enum {
	DP_CLS_F_CSUM_GOOD = 1 << 0, /* the NIC verified the IPv4 header checksum */
	DP_CLS_F_CHAINED = 1 << 1,   /* the packet goes on in another mbuf segment */
};

enum {
	DP_CLS_MAX_VLAN = 2, /* 802.1ad + 802.1Q; a third tag is not parsed */
};

/* The header behind the IP header. IPv6 extension headers are not walked:
 * their next-header value is the protocol (no UDP, no ND behind them). */
struct dp_cls_l4 {
	uint16_t off;	 /* from the start of the IP header */
	uint8_t proto;	 /* IPv4 protocol / IPv6 next header */
	bool frag;	 /* an IPv4 fragment (MF or an offset): nothing read behind */
	bool udp;	 /* a whole UDP header at off */
	bool udp_len_ok; /* its length covers its header and fits in the packet */
	uint16_t sport;	 /* UDP ports, network order */
	uint16_t dport;
	uint16_t udp_len; /* host order, as the header says */
	bool icmp;	  /* ICMP (IPv4) or ICMPv6 (IPv6) with its type byte */
	uint8_t icmp_type;
};

/* A classified frame. Fields past kind and drop are valid as far as the
 * parse went: the L2 ones once the Ethernet header was read, the L3/L4 ones
 * for DP_CLS_ND and DP_CLS_IP. */
struct dp_cls {
	uint8_t kind;	/* enum dp_cls_kind */
	uint8_t drop;	/* enum dp_drop, for DP_CLS_DROP */
	bool tagged;	/* 802.1Q / 802.1ad TPID after the MACs, even on a cut tag */
	uint8_t n_vlan; /* complete tags read; their VLAN IDs, outer first: */
	uint16_t vlan[DP_CLS_MAX_VLAN];
	uint16_t ethertype; /* after the tags, host order */
	uint16_t l3_off;    /* of the ARP / IP header in the frame */
	uint32_t l3_len;    /* IP total length, link padding excluded */
	uint8_t family;	    /* AF_INET / AF_INET6 */
	struct dp_cls_l4 l4;
};

/*
 * Classify the Ethernet frame at frame[0..len) (2-byte aligned, as mbuf
 * data is) received on a port whose MAC is self, with flags DP_CLS_F_*.
 * In this order, as the data path decides:
 *  - shorter than an Ethernet header: drop, rx_malformed;
 *  - sent by self (packet sockets see their own frames) or unicast to
 *    another MAC: drop, rx_unsupported;
 *  - VLAN tags are read (a cut tag: rx_malformed; a third: rx_unsupported);
 *  - ARP: DP_CLS_ARP; neither IPv4 nor IPv6: rx_unsupported;
 *  - an IP version other than the EtherType's: rx_malformed;
 *  - the IP header fails dp_cls_ip: rx_malformed, or ip_bad_checksum;
 *  - ICMPv6 133..137: DP_CLS_ND; else DP_CLS_IP.
 * An IP version that is not the EtherType's is rx_malformed (as in Linux).
 * Whether tagged frames are wanted is the caller's policy.
 */
void dp_classify(const uint8_t *frame, uint32_t len, const struct rte_ether_addr *self,
		 unsigned flags, struct dp_cls *c);

/* Check the IP header at p[0..len) (the data path's checks: version,
 * header and total lengths within len, the IPv4 header checksum unless
 * DP_CLS_F_CSUM_GOOD; DP_CLS_F_CHAINED is refused). Return AF_INET or
 * AF_INET6 with *ip_len the packet's length without link padding, -EBADMSG
 * on a wrong IPv4 checksum, -EINVAL when malformed. */
int dp_cls_ip(const uint8_t *p, uint32_t len, unsigned flags, uint32_t *ip_len);

/* Read the header behind the IP header of a family packet at ip[0..len)
 * (len without padding). Return 0, or -EINVAL (l4 zero) when the IP header
 * itself does not fit. */
int dp_cls_l4(const uint8_t *ip, uint32_t len, int family, struct dp_cls_l4 *l4);

/* Is the IPv6 packet at ip6[0..len) Neighbor Discovery (ICMPv6 133..137,
 * no extension header)? */
bool dp_cls_is_nd(const uint8_t *ip6, uint32_t len);

#endif /* GATE44_CLASSIFY_H */
