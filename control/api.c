/*
 * api.c — the HTTP API's route table, its bearer-token hook and the
 * helpers every handler shares (body members, visibility, the mapping of
 * -errno to the house error reply). Main thread only, like every handler:
 * ctl_http_run() calls them from the daemon's poll loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_int.h"

/*
 * Who may call what: ADMIN_ONLY routes answer 403 to a user token before
 * the handler runs; the other authenticated routes let a user token reach
 * the handler, which shows it only its own user's objects (another user's
 * are 404, as if they did not exist). Every route that changes something
 * is MUTATING: it takes from the token's rate-limit bucket.
 */
const struct ctl_http_route ctl_api_routes[] = {
	{"GET", "/v1/users", api_users_list, CTL_HTTP_ADMIN_ONLY},
	{"POST", "/v1/users", api_users_create, CTL_HTTP_ADMIN_ONLY | CTL_HTTP_MUTATING},
	{"GET", "/v1/users/{id}", api_users_get, 0},
	{"PATCH", "/v1/users/{id}", api_users_patch, CTL_HTTP_ADMIN_ONLY | CTL_HTTP_MUTATING},
	{"DELETE", "/v1/users/{id}", api_users_delete, CTL_HTTP_ADMIN_ONLY | CTL_HTTP_MUTATING},

	{"GET", "/v1/tokens", api_tokens_list, 0},
	{"POST", "/v1/tokens", api_tokens_create, CTL_HTTP_MUTATING},
	{"DELETE", "/v1/tokens/{id}", api_tokens_delete, CTL_HTTP_MUTATING},

	{"GET", "/v1/tunnels", api_tunnels_list, 0},
	{"POST", "/v1/tunnels", api_tunnels_create, CTL_HTTP_MUTATING},
	{"GET", "/v1/tunnels/{id}", api_tunnels_get, 0},
	{"PATCH", "/v1/tunnels/{id}", api_tunnels_patch, CTL_HTTP_MUTATING},
	{"DELETE", "/v1/tunnels/{id}", api_tunnels_delete, CTL_HTTP_MUTATING},
	{"GET", "/v1/tunnels/{id}/config", api_tunnels_config, 0},
	{"GET", "/v1/tunnels/{id}/config.png", api_tunnels_config_png, 0},
	{"GET", "/v1/tunnels/{id}/config.svg", api_tunnels_config_svg, 0},
	{"GET", "/v1/tunnels/{id}/status", api_tunnels_status, 0},
	{"GET", "/v1/tunnels/{id}/history", api_tunnels_history, 0},

	{"GET", "/v1/pools", api_pools_list, CTL_HTTP_ADMIN_ONLY},
	{"GET", "/v1/status", api_status_get, CTL_HTTP_ADMIN_ONLY},
	{"GET", "/metrics", api_metrics_get, CTL_HTTP_ADMIN_ONLY},
	{"GET", "/v1/openapi.json", api_openapi_get, CTL_HTTP_NO_AUTH},
};

const size_t ctl_api_n_routes = sizeof(ctl_api_routes) / sizeof(ctl_api_routes[0]);

int
ctl_api_authenticate(void *ctx, const char *bearer, struct ctl_principal *out)
{
	struct ctl *c = ctx;
	struct ctl_token t;
	int rc;

	rc = ctl_store_token_authenticate(c->store, bearer, api_now(), &t);
	if (rc == -ENOENT || rc == -EKEYREVOKED || rc == -EACCES)
		return -EACCES;
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->token_id = t.id;
	if (t.scope == CTL_TOKEN_ADMIN) {
		out->scope = CTL_SCOPE_ADMIN;
	} else {
		out->scope = CTL_SCOPE_USER;
		out->user_id = t.user_id;
		if (t.user_id <= 0)
			return -EACCES; /* a user token without a user: unusable */
	}
	return 0;
}

/* ---- replies -------------------------------------------------------------- */

int
api_reply_errno(struct ctl_http_req *req, int rc, const char *what, const char *field)
{
	switch (rc) {
	case -ENOENT:
		return ctl_http_reply_error_field(req, 404, "not_found", field, "no such %s", what);
	case -EEXIST:
		return ctl_http_reply_error_field(req, 409, "conflict", field,
						  "the %s conflicts with an existing one", what);
	case -EINVAL:
		return ctl_http_reply_error_field(req, 400, "invalid", field, "invalid %s", what);
	case -EBUSY:
		ctl_http_reply_header(req, "Retry-After", "1");
		return ctl_http_reply_error(req, 503, "store_busy",
					    "the store is locked; retry later");
	case -ENOSPC:
		return ctl_http_reply_error(req, 507, "store_full",
					    "the store is full (disk full or size limit)");
	case -EROFS:
		return ctl_http_reply_error(req, 503, "store_readonly", "the store is read-only");
	default:
		return ctl_http_reply_error(req, 500, "internal", "internal error (%s)",
					    strerror(rc < 0 ? -rc : EIO));
	}
}

int
api_reply_ctl_err(struct ctl_http_req *req, int rc, const struct ctl_err *e)
{
	if (e->status == 0 || e->code[0] == '\0')
		return api_reply_errno(req, rc, "object", NULL);
	return ctl_http_reply_error_field(req, e->status, e->code,
					  e->field[0] != '\0' ? e->field : NULL, "%s",
					  e->message[0] != '\0' ? e->message : e->code);
}

int
api_reply_not_found(struct ctl_http_req *req, const char *what)
{
	return ctl_http_reply_error(req, 404, "not_found", "no such %s", what);
}

int
api_reply_required(struct ctl_http_req *req, const char *field)
{
	ctl_http_reply_error_field(req, 400, "invalid", field, "%s is required", field);
	return -EINVAL;
}

/* ---- request bodies ------------------------------------------------------- */

int
api_fields_check(struct ctl_http_req *req, json_t *obj, const char *prefix,
		 const char *const *names)
{
	const char *key;
	json_t *v;
	char field[96];
	size_t i;

	if (obj == NULL)
		return 0;
	json_object_foreach (obj, key, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (names[i] != NULL)
			continue;
		/* a member name is the client's text: keep it short in field */
		snprintf(field, sizeof(field), "%s%.64s", prefix != NULL ? prefix : "", key);
		ctl_http_reply_error_field(req, 400, "unknown_field", field, "unknown field %s",
					   field);
		return -EINVAL;
	}
	return 0;
}

static int
bad(struct ctl_http_req *req, const char *field, const char *what)
{
	ctl_http_reply_error_field(req, 400, "invalid", field, "%s must be %s", field, what);
	return -EINVAL;
}

int
api_get_int(struct ctl_http_req *req, json_t *obj, const char *key, const char *field, int64_t min,
	    int64_t max, bool nullable, int64_t *out)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
	char what[96];
	json_int_t n;

	if (field == NULL)
		field = key;
	if (v == NULL)
		return API_ABSENT;
	if (json_is_null(v) && nullable)
		return API_NULL;
	snprintf(what, sizeof(what), "an integer in %" PRId64 "..%" PRId64 "%s", min, max,
		 nullable ? " or null" : "");
	if (!json_is_integer(v))
		return bad(req, field, what);
	n = json_integer_value(v);
	if (n < min || n > max)
		return bad(req, field, what);
	*out = n;
	return API_PRESENT;
}

int
api_get_bool(struct ctl_http_req *req, json_t *obj, const char *key, const char *field, bool *out)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	if (field == NULL)
		field = key;
	if (v == NULL)
		return API_ABSENT;
	if (!json_is_boolean(v))
		return bad(req, field, "true or false");
	*out = json_is_true(v);
	return API_PRESENT;
}

int
api_get_str(struct ctl_http_req *req, json_t *obj, const char *key, const char *field, size_t max,
	    bool nullable, const char **out)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;
	char what[96];
	const char *s;
	size_t len, i;

	if (field == NULL)
		field = key;
	if (v == NULL)
		return API_ABSENT;
	if (json_is_null(v) && nullable)
		return API_NULL;
	snprintf(what, sizeof(what), "a string of at most %zu bytes without control characters%s",
		 max, nullable ? ", or null" : "");
	if (!json_is_string(v))
		return bad(req, field, what);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > max || strlen(s) != len)
		return bad(req, field, what);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return bad(req, field, what);
	*out = s;
	return API_PRESENT;
}

/* ---- who may see what ----------------------------------------------------- */

int
api_list_owner(struct ctl_http_req *req, struct ctl *c, int64_t *user_id)
{
	struct ctl_user u;
	int64_t id = 0;
	int rc;

	if (ctl_http_query_int(req, "user_id", 1, INT64_MAX, &id) != 0)
		return -EINVAL;
	if (!api_is_admin(req)) {
		if (id != 0 && id != req->principal.user_id) {
			api_reply_not_found(req, "user");
			return -ENOENT;
		}
		*user_id = req->principal.user_id;
		return 0;
	}
	if (id != 0) {
		rc = ctl_store_user_get(c->store, id, &u);
		if (rc != 0) {
			api_reply_errno(req, rc, "user", "user_id");
			return rc;
		}
	}
	*user_id = id;
	return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

json_t *
api_json_time(int64_t t)
{
	return t != 0 ? json_integer(t) : json_null();
}

json_t *
api_json_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

int64_t
api_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
api_user_max_tunnels(const struct ctl_user *u)
{
	return u->max_tunnels == CTL_LIMIT_DEFAULT ? CTL_API_MAX_TUNNELS_DEFAULT : u->max_tunnels;
}

int64_t
api_user_max_addresses(const struct ctl_user *u)
{
	return u->max_addresses == CTL_LIMIT_DEFAULT ? CTL_API_MAX_ADDRESSES_DEFAULT
						     : u->max_addresses;
}
