/*
 * cli.c — the gate44 CLI's command-line plumbing: running a group's
 * subcommand, getopt over its arguments, usage and help text, and parsing
 * of ids, counts and expiry times; plus writing an output file. Runs on
 * the CLI's only thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include "cli.h"

#define USAGE_COLS 80

/* "gate44 group cmd usage", wrapped at USAGE_COLS between bracketed words. */
static void
usage_line(FILE *f, const struct cli_group *g, const struct cli_cmd *cmd, const char *prefix)
{
	const char *p = cmd->usage, *w;
	int col, indent, depth, n;

	col = fprintf(f, "%sgate44 %s%s%s", prefix, g->name, cmd->name != NULL ? " " : "",
		      cmd->name != NULL ? cmd->name : "");
	indent = col + 1;
	while (*p != '\0') {
		/* a word: up to a blank outside brackets */
		for (w = p, depth = 0; *p != '\0' && (*p != ' ' || depth > 0); p++)
			depth += (*p == '[') - (*p == ']');
		n = (int)(p - w);
		if (col + 1 + n > USAGE_COLS && col > indent)
			col = fprintf(f, "\n%*s", indent - 1, "") - 1;
		col += fprintf(f, " %.*s", n, w);
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

void
cli_usage_print(FILE *f, const struct cli_group *g)
{
	size_t i;

	for (i = 0; i < g->n_cmds; i++)
		usage_line(f, g, &g->cmds[i], "  ");
}

int
cli_usage_err(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("gate44: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c->group != NULL && c->cmd != NULL)
		usage_line(stderr, c->group, c->cmd, "usage: ");
	else if (c->group != NULL)
		cli_usage_print(stderr, c->group);
	return CLI_EXIT_USAGE;
}

/* Words to f, lines of at most USAGE_COLS. */
static void
wrap(FILE *f, const char *text)
{
	const char *p = text, *w;
	int col = 0, n;

	while (*p != '\0') {
		for (w = p; *p != '\0' && *p != ' '; p++)
			;
		n = (int)(p - w);
		if (col > 0 && col + 1 + n > USAGE_COLS)
			col = fprintf(f, "\n") - 1;
		col += fprintf(f, "%s%.*s", col > 0 ? " " : "", n, w);
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void
help(const struct cli *c)
{
	usage_line(stdout, c->group, c->cmd, "usage: ");
	if (c->cmd->help != NULL) {
		putchar('\n');
		wrap(stdout, c->cmd->help);
	}
	printf("\nglobal options: --url URL, --token TOKEN, --json (see gate44 --help)\n");
}

int
cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	   const struct option *longopts)
{
	char opts[64];
	int o;

	/* ':' first: a missing value returns ':' rather than '?' */
	snprintf(opts, sizeof(opts), ":%sh", shortopts);
	opterr = 0;
	for (;;) {
		o = getopt_long(argc, argv, opts, longopts, NULL);
		if (o == 'J') {
			c->json = true;
			continue;
		}
		break;
	}
	switch (o) {
	case 'h':
		help(c);
		break;
	case ':':
		cli_usage_err(c, "option %s needs a value", argv[optind - 1]);
		o = '?';
		break;
	case '?':
		if (optopt != 0)
			cli_usage_err(c, "unknown option -%c", optopt);
		else
			cli_usage_err(c, "unknown option %s", argv[optind - 1]);
		break;
	default:
		break;
	}
	return o;
}

int
cli_operands(const struct cli *c, int argc, int n)
{
	int have = argc - optind;

	if (have < n)
		return cli_usage_err(c, "missing argument");
	if (have > n)
		return cli_usage_err(c, "too many arguments");
	return 0;
}

int
cli_group_run(struct cli *c, const struct cli_group *g, int argc, char **argv)
{
	const struct cli_cmd *cmd = NULL;
	size_t i;

	c->group = g;
	c->cmd = NULL;
	if (g->n_cmds == 1 && g->cmds[0].name == NULL) {
		cmd = &g->cmds[0];
	} else {
		/* "gate44 user --json list" */
		while (argc > 1 && strcmp(argv[1], "--json") == 0) {
			c->json = true;
			argc--;
			argv++;
		}
		if (argc < 2)
			return cli_usage_err(c, "%s: which command?", g->name);
		if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0) {
			printf("usage:\n");
			cli_usage_print(stdout, g);
			return CLI_EXIT_OK;
		}
		for (i = 0; i < g->n_cmds; i++)
			if (strcmp(argv[1], g->cmds[i].name) == 0)
				cmd = &g->cmds[i];
		if (cmd == NULL)
			return cli_usage_err(c, "%s: unknown command %s", g->name, argv[1]);
		argc--;
		argv++;
	}
	c->cmd = cmd;
	optind = 0; /* glibc: start over, from argv[1] */
	return cmd->fn(c, argc, argv);
}

/* ---- values ---------------------------------------------------------------- */

int
cli_parse_count(const char *s, int64_t max, int64_t *v)
{
	int64_t n = 0;

	if (s[0] == '\0' || s[strspn(s, "0123456789")] != '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (n > (INT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (*s - '0');
	}
	if (n > max)
		return -EINVAL;
	*v = n;
	return 0;
}

int
cli_parse_id(const char *s, int64_t *id)
{
	int64_t v;

	if (cli_parse_count(s, INT64_MAX, &v) != 0 || v == 0)
		return -EINVAL;
	*id = v;
	return 0;
}

int
cli_parse_expiry(const char *s, int64_t now, int64_t *t)
{
	int y, mo, d, n = 0;
	char unit;
	int64_t v;
	struct tm tm;

	if (s[0] == '+') {
		size_t len = strlen(s);
		char num[24];

		if (len < 3 || len - 2 >= sizeof(num))
			return -EINVAL;
		unit = s[len - 1];
		memcpy(num, s + 1, len - 2);
		num[len - 2] = '\0';
		if (cli_parse_id(num, &v) != 0 || v > 100L * 366 * 24)
			return -EINVAL;
		if (unit == 'd')
			*t = now + v * 86400;
		else if (unit == 'h')
			*t = now + v * 3600;
		else
			return -EINVAL;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && s[n] == '\0' && n == 10) {
		if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
			return -EINVAL;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		*t = (int64_t)timegm(&tm);
		if (tm.tm_mday != d) /* 2025-02-30 */
			return -EINVAL;
		return 0;
	}
	if (cli_parse_id(s, &v) != 0)
		return -EINVAL;
	*t = v;
	return 0;
}

/* ---- files ----------------------------------------------------------------- */

int
cli_write_file(const char *path, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;
	int fd;

	if (strcmp(path, "-") == 0) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "gate44: writing to stdout: %s\n", strerror(errno));
			return CLI_EXIT_API;
		}
		return 0;
	}
	/* the file may hold a private or preshared key: 0600 even when it
	 * existed with a wider mode */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0)
		goto err;
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto err;
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto err;
	}
	return 0;
err:
	fprintf(stderr, "gate44: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return CLI_EXIT_API;
}
