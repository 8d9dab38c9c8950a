/*
 * api.c — the gate44 CLI's side of gate44-control's HTTP API: requests
 * with the bearer token, JSON in and out, the house error object turned
 * into one line on stderr, user names resolved to ids. Runs on the CLI's
 * only thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define RATE_RETRIES  4	 /* attempts of a request the daemon rate-limits (429) */
#define RATE_WAIT_MAX 10 /* s: longer Retry-After values are cut to this */

/* ---- memory that is wiped when freed -------------------------------------- */

#define HDR _Alignof(max_align_t) /* room for the size, keeping alignment */

static void *
wipe_malloc(size_t n)
{
	unsigned char *p;

	if (n > SIZE_MAX - HDR)
		return NULL;
	p = malloc(n + HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + HDR;
}

static void
wipe_free(void *ptr)
{
	unsigned char *p = ptr;
	size_t n;

	if (p == NULL)
		return;
	p -= HDR;
	memcpy(&n, p, sizeof(n));
	sodium_memzero(p, n + HDR);
	free(p);
}

void
cli_api_init(void)
{
	json_set_alloc_funcs(wipe_malloc, wipe_free);
}

/* ---- requests -------------------------------------------------------------- */

/* Seconds to wait before retrying a 429: Retry-After (delta seconds), 1 by
 * default, at most RATE_WAIT_MAX. */
static unsigned
retry_after(const char *v)
{
	unsigned long s;
	char *end;

	s = strtoul(v, &end, 10);
	if (end == v || *end != '\0' || s < 1)
		return 1;
	return s > RATE_WAIT_MAX ? RATE_WAIT_MAX : (unsigned)s;
}

/* Send one request (again after a 429, up to RATE_RETRIES times in all);
 * CLI_EXIT_CONN after printing why it failed. */
static int
request(struct cli *c, const char *method, const char *path, const char *accept, const char *body,
	size_t body_len, struct cli_http_resp *r)
{
	struct cli_http_header h[4];
	char auth[CLI_TOKEN_MAX + 16];
	char err[256];
	unsigned attempt, wait;
	size_t n = 0;
	int rc;

	h[n++] = (struct cli_http_header){"Accept", accept};
	h[n++] = (struct cli_http_header){"User-Agent", "gate44/" GATE44_VERSION};
	if (c->token != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", c->token);
		h[n++] = (struct cli_http_header){"Authorization", auth};
	}
	if (body != NULL)
		h[n++] = (struct cli_http_header){"Content-Type", "application/json"};
	for (attempt = 1;; attempt++) {
		rc = cli_http_request(&c->url, method, path, h, n, body, body_len, r, err,
				      sizeof(err));
		/* 429 comes before the handler runs: nothing was done, so even a
		 * POST is safe to send again (scripts in loops hit the limit) */
		if (rc != 0 || r->status != 429 || attempt == RATE_RETRIES)
			break;
		wait = retry_after(r->retry_after);
		cli_http_resp_free(r);
		sleep(wait);
	}
	sodium_memzero(auth, sizeof(auth));
	if (rc != 0) {
		fprintf(stderr, "gate44: %s: %s\n", c->url_text, err);
		return CLI_EXIT_CONN;
	}
	return CLI_EXIT_OK;
}

/* The daemon's text to stderr, control characters as '?': one line. */
static void
print_clean(const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, stderr);
}

/* A non-2xx reply as one line: "gate44: 404 not_found: no such user". */
static int
api_error(const struct cli *c, const struct cli_http_resp *r)
{
	json_t *j = NULL, *e;
	const char *code = NULL, *msg = NULL, *field = NULL;

	if (r->body_len > 0)
		j = json_loadb((const char *)r->body, r->body_len, 0, NULL);
	e = json_object_get(j, "error");
	if (json_is_object(e)) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
		field = json_string_value(json_object_get(e, "field"));
	}
	fprintf(stderr, "gate44: %d ", r->status);
	print_clean(code != NULL ? code : "http_error");
	fputs(": ", stderr);
	print_clean(msg != NULL ? msg : (r->reason[0] != '\0' ? r->reason : "request failed"));
	if (field != NULL) {
		fputs(" (", stderr);
		print_clean(field);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
	if (r->retry_after[0] != '\0')
		fprintf(stderr, "gate44: the daemon asks to retry after %s s\n", r->retry_after);
	if (r->status == 401 && c->token == NULL)
		fprintf(stderr, "gate44: no token: use --token, $GATE44_TOKEN or "
				"~/.config/gate44/token\n");
	else if (r->status == 401)
		fprintf(stderr, "gate44: the token (from %s) was refused\n", c->token_from);
	json_decref(j);
	return CLI_EXIT_API;
}

int
cli_api_call(struct cli *c, const char *method, const char *path, json_t *body, json_t **out,
	     bool quiet)
{
	struct cli_http_resp r;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	json_t *j;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			fprintf(stderr, "gate44: out of memory\n");
			return CLI_EXIT_API;
		}
		len = strlen(text);
	}
	rc = request(c, method, path, "application/json", text, len, &r);
	if (text != NULL)
		wipe_free(text); /* json_dumps memory is jansson's: our allocator */
	if (rc != CLI_EXIT_OK)
		return rc;
	if (r.status < 200 || r.status > 299) {
		rc = quiet ? CLI_EXIT_API : api_error(c, &r);
		cli_http_resp_free(&r);
		return rc;
	}
	if (r.body_len > 0 && out != NULL) {
		j = json_loadb((const char *)r.body, r.body_len, 0, &jerr);
		if (j == NULL) {
			fprintf(stderr, "gate44: %d reply to %s %s is not JSON: %s\n", r.status,
				method, path, jerr.text);
			cli_http_resp_free(&r);
			return CLI_EXIT_API;
		}
		*out = j;
	}
	cli_http_resp_free(&r);
	return CLI_EXIT_OK;
}

int
cli_api_get_raw(struct cli *c, const char *path, struct cli_http_resp *r)
{
	int rc;

	rc = request(c, "GET", path, "*/*", NULL, 0, r);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (r->status < 200 || r->status > 299) {
		rc = api_error(c, r);
		cli_http_resp_free(r);
		return rc;
	}
	return CLI_EXIT_OK;
}

/* ---- helpers --------------------------------------------------------------- */

/* Percent-encode all but RFC 3986 unreserved characters. */
static void
url_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s != '\0' && n + 4 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

int
cli_api_user_id(struct cli *c, const char *arg, int64_t *id)
{
	char enc[256], path[300];
	json_t *j = NULL, *u;
	int rc;

	if (cli_parse_id(arg, id) == 0)
		return CLI_EXIT_OK;
	if (arg[0] == '\0' || strlen(arg) > 64)
		return cli_usage_err(c, "%s: not a user id or name", arg);
	url_encode(arg, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/v1/users?name=%s", enc);
	rc = cli_api_call(c, "GET", path, NULL, &j, false);
	if (rc != CLI_EXIT_OK)
		return rc;
	u = json_array_get(json_object_get(j, "users"), 0);
	if (!json_is_integer(json_object_get(u, "id"))) {
		fprintf(stderr, "gate44: no user named %s\n", arg);
		json_decref(j);
		return CLI_EXIT_API;
	}
	*id = json_integer_value(json_object_get(u, "id"));
	json_decref(j);
	return CLI_EXIT_OK;
}

int
cli_api_print_json(const json_t *json)
{
	if (json == NULL)
		return CLI_EXIT_OK;
	if (json_dumpf(json, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) == EOF) {
		fprintf(stderr, "gate44: writing to stdout failed\n");
		return CLI_EXIT_API;
	}
	return CLI_EXIT_OK;
}
