/*
 * fwd.c — route and output the frames classify.c has sorted (see fwd.h).
 * Runs on every lcore; the hot path takes no locks: FIB and neighbour
 * lookups are lock-free reads, packets for a peer owned by another worker
 * cross through that worker's ring, and anything slow (ARP/ND, handshakes,
 * ICMP to us, unresolved next hops) goes to the main lcore's ring.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "classify.h"
#include "fib.h"
#include "fwd.h"
#include "neigh.h"
#include "wg_data.h"

void
dp_handoff(struct dp_lcore *lc, unsigned w, struct rte_mbuf *m, enum dp_action act)
{
	dp_meta(m)->action = (uint8_t)act;
	if (rte_ring_enqueue(dp_eng->lcores[w].handoff, m) != 0) {
		dp_drop(lc, m, DP_DROP_HANDOFF_RING_FULL);
		return;
	}
	lc->stats.handoff_out++;
}

/* What the bytes of m cannot tell classify.c. */
static inline unsigned
cls_flags(const struct rte_mbuf *m)
{
	unsigned f = m->nb_segs != 1 ? DP_CLS_F_CHAINED : 0;

	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= DP_CLS_F_CSUM_GOOD;
	return f;
}

int
dp_ip_check(struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_data_len(m), tot;
	int fam = dp_cls_ip(rte_pktmbuf_mtod(m, const uint8_t *), len, cls_flags(m), &tot);

	if (fam < 0)
		return fam == -EBADMSG ? -1 : 0;
	if (tot < len)
		rte_pktmbuf_trim(m, (uint16_t)(len - tot)); /* Ethernet padding */
	return fam;
}

static inline const uint8_t *
ip_dst(struct rte_mbuf *m, int family)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	return family == AF_INET ? p + offsetof(struct rte_ipv4_hdr, dst_addr)
				 : p + offsetof(struct rte_ipv6_hdr, dst_addr);
}

bool
dp_is_nd(struct rte_mbuf *m)
{
	return dp_cls_is_nd(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m));
}

void
dp_rx_process(struct dp_lcore *lc, uint16_t port, struct rte_mbuf **pkts, unsigned n)
{
	const struct dp_port *p = &dp_eng->ports[port];
	struct rte_mbuf *ip[DP_MAX_BURST];
	unsigned nip = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *meta = dp_meta(m);
		uint32_t len = rte_pktmbuf_data_len(m);
		struct dp_cls c;

		lc->stats.rx_pkts++;
		lc->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		dp_classify(rte_pktmbuf_mtod(m, const uint8_t *), len, &p->mac, cls_flags(m), &c);
		/* a port is one untagged segment (CONFIG.md has no VLANs): a
		 * tagged frame is not ours, whatever it carries */
		if (c.tagged) {
			dp_drop(lc, m, DP_DROP_RX_UNSUPPORTED);
			continue;
		}
		if (c.kind == DP_CLS_DROP) {
			dp_drop(lc, m, (enum dp_drop)c.drop);
			continue;
		}
		memset(meta, 0, sizeof(*meta));
		meta->in_port = port;
		if (c.kind == DP_CLS_ARP) {
			meta->l2 = 1;
			meta->reason = DP_CTL_L2;
			dp_to_main(lc, m, DP_ACT_CONTROL);
			continue;
		}
		meta->family = c.family;
		rte_pktmbuf_trim(m, (uint16_t)(len - c.l3_off - c.l3_len)); /* Ethernet padding */
		if (c.kind == DP_CLS_ND) {
			meta->l2 = 1; /* ND wants its frame */
			meta->reason = DP_CTL_L2;
			dp_to_main(lc, m, DP_ACT_CONTROL);
			continue;
		}
		rte_pktmbuf_adj(m, c.l3_off);
		ip[nip++] = m;
	}
	if (nip > 0)
		dp_route(lc, ip, nip, false);
}

/* FIB next hops for packets of mixed families, in one bulk per family. */
static void
lookup(struct rte_mbuf **pkts, unsigned n, uint32_t *nh)
{
	uint32_t v4[DP_MAX_BURST], nh4[DP_MAX_BURST];
	uint8_t v6[DP_MAX_BURST][16];
	uint32_t nh6[DP_MAX_BURST];
	uint16_t i4[DP_MAX_BURST], i6[DP_MAX_BURST];
	unsigned n4 = 0, n6 = 0;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = ip_dst(pkts[i], dp_meta(pkts[i])->family);

		if (dp_meta(pkts[i])->family == AF_INET) {
			uint32_t a;

			memcpy(&a, d, 4);
			v4[n4] = rte_be_to_cpu_32(a);
			i4[n4++] = (uint16_t)i;
		} else {
			memcpy(v6[n6], d, 16);
			i6[n6++] = (uint16_t)i;
		}
	}
	if (n4 > 0)
		dp_fib_lookup4_bulk(dp_eng->fib, v4, nh4, n4);
	if (n6 > 0)
		dp_fib_lookup6_bulk(dp_eng->fib, (const uint8_t(*)[16])v6, nh6, n6);
	for (unsigned i = 0; i < n4; i++)
		nh[i4[i]] = nh4[i];
	for (unsigned i = 0; i < n6; i++)
		nh[i6[i]] = nh6[i];
}

/* A datagram to one of our WireGuard listen ports? Then strip the outer
 * headers, note the outer source, and return the interface; -2 when its UDP
 * length is wrong; else -1. */
static int
wg_classify(struct rte_mbuf *m, int family)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct dp_meta *meta = dp_meta(m);
	struct dp_cls_l4 l4;

	dp_cls_l4(p, len, family, &l4);
	if (l4.proto != IPPROTO_UDP || l4.frag)
		return -1;
	meta->src.family = family;
	memset(meta->src.addr, 0, 16);
	if (family == AF_INET)
		memcpy(meta->src.addr, p + offsetof(struct rte_ipv4_hdr, src_addr), 4);
	else
		memcpy(meta->src.addr, p + offsetof(struct rte_ipv6_hdr, src_addr), 16);
	if (!l4.udp)
		return -1;
	for (unsigned i = 0; i < dp_eng->n_wg; i++) {
		if (dp_eng->wg[i].up && l4.dport == dp_eng->wg[i].listen_port) {
			if (!l4.udp_len_ok)
				return -2;
			meta->src.port = l4.sport;
			meta->wg_if = (uint16_t)i;
			rte_pktmbuf_trim(m, (uint16_t)(len - l4.off - l4.udp_len));
			rte_pktmbuf_adj(m, (uint16_t)(l4.off + sizeof(struct rte_udp_hdr)));
			return (int)i;
		}
	}
	return -1;
}

/* TTL / hop limit: false when it expired (the caller sends it to main for
 * an ICMP error). Decrements with an incremental checksum (RFC 1624). */
static inline bool
ttl_dec(struct rte_mbuf *m, int family)
{
	if (family == AF_INET) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
		uint32_t sum;

		if (ip->time_to_live <= 1)
			return false;
		ip->time_to_live--;
		sum = (uint32_t)ip->hdr_checksum + rte_cpu_to_be_16(0x0100);
		ip->hdr_checksum = (uint16_t)(sum + (sum >> 16));
		return true;
	}
	struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);

	if (ip6->hop_limits <= 1)
		return false;
	ip6->hop_limits--;
	return true;
}

void
dp_route(struct dp_lcore *lc, struct rte_mbuf **pkts, unsigned n, bool from_tunnel)
{
	uint32_t nh[DP_MAX_BURST];
	struct rte_mbuf *dec[DP_MAX_BURST];
	unsigned ndec = 0;

	lookup(pkts, n, nh);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct dp_meta *meta = dp_meta(m);
		int fam = meta->family;

		meta->nh = nh[i];
		if (dp_nh_kind(nh[i]) == DP_NH_LOCAL) {
			int wg = from_tunnel || dp_nh_index(nh[i]) != DP_LOCAL_ADDRESS
					 ? -1
					 : wg_classify(m, fam);
			const uint8_t *msg;

			if (wg == -2) {
				dp_drop(lc, m, DP_DROP_RX_MALFORMED);
				continue;
			}
			if (wg < 0) {
				meta->reason = DP_CTL_LOCAL;
				dp_to_main(lc, m, DP_ACT_CONTROL); /* ICMP echo, exception */
				continue;
			}
			msg = rte_pktmbuf_mtod(m, const uint8_t *);
			if (rte_pktmbuf_data_len(m) < 4) {
				dp_drop(lc, m, DP_DROP_WG_SHORT);
				continue;
			}
			if (msg[0] == WG_MSG_DATA && msg[1] == 0 && msg[2] == 0 && msg[3] == 0) {
				if (rte_pktmbuf_data_len(m) < WG_MSG_DATA_MIN_LEN) {
					dp_drop(lc, m, DP_DROP_WG_SHORT);
					continue;
				}
				dec[ndec++] = m;
			} else if (wg_handshake_len(msg, rte_pktmbuf_data_len(m)) == 0) {
				lc->stats.handshakes_rx++;
				dp_to_main(lc, m, DP_ACT_HANDSHAKE);
			} else {
				dp_drop(lc, m, DP_DROP_WG_BAD_TYPE);
			}
			continue;
		}
		if (!ttl_dec(m, fam)) {
			meta->reason = DP_CTL_TTL;
			dp_to_main(lc, m, DP_ACT_CONTROL);
			continue;
		}
		lc->stats.forwarded++;
		dp_output(lc, m, nh[i], fam, ip_dst(m, fam));
	}
	if (ndec > 0)
		wg_decrypt_burst(lc, dec, ndec);
	wg_encrypt_flush(lc);
}

/* Prepend Ethernet and send on port to the neighbour at nhaddr. */
static void
out_l2(struct dp_lcore *lc, struct rte_mbuf *m, uint16_t port, int family, const uint8_t *nhaddr)
{
	const struct dp_port *p = &dp_eng->ports[port];
	struct rte_ether_addr mac;
	struct rte_ether_hdr *eth;

	if (rte_pktmbuf_pkt_len(m) > p->mtu) {
		dp_meta(m)->out_port = port;
		dp_meta(m)->reason = DP_CTL_TOO_BIG;
		dp_to_main(lc, m, DP_ACT_CONTROL);
		return;
	}
	if (dp_neigh_lookup(dp_eng->neigh, port, family, nhaddr, &mac) != 0) {
		struct dp_meta *meta = dp_meta(m);

		meta->out_port = port;
		meta->family = (uint8_t)family;
		memset(meta->nh_addr, 0, sizeof(meta->nh_addr));
		memcpy(meta->nh_addr, nhaddr, family == AF_INET ? 4 : 16);
		dp_to_main(lc, m, DP_ACT_NEIGH_WAIT);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	if (eth == NULL) {
		dp_drop(lc, m, DP_DROP_RX_MALFORMED);
		return;
	}
	eth->dst_addr = mac;
	eth->src_addr = p->mac;
	eth->ether_type = rte_cpu_to_be_16(family == AF_INET ? RTE_ETHER_TYPE_IPV4
							     : RTE_ETHER_TYPE_IPV6);
	dp_tx(lc, port, m);
}

void
dp_output(struct dp_lcore *lc, struct rte_mbuf *m, uint32_t nh, int family, const uint8_t *dst)
{
	uint32_t idx = dp_nh_index(nh);

	switch (dp_nh_kind(nh)) {
	case DP_NH_PEER:
		dp_meta(m)->peer = idx;
		dp_meta(m)->family = (uint8_t)family;
		wg_encrypt_enqueue(lc, m);
		return;
	case DP_NH_ADJ: {
		const struct dp_adj *a = &dp_eng->adj[idx];

		out_l2(lc, m, a->port, a->family, a->addr);
		return;
	}
	case DP_NH_CONNECTED:
		out_l2(lc, m, (uint16_t)idx, family, dst);
		return;
	case DP_NH_LOCAL:
		dp_meta(m)->nh = nh;
		dp_meta(m)->reason = DP_CTL_LOCAL;
		dp_meta(m)->family = (uint8_t)family;
		dp_to_main(lc, m, DP_ACT_CONTROL);
		return;
	default:
		/* unreachable: main answers with an ICMP error (rate limited) */
		dp_meta(m)->nh = nh;
		dp_meta(m)->family = (uint8_t)family;
		dp_meta(m)->reason = DP_CTL_UNREACH;
		lc->stats.drops[idx == 0 ? DP_DROP_IP_NO_ROUTE : DP_DROP_IP_ROUTE_DROP]++;
		dp_to_main(lc, m, DP_ACT_CONTROL);
		return;
	}
}
