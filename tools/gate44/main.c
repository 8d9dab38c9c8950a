/*
 * main.c — gate44, the command-line client of gate44-control's HTTP API:
 * parse the global options, find the daemon's URL and the bearer token,
 * and run the command (cmd_*.c). Single-threaded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "cli.h"

#define URL_DEFAULT "http://127.0.0.1:8044"

static const struct cli_group *const groups[] = {
	&cli_group_user, &cli_group_token,  &cli_group_tunnel,
	&cli_group_pool, &cli_group_status, &cli_group_metrics,
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gate44 [--url URL] [--token TOKEN] [--json] COMMAND ...\n\ncommands:\n");
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		cli_usage_print(f, groups[i]);
	fprintf(f, "\noptions:\n"
		   "  --url URL      the daemon's API: $GATE44_URL, else " URL_DEFAULT "\n"
		   "  --token TOKEN  a bearer token: $GATE44_TOKEN, else the first line of\n"
		   "                 ~/.config/gate44/token (both better than --token, which\n"
		   "                 other users see in ps)\n"
		   "  --json         print the API's JSON instead of tables (also after COMMAND)\n"
		   "  --version      print the version\n"
		   "\n"
		   "ID|NAME takes a user's id or name. `gate44 COMMAND SUB --help` says more.\n"
		   "exit status: 0 done, 1 the API refused (or a local failure), 2 usage error,\n"
		   "3 cannot connect to the daemon.\n");
}

/* A token: 1..CLI_TOKEN_MAX printable characters, no blanks. */
static bool
token_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > CLI_TOKEN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

/* The first line of the token file, if there is one: 0 (c->token may stay
 * NULL) or CLI_EXIT_USAGE after saying why. */
static int
token_from_file(struct cli *c)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char line[CLI_TOKEN_MAX + 4];
	struct stat st;
	size_t n;
	FILE *f;

	if (xdg != NULL && xdg[0] == '/')
		snprintf(c->token_from, sizeof(c->token_from), "%s/gate44/token", xdg);
	else if (home != NULL && home[0] != '\0')
		snprintf(c->token_from, sizeof(c->token_from), "%s/.config/gate44/token", home);
	else
		return 0;
	f = fopen(c->token_from, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			fprintf(stderr, "gate44: %s: %s\n", c->token_from, strerror(errno));
		c->token_from[0] = '\0';
		return 0;
	}
	setvbuf(f, NULL, _IONBF, 0); /* no stdio buffer holding the token */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "gate44: warning: %s is readable by others (chmod 600 it)\n",
			c->token_from);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n > 0)
		c->token = strdup(line);
	sodium_memzero(line, sizeof(line));
	if (n > 0) {
		if (c->token == NULL)
			return CLI_EXIT_API;
		if (!token_ok(c->token)) {
			fprintf(stderr, "gate44: %s: the first line is not a token\n",
				c->token_from);
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* --token, else $GATE44_TOKEN, else the file. */
static int
token_find(struct cli *c, const char *opt)
{
	const char *env = getenv("GATE44_TOKEN");

	if (opt != NULL || (env != NULL && env[0] != '\0')) {
		snprintf(c->token_from, sizeof(c->token_from), "%s",
			 opt != NULL ? "--token" : "$GATE44_TOKEN");
		c->token = strdup(opt != NULL ? opt : env);
		if (c->token == NULL)
			return CLI_EXIT_API;
		if (!token_ok(c->token)) {
			fprintf(stderr, "gate44: the token from %s is empty or holds blanks\n",
				c->token_from);
			return CLI_EXIT_USAGE;
		}
		return 0;
	}
	return token_from_file(c);
}

static int
run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'}, {"token", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},   {0},
	};
	const char *url = getenv("GATE44_URL"), *token = NULL;
	char err[700];
	size_t i;
	int o, rc;

	if (url == NULL || url[0] == '\0')
		url = URL_DEFAULT;
	/* every argument may end up in a JSON string: UTF-8 only */
	for (i = 1; i < (size_t)argc; i++) {
		json_t *s = json_string(argv[i]);

		if (s == NULL) {
			fprintf(stderr, "gate44: argument %zu is not valid UTF-8\n", i);
			return CLI_EXIT_USAGE;
		}
		json_decref(s);
	}
	opterr = 0;
	/* '+': stop at the command, whose options are its own */
	while ((o = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			url = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'j':
			c->json = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("gate44 %s\n", GATE44_VERSION);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "gate44: option %s needs a value\n", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			fprintf(stderr, "gate44: unknown option %s (see gate44 --help)\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (cli_http_url_parse(url, &c->url, err, sizeof(err)) != 0) {
		fprintf(stderr, "gate44: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	snprintf(c->url_text, sizeof(c->url_text), "%s", url);
	if ((rc = token_find(c, token)) != 0)
		return rc;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(argv[optind], groups[i]->name) == 0 ||
		    (groups[i]->alias != NULL && strcmp(argv[optind], groups[i]->alias) == 0))
			return cli_group_run(c, groups[i], argc - optind, argv + optind);
	fprintf(stderr, "gate44: unknown command %s (see gate44 --help)\n", argv[optind]);
	return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct cli c = {0};
	int rc;

	if (sodium_init() < 0) {
		fprintf(stderr, "gate44: libsodium does not start\n");
		return CLI_EXIT_API;
	}
	cli_api_init();
	rc = run(&c, argc, argv);
	if (c.token != NULL) {
		sodium_memzero(c.token, strlen(c.token));
		free(c.token);
	}
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "gate44: writing to stdout: %s\n", strerror(errno));
		rc = CLI_EXIT_API;
	}
	return rc;
}
