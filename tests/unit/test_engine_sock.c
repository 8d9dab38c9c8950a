/*
 * test_engine_sock.c — the engine socket's request handler and server,
 * without the engine: the dp_api_* functions are replaced by a test double
 * defined here that records each call and returns a scripted result (the
 * real engine is tested end to end in tests/integration). Covers argument
 * parsing of every command, the reply shape, id echo, batch, bad and huge
 * lines, a fixed-seed mutation fuzz loop, and the unix socket server.
 * Single-threaded; needs no EAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "api.h"
#include "config.h"
#include "engine_sock.h"

/* Keys: bytes 1..32, 33..64, 0xaa x 32; and 31 zero bytes (wrong length). */
#define K1   "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define K2   "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A="
#define KPSK "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo="
#define K31  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="

/* ------------------------------------------------------------------------
 * The API double
 * ------------------------------------------------------------------------ */

enum { MAX_REC = 16 };

static struct {
	/* scripted result of the next mutating call (then reset to 0) */
	int rc;
	char err[64];
	bool views_null;
	/* calls */
	unsigned peer_set, peer_remove, route_add, route_del, views;
	struct dp_peer_conf conf;
	struct dp_cfg_prefix allowed[MAX_REC];
	unsigned n_allowed;
	bool replace;
	uint16_t rm_wg_if;
	uint8_t rm_pub[32];
	struct dp_api_route route;
	struct dp_cfg_prefix del;
	int peers_wg_if;
} api;

static int
scripted(char *err, size_t errlen)
{
	int rc = api.rc;

	if (rc != 0)
		snprintf(err, errlen, "%s", api.err);
	api.rc = 0;
	api.err[0] = '\0';
	return rc;
}

static void
check_prefix(const struct dp_cfg_prefix *p)
{
	assert_true(p->family == AF_INET || p->family == AF_INET6);
	assert_true(p->plen <= (p->family == AF_INET ? 32 : 128));
	assert_true(dp_prefix_is_network(p));
}

int
dp_api_wg_find(const char *name)
{
	assert_non_null(name);
	if (strcmp(name, "wg0") == 0)
		return 0;
	if (strcmp(name, "wg1") == 0)
		return 1;
	return -1;
}

int
dp_api_peer_set(const struct dp_peer_conf *c, const struct dp_cfg_prefix *allowed,
		unsigned n_allowed, bool replace_allowed, char *err, size_t errlen)
{
	assert_true(c->wg_if <= 1);
	assert_true(c->endpoint.family == 0 || c->endpoint.family == AF_INET ||
		    c->endpoint.family == AF_INET6);
	assert_true(n_allowed == 0 || allowed != NULL);
	for (unsigned i = 0; i < n_allowed; i++)
		check_prefix(&allowed[i]);
	api.peer_set++;
	api.conf = *c;
	api.n_allowed = n_allowed;
	if (n_allowed > 0)
		memcpy(api.allowed, allowed,
		       (n_allowed < MAX_REC ? n_allowed : MAX_REC) * sizeof(*allowed));
	api.replace = replace_allowed;
	return scripted(err, errlen);
}

int
dp_api_peer_remove(uint16_t wg_if, const uint8_t pub[32], char *err, size_t errlen)
{
	assert_true(wg_if <= 1);
	api.peer_remove++;
	api.rm_wg_if = wg_if;
	memcpy(api.rm_pub, pub, 32);
	return scripted(err, errlen);
}

int
dp_api_route_add(const struct dp_api_route *r, char *err, size_t errlen)
{
	check_prefix(&r->prefix);
	assert_true(r->kind == DP_ROUTE_VIA || r->kind == DP_ROUTE_PEER ||
		    r->kind == DP_ROUTE_EXCEPTION || r->kind == DP_ROUTE_DROP);
	api.route_add++;
	api.route = *r;
	return scripted(err, errlen);
}

int
dp_api_route_del(const struct dp_cfg_prefix *prefix, char *err, size_t errlen)
{
	check_prefix(prefix);
	api.route_del++;
	api.del = *prefix;
	return scripted(err, errlen);
}

static json_t *
view(json_t *v)
{
	api.views++;
	if (api.views_null) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *
dp_api_stats_json(void)
{
	return view(json_pack("{s:s}", "view", "stats"));
}

json_t *
dp_api_peers_json(int wg_if)
{
	api.peers_wg_if = wg_if;
	return view(json_pack("[{s:i}]", "wg_if", wg_if));
}

json_t *
dp_api_peer_json(uint16_t wg_if, const uint8_t pub[32])
{
	uint8_t k1[32];

	for (int i = 0; i < 32; i++)
		k1[i] = (uint8_t)(i + 1);
	if (memcmp(pub, k1, 32) != 0)
		return NULL;
	return view(json_pack("{s:s, s:i}", "public_key", K1, "wg_if", wg_if));
}

json_t *
dp_api_interfaces_json(void)
{
	return view(json_pack("[{s:s}]", "name", "wg0"));
}

json_t *
dp_api_routes_json(void)
{
	return view(json_pack("{s:s}", "view", "routes"));
}

static int
setup(void **state)
{
	(void)state;
	memset(&api, 0, sizeof(api));
	return 0;
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* The reply to line, checked for its shape: one line, a JSON object with a
 * boolean "ok", and either "result" or an "error" with string code and
 * message. */
static json_t *
call_n(const char *line, size_t len)
{
	char *out = dp_engine_sock_handle_line(line, len);
	json_error_t jerr;
	json_t *r, *e;

	assert_non_null(out);
	assert_null(strchr(out, '\n'));
	r = json_loads(out, 0, &jerr);
	if (r == NULL)
		fail_msg("reply is not JSON: %s: %s", jerr.text, out);
	free(out);
	assert_true(json_is_object(r));
	assert_true(json_is_boolean(json_object_get(r, "ok")));
	if (json_is_true(json_object_get(r, "ok"))) {
		assert_non_null(json_object_get(r, "result"));
		assert_null(json_object_get(r, "error"));
	} else {
		e = json_object_get(r, "error");
		assert_true(json_is_object(e));
		assert_true(json_is_string(json_object_get(e, "code")));
		assert_true(json_is_string(json_object_get(e, "message")));
		assert_null(json_object_get(r, "result"));
	}
	return r;
}

static json_t *
call(const char *line)
{
	return call_n(line, strlen(line));
}

/* line must succeed; returns its result (a new reference). */
static json_t *
ok(const char *line)
{
	json_t *r = call(line), *res;

	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg(
			"%s: %s", line,
			json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

static void
ok_null(const char *line)
{
	json_t *res = ok(line);

	assert_true(json_is_null(res));
	json_decref(res);
}

/* line must fail with code, its message containing needle. */
static void
err(const char *line, const char *code, const char *needle)
{
	json_t *r = call(line), *e = json_object_get(r, "error");
	const char *c, *m;

	if (json_is_true(json_object_get(r, "ok")))
		fail_msg("%s: succeeded", line);
	c = json_string_value(json_object_get(e, "code"));
	m = json_string_value(json_object_get(e, "message"));
	if (strcmp(c, code) != 0 || strstr(m, needle) == NULL)
		fail_msg("%s: got %s \"%s\", want %s \"...%s...\"", line, c, m, code, needle);
	json_decref(r);
}

/* err(), and the engine was not called: nothing half-applied. */
static void
err_untouched(const char *line, const char *code, const char *needle)
{
	unsigned before = api.peer_set + api.peer_remove + api.route_add + api.route_del;

	err(line, code, needle);
	assert_int_equal(api.peer_set + api.peer_remove + api.route_add + api.route_del, before);
}

static void
key_bytes(uint8_t k[32], int first)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(first + i);
}

/* ------------------------------------------------------------------------
 * Request shape, id, errors
 * ------------------------------------------------------------------------ */

static void
test_ping_and_id(void **state)
{
	json_t *r;

	(void)state;
	r = call("{\"id\":1,\"cmd\":\"ping\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "pong")));
	json_decref(r);

	r = call("{\"cmd\":\"ping\",\"id\":\"abc\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
	json_decref(r);

	r = call("{\"cmd\":\"ping\"}");
	assert_null(json_object_get(r, "id"));
	json_decref(r);

	r = call("{\"cmd\":\"ping\",\"id\":{\"a\":[1,2.5,null]}}");
	assert_int_equal(json_integer_value(
				 json_array_get(json_object_get(json_object_get(r, "id"), "a"), 0)),
			 1);
	json_decref(r);

	r = call("{\"id\":null,\"cmd\":\"ping\"}");
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);

	/* the id is echoed in errors too */
	r = call("{\"id\":7,\"cmd\":\"nope\"}");
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
	r = call("{\"id\":\"x\",\"cmd\":\"peer.get\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "x");
	json_decref(r);
}

static void
test_bad_requests(void **state)
{
	(void)state;
	err("", "EINVAL", "invalid JSON");
	err("{", "EINVAL", "invalid JSON");
	err("{\"cmd\":\"ping\"", "EINVAL", "invalid JSON");
	err("{\"cmd\":\"ping\"} x", "EINVAL", "invalid JSON");
	err("{\"cmd\":\"ping\",\"cmd\":\"ping\"}", "EINVAL", "invalid JSON"); /* duplicate */
	err("[]", "EINVAL", "must be a JSON object");
	err("[{\"cmd\":\"ping\"}]", "EINVAL", "must be a JSON object");
	err("42", "EINVAL", "invalid JSON"); /* jansson wants an array or object */
	err("\"ping\"", "EINVAL", "invalid JSON");
	err("null", "EINVAL", "invalid JSON");
	err("{}", "EINVAL", "missing field 'cmd'");
	err("{\"id\":1}", "EINVAL", "missing field 'cmd'");
	err("{\"cmd\":1}", "EINVAL", "field 'cmd' must be a string");
	err("{\"cmd\":null}", "EINVAL", "field 'cmd' must be a string");
	err("{\"cmd\":\"pong\"}", "ENOSYS", "unknown cmd 'pong'");
	err("{\"cmd\":\"\"}", "ENOSYS", "unknown cmd ''");
	err("{\"cmd\":\"ping\",\"extra\":1}", "EINVAL", "unknown field 'extra' for ping");
	err("{\"cmd\":\"peer.remove\",\"interface\":\"wg0\",\"public_key\":\"" K1
	    "\",\"publickey\":1}",
	    "EINVAL", "unknown field 'publickey' for peer.remove");
	/* a string with \u0000 is refused by the parser */
	err("{\"cmd\":\"pi\\u0000ng\"}", "EINVAL", "invalid JSON");
	/* invalid UTF-8 */
	err("{\"cmd\":\"\xff\xfe\"}", "EINVAL", "invalid JSON");
}

static void
test_bad_request_embedded_nul(void **state)
{
	static const char line[] = "{\"cmd\":\"ping\"}\0{}";
	json_t *r;

	(void)state;
	r = call_n(line, sizeof(line) - 1);

	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
	/* len stops before the NUL: fine */
	r = call_n(line, 14);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* NULL line */
	r = call_n(NULL, 5);
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
}

static void
test_messages_are_clean(void **state)
{
	json_t *r;
	const char *m;
	char line[512];

	(void)state;
	/* a long, non-ASCII (valid UTF-8) command name is cut and masked */
	snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}",
		 "\xc3\xa9\xc3\xa9xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	r = call(line);
	m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	assert_non_null(strstr(m, "unknown cmd '????xx"));
	assert_non_null(strstr(m, "...'"));
	for (const char *p = m; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	json_decref(r);
}

/* ------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

static void
test_views(void **state)
{
	json_t *res;

	(void)state;
	res = ok("{\"cmd\":\"interfaces.list\"}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "name")),
			    "wg0");
	json_decref(res);
	res = ok("{\"cmd\":\"stats\"}");
	assert_string_equal(json_string_value(json_object_get(res, "view")), "stats");
	json_decref(res);
	res = ok("{\"cmd\":\"route.list\"}");
	assert_string_equal(json_string_value(json_object_get(res, "view")), "routes");
	json_decref(res);

	res = ok("{\"cmd\":\"peer.list\"}");
	assert_int_equal(api.peers_wg_if, -1);
	json_decref(res);
	res = ok("{\"cmd\":\"peer.list\",\"interface\":\"wg1\"}");
	assert_int_equal(api.peers_wg_if, 1);
	json_decref(res);
	err("{\"cmd\":\"peer.list\",\"interface\":\"wg9\"}", "ENOENT", "interface 'wg9' not found");
	err("{\"cmd\":\"peer.list\",\"interface\":0}", "EINVAL",
	    "field 'interface' must be a string");
	err("{\"cmd\":\"stats\",\"interface\":\"wg0\"}", "EINVAL", "unknown field 'interface'");

	res = ok("{\"cmd\":\"peer.get\",\"interface\":\"wg1\",\"public_key\":\"" K1 "\"}");
	assert_string_equal(json_string_value(json_object_get(res, "public_key")), K1);
	assert_int_equal(json_integer_value(json_object_get(res, "wg_if")), 1);
	json_decref(res);
	err("{\"cmd\":\"peer.get\",\"interface\":\"wg0\",\"public_key\":\"" K2 "\"}", "ENOENT",
	    "no peer with that public_key on interface 'wg0'");
	err("{\"cmd\":\"peer.get\",\"interface\":\"wg0\"}", "EINVAL", "missing field 'public_key'");
	err("{\"cmd\":\"peer.get\",\"public_key\":\"" K1 "\"}", "EINVAL",
	    "missing field 'interface'");
	err("{\"cmd\":\"peer.get\",\"interface\":\"wg0\",\"public_key\":\"" K31 "\"}", "EINVAL",
	    "field 'public_key' is not a WireGuard key");

	/* the engine cannot build a view */
	api.views_null = true;
	err("{\"cmd\":\"stats\"}", "ENOMEM", "out of memory");
	err("{\"cmd\":\"peer.list\"}", "ENOMEM", "out of memory");
}

/* ------------------------------------------------------------------------
 * peer.set / peer.remove
 * ------------------------------------------------------------------------ */

static void
test_peer_set_full(void **state)
{
	uint8_t k[32], psk[32];

	(void)state;
	ok_null("{\"id\":3,\"cmd\":\"peer.set\",\"interface\":\"wg1\",\"public_key\":\"" K1
		"\",\"preshared_key\":\"" KPSK "\",\"endpoint\":\"192.0.2.7:51820\","
		"\"persistent_keepalive\":25,"
		"\"allowed_ips\":[\"44.1.2.3/32\",\"2001:db8:44::/64\",\"0.0.0.0/0\"]}");
	assert_int_equal(api.peer_set, 1);
	assert_int_equal(api.conf.wg_if, 1);
	key_bytes(k, 1);
	assert_memory_equal(api.conf.public_key, k, 32);
	memset(psk, 0xaa, sizeof(psk));
	assert_true(api.conf.has_psk);
	assert_memory_equal(api.conf.psk, psk, 32);
	assert_int_equal(api.conf.endpoint.family, AF_INET);
	assert_memory_equal(api.conf.endpoint.addr, "\xc0\x00\x02\x07", 4);
	assert_int_equal(api.conf.endpoint.port, htons(51820));
	assert_int_equal(api.conf.persistent_keepalive, 25);
	assert_int_equal(api.n_allowed, 3);
	assert_true(api.replace);
	assert_int_equal(api.allowed[0].family, AF_INET);
	assert_int_equal(api.allowed[0].plen, 32);
	assert_memory_equal(api.allowed[0].addr, "\x2c\x01\x02\x03", 4);
	assert_int_equal(api.allowed[1].family, AF_INET6);
	assert_int_equal(api.allowed[1].plen, 64);
	assert_int_equal(api.allowed[2].plen, 0);

	/* v6 endpoint, keep-the-rest flags */
	ok_null("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K2
		"\",\"preshared_key\":null,\"endpoint\":\"[2001:db8::1]:443\","
		"\"persistent_keepalive\":65535,"
		"\"allowed_ips\":[\"44.0.0.0/9\"],\"replace_allowed_ips\":false}");
	assert_int_equal(api.peer_set, 2);
	assert_int_equal(api.conf.wg_if, 0);
	assert_false(api.conf.has_psk);
	assert_int_equal(api.conf.endpoint.family, AF_INET6);
	assert_int_equal(api.conf.endpoint.addr[0], 0x20);
	assert_int_equal(api.conf.endpoint.addr[15], 0x01);
	assert_int_equal(api.conf.endpoint.port, htons(443));
	assert_int_equal(api.conf.persistent_keepalive, 65535);
	assert_int_equal(api.n_allowed, 1);
	assert_false(api.replace);

	/* empty list replaces (clears) */
	ok_null("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K2
		"\",\"allowed_ips\":[]}");
	assert_int_equal(api.n_allowed, 0);
	assert_true(api.replace);
}

static void
test_peer_set_minimal(void **state)
{
	(void)state;
	ok_null("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}");
	assert_int_equal(api.peer_set, 1);
	assert_false(api.conf.has_psk);
	assert_int_equal(api.conf.endpoint.family, 0); /* keep the current one */
	assert_int_equal(api.conf.persistent_keepalive, 0);
	assert_int_equal(api.n_allowed, 0);
	assert_false(api.replace); /* allowed_ips absent: left alone */
}

static void
test_peer_set_bad(void **state)
{
	static const struct {
		const char *args; /* after "interface":"wg0" */
		const char *code, *needle;
	} t[] = {
		{"", "EINVAL", "missing field 'public_key'"},
		{",\"public_key\":1", "EINVAL", "field 'public_key' must be a string"},
		{",\"public_key\":null", "EINVAL", "field 'public_key' must be a string"},
		{",\"public_key\":\"\"", "EINVAL", "not a WireGuard key"},
		{",\"public_key\":\"" K31 "\"", "EINVAL", "not a WireGuard key"},
		{",\"public_key\":\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\"", "EINVAL",
		 "not a WireGuard key"}, /* 43 characters, unpadded */
		{",\"public_key\":\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHy!=\"", "EINVAL",
		 "field 'public_key' is not a WireGuard key"},
		{",\"public_key\":\"" K1 " \"", "EINVAL", "not a WireGuard key"},
		{",\"public_key\":\"" K1 "\",\"preshared_key\":\"x\"", "EINVAL",
		 "field 'preshared_key' is not a WireGuard key"},
		{",\"public_key\":\"" K1 "\",\"preshared_key\":7", "EINVAL",
		 "field 'preshared_key' must be a string or null"},
		{",\"public_key\":\"" K1 "\",\"preshared_key\":false", "EINVAL",
		 "must be a string or null"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"192.0.2.1\"", "EINVAL",
		 "field 'endpoint' '192.0.2.1' is not"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"192.0.2.1:0\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"192.0.2.1:65536\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"192.0.2.1:-5\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"2001:db8::1:51820\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"[2001:db8::1]51820\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":\"vpn.example.org:51820\"", "EINVAL",
		 "field 'endpoint'"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":51820", "EINVAL",
		 "field 'endpoint' must be a string"},
		{",\"public_key\":\"" K1 "\",\"endpoint\":null", "EINVAL",
		 "field 'endpoint' must be a string"},
		{",\"public_key\":\"" K1 "\",\"persistent_keepalive\":-1", "EINVAL",
		 "field 'persistent_keepalive' -1 out of range 0..65535"},
		{",\"public_key\":\"" K1 "\",\"persistent_keepalive\":65536", "EINVAL",
		 "field 'persistent_keepalive' 65536 out of range"},
		{",\"public_key\":\"" K1 "\",\"persistent_keepalive\":\"25\"", "EINVAL",
		 "field 'persistent_keepalive' must be an integer"},
		{",\"public_key\":\"" K1 "\",\"persistent_keepalive\":25.0", "EINVAL",
		 "field 'persistent_keepalive' must be an integer"},
		{",\"public_key\":\"" K1 "\",\"persistent_keepalive\":99999999999999999999",
		 "EINVAL", "invalid JSON"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":\"44.0.0.1/32\"", "EINVAL",
		 "field 'allowed_ips' must be an array"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"44.0.0.1/32\",5]", "EINVAL",
		 "allowed_ips[1] must be a string"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"44.0.0.1\"]", "EINVAL",
		 "allowed_ips[0] '44.0.0.1' is not a prefix"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"44.0.0.1/33\"]", "EINVAL",
		 "allowed_ips[0] '44.0.0.1/33' is not a prefix"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"44.0.0.0/8\",\"44.1.2.3/24\"]",
		 "EINVAL",
		 "allowed_ips[1] '44.1.2.3/24' has host bits set (did you mean 44.1.2.0/24?)"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"2001:db8::1/64\"]", "EINVAL",
		 "did you mean 2001:db8::/64?"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[\"fe80::1%eth0/64\"]", "EINVAL",
		 "is not a prefix"},
		{",\"public_key\":\"" K1 "\",\"replace_allowed_ips\":true", "EINVAL",
		 "field 'replace_allowed_ips' needs 'allowed_ips'"},
		{",\"public_key\":\"" K1 "\",\"allowed_ips\":[],\"replace_allowed_ips\":1",
		 "EINVAL", "field 'replace_allowed_ips' must be true or false"},
		{",\"public_key\":\"" K1 "\",\"allowed-ips\":[]", "EINVAL",
		 "unknown field 'allowed-ips' for peer.set"},
	};
	char line[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"peer.set\",\"interface\":\"wg0\"%s}",
			 t[i].args);
		err_untouched(line, t[i].code, t[i].needle);
	}
	err_untouched("{\"cmd\":\"peer.set\",\"public_key\":\"" K1 "\"}", "EINVAL",
		      "missing field 'interface'");
	err_untouched("{\"cmd\":\"peer.set\",\"interface\":[\"wg0\"],\"public_key\":\"" K1 "\"}",
		      "EINVAL", "field 'interface' must be a string");
	err_untouched("{\"cmd\":\"peer.set\",\"interface\":\"wg7\",\"public_key\":\"" K1 "\"}",
		      "ENOENT", "interface 'wg7' not found");
	assert_int_equal(api.peer_set, 0);
}

static void
test_peer_set_engine_error(void **state)
{
	(void)state;
	api.rc = -ENOSPC;
	snprintf(api.err, sizeof(api.err), "peer table full");
	err("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}", "ENOSPC",
	    "peer table full");
	/* no message from the engine: strerror */
	api.rc = -EEXIST;
	err("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}", "EEXIST",
	    "File exists");
	/* an errno without a table entry still gets its name */
	api.rc = -EHOSTUNREACH;
	err("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}",
	    "EHOSTUNREACH", "");
	/* a positive return (a peer id) is success */
	api.rc = 12;
	ok_null("{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}");
	assert_int_equal(api.peer_set, 4);
}

static void
test_peer_remove(void **state)
{
	uint8_t k[32];

	(void)state;
	ok_null("{\"cmd\":\"peer.remove\",\"interface\":\"wg1\",\"public_key\":\"" K2 "\"}");
	assert_int_equal(api.peer_remove, 1);
	assert_int_equal(api.rm_wg_if, 1);
	key_bytes(k, 33);
	assert_memory_equal(api.rm_pub, k, 32);
	api.rc = -ENOENT;
	snprintf(api.err, sizeof(api.err), "no such peer");
	err("{\"cmd\":\"peer.remove\",\"interface\":\"wg1\",\"public_key\":\"" K2 "\"}", "ENOENT",
	    "no such peer");
	err_untouched("{\"cmd\":\"peer.remove\",\"interface\":\"wg1\"}", "EINVAL",
		      "missing field 'public_key'");
	err_untouched("{\"cmd\":\"peer.remove\",\"public_key\":\"" K2 "\"}", "EINVAL",
		      "missing field 'interface'");
	err_untouched("{\"cmd\":\"peer.remove\",\"interface\":\"x\",\"public_key\":\"" K2 "\"}",
		      "ENOENT", "interface 'x' not found");
	err_untouched("{\"cmd\":\"peer.remove\",\"interface\":\"wg0\",\"public_key\":true}",
		      "EINVAL", "field 'public_key' must be a string");
	err_untouched("{\"cmd\":\"peer.remove\",\"interface\":\"wg0\",\"public_key\":\"" K1
		      "\",\"endpoint\":\"1.2.3.4:5\"}",
		      "EINVAL", "unknown field 'endpoint' for peer.remove");
}

/* ------------------------------------------------------------------------
 * Routes
 * ------------------------------------------------------------------------ */

static void
test_route_add(void **state)
{
	uint8_t k[32];

	(void)state;
	ok_null("{\"cmd\":\"route.add\",\"prefix\":\"0.0.0.0/0\",\"via\":\"192.0.2.1\","
		"\"port\":2}");
	assert_int_equal(api.route.kind, DP_ROUTE_VIA);
	assert_int_equal(api.route.prefix.plen, 0);
	assert_memory_equal(api.route.via, "\xc0\x00\x02\x01", 4);
	assert_int_equal(api.route.port, 2);

	ok_null("{\"cmd\":\"route.add\",\"prefix\":\"2001:db8::/32\",\"via\":\"fe80::1\","
		"\"port\":0}");
	assert_int_equal(api.route.kind, DP_ROUTE_VIA);
	assert_int_equal(api.route.prefix.family, AF_INET6);
	assert_int_equal(api.route.via[0], 0xfe);

	ok_null("{\"cmd\":\"route.add\",\"prefix\":\"44.31.0.0/24\",\"peer\":\"" K2
		"\",\"interface\":\"wg1\"}");
	assert_int_equal(api.route.kind, DP_ROUTE_PEER);
	assert_int_equal(api.route.wg_if, 1);
	key_bytes(k, 33);
	assert_memory_equal(api.route.peer_key, k, 32);

	ok_null("{\"cmd\":\"route.add\",\"prefix\":\"44.0.0.1/32\",\"exception\":true}");
	assert_int_equal(api.route.kind, DP_ROUTE_EXCEPTION);
	ok_null("{\"cmd\":\"route.add\",\"prefix\":\"44.128.0.0/10\",\"drop\":true,"
		"\"exception\":false}");
	assert_int_equal(api.route.kind, DP_ROUTE_DROP);
	assert_int_equal(api.route_add, 5);

	api.rc = -EEXIST;
	snprintf(api.err, sizeof(api.err), "route exists");
	err("{\"cmd\":\"route.add\",\"prefix\":\"44.128.0.0/10\",\"drop\":true}", "EEXIST",
	    "route exists");
}

static void
test_route_add_bad(void **state)
{
	static const struct {
		const char *args;
		const char *code, *needle;
	} t[] = {
		{"\"drop\":true", "EINVAL", "missing field 'prefix'"},
		{"\"prefix\":44,\"drop\":true", "EINVAL", "field 'prefix' must be a string"},
		{"\"prefix\":\"44.0.0.0\",\"drop\":true", "EINVAL",
		 "field 'prefix' '44.0.0.0' is not a prefix"},
		{"\"prefix\":\"44.0.0.1/8\",\"drop\":true", "EINVAL",
		 "has host bits set (did you mean 44.0.0.0/8?)"},
		{"\"prefix\":\"44.0.0.0/8\"", "EINVAL", "needs one of"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":false", "EINVAL", "needs one of"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":\"yes\"", "EINVAL",
		 "field 'drop' must be true or false"},
		{"\"prefix\":\"44.0.0.0/8\",\"exception\":1", "EINVAL",
		 "field 'exception' must be true or false"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":true,\"exception\":true", "EINVAL",
		 "takes only one of"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":true,\"via\":\"192.0.2.1\",\"port\":1",
		 "EINVAL", "takes only one of"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":\"192.0.2.1\"", "EINVAL",
		 "field 'via' needs 'port'"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":true,\"port\":1", "EINVAL",
		 "field 'port' is only valid with 'via'"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":\"192.0.2.1\",\"port\":\"uplink\"", "EINVAL",
		 "field 'port' must be an integer 0..65535"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":\"192.0.2.1\",\"port\":65536", "EINVAL",
		 "field 'port' 65536 out of range 0..65535"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":\"192.0.2\",\"port\":1", "EINVAL",
		 "field 'via' '192.0.2' is not an IPv4 or IPv6 address"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":\"2001:db8::1\",\"port\":1", "EINVAL",
		 "field 'via' is not of the family of the prefix"},
		{"\"prefix\":\"44.0.0.0/8\",\"via\":7,\"port\":1", "EINVAL",
		 "field 'via' must be a string"},
		{"\"prefix\":\"44.0.0.0/8\",\"peer\":\"" K1 "\"", "EINVAL",
		 "missing field 'interface'"},
		{"\"prefix\":\"44.0.0.0/8\",\"peer\":\"" K1 "\",\"interface\":\"wg5\"", "ENOENT",
		 "interface 'wg5' not found"},
		{"\"prefix\":\"44.0.0.0/8\",\"peer\":\"" K31 "\",\"interface\":\"wg0\"", "EINVAL",
		 "field 'peer' is not a WireGuard key"},
		{"\"prefix\":\"44.0.0.0/8\",\"peer\":null,\"interface\":\"wg0\"", "EINVAL",
		 "field 'peer' must be a string"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":true,\"interface\":\"wg0\"", "EINVAL",
		 "field 'interface' is only valid with 'peer'"},
		{"\"prefix\":\"44.0.0.0/8\",\"drop\":true,\"metric\":1", "EINVAL",
		 "unknown field 'metric' for route.add"},
	};
	char line[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"route.add\",%s}", t[i].args);
		err_untouched(line, t[i].code, t[i].needle);
	}
	assert_int_equal(api.route_add, 0);
}

static void
test_route_del(void **state)
{
	(void)state;
	ok_null("{\"cmd\":\"route.del\",\"prefix\":\"44.31.0.0/24\"}");
	assert_int_equal(api.route_del, 1);
	assert_int_equal(api.del.family, AF_INET);
	assert_int_equal(api.del.plen, 24);
	assert_memory_equal(api.del.addr, "\x2c\x1f\x00\x00", 4);
	api.rc = -ENOENT;
	snprintf(api.err, sizeof(api.err), "no such route");
	err("{\"cmd\":\"route.del\",\"prefix\":\"44.31.0.0/24\"}", "ENOENT", "no such route");
	err_untouched("{\"cmd\":\"route.del\"}", "EINVAL", "missing field 'prefix'");
	err_untouched("{\"cmd\":\"route.del\",\"prefix\":[]}", "EINVAL",
		      "field 'prefix' must be a string");
	err_untouched("{\"cmd\":\"route.del\",\"prefix\":\"44.31.0.1/24\"}", "EINVAL",
		      "host bits set");
	err_untouched("{\"cmd\":\"route.del\",\"prefix\":\"44.31.0.0/24\",\"drop\":true}", "EINVAL",
		      "unknown field 'drop' for route.del");
}

/* ------------------------------------------------------------------------
 * Batch
 * ------------------------------------------------------------------------ */

static void
test_batch(void **state)
{
	json_t *r, *res, *it;

	(void)state;
	api.rc = 0;
	r = call("{\"id\":\"b1\",\"cmd\":\"batch\",\"commands\":["
		 "{\"cmd\":\"ping\"},"
		 "{\"id\":5,\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"},"
		 "{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"bad\"},"
		 "42,"
		 "{\"cmd\":\"batch\",\"commands\":[]},"
		 "{\"cmd\":\"route.del\",\"prefix\":\"44.0.0.0/8\"},"
		 "{\"cmd\":\"nope\"}"
		 "]}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "id")), "b1");
	res = json_object_get(r, "result");
	assert_int_equal(json_array_size(res), 7);
	it = json_array_get(res, 0);
	assert_true(json_is_true(json_object_get(it, "ok")));
	assert_null(json_object_get(it, "id"));
	it = json_array_get(res, 1);
	assert_true(json_is_true(json_object_get(it, "ok")));
	assert_int_equal(json_integer_value(json_object_get(it, "id")), 5);
	it = json_array_get(res, 2);
	assert_true(json_is_false(json_object_get(it, "ok")));
	assert_non_null(
		strstr(json_string_value(json_object_get(json_object_get(it, "error"), "message")),
		       "public_key"));
	it = json_array_get(res, 3);
	assert_true(json_is_false(json_object_get(it, "ok")));
	it = json_array_get(res, 4);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(it, "error"), "message")),
		"batch cannot be nested");
	/* not atomic: the command after the failures ran */
	it = json_array_get(res, 5);
	assert_true(json_is_true(json_object_get(it, "ok")));
	assert_int_equal(api.route_del, 1);
	assert_int_equal(api.peer_set, 1);
	it = json_array_get(res, 6);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(it, "error"), "code")), "ENOSYS");
	json_decref(r);

	/* an engine failure in the middle: reported there, the rest runs */
	api.peer_set = 0;
	api.rc = -ENOSPC;
	snprintf(api.err, sizeof(api.err), "peer table full");
	res = ok("{\"cmd\":\"batch\",\"commands\":["
		 "{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"},"
		 "{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K2 "\"}]}");
	assert_int_equal(api.peer_set, 2);
	assert_true(json_is_false(json_object_get(json_array_get(res, 0), "ok")));
	assert_true(json_is_true(json_object_get(json_array_get(res, 1), "ok")));
	json_decref(res);

	res = ok("{\"cmd\":\"batch\",\"commands\":[]}");
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	err("{\"cmd\":\"batch\"}", "EINVAL", "missing field 'commands'");
	err("{\"cmd\":\"batch\",\"commands\":{}}", "EINVAL", "field 'commands' must be an array");
	err("{\"cmd\":\"batch\",\"commands\":[],\"atomic\":true}", "EINVAL",
	    "unknown field 'atomic' for batch");
}

/* ------------------------------------------------------------------------
 * Huge and garbage lines, fuzz
 * ------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	/* xorshift64*: fixed seed, same sequence on every run */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void
test_huge_lines(void **state)
{
	size_t n = DP_ENGINE_SOCK_LINE_MAX + 1;
	char *buf = malloc(n + 64);
	json_t *r;

	(void)state;
	assert_non_null(buf);
	/* too long: refused without parsing */
	memset(buf, ' ', n);
	r = call_n(buf, n);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
			    "E2BIG");
	json_decref(r);

	/* exactly the limit: parsed (a valid request padded with spaces) */
	memset(buf, ' ', DP_ENGINE_SOCK_LINE_MAX);
	memcpy(buf, "{\"cmd\":\"ping\"}", 14);
	r = call_n(buf, DP_ENGINE_SOCK_LINE_MAX);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	/* 1 MiB of random bytes */
	for (size_t i = 0; i < DP_ENGINE_SOCK_LINE_MAX; i++)
		buf[i] = (char)rnd();
	r = call_n(buf, DP_ENGINE_SOCK_LINE_MAX);
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);

	/* deep nesting: the parser's depth limit, no stack overflow */
	for (size_t i = 0; i < 500000; i++) {
		buf[i] = '[';
		buf[i + 500000] = ']';
	}
	r = call_n(buf, 1000000);
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);
	memcpy(buf, "{\"cmd\":\"ping\",\"id\":", 19);
	for (size_t i = 19; i < 19 + 100000; i++)
		buf[i] = '[';
	r = call_n(buf, 19 + 100000);
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_decref(r);

	/* a long string id is echoed whole */
	memcpy(buf, "{\"cmd\":\"ping\",\"id\":\"", 20);
	memset(buf + 20, 'i', 500000);
	memcpy(buf + 20 + 500000, "\"}", 2);
	r = call_n(buf, 20 + 500000 + 2);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(strlen(json_string_value(json_object_get(r, "id"))), 500000);
	json_decref(r);

	/* a big batch of pings */
	{
		size_t len = 0, k = 0;

		len += (size_t)sprintf(buf, "{\"cmd\":\"batch\",\"commands\":[");
		while (len + 40 < DP_ENGINE_SOCK_LINE_MAX) {
			len += (size_t)sprintf(buf + len, "%s{\"cmd\":\"ping\"}", k ? "," : "");
			k++;
		}
		len += (size_t)sprintf(buf + len, "]}");
		r = call_n(buf, len);
		assert_true(json_is_true(json_object_get(r, "ok")));
		assert_int_equal(json_array_size(json_object_get(r, "result")), k);
		json_decref(r);
	}
	free(buf);
}

static const char *const seeds[] = {
	"{\"id\":1,\"cmd\":\"ping\"}",
	"{\"id\":\"a\",\"cmd\":\"interfaces.list\"}",
	"{\"cmd\":\"peer.set\",\"interface\":\"wg0\",\"public_key\":\"" K1
	"\",\"preshared_key\":\"" KPSK "\",\"endpoint\":\"192.0.2.7:51820\","
	"\"persistent_keepalive\":25,\"allowed_ips\":[\"44.1.2.3/32\",\"2001:db8:44::/64\"],"
	"\"replace_allowed_ips\":false}",
	"{\"cmd\":\"peer.set\",\"interface\":\"wg1\",\"public_key\":\"" K2
	"\",\"endpoint\":\"[2001:db8::1]:443\",\"preshared_key\":null,\"allowed_ips\":[]}",
	"{\"cmd\":\"peer.remove\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}",
	"{\"cmd\":\"peer.get\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"}",
	"{\"cmd\":\"peer.list\",\"interface\":\"wg1\"}",
	"{\"cmd\":\"route.add\",\"prefix\":\"0.0.0.0/0\",\"via\":\"192.0.2.1\",\"port\":2}",
	"{\"cmd\":\"route.add\",\"prefix\":\"44.31.0.0/24\",\"peer\":\"" K2
	"\",\"interface\":\"wg1\"}",
	"{\"cmd\":\"route.add\",\"prefix\":\"2001:db8::/32\",\"drop\":true}",
	"{\"cmd\":\"route.del\",\"prefix\":\"44.31.0.0/24\"}",
	"{\"cmd\":\"route.list\"}",
	"{\"cmd\":\"stats\"}",
	"{\"id\":[1],\"cmd\":\"batch\",\"commands\":[{\"cmd\":\"ping\"},{\"cmd\":\"route.del\","
	"\"prefix\":\"44.0.0.0/8\"},{\"cmd\":\"batch\",\"commands\":[]}]}",
};

/* Bytes a mutation likes to insert: JSON's punctuation and troublemakers. */
static const char magic[] = "{}[]\":,\\/0123456789.-+eEtrufalsn \t\r\n\0\x7f\x80\xc3\xff%";

static size_t
mutate(char *buf, size_t len, size_t cap)
{
	unsigned ops = 1 + rnd() % 4;

	for (unsigned k = 0; k < ops; k++) {
		size_t pos = len ? rnd() % len : 0, n;

		switch (rnd() % 8) {
		case 0: /* flip a bit */
			if (len)
				buf[pos] ^= (char)(1u << (rnd() % 8));
			break;
		case 1: /* replace with a magic byte */
			if (len)
				buf[pos] = magic[rnd() % (sizeof(magic) - 1)];
			break;
		case 2: /* insert a magic byte */
			if (len + 1 < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = magic[rnd() % (sizeof(magic) - 1)];
				len++;
			}
			break;
		case 3: /* delete a run */
			n = 1 + rnd() % 8;
			if (pos + n > len)
				n = len - pos;
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
			break;
		case 4: /* truncate */
			len = pos;
			break;
		case 5: { /* duplicate a run somewhere */
			size_t from = len ? rnd() % len : 0;

			n = 1 + rnd() % 32;
			if (from + n > len)
				n = len - from;
			if (len + n < cap) {
				char tmp[32];

				memcpy(tmp, buf + from, n);
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, tmp, n);
				len += n;
			}
			break;
		}
		case 6: /* a random byte */
			if (len)
				buf[pos] = (char)rnd();
			break;
		default: /* swap two bytes */
			if (len) {
				size_t q = rnd() % len;
				char t = buf[pos];

				buf[pos] = buf[q];
				buf[q] = t;
			}
			break;
		}
	}
	return len;
}

/* Values and field names a structural mutation puts into a request. */
static const char *const fuzz_values[] = {
	"\"wg0\"",
	"\"wg9\"",
	"\"" K1 "\"",
	"\"" K31 "\"",
	"\"44.0.0.0/8\"",
	"\"44.0.0.1/8\"",
	"\"2001:db8::/32\"",
	"\"1.2.3.4:5\"",
	"\"[::1]:0\"",
	"\"192.0.2.1\"",
	"\"\"",
	"0",
	"-1",
	"65535",
	"65536",
	"1e300",
	"-9223372036854775808",
	"true",
	"false",
	"null",
	"[]",
	"{}",
	"[\"44.0.0.0/8\",5]",
	"[\"44.0.0.0/8\",\"44.0.0.0/8\"]",
	"{\"cmd\":\"ping\"}",
	"[{\"cmd\":\"peer.remove\",\"interface\":\"wg0\",\"public_key\":\"" K1 "\"},7]",
	"\"ping\"",
	"\"batch\"",
	"\"peer.set\"",
	"\"route.add\"",
};
static const char *const fuzz_fields[] = {
	"id",
	"cmd",
	"interface",
	"public_key",
	"preshared_key",
	"endpoint",
	"persistent_keepalive",
	"allowed_ips",
	"replace_allowed_ips",
	"prefix",
	"via",
	"port",
	"peer",
	"exception",
	"drop",
	"commands",
	"bogus",
};

/* Set, delete or replace fields of a seed request (or of one of its batch
 * commands), keeping the JSON well-formed so the argument checks get hit. */
static json_t *
mutate_tree(const char *seed)
{
	json_t *req = json_loads(seed, 0, NULL), *target, *v;
	unsigned ops = 1 + rnd() % 3;

	assert_non_null(req);
	for (unsigned k = 0; k < ops; k++) {
		const char *f = fuzz_fields[rnd() % (sizeof(fuzz_fields) / sizeof(fuzz_fields[0]))];

		target = req;
		if (json_is_array(json_object_get(req, "commands")) && rnd() % 2) {
			json_t *c = json_object_get(req, "commands");

			if (json_array_size(c) > 0)
				target = json_array_get(c, rnd() % json_array_size(c));
		}
		if (!json_is_object(target))
			continue;
		switch (rnd() % 3) {
		case 0:
			json_object_del(target, f);
			break;
		default:
			v = json_loads(
				fuzz_values[rnd() % (sizeof(fuzz_values) / sizeof(fuzz_values[0]))],
				JSON_DECODE_ANY, NULL);
			assert_non_null(v);
			json_object_set_new(target, f, v);
			break;
		}
	}
	return req;
}

static void
test_fuzz_tree(void **state)
{
	unsigned n_ok = 0;

	(void)state;
	rng = 0x13198a2e03707344ull; /* fixed seed */
	for (unsigned i = 0; i < 20000; i++) {
		json_t *req = mutate_tree(seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))]), *r;
		char *line = json_dumps(req, JSON_COMPACT);

		assert_non_null(line);
		api.rc = (rnd() % 4 == 0) ? -ENOENT : 0;
		snprintf(api.err, sizeof(api.err), "scripted failure");
		r = call(line);
		n_ok += json_is_true(json_object_get(r, "ok"));
		/* the id, when there is one, is echoed unchanged */
		if (json_object_get(req, "id") != NULL)
			assert_true(
				json_equal(json_object_get(r, "id"), json_object_get(req, "id")));
		else
			assert_null(json_object_get(r, "id"));
		json_decref(r);
		json_decref(req);
		free(line);
	}
	assert_true(n_ok > 1000);
	print_message("fuzz tree: %u of 20000 mutated requests succeeded\n", n_ok);
}

static void
test_fuzz(void **state)
{
	char buf[2048];
	unsigned n_ok = 0;

	(void)state;
	rng = 0x243f6a8885a308d3ull; /* fixed seed */
	for (unsigned i = 0; i < 20000; i++) {
		const char *s = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(s);
		json_t *r;

		memcpy(buf, s, len);
		len = mutate(buf, len, sizeof(buf));
		/* every outcome of the engine: success and scripted failures */
		api.rc = (rnd() % 4 == 0) ? -EINVAL : 0;
		snprintf(api.err, sizeof(api.err), "scripted \xff failure");
		r = call_n(buf, len);
		n_ok += json_is_true(json_object_get(r, "ok"));
		json_decref(r);
	}
	/* the mutations are mild enough that some requests still succeed */
	assert_true(n_ok > 100);
	print_message("fuzz: %u of 20000 mutated requests succeeded\n", n_ok);
}

/* ------------------------------------------------------------------------
 * The socket server
 * ------------------------------------------------------------------------ */

static char tmpdir[48];
static char sockpath[100];
static uint64_t fake_now;

static int
sock_setup(void **state)
{
	char err[256];

	setup(state);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_engine_sock.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	/* a parent directory that does not exist yet */
	snprintf(sockpath, sizeof(sockpath), "%s/run/gate44/engine.sock", tmpdir);
	if (dp_engine_sock_open(sockpath, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	fake_now = 1000000000ull;
	return 0;
}

static int
sock_teardown(void **state)
{
	char p[160];

	(void)state;
	dp_engine_sock_close();
	dp_engine_sock_close(); /* idempotent */
	unlink(sockpath);
	snprintf(p, sizeof(p), "%s/run/gate44", tmpdir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/run", tmpdir);
	rmdir(p);
	rmdir(tmpdir);
	return 0;
}

static int
connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void
pump(unsigned times)
{
	for (unsigned i = 0; i < times; i++) {
		dp_engine_sock_poll(fake_now);
		fake_now += 1000;
	}
}

/* Read from fd (pumping the server) until want lines came or EOF; returns
 * the bytes read (NUL-terminated); *eof says whether the server closed. */
static size_t
read_lines(int fd, char *buf, size_t cap, unsigned want, bool *eof)
{
	size_t len = 0;
	unsigned lines = 0;

	*eof = false;
	for (unsigned iter = 0; iter < 100000 && lines < want && !*eof; iter++) {
		ssize_t r;

		pump(1);
		r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r > 0) {
			for (ssize_t i = 0; i < r; i++)
				lines += buf[len + (size_t)i] == '\n';
			len += (size_t)r;
		} else if (r == 0) {
			*eof = true;
		} else {
			assert_true(errno == EAGAIN || errno == ECONNRESET);
			if (errno == ECONNRESET)
				*eof = true;
		}
	}
	buf[len] = '\0';
	return len;
}

static void
test_sock_basic(void **state)
{
	static const char req[] = "{\"id\":1,\"cmd\":\"ping\"}\n"
				  "\r\n"
				  "{\"id\":2,\"cmd\":\"nope\"}\r\n"
				  "{\"id\":3,\"cmd\":\"stats\"}\n"
				  "{\"id\":4,\"cmd\":\"pi";
	char buf[4096], err[256];
	struct stat st;
	bool eof;
	int fd;

	(void)state;
	assert_int_equal(stat(sockpath, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second open is refused */
	assert_int_equal(dp_engine_sock_open(sockpath, err, sizeof(err)), -EALREADY);

	fd = connect_client();
	assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
	read_lines(fd, buf, sizeof(buf), 3, &eof);
	assert_false(eof);
	assert_string_equal(buf, "{\"id\":1,\"ok\":true,\"result\":{\"pong\":true}}\n"
				 "{\"id\":2,\"ok\":false,\"error\":{\"code\":\"ENOSYS\","
				 "\"message\":\"unknown cmd 'nope'\"}}\n"
				 "{\"id\":3,\"ok\":true,\"result\":{\"view\":\"stats\"}}\n");
	/* the rest of the partial line, then EOF: answered, then closed */
	assert_int_equal(send(fd, "ng\"}", 4, 0), 4);
	shutdown(fd, SHUT_WR);
	read_lines(fd, buf, sizeof(buf), 2, &eof);
	assert_string_equal(buf, "{\"id\":4,\"ok\":true,\"result\":{\"pong\":true}}\n");
	assert_true(eof);
	close(fd);
}

static void
test_sock_long_line(void **state)
{
	size_t n = DP_ENGINE_SOCK_LINE_MAX + 100, sent = 0;
	char *big = malloc(n), buf[4096];
	bool eof;
	int fd;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	fd = connect_client();
	/* a good line first: it is answered */
	assert_int_equal(send(fd, "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	for (unsigned iter = 0; iter < 100000 && sent < n; iter++) {
		ssize_t r = send(fd, big + sent, n - sent, MSG_NOSIGNAL);

		if (r > 0)
			sent += (size_t)r;
		else if (errno == EPIPE || errno == ECONNRESET)
			break;
		pump(1);
	}
	read_lines(fd, buf, sizeof(buf), 3, &eof);
	assert_true(eof);
	assert_non_null(strstr(buf, "{\"ok\":true,\"result\":{\"pong\":true}}\n"));
	assert_non_null(strstr(buf, "\"code\":\"E2BIG\""));
	assert_non_null(strstr(buf, "line longer than 1048576 bytes"));
	close(fd);
	free(big);
}

static void
test_sock_too_many_clients(void **state)
{
	int fds[DP_ENGINE_SOCK_MAX_CLIENTS + 1];
	char buf[4096];
	bool eof;

	(void)state;
	for (int i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS; i++) {
		fds[i] = connect_client();
		pump(2);
	}
	fds[DP_ENGINE_SOCK_MAX_CLIENTS] = connect_client();
	read_lines(fds[DP_ENGINE_SOCK_MAX_CLIENTS], buf, sizeof(buf), 1, &eof);
	assert_non_null(strstr(buf, "\"code\":\"EBUSY\""));
	close(fds[DP_ENGINE_SOCK_MAX_CLIENTS]);
	/* the others still work */
	for (int i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS; i++) {
		assert_int_equal(send(fds[i], "{\"cmd\":\"ping\"}\n", 15, 0), 15);
		read_lines(fds[i], buf, sizeof(buf), 1, &eof);
		assert_string_equal(buf, "{\"ok\":true,\"result\":{\"pong\":true}}\n");
	}
	/* one leaves: its slot takes a newcomer */
	close(fds[0]);
	pump(3);
	fds[0] = connect_client();
	assert_int_equal(send(fds[0], "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	read_lines(fds[0], buf, sizeof(buf), 1, &eof);
	assert_string_equal(buf, "{\"ok\":true,\"result\":{\"pong\":true}}\n");
	for (int i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS; i++)
		close(fds[i]);
	pump(3);
}

static void
test_sock_non_reader(void **state)
{
	char line[] = "{\"cmd\":\"batch\",\"commands\":[{\"cmd\":\"stats\"},{\"cmd\":\"stats\"},"
		      "{\"cmd\":\"stats\"},{\"cmd\":\"stats\"},{\"cmd\":\"stats\"}]}\n";
	unsigned sent = 0;
	char sink[65536];
	ssize_t r;
	int fd = connect_client();

	(void)state;
	/* requests pile up, replies are never read: backpressure, then a stall */
	for (unsigned i = 0; i < 200000; i++) {
		if (send(fd, line, sizeof(line) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(line) - 1))
			sent++;
		pump(1);
	}
	assert_true(sent > 1000);
	fake_now += DP_ENGINE_SOCK_STALL_NS + 1;
	pump(2);
	/* the server hung up: after the replies it had sent, EOF */
	while ((r = recv(fd, sink, sizeof(sink), 0)) > 0)
		;
	assert_true(r == 0 || errno == ECONNRESET);
	close(fd);
}

static void
test_sock_open_errors(void **state)
{
	char err[256], p[200];
	int fd;

	(void)state;
	/* a live socket is not stolen */
	dp_engine_sock_close();
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(fd, 1), 0);
		assert_int_equal(dp_engine_sock_open(sockpath, err, sizeof(err)), -EADDRINUSE);
		assert_non_null(strstr(err, "another process"));
		/* closed without unlinking: stale, removed and replaced */
		close(fd);
		assert_int_equal(dp_engine_sock_open(sockpath, err, sizeof(err)), 0);
		dp_engine_sock_close();
	}
	/* not a socket */
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(dp_engine_sock_open(p, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	unlink(p);
	/* too long, empty */
	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(dp_engine_sock_open(p, err, sizeof(err)), -ENAMETOOLONG);
	assert_int_equal(dp_engine_sock_open("", err, sizeof(err)), -EINVAL);
	assert_int_equal(dp_engine_sock_open(NULL, NULL, 0), -EINVAL);
	/* poll on a closed server does nothing */
	dp_engine_sock_poll(0);
	/* reopen for teardown */
	assert_int_equal(dp_engine_sock_open(sockpath, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ping_and_id, setup),
		cmocka_unit_test_setup(test_bad_requests, setup),
		cmocka_unit_test_setup(test_bad_request_embedded_nul, setup),
		cmocka_unit_test_setup(test_messages_are_clean, setup),
		cmocka_unit_test_setup(test_views, setup),
		cmocka_unit_test_setup(test_peer_set_full, setup),
		cmocka_unit_test_setup(test_peer_set_minimal, setup),
		cmocka_unit_test_setup(test_peer_set_bad, setup),
		cmocka_unit_test_setup(test_peer_set_engine_error, setup),
		cmocka_unit_test_setup(test_peer_remove, setup),
		cmocka_unit_test_setup(test_route_add, setup),
		cmocka_unit_test_setup(test_route_add_bad, setup),
		cmocka_unit_test_setup(test_route_del, setup),
		cmocka_unit_test_setup(test_batch, setup),
		cmocka_unit_test_setup(test_huge_lines, setup),
		cmocka_unit_test_setup(test_fuzz, setup),
		cmocka_unit_test_setup(test_fuzz_tree, setup),
		cmocka_unit_test_setup_teardown(test_sock_basic, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_long_line, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_too_many_clients, sock_setup,
						sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_non_reader, sock_setup, sock_teardown),
		cmocka_unit_test_setup_teardown(test_sock_open_errors, sock_setup, sock_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
