/*
 * fuzz_engine_sock.c — libFuzzer target for the engine socket's request
 * handler (dataplane/engine_sock.c: dp_engine_sock_handle_line), one
 * request line per input, without the engine: the dp_api_* functions are a
 * double defined here (as in tests/unit/test_engine_sock.c) that checks
 * what it is given and fails some calls, chosen by the arguments, to drive
 * the error paths. Invariants:
 *  - the handler passes only valid values down: interface indices it got
 *    from dp_api_wg_find, network prefixes, endpoints with a port, no
 *    allowed IP twice, route kinds of the enum;
 *  - the reply is one line of JSON: an object with a boolean "ok", then
 *    "result", or "error" {"code": "E...", "message"}, and the request's
 *    "id" echoed when the request was an object that had one (in batch
 *    replies too, one reply per command);
 *  - a preshared_key sent is never quoted back.
 * The double keeps no state across runs. Single-threaded; needs no EAL
 * (rte_log works before rte_eal_init).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "engine_sock.h"

#include "fuzz_common.h"

/* ---- the API double ------------------------------------------------------- */

static unsigned views; /* view calls in this run */

static void
prefix_check(const struct dp_cfg_prefix *p)
{
	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(p->plen <= (p->family == AF_INET ? 32 : 128));
	FUZZ_CHECK(dp_prefix_is_network(p));
}

static int
refuse(int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "refused by the fuzz double (%d)", rc);
	return rc;
}

int
dp_api_wg_find(const char *name)
{
	FUZZ_CHECK(name != NULL);
	if (strcmp(name, "wg0") == 0)
		return 0;
	if (strcmp(name, "wg1") == 0)
		return 1;
	if (strcmp(name, "wg-huge") == 0)
		return 70000; /* an index that does not fit the uint16_t */
	return -1;
}

int
dp_api_peer_set(const struct dp_peer_conf *c, const struct dp_cfg_prefix *allowed,
		unsigned n_allowed, bool replace_allowed, char *err, size_t errlen)
{
	(void)replace_allowed;
	FUZZ_CHECK(c->wg_if <= 1);
	FUZZ_CHECK(c->endpoint.family == 0 || c->endpoint.family == AF_INET ||
		   c->endpoint.family == AF_INET6);
	if (c->endpoint.family != 0)
		FUZZ_CHECK(c->endpoint.port != 0);
	if (!c->has_psk)
		FUZZ_CHECK(sodium_is_zero(c->psk, sizeof(c->psk)));
	FUZZ_CHECK(n_allowed == 0 || allowed != NULL);
	for (unsigned i = 0; i < n_allowed; i++) {
		prefix_check(&allowed[i]);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(allowed[j].family != allowed[i].family ||
				   allowed[j].plen != allowed[i].plen ||
				   memcmp(allowed[j].addr, allowed[i].addr, 16) != 0);
	}
	if (c->public_key[0] & 1)
		return refuse(-EEXIST, err, errlen);
	return 0;
}

int
dp_api_peer_remove(uint16_t wg_if, const uint8_t pub[32], char *err, size_t errlen)
{
	FUZZ_CHECK(wg_if <= 1);
	if (pub[0] & 1)
		return refuse(-ENOENT, err, errlen);
	return 0;
}

int
dp_api_route_add(const struct dp_api_route *r, char *err, size_t errlen)
{
	prefix_check(&r->prefix);
	FUZZ_CHECK(r->kind == DP_ROUTE_VIA || r->kind == DP_ROUTE_PEER ||
		   r->kind == DP_ROUTE_EXCEPTION || r->kind == DP_ROUTE_DROP);
	if (r->kind == DP_ROUTE_PEER)
		FUZZ_CHECK(r->wg_if <= 1);
	if (r->prefix.plen & 1)
		return refuse(r->kind == DP_ROUTE_VIA ? -ENOSPC : -EEXIST, err, errlen);
	return 0;
}

int
dp_api_route_del(const struct dp_cfg_prefix *prefix, char *err, size_t errlen)
{
	prefix_check(prefix);
	if (prefix->addr[0] & 1)
		return refuse(-ENOENT, err, errlen);
	return 0;
}

/* Views: every other one fails (NULL, as when out of memory); strings
 * with characters that must be escaped to stay on one line. */
static json_t *
view(json_t *v)
{
	if (views++ & 1) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *
dp_api_stats_json(void)
{
	return view(json_pack("{s:s, s:{s:i}}", "view", "stats\n\"\\\u2028", "drops", "x", 1));
}

json_t *
dp_api_peers_json(int wg_if)
{
	FUZZ_CHECK(wg_if >= -1 && wg_if <= 1);
	return view(json_pack("[{s:i}]", "wg_if", wg_if));
}

json_t *
dp_api_peer_json(uint16_t wg_if, const uint8_t pub[32])
{
	FUZZ_CHECK(wg_if <= 1);
	if (pub[0] == 0)
		return NULL; /* no such peer */
	return view(json_pack("{s:i, s:s}", "wg_if", wg_if, "line", "a\r\nb"));
}

json_t *
dp_api_interfaces_json(void)
{
	return view(json_pack("[{s:s}]", "name", "wg0"));
}

json_t *
dp_api_routes_json(void)
{
	return view(json_array());
}

/* ---- the reply -------------------------------------------------------------- */

/* Does any string (value or key) in v contain s? */
static unsigned
strings_containing(json_t *v, const char *s, int depth)
{
	const char *key;
	unsigned n = 0;
	json_t *x;
	size_t i;

	if (depth > 64)
		return 1; /* too deep to tell: count as contained */
	if (json_is_string(v))
		return strstr(json_string_value(v), s) != NULL;
	if (json_is_object(v)) {
		json_object_foreach (v, key, x)
			n += (strstr(key, s) != NULL) + strings_containing(x, s, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			n += strings_containing(x, s, depth + 1);
	}
	return n;
}

/* One reply object against the request it answers (req NULL: the line
 * was not a JSON object, or not JSON). */
static void
reply_check(json_t *reply, json_t *req, int depth)
{
	json_t *ok, *id, *err, *code, *result, *psk, *cmds;
	const char *key;
	json_t *x;

	FUZZ_CHECK(json_is_object(reply));
	json_object_foreach (reply, key, x)
		FUZZ_CHECK(strcmp(key, "id") == 0 || strcmp(key, "ok") == 0 ||
			   strcmp(key, "result") == 0 || strcmp(key, "error") == 0);
	ok = json_object_get(reply, "ok");
	FUZZ_CHECK(json_is_boolean(ok));
	err = json_object_get(reply, "error");
	result = json_object_get(reply, "result");
	if (json_is_true(ok)) {
		FUZZ_CHECK(err == NULL && result != NULL);
	} else {
		FUZZ_CHECK(result == NULL && json_is_object(err));
		code = json_object_get(err, "code");
		FUZZ_CHECK(json_is_string(code) && json_string_value(code)[0] == 'E');
		FUZZ_CHECK(json_is_string(json_object_get(err, "message")));
	}

	id = json_object_get(reply, "id");
	if (req == NULL || !json_is_object(req)) {
		FUZZ_CHECK(id == NULL);
		return;
	}
	FUZZ_CHECK(json_equal(id, json_object_get(req, "id")) ||
		   (id == NULL && json_object_get(req, "id") == NULL));

	psk = json_object_get(req, "preshared_key");
	if (json_is_string(psk) && json_string_length(psk) >= 16 &&
	    strlen(json_string_value(psk)) == json_string_length(psk) &&
	    strings_containing(req, json_string_value(psk), 0) == 1)
		FUZZ_CHECK(strings_containing(reply, json_string_value(psk), 0) == 0);

	cmds = json_object_get(req, "commands");
	if (depth == 0 && json_is_true(ok) && json_is_array(cmds) &&
	    json_is_string(json_object_get(req, "cmd")) &&
	    strcmp(json_string_value(json_object_get(req, "cmd")), "batch") == 0) {
		size_t i;

		FUZZ_CHECK(json_is_array(result));
		FUZZ_CHECK(json_array_size(result) == json_array_size(cmds));
		json_array_foreach (result, i, x)
			reply_check(x, json_array_get(cmds, i), depth + 1);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *req, *reply;
	json_error_t jerr;
	char *out;

	fuzz_rng_seed(0);
	views = 0;
	out = dp_engine_sock_handle_line((const char *)data, size);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(strchr(out, '\n') == NULL);
	reply = json_loads(out, 0, &jerr);
	if (reply == NULL)
		fprintf(stderr, "reply is not JSON: %s\n%s\n", jerr.text, out);
	FUZZ_CHECK(reply != NULL);
	req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	reply_check(reply, req, 0);
	json_decref(req);
	json_decref(reply);
	free(out);
	return 0;
}
