/*
 * icmp.c — the control path on the main lcore (see icmp.h). Replies and
 * errors are routed like any packet (dp_output), so an error for a tunnel
 * user goes back through its peer's owner worker.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "fib.h"
#include "fwd.h"
#include "exception.h"
#include "icmp.h"
#include "neigh.h"

enum {
	ICMP_ERRORS_PER_SEC = 1000, /* token bucket for all errors sent */
	ICMP6_TYPE_UNREACH = 1,
	ICMP6_TYPE_TOO_BIG = 2,
	ICMP6_TYPE_TIME = 3,
	ICMP6_TYPE_ECHO_REQ = 128,
	ICMP6_TYPE_ECHO_REPLY = 129,
	ICMP4_FRAG_NEEDED = 4,
	ICMP4_DEST_UNREACH = 3,
	ICMP4_TIME_EXCEEDED = 11,
	ICMP6_MIN_MTU = 1280,
};

static uint64_t tokens, last_ns;

static bool
error_allowed(uint64_t now)
{
	uint64_t add = (now - last_ns) * ICMP_ERRORS_PER_SEC / 1000000000ULL;

	if (add > 0) {
		tokens = RTE_MIN(tokens + add, (uint64_t)ICMP_ERRORS_PER_SEC);
		last_ns = now;
	}
	if (tokens == 0)
		return false;
	tokens--;
	return true;
}

/* One of the POP's addresses to send an error from: the interface the
 * packet came in on, else the first address of that family anywhere. */
static bool
pick_src(const struct dp_meta *meta, int family, uint8_t out[16])
{
	const struct dp_addr *addrs = NULL;
	unsigned n = 0;

	if (meta->in_port != UINT16_MAX && meta->in_port < dp_eng->n_ports) {
		addrs = dp_eng->ports[meta->in_port].addrs;
		n = dp_eng->ports[meta->in_port].n_addrs;
	} else if (meta->wg_if < dp_eng->n_wg) {
		addrs = dp_eng->wg[meta->wg_if].addrs;
		n = dp_eng->wg[meta->wg_if].n_addrs;
	}
	for (unsigned i = 0; i < n; i++) {
		if (addrs[i].family == family) {
			memcpy(out, addrs[i].addr, 16);
			return true;
		}
	}
	for (unsigned p = 0; p < dp_eng->n_ports; p++) {
		for (unsigned i = 0; i < dp_eng->ports[p].n_addrs; i++) {
			if (dp_eng->ports[p].addrs[i].family == family) {
				memcpy(out, dp_eng->ports[p].addrs[i].addr, 16);
				return true;
			}
		}
	}
	return false;
}

/* Send a locally originated IP packet (data at the IP header). */
static void
send_local(struct dp_lcore *lc, struct rte_mbuf *m, int family, const uint8_t *dst)
{
	uint32_t nh = dp_fib_lookup(dp_eng->fib, family, dst);

	if (dp_nh_kind(nh) == DP_NH_LOCAL || dp_nh_kind(nh) == DP_NH_DROP) {
		dp_drop(lc, m, DP_DROP_IP_NO_ROUTE);
		return;
	}
	dp_meta(m)->family = (uint8_t)family;
	dp_meta(m)->reason = DP_CTL_LOCAL;
	dp_output(lc, m, nh, family, dst); /* a peer: handed to its owner */
}

/* Build an ICMP(v6) error quoting orig; consumes orig. */
static void
send_error(struct dp_lcore *lc, struct rte_mbuf *orig, uint8_t type, uint8_t code, uint32_t info)
{
	struct dp_meta *meta = dp_meta(orig);
	int family = meta->family;
	const uint8_t *o = rte_pktmbuf_mtod(orig, const uint8_t *);
	uint32_t olen = rte_pktmbuf_data_len(orig), quote;
	uint8_t src[16], dst[16];
	struct rte_mbuf *m;
	uint8_t *p;

	if (!error_allowed(dp_now_ns()) || !pick_src(meta, family, src)) {
		rte_pktmbuf_free(orig);
		return;
	}
	m = rte_pktmbuf_alloc(dp_eng->mp);
	if (m == NULL) {
		dp_drop(lc, orig, DP_DROP_NO_MBUF);
		return;
	}
	memset(dp_meta(m), 0, sizeof(struct dp_meta));
	dp_meta(m)->in_port = UINT16_MAX;
	if (family == AF_INET) {
		const struct rte_ipv4_hdr *oip = (const void *)o;
		struct rte_ipv4_hdr *ip;
		struct rte_icmp_hdr *ic;

		/* never answer an ICMP error, a fragment tail, or a broadcast */
		if (oip->next_proto_id == IPPROTO_ICMP && olen > 20 &&
		    o[(oip->version_ihl & 0xf) * 4] != RTE_IP_ICMP_ECHO_REQUEST &&
		    o[(oip->version_ihl & 0xf) * 4] != RTE_IP_ICMP_ECHO_REPLY)
			goto drop;
		if (oip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
			goto drop;
		memset(dst, 0, 16);
		memcpy(dst, &oip->src_addr, 4);
		quote = RTE_MIN(olen, (uint32_t)(oip->version_ihl & 0xf) * 4 + 8);
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip) + sizeof(*ic) + quote));
		if (p == NULL)
			goto drop;
		ip = (struct rte_ipv4_hdr *)p;
		ic = (struct rte_icmp_hdr *)(ip + 1);
		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*ic) + quote));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_ICMP;
		memcpy(&ip->src_addr, src, 4);
		memcpy(&ip->dst_addr, dst, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		ic->icmp_type = type;
		ic->icmp_code = code;
		ic->icmp_cksum = 0;
		/* next-hop MTU (RFC 1191) in the low 16 bits of the second word */
		ic->icmp_ident = 0;
		ic->icmp_seq_nb = rte_cpu_to_be_16((uint16_t)info);
		memcpy(ic + 1, o, quote);
		ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + quote);
	} else {
		const struct rte_ipv6_hdr *oip6 = (const void *)o;
		struct rte_ipv6_hdr *ip6;
		uint8_t *ic;

		if (oip6->proto == IPPROTO_ICMPV6 && olen > 40 && o[40] < 128)
			goto drop; /* an error about an error */
		if (oip6->src_addr[0] == 0xff)
			goto drop; /* multicast source */
		memcpy(dst, oip6->src_addr, 16);
		quote = RTE_MIN(olen, (uint32_t)(ICMP6_MIN_MTU - 40 - 8));
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*ip6) + 8 + quote));
		if (p == NULL)
			goto drop;
		ip6 = (struct rte_ipv6_hdr *)p;
		ic = (uint8_t *)(ip6 + 1);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
		ip6->proto = IPPROTO_ICMPV6;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, src, 16);
		memcpy(ip6->dst_addr, dst, 16);
		ic[0] = type;
		ic[1] = code;
		ic[2] = ic[3] = 0;
		info = rte_cpu_to_be_32(info); /* MTU for packet too big, else 0 */
		memcpy(ic + 4, &info, 4);
		memcpy(ic + 8, o, quote);
		{
			uint16_t ck = rte_ipv6_udptcp_cksum(ip6, ic);

			memcpy(ic + 2, &ck, 2);
		}
	}
	rte_pktmbuf_free(orig);
	lc->stats.icmp_tx++;
	send_local(lc, m, family, dst);
	return;
drop:
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(orig);
}

static bool
is_echo_request(struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);

	if ((p[0] >> 4) == 4) {
		uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4;

		return p[9] == IPPROTO_ICMP && len >= ihl + 8 && p[ihl] == RTE_IP_ICMP_ECHO_REQUEST;
	}
	return len >= 48 && p[6] == IPPROTO_ICMPV6 && p[40] == ICMP6_TYPE_ECHO_REQ;
}

/* Echo request to one of our addresses: turn it around in place. */
static void
echo_reply(struct dp_lcore *lc, struct rte_mbuf *m, int family)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	uint8_t dst[16] = {0};

	if (family == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
		struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(p + ihl);
		rte_be32_t a = ip->src_addr;

		if (ip->next_proto_id != IPPROTO_ICMP || len < ihl + sizeof(*ic) ||
		    ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
		    rte_raw_cksum(ic, len - ihl) != 0xffff) {
			dp_drop(lc, m, DP_DROP_EXCEPTION_DOWN);
			return;
		}
		ip->src_addr = ip->dst_addr;
		ip->dst_addr = a;
		ip->time_to_live = 64;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
		ic->icmp_cksum = 0;
		ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, len - ihl);
		memcpy(dst, &a, 4);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)p;
		uint8_t *ic = p + sizeof(*ip6);
		uint16_t ck;

		if (ip6->proto != IPPROTO_ICMPV6 || len < sizeof(*ip6) + 8 ||
		    ic[0] != ICMP6_TYPE_ECHO_REQ || rte_ipv6_udptcp_cksum_verify(ip6, ic) != 0) {
			dp_drop(lc, m, DP_DROP_EXCEPTION_DOWN);
			return;
		}
		memcpy(dst, ip6->src_addr, 16);
		memcpy(ip6->src_addr, ip6->dst_addr, 16);
		memcpy(ip6->dst_addr, dst, 16);
		ip6->hop_limits = 64;
		ic[0] = ICMP6_TYPE_ECHO_REPLY;
		ic[2] = ic[3] = 0;
		ck = rte_ipv6_udptcp_cksum(ip6, ic);
		memcpy(ic + 2, &ck, 2);
	}
	lc->stats.icmp_tx++;
	send_local(lc, m, family, dst);
}

void
dp_icmp_control(struct dp_lcore *lc, struct rte_mbuf *m)
{
	struct dp_meta *meta = dp_meta(m);
	int v4 = meta->family == AF_INET;

	switch (meta->reason) {
	case DP_CTL_L2:
		dp_neigh_input(dp_eng->neigh, meta->in_port, m);
		return;
	case DP_CTL_TTL:
		send_error(lc, m, v4 ? ICMP4_TIME_EXCEEDED : ICMP6_TYPE_TIME, 0, 0);
		return;
	case DP_CTL_UNREACH:
		/* net unreachable (v4 code 0) / no route (v6 code 0) */
		send_error(lc, m, v4 ? ICMP4_DEST_UNREACH : ICMP6_TYPE_UNREACH, 0, 0);
		return;
	case DP_CTL_TOO_BIG: {
		uint32_t mtu = meta->out_port < dp_eng->n_ports
				       ? dp_eng->ports[meta->out_port].mtu
				       : dp_eng->wg[dp_eng->peers[meta->peer].wg_if].mtu;
		/* IPv4 without DF may be fragmented by a router: we do not fragment,
		 * so it is dropped like a DF packet, and told so */
		lc->stats.drops[DP_DROP_IP_TOO_BIG]++;
		if (v4)
			send_error(lc, m, ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED, mtu);
		else
			send_error(lc, m, ICMP6_TYPE_TOO_BIG, 0, RTE_MAX(mtu, 1280u));
		return;
	}
	case DP_CTL_LOCAL:
	default:
		/* a route to the host (exception = yes), or not an echo request
		 * to one of our addresses: the kernel's */
		if (dp_nh_index(meta->nh) == DP_LOCAL_EXCEPTION || !is_echo_request(m))
			dp_exception_send(lc, m);
		else
			echo_reply(lc, m, meta->family);
		return;
	}
}
