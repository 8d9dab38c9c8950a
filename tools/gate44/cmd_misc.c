/*
 * cmd_misc.c — the CLI's views of the whole POP: `gate44 status` (the
 * POP at a glance, or one tunnel's live status), `gate44 pool list` (the
 * 44net address pools and how full they are) and `gate44 metrics` (the
 * Prometheus text, as is). Runs on the CLI's only thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "api.h"
#include "cli.h"
#include "output.h"

static void
show_pop(const json_t *s)
{
	static const char *const heads[] = {"INTERFACE", "ENDPOINT", ">TUNNELS", ">ACTIVE",
					    ">CONNECTED"};
	char b1[CLI_FMT_LEN], b2[CLI_FMT_LEN], n1[CLI_FMT_LEN], n2[CLI_FMT_LEN], n3[CLI_FMT_LEN];
	int64_t t = cli_jint(s, "time", 0);
	struct cli_table *tab;
	json_t *ifc;
	size_t i;

	cli_kv("time", "%s", cli_fmt_time(t, b1));
	if (cli_jbool(s, "engine.connected"))
		cli_kv("engine", "connected (generation %" PRId64 ")",
		       cli_jint(s, "engine.generation", 0));
	else
		cli_kv("engine", "NOT CONNECTED (the data plane keeps forwarding; changes wait)");
	cli_kv("store", "%s", cli_jbool(s, "store.readonly") ? "READ-ONLY" : "read-write");
	cli_kv("users", "%" PRId64, cli_jint(s, "users", 0));
	cli_kv("tunnels", "%" PRId64 " (%" PRId64 " active, %" PRId64 " connected)",
	       cli_jint(s, "tunnels.total", 0), cli_jint(s, "tunnels.active", 0),
	       cli_jint(s, "tunnels.connected", 0));
	cli_kv("rx", "%s", cli_fmt_bytes((uint64_t)cli_jint(s, "rx_bytes", 0), b1));
	cli_kv("tx", "%s", cli_fmt_bytes((uint64_t)cli_jint(s, "tx_bytes", 0), b2));
	cli_kv("api",
	       "%" PRId64 " requests, %" PRId64 " client errors, %" PRId64 " errors, %" PRId64
	       " connections",
	       cli_jint(s, "http.requests", 0), cli_jint(s, "http.client_errors", 0),
	       cli_jint(s, "http.errors", 0), cli_jint(s, "http.connections", 0));
	if (json_array_size(cli_j(s, "interfaces")) == 0)
		return;
	putchar('\n');
	tab = cli_table_new(5, heads);
	json_array_foreach (cli_j(s, "interfaces"), i, ifc) {
		const char *row[] = {cli_jstr(ifc, "name"), cli_jstr(ifc, "endpoint"),
				     cli_jnum(ifc, "tunnels", n1), cli_jnum(ifc, "active", n2),
				     cli_jnum(ifc, "connected", n3)};

		if (tab != NULL)
			cli_table_add(tab, row);
	}
	if (tab != NULL)
		cli_table_print(tab, stdout);
	cli_table_free(tab);
}

/* gate44 status [TUNNEL_ID] */
static int
status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	json_t *j = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (argc - optind > 1)
		return cli_usage_err(c, "too many arguments");
	if (argc - optind == 1) {
		if (cli_parse_id(argv[optind], &id) != 0)
			return cli_usage_err(c, "%s: not a tunnel id", argv[optind]);
		return cli_tunnel_status_show(c, id);
	}
	if ((rc = cli_api_call(c, "GET", "/v1/status", NULL, &j, false)) != 0)
		return rc;
	if (c->json)
		rc = cli_api_print_json(j);
	else
		show_pop(j);
	json_decref(j);
	return rc;
}

/* gate44 pool list */
static int
pool_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	static const char *const heads[] = {">ID",   "NAME",	   "PREFIX",	"IFACE", ">BLOCK",
					    ">SIZE", ">ALLOCATED", ">RESERVED", ">FREE"};
	char id[CLI_FMT_LEN], blk[CLI_FMT_LEN], sz[CLI_FMT_LEN], al[CLI_FMT_LEN], rs[CLI_FMT_LEN],
		fr[CLI_FMT_LEN];
	struct cli_table *tab;
	json_t *j = NULL, *p;
	size_t i;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = cli_operands(c, argc, 0)) != 0)
		return rc;
	if ((rc = cli_api_call(c, "GET", "/v1/pools", NULL, &j, false)) != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
		json_decref(j);
		return rc;
	}
	tab = cli_table_new(9, heads);
	json_array_foreach (cli_j(j, "pools"), i, p) {
		const char *row[] = {cli_jnum(p, "id", id),
				     cli_jstr(p, "name"),
				     cli_jstr(p, "prefix"),
				     cli_jstr(p, "interface") ? cli_jstr(p, "interface") : "(any)",
				     NULL,
				     cli_jnum(p, "size", sz),
				     cli_jnum(p, "allocated", al),
				     cli_jnum(p, "reserved", rs),
				     cli_jnum(p, "free", fr)};

		snprintf(blk, sizeof(blk), "/%" PRId64, cli_jint(p, "alloc_len", 0));
		row[4] = blk;
		if (tab != NULL)
			cli_table_add(tab, row);
	}
	if (tab != NULL)
		cli_table_print(tab, stdout);
	cli_table_free(tab);
	json_decref(j);
	return CLI_EXIT_OK;
}

/* gate44 metrics */
static int
metrics(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	struct cli_http_resp r;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = cli_operands(c, argc, 0)) != 0)
		return rc;
	if ((rc = cli_api_get_raw(c, "/metrics", &r)) != 0)
		return rc;
	rc = cli_write_file("-", r.body, r.body_len);
	cli_http_resp_free(&r);
	return rc;
}

static const struct cli_cmd status_cmds[] = {
	{NULL, status, "[TUNNEL_ID]",
	 "The POP at a glance (engine, store, tunnels, traffic, interfaces), or one tunnel's "
	 "live status from the data plane: endpoint, last handshake, bytes, connected."},
};

static const struct cli_cmd pool_cmds[] = {
	{"list", pool_list, "",
	 "The 44net address pools: BLOCK is the length handed out, SIZE the blocks in the "
	 "pool."},
};

static const struct cli_cmd metrics_cmds[] = {
	{NULL, metrics, "", "The Prometheus metrics, as the daemon serves them."},
};

const struct cli_group cli_group_status = {"status", NULL, status_cmds, 1};
const struct cli_group cli_group_pool = {"pool", "pools", pool_cmds, 1};
const struct cli_group cli_group_metrics = {"metrics", NULL, metrics_cmds, 1};
