/*
 * cmd_users.c — `gate44 user ...`: the radio amateurs who hold tunnels
 * (/v1/users): list, create, show, set limits, disable, enable, delete.
 * Runs on the CLI's only thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cli.h"
#include "output.h"

#define LIMIT_MAX 1000000 /* the daemon's bound on max_tunnels / max_addresses */

static const char *
user_state(const json_t *u)
{
	return cli_jbool(u, "disabled") ? "disabled" : "active";
}

/* "2/10": what the user holds of what the user may hold. */
static const char *
usage_of(const json_t *u, const char *used, const char *limit, char *buf)
{
	snprintf(buf, CLI_FMT_LEN, "%" PRId64 "/%" PRId64, cli_jint(u, used, 0),
		 cli_jint(u, limit, 0));
	return buf;
}

static int
show_user(const json_t *u)
{
	char b1[CLI_FMT_LEN], b2[CLI_FMT_LEN];
	int64_t now = (int64_t)time(NULL), created = cli_jint(u, "created_at", 0);

	cli_kv("id", "%" PRId64, cli_jint(u, "id", 0));
	cli_kv("name", "%s", cli_jstr(u, "name") ? cli_jstr(u, "name") : "-");
	cli_kv("email", "%s", cli_jstr(u, "email") ? cli_jstr(u, "email") : "-");
	cli_kv("state", "%s", user_state(u));
	cli_kv("tunnels", "%" PRId64 " of %" PRId64 "%s", cli_jint(u, "usage.tunnels", 0),
	       cli_jint(u, "limits.tunnels", 0),
	       json_is_null(cli_j(u, "max_tunnels")) ? " (the default limit)" : "");
	cli_kv("addresses", "%" PRId64 " of %" PRId64 "%s", cli_jint(u, "usage.addresses", 0),
	       cli_jint(u, "limits.addresses", 0),
	       json_is_null(cli_j(u, "max_addresses")) ? " (the default limit)" : "");
	cli_kv("created", "%s (%s)", cli_fmt_time(created, b1), cli_fmt_ago(created, now, b2));
	return CLI_EXIT_OK;
}

/* gate44 user list */
static int
user_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	static const char *const heads[] = {">ID",	"NAME",	      "EMAIL",	"STATE",
					    ">TUNNELS", ">ADDRESSES", "CREATED"};
	char id[CLI_FMT_LEN], t[CLI_FMT_LEN], a[CLI_FMT_LEN], cr[CLI_FMT_LEN];
	struct cli_table *tab;
	json_t *j = NULL, *u;
	size_t i;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = cli_operands(c, argc, 0)) != 0)
		return rc;
	if ((rc = cli_api_call(c, "GET", "/v1/users", NULL, &j, false)) != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
		json_decref(j);
		return rc;
	}
	tab = cli_table_new(7, heads);
	json_array_foreach (cli_j(j, "users"), i, u) {
		const char *row[] = {cli_jnum(u, "id", id),
				     cli_jstr(u, "name"),
				     cli_jstr(u, "email"),
				     user_state(u),
				     usage_of(u, "usage.tunnels", "limits.tunnels", t),
				     usage_of(u, "usage.addresses", "limits.addresses", a),
				     cli_fmt_date(cli_jint(u, "created_at", 0), cr)};

		if (tab != NULL)
			cli_table_add(tab, row);
	}
	if (tab != NULL)
		cli_table_print(tab, stdout);
	cli_table_free(tab);
	json_decref(j);
	return CLI_EXIT_OK;
}

/* --max-tunnels N / --max-addresses N: a count, or "default" (null). */
static int
limit_arg(struct cli *c, json_t *body, const char *key, const char *opt, const char *arg)
{
	int64_t v;

	if (strcmp(arg, "default") == 0) {
		json_object_set_new(body, key, json_null());
		return 0;
	}
	if (cli_parse_count(arg, LIMIT_MAX, &v) != 0)
		return cli_usage_err(c, "%s: a count in 0..%d, or \"default\"", opt, LIMIT_MAX);
	json_object_set_new(body, key, json_integer(v));
	return 0;
}

/* The options create and set share: --email, --max-tunnels, --max-addresses. */
static const struct option user_opts[] = {
	{"email", required_argument, NULL, 'e'},
	{"max-tunnels", required_argument, NULL, 't'},
	{"max-addresses", required_argument, NULL, 'a'},
	CLI_OPTS_COMMON,
	{0},
};

static int
user_opts_parse(struct cli *c, int argc, char **argv, json_t *body)
{
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", user_opts)) != -1) {
		switch (o) {
		case 'e':
			/* "" clears it (null) */
			json_object_set_new(body, "email",
					    optarg[0] != '\0' ? json_string(optarg) : json_null());
			break;
		case 't':
			if ((rc = limit_arg(c, body, "max_tunnels", "--max-tunnels", optarg)) != 0)
				return rc;
			break;
		case 'a':
			if ((rc = limit_arg(c, body, "max_addresses", "--max-addresses", optarg)) !=
			    0)
				return rc;
			break;
		case 'h':
			return -1;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* Send body to method path and show the user that comes back. */
static int
user_change(struct cli *c, const char *method, const char *path, json_t *body)
{
	json_t *j = NULL;
	int rc;

	rc = cli_api_call(c, method, path, body, &j, false);
	json_decref(body);
	if (rc == 0)
		rc = c->json ? cli_api_print_json(j) : show_user(j);
	json_decref(j);
	return rc;
}

/* gate44 user create NAME [--email E] [--max-tunnels N] [--max-addresses N] */
static int
user_create(struct cli *c, int argc, char **argv)
{
	json_t *body = json_object();
	int rc;

	rc = user_opts_parse(c, argc, argv, body);
	if (rc == 0)
		rc = cli_operands(c, argc, 1);
	if (rc != 0) {
		json_decref(body);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	return user_change(c, "POST", "/v1/users", body);
}

/* The one operand, a user id or name, as "/v1/users/ID". */
static int
user_path(struct cli *c, int argc, char **argv, char *path, size_t len, int64_t *id)
{
	int rc;

	if ((rc = cli_operands(c, argc, 1)) != 0)
		return rc;
	if ((rc = cli_api_user_id(c, argv[optind], id)) != 0)
		return rc;
	snprintf(path, len, "/v1/users/%" PRId64, *id);
	return 0;
}

/* gate44 user set ID [--email E] [--max-tunnels N|default] [--max-addresses N|default] */
static int
user_set(struct cli *c, int argc, char **argv)
{
	json_t *body = json_object();
	char path[64];
	int64_t id;
	int rc;

	rc = user_opts_parse(c, argc, argv, body);
	if (rc == 0 && json_object_size(body) == 0)
		rc = cli_usage_err(c, "nothing to change");
	if (rc == 0)
		rc = user_path(c, argc, argv, path, sizeof(path), &id);
	if (rc != 0) {
		json_decref(body);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	return user_change(c, "PATCH", path, body);
}

/* gate44 user show ID */
static int
user_show(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	char path[64];
	json_t *j = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = user_path(c, argc, argv, path, sizeof(path), &id)) != 0)
		return rc;
	if ((rc = cli_api_call(c, "GET", path, NULL, &j, false)) != 0)
		return rc;
	rc = c->json ? cli_api_print_json(j) : show_user(j);
	json_decref(j);
	return rc;
}

/* gate44 user enable|disable|delete ID */
static int
user_simple(struct cli *c, int argc, char **argv, const char *method, json_t *body,
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
	rc = user_path(c, argc, argv, path, sizeof(path), &id);
	if (rc == 0)
		rc = cli_api_call(c, method, path, body, &j, false);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (c->json)
		rc = cli_api_print_json(j);
	else
		printf("user %" PRId64 " %s\n", id, done);
	json_decref(j);
	return rc;
}

static int
user_disable(struct cli *c, int argc, char **argv)
{
	return user_simple(c, argc, argv, "PATCH", json_pack("{s:b}", "disabled", 1), "disabled");
}

static int
user_enable(struct cli *c, int argc, char **argv)
{
	return user_simple(c, argc, argv, "PATCH", json_pack("{s:b}", "disabled", 0), "enabled");
}

static int
user_delete(struct cli *c, int argc, char **argv)
{
	return user_simple(c, argc, argv, "DELETE", NULL, "deleted (with its tunnels and tokens)");
}

static const struct cli_cmd cmds[] = {
	{"list", user_list, "",
	 "List the users, with their tunnels and addresses out of their limits."},
	{"create", user_create, "NAME [--email E] [--max-tunnels N] [--max-addresses N]",
	 "Add a user. NAME is 1..32 of A-Z a-z 0-9 . _ - (a callsign); limits default to the "
	 "daemon's."},
	{"show", user_show, "ID|NAME", "Show one user."},
	{"set", user_set,
	 "ID|NAME [--email E] [--max-tunnels N|default] [--max-addresses N|default]",
	 "Change a user's email (\"\" clears it) or limits (\"default\": the daemon's)."},
	{"disable", user_disable, "ID|NAME",
	 "Disable a user: their tunnels leave the data plane until enabled again."},
	{"enable", user_enable, "ID|NAME", "Enable a disabled user."},
	{"delete", user_delete, "ID|NAME",
	 "Delete a user with all their tunnels, addresses and tokens."},
};

const struct cli_group cli_group_user = {"user", "users", cmds, sizeof(cmds) / sizeof(cmds[0])};
