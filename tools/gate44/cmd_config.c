/*
 * cmd_config.c — a tunnel's wg-quick client configuration in the CLI:
 * `gate44 tunnel config` (the text, to stdout or a 0600 file), `gate44
 * tunnel qr` (a QR code on the terminal, or the daemon's PNG or SVG in a
 * file), and the output of `tunnel create`, whose configuration may hold
 * the private key. Runs on the CLI's only thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <sodium.h>

#include "api.h"
#include "cli.h"
#include "qr_term.h"

#define QR_QUIET     4 /* the standard border, in modules */
#define QR_QUIET_MIN 2 /* what phones still scan, for narrow terminals */
#define COLUMNS_DFL  80

/* Downloads carry the commented placeholder instead of a private key. */
static bool
has_private_key(const char *text)
{
	const char *p = text;

	while ((p = strstr(p, "PrivateKey")) != NULL) {
		if (p == text || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

static unsigned
term_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	long v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env != NULL && (v = strtol(env, NULL, 10)) > 0 && v < 10000)
		return (unsigned)v;
	return COLUMNS_DFL;
}

/* The QR code of text on stdout, the border as wide as the terminal allows. */
static int
qr_draw(const char *text, enum cli_qr_style style)
{
	unsigned cols = term_columns(), quiet = QR_QUIET;
	int w, rc;

	w = cli_qr_width(text, quiet);
	if (w > 0 && (unsigned)w > cols)
		quiet = QR_QUIET_MIN;
	w = cli_qr_width(text, quiet);
	if (w > 0 && (unsigned)w > cols)
		fprintf(stderr,
			"gate44: the QR code is %d columns wide, the terminal %u: "
			"widen it or use -o FILE.png\n",
			w, cols);
	rc = cli_qr_print(stdout, text, style, quiet);
	if (rc == -EMSGSIZE) {
		fprintf(stderr, "gate44: the configuration is too long for a QR code\n");
		return CLI_EXIT_API;
	}
	if (rc != 0) {
		fprintf(stderr, "gate44: cannot make the QR code: %s\n", strerror(-rc));
		return CLI_EXIT_API;
	}
	fflush(stdout);
	return CLI_EXIT_OK;
}

int
cli_config_emit(const char *text, const char *path, bool qr)
{
	int rc = CLI_EXIT_OK, rq;
	bool kept = false;

	if (path != NULL) {
		rc = cli_write_file(path, text, strlen(text));
		kept = rc == CLI_EXIT_OK;
		if (kept)
			fprintf(stderr, "gate44: configuration written to %s\n", path);
	}
	if (qr) {
		rq = qr_draw(text, getenv("NO_COLOR") != NULL ? CLI_QR_DARK : CLI_QR_ANSI);
		kept = kept || rq == CLI_EXIT_OK;
		if (rc == CLI_EXIT_OK)
			rc = rq;
	}
	/* a generated private key exists nowhere else: whatever failed, the
	 * configuration is not lost */
	if (!kept) {
		if (path != NULL || qr)
			fprintf(stderr, "gate44: so the configuration follows here; it cannot "
					"be had again\n");
		if (cli_write_file("-", text, strlen(text)) != CLI_EXIT_OK)
			rc = CLI_EXIT_API;
	}
	return rc;
}

/* The one operand, a tunnel id. */
static int
tunnel_id(struct cli *c, int argc, char **argv, int64_t *id)
{
	int rc;

	if ((rc = cli_operands(c, argc, 1)) != 0)
		return rc;
	if (cli_parse_id(argv[optind], id) != 0)
		return cli_usage_err(c, "%s: not a tunnel id", argv[optind]);
	return 0;
}

/* GET /v1/tunnels/ID<suffix> into r. */
static int
download(struct cli *c, int64_t id, const char *suffix, struct cli_http_resp *r)
{
	char path[96];

	snprintf(path, sizeof(path), "/v1/tunnels/%" PRId64 "%s", id, suffix);
	return cli_api_get_raw(c, path, r);
}

static void
no_key_note(const char *text)
{
	if (!has_private_key(text))
		fprintf(stderr, "gate44: note: this configuration holds no private key (the "
				"daemon keeps none): the user fills in theirs\n");
}

/* gate44 tunnel config ID [-o FILE] */
int
cli_tunnel_config(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		CLI_OPTS_COMMON,
		{0},
	};
	struct cli_http_resp r;
	const char *out = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "o:", opts)) != -1) {
		if (o != 'o')
			return o == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		out = optarg;
	}
	if ((rc = tunnel_id(c, argc, argv, &id)) != 0)
		return rc;
	if ((rc = download(c, id, "/config", &r)) != 0)
		return rc;
	rc = cli_write_file(out != NULL ? out : "-", r.body, r.body_len);
	if (rc == CLI_EXIT_OK && out != NULL)
		no_key_note((const char *)r.body);
	cli_http_resp_free(&r);
	return rc;
}

/* FILE.png or FILE.svg: the download's suffix, or NULL. */
static const char *
image_suffix(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && strcasecmp(dot, ".png") == 0)
		return "/config.png";
	if (dot != NULL && strcasecmp(dot, ".svg") == 0)
		return "/config.svg";
	return NULL;
}

/* gate44 tunnel qr ID [-o FILE.png|FILE.svg] [--plain|--light] */
int
cli_tunnel_qr(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"plain", no_argument, NULL, 'p'},
		{"light", no_argument, NULL, 'l'},
		CLI_OPTS_COMMON,
		{0},
	};
	enum cli_qr_style style = getenv("NO_COLOR") != NULL ? CLI_QR_DARK : CLI_QR_ANSI;
	struct cli_http_resp r;
	const char *out = NULL, *suffix = NULL;
	int64_t id;
	int o, rc;

	while ((o = cli_getopt(c, argc, argv, "o:", opts)) != -1) {
		switch (o) {
		case 'o':
			out = optarg;
			break;
		case 'p':
			style = CLI_QR_DARK;
			break;
		case 'l':
			style = CLI_QR_LIGHT;
			break;
		case 'h':
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if ((rc = tunnel_id(c, argc, argv, &id)) != 0)
		return rc;
	if (out != NULL && (suffix = image_suffix(out)) == NULL)
		return cli_usage_err(c, "-o %s: the file name must end in .png or .svg", out);

	if (out != NULL) {
		if ((rc = download(c, id, suffix, &r)) != 0)
			return rc;
		rc = cli_write_file(out, r.body, r.body_len);
		cli_http_resp_free(&r);
		if (rc == CLI_EXIT_OK)
			fprintf(stderr, "gate44: QR code written to %s\n", out);
	} else {
		if ((rc = download(c, id, "/config", &r)) != 0)
			return rc;
		rc = qr_draw((const char *)r.body, style);
		cli_http_resp_free(&r);
	}
	/* true of every download: only the creation reply holds a private key */
	if (rc == CLI_EXIT_OK)
		fprintf(stderr, "gate44: note: this QR code holds no private key (the daemon "
				"keeps none), so the WireGuard app will not import it as it is; "
				"`gate44 tunnel create --qr` shows a complete one, once\n");
	return rc;
}
