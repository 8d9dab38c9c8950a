/*
 * telemetry.c — rte_telemetry commands for the engine's counters. The
 * callbacks run on DPDK's telemetry thread and only read: per-lcore
 * counters are single-writer 64-bit words, read without locks (a sum may be
 * a few packets stale, never torn on x86-64).
 */
#include <errno.h>
#include <string.h>

#include <rte_telemetry.h>

#include "engine.h"
#include "telemetry.h"

static void
sum_stats(struct dp_lcore_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i <= dp_eng->n_workers; i++) {
		const struct dp_lcore_stats *s = &dp_eng->lcores[i].stats;

		sum->rx_pkts += s->rx_pkts;
		sum->rx_bytes += s->rx_bytes;
		sum->tx_pkts += s->tx_pkts;
		sum->tx_bytes += s->tx_bytes;
		sum->forwarded += s->forwarded;
		sum->decrypted += s->decrypted;
		sum->encrypted += s->encrypted;
		sum->handoff_in += s->handoff_in;
		sum->handshakes_rx += s->handshakes_rx;
		sum->handshakes_tx += s->handshakes_tx;
		sum->cookies_tx += s->cookies_tx;
		sum->icmp_tx += s->icmp_tx;
		for (unsigned d = 0; d < DP_DROP_MAX; d++)
			sum->drops[d] += s->drops[d];
	}
}

static int
cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_lcore_stats s;
	uint64_t drops = 0;

	(void)cmd;
	(void)params;
	sum_stats(&s);
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		drops += s.drops[i];
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", s.rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", s.tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.tx_bytes);
	rte_tel_data_add_dict_u64(d, "forwarded", s.forwarded);
	rte_tel_data_add_dict_u64(d, "decrypted", s.decrypted);
	rte_tel_data_add_dict_u64(d, "encrypted", s.encrypted);
	rte_tel_data_add_dict_u64(d, "handoff", s.handoff_in);
	rte_tel_data_add_dict_u64(d, "handshakes_rx", s.handshakes_rx);
	rte_tel_data_add_dict_u64(d, "handshakes_tx", s.handshakes_tx);
	rte_tel_data_add_dict_u64(d, "cookies_tx", s.cookies_tx);
	rte_tel_data_add_dict_u64(d, "icmp_tx", s.icmp_tx);
	rte_tel_data_add_dict_u64(d, "drops", drops);
	rte_tel_data_add_dict_u64(d, "peers", dp_eng->n_peers);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", rte_mempool_in_use_count(dp_eng->mp));
	return 0;
}

static int
cmd_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_lcore_stats s;

	(void)cmd;
	(void)params;
	sum_stats(&s);
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < DP_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(d, dp_drop_names[i], s.drops[i]);
	return 0;
}

int
dp_telemetry_init(void)
{
	int rc = rte_telemetry_register_cmd("/gate44/stats", cmd_stats,
					    "gate44-dp totals over all lcores");

	if (rc == 0)
		rc = rte_telemetry_register_cmd("/gate44/drops", cmd_drops,
						"gate44-dp drops by reason");
	return rc;
}
