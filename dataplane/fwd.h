/*
 * fwd.h — the packet path shared by every lcore: classify frames received
 * on a port, route IP packets by longest-prefix match, and send them to a
 * WireGuard peer (through its owner worker), a next hop on a port, or the
 * main lcore. Workers run it on their rx queues and handoff ring; the main
 * lcore runs it on what the exception TAP sends.
 */
#ifndef GATE44_FWD_H
#define GATE44_FWD_H

#include <rte_mbuf.h>

#include "engine.h"

/* Frames received on port (Ethernet header at the data start). */
void dp_rx_process(struct dp_lcore *lc, uint16_t port, struct rte_mbuf **pkts, unsigned n);
/* IP packets (data starts at the IP header) to route: from decryption
 * (from_tunnel = true: meta->peer is the sending peer, meta->wg_if set) or
 * from a port / the TAP (false). */
void dp_route(struct dp_lcore *lc, struct rte_mbuf **pkts, unsigned n, bool from_tunnel);
/* Send an IP packet (data at the IP header) to next hop nh; dst is the
 * packet's destination (for on-link resolution). Consumes m. */
void dp_output(struct dp_lcore *lc, struct rte_mbuf *m, uint32_t nh, int family,
	       const uint8_t *dst);
/* Hand m to worker w's ring with an action (counted drop when full). */
void dp_handoff(struct dp_lcore *lc, unsigned w, struct rte_mbuf *m, enum dp_action act);

/* Parse helpers shared with the main lcore, over classify.c: the L3 family
 * of an IP packet at the data start (AF_INET/AF_INET6) after checking its
 * header (dp_cls_ip) and trimming link padding; 0 when malformed, -1 on a
 * wrong IPv4 header checksum. */
int dp_ip_check(struct rte_mbuf *m);
/* Is this IPv6 packet (data at the IP header) ND: ICMPv6 133..137 with no
 * extension headers? */
bool dp_is_nd(struct rte_mbuf *m);

#endif /* GATE44_FWD_H */
