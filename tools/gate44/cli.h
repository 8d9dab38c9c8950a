/*
 * cli.h — what the gate44 CLI's source files share: the run's settings
 * (daemon URL, token, output mode), exit codes, the command tables each
 * cmd_*.c exports, and the argument helpers in cli.c (getopt over a
 * subcommand, usage errors, ids, counts, expiry times). Single-threaded.
 */
#ifndef GATE44_CLI_H
#define GATE44_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http_client.h"

#define CLI_TOKEN_MAX 512 /* bytes of a bearer token (the daemon's limit) */

#ifndef GATE44_VERSION
#define GATE44_VERSION "dev"
#endif

/* Exit codes, part of the interface: scripts test them. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_API = 1,   /* the API refused (4xx/5xx), or a local failure (-o FILE) */
	CLI_EXIT_USAGE = 2, /* bad command line */
	CLI_EXIT_CONN = 3,  /* cannot connect, or no usable HTTP response */
};

struct cli_cmd;
struct cli_group;

struct cli {
	struct cli_http_url url;
	char url_text[600];
	char *token;		       /* NULL: none; wiped and freed by main */
	char token_from[300];	       /* where it came from, for the 401 hint */
	bool json;		       /* --json: print the API's JSON, not tables */
	const struct cli_group *group; /* the command running, for usage lines */
	const struct cli_cmd *cmd;
};

/* One subcommand: "gate44 <group> <name> ...", argv[0] being name. A group
 * without subcommands (status) has one entry with name NULL, and argv[0]
 * is the group's name. */
struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage; /* the arguments after "gate44 <group> <name>" */
	const char *help;  /* one line: what it does */
};

struct cli_group {
	const char *name;  /* "user" */
	const char *alias; /* "users", or NULL */
	const struct cli_cmd *cmds;
	size_t n_cmds;
};

extern const struct cli_group cli_group_user;	 /* cmd_users.c */
extern const struct cli_group cli_group_token;	 /* cmd_tokens.c */
extern const struct cli_group cli_group_tunnel;	 /* cmd_tunnels.c */
extern const struct cli_group cli_group_status;	 /* cmd_misc.c */
extern const struct cli_group cli_group_pool;	 /* cmd_misc.c */
extern const struct cli_group cli_group_metrics; /* cmd_misc.c */

/* ---- shared between command files ------------------------------------------- */

/* cmd_tunnels.c: one tunnel's live status (gate44 status ID). */
int cli_tunnel_status_show(struct cli *c, int64_t id);

/* cmd_config.c: gate44 tunnel config / tunnel qr. */
int cli_tunnel_config(struct cli *c, int argc, char **argv);
int cli_tunnel_qr(struct cli *c, int argc, char **argv);
/*
 * A client configuration as tunnel create gives it out: written to path
 * (NULL: stdout) and/or drawn as a QR code on the terminal. An exit code.
 */
int cli_config_emit(const char *text, const char *path, bool qr);

/* ---- cli.c ----------------------------------------------------------------- */

/* Put these last (before the terminator) in a subcommand's long options:
 * cli_getopt handles --json itself, and --help. */
#define CLI_OPTS_COMMON                        \
	{"json", no_argument, NULL, 'J'},      \
	{                                      \
		"help", no_argument, NULL, 'h' \
	}

/*
 * getopt_long over the running subcommand's argv, options and operands in
 * any order. Returns the option character, or -1 at the end (operands are
 * then argv[optind..argc)). Returns 'h' after printing the subcommand's
 * help (the caller exits CLI_EXIT_OK) and '?' after printing what was wrong
 * and the usage line (the caller exits CLI_EXIT_USAGE).
 */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* Run a group's subcommand: argv[0] is the group's name. */
int cli_group_run(struct cli *c, const struct cli_group *g, int argc, char **argv);

/* The usage lines of a group's commands, to f. */
void cli_usage_print(FILE *f, const struct cli_group *g);

/* "gate44: <message>" and the running subcommand's usage line on stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_err(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The subcommand's operands after the options: exactly n of them. 0, or
 * CLI_EXIT_USAGE after saying so. */
int cli_operands(const struct cli *c, int argc, int n);

/* A positive decimal id (1..INT64_MAX): 0 or -EINVAL. */
int cli_parse_id(const char *s, int64_t *id);
/* A decimal integer in [0, max]: 0 or -EINVAL. */
int cli_parse_count(const char *s, int64_t max, int64_t *v);
/*
 * An expiry time: unix seconds, "+Nd" (days from now), "+Nh" (hours) or
 * "YYYY-MM-DD" (00:00 UTC). now is the current unix time. 0 or -EINVAL.
 */
int cli_parse_expiry(const char *s, int64_t now, int64_t *t);

/* Write len bytes to path (mode 0600 when created; "-" is stdout): 0, or
 * CLI_EXIT_API after printing why. */
int cli_write_file(const char *path, const void *buf, size_t len);

#endif /* GATE44_CLI_H */
