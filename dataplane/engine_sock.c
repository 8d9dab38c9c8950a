/*
 * engine_sock.c — the engine socket: JSON-lines requests turned into
 * dp_api_* calls (dp_engine_sock_handle_line, socket-free so it is unit
 * tested and fuzzed on its own), and the unix stream socket server that
 * feeds it (up to 16 clients, bounded buffers, non-blocking I/O). Main lcore
 * only: dp_engine_sock_poll() runs in its loop and must never block it.
 * Protocol: dataplane/ENGINE-SOCKET.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include <rte_log.h>

#include "api.h"
#include "config.h"
#include "engine_sock.h"

#define ESOCK_LOG(level, fmt, ...) RTE_LOG(level, USER1, "engine-sock: " fmt "\n", ##__VA_ARGS__)

/* ------------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------------ */

struct cmd_err {
	char msg[256];
};

static int __attribute__((format(printf, 3, 4)))
fail(struct cmd_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return rc;
}

/* A caller's string fit to quote in a message: at most 48 bytes, anything
 * but printable ASCII shown as '?' (messages must stay valid UTF-8). */
struct shown {
	char s[56];
};

static const char *
show(const char *s, struct shown *buf)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 48; i++)
		buf->s[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf->s + i, "...", 3);
		i += 3;
	}
	buf->s[i] = '\0';
	return buf->s;
}

/* The protocol's name for an errno ("EINVAL"). */
static const char *
errno_name(int e)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
		{EINVAL, "EINVAL"},	    {ENOENT, "ENOENT"},	      {EEXIST, "EEXIST"},
		{ENOSPC, "ENOSPC"},	    {ENOMEM, "ENOMEM"},	      {E2BIG, "E2BIG"},
		{EBUSY, "EBUSY"},	    {ERANGE, "ERANGE"},	      {EAGAIN, "EAGAIN"},
		{ENODEV, "ENODEV"},	    {ENOTSUP, "ENOTSUP"},     {ENOSYS, "ENOSYS"},
		{EPERM, "EPERM"},	    {EACCES, "EACCES"},	      {EIO, "EIO"},
		{EALREADY, "EALREADY"},	    {ENOBUFS, "ENOBUFS"},     {EOVERFLOW, "EOVERFLOW"},
		{EADDRINUSE, "EADDRINUSE"}, {ETIMEDOUT, "ETIMEDOUT"},
	};
	const char *n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	n = strerrorname_np(e);
	return n != NULL ? n : "EIO";
}

/* {"id": id?, "ok": false, "error": {"code", "message"}}; rc is -errno. */
static json_t *
error_reply(json_t *id, int rc, const char *msg)
{
	char clean[sizeof(((struct cmd_err *)0)->msg)];
	json_t *r = json_object(), *err = json_object();
	size_t i;

	/* messages may quote the caller's bytes: keep them printable ASCII */
	for (i = 0; msg[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : '?';
	clean[i] = '\0';
	if (r == NULL || err == NULL ||
	    json_object_set_new(err, "code", json_string(errno_name(-rc))) != 0 ||
	    json_object_set_new(err, "message", json_string(clean)) != 0 ||
	    (id != NULL && json_object_set(r, "id", id) != 0) ||
	    json_object_set_new(r, "ok", json_false()) != 0 ||
	    json_object_set_new(r, "error", err) != 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* {"id": id?, "ok": true, "result": result}; takes result's reference. */
static json_t *
ok_reply(json_t *id, json_t *result)
{
	json_t *r = json_object();

	if (r == NULL || (id != NULL && json_object_set(r, "id", id) != 0) ||
	    json_object_set_new(r, "ok", json_true()) != 0 ||
	    json_object_set_new(r, "result", result != NULL ? result : json_null()) != 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* Field getters: 0 when the field is absent or well-formed, else -EINVAL
 * with a message naming it. */

static int
get_string(json_t *req, const char *field, bool required, const char **out, struct cmd_err *e)
{
	json_t *v = json_object_get(req, field);

	*out = NULL;
	if (v == NULL)
		return required ? fail(e, -EINVAL, "missing field '%s'", field) : 0;
	if (!json_is_string(v))
		return fail(e, -EINVAL, "field '%s' must be a string", field);
	*out = json_string_value(v);
	return 0;
}

static int
get_bool(json_t *req, const char *field, bool *present, bool *out, struct cmd_err *e)
{
	json_t *v = json_object_get(req, field);

	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(e, -EINVAL, "field '%s' must be true or false", field);
	*out = json_is_true(v);
	return 0;
}

static int
get_uint(json_t *req, const char *field, json_int_t max, bool *present, json_int_t *out,
	 struct cmd_err *e)
{
	json_t *v = json_object_get(req, field);

	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return fail(e, -EINVAL, "field '%s' must be an integer 0..%lld", field,
			    (long long)max);
	*out = json_integer_value(v);
	if (*out < 0 || *out > max)
		return fail(e, -EINVAL, "field '%s' %lld out of range 0..%lld", field,
			    (long long)*out, (long long)max);
	return 0;
}

static int
get_key(json_t *req, const char *field, uint8_t key[32], struct cmd_err *e)
{
	const char *s;
	int rc = get_string(req, field, true, &s, e);

	if (rc != 0)
		return rc;
	/* the value is not quoted back: it may be a secret */
	if (dp_key_parse(s, key) != 0)
		return fail(e, -EINVAL,
			    "field '%s' is not a WireGuard key (44 characters of base64 encoding "
			    "32 bytes)",
			    field);
	return 0;
}

/* The "interface" field: an existing WireGuard interface's name. */
static int
get_iface(json_t *req, bool required, bool *present, uint16_t *wg_if, struct cmd_err *e)
{
	struct shown sh;
	const char *name;
	int rc = get_string(req, "interface", required, &name, e), idx;

	*present = name != NULL;
	if (rc != 0 || name == NULL)
		return rc;
	idx = dp_api_wg_find(name);
	if (idx < 0 || idx > UINT16_MAX)
		return fail(e, -ENOENT, "interface '%s' not found", show(name, &sh));
	*wg_if = (uint16_t)idx;
	return 0;
}

/* v (named what in messages) must be an "addr/len" network prefix. */
static int
parse_prefix(json_t *v, const char *what, struct dp_cfg_prefix *p, struct cmd_err *e)
{
	char net[DP_CFG_PREFIX_STRLEN];
	struct dp_cfg_prefix n;
	struct shown sh;
	const char *s;

	if (!json_is_string(v))
		return fail(e, -EINVAL, "%s must be a string \"addr/len\"", what);
	s = json_string_value(v);
	if (dp_prefix_parse(s, p) != 0)
		return fail(e, -EINVAL, "%s '%s' is not a prefix \"addr/len\"", what, show(s, &sh));
	if (!dp_prefix_is_network(p)) {
		n = *p;
		for (unsigned int i = n.plen; i < 128; i++)
			n.addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
		dp_prefix_format(&n, net, sizeof(net));
		return fail(e, -EINVAL, "%s '%s' has host bits set (did you mean %s?)", what,
			    show(s, &sh), net);
	}
	return 0;
}

static int
get_prefix(json_t *req, const char *field, struct dp_cfg_prefix *p, struct cmd_err *e)
{
	char what[32];
	json_t *v = json_object_get(req, field);

	if (v == NULL)
		return fail(e, -EINVAL, "missing field '%s'", field);
	snprintf(what, sizeof(what), "field '%s'", field);
	return parse_prefix(v, what, p, e);
}

/* An API result: 0 (or a non-negative id) is success; else err or strerror. */
static int
api_rc(int rc, const char *err, struct cmd_err *e)
{
	if (rc >= 0)
		return 0;
	return fail(e, rc, "%s", err[0] != '\0' ? err : strerror(-rc));
}

/* A read-only view: NULL from the engine means it could not build it. */
static int
view(json_t *v, json_t **result, struct cmd_err *e)
{
	if (v == NULL)
		return fail(e, -ENOMEM, "out of memory building the result");
	*result = v;
	return 0;
}

static int
cmd_ping(json_t *req, json_t **result, struct cmd_err *e)
{
	(void)req;
	*result = json_pack("{s:b}", "pong", 1);
	return *result != NULL ? 0 : fail(e, -ENOMEM, "out of memory");
}

static int
cmd_interfaces_list(json_t *req, json_t **result, struct cmd_err *e)
{
	(void)req;
	return view(dp_api_interfaces_json(), result, e);
}

static int
cmd_stats(json_t *req, json_t **result, struct cmd_err *e)
{
	(void)req;
	return view(dp_api_stats_json(), result, e);
}

static int
cmd_route_list(json_t *req, json_t **result, struct cmd_err *e)
{
	(void)req;
	return view(dp_api_routes_json(), result, e);
}

static int
cmd_peer_list(json_t *req, json_t **result, struct cmd_err *e)
{
	uint16_t wg_if = 0;
	bool has_if;
	int rc = get_iface(req, false, &has_if, &wg_if, e);

	if (rc != 0)
		return rc;
	return view(dp_api_peers_json(has_if ? wg_if : -1), result, e);
}

static int
cmd_peer_get(json_t *req, json_t **result, struct cmd_err *e)
{
	uint8_t pub[32];
	uint16_t wg_if = 0;
	struct shown sh;
	bool has_if;
	int rc;

	if ((rc = get_iface(req, true, &has_if, &wg_if, e)) != 0 ||
	    (rc = get_key(req, "public_key", pub, e)) != 0)
		return rc;
	*result = dp_api_peer_json(wg_if, pub);
	if (*result == NULL)
		return fail(e, -ENOENT, "no peer with that public_key on interface '%s'",
			    show(json_string_value(json_object_get(req, "interface")), &sh));
	return 0;
}

static int
cmd_peer_remove(json_t *req, json_t **result, struct cmd_err *e)
{
	char err[256] = "";
	uint8_t pub[32];
	uint16_t wg_if = 0;
	bool has_if;
	int rc;

	(void)result;
	if ((rc = get_iface(req, true, &has_if, &wg_if, e)) != 0 ||
	    (rc = get_key(req, "public_key", pub, e)) != 0)
		return rc;
	return api_rc(dp_api_peer_remove(wg_if, pub, err, sizeof(err)), err, e);
}

static void
endpoint_from(const struct sockaddr_storage *ss, struct dp_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		ep->family = AF_INET;
		memcpy(ep->addr, &sin->sin_addr, 4);
		ep->port = sin->sin_port;
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		ep->family = AF_INET6;
		memcpy(ep->addr, &sin6->sin6_addr, 16);
		ep->port = sin6->sin6_port;
	}
}

/* The allowed_ips array into a malloc'd list (*out NULL when empty). */
static int
get_allowed(json_t *v, struct dp_cfg_prefix **out, unsigned int *n, struct cmd_err *e)
{
	struct dp_cfg_prefix *list;
	char what[48];
	size_t i, count;
	json_t *item;
	int rc;

	*out = NULL;
	*n = 0;
	if (!json_is_array(v))
		return fail(e, -EINVAL, "field 'allowed_ips' must be an array of \"addr/len\"");
	count = json_array_size(v);
	if (count == 0)
		return 0;
	if (count > UINT32_MAX)
		return fail(e, -E2BIG, "field 'allowed_ips' has too many entries");
	list = calloc(count, sizeof(*list));
	if (list == NULL)
		return fail(e, -ENOMEM, "out of memory");
	json_array_foreach (v, i, item) {
		snprintf(what, sizeof(what), "allowed_ips[%zu]", i);
		rc = parse_prefix(item, what, &list[i], e);
		if (rc != 0) {
			free(list);
			return rc;
		}
	}
	*out = list;
	*n = (unsigned int)count;
	return 0;
}

/*
 * peer.set: all fields are checked before anything is applied, and the one
 * dp_api_peer_set() call is all-or-nothing. With the current struct
 * dp_peer_conf an absent preshared_key means none and an absent
 * persistent_keepalive means 0; an absent endpoint keeps the current one.
 */
static int
cmd_peer_set(json_t *req, json_t **result, struct cmd_err *e)
{
	struct dp_cfg_prefix *allowed = NULL;
	struct sockaddr_storage ss;
	struct dp_peer_conf c;
	unsigned int n_allowed = 0;
	bool has_if, has_ka, has_replace, replace = true;
	const char *ep;
	char err[256] = "";
	json_int_t ka = 0;
	json_t *v, *allowed_v;
	struct shown sh;
	int rc;

	(void)result;
	memset(&c, 0, sizeof(c));
	if ((rc = get_iface(req, true, &has_if, &c.wg_if, e)) != 0 ||
	    (rc = get_key(req, "public_key", c.public_key, e)) != 0)
		goto out;
	v = json_object_get(req, "preshared_key");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			rc = fail(e, -EINVAL, "field 'preshared_key' must be a string or null");
			goto out;
		}
		if ((rc = get_key(req, "preshared_key", c.psk, e)) != 0)
			goto out;
		c.has_psk = true;
	}
	if ((rc = get_string(req, "endpoint", false, &ep, e)) != 0)
		goto out;
	if (ep != NULL) {
		if (dp_endpoint_parse(ep, &ss) != 0) {
			rc = fail(e, -EINVAL,
				  "field 'endpoint' '%s' is not \"a.b.c.d:port\" or \"[v6]:port\"",
				  show(ep, &sh));
			goto out;
		}
		endpoint_from(&ss, &c.endpoint);
	}
	if ((rc = get_uint(req, "persistent_keepalive", 65535, &has_ka, &ka, e)) != 0)
		goto out;
	c.persistent_keepalive = (uint16_t)ka;
	if ((rc = get_bool(req, "replace_allowed_ips", &has_replace, &replace, e)) != 0)
		goto out;
	allowed_v = json_object_get(req, "allowed_ips");
	if (allowed_v == NULL && has_replace) {
		rc = fail(e, -EINVAL,
			  "field 'replace_allowed_ips' needs 'allowed_ips' (use [] to remove all)");
		goto out;
	}
	if (allowed_v != NULL && (rc = get_allowed(allowed_v, &allowed, &n_allowed, e)) != 0)
		goto out;
	/* allowed_ips absent: add nothing, replace nothing */
	rc = dp_api_peer_set(&c, allowed, n_allowed, allowed_v != NULL && replace, err,
			     sizeof(err));
	rc = api_rc(rc, err, e);
out:
	sodium_memzero(&c, sizeof(c));
	free(allowed);
	return rc;
}

static int
cmd_route_add(json_t *req, json_t **result, struct cmd_err *e)
{
	struct dp_api_route r;
	const char *via;
	char err[256] = "";
	bool has_port, has_if, has_peer, has_exc, has_drop, exc = false, drop = false;
	json_int_t port = 0;
	struct shown sh;
	int rc, kinds, fam;

	(void)result;
	memset(&r, 0, sizeof(r));
	if ((rc = get_prefix(req, "prefix", &r.prefix, e)) != 0 ||
	    (rc = get_string(req, "via", false, &via, e)) != 0 ||
	    (rc = get_uint(req, "port", UINT16_MAX, &has_port, &port, e)) != 0 ||
	    (rc = get_bool(req, "exception", &has_exc, &exc, e)) != 0 ||
	    (rc = get_bool(req, "drop", &has_drop, &drop, e)) != 0)
		return rc;
	has_peer = json_object_get(req, "peer") != NULL;
	kinds = (via != NULL) + has_peer + exc + drop;
	if (kinds == 0)
		return fail(
			e, -EINVAL,
			"route.add needs one of 'via', 'peer', 'exception': true, 'drop': true");
	if (kinds > 1)
		return fail(e, -EINVAL,
			    "route.add takes only one of 'via', 'peer', 'exception', 'drop'");
	if (has_port && via == NULL)
		return fail(e, -EINVAL, "field 'port' is only valid with 'via'");
	if (json_object_get(req, "interface") != NULL && !has_peer)
		return fail(e, -EINVAL, "field 'interface' is only valid with 'peer'");
	if (via != NULL) {
		if (!has_port)
			return fail(e, -EINVAL, "field 'via' needs 'port' (a port index)");
		if (dp_addr_parse(via, &fam, r.via) != 0)
			return fail(e, -EINVAL, "field 'via' '%s' is not an IPv4 or IPv6 address",
				    show(via, &sh));
		if (fam != r.prefix.family)
			return fail(e, -EINVAL, "field 'via' is not of the family of the prefix");
		r.kind = DP_ROUTE_VIA;
		r.port = (uint16_t)port;
	} else if (has_peer) {
		if ((rc = get_key(req, "peer", r.peer_key, e)) != 0 ||
		    (rc = get_iface(req, true, &has_if, &r.wg_if, e)) != 0)
			return rc;
		r.kind = DP_ROUTE_PEER;
	} else {
		r.kind = exc ? DP_ROUTE_EXCEPTION : DP_ROUTE_DROP;
	}
	return api_rc(dp_api_route_add(&r, err, sizeof(err)), err, e);
}

static int
cmd_route_del(json_t *req, json_t **result, struct cmd_err *e)
{
	struct dp_cfg_prefix p;
	char err[256] = "";
	int rc;

	(void)result;
	if ((rc = get_prefix(req, "prefix", &p, e)) != 0)
		return rc;
	return api_rc(dp_api_route_del(&p, err, sizeof(err)), err, e);
}

static json_t *handle_request(json_t *req, unsigned int depth);

/* batch: each command runs on its own (atomic by itself); the batch is not
 * atomic: a failed command does not undo or stop the others. */
static int
cmd_batch(json_t *req, json_t **result, struct cmd_err *e)
{
	json_t *cmds = json_object_get(req, "commands"), *item, *list, *reply;
	size_t i;

	if (cmds == NULL)
		return fail(e, -EINVAL, "missing field 'commands'");
	if (!json_is_array(cmds))
		return fail(e, -EINVAL, "field 'commands' must be an array of requests");
	list = json_array();
	if (list == NULL)
		return fail(e, -ENOMEM, "out of memory");
	json_array_foreach (cmds, i, item) {
		reply = handle_request(item, 1);
		if (reply == NULL || json_array_append_new(list, reply) != 0) {
			/* commands before this one ran: say how far it got */
			json_decref(list);
			return fail(e, -ENOMEM, "out of memory after commands[0..%zu) ran", i);
		}
	}
	*result = list;
	return 0;
}

struct cmd {
	const char *name;
	int (*fn)(json_t *req, json_t **result, struct cmd_err *e);
	const char *fields[8]; /* arguments besides id and cmd; NULL-terminated */
};

static const struct cmd cmds[] = {
	{"ping", cmd_ping, {NULL}},
	{"interfaces.list", cmd_interfaces_list, {NULL}},
	{"peer.set",
	 cmd_peer_set,
	 {"interface", "public_key", "preshared_key", "endpoint", "persistent_keepalive",
	  "allowed_ips", "replace_allowed_ips", NULL}},
	{"peer.remove", cmd_peer_remove, {"interface", "public_key", NULL}},
	{"peer.get", cmd_peer_get, {"interface", "public_key", NULL}},
	{"peer.list", cmd_peer_list, {"interface", NULL}},
	{"route.add",
	 cmd_route_add,
	 {"prefix", "via", "port", "peer", "interface", "exception", "drop", NULL}},
	{"route.del", cmd_route_del, {"prefix", NULL}},
	{"route.list", cmd_route_list, {NULL}},
	{"stats", cmd_stats, {NULL}},
	{"batch", cmd_batch, {"commands", NULL}},
};

static bool
known_field(const struct cmd *c, const char *key)
{
	if (strcmp(key, "id") == 0 || strcmp(key, "cmd") == 0)
		return true;
	for (const char *const *f = c->fields; *f != NULL; f++)
		if (strcmp(*f, key) == 0)
			return true;
	return false;
}

/* The reply object to one parsed request; NULL only when out of memory. */
static json_t *
handle_request(json_t *req, unsigned int depth)
{
	const struct cmd *c = NULL;
	struct cmd_err e = {""};
	json_t *id, *result = NULL, *v;
	const char *name, *key;
	struct shown sh;
	int rc;

	if (!json_is_object(req))
		return error_reply(NULL, -EINVAL, "a request must be a JSON object");
	id = json_object_get(req, "id");
	if ((rc = get_string(req, "cmd", true, &name, &e)) != 0)
		return error_reply(id, rc, e.msg);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, name) == 0)
			c = &cmds[i];
	if (c == NULL)
		return error_reply(id, fail(&e, -ENOSYS, "unknown cmd '%s'", show(name, &sh)),
				   e.msg);
	if (depth > 0 && c->fn == cmd_batch)
		return error_reply(id, -EINVAL, "batch cannot be nested");
	/* an unknown field is rejected rather than ignored: it is most
	 * likely a misspelt one whose absence would change the meaning */
	json_object_foreach (req, key, v) {
		if (!known_field(c, key))
			return error_reply(id,
					   fail(&e, -EINVAL, "unknown field '%s' for %s",
						show(key, &sh), c->name),
					   e.msg);
	}
	rc = c->fn(req, &result, &e);
	if (rc != 0) {
		json_decref(result);
		return error_reply(id, rc, e.msg);
	}
	return ok_reply(id, result);
}

struct dump_buf {
	char *p;
	size_t len, cap;
};

static int
dump_cb(const char *s, size_t n, void *arg)
{
	struct dump_buf *b = arg;
	size_t cap;
	char *p;

	if (n > DP_ENGINE_SOCK_REPLY_MAX || b->len + n > DP_ENGINE_SOCK_REPLY_MAX)
		return -1;
	if (b->len + n + 1 > b->cap) {
		for (cap = b->cap ? b->cap : 256; cap < b->len + n + 1;)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* The reply serialised into a malloc'd string; NULL on failure. */
static char *
dump(json_t *reply)
{
	struct dump_buf b = {NULL, 0, 0};

	if (reply == NULL || json_dump_callback(reply, dump_cb, &b, JSON_COMPACT) != 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static const char oom_reply[] =
	"{\"ok\":false,\"error\":{\"code\":\"ENOMEM\",\"message\":\"out of memory\"}}";

char *
dp_engine_sock_handle_line(const char *line, size_t len)
{
	char msg[sizeof(((struct cmd_err *)0)->msg)];
	json_t *req, *reply, *big;
	json_error_t jerr;
	char *out;

	if (line == NULL)
		len = 0;
	if (len > DP_ENGINE_SOCK_LINE_MAX) {
		snprintf(msg, sizeof(msg), "line longer than %u bytes", DP_ENGINE_SOCK_LINE_MAX);
		reply = error_reply(NULL, -E2BIG, msg);
	} else if ((req = json_loadb(line != NULL ? line : "", len, JSON_REJECT_DUPLICATES,
				     &jerr)) == NULL) {
		snprintf(msg, sizeof(msg), "invalid JSON at byte %d: %s", jerr.position, jerr.text);
		reply = error_reply(NULL, -EINVAL, msg);
	} else {
		reply = handle_request(req, 0);
		json_decref(req);
	}
	out = dump(reply);
	if (out == NULL && reply != NULL) {
		/* too big (or no memory for it): say so under the same id */
		snprintf(msg, sizeof(msg), "reply longer than %u bytes (or out of memory)",
			 DP_ENGINE_SOCK_REPLY_MAX);
		big = error_reply(json_object_get(reply, "id"), -E2BIG, msg);
		out = dump(big);
		json_decref(big);
	}
	json_decref(reply);
	return out != NULL ? out : strdup(oom_reply);
}

/* ------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------ */

struct client {
	bool used;
	int fd;
	uint64_t serial; /* for log lines */
	char *in;	 /* received bytes, lines not yet answered */
	size_t in_len, in_cap;
	size_t scan; /* in[0..scan) has no newline */
	char *out;   /* replies: out[off..len) still to send */
	size_t out_off, out_len, out_cap;
	bool eof;     /* the client shut down its side */
	bool closing; /* answer no more; close once out is sent */
	bool dead;    /* close now */
	uint64_t closing_since;
	uint64_t stall_since; /* out pending and nothing sent since */
};

static struct {
	int fd; /* -1: closed */
	char path[DP_CFG_SOCKET_MAX];
	dev_t dev;
	ino_t ino;
	uint64_t serial;
	struct client cl[DP_ENGINE_SOCK_MAX_CLIENTS];
} srv = {.fd = -1};

static const char busy_reply[] = "{\"ok\":false,\"error\":{\"code\":\"EBUSY\",\"message\":"
				 "\"too many clients\"}}\n";

static void __attribute__((format(printf, 4, 5)))
seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (rc != 0 && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(-rc));
}

/* mkdir -p of path's directory, new directories 0755. */
static int
make_parent(const char *path)
{
	char dir[DP_CFG_SOCKET_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* Remove a socket left by a previous run; refuse a live one or a non-socket. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		seterr(err, errlen, rc, "%s", path);
		return rc;
	}
	if (!S_ISSOCK(st.st_mode)) {
		seterr(err, errlen, 0, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
		if (rc == 0 || errno == EAGAIN) {
			close(fd);
			seterr(err, errlen, 0, "%s: another process is listening on it", path);
			return -EADDRINUSE;
		}
		close(fd);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		rc = -errno;
		seterr(err, errlen, rc, "cannot remove stale socket %s", path);
		return rc;
	}
	return 0;
}

int
dp_engine_sock_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	if (srv.fd >= 0) {
		seterr(err, errlen, 0, "engine socket already open at %s", srv.path);
		return -EALREADY;
	}
	if (path == NULL || path[0] == '\0') {
		seterr(err, errlen, 0, "empty engine socket path");
		return -EINVAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(srv.path)) {
		seterr(err, errlen, 0, "engine socket path longer than %zu bytes",
		       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = make_parent(path);
	if (rc != 0) {
		seterr(err, errlen, rc, "cannot create the directory of %s", path);
		return rc;
	}
	rc = remove_stale(path, &sa, err, errlen);
	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		seterr(err, errlen, rc, "socket");
		return rc;
	}
	/* no window in which the socket exists with looser permissions */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		rc = -errno;
		seterr(err, errlen, rc, "cannot bind %s", path);
		goto err_close;
	}
	if (chmod(path, 0600) != 0 || listen(fd, DP_ENGINE_SOCK_MAX_CLIENTS) != 0 ||
	    stat(path, &st) != 0) {
		rc = -errno;
		seterr(err, errlen, rc, "cannot set up %s", path);
		goto err_unlink;
	}
	srv.fd = fd;
	srv.dev = st.st_dev;
	srv.ino = st.st_ino;
	snprintf(srv.path, sizeof(srv.path), "%s", path);
	ESOCK_LOG(INFO, "listening on %s", path);
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return rc;
}

static size_t
out_pending(const struct client *c)
{
	return c->out_len - c->out_off;
}

static void
client_free(struct client *c, const char *why)
{
	ESOCK_LOG(DEBUG, "client %" PRIu64 " disconnected: %s", c->serial, why);
	close(c->fd);
	if (c->in != NULL)
		sodium_memzero(c->in, c->in_len); /* requests may carry keys */
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
accept_clients(void)
{
	struct client *c;
	unsigned int i;
	int fd;

	for (unsigned int n = 0; n <= DP_ENGINE_SOCK_MAX_CLIENTS; n++) {
		fd = accept4(srv.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ESOCK_LOG(WARNING, "accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS && srv.cl[i].used; i++)
			;
		if (i == DP_ENGINE_SOCK_MAX_CLIENTS) {
			/* best effort: it is a fresh socket, the line fits */
			if (send(fd, busy_reply, sizeof(busy_reply) - 1,
				 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				ESOCK_LOG(DEBUG, "busy reply: %s", strerror(errno));
			close(fd);
			ESOCK_LOG(WARNING, "refused a client: %u clients already",
				  DP_ENGINE_SOCK_MAX_CLIENTS);
			continue;
		}
		c = &srv.cl[i];
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->fd = fd;
		c->serial = ++srv.serial;
		ESOCK_LOG(DEBUG, "client %" PRIu64 " connected", c->serial);
	}
}

static void
client_read(struct client *c)
{
	size_t budget = DP_ENGINE_SOCK_READ_POLL, want, cap;
	ssize_t r;
	char *p;

	while (budget > 0 && !c->eof && !c->closing && !c->dead) {
		if (c->in_len == c->in_cap) {
			if (c->in_cap >= DP_ENGINE_SOCK_LINE_MAX + 1)
				return; /* full: client_answer() judges the line */
			cap = c->in_cap ? c->in_cap * 2 : 4096;
			if (cap > DP_ENGINE_SOCK_LINE_MAX + 1)
				cap = DP_ENGINE_SOCK_LINE_MAX + 1;
			p = realloc(c->in, cap);
			if (p == NULL) {
				c->dead = true;
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		want = c->in_cap - c->in_len;
		if (want > budget)
			want = budget;
		r = recv(c->fd, c->in + c->in_len, want, MSG_DONTWAIT);
		if (r > 0) {
			c->in_len += (size_t)r;
			budget -= (size_t)r;
			if ((size_t)r < want)
				return;
		} else if (r == 0) {
			c->eof = true;
		} else if (errno != EINTR) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			return;
		}
	}
}

static void
out_append(struct client *c, const char *s, size_t n, uint64_t now)
{
	size_t need, cap;
	char *p;

	if (out_pending(c) == 0) {
		c->out_off = c->out_len = 0;
		c->stall_since = now;
	} else if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + n + 1;
	if (need > c->out_cap) {
		for (cap = c->out_cap ? c->out_cap : 4096; cap < need;)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
}

static void
answer_line(struct client *c, const char *line, size_t len, uint64_t now)
{
	char *reply;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines are ignored (handy by hand) */
	reply = dp_engine_sock_handle_line(line, len);
	if (reply == NULL) {
		out_append(c, oom_reply, sizeof(oom_reply) - 1, now);
		return;
	}
	out_append(c, reply, strlen(reply), now);
	free(reply);
}

static void
client_answer(struct client *c, uint64_t now)
{
	char msg[128];
	size_t start = 0, len, next;
	unsigned int lines;
	char *nl;

	if (c->in_len == 0)
		return;
	for (lines = 0; lines < DP_ENGINE_SOCK_LINES_POLL && !c->closing && !c->dead; lines++) {
		if (out_pending(c) > DP_ENGINE_SOCK_OUT_SOFT)
			break; /* backpressure: the client reads its replies first */
		nl = memchr(c->in + c->scan, '\n', c->in_len - c->scan);
		if (nl == NULL) {
			c->scan = c->in_len;
			if (c->in_len - start > DP_ENGINE_SOCK_LINE_MAX) {
				snprintf(msg, sizeof(msg),
					 "{\"ok\":false,\"error\":{\"code\":\"E2BIG\",\"message\":"
					 "\"line longer than %u bytes; closing the connection\"}}",
					 DP_ENGINE_SOCK_LINE_MAX);
				out_append(c, msg, strlen(msg), now);
				c->closing = true;
				c->closing_since = now;
				start = c->in_len;
				break;
			}
			if (!c->eof || c->in_len == start)
				break;
			len = c->in_len - start; /* the last line, unterminated */
			next = c->in_len;
		} else {
			len = (size_t)(nl - (c->in + start));
			next = start + len + 1;
		}
		answer_line(c, c->in + start, len, now);
		start = next;
		c->scan = start;
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->in_len - start);
		sodium_memzero(c->in + c->in_len - start, start);
		c->in_len -= start;
		c->scan -= start;
	}
	if (c->in_len == 0 && c->in_cap > (64u << 10)) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void
client_write(struct client *c, uint64_t now)
{
	ssize_t r;

	while (out_pending(c) > 0 && !c->dead) {
		r = send(c->fd, c->out + c->out_off, out_pending(c), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			c->out_off += (size_t)r;
			c->stall_since = now;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				c->dead = true;
			break;
		}
	}
	if (out_pending(c) == 0) {
		c->out_off = c->out_len = 0;
		if (c->out_cap > DP_ENGINE_SOCK_OUT_SOFT) { /* after a big reply */
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
}

/* Close c when it is done, dead or stuck; it must not hold a slot forever. */
static void
client_check(struct client *c, uint64_t now)
{
	if (c->dead)
		client_free(c, "I/O error");
	else if (c->closing && out_pending(c) == 0)
		client_free(c, "line too long");
	else if (c->closing && now - c->closing_since > DP_ENGINE_SOCK_LINGER_NS)
		client_free(c, "line too long, reply not taken");
	else if (c->eof && c->in_len == 0 && out_pending(c) == 0)
		client_free(c, "end of input");
	else if (out_pending(c) > 0 && now - c->stall_since > DP_ENGINE_SOCK_STALL_NS)
		client_free(c, "does not read its replies");
}

void
dp_engine_sock_poll(uint64_t now_ns)
{
	struct pollfd pfd[1 + DP_ENGINE_SOCK_MAX_CLIENTS];
	struct client *c;
	unsigned int n = 1;
	int rc;

	if (srv.fd < 0)
		return;
	pfd[0].fd = srv.fd;
	pfd[0].events = POLLIN;
	for (unsigned int i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS; i++) {
		c = &srv.cl[i];
		/* slot i is pfd[1 + i]; fd -1 is skipped by poll() */
		pfd[1 + i].fd = c->used ? c->fd : -1;
		pfd[1 + i].events = 0;
		pfd[1 + i].revents = 0;
		if (!c->used)
			continue;
		if (!c->eof && !c->closing && c->in_len < DP_ENGINE_SOCK_LINE_MAX + 1)
			pfd[1 + i].events |= POLLIN;
		if (out_pending(c) > 0)
			pfd[1 + i].events |= POLLOUT;
		n = 1 + i + 1;
	}
	rc = poll(pfd, n, 0);
	if (rc < 0)
		return; /* EINTR: next time */
	for (unsigned int i = 0; i + 1 < n; i++) {
		c = &srv.cl[i];
		if (!c->used)
			continue;
		if (pfd[1 + i].revents & POLLNVAL)
			c->dead = true;
		else if (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
			client_read(c);
		client_answer(c, now_ns);
		if (out_pending(c) > 0)
			client_write(c, now_ns);
		client_check(c, now_ns);
	}
	/* after the clients: a slot freed above can take a new one */
	if (pfd[0].revents & POLLIN)
		accept_clients();
}

void
dp_engine_sock_close(void)
{
	struct stat st;

	for (unsigned int i = 0; i < DP_ENGINE_SOCK_MAX_CLIENTS; i++)
		if (srv.cl[i].used)
			client_free(&srv.cl[i], "engine socket closed");
	if (srv.fd < 0)
		return;
	close(srv.fd);
	srv.fd = -1;
	/* remove it only if it is still ours (not a newer instance's) */
	if (stat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	ESOCK_LOG(INFO, "closed %s", srv.path);
}
