/*
 * exception.h — the exception path: a TAP interface to the host kernel for
 * traffic addressed to the POP that the engine does not handle itself (SSH,
 * BGP for BIRD, anything but WireGuard and ICMP echo), both ways. The kernel
 * side holds the POP's addresses as /32 and /128 and routes out through the
 * TAP; the engine answers every ARP and ND on the TAP with its own MAC (it is
 * the kernel's only neighbour) and routes what the kernel sends like any
 * packet. Main lcore only.
 */
#ifndef GATE44_EXCEPTION_H
#define GATE44_EXCEPTION_H

#include <rte_mbuf.h>

#include "engine.h"

/* Learn the kernel side's MAC. 0 or -errno. */
int dp_exception_init(struct dp_engine *e, char *err, size_t errlen);
/* Send m (data at the IP header) up to the kernel; consumes m. */
void dp_exception_send(struct dp_lcore *lc, struct rte_mbuf *m);
/* Poll the TAP and handle what the kernel sent. */
void dp_exception_poll(struct dp_lcore *lc);

#endif /* GATE44_EXCEPTION_H */
