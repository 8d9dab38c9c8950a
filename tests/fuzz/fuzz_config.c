/*
 * fuzz_config.c — libFuzzer target for the gate44-dp configuration parser
 * (dataplane/config.c: dp_cfg_parse) on any bytes. Invariants beyond "no
 * crash, no leak":
 *  - on error the struct is all zero (as after dp_cfg_free) and err says
 *    "<file>:..." ; on success what the parser promises holds: counts
 *    within bounds, names NUL-terminated, prefixes valid and (where
 *    required) networks, cross references (peer -> interface, route ->
 *    port or peer) in range, eal_argv NULL-terminated after "gate44-dp";
 *  - every prefix prints and parses back to itself (dp_prefix_format /
 *    dp_prefix_parse);
 *  - dp_cfg_free leaves the struct zero and may be called twice.
 * A private-key-file is read from the real file system (regular files only,
 * bounded: the parser refuses FIFOs and devices), relative to the current
 * directory. Single-threaded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config.h"

#include "fuzz_common.h"

static struct dp_cfg cfg; /* large: not on the stack */
static const struct dp_cfg zero_cfg;

static void
prefix_check(const struct dp_cfg_prefix *p, bool network)
{
	char text[DP_CFG_PREFIX_STRLEN];
	struct dp_cfg_prefix back;

	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->plen <= (p->family == AF_INET ? 32 : 128));
	if (p->family == AF_INET)
		FUZZ_CHECK(sodium_is_zero(p->addr + 4, 12));
	if (network)
		FUZZ_CHECK(dp_prefix_is_network(p));
	dp_prefix_format(p, text, sizeof(text));
	FUZZ_CHECK(dp_prefix_parse(text, &back) == 0);
	FUZZ_CHECK(back.family == p->family && back.plen == p->plen &&
		   memcmp(back.addr, p->addr, sizeof(p->addr)) == 0);
}

static void
name_check(const char *name, bool empty_ok)
{
	size_t n = strnlen(name, DP_CFG_NAME_MAX);

	FUZZ_CHECK(n < DP_CFG_NAME_MAX);
	FUZZ_CHECK(empty_ok || n > 0);
}

static void
cfg_check(const struct dp_cfg *c)
{
	FUZZ_CHECK(c->eal_argc >= 1 && c->eal_argv != NULL);
	FUZZ_CHECK(strcmp(c->eal_argv[0], "gate44-dp") == 0);
	FUZZ_CHECK(c->eal_argv[c->eal_argc] == NULL);
	for (int i = 0; i < c->eal_argc; i++)
		FUZZ_CHECK(c->eal_argv[i] != NULL);
	FUZZ_CHECK(strnlen(c->socket_path, DP_CFG_SOCKET_MAX) < DP_CFG_SOCKET_MAX);
	FUZZ_CHECK(c->socket_path[0] != '\0');
	FUZZ_CHECK(c->burst >= 1);
	name_check(c->exception_tap, true);

	FUZZ_CHECK(c->n_ports <= DP_CFG_MAX_PORTS);
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct dp_cfg_port *p = &c->ports[i];

		name_check(p->name, false);
		FUZZ_CHECK(p->device != NULL);
		FUZZ_CHECK(p->n_addrs <= DP_CFG_MAX_ADDRS);
		for (unsigned j = 0; j < p->n_addrs; j++)
			prefix_check(&p->addrs[j], false);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->ports[j].name, p->name) != 0);
	}
	FUZZ_CHECK(c->n_wgs <= DP_CFG_MAX_WG);
	for (unsigned i = 0; i < c->n_wgs; i++) {
		const struct dp_cfg_wg *w = &c->wgs[i];

		name_check(w->name, false);
		FUZZ_CHECK(w->n_addrs <= DP_CFG_MAX_ADDRS);
		for (unsigned j = 0; j < w->n_addrs; j++)
			prefix_check(&w->addrs[j], false);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->wgs[j].name, w->name) != 0);
	}
	FUZZ_CHECK(c->n_peers == 0 || c->peers != NULL);
	for (unsigned i = 0; i < c->n_peers; i++) {
		const struct dp_cfg_peer *p = &c->peers[i];

		FUZZ_CHECK(p->wg < c->n_wgs);
		FUZZ_CHECK(p->n_allowed_ips == 0 || p->allowed_ips != NULL);
		for (unsigned j = 0; j < p->n_allowed_ips; j++)
			prefix_check(&p->allowed_ips[j], true);
		if (p->has_endpoint) {
			const struct sockaddr_in *sin = (const void *)&p->endpoint;

			FUZZ_CHECK(p->endpoint.ss_family == AF_INET ||
				   p->endpoint.ss_family == AF_INET6);
			/* sin_port and sin6_port share their offset */
			FUZZ_CHECK(sin->sin_port != 0);
		}
	}
	FUZZ_CHECK(c->n_routes == 0 || c->routes != NULL);
	for (unsigned i = 0; i < c->n_routes; i++) {
		const struct dp_cfg_route *r = &c->routes[i];

		prefix_check(&r->prefix, true);
		switch (r->kind) {
		case DP_ROUTE_VIA:
			FUZZ_CHECK(r->port < c->n_ports);
			break;
		case DP_ROUTE_PEER:
			FUZZ_CHECK(r->peer < c->n_peers);
			break;
		case DP_ROUTE_EXCEPTION:
		case DP_ROUTE_DROP:
			break;
		default:
			FUZZ_CHECK(!"route kind");
		}
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	int rc;

	fuzz_rng_seed(0);
	memset(err, 0x5a, sizeof(err));
	rc = dp_cfg_parse((const char *)data, size, "fuzz.conf", &cfg, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(strncmp(err, "fuzz.conf", 9) == 0);
		FUZZ_CHECK(memcmp(&cfg, &zero_cfg, sizeof(cfg)) == 0);
		return 0;
	}
	cfg_check(&cfg);
	dp_cfg_free(&cfg);
	FUZZ_CHECK(memcmp(&cfg, &zero_cfg, sizeof(cfg)) == 0);
	dp_cfg_free(&cfg);
	return 0;
}
