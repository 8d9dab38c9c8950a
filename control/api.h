/*
 * api.h — the HTTP API of gate44-control: the route table handed to
 * ctl_http_open() and the bearer-token hook that authenticates its
 * requests. The handlers (api_users.c, api_tokens.c, api_tunnels.c,
 * api_misc.c) run on the daemon's main thread, from ctl_http_run(); ctx is
 * always the daemon's struct ctl.
 *
 * Wiring, in main.c:
 *	struct ctl_http_hooks hooks = {.authenticate = ctl_api_authenticate, ...};
 *	c->http = ctl_http_open(listen, ctl_api_routes, ctl_api_n_routes, &hooks, c, ...);
 *
 * The API itself is described by its OpenAPI 3 document, served at
 * GET /v1/openapi.json (openapi.c).
 */
#ifndef GATE44_CTL_API_H
#define GATE44_CTL_API_H

#include <stddef.h>

#include "http.h"

/* What CTL_LIMIT_DEFAULT in a user's max_tunnels / max_addresses means. */
#define CTL_API_MAX_TUNNELS_DEFAULT   10
#define CTL_API_MAX_ADDRESSES_DEFAULT 16

extern const struct ctl_http_route ctl_api_routes[];
extern const size_t ctl_api_n_routes;

/*
 * The ctl_http_hooks.authenticate hook; ctx is the struct ctl. A usable
 * token fills *out (an admin token: CTL_SCOPE_ADMIN, user_id 0; a user
 * token: CTL_SCOPE_USER and its user) and returns 0. An unknown or revoked
 * token, or one of a disabled user: -EACCES (401). A store failure: its
 * -errno (500). The token is never logged.
 */
int ctl_api_authenticate(void *ctx, const char *bearer, struct ctl_principal *out);

#endif /* GATE44_CTL_API_H */
