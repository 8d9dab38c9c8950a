/*
 * cmd_tokens.c — `gate44 token ...`: the API's bearer tokens (/v1/tokens):
 * list (never a secret, only its first characters), create (the secret is
 * printed once, alone on stdout, so it can go straight into a file) and
 * revoke. Runs on the CLI's only thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cli.h"
#include "output.h"

/* gate44 token list [--user ID|NAME] */
static int
token_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"user", required_argument, NULL, 'u'},
		CLI_OPTS_COMMON,
		{0},
	};
	static const char *const heads[] = {">ID",    "SCOPE",	 "USER",      "NAME",
					    "PREFIX", "CREATED", "LAST-USED", "STATE"};
	char id[CLI_FMT_LEN], uid[CLI_FMT_LEN], cr[CLI_FMT_LEN], lu[CLI_FMT_LEN];
	const char *user = NULL;
	char path[64] = "/v1/tokens";
	int64_t now = (int64_t)time(NULL), user_id;
	struct cli_table *tab;
	json_t *j = NULL, *t;
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
		snprintf(path, sizeof(path), "/v1/tokens?user_id=%" PRId64, user_id);
	}
	if ((rc = cli_api_call(c, "GET", path, NULL, &j, false)) != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
		json_decref(j);
		return rc;
	}
	tab = cli_table_new(8, heads);
	json_array_foreach (cli_j(j, "tokens"), i, t) {
		int64_t used = cli_jint(t, "last_used_at", 0);
		const char *row[] = {cli_jnum(t, "id", id),
				     cli_jstr(t, "scope"),
				     cli_jnum(t, "user_id", uid),
				     cli_jstr(t, "name"),
				     cli_jstr(t, "prefix"),
				     cli_fmt_date(cli_jint(t, "created_at", 0), cr),
				     cli_fmt_ago(used, now, lu),
				     cli_jbool(t, "revoked") ? "revoked" : "active"};

		if (tab != NULL)
			cli_table_add(tab, row);
	}
	if (tab != NULL)
		cli_table_print(tab, stdout);
	cli_table_free(tab);
	json_decref(j);
	return CLI_EXIT_OK;
}

/* gate44 token create [--admin | --user ID|NAME] [--name N] */
static int
token_create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"admin", no_argument, NULL, 'a'},
		{"user", required_argument, NULL, 'u'},
		{"name", required_argument, NULL, 'n'},
		CLI_OPTS_COMMON,
		{0},
	};
	const char *user = NULL, *name = NULL, *secret;
	bool admin = false;
	json_t *body, *j = NULL;
	int64_t user_id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1) {
		switch (o) {
		case 'a':
			admin = true;
			break;
		case 'u':
			user = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if ((rc = cli_operands(c, argc, 0)) != 0)
		return rc;
	if (admin && user != NULL)
		return cli_usage_err(c, "--admin and --user exclude each other");
	body = json_pack("{s:s}", "scope", admin ? "admin" : "user");
	if (name != NULL)
		json_object_set_new(body, "name", json_string(name));
	if (user != NULL) {
		rc = cli_api_user_id(c, user, &user_id);
		if (rc != 0) {
			json_decref(body);
			return rc;
		}
		json_object_set_new(body, "user_id", json_integer(user_id));
	}
	rc = cli_api_call(c, "POST", "/v1/tokens", body, &j, false);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (c->json) {
		rc = cli_api_print_json(j);
	} else {
		secret = cli_jstr(j, "secret");
		if (secret == NULL) {
			fprintf(stderr, "gate44: the reply holds no secret\n");
			rc = CLI_EXIT_API;
		} else {
			printf("%s\n", secret);
			fflush(stdout);
			if (cli_jint(j, "user_id", 0) != 0)
				fprintf(stderr,
					"gate44: token %" PRId64 " (user token of user %" PRId64
					") created: its secret is shown only this once\n",
					cli_jint(j, "id", 0), cli_jint(j, "user_id", 0));
			else
				fprintf(stderr,
					"gate44: token %" PRId64 " (%s) created: its secret is "
					"shown only this once\n",
					cli_jint(j, "id", 0),
					cli_jstr(j, "scope") ? cli_jstr(j, "scope") : "?");
		}
	}
	json_decref(j);
	return rc;
}

/* gate44 token revoke ID */
static int
token_revoke(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTS_COMMON, {0}};
	char path[64];
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != -1)
		return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if ((rc = cli_operands(c, argc, 1)) != 0)
		return rc;
	if (cli_parse_id(argv[optind], &id) != 0)
		return cli_usage_err(c, "%s: not a token id", argv[optind]);
	snprintf(path, sizeof(path), "/v1/tokens/%" PRId64, id);
	if ((rc = cli_api_call(c, "DELETE", path, NULL, NULL, false)) != 0)
		return rc;
	if (!c->json)
		printf("token %" PRId64 " revoked\n", id);
	return CLI_EXIT_OK;
}

static const struct cli_cmd cmds[] = {
	{"list", token_list, "[--user ID|NAME]",
	 "List the tokens (an admin token sees all, a user token its user's)."},
	{"create", token_create, "[--admin | --user ID|NAME] [--name N]",
	 "Create a token and print its secret, which is shown only this once. A user token "
	 "sees and changes only its user's tunnels and tokens."},
	{"revoke", token_revoke, "ID", "Revoke a token (it stays listed, as revoked)."},
};

const struct cli_group cli_group_token = {"token", "tokens", cmds, sizeof(cmds) / sizeof(cmds[0])};
