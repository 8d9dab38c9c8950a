/*
 * exception.c — the exception path to the host kernel (see exception.h).
 * Main lcore only: it polls the TAP's single rx queue and sends on its own
 * tx queue.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "exception.h"
#include "fib.h"
#include "fwd.h"
#include "util.h"

enum { ND_NS = 135, ND_NA = 136, ND_OPT_TLLA = 2 };

static struct rte_ether_addr kernel_mac;

int
dp_exception_init(struct dp_engine *e, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd;

	if (e->exception_port < 0)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return dp_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", e->cfg.exception_tap);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
		int rc = -errno;

		close(fd);
		return dp_errf(err, errlen, rc, "exception TAP %s: no MAC: %s",
			       e->cfg.exception_tap, strerror(-rc));
	}
	close(fd);
	memcpy(kernel_mac.addr_bytes, ifr.ifr_hwaddr.sa_data, RTE_ETHER_ADDR_LEN);
	return 0;
}

void
dp_exception_send(struct dp_lcore *lc, struct rte_mbuf *m)
{
	const struct dp_port *p;
	struct rte_ether_hdr *eth;
	uint8_t v;

	if (dp_eng->exception_port < 0) {
		dp_drop(lc, m, DP_DROP_EXCEPTION_DOWN);
		return;
	}
	p = &dp_eng->ports[dp_eng->exception_port];
	v = *rte_pktmbuf_mtod(m, uint8_t *) >> 4;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	if (eth == NULL) {
		dp_drop(lc, m, DP_DROP_NO_MBUF);
		return;
	}
	eth->dst_addr = kernel_mac;
	eth->src_addr = p->mac;
	eth->ether_type = rte_cpu_to_be_16(v == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	lc->stats.exception_up++;
	dp_tx(lc, p->index, m);
}

/* Every ARP request from the kernel gets our MAC: we are its only neighbour. */
static void
arp_reply(struct dp_lcore *lc, const struct dp_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	rte_be32_t tip;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		dp_drop(lc, m, DP_DROP_RX_UNSUPPORTED);
		return;
	}
	tip = arp->arp_data.arp_tip;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = p->mac;
	arp->arp_data.arp_sip = tip;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	dp_tx(lc, p->index, m);
}

/* Every neighbour solicitation from the kernel gets an advertisement of our
 * MAC for its target (router flag set: we forward). */
static void
nd_reply(struct dp_lcore *lc, const struct dp_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *icmp = (uint8_t *)(ip6 + 1);
	uint8_t target[16];
	uint16_t ck;

	/* NS: type, code, cksum, reserved[4], target[16], options */
	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*ip6) + 24 ||
	    ip6->proto != IPPROTO_ICMPV6 || icmp[0] != ND_NS || ip6->hop_limits != 255) {
		dp_drop(lc, m, DP_DROP_RX_UNSUPPORTED);
		return;
	}
	memcpy(target, icmp + 8, 16);
	/* the advertisement: to the solicitor (or all nodes when it had no address) */
	{
		static const uint8_t unspec[16];
		static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};

		if (memcmp(ip6->src_addr, unspec, 16) == 0)
			memcpy(ip6->dst_addr, all_nodes, 16);
		else
			memcpy(ip6->dst_addr, ip6->src_addr, 16);
	}
	memcpy(ip6->src_addr, target, 16);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - sizeof(*eth) - sizeof(*ip6) - 32));
	ip6->payload_len = rte_cpu_to_be_16(32);
	icmp[0] = ND_NA;
	icmp[1] = 0;
	icmp[4] = 0xe0; /* router, solicited, override */
	icmp[5] = icmp[6] = icmp[7] = 0;
	memcpy(icmp + 8, target, 16);
	icmp[24] = ND_OPT_TLLA;
	icmp[25] = 1;
	memcpy(icmp + 26, p->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
	icmp[2] = icmp[3] = 0;
	ck = rte_ipv6_udptcp_cksum(ip6, icmp);
	memcpy(icmp + 2, &ck, 2);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = p->mac;
	dp_tx(lc, p->index, m);
}

static bool
is_ns(struct rte_mbuf *m)
{
	const struct rte_ipv6_hdr *ip6 = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);

	return rte_pktmbuf_data_len(m) > sizeof(*ip6) && ip6->proto == IPPROTO_ICMPV6 &&
	       ((const uint8_t *)(ip6 + 1))[0] == ND_NS;
}

static void
from_kernel(struct dp_lcore *lc, const struct dp_port *p, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth;
	struct dp_meta *meta = dp_meta(m);
	uint16_t et;
	uint32_t nh;
	const uint8_t *dst;
	int fam;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth)) {
		dp_drop(lc, m, DP_DROP_RX_MALFORMED);
		return;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	et = rte_be_to_cpu_16(eth->ether_type);
	if (et == RTE_ETHER_TYPE_ARP) {
		arp_reply(lc, p, m);
		return;
	}
	if (et != RTE_ETHER_TYPE_IPV4 && et != RTE_ETHER_TYPE_IPV6) {
		dp_drop(lc, m, DP_DROP_RX_UNSUPPORTED);
		return;
	}
	rte_pktmbuf_adj(m, sizeof(*eth));
	fam = dp_ip_check(m);
	if (fam <= 0) {
		dp_drop(lc, m, DP_DROP_RX_MALFORMED);
		return;
	}
	if (fam == AF_INET6 && dp_is_nd(m)) {
		if (is_ns(m)) {
			rte_pktmbuf_prepend(m, sizeof(*eth));
			nd_reply(lc, p, m);
		} else {
			rte_pktmbuf_free(m); /* RS, NA, RA from the kernel: nothing to do */
		}
		return;
	}
	memset(meta, 0, sizeof(*meta));
	meta->family = (uint8_t)fam;
	meta->in_port = p->index;
	lc->stats.exception_down++;
	/* the kernel is the POP itself: route what it sends, no TTL change */
	dst = rte_pktmbuf_mtod(m, const uint8_t *) +
	      (fam == AF_INET ? offsetof(struct rte_ipv4_hdr, dst_addr)
			      : offsetof(struct rte_ipv6_hdr, dst_addr));
	nh = dp_fib_lookup(dp_eng->fib, fam, dst);
	if (dp_nh_kind(nh) == DP_NH_LOCAL) {
		dp_drop(lc, m, DP_DROP_EXCEPTION_DOWN); /* to ourselves: the kernel's own business */
		return;
	}
	dp_output(lc, m, nh, fam, dst);
}

void
dp_exception_poll(struct dp_lcore *lc)
{
	const struct dp_port *p;
	struct rte_mbuf *pkts[32];
	uint16_t n;

	if (dp_eng->exception_port < 0)
		return;
	p = &dp_eng->ports[dp_eng->exception_port];
	for (uint16_t q = 0; q < p->nb_rxq; q++) {
		n = rte_eth_rx_burst(p->port_id, q, pkts, 32);
		for (uint16_t i = 0; i < n; i++)
			from_kernel(lc, p, pkts[i]);
	}
}
