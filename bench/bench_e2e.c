/*
 * bench_e2e.c — gate44-bench-e2e: the same generator as gate44-bench-engine
 * (gen.c, bench_phases.c: the same handshakes, the same frames sealed
 * before each timed phase) sending over two net_af_packet ports on veth to
 * a system under test in another network namespace: gate44-dp, or
 * wireguard-go with the kernel forwarding around it. bench/e2e.sh builds
 * the namespaces and runs one after the other.
 *
 *   gate44-bench-e2e --print-peers N   public keys and addresses of the
 *                                      generator's peers, for the SUT's config
 *   gate44-bench-e2e --wan IF --inet IF --pop-pub KEY --pop-wan-mac MAC
 *                    --pop-inet-mac MAC --label NAME [--peers N] [--sizes LIST]
 *                    [--quick] [--json FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <sodium.h>

#include "bench_engine.h"
#include "x25519.h"

struct bench b;

enum { SEED = 0x6a7e44 };

static void
usage(FILE *f)
{
	fprintf(f, "usage: gate44-bench-e2e --print-peers N\n"
		   "       gate44-bench-e2e --wan IF --inet IF --pop-pub KEY --pop-wan-mac MAC\n"
		   "                        --pop-inet-mac MAC --label NAME [--peers N]\n"
		   "                        [--sizes LIST] [--quick] [--json FILE]\n");
}

static int
print_peers(unsigned n)
{
	struct gen g;
	struct gen_net net = {0};
	char b64[64];

	if (gen_init(&g, &net, n, SEED, RTE_IPV4(44, 128, 0, 1), RTE_IPV4(100, 64, 0, 1)) != 0)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t a = g.peers[i].inner;

		sodium_bin2base64(b64, sizeof(b64), g.peers[i].s.pub, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		printf("%s %u.%u.%u.%u/32\n", b64, a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		       a & 255);
	}
	gen_fini(&g);
	return 0;
}

static int
open_port(const char *vname, const char *ifname, struct rte_mempool *mp, struct bench_port *bp)
{
	char args[256];
	struct rte_eth_conf conf = {0};
	int rc;

	/* qdisc_bypass: the generator's own sends skip the kernel's queueing */
	snprintf(args, sizeof(args), "iface=%s,qpairs=1,qdisc_bypass=1,framecnt=4096,blocksz=4096,"
				     "framesz=2048", ifname);
	rc = rte_vdev_init(vname, args);
	if (rc != 0)
		return rc;
	if (rte_eth_dev_get_port_by_name(vname, &bp->port_id) != 0)
		return -ENODEV;
	bp->ethdev = true;
	rc = rte_eth_dev_configure(bp->port_id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(bp->port_id, 0, 1024, (unsigned)rte_socket_id(), NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(bp->port_id, 0, 1024, (unsigned)rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(bp->port_id);
	if (rc == 0)
		rc = rte_eth_promiscuous_enable(bp->port_id);
	return rc;
}

static int
mac_parse(const char *s, struct rte_ether_addr *mac)
{
	return rte_ether_unformat_addr(s, mac);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"print-peers", required_argument, NULL, 'P'},
		{"wan", required_argument, NULL, 'w'},
		{"inet", required_argument, NULL, 'i'},
		{"pop-pub", required_argument, NULL, 'k'},
		{"pop-wan-mac", required_argument, NULL, 'W'},
		{"pop-inet-mac", required_argument, NULL, 'I'},
		{"label", required_argument, NULL, 'l'},
		{"peers", required_argument, NULL, 'p'},
		{"sizes", required_argument, NULL, 's'},
		{"quick", no_argument, NULL, 'q'},
		{"smoke", no_argument, NULL, 'S'},
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *wan = NULL, *inet = NULL, *pub = NULL, *wmac = NULL, *imac = NULL;
	const char *peers = "100", *sizes = "64,512,1420";
	char prefix[64], *eal[16];
	struct rte_mempool *mp;
	struct gen_net net = {
		.pop_wan = RTE_IPV4(10, 0, 0, 1),
		.pop_port = 51820,
		.inet_src = RTE_IPV4(198, 18, 1, 0),
		.inet_dst = RTE_IPV4(198, 18, 2, 0),
	};
	int c, rc, ne = 0;
	size_t len;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (cr_init() != 0)
				return 1;
			return print_peers((unsigned)strtoul(optarg, NULL, 10));
		case 'w': wan = optarg; break;
		case 'i': inet = optarg; break;
		case 'k': pub = optarg; break;
		case 'W': wmac = optarg; break;
		case 'I': imac = optarg; break;
		case 'l': b.label = optarg; break;
		case 'p': peers = optarg; break;
		case 's': sizes = optarg; break;
		case 'q': b.quick = true; break;
		case 'S': b.quick = b.smoke = true; break;
		case 'j': b.json_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (wan == NULL || inet == NULL || pub == NULL || wmac == NULL || imac == NULL ||
	    b.label == NULL || optind != argc || cr_init() != 0 ||
	    sodium_base642bin(net.pop_pub, 32, pub, strlen(pub), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32 ||
	    mac_parse(wmac, &net.pop_wan_mac) != 0 || mac_parse(imac, &net.pop_inet_mac) != 0) {
		usage(stderr);
		return 2;
	}
	if (bench_parse_list(peers, b.peers, 1, &b.n_stages, false) != 0 || b.peers[0] > 100000 ||
	    bench_parse_list(sizes, b.sizes, BENCH_MAX_SIZES, &b.n_sizes, true) != 0) {
		usage(stderr);
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=g44e2e%d", (int)getpid());
	eal[ne++] = argv[0];
	eal[ne++] = "--no-huge";
	eal[ne++] = "-m";
	eal[ne++] = b.quick ? "2048" : "4096";
	eal[ne++] = "--no-shconf";
	eal[ne++] = "--no-pci";
	eal[ne++] = "--no-telemetry";
	eal[ne++] = "-l";
	eal[ne++] = "0";
	eal[ne++] = prefix;
	eal[ne++] = "--log-level=lib.eal:error";
	eal[ne] = NULL;
	if (rte_eal_init(ne, eal) < 0) {
		fprintf(stderr, "gate44-bench-e2e: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	b.e2e = true;
	b.tsc_hz = rte_get_tsc_hz();
	memcpy(b.pop_pub, net.pop_pub, 32);
	mp = rte_pktmbuf_pool_create("e2e_rx", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	rc = mp == NULL ? -ENOMEM : bench_setup_gen(b.peers[0]);
	if (rc == 0)
		rc = open_port("net_af_packet_wan", wan, mp, &b.wan);
	if (rc == 0)
		rc = open_port("net_af_packet_inet", inet, mp, &b.inet);
	if (rc == 0)
		rc = rte_eth_macaddr_get(b.wan.port_id, &b.g.net.gen_mac);
	if (rc != 0) {
		fprintf(stderr, "gate44-bench-e2e: setup: %s\n", strerror(rc < 0 ? -rc : rc));
		rte_eal_cleanup();
		return 1;
	}
	b.g.net.pop_wan = net.pop_wan;
	b.g.net.pop_port = net.pop_port;
	b.g.net.pop_wan_mac = net.pop_wan_mac;
	b.g.net.pop_inet_mac = net.pop_inet_mac;
	bench_run();
	rc = bench_report();
	rte_eth_dev_stop(b.wan.port_id);
	rte_eth_dev_stop(b.inet.port_id);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
