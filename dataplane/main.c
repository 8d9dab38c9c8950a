/*
 * main.c — gate44-dp: parse arguments, load the config, start EAL, build the
 * engine, launch the worker lcores and run the main lcore's loop until
 * SIGINT/SIGTERM. Nothing else lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_lcore.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "engine_sock.h"
#include "telemetry.h"
#include "x25519.h"

static struct dp_engine engine;

static void
on_signal(int sig)
{
	(void)sig;
	dp_engine_stop();
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: gate44-dp -c CONFIG [--check]\n"
		   "  -c, --config FILE  engine config (see conf/gate44-dp.conf.example)\n"
		   "      --check        parse the config, report errors, and exit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check = false;
	char err[512];
	unsigned lcore_id;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cr_init() != 0) {
		fprintf(stderr, "gate44-dp: libsodium failed to initialise\n");
		return 1;
	}
	if (dp_cfg_load(path, &engine.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "gate44-dp: %s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: ok\n", path);
		dp_cfg_free(&engine.cfg);
		return 0;
	}
	if (rte_eal_init(engine.cfg.eal_argc, engine.cfg.eal_argv) < 0) {
		fprintf(stderr, "gate44-dp: EAL: %s\n", rte_strerror(rte_errno));
		dp_cfg_free(&engine.cfg);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = dp_engine_init(&engine, err, sizeof(err));
	if (rc == 0)
		rc = dp_api_apply_config(&engine.cfg, err, sizeof(err));
	if (rc == 0)
		rc = dp_engine_sock_open(engine.cfg.socket_path, err, sizeof(err));
	if (rc == 0 && dp_telemetry_init() != 0)
		fprintf(stderr, "gate44-dp: telemetry commands not registered\n");
	if (rc != 0) {
		fprintf(stderr, "gate44-dp: %s\n", err);
		dp_engine_fini(&engine);
		dp_cfg_free(&engine.cfg);
		rte_eal_cleanup();
		return 1;
	}
	printf("gate44-dp: %u worker(s), %u port(s), %u WireGuard interface(s), socket %s\n",
	       engine.n_workers, engine.n_ports, engine.n_wg, engine.cfg.socket_path);
	fflush(stdout);
	for (unsigned i = 0; i < engine.n_workers; i++)
		rte_eal_remote_launch(dp_worker_loop, &engine.lcores[i], engine.lcores[i].lcore_id);
	dp_main_loop(&engine);
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		rte_eal_wait_lcore(lcore_id);
	dp_engine_sock_close();
	dp_engine_fini(&engine);
	dp_cfg_free(&engine.cfg);
	rte_eal_cleanup();
	printf("gate44-dp: stopped\n");
	return 0;
}
