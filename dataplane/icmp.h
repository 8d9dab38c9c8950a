/*
 * icmp.h — the main lcore's control path: ARP/ND frames to the neighbour
 * module, echo replies for the POP's own addresses, and the ICMP/ICMPv6
 * errors a router must send (time exceeded, destination unreachable,
 * fragmentation needed / packet too big), rate limited.
 */
#ifndef GATE44_ICMP_H
#define GATE44_ICMP_H

#include <rte_mbuf.h>

#include "engine.h"

/* A DP_ACT_CONTROL packet; consumes m. */
void dp_icmp_control(struct dp_lcore *lc, struct rte_mbuf *m);

#endif /* GATE44_ICMP_H */
