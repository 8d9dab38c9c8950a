/*
 * openapi.c — the OpenAPI 3.0 document of gate44-control's HTTP API,
 * served at GET /v1/openapi.json. The paths are generated from the route
 * table itself (ctl_api_routes), so every route the server answers is in
 * the document, with its authentication, parameters, body, success reply
 * and error replies; the words come from the table below. The schemas,
 * parameters and security scheme are one JSON text. Built once, on the
 * first request, by the daemon's main thread (ctl_http_run).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api_int.h"

#define API_VERSION "1.0.0"

/* What the route table cannot say about a route. */
struct op_doc {
	const char *method, *pattern;
	const char *summary;
	const char *description;
	const char *body;   /* the schema of the JSON request body; NULL: none */
	const char *query;  /* query parameters, space-separated (components) */
	unsigned ok;	    /* the success status */
	const char *result; /* a schema name, or a media type (holds a '/'); NULL: no body */
	const char *errors; /* statuses the handler answers, space-separated */
};

static const struct op_doc docs[] = {
	{"GET", "/v1/users", "List users (admin)", NULL, NULL, "name", 200, "UserList", ""},
	{"POST", "/v1/users", "Create a user (admin)",
	 "Limits left out or null take the server defaults (10 tunnels, 16 addresses).",
	 "UserCreate", NULL, 201, "User", "409"},
	{"GET", "/v1/users/{id}", "Get a user (admin, or the user's own token)", NULL, NULL, NULL,
	 200, "User", ""},
	{"PATCH", "/v1/users/{id}", "Change a user's email, limits or disabled flag (admin)",
	 "Disabling a user takes all their tunnels out of the engine and refuses their tokens; "
	 "enabling brings them back. Applied whole or not at all.",
	 "UserPatch", NULL, 200, "User", "503 507"},
	{"DELETE", "/v1/users/{id}",
	 "Delete a user with their tokens, tunnels and addresses (admin)", NULL, NULL, NULL, 204,
	 NULL, "503 507"},

	{"GET", "/v1/tokens", "List API tokens (admin: all; user: its own user's)",
	 "The secrets are never listed, only their first characters (prefix).", NULL, "user_id",
	 200, "TokenList", "404"},
	{"POST", "/v1/tokens", "Create an API token",
	 "An admin creates admin tokens and user tokens of any user; a user token creates user "
	 "tokens of its own user only (403 otherwise). The secret is in this response only. A "
	 "user holds at most 64 live tokens (409 limit_exceeded).",
	 "TokenCreate", NULL, 201, "TokenCreated", "403 404 409 503 507"},
	{"DELETE", "/v1/tokens/{id}", "Revoke an API token (admin: any; user: its own user's)",
	 "The token stays listed as revoked; revoking it again is a no-op.", NULL, NULL, 204, NULL,
	 "503 507"},

	{"GET", "/v1/tunnels", "List tunnels (admin: all; user: its own)", NULL, NULL, "user_id",
	 200, "TunnelList", "404"},
	{"POST", "/v1/tunnels", "Create a tunnel",
	 "Allocates addresses from the interface's pools and adds the peer to the engine, or does "
	 "nothing. Without public_key the server makes the key pair: the private key and the full "
	 "config are in this response only. 409: a limit of the user (code limit_exceeded), a "
	 "full pool, an own prefix or public key already taken. 503: the engine is unavailable.",
	 "TunnelCreate", NULL, 201, "TunnelCreated", "403 404 409 503 507"},
	{"GET", "/v1/tunnels/{id}", "Get a tunnel", NULL, NULL, NULL, 200, "Tunnel", ""},
	{"PATCH", "/v1/tunnels/{id}", "Change a tunnel",
	 "Applied to the store and the engine together, or not at all.", "TunnelPatch", NULL, 200,
	 "Tunnel", "409 503 507"},
	{"DELETE", "/v1/tunnels/{id}", "Delete a tunnel and free its addresses", NULL, NULL, NULL,
	 204, NULL, "503 507"},
	{"GET", "/v1/tunnels/{id}/config", "The tunnel's wg-quick client config",
	 "Without the private key (a commented placeholder: fill in your key), with the preshared "
	 "key if any. 409 interface_gone: the tunnel's interface is no longer configured.",
	 NULL, NULL, 200, "text/plain", "409"},
	{"GET", "/v1/tunnels/{id}/config.png", "The client config as a QR code (PNG)",
	 "The config has no private key: the WireGuard apps need it filled in. 409 "
	 "too_large_for_qr: too many addresses for a QR code.",
	 NULL, NULL, 200, "image/png", "409"},
	{"GET", "/v1/tunnels/{id}/config.svg", "The client config as a QR code (SVG)",
	 "As config.png.", NULL, NULL, 200, "image/svg+xml", "409"},
	{"GET", "/v1/tunnels/{id}/status", "The engine's view of the tunnel now",
	 "503 engine_unavailable when the engine cannot be asked.", NULL, NULL, 200, "TunnelStatus",
	 "503"},
	{"GET", "/v1/tunnels/{id}/history", "Traffic history of the tunnel",
	 "Bytes per counter interval, oldest first.", NULL, "from to", 200, "TunnelHistory", ""},

	{"GET", "/v1/pools", "Address pools and their use (admin)", NULL, NULL, NULL, 200,
	 "PoolList", ""},
	{"GET", "/v1/status", "The POP at a glance (admin)", NULL, NULL, NULL, 200, "Status", ""},
	{"GET", "/metrics", "Prometheus metrics (admin token)",
	 "Per tunnel (labels tunnel, user, interface): rx/tx bytes, connected, active, last "
	 "handshake; POP totals; pool use; the engine's drops by reason (while connected); API "
	 "requests by method, route and code.",
	 NULL, NULL, 200, "text/plain; version=0.0.4", ""},
	{"GET", "/v1/openapi.json", "This document (no token needed)", NULL, NULL, NULL, 200,
	 "application/json", ""},
};

static const struct {
	unsigned status;
	const char *description;
} error_docs[] = {
	{400, "Invalid request: a bad value (code invalid, field names it), an unknown body "
	      "member (unknown_field), bad JSON (invalid_json), a body that is not an object or "
	      "a bad path or query parameter (bad_request)."},
	{401, "No token, or an unknown or revoked one, or one of a disabled user."},
	{403, "A user token on an admin route, or acting for another user."},
	{404, "No such object, or one of another user (for user tokens)."},
	{405, "The path exists; the method does not (see Allow)."},
	{409, "Conflict: taken (address, prefix, key, name), a full pool, a user's limit "
	      "(limit_exceeded)."},
	{413, "The request body is larger than the limit (64 KiB by default)."},
	{429, "Too many changes with this token (20/s, bursts of 40 by default); see "
	      "Retry-After."},
	{500, "Internal error."},
	{503, "The engine is unavailable (engine_unavailable), the store is read-only "
	      "(store_readonly) or locked (store_busy)."},
	{507, "The store is full (disk full or its size limit)."},
};

static const char info_description[] =
	"The control API of a gate44 POP: users (radio amateurs), their API tokens, their "
	"WireGuard tunnels with 44net (AMPRNet) addresses, address pools, status and metrics.\n\n"
	"Authentication: `Authorization: Bearer g44_...`. Admin tokens reach every route; user "
	"tokens reach only their own user's objects, and another user's object is answered 404 as "
	"if it did not exist.\n\n"
	"Bodies are JSON objects; members not listed are refused (400 unknown_field, with field). "
	"Times are unix seconds (integers); null means never. Every error is "
	"`{\"error\": {\"code\", \"message\", \"field\"?}}`.\n\n"
	"Limits: a user holds at most max_tunnels tunnels and max_addresses addresses (pool "
	"addresses and own prefixes); null limits mean 10 and 16. Past a limit: 409 "
	"limit_exceeded. Changes are rate-limited per token (429).";

/* Schemas, parameters and the security scheme. */
/* clang-format off */
static const char components_json[] =
	"{\n"
	" \"securitySchemes\": {\n"
	"  \"bearer\": {\"type\": \"http\", \"scheme\": \"bearer\",\n"
	"   \"description\": \"An API token (g44_...). Admin tokens reach everything; user tokens"
		" reach their own user's objects only.\"}\n"
	" },\n"
	" \"parameters\": {\n"
	"  \"id\": {\"name\": \"id\", \"in\": \"path\", \"required\": true, \"description\": \"The"
		" object's id.\",\n"
	"   \"schema\": {\"type\": \"integer\", \"format\": \"int64\", \"minimum\": 1}},\n"
	"  \"user_id\": {\"name\": \"user_id\", \"in\": \"query\", \"required\": false,\n"
	"   \"description\": \"Only this user's objects (admin). A user token may give only its own"
		" user's id; another id is 404.\",\n"
	"   \"schema\": {\"type\": \"integer\", \"format\": \"int64\", \"minimum\": 1}},\n"
	"  \"name\": {\"name\": \"name\", \"in\": \"query\", \"required\": false,\n"
	"   \"description\": \"Only the user of this name (case-insensitive).\",\n"
	"   \"schema\": {\"type\": \"string\", \"maxLength\": 32}},\n"
	"  \"from\": {\"name\": \"from\", \"in\": \"query\", \"required\": false,\n"
	"   \"description\": \"Unix seconds; default: to - 86400.\",\n"
	"   \"schema\": {\"type\": \"integer\", \"format\": \"int64\", \"minimum\": 0}},\n"
	"  \"to\": {\"name\": \"to\", \"in\": \"query\", \"required\": false,\n"
	"   \"description\": \"Unix seconds; default: now.\",\n"
	"   \"schema\": {\"type\": \"integer\", \"format\": \"int64\", \"minimum\": 0}}\n"
	" },\n"
	" \"schemas\": {\n"
	"  \"Error\": {\"type\": \"object\", \"required\": [\"error\"], \"additionalProperties\":"
		" false,\n"
	"   \"properties\": {\"error\": {\"type\": \"object\", \"required\": [\"code\","
		" \"message\"], \"additionalProperties\": false,\n"
	"    \"properties\": {\n"
	"     \"code\": {\"type\": \"string\", \"description\": \"Stable, machine-readable: invalid,"
		" unknown_field, invalid_json, bad_request, unauthorized, forbidden, not_found,"
		" method_not_allowed, conflict, limit_exceeded, interface_gone, too_large_for_qr,"
		" payload_too_large, rate_limited, engine_unavailable, store_readonly, store_busy,"
		" store_full, internal; the operations add pool_exhausted, duplicate_key,"
		" address_taken, no_pool, engine_error, store_error.\"},\n"
	"     \"message\": {\"type\": \"string\", \"description\": \"For humans; may change.\"},\n"
	"     \"field\": {\"type\": \"string\", \"description\": \"The request field at fault, as a"
		" path: user_id, addresses.ipv4, own_prefixes[0].\"}}}}},\n"
	"  \"Timestamp\": {\"type\": \"integer\", \"format\": \"int64\", \"description\": \"Unix"
		" seconds (UTC).\"},\n"
	"  \"User\": {\"type\": \"object\",\n"
	"   \"required\": [\"id\", \"name\", \"email\", \"disabled\", \"max_tunnels\","
		" \"max_addresses\", \"limits\", \"created_at\"],\n"
	"   \"properties\": {\n"
	"    \"id\": {\"type\": \"integer\", \"format\": \"int64\"},\n"
	"    \"name\": {\"type\": \"string\", \"pattern\": \"^[A-Za-z0-9._-]{1,32}$\","
		" \"description\": \"Unique, case-insensitively (a callsign).\"},\n"
	"    \"email\": {\"type\": \"string\", \"nullable\": true},\n"
	"    \"disabled\": {\"type\": \"boolean\", \"description\": \"All the user's tunnels are"
		" inactive and the user's tokens are refused.\"},\n"
	"    \"max_tunnels\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"null:"
		" the server default (10).\"},\n"
	"    \"max_addresses\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"null:"
		" the server default (16). Pool addresses and own prefixes both count.\"},\n"
	"    \"limits\": {\"type\": \"object\", \"description\": \"The limits in force.\",\n"
	"     \"properties\": {\"tunnels\": {\"type\": \"integer\"}, \"addresses\": {\"type\":"
		" \"integer\"}}},\n"
	"    \"usage\": {\"type\": \"object\", \"description\": \"What the user holds now.\",\n"
	"     \"properties\": {\"tunnels\": {\"type\": \"integer\"}, \"addresses\": {\"type\":"
		" \"integer\"}}},\n"
	"    \"created_at\": {\"$ref\": \"#/components/schemas/Timestamp\"}}},\n"
	"  \"UserList\": {\"type\": \"object\", \"required\": [\"users\"],\n"
	"   \"properties\": {\"users\": {\"type\": \"array\", \"items\": {\"$ref\":"
		" \"#/components/schemas/User\"}}}},\n"
	"  \"UserCreate\": {\"type\": \"object\", \"required\": [\"name\"],"
		" \"additionalProperties\": false,\n"
	"   \"properties\": {\n"
	"    \"name\": {\"type\": \"string\", \"pattern\": \"^[A-Za-z0-9._-]{1,32}$\"},\n"
	"    \"email\": {\"type\": \"string\", \"nullable\": true, \"maxLength\": 254},\n"
	"    \"max_tunnels\": {\"type\": \"integer\", \"nullable\": true, \"minimum\": 0,"
		" \"maximum\": 1000000},\n"
	"    \"max_addresses\": {\"type\": \"integer\", \"nullable\": true, \"minimum\": 0,"
		" \"maximum\": 1000000}}},\n"
	"  \"UserPatch\": {\"type\": \"object\", \"additionalProperties\": false,\n"
	"   \"description\": \"Only the members given change. Lowering a limit below what the user"
		" holds only stops new tunnels and addresses.\",\n"
	"   \"properties\": {\n"
	"    \"email\": {\"type\": \"string\", \"nullable\": true, \"maxLength\": 254},\n"
	"    \"max_tunnels\": {\"type\": \"integer\", \"nullable\": true, \"minimum\": 0,"
		" \"maximum\": 1000000},\n"
	"    \"max_addresses\": {\"type\": \"integer\", \"nullable\": true, \"minimum\": 0,"
		" \"maximum\": 1000000},\n"
	"    \"disabled\": {\"type\": \"boolean\"}}},\n"
	"  \"Token\": {\"type\": \"object\", \"required\": [\"id\", \"scope\", \"user_id\","
		" \"name\", \"prefix\", \"created_at\", \"last_used_at\", \"revoked\"],\n"
	"   \"properties\": {\n"
	"    \"id\": {\"type\": \"integer\", \"format\": \"int64\"},\n"
	"    \"scope\": {\"type\": \"string\", \"enum\": [\"admin\", \"user\"]},\n"
	"    \"user_id\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"null for"
		" admin tokens.\"},\n"
	"    \"name\": {\"type\": \"string\"},\n"
	"    \"prefix\": {\"type\": \"string\", \"description\": \"The secret's first 12 characters,"
		" to tell tokens apart.\"},\n"
	"    \"created_at\": {\"$ref\": \"#/components/schemas/Timestamp\"},\n"
	"    \"last_used_at\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Unix"
		" seconds, to within a minute; null: never.\"},\n"
	"    \"revoked\": {\"type\": \"boolean\"}}},\n"
	"  \"TokenList\": {\"type\": \"object\", \"required\": [\"tokens\"],\n"
	"   \"properties\": {\"tokens\": {\"type\": \"array\", \"items\": {\"$ref\":"
		" \"#/components/schemas/Token\"}}}},\n"
	"  \"TokenCreate\": {\"type\": \"object\", \"additionalProperties\": false,\n"
	"   \"properties\": {\n"
	"    \"name\": {\"type\": \"string\", \"maxLength\": 64},\n"
	"    \"scope\": {\"type\": \"string\", \"enum\": [\"admin\", \"user\"], \"default\":"
		" \"user\"},\n"
	"    \"user_id\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Required"
		" for user tokens made by an admin; a user token may only give its own user (or nothing)."
		" Not allowed for admin tokens.\"}}},\n"
	"  \"TokenCreated\": {\"allOf\": [{\"$ref\": \"#/components/schemas/Token\"},\n"
	"   {\"type\": \"object\", \"required\": [\"secret\"],\n"
	"    \"properties\": {\"secret\": {\"type\": \"string\", \"description\": \"The bearer"
		" token. Shown in this response only; the server keeps its hash.\"}}}]},\n"
	"  \"Tunnel\": {\"type\": \"object\",\n"
	"   \"required\": [\"id\", \"user_id\", \"interface\", \"name\", \"public_key\","
		" \"has_preshared_key\", \"persistent_keepalive\", \"enabled\", \"active\", \"expires_at\","
		" \"expired\", \"addresses\", \"created_at\", \"updated_at\", \"rx_bytes\", \"tx_bytes\","
		" \"last_handshake\", \"endpoint\", \"connected\"],\n"
	"   \"properties\": {\n"
	"    \"id\": {\"type\": \"integer\", \"format\": \"int64\"},\n"
	"    \"user_id\": {\"type\": \"integer\", \"format\": \"int64\"},\n"
	"    \"interface\": {\"type\": \"string\"},\n"
	"    \"name\": {\"type\": \"string\"},\n"
	"    \"public_key\": {\"type\": \"string\", \"description\": \"The user's WireGuard public"
		" key (base64).\"},\n"
	"    \"has_preshared_key\": {\"type\": \"boolean\"},\n"
	"    \"private_key_generated\": {\"type\": \"boolean\", \"description\": \"The server made"
		" the key pair (and no longer has the private key).\"},\n"
	"    \"persistent_keepalive\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 65535},\n"
	"    \"enabled\": {\"type\": \"boolean\"},\n"
	"    \"active\": {\"type\": \"boolean\", \"description\": \"Enabled, not expired and the"
		" user not disabled: the engine has the peer.\"},\n"
	"    \"expires_at\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Unix"
		" seconds; null: never.\"},\n"
	"    \"expired\": {\"type\": \"boolean\"},\n"
	"    \"addresses\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
		" \"description\": \"Every prefix routed to the tunnel (pool addresses and own prefixes):"
		" 44.31.1.7/32, 2001:db8:0:1::/64.\"},\n"
	"    \"own_prefixes\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
		" \"description\": \"The user's own prefixes among addresses.\"},\n"
	"    \"created_at\": {\"$ref\": \"#/components/schemas/Timestamp\"},\n"
	"    \"updated_at\": {\"$ref\": \"#/components/schemas/Timestamp\"},\n"
	"    \"rx_bytes\": {\"type\": \"integer\", \"description\": \"Received from the peer, in"
		" total, as of the last fold of the engine's counters.\"},\n"
	"    \"tx_bytes\": {\"type\": \"integer\"},\n"
	"    \"last_handshake\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Unix"
		" seconds; null: never.\"},\n"
	"    \"endpoint\": {\"type\": \"string\", \"nullable\": true, \"description\": \"Where the"
		" peer was last seen (ip:port).\"},\n"
	"    \"connected\": {\"type\": \"boolean\", \"description\": \"A handshake within the"
		" connected window (180 s by default) while the engine is connected.\"}}},\n"
	"  \"TunnelList\": {\"type\": \"object\", \"required\": [\"tunnels\"],\n"
	"   \"properties\": {\"tunnels\": {\"type\": \"array\", \"items\": {\"$ref\":"
		" \"#/components/schemas/Tunnel\"}}}},\n"
	"  \"TunnelCreate\": {\"type\": \"object\", \"additionalProperties\": false,\n"
	"   \"properties\": {\n"
	"    \"user_id\": {\"type\": \"integer\", \"description\": \"Required with an admin token; a"
		" user token may only give its own user (403 otherwise).\"},\n"
	"    \"interface\": {\"type\": \"string\", \"description\": \"Default: the first configured"
		" interface.\"},\n"
	"    \"name\": {\"type\": \"string\", \"maxLength\": 64},\n"
	"    \"public_key\": {\"type\": \"string\", \"description\": \"The user's public key."
		" Absent: the server makes the key pair and returns the private key and the full config in"
		" this response only.\"},\n"
	"    \"preshared_key\": {\"type\": \"boolean\", \"default\": false, \"description\":"
		" \"Generate a preshared key (it is in the client config).\"},\n"
	"    \"persistent_keepalive\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 65535,"
		" \"default\": 0},\n"
	"    \"addresses\": {\"type\": \"object\", \"additionalProperties\": false,\n"
	"     \"description\": \"How many addresses to allocate from the interface's pools (IPv4"
		" /32s, IPv6 /64s). Absent: {ipv4: 1}; a member absent from the object: 0.\",\n"
	"     \"properties\": {\"ipv4\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 32},\n"
	"      \"ipv6\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 32}}},\n"
	"    \"own_prefixes\": {\"type\": \"array\", \"maxItems\": 16, \"items\": {\"type\":"
		" \"string\"},\n"
	"     \"description\": \"The user's own prefixes (AMPRNet IPv4 44.0.0.0/9 or 44.128.0.0/10;"
		" IPv6 global unicast), routed to the tunnel. Overlapping anything else: 409.\"},\n"
	"    \"expires_at\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Unix"
		" seconds, in the future; null or absent: never.\"},\n"
	"    \"enabled\": {\"type\": \"boolean\", \"default\": true}}},\n"
	"  \"TunnelCreated\": {\"type\": \"object\", \"required\": [\"tunnel\"],\n"
	"   \"properties\": {\n"
	"    \"tunnel\": {\"$ref\": \"#/components/schemas/Tunnel\"},\n"
	"    \"config\": {\"type\": \"string\", \"description\": \"The wg-quick client config; with"
		" the private key when the server made it.\"},\n"
	"    \"private_key\": {\"type\": \"string\", \"description\": \"Only when the server made"
		" the key pair; never shown again.\"}}},\n"
	"  \"TunnelPatch\": {\"type\": \"object\", \"additionalProperties\": false,\n"
	"   \"properties\": {\n"
	"    \"name\": {\"type\": \"string\", \"maxLength\": 64},\n"
	"    \"persistent_keepalive\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 65535},\n"
	"    \"preshared_key\": {\"type\": \"boolean\", \"description\": \"true: a new preshared key"
		" (download the config again); false: none.\"},\n"
	"    \"enabled\": {\"type\": \"boolean\"},\n"
	"    \"expires_at\": {\"type\": \"integer\", \"nullable\": true, \"description\": \"Unix"
		" seconds, in the future; null: never.\"}}},\n"
	"  \"TunnelStatus\": {\"type\": \"object\", \"additionalProperties\": true,\n"
	"   \"description\": \"The engine's view of the peer now: endpoint, last handshake,"
		" counters, connected.\",\n"
	"   \"properties\": {\"id\": {\"type\": \"integer\"}}},\n"
	"  \"TunnelHistory\": {\"type\": \"object\", \"required\": [\"tunnel_id\", \"from\", \"to\","
		" \"samples\", \"truncated\"],\n"
	"   \"properties\": {\n"
	"    \"tunnel_id\": {\"type\": \"integer\"},\n"
	"    \"from\": {\"type\": \"integer\"}, \"to\": {\"type\": \"integer\"},\n"
	"    \"samples\": {\"type\": \"array\", \"items\": {\"type\": \"object\",\n"
	"     \"properties\": {\"ts\": {\"type\": \"integer\", \"description\": \"End of the"
		" interval, unix seconds.\"},\n"
	"      \"rx_bytes\": {\"type\": \"integer\", \"description\": \"During the interval.\"},\n"
	"      \"tx_bytes\": {\"type\": \"integer\"}}}},\n"
	"    \"truncated\": {\"type\": \"boolean\", \"description\": \"More than 10000 samples: only"
		" the oldest are here; ask for a shorter span.\"}}},\n"
	"  \"Pool\": {\"type\": \"object\",\n"
	"   \"properties\": {\n"
	"    \"id\": {\"type\": \"integer\"}, \"name\": {\"type\": \"string\"},\n"
	"    \"prefix\": {\"type\": \"string\"}, \"family\": {\"type\": \"string\", \"enum\":"
		" [\"ipv4\", \"ipv6\"]},\n"
	"    \"alloc_len\": {\"type\": \"integer\", \"description\": \"Length of the blocks handed"
		" out (32, 64).\"},\n"
	"    \"interface\": {\"type\": \"string\", \"nullable\": true, \"description\": \"null:"
		" serves every interface.\"},\n"
	"    \"size\": {\"type\": \"integer\", \"description\": \"Blocks in the pool.\"},\n"
	"    \"allocated\": {\"type\": \"integer\"}, \"reserved\": {\"type\": \"integer\"},"
		" \"free\": {\"type\": \"integer\"}}},\n"
	"  \"PoolList\": {\"type\": \"object\", \"required\": [\"pools\"],\n"
	"   \"properties\": {\"pools\": {\"type\": \"array\", \"items\": {\"$ref\":"
		" \"#/components/schemas/Pool\"}}}},\n"
	"  \"Status\": {\"type\": \"object\",\n"
	"   \"properties\": {\n"
	"    \"time\": {\"type\": \"integer\"},\n"
	"    \"engine\": {\"type\": \"object\", \"properties\": {\"connected\": {\"type\":"
		" \"boolean\"}, \"generation\": {\"type\": \"integer\"}}},\n"
	"    \"store\": {\"type\": \"object\", \"properties\": {\"readonly\": {\"type\":"
		" \"boolean\"}}},\n"
	"    \"users\": {\"type\": \"integer\"},\n"
	"    \"tunnels\": {\"type\": \"object\", \"properties\": {\"total\": {\"type\":"
		" \"integer\"}, \"active\": {\"type\": \"integer\"}, \"connected\": {\"type\":"
		" \"integer\"}}},\n"
	"    \"rx_bytes\": {\"type\": \"integer\"}, \"tx_bytes\": {\"type\": \"integer\"},\n"
	"    \"interfaces\": {\"type\": \"array\", \"items\": {\"type\": \"object\",\n"
	"     \"properties\": {\"name\": {\"type\": \"string\"}, \"endpoint\": {\"type\":"
		" \"string\"}, \"tunnels\": {\"type\": \"integer\"},\n"
	"      \"active\": {\"type\": \"integer\"}, \"connected\": {\"type\": \"integer\"}}}},\n"
	"    \"http\": {\"type\": \"object\", \"properties\": {\"requests\": {\"type\":"
		" \"integer\"}, \"client_errors\": {\"type\": \"integer\"},\n"
	"     \"errors\": {\"type\": \"integer\"}, \"connections\": {\"type\": \"integer\"}}}}}\n"
	" }\n"
	"}\n";
/* clang-format on */

static const struct op_doc *
doc_of(const struct ctl_http_route *r)
{
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(docs[i].method, r->method) == 0 &&
		    strcmp(docs[i].pattern, r->pattern) == 0)
			return &docs[i];
	return NULL;
}

static json_t *
ref(const char *kind, const char *name)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "#/components/%s/%s", kind, name);
	return json_pack("{s:s}", "$ref", buf);
}

/* Is status one of the space-separated list? */
static bool
listed(const char *list, unsigned status)
{
	char s[8];
	size_t n;

	n = (size_t)snprintf(s, sizeof(s), "%u", status);
	for (; list != NULL && *list != '\0'; list += strspn(list, " ")) {
		if (strncmp(list, s, n) == 0 && (list[n] == ' ' || list[n] == '\0'))
			return true;
		list += strcspn(list, " ");
	}
	return false;
}

static json_t *
content_of(const char *result)
{
	json_t *schema;

	if (strchr(result, '/') == NULL)
		return json_pack("{s:{s:o}}", "application/json", "schema", ref("schemas", result));
	if (strncmp(result, "image/png", 9) == 0)
		schema = json_pack("{s:s, s:s}", "type", "string", "format", "binary");
	else if (strcmp(result, "application/json") == 0)
		schema = json_pack("{s:s}", "type", "object");
	else
		schema = json_pack("{s:s}", "type", "string");
	return json_pack("{s:{s:o}}", result, "schema", schema);
}

/* The operation object of one route. */
static json_t *
operation(const struct ctl_http_route *r)
{
	const struct op_doc *d = doc_of(r);
	bool has_id = strstr(r->pattern, "{id}") != NULL;
	json_t *op, *params, *resp, *ok;
	const char *q, *scope;
	char name[16], status[8];
	size_t i, n;

	if (r->flags & CTL_HTTP_NO_AUTH)
		scope = "none";
	else if (r->flags & CTL_HTTP_ADMIN_ONLY)
		scope = "admin";
	else
		scope = "user";
	op = json_pack("{s:s, s:s}", "summary", d != NULL ? d->summary : r->pattern,
		       "x-gate44-scope", scope);
	params = json_array();
	resp = json_object();
	if (op == NULL || params == NULL || resp == NULL)
		goto err;
	if (d != NULL && d->description != NULL)
		json_object_set_new(op, "description", json_string(d->description));
	if (r->flags & CTL_HTTP_NO_AUTH)
		json_object_set_new(op, "security", json_array());
	if (has_id)
		json_array_append_new(params, ref("parameters", "id"));
	for (q = d != NULL ? d->query : NULL; q != NULL && *q != '\0'; q += strspn(q, " ")) {
		n = strcspn(q, " ");
		snprintf(name, sizeof(name), "%.*s", (int)n, q);
		json_array_append_new(params, ref("parameters", name));
		q += n;
	}
	if (json_array_size(params) > 0)
		json_object_set(op, "parameters", params);
	if (d != NULL && d->body != NULL)
		json_object_set_new(op, "requestBody",
				    json_pack("{s:b, s:{s:{s:o}}}", "required",
					      strcmp(r->method, "PATCH") != 0 &&
						      strcmp(d->body, "TokenCreate") != 0 &&
						      strcmp(d->body, "TunnelCreate") != 0,
					      "content", "application/json", "schema",
					      ref("schemas", d->body)));

	ok = json_pack("{s:s}", "description", d != NULL ? d->summary : "OK");
	if (ok != NULL && d != NULL && d->result != NULL)
		json_object_set_new(ok, "content", content_of(d->result));
	snprintf(status, sizeof(status), "%u", d != NULL ? d->ok : 200);
	json_object_set_new(resp, status, ok);
	for (i = 0; i < sizeof(error_docs) / sizeof(error_docs[0]); i++) {
		unsigned s = error_docs[i].status;
		bool on = (d != NULL && listed(d->errors, s)) || s == 500;

		if (!(r->flags & CTL_HTTP_NO_AUTH))
			on |= s == 401;
		on |= s == 403 && (r->flags & CTL_HTTP_ADMIN_ONLY);
		on |= s == 429 && (r->flags & CTL_HTTP_MUTATING);
		on |= (s == 400 || s == 413) && d != NULL && d->body != NULL;
		on |= (s == 400 || s == 404) && has_id;
		on |= s == 400 && d != NULL && d->query != NULL;
		if (!on)
			continue;
		snprintf(status, sizeof(status), "%u", s);
		json_object_set_new(resp, status, ref("responses", status));
	}
	json_object_set_new(op, "responses", resp);
	json_decref(params);
	return op;
err:
	json_decref(op);
	json_decref(params);
	json_decref(resp);
	return NULL;
}

static json_t *
build(void)
{
	json_t *doc, *comp, *responses, *paths, *item, *op;
	char status[8], method[8];
	json_error_t jerr;
	size_t i, j;

	comp = json_loads(components_json, 0, &jerr);
	responses = json_object();
	paths = json_object();
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:[]}]}", "openapi", "3.0.3", "info", "title",
			"gate44-control API", "version", API_VERSION, "description",
			info_description, "security", "bearer");
	if (comp == NULL || responses == NULL || paths == NULL || doc == NULL)
		goto err;
	for (i = 0; i < sizeof(error_docs) / sizeof(error_docs[0]); i++) {
		snprintf(status, sizeof(status), "%u", error_docs[i].status);
		json_object_set_new(responses, status,
				    json_pack("{s:s, s:{s:{s:o}}}", "description",
					      error_docs[i].description, "content",
					      "application/json", "schema",
					      ref("schemas", "Error")));
	}
	json_object_set_new(comp, "responses", responses);
	responses = NULL;
	for (i = 0; i < ctl_api_n_routes; i++) {
		item = json_object_get(paths, ctl_api_routes[i].pattern);
		if (item == NULL) {
			item = json_object();
			if (item == NULL ||
			    json_object_set_new(paths, ctl_api_routes[i].pattern, item) != 0)
				goto err;
		}
		op = operation(&ctl_api_routes[i]);
		if (op == NULL)
			goto err;
		for (j = 0; ctl_api_routes[i].method[j] != '\0' && j < sizeof(method) - 1; j++)
			method[j] = (char)(ctl_api_routes[i].method[j] | 0x20); /* lower case */
		method[j] = '\0';
		json_object_set_new(item, method, op);
	}
	json_object_set_new(doc, "paths", paths);
	json_object_set_new(doc, "components", comp);
	return doc;
err:
	json_decref(comp);
	json_decref(responses);
	json_decref(paths);
	json_decref(doc);
	return NULL;
}

json_t *
api_openapi_doc(void)
{
	static json_t *doc;

	if (doc == NULL)
		doc = build();
	return doc != NULL ? json_incref(doc) : NULL;
}
