/*
 * api_users.c — the HTTP API's users (/v1/users): the radio amateurs who
 * hold tunnels, with their limits. Listing, creating and changing limits go
 * to the store directly; disabling and deleting a user go through
 * ctl_user_set_disabled / ctl_user_delete, which keep the engine in step
 * with the user's tunnels. Main thread (ctl_http_run) only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api_int.h"

#define LIMIT_MAX 1000000 /* a sanity bound on max_tunnels / max_addresses */

static json_t *
limit_json(int64_t v)
{
	return v == CTL_LIMIT_DEFAULT ? json_null() : json_integer(v);
}

/*
 * A user as the API shows it: max_* null means the server's default, and
 * limits holds the numbers in force; usage counts the user's tunnels and
 * addresses (pool blocks and own prefixes).
 */
static json_t *
user_json(struct ctl *c, const struct ctl_user *u)
{
	unsigned tunnels = 0, addresses = 0;
	json_t *o;

	o = json_pack("{s:I, s:s, s:o, s:b, s:o, s:o, s:{s:I, s:I}, s:I}", "id", (json_int_t)u->id,
		      "name", u->name, "email", api_json_str_or_null(u->email), "disabled",
		      u->disabled, "max_tunnels", limit_json(u->max_tunnels), "max_addresses",
		      limit_json(u->max_addresses), "limits", "tunnels",
		      (json_int_t)api_user_max_tunnels(u), "addresses",
		      (json_int_t)api_user_max_addresses(u), "created_at",
		      (json_int_t)u->created_at);
	if (o == NULL)
		return NULL;
	if (ctl_store_user_usage(c->store, u->id, &tunnels, &addresses) == 0)
		json_object_set_new(o, "usage",
				    json_pack("{s:I, s:I}", "tunnels", (json_int_t)tunnels,
					      "addresses", (json_int_t)addresses));
	return o;
}

/* The user of the path's {id}, when the principal may see it: 0, or
 * -errno after the reply (404 for another user's id). */
static int
user_load(struct ctl_http_req *req, struct ctl *c, struct ctl_user *u)
{
	int64_t id;
	int rc;

	if (ctl_http_param_id(req, "id", &id) != 0)
		return -EINVAL;
	if (!api_may_see(req, id)) {
		api_reply_not_found(req, "user");
		return -ENOENT;
	}
	rc = ctl_store_user_get(c->store, id, u);
	if (rc != 0) {
		api_reply_errno(req, rc, "user", NULL);
		return rc;
	}
	return 0;
}

/* "email": a string without spaces holding one '@', or null / "" (none). */
static int
get_email(struct ctl_http_req *req, json_t *body, const char **email)
{
	const char *s = NULL;
	int r;

	r = api_get_str(req, body, "email", NULL, CTL_EMAIL_MAX, true, &s);
	if (r < 0 || r == API_ABSENT)
		return r;
	if (r == API_NULL)
		s = "";
	if (s[0] != '\0' && (strchr(s, ' ') != NULL || strchr(s, '@') == NULL)) {
		ctl_http_reply_error_field(req, 400, "invalid", "email",
					   "email must be an address (user@host) or null");
		return -EINVAL;
	}
	*email = s;
	return API_PRESENT;
}

/* "max_tunnels" / "max_addresses": 0..LIMIT_MAX, or null for the default. */
static int
get_limit(struct ctl_http_req *req, json_t *body, const char *key, int64_t *out)
{
	int r;

	r = api_get_int(req, body, key, NULL, 0, LIMIT_MAX, true, out);
	if (r == API_NULL)
		*out = CTL_LIMIT_DEFAULT;
	return r;
}

struct list_ctx {
	struct ctl *c;
	json_t *arr;
};

static int
list_one(const struct ctl_user *u, void *arg)
{
	struct list_ctx *lc = arg;
	json_t *o = user_json(lc->c, u);

	if (o == NULL || json_array_append_new(lc->arr, o) != 0)
		return -ENOMEM;
	return 0;
}

/* GET /v1/users[?name=] (admin) */
int
api_users_list(struct ctl_http_req *req, void *ctx)
{
	struct list_ctx lc = {.c = ctx};
	const char *name = ctl_http_query(req, "name");
	struct ctl_user u;
	int rc;

	lc.arr = json_array();
	if (lc.arr == NULL)
		return -ENOMEM;
	if (name != NULL) {
		rc = ctl_store_user_get_by_name(lc.c->store, name, &u);
		if (rc == 0)
			rc = list_one(&u, &lc);
		else if (rc == -ENOENT)
			rc = 0;
	} else {
		rc = ctl_store_user_foreach(lc.c->store, list_one, &lc);
	}
	if (rc != 0) {
		json_decref(lc.arr);
		return api_reply_errno(req, rc, "user", NULL);
	}
	return ctl_http_reply_json(req, 200, json_pack("{s:o}", "users", lc.arr));
}

/* POST /v1/users (admin) {name, email?, max_tunnels?, max_addresses?} */
int
api_users_create(struct ctl_http_req *req, void *ctx)
{
	static const char *const fields[] = {"name", "email", "max_tunnels", "max_addresses", NULL};
	struct ctl *c = ctx;
	struct ctl_user u = {.max_tunnels = CTL_LIMIT_DEFAULT, .max_addresses = CTL_LIMIT_DEFAULT};
	const char *name = NULL, *email = "";
	char loc[64];
	int r, rc;

	if (api_fields_check(req, req->body, NULL, fields) < 0)
		return 0;
	r = api_get_str(req, req->body, "name", NULL, CTL_NAME_MAX, false, &name);
	if (r < 0)
		return 0;
	if (r == API_ABSENT) {
		api_reply_required(req, "name");
		return 0;
	}
	if (!ctl_store_name_valid(name))
		return ctl_http_reply_error_field(
			req, 400, "invalid", "name",
			"name must be 1..%d characters of A-Z a-z 0-9 . _ -", CTL_NAME_MAX);
	if (get_email(req, req->body, &email) < 0 ||
	    get_limit(req, req->body, "max_tunnels", &u.max_tunnels) < 0 ||
	    get_limit(req, req->body, "max_addresses", &u.max_addresses) < 0)
		return 0;
	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.email, sizeof(u.email), "%s", email);

	rc = ctl_store_user_create(c->store, &u);
	if (rc == -EEXIST)
		return ctl_http_reply_error_field(req, 409, "conflict", "name",
						  "a user named %s exists", u.name);
	if (rc != 0)
		return api_reply_errno(req, rc, "user", NULL);
	snprintf(loc, sizeof(loc), "/v1/users/%" PRId64, u.id);
	ctl_http_reply_header(req, "Location", loc);
	return ctl_http_reply_json(req, 201, user_json(c, &u));
}

/* GET /v1/users/{id} (admin, or the user itself) */
int
api_users_get(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_user u;

	if (user_load(req, c, &u) != 0)
		return 0;
	return ctl_http_reply_json(req, 200, user_json(c, &u));
}

/*
 * PATCH /v1/users/{id} (admin) {email?, max_tunnels?, max_addresses?,
 * disabled?}. The email and limits are one store write; disabled goes
 * through ctl_user_set_disabled (the user's tunnels leave or rejoin the
 * engine). When that fails, the first write is undone, so the request is
 * applied whole or not at all. Lowering a limit below what the user holds
 * is allowed: it only stops new tunnels and addresses.
 */
int
api_users_patch(struct ctl_http_req *req, void *ctx)
{
	static const char *const fields[] = {"email", "max_tunnels", "max_addresses", "disabled",
					     NULL};
	struct ctl *c = ctx;
	struct ctl_user u, old;
	struct ctl_err err = {0};
	const char *email = NULL;
	bool disabled = false, changed = false;
	int64_t v;
	int r, rd, rc;

	if (user_load(req, c, &u) != 0)
		return 0;
	if (api_fields_check(req, req->body, NULL, fields) < 0)
		return 0;
	old = u;
	if ((r = get_email(req, req->body, &email)) < 0)
		return 0;
	if (r == API_PRESENT) {
		snprintf(u.email, sizeof(u.email), "%s", email);
		changed = true;
	}
	if ((r = get_limit(req, req->body, "max_tunnels", &v)) < 0)
		return 0;
	if (r != API_ABSENT) {
		u.max_tunnels = v;
		changed = true;
	}
	if ((r = get_limit(req, req->body, "max_addresses", &v)) < 0)
		return 0;
	if (r != API_ABSENT) {
		u.max_addresses = v;
		changed = true;
	}
	if ((rd = api_get_bool(req, req->body, "disabled", NULL, &disabled)) < 0)
		return 0;

	if (changed) {
		rc = ctl_store_user_update(c->store, &u);
		if (rc != 0)
			return api_reply_errno(req, rc, "user", NULL);
	}
	if (rd == API_PRESENT && disabled != old.disabled) {
		rc = ctl_user_set_disabled(c, u.id, disabled, &err);
		if (rc != 0) {
			if (changed)
				(void)ctl_store_user_update(c->store, &old);
			return api_reply_ctl_err(req, rc, &err);
		}
	}
	rc = ctl_store_user_get(c->store, u.id, &u);
	if (rc != 0)
		return api_reply_errno(req, rc, "user", NULL);
	return ctl_http_reply_json(req, 200, user_json(c, &u));
}

/* DELETE /v1/users/{id} (admin): the user, their tokens, tunnels and
 * addresses; the tunnels leave the engine first. */
int
api_users_delete(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_err err = {0};
	struct ctl_user u;
	int rc;

	if (user_load(req, c, &u) != 0)
		return 0;
	rc = ctl_user_delete(c, u.id, &err);
	if (rc != 0)
		return api_reply_ctl_err(req, rc, &err);
	return ctl_http_reply_raw(req, 204, NULL, NULL, 0);
}
