/*
 * cmd_tunnels.c — `gate44 tunnel ...`: the users' WireGuard peers with
 * their 44net addresses (/v1/tunnels): list, create, show, enable,
 * disable, delete and live status. The client configuration and its QR
 * code are in cmd_config.c. Runs on the CLI's only thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cli.h"
#include "output.h"

#define ADDRS_MAX 1024 /* a sanity bound on --ipv4 / --ipv6 */

/* up: a recent handshake; down: none within the daemon's window;
 * inactive: enabled but out of the data plane (its user is disabled). */
static const char *
tunnel_state(const json_t *t)
{
	if (cli_jbool(t, "expired"))
		return "expired";
	if (!cli_jbool(t, "enabled"))
		return "disabled";
	if (!cli_jbool(t, "active"))
		return "inactive";
	return cli_jbool(t, "connected") ? "up" : "down";
}

static const char *
expiry(const json_t *t, char *buf)
{
	if (cli_jbool(t, "expired"))
		return "expired";
	return cli_fmt_date(cli_jint(t, "expires_at", 0), buf);
}

/* The user names, when the token may list users (admin); NULL otherwise. */
static json_t *
user_names(struct cli *c)
{
	json_t *j = NULL;

	if (cli_api_call(c, "GET", "/v1/users", NULL, &j, true) != 0)
		return NULL;
	return j;
}

static const char *
user_name(const json_t *users, int64_t id, char *buf)
{
	json_t *u;
	size_t i;

	json_array_foreach (cli_j(users, "users"), i, u)
		if (cli_jint(u, "id", 0) == id && cli_jstr(u, "name") != NULL)
			return cli_jstr(u, "name");
	snprintf(buf, CLI_FMT_LEN, "%" PRId64, id);
	return buf;
}

/* gate44 tunnel list [--user ID|NAME] */
static int
tunnel_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		CLI_OPTS_COMMON,
		{0},
	};
	static const char *const heads[] = {">ID",   "USER",	  "NAME", "IFACE", "ADDRESSES",
					    "STATE", "HANDSHAKE", ">RX",  ">TX",   "EXPIRES"};
	char id[CLI_FMT_LEN], un[CLI_FMT_LEN], hs[CLI_FMT_LEN], rx[CLI_FMT_LEN], tx[CLI_FMT_LEN],
		ex[CLI_FMT_LEN], addrs[512];
	int64_t now = (int64_t)time(NULL), user_id = 0;
	const char *user = NULL;
	char path[64] = "/v1/tunnels";
	json_t *j = NULL, *users = NULL, *t;
	struct cli_table *tab;
	size_t i;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1) {
		if (o != 'u')
			return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		user = optarg;
	}
	if ((rc = cli_operands(c, argc, 0)) != 0)
		return rc;
	if (user != NULL) {
		if ((rc = cli_api_user_id(c, user, &user_id)) != 0)
			return rc;
		snprintf(path, sizeof(path), "/v1/tunnels?user_id=%" PRId64, user_id);
	}
	if ((rc = cli_api_call(c, "GET", path, NULL, &j, false)) != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
		json_decref(j);
		return rc;
	}
	users = user_names(c);
	tab = cli_table_new(10, heads);
	json_array_foreach (cli_j(j, "tunnels"), i, t) {
		const char *row[] = {
			cli_jnum(t, "id", id),
			user_name(users, cli_jint(t, "user_id", 0), un),
			cli_jstr(t, "name"),
			cli_jstr(t, "interface"),
			cli_jjoin(t, "addresses", ",", addrs, sizeof(addrs)),
			tunnel_state(t),
			cli_fmt_ago(cli_jint(t, "last_handshake", 0), now, hs),
			cli_fmt_bytes((uint64_t)cli_jint(t, "rx_bytes", 0), rx),
			cli_fmt_bytes((uint64_t)cli_jint(t, "tx_bytes", 0), tx),
			expiry(t, ex),
		};

		if (tab != NULL)
			cli_table_add(tab, row);
	}
	if (tab != NULL)
		cli_table_print(tab, stdout);
	cli_table_free(tab);
	json_decref(users);
	json_decref(j);
	return CLI_EXIT_OK;
}

static void
show_tunnel(const json_t *t)
{
	char b1[CLI_FMT_LEN], b2[CLI_FMT_LEN], list[1024];
	int64_t now = (int64_t)time(NULL), v;
	const char *s;

	cli_kv("id", "%" PRId64, cli_jint(t, "id", 0));
	cli_kv("user", "%" PRId64, cli_jint(t, "user_id", 0));
	cli_kv("name", "%s", (s = cli_jstr(t, "name")) != NULL && s[0] != '\0' ? s : "-");
	cli_kv("interface", "%s", (s = cli_jstr(t, "interface")) != NULL ? s : "-");
	cli_kv("state", "%s", tunnel_state(t));
	cli_kv("public key", "%s%s", (s = cli_jstr(t, "public_key")) != NULL ? s : "-",
	       cli_jbool(t, "private_key_generated") ? " (key pair made by the server)" : "");
	cli_kv("preshared key", "%s", cli_jbool(t, "has_preshared_key") ? "yes" : "no");
	v = cli_jint(t, "persistent_keepalive", 0);
	if (v > 0)
		cli_kv("keepalive", "%" PRId64 " s", v);
	else
		cli_kv("keepalive", "off");
	cli_kv("addresses", "%s", cli_jjoin(t, "addresses", ", ", list, sizeof(list)));
	cli_jjoin(t, "own_prefixes", ", ", list, sizeof(list));
	cli_kv("own prefixes", "%s", list[0] != '\0' ? list : "-");
	cli_kv("endpoint", "%s", (s = cli_jstr(t, "endpoint")) != NULL ? s : "-");
	v = cli_jint(t, "last_handshake", 0);
	if (v != 0)
		cli_kv("last handshake", "%s (%s)", cli_fmt_ago(v, now, b1), cli_fmt_time(v, b2));
	else
		cli_kv("last handshake", "never");
	cli_kv("connected", "%s", cli_jbool(t, "connected") ? "yes" : "no");
	cli_kv("rx", "%s", cli_fmt_bytes((uint64_t)cli_jint(t, "rx_bytes", 0), b1));
	cli_kv("tx", "%s", cli_fmt_bytes((uint64_t)cli_jint(t, "tx_bytes", 0), b1));
	v = cli_jint(t, "expires_at", 0);
	if (v != 0)
		cli_kv("expires", "%s (%s)", cli_fmt_time(v, b1), cli_fmt_ago(v, now, b2));
	else
		cli_kv("expires", "never");
	v = cli_jint(t, "created_at", 0);
	cli_kv("created", "%s (%s)", cli_fmt_time(v, b1), cli_fmt_ago(v, now, b2));
	v = cli_jint(t, "updated_at", 0);
	cli_kv("updated", "%s (%s)", cli_fmt_time(v, b1), cli_fmt_ago(v, now, b2));
}

/* The one operand, a tunnel id, as "/v1/tunnels/ID". */
static int
tunnel_path(struct cli *c, int argc, char **argv, char *path, size_t len, int64_t *id)
{
	int rc;

	if ((rc = cli_operands(c, argc, 1)) != 0)
		return rc;
	if (cli_parse_id(argv[optind], id) != 0)
		return cli_usage_err(c, "%s: not a tunnel id", argv[optind]);
	snprintf(path, len, "/v1/tunnels/%" PRId64, *id);
	return 0;
}

/* gate44 tunnel show ID */
static int
tunnel_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	char path[64];
	json_t *j = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = tunnel_path(c, argc, argv, path, sizeof(path), &id)) != 0)
		return rc;
	if ((rc = cli_api_call(c, "GET", path, NULL, &j, false)) != 0)
		return rc;
	if (c->json)
		rc = cli_api_print_json(j);
	else
		show_tunnel(j);
	json_decref(j);
	return rc;
}

/* gate44 tunnel enable|disable|delete ID */
static int
tunnel_simple(struct cli *c, int argc, char **argv, const char *method, json_t *body,
	      const char *done)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	char path[64];
	json_t *j = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1) {
		json_decref(body);
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	rc = tunnel_path(c, argc, argv, path, sizeof(path), &id);
	if (rc == 0)
		rc = cli_api_call(c, method, path, body, &j, false);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (c->json)
		rc = cli_api_print_json(j);
	else
		printf("tunnel %" PRId64 " %s\n", id, done);
	json_decref(j);
	return rc;
}

static int
tunnel_enable(struct cli *c, int argc, char **argv)
{
	return tunnel_simple(c, argc, argv, "PATCH", json_pack("{s:b}", "enabled", 1), "enabled");
}

static int
tunnel_disable(struct cli *c, int argc, char **argv)
{
	return tunnel_simple(c, argc, argv, "PATCH", json_pack("{s:b}", "enabled", 0), "disabled");
}

static int
tunnel_delete(struct cli *c, int argc, char **argv)
{
	return tunnel_simple(c, argc, argv, "DELETE", NULL,
			     "deleted (its addresses are free again)");
}

/* ---- create ------------------------------------------------------------------ */

struct create_args {
	const char *user, *out;
	bool qr;
	int64_t ipv4, ipv6; /* -1: not given */
};

/* The options of tunnel create into body and a; 0, -1 (help) or an exit code. */
static int
create_parse(struct cli *c, int argc, char **argv, json_t *body, struct create_args *a)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		{"name", required_argument, NULL, 'n'},
		{"interface", required_argument, NULL, 'i'},
		{"public-key", required_argument, NULL, 'k'},
		{"psk", no_argument, NULL, 'p'},
		{"keepalive", required_argument, NULL, 'K'},
		{"ipv4", required_argument, NULL, '4'},
		{"ipv6", required_argument, NULL, '6'},
		{"prefix", required_argument, NULL, 'P'},
		{"expires", required_argument, NULL, 'e'},
		{"disabled", no_argument, NULL, 'd'},
		{"qr", no_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'},
		CLI_OPTS_COMMON,
		{0},
	};
	json_t *own = NULL;
	int64_t v;
	int o;

	while ((o = cli_getopt(c, argc, argv, "o:", opts)) != -1) {
		switch (o) {
		case 'u':
			a->user = optarg;
			break;
		case 'n':
			json_object_set_new(body, "name", json_string(optarg));
			break;
		case 'i':
			json_object_set_new(body, "interface", json_string(optarg));
			break;
		case 'k':
			json_object_set_new(body, "public_key", json_string(optarg));
			break;
		case 'p':
			json_object_set_new(body, "preshared_key", json_true());
			break;
		case 'K':
			if (cli_parse_count(optarg, 65535, &v) != 0)
				return cli_usage_err(c, "--keepalive: seconds in 0..65535");
			json_object_set_new(body, "persistent_keepalive", json_integer(v));
			break;
		case '4':
		case '6':
			if (cli_parse_count(optarg, ADDRS_MAX, &v) != 0)
				return cli_usage_err(c, "--ipv%c: a count", o);
			*(o == '4' ? &a->ipv4 : &a->ipv6) = v;
			break;
		case 'P':
			if (own == NULL) {
				own = json_array();
				json_object_set_new(body, "own_prefixes", own);
			}
			json_array_append_new(own, json_string(optarg));
			break;
		case 'e':
			if (cli_parse_expiry(optarg, (int64_t)time(NULL), &v) != 0)
				return cli_usage_err(c, "--expires: unix seconds, +DAYSd, +HOURSh "
							"or YYYY-MM-DD");
			json_object_set_new(body, "expires_at", json_integer(v));
			break;
		case 'd':
			json_object_set_new(body, "enabled", json_false());
			break;
		case 'q':
			a->qr = true;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'h':
			return -1;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* gate44 tunnel create --user ID [...]: see the usage in cmds[] below. */
static int
tunnel_create(struct cli *c, int argc, char **argv)
{
	struct create_args a = {.ipv4 = -1, .ipv6 = -1};
	json_t *body = json_object(), *j = NULL, *t;
	char list[512];
	const char *conf;
	int64_t user_id;
	bool generated;
	int rc;

	rc = create_parse(c, argc, argv, body, &a);
	if (rc == 0)
		rc = cli_operands(c, argc, 0);
	if (rc == 0 && a.user == NULL)
		rc = cli_usage_err(c, "--user is required");
	if (rc == 0)
		rc = cli_api_user_id(c, a.user, &user_id);
	/* a file that cannot be written fails now, before there is a private
	 * key to lose (cli_config_emit falls back to stdout anyway) */
	if (rc == 0 && a.out != NULL)
		rc = cli_write_file(a.out, "", 0);
	if (rc != 0) {
		json_decref(body);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	json_object_set_new(body, "user_id", json_integer(user_id));
	/* --ipv6 alone adds IPv6 to the usual IPv4 address: --ipv4 0 for none */
	if (a.ipv4 >= 0 || a.ipv6 >= 0)
		json_object_set_new(body, "addresses",
				    json_pack("{s:I, s:I}", "ipv4",
					      (json_int_t)(a.ipv4 >= 0 ? a.ipv4 : 1), "ipv6",
					      (json_int_t)(a.ipv6 >= 0 ? a.ipv6 : 0)));

	rc = cli_api_call(c, "POST", "/v1/tunnels", body, &j, false);
	json_decref(body);
	if (rc != 0)
		return rc;
	t = cli_j(j, "tunnel");
	conf = cli_jstr(j, "config");
	generated = cli_jstr(j, "private_key") != NULL;
	if (c->json) {
		rc = cli_api_print_json(j);
	} else if (generated || a.out != NULL || a.qr) {
		fprintf(stderr, "gate44: tunnel %" PRId64 " created for user %" PRId64 ": %s\n",
			cli_jint(t, "id", 0), cli_jint(t, "user_id", 0),
			cli_jjoin(t, "addresses", ", ", list, sizeof(list)));
		if (conf == NULL) {
			fprintf(stderr, "gate44: the reply holds no configuration (is the "
					"interface still configured?)\n");
			rc = CLI_EXIT_API;
		} else {
			rc = cli_config_emit(conf, a.out, a.qr);
		}
	} else {
		show_tunnel(t);
		fprintf(stderr,
			"gate44: the client configuration: gate44 tunnel config %" PRId64 "\n",
			cli_jint(t, "id", 0));
	}
	if (generated)
		fprintf(stderr, "gate44: warning: the configuration holds the tunnel's private "
				"key, shown only this once: the daemon does not keep it\n");
	json_decref(j);
	return rc;
}

/* ---- status ------------------------------------------------------------------ */

int
cli_tunnel_status_show(struct cli *c, int64_t id)
{
	char path[64], b1[CLI_FMT_LEN], b2[CLI_FMT_LEN];
	int64_t now = (int64_t)time(NULL), hs;
	json_t *j = NULL;
	const char *ep;
	int rc;

	snprintf(path, sizeof(path), "/v1/tunnels/%" PRId64 "/status", id);
	if ((rc = cli_api_call(c, "GET", path, NULL, &j, false)) != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
		json_decref(j);
		return rc;
	}
	hs = cli_jint(j, "last_handshake", 0);
	ep = cli_jstr(j, "endpoint");
	cli_kv("tunnel", "%" PRId64, id);
	cli_kv("connected", "%s", cli_jbool(j, "connected") ? "yes" : "no");
	cli_kv("endpoint", "%s", ep != NULL && ep[0] != '\0' ? ep : "-");
	if (hs != 0)
		cli_kv("last handshake", "%s (%s)", cli_fmt_ago(hs, now, b1), cli_fmt_time(hs, b2));
	else
		cli_kv("last handshake", "never");
	cli_kv("rx", "%s (%" PRId64 " bytes)",
	       cli_fmt_bytes((uint64_t)cli_jint(j, "rx_bytes", 0), b1), cli_jint(j, "rx_bytes", 0));
	cli_kv("tx", "%s (%" PRId64 " bytes)",
	       cli_fmt_bytes((uint64_t)cli_jint(j, "tx_bytes", 0), b1), cli_jint(j, "tx_bytes", 0));
	if (cli_j(j, "active") != NULL && !cli_jbool(j, "active"))
		cli_kv("in data plane", "no (disabled, expired, or its user is disabled)");
	json_decref(j);
	return CLI_EXIT_OK;
}

/* gate44 tunnel status ID */
static int
tunnel_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	char path[64];
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = tunnel_path(c, argc, argv, path, sizeof(path), &id)) != 0)
		return rc;
	return cli_tunnel_status_show(c, id);
}

static const struct cli_cmd cmds[] = {
	{"list", tunnel_list, "[--user ID|NAME]",
	 "List tunnels. STATE: up (handshake within the daemon's window), down, disabled, "
	 "expired, inactive (its user is disabled)."},
	{"create", tunnel_create,
	 "--user ID|NAME [--name N] [--interface IF] [--public-key K] [--psk] [--keepalive S] "
	 "[--ipv4 N] [--ipv6 N] [--prefix P]... [--expires UNIX|+DAYSd|YYYY-MM-DD] [--disabled] "
	 "[-o FILE] [--qr]",
	 "Create a tunnel. Without --public-key the daemon makes the key pair and the "
	 "configuration (with the private key, shown only this once) is printed, or written "
	 "to FILE, or drawn as a QR code (--qr). --ipv4 defaults to 1, --ipv6 to 0; --prefix "
	 "routes the user's own prefix to the tunnel."},
	{"show", tunnel_show, "ID", "Show one tunnel."},
	{"status", tunnel_status, "ID", "Ask the data plane about a tunnel (as gate44 status ID)."},
	{"enable", tunnel_enable, "ID", "Enable a tunnel."},
	{"disable", tunnel_disable, "ID", "Disable a tunnel: it leaves the data plane."},
	{"delete", tunnel_delete, "ID", "Delete a tunnel and free its addresses."},
	{"config", cli_tunnel_config, "ID [-o FILE]",
	 "Print (or write to FILE, mode 0600) the wg-quick client configuration. It holds no "
	 "private key (the daemon keeps none): the user fills in theirs."},
	{"qr", cli_tunnel_qr, "ID [-o FILE.png|FILE.svg] [--plain|--light]",
	 "Draw the configuration as a QR code on the terminal, for the WireGuard phone app, or "
	 "write it as PNG or SVG. --plain: no colour codes (dark terminals); --light: no "
	 "colour codes, for light terminals."},
};

const struct cli_group cli_group_tunnel = {"tunnel", "tunnels", cmds,
					   sizeof(cmds) / sizeof(cmds[0])};
