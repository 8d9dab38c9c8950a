/*
 * api_tokens.c — the HTTP API's bearer tokens (/v1/tokens): listing (never
 * the secret, only its first characters), creation (the secret is in that
 * one response and nowhere else: the store keeps its hash) and revocation.
 * An admin manages every token; a user token manages its own user's user
 * tokens. Main thread (ctl_http_run) only. Secrets are never logged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api_int.h"

/* Live (not revoked) tokens one user may hold: a runaway script creating
 * tokens in a loop stops here instead of filling the store. */
#define MAX_TOKENS_PER_USER 64

static json_t *
token_json(const struct ctl_token *t)
{
	return json_pack("{s:I, s:s, s:o, s:s, s:s, s:I, s:o, s:b}", "id", (json_int_t)t->id,
			 "scope", t->scope == CTL_TOKEN_ADMIN ? "admin" : "user", "user_id",
			 t->user_id != 0 ? json_integer(t->user_id) : json_null(), "name", t->name,
			 "prefix", t->prefix, "created_at", (json_int_t)t->created_at,
			 "last_used_at", api_json_time(t->last_used_at), "revoked", t->revoked);
}

static int
list_one(const struct ctl_token *t, void *arg)
{
	json_t *o = token_json(t);

	if (o == NULL || json_array_append_new(arg, o) != 0)
		return -ENOMEM;
	return 0;
}

/* GET /v1/tokens[?user_id=] — admin: all (or one user's); user: its own. */
int
api_tokens_list(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	int64_t user_id;
	json_t *arr;
	int rc;

	if (api_list_owner(req, c, &user_id) != 0)
		return 0;
	arr = json_array();
	if (arr == NULL)
		return -ENOMEM;
	rc = ctl_store_token_foreach(c->store, user_id, list_one, arr);
	if (rc != 0) {
		json_decref(arr);
		return api_reply_errno(req, rc, "token", NULL);
	}
	return ctl_http_reply_json(req, 200, json_pack("{s:o}", "tokens", arr));
}

static int
count_live(const struct ctl_token *t, void *arg)
{
	if (!t->revoked)
		(*(unsigned *)arg)++;
	return 0;
}

/*
 * Who the new token is for, from scope and user_id: 0 with *scope and
 * *user_id set, or -errno after the reply. A user token may only make user
 * tokens of its own user (403 otherwise).
 */
static int
token_owner(struct ctl_http_req *req, struct ctl *c, enum ctl_token_scope *scope, int64_t *user_id)
{
	const char *s = "user";
	struct ctl_user u;
	int64_t id = 0;
	int r, rc;

	if (api_get_str(req, req->body, "scope", NULL, 8, false, &s) < 0)
		return -EINVAL;
	if (strcmp(s, "admin") == 0) {
		*scope = CTL_TOKEN_ADMIN;
	} else if (strcmp(s, "user") == 0) {
		*scope = CTL_TOKEN_USER;
	} else {
		ctl_http_reply_error_field(req, 400, "invalid", "scope",
					   "scope must be \"admin\" or \"user\"");
		return -EINVAL;
	}
	r = api_get_int(req, req->body, "user_id", NULL, 1, INT64_MAX, true, &id);
	if (r < 0)
		return r;
	if (r == API_NULL)
		r = API_ABSENT;

	if (!api_is_admin(req)) {
		if (*scope == CTL_TOKEN_ADMIN) {
			ctl_http_reply_error_field(req, 403, "forbidden", "scope",
						   "a user token cannot create admin tokens");
			return -EPERM;
		}
		if (r == API_PRESENT && id != req->principal.user_id) {
			ctl_http_reply_error_field(
				req, 403, "forbidden", "user_id",
				"a user token creates tokens for its own user only");
			return -EPERM;
		}
		*user_id = req->principal.user_id;
		return 0;
	}
	if (*scope == CTL_TOKEN_ADMIN) {
		if (r == API_PRESENT) {
			ctl_http_reply_error_field(req, 400, "invalid", "user_id",
						   "admin tokens belong to no user");
			return -EINVAL;
		}
		*user_id = 0;
		return 0;
	}
	if (r == API_ABSENT)
		return api_reply_required(req, "user_id");
	rc = ctl_store_user_get(c->store, id, &u);
	if (rc != 0) {
		api_reply_errno(req, rc, "user", "user_id");
		return rc;
	}
	*user_id = id;
	return 0;
}

/*
 * POST /v1/tokens {name?, scope?: "admin"|"user" (default "user"), user_id?}
 * -> 201 with the token and its secret, shown this once.
 */
int
api_tokens_create(struct ctl_http_req *req, void *ctx)
{
	static const char *const fields[] = {"name", "scope", "user_id", NULL};
	struct ctl *c = ctx;
	char secret[CTL_TOKEN_STRLEN + 1];
	enum ctl_token_scope scope = CTL_TOKEN_USER;
	const char *name = "";
	struct ctl_token t;
	unsigned live = 0;
	int64_t user_id = 0;
	char loc[64];
	json_t *o;
	int rc;

	if (api_fields_check(req, req->body, NULL, fields) < 0)
		return 0;
	if (api_get_str(req, req->body, "name", NULL, CTL_LABEL_MAX, false, &name) < 0)
		return 0;
	if (token_owner(req, c, &scope, &user_id) != 0)
		return 0;
	if (user_id != 0) {
		rc = ctl_store_token_foreach(c->store, user_id, count_live, &live);
		if (rc != 0)
			return api_reply_errno(req, rc, "token", NULL);
		if (live >= MAX_TOKENS_PER_USER)
			return ctl_http_reply_error(req, 409, "limit_exceeded",
						    "the user holds %u tokens already; revoke one",
						    live);
	}
	rc = ctl_store_token_create(c->store, scope, user_id, name, secret, &t);
	if (rc != 0)
		return api_reply_errno(req, rc, "token", rc == -ENOENT ? "user_id" : NULL);
	o = token_json(&t);
	if (o != NULL)
		json_object_set_new(o, "secret", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	snprintf(loc, sizeof(loc), "/v1/tokens/%" PRId64, t.id);
	ctl_http_reply_header(req, "Location", loc);
	return ctl_http_reply_json(req, 201, o);
}

/*
 * DELETE /v1/tokens/{id}: revoke (the row stays, listed as revoked; a
 * second DELETE is a no-op). Admin: any token; user: its own user's.
 */
int
api_tokens_delete(struct ctl_http_req *req, void *ctx)
{
	struct ctl *c = ctx;
	struct ctl_token t;
	int64_t id;
	int rc;

	if (ctl_http_param_id(req, "id", &id) != 0)
		return 0;
	rc = ctl_store_token_get(c->store, id, &t);
	if (rc == -ENOENT || (rc == 0 && !api_may_see(req, t.user_id)))
		return api_reply_not_found(req, "token");
	if (rc != 0)
		return api_reply_errno(req, rc, "token", NULL);
	if (!t.revoked) {
		rc = ctl_store_token_revoke(c->store, id);
		if (rc != 0)
			return api_reply_errno(req, rc, "token", NULL);
	}
	return ctl_http_reply_raw(req, 204, NULL, NULL, 0);
}
