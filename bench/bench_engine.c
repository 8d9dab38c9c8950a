/*
 * bench_engine.c — gate44-bench-engine: the engine's pipeline driven from
 * memory. The real engine (libgate44dp: the same code as gate44-dp, built
 * from a generated config) runs its one worker pinned to core 1; its ports
 * are net_ring devices whose rings the generator, on core 0, fills with
 * frames built and sealed before each timed phase and empties of what the
 * engine sends. No kernel I/O, no copies: the measured path is rx burst ->
 * classify -> decrypt/encrypt -> FIB -> tx burst of the engine itself.
 *
 * Phases per peer count (1, 1 000, 10 000, 100 000 established peers):
 * real handshakes through the engine (timed: handshakes/s of the main
 * lcore), then for each inner packet size, decrypt (users -> internet) and
 * encrypt (internet -> users) at full load (Mpps, Gbit/s, cycles/packet)
 * and at half load (latency p50/p99/p99.9). Then the memory each
 * established peer costs and a handshake flood from spoofed sources beside
 * established traffic. Output: progress on stderr, JSON (--json FILE).
 * A benchmark, not a test: nothing here gates CI.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <sodium.h>

#include "api.h"
#include "bench_engine.h"
#include "config.h"
#include "engine.h"
#include "x25519.h"

static struct dp_engine engine;
struct bench b;


static void
usage(FILE *f)
{
	fprintf(f,
		"usage: gate44-bench-engine [--quick] [--json FILE] [--peers LIST] [--sizes LIST]\n"
		"                           [--no-flood] [--cold] [--hugepages] [--reps N]\n"
		"  --quick        fewer packets and at most 10 000 peers (about a minute)\n"
		"  --smoke        a few thousand packets per run: checks the harness works\n"
		"  --peers LIST   established peers per stage, e.g. 1,1000,10000,100000\n"
		"  --sizes LIST   inner IPv4 packet sizes, e.g. 64,512,1420,imix\n"
		"  --json FILE    write every figure there\n"
		"  --reps N       full-load runs per figure, the median reported (default 3,\n"
		"                 --quick 1)\n"
		"  --hugepages    EAL memory from hugepages (--in-memory; reserve them first)\n"
		"  --cold         hand the engine frames from DRAM (default: warmed into the\n"
		"                 cache as a NIC's DMA (DDIO) leaves them)\n"
		"Needs 2 cores (the engine's worker on core 1, the generator on core 0).\n");
}

/* The engine's config, as an operator would write it for this POP. */
static int
write_config(const char *path, const char *sock, unsigned max_peers, unsigned mem_mb)
{
	FILE *f = fopen(path, "w");
	uint8_t priv[32], pub[32];
	char b64[64], mem[64];

	if (f == NULL)
		return -errno;
	/* hugepages as on a POP (memory grows as needed, no files), or plain
	 * memory of a fixed size */
	if (b.hugepages)
		snprintf(mem, sizeof(mem), "--in-memory");
	else
		snprintf(mem, sizeof(mem), "--no-huge -m %u --no-shconf", mem_mb);
	cr_x25519_keypair(priv, pub);
	sodium_bin2base64(b64, sizeof(b64), priv, 32, sodium_base64_VARIANT_ORIGINAL);
	memcpy(b.pop_pub, pub, 32);
	fprintf(f,
		"[eal]\n"
		"args = %s --no-pci --no-telemetry --lcores 0@0,1@1,2@0\n"
		"args = --file-prefix g44bench%d --log-level lib.eal:error\n"
		"[engine]\nsocket = %s\nworkers = 1\nmbufs = 16383\nburst = 32\n"
		"max-peers = %u\nroutes4 = %u\nroutes6 = 1024\n"
		"[port wan]\ndevice = net_ring_wan\naddress = 10.0.0.1/24\nmtu = 1500\n"
		"[port inet]\ndevice = net_ring_inet\naddress = 10.1.0.1/24\nmtu = 1500\n"
		"[wireguard wg0]\nprivate-key = %s\nlisten-port = 51820\n"
		"address = 44.128.0.1/10\nmtu = 1420\n"
		"[route]\nprefix = 100.64.0.0/10\nvia = 10.0.0.2\nport = wan\n"
		"[route]\nprefix = 198.18.0.0/15\nvia = 10.1.0.2\nport = inet\n",
		mem, (int)getpid(), sock, max_peers, max_peers + 1024, b64);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(b64, sizeof(b64));
	return fclose(f) == 0 ? 0 : -errno;
}

/* An ethdev over rings, named "net_ring_" + name by DPDK. */
static int
make_port(const char *name, struct bench_port *bp, unsigned id)
{
	char rn[RTE_RING_NAMESIZE];
	struct rte_ring *tx[2];

	snprintf(rn, sizeof(rn), "bench_rx%u", id);
	bp->rx = rte_ring_create(rn, BENCH_RX_RING, (int)rte_socket_id(), 0);
	for (unsigned q = 0; q < 2; q++) {
		snprintf(rn, sizeof(rn), "bench_tx%u_%u", id, q);
		tx[q] = bp->tx[q] = rte_ring_create(rn, BENCH_TX_RING, (int)rte_socket_id(),
						    RING_F_SC_DEQ);
	}
	if (bp->rx == NULL || tx[0] == NULL || tx[1] == NULL)
		return -ENOMEM;
	return rte_eth_from_rings(name, &bp->rx, 1, tx, 2, (int)rte_socket_id()) < 0 ? -EIO : 0;
}

/* Configure max_peers peers (inner 44.128.0.2.., endpoints 100.64.0.2..) on
 * the main lcore before the loops start, as a config file would. */
static int
add_peers(unsigned n, char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		struct dp_peer_conf c = {.wg_if = 0};
		struct dp_cfg_prefix pfx = {.family = AF_INET, .plen = 32};
		uint32_t a = rte_cpu_to_be_32(b.g.peers[i].inner);
		int rc;

		memcpy(c.public_key, b.g.peers[i].s.pub, 32);
		memcpy(pfx.addr, &a, 4);
		rc = dp_api_peer_set(&c, &pfx, 1, true, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
gen_lcore(void *arg)
{
	(void)arg;
	bench_run();
	dp_engine_stop();
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quick", no_argument, NULL, 'q'},   {"json", required_argument, NULL, 'j'},
		{"smoke", no_argument, NULL, 'S'},
		{"peers", required_argument, NULL, 'p'}, {"sizes", required_argument, NULL, 's'},
		{"no-flood", no_argument, NULL, 'F'}, {"help", no_argument, NULL, 'h'},
		{"cold", no_argument, NULL, 'C'},
		{"hugepages", no_argument, NULL, 'H'},
		{"reps", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	char dir[] = "/tmp/g44bench.XXXXXX", conf[128], sock[128], err[512];
	const char *peers = NULL, *sizes = "64,512,1420,imix";
	unsigned max_peers = 0, mem_mb;
	int c, rc;

	b.flood = true;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			b.quick = true;
			break;
		case 'S': /* the harness itself under test: every part, few packets */
			b.quick = b.smoke = true;
			break;
		case 'j':
			b.json_path = optarg;
			break;
		case 'p':
			peers = optarg;
			break;
		case 's':
			sizes = optarg;
			break;
		case 'F':
			b.flood = false;
			break;
		case 'C':
			b.cold = true;
			break;
		case 'H':
			b.hugepages = true;
			break;
		case 'R':
			b.reps = (unsigned)strtoul(optarg, NULL, 10);
			if (b.reps < 1 || b.reps > BENCH_MAX_REPS) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (peers == NULL)
		peers = b.quick ? "1,1000,10000" : "1,1000,10000,100000";
	if (b.reps == 0)
		b.reps = b.quick ? 1 : 3;
	if (optind != argc || bench_parse_list(peers, b.peers, BENCH_MAX_STAGES, &b.n_stages, false) ||
	    bench_parse_list(sizes, b.sizes, BENCH_MAX_SIZES, &b.n_sizes, true)) {
		usage(stderr);
		return 2;
	}
	for (unsigned i = 0; i < b.n_stages; i++) {
		if (i > 0 && b.peers[i] <= b.peers[i - 1]) {
			fprintf(stderr, "gate44-bench-engine: --peers must increase\n");
			return 2;
		}
		max_peers = b.peers[i];
	}
	if (b.flood && max_peers < BENCH_FLOOD_PEERS)
		max_peers = BENCH_FLOOD_PEERS;
	if (cr_init() != 0 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf, sizeof(conf), "%s/gate44-dp.conf", dir);
	snprintf(sock, sizeof(sock), "%s/engine.sock", dir);
	/* the FIBs (the POP's and wg0's allowed IPs, two copies each of 64 MiB
	 * + 1 KiB per IPv4 route, and the same of IPv6 with 1024 routes), the
	 * generator's packet pool, the engine's own (mbufs, rings, tables) */
	mem_mb = 4 * (64 + (max_peers + 1024) / 1024) + 4 * 70 +
		 (unsigned)(bench_pool_bytes(max_peers) >> 20) + 1536;
	rc = write_config(conf, sock, max_peers, mem_mb);
	if (rc == 0 && dp_cfg_load(conf, &engine.cfg, err, sizeof(err)) != 0)
		rc = -EINVAL;
	unlink(conf);
	if (rc != 0) {
		fprintf(stderr, "gate44-bench-engine: config: %s\n", rc == -EINVAL ? err : strerror(-rc));
		rmdir(dir);
		return 1;
	}
	if (rte_eal_init(engine.cfg.eal_argc, engine.cfg.eal_argv) < 0) {
		fprintf(stderr, "gate44-bench-engine: EAL: %s\n", rte_strerror(rte_errno));
		rmdir(dir);
		return 1;
	}
	b.eng = &engine;
	b.tsc_hz = rte_get_tsc_hz();
	b.mem_mb = mem_mb;
	rc = bench_setup_gen(max_peers);
	if (rc == 0)
		rc = make_port("wan", &b.wan, 0) ?: make_port("inet", &b.inet, 1);
	if (rc != 0) {
		fprintf(stderr, "gate44-bench-engine: generator setup: %s\n", strerror(-rc));
		return 1;
	}
	bench_mem_sample(&b.mem_empty);
	rc = dp_engine_init(&engine, err, sizeof(err));
	if (rc == 0)
		rc = dp_api_apply_config(&engine.cfg, err, sizeof(err));
	if (rc == 0) {
		bench_mem_sample(&b.mem_engine);
		bench_progress("configuring %u peers", max_peers);
		rc = add_peers(max_peers, err, sizeof(err));
		bench_mem_sample(&b.mem_peers);
	}
	if (rc != 0) {
		fprintf(stderr, "gate44-bench-engine: %s\n", err);
		dp_engine_fini(&engine);
		rte_eal_cleanup();
		rmdir(dir);
		return 1;
	}
	b.g.net.pop_wan_mac = engine.ports[0].mac;
	for (unsigned i = 0; i < engine.n_ports; i++)
	b.g.net.pop_inet_mac = engine.ports[1].mac;
	rte_eal_remote_launch(dp_worker_loop, &engine.lcores[0], engine.lcores[0].lcore_id);
	rte_eal_remote_launch(gen_lcore, NULL, BENCH_GEN_LCORE);
	dp_main_loop(&engine);
	rte_eal_mp_wait_lcore();
	rc = bench_report();
	dp_engine_fini(&engine);
	dp_cfg_free(&engine.cfg);
	rte_eal_cleanup();
	unlink(sock);
	rmdir(dir);
	return rc == 0 ? 0 : 1;
}
