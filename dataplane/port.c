/*
 * port.c — ethdev bring-up for gate44-dp: vdevs are hot-plugged from their
 * devargs (net_af_packet gets as many queue pairs as the engine needs),
 * PCI devices are found by address. Queues: nb_rxq from the config (spread
 * over the workers), one tx queue per worker plus one for the main lcore.
 * Runs on the main lcore at start and stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "config.h"
#include "port.h"
#include "util.h"

enum { PORT_RX_DESC = 1024, PORT_TX_DESC = 1024 };


/* The ethdev name of a vdev devargs string: everything before the first ','. */
static void
devargs_name(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, devargs, n);
	name[n] = '\0';
}

static int
find_or_probe(const char *devargs, uint16_t queues, uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	char buf[1024];
	int rc;

	devargs_name(devargs, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0; /* probed by EAL (PCI, or --vdev in the EAL args) */
	if (strncmp(devargs, "net_", 4) != 0)
		return dp_errf(err, errlen, -ENODEV,
			    "device '%s' not found (is it bound to vfio-pci and allowed by "
			    "the EAL args?)",
			    devargs);
	/* af_packet: the engine needs one socket (queue pair) per queue it
	 * polls or sends on, and every socket of the fanout group must be
	 * polled, so it gets exactly max(rx, tx) queue pairs. */
	if (strncmp(name, "net_af_packet", 13) == 0 && strstr(devargs, "qpairs=") == NULL)
		snprintf(buf, sizeof(buf), "%s,qpairs=%u", devargs, queues);
	else
		snprintf(buf, sizeof(buf), "%s", devargs);
	rc = rte_dev_probe(buf);
	if (rc < 0)
		return dp_errf(err, errlen, rc, "cannot probe '%s': %s", buf, rte_strerror(-rc));
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0)
		return dp_errf(err, errlen, -ENODEV, "probed '%s' but no ethdev '%s'", buf, name);
	return 0;
}

static int
setup(struct dp_port *p, struct rte_mempool *mp, unsigned nb_workers, char *err, size_t errlen)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxc;
	struct rte_eth_txconf txc;
	uint16_t nrx = PORT_RX_DESC, ntx = PORT_TX_DESC;
	int rc;

	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		return dp_errf(err, errlen, rc, "%s: dev_info: %s", p->name, rte_strerror(-rc));
	p->nb_txq = (uint16_t)(nb_workers + 1);
	if (p->nb_rxq > info.max_rx_queues || p->nb_txq > info.max_tx_queues) {
		snprintf(err, errlen, "%s: needs %u rx / %u tx queues, device has %u / %u",
			 p->name, p->nb_rxq, p->nb_txq, info.max_rx_queues, info.max_tx_queues);
		return -ENOTSUP;
	}
	if (p->nb_rxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		if (conf.rx_adv_conf.rss_conf.rss_hf == 0)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
	if (rc != 0)
		return dp_errf(err, errlen, rc, "%s: configure: %s", p->name, rte_strerror(-rc));
	rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nrx, &ntx);
	rxc = info.default_rxconf;
	txc = info.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < p->nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, nrx, rte_eth_dev_socket_id(p->port_id),
					    &rxc, mp);
		if (rc != 0)
			return dp_errf(err, errlen, rc, "%s: rx queue: %s", p->name, rte_strerror(-rc));
	}
	for (uint16_t q = 0; q < p->nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(p->port_id, q, ntx, rte_eth_dev_socket_id(p->port_id),
					    &txc);
		if (rc != 0)
			return dp_errf(err, errlen, rc, "%s: tx queue: %s", p->name, rte_strerror(-rc));
	}
	/* Not every vdev can change its MTU (net_af_packet follows the
	 * kernel interface's); the engine enforces p->mtu itself. */
	(void)rte_eth_dev_set_mtu(p->port_id, p->mtu);
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0)
		return dp_errf(err, errlen, rc, "%s: start: %s", p->name, rte_strerror(-rc));
	rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc != 0)
		return dp_errf(err, errlen, rc, "%s: mac: %s", p->name, rte_strerror(-rc));
	/* IPv6 link-local from the MAC (modified EUI-64, RFC 4291 App. A). */
	memset(p->ll6, 0, sizeof(p->ll6));
	p->ll6[0] = 0xfe;
	p->ll6[1] = 0x80;
	p->ll6[8] = p->mac.addr_bytes[0] ^ 0x02;
	p->ll6[9] = p->mac.addr_bytes[1];
	p->ll6[10] = p->mac.addr_bytes[2];
	p->ll6[11] = 0xff;
	p->ll6[12] = 0xfe;
	p->ll6[13] = p->mac.addr_bytes[3];
	p->ll6[14] = p->mac.addr_bytes[4];
	p->ll6[15] = p->mac.addr_bytes[5];
	return 0;
}

int
dp_port_open(struct dp_port *p, uint16_t index, const struct dp_cfg_port *cfg,
	     struct rte_mempool *mp, unsigned nb_workers, char *err, size_t errlen)
{
	uint16_t queues;
	int rc;

	memset(p, 0, sizeof(*p));
	p->index = index;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name);
	p->mtu = cfg->mtu;
	p->nb_rxq = cfg->queues;
	queues = RTE_MAX(p->nb_rxq, (uint16_t)(nb_workers + 1));
	if (strncmp(cfg->device, "net_af_packet", 13) == 0)
		p->nb_rxq = queues; /* every fanout socket must be polled */
	rc = find_or_probe(cfg->device, queues, &p->port_id, err, errlen);
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < cfg->n_addrs && i < DP_MAX_ADDRS; i++) {
		p->addrs[i].family = cfg->addrs[i].family;
		memcpy(p->addrs[i].addr, cfg->addrs[i].addr, 16);
		p->addrs[i].plen = cfg->addrs[i].plen;
		p->n_addrs++;
	}
	if (cfg->has_mac) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, cfg->mac, RTE_ETHER_ADDR_LEN);
		rc = rte_eth_dev_default_mac_addr_set(p->port_id, &mac);
		if (rc != 0)
			return dp_errf(err, errlen, rc, "%s: cannot set mac: %s", p->name,
				    rte_strerror(-rc));
	}
	return setup(p, mp, nb_workers, err, errlen);
}

int
dp_port_open_tap(struct dp_port *p, uint16_t index, const char *ifname, struct rte_mempool *mp,
		 unsigned nb_workers, char *err, size_t errlen)
{
	char devargs[128];
	int rc;

	memset(p, 0, sizeof(*p));
	p->index = index;
	p->is_exception = true;
	snprintf(p->name, sizeof(p->name), "%s", ifname);
	p->mtu = 1500;
	/* net_tap wants as many rx as tx queues; the kernel spreads flows over
	 * them, so the main lcore polls them all */
	p->nb_rxq = (uint16_t)(nb_workers + 1);
	snprintf(devargs, sizeof(devargs), "net_tap_%s,iface=%s", ifname, ifname);
	rc = find_or_probe(devargs, 1, &p->port_id, err, errlen);
	if (rc != 0)
		return rc;
	return setup(p, mp, nb_workers, err, errlen);
}

void
dp_port_close(struct dp_port *p)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(p->port_id, &info) != 0)
		return;
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
}

bool
dp_port_has_addr(const struct dp_port *p, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < p->n_addrs; i++)
		if (p->addrs[i].family == family && memcmp(p->addrs[i].addr, addr, len) == 0)
			return true;
	return family == AF_INET6 && memcmp(p->ll6, addr, 16) == 0;
}
