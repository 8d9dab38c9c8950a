/*
 * api.h — the engine's operations, one function per change, shared by the
 * startup config and the engine socket (which is a thin JSON wrapper over
 * these). Main lcore only. Each call is all-or-nothing: on error nothing
 * changed and err says why.
 */
#ifndef GATE44_API_H
#define GATE44_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "wg_peer.h"

/* A WireGuard interface from its config section. */
int dp_api_wg_add(const struct dp_cfg_wg *w, char *err, size_t errlen);
/* Find an interface by name; -1 when none. */
int dp_api_wg_find(const char *name);

/* Add or update a peer. allowed: its allowed IPs (host bits zero); with
 * replace_allowed the list replaces the current one, else it is added to
 * it. Each allowed IP also routes to the peer. */
int dp_api_peer_set(const struct dp_peer_conf *c, const struct dp_cfg_prefix *allowed,
		    unsigned n_allowed, bool replace_allowed, char *err, size_t errlen);
int dp_api_peer_remove(uint16_t wg_if, const uint8_t pub[32], char *err, size_t errlen);

/* Routes (kind as in config.h; for DP_ROUTE_VIA the gateway and port index,
 * for DP_ROUTE_PEER the peer's interface and public key). */
struct dp_api_route {
	enum dp_route_kind kind;
	struct dp_cfg_prefix prefix;
	uint8_t via[16];
	uint16_t port;
	uint16_t wg_if;
	uint8_t peer_key[32];
};
int dp_api_route_add(const struct dp_api_route *r, char *err, size_t errlen);
int dp_api_route_del(const struct dp_cfg_prefix *prefix, char *err, size_t errlen);

/* Everything configured at start: interfaces, addresses, peers, routes. */
int dp_api_apply_config(const struct dp_cfg *cfg, char *err, size_t errlen);

/* A peer's allowed IPs (main lcore; valid until the next change). */
unsigned dp_api_peer_allowed(uint32_t id, const struct dp_cfg_prefix **v);

/* Read-only views for the engine socket and telemetry (new references). */
json_t *dp_api_stats_json(void);          /* per lcore, per port, drop reasons */
json_t *dp_api_peers_json(int wg_if);     /* -1: all interfaces */
json_t *dp_api_peer_json(uint16_t wg_if, const uint8_t pub[32]);
json_t *dp_api_interfaces_json(void);
json_t *dp_api_routes_json(void);

#endif /* GATE44_API_H */
