/*
 * main.c — gate44-control: load the config, open the store, make sure the
 * configured interfaces and pools are in it, then run the one poll loop
 * that serves the HTTP API, the UAPI sockets and the engine connection, and
 * does the periodic work (engine reconnect + full sync, counters, expiry).
 * `--create-admin-token NAME` prints a new admin token and exits: that is
 * how the first token is made, on the host.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sys/stat.h>

#include <sodium.h>

#include "api.h"
#include "ctl.h"
#include "http.h"
#include "uapi.h"
#include "uapi_glue.h"

static struct ctl ctl;

static void
on_signal(int sig)
{
	(void)sig;
	ctl.quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: gate44-control -c CONFIG [--create-admin-token NAME]\n");
}

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The configured interfaces and pools, in the store. */
static int
seed_store(struct ctl *c, char *err, size_t errlen)
{
	int rc = ctl_store_begin(c->store);

	for (unsigned i = 0; rc == 0 && i < c->cfg.n_ifs; i++) {
		struct ctl_interface ifc = {0};

		snprintf(ifc.name, sizeof(ifc.name), "%s", c->cfg.ifs[i].name);
		sodium_bin2base64(ifc.public_key, sizeof(ifc.public_key), c->cfg.ifs[i].public_key,
				  32, sodium_base64_VARIANT_ORIGINAL);
		rc = ctl_store_interface_upsert(c->store, &ifc);
	}
	for (unsigned i = 0; rc == 0 && i < c->cfg.n_pools; i++) {
		const struct ctl_cfg_pool *cp = &c->cfg.pools[i];
		struct ctl_pool pool = {0};
		struct ctl_ipam_prefix res[CTL_CFG_MAX_RESERVED];

		if (ctl_store_pool_get_by_name(c->store, cp->name, &pool) == 0) {
			if (pool.prefix.family != cp->prefix.family ||
			    pool.prefix.plen != cp->prefix.plen ||
			    memcmp(pool.prefix.addr, cp->prefix.addr, 16) != 0) {
				snprintf(err, errlen,
					 "pool %s: its prefix in the config differs from the store "
					 "(addresses were handed out from it)",
					 cp->name);
				rc = -EINVAL;
			}
			continue;
		}
		snprintf(pool.name, sizeof(pool.name), "%s", cp->name);
		snprintf(pool.interface, sizeof(pool.interface), "%s", cp->interface);
		pool.prefix.family = cp->prefix.family;
		memcpy(pool.prefix.addr, cp->prefix.addr, 16);
		pool.prefix.plen = cp->prefix.plen;
		pool.alloc_len = cp->alloc_len;
		for (unsigned k = 0; k < cp->n_reserved; k++) {
			res[k].family = cp->reserved[k].family;
			memcpy(res[k].addr, cp->reserved[k].addr, 16);
			res[k].plen = cp->reserved[k].plen;
		}
		rc = ctl_ipam_pool_add(c->store, &pool, res, cp->n_reserved, err, errlen);
	}
	if (rc == 0)
		rc = ctl_store_commit(c->store);
	if (rc != 0) {
		ctl_store_rollback(c->store);
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot record interfaces and pools: %s",
				 strerror(-rc));
	}
	return rc;
}

static void
http_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	syslog(level, "http: %s", msg);
}

static void
periodic(struct ctl *c)
{
	int64_t now = mono_s(), wall = time(NULL);

	if (!ctl_engine_connected(c->engine) && now >= c->next_connect) {
		c->next_connect = now + 1;
		if (ctl_engine_connect(c->engine) == 0)
			syslog(LOG_INFO, "engine connected");
	}
	if (ctl_engine_connected(c->engine) &&
	    c->synced_generation != ctl_engine_generation(c->engine))
		ctl_engine_sync(c);
	if (now >= c->next_fold) {
		c->next_fold = now + c->cfg.counters_interval_s;
		ctl_counters_fold(c, wall);
	}
	if (now >= c->next_expiry) {
		c->next_expiry = now + 5;
		if (ctl_engine_connected(c->engine))
			ctl_expiry_run(c, wall);
	}
}

static int
run(struct ctl *c)
{
	struct pollfd pfds[2 + CTL_CFG_MAX_IFS * UAPI_SERVER_MAX_POLLFDS];

	while (!c->quit) {
		unsigned n = 0, first_uapi, counts[CTL_CFG_MAX_IFS];
		int timeout = ctl_http_timeout_ms(c->http);

		pfds[n++] = (struct pollfd){.fd = ctl_http_pollfd(c->http), .events = POLLIN};
		pfds[n++] = (struct pollfd){.fd = ctl_engine_fd(c->engine), .events = POLLIN};
		first_uapi = n;
		for (unsigned i = 0; i < c->cfg.n_ifs; i++) {
			int t = uapi_server_timeout(c->uapi[i]);

			counts[i] = uapi_server_pollfds(c->uapi[i], pfds + n, UAPI_SERVER_MAX_POLLFDS);
			n += counts[i];
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		if (poll(pfds, n, timeout) < 0 && errno != EINTR)
			return -errno;
		ctl_http_run(c->http);
		if (pfds[1].fd >= 0 && (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)))
			ctl_engine_check(c->engine);
		for (unsigned i = 0, at = first_uapi; i < c->cfg.n_ifs; at += counts[i], i++)
			uapi_server_handle(c->uapi[i], pfds + at, counts[i]);
		periodic(c);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"create-admin-token", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL, *token_name = NULL;
	struct ctl_http_limits limits = {0};
	struct ctl_http_hooks hooks = {0};
	char err[512] = "";
	int o, rc;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			path = optarg;
			break;
		case 't':
			token_name = optarg;
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
	if (sodium_init() < 0)
		return 1;
	openlog("gate44-control", LOG_PID | LOG_PERROR, LOG_DAEMON);
	if (ctl_cfg_load(path, &ctl.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "gate44-control: %s\n", err);
		return 2;
	}
	ctl.store = ctl_store_open(ctl.cfg.database, 0, err, sizeof(err));
	if (ctl.store == NULL) {
		fprintf(stderr, "gate44-control: %s\n", err);
		return 1;
	}
	if (err[0] != '\0') /* a notice: read-only, or a mode tightened */
		syslog(LOG_WARNING, "%s", err);
	err[0] = '\0';
	if (!ctl_store_readonly(ctl.store) && seed_store(&ctl, err, sizeof(err)) != 0) {
		fprintf(stderr, "gate44-control: %s\n", err);
		return 1;
	}
	if (token_name != NULL) {
		char secret[CTL_TOKEN_STRLEN + 1];
		struct ctl_token t;

		rc = ctl_store_token_create(ctl.store, CTL_TOKEN_ADMIN, 0, token_name, secret, &t);
		if (rc != 0) {
			fprintf(stderr, "gate44-control: cannot create the token: %s\n",
				strerror(-rc));
			return 1;
		}
		printf("%s\n", secret);
		sodium_memzero(secret, sizeof(secret));
		ctl_store_close(ctl.store);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ctl.engine = ctl_engine_new(ctl.cfg.engine_socket, 5000);
	limits.body_max = ctl.cfg.max_body;
	limits.rate_per_s = ctl.cfg.rate;
	limits.rate_burst = ctl.cfg.burst;
	hooks.authenticate = ctl_api_authenticate;
	hooks.log = http_log;
	hooks.limits = &limits;
	ctl.http = ctl_http_open(ctl.cfg.listen, ctl_api_routes, ctl_api_n_routes, &hooks, &ctl,
				 err, sizeof(err));
	if (ctl.engine == NULL || ctl.http == NULL) {
		fprintf(stderr, "gate44-control: %s\n", err[0] ? err : "out of memory");
		return 1;
	}
	for (unsigned i = 0; i < ctl.cfg.n_ifs; i++) {
		ctl.uapi[i] = uapi_server_open(ctl.cfg.uapi_dir, ctl.cfg.ifs[i].name,
					       &ctl_uapi_ops, &ctl, err, sizeof(err));
		if (ctl.uapi[i] == NULL) {
			fprintf(stderr, "gate44-control: UAPI socket for %s: %s\n",
				ctl.cfg.ifs[i].name, err);
			return 1;
		}
	}
	syslog(LOG_INFO, "listening on %s (port %d), engine %s", ctl.cfg.listen,
	       ctl_http_port(ctl.http), ctl.cfg.engine_socket);
	printf("gate44-control: ready on %s port %d\n", ctl.cfg.listen, ctl_http_port(ctl.http));
	fflush(stdout);
	rc = run(&ctl);
	for (unsigned i = 0; i < ctl.cfg.n_ifs; i++)
		uapi_server_close(ctl.uapi[i]);
	ctl_http_close(ctl.http);
	ctl_engine_free(ctl.engine);
	ctl_store_close(ctl.store);
	ctl_cfg_wipe(&ctl.cfg);
	return rc == 0 ? 0 : 1;
}
