/*
 * api.h — the gate44 CLI's calls to gate44-control's HTTP API: a JSON
 * request and reply, or a raw download, with the bearer token; API errors
 * printed as "gate44: <status> <code>: <message> (<field>)". A request the
 * daemon rate-limits (429) is sent again after its Retry-After. Every
 * function returns an exit code (cli.h) and has printed the reason when it
 * is not CLI_EXIT_OK. Single-threaded.
 */
#ifndef GATE44_CLI_API_H
#define GATE44_CLI_API_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "http_client.h"

/* Once, before any JSON is made: jansson's memory is wiped when freed (the
 * replies of tunnel and token creation hold secrets). */
void cli_api_init(void);

/*
 * method path (under the URL's base), with body (a JSON object, or NULL for
 * none; not stolen) as the request. On 2xx, *out gets the reply (NULL for
 * an empty one, as 204); out may be NULL. quiet: do not print API errors
 * (connection errors are always printed).
 */
int cli_api_call(struct cli *c, const char *method, const char *path, json_t *body, json_t **out,
		 bool quiet);

/* GET path as is (text, PNG, SVG): on 2xx, *r holds it (release it with
 * cli_http_resp_free). */
int cli_api_get_raw(struct cli *c, const char *path, struct cli_http_resp *r);

/*
 * A user named on the command line: a decimal id as is, else a name looked
 * up with GET /v1/users?name= (needs an admin token).
 */
int cli_api_user_id(struct cli *c, const char *arg, int64_t *id);

/* JSON to stdout, indented, for --json. CLI_EXIT_OK (json NULL: nothing). */
int cli_api_print_json(const json_t *json);

#endif /* GATE44_CLI_API_H */
