/*
 * port.h — bringing up ethdev ports (PCI NICs or vdevs such as
 * net_af_packet, net_tap, net_memif) with one rx queue per polling worker
 * and one tx queue per lcore (workers first, the main lcore last). Main
 * lcore, at start and stop only.
 */
#ifndef GATE44_PORT_H
#define GATE44_PORT_H

#include <stddef.h>

#include <rte_mempool.h>

#include "dp.h"

struct dp_cfg_port;

/* Probe (vdev) or find (PCI) the device, configure, start. nb_workers
 * decides the queue counts. Return 0 or -errno with err filled. */
int dp_port_open(struct dp_port *p, uint16_t index, const struct dp_cfg_port *cfg,
		 struct rte_mempool *mp, unsigned nb_workers, char *err, size_t errlen);
/* Open the exception-path TAP (net_tap, iface=name). */
int dp_port_open_tap(struct dp_port *p, uint16_t index, const char *ifname,
		     struct rte_mempool *mp, unsigned nb_workers, char *err, size_t errlen);
void dp_port_close(struct dp_port *p);
/* Is addr (family, 4 or 16 bytes) one of the port's own addresses? */
bool dp_port_has_addr(const struct dp_port *p, int family, const uint8_t *addr);

#endif /* GATE44_PORT_H */
