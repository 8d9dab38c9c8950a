/*
 * api_int.h — what the HTTP API's source files share and nobody else
 * sees: the handlers named in the route table (api.c) and the helpers that
 * read request bodies, check who may see what and turn -errno or a
 * struct ctl_err into the house error reply. Main thread only, like every
 * handler.
 *
 * Helpers that take a req reply on failure and return a negative value;
 * the handler then returns 0 (it has replied).
 */
#ifndef GATE44_CTL_API_INT_H
#define GATE44_CTL_API_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api.h"
#include "ctl.h"
#include "http.h"
#include "store.h"

/* ---- handlers ------------------------------------------------------------ */

ctl_http_handler_fn api_users_list, api_users_create, api_users_get, api_users_patch,
	api_users_delete;
ctl_http_handler_fn api_tokens_list, api_tokens_create, api_tokens_delete;
ctl_http_handler_fn api_tunnels_list, api_tunnels_create, api_tunnels_get, api_tunnels_patch,
	api_tunnels_delete, api_tunnels_config, api_tunnels_config_png, api_tunnels_config_svg,
	api_tunnels_status, api_tunnels_history;
ctl_http_handler_fn api_pools_list, api_status_get, api_metrics_get, api_openapi_get;

/* ---- replies -------------------------------------------------------------- */

/*
 * A -errno from the store (or IPAM) as the reply: ENOENT 404 not_found,
 * EEXIST 409 conflict, EINVAL 400 invalid, EBUSY 503 store_busy, ENOSPC
 * 507 store_full, EROFS 503 store_readonly, anything else 500 internal.
 * what names the object ("user", "tunnel"); field may be NULL.
 */
int api_reply_errno(struct ctl_http_req *req, int rc, const char *what, const char *field);
/* The reply of a failed ctl_*() operation: e as it was filled in, or
 * api_reply_errno(rc) when the operation left it empty. */
int api_reply_ctl_err(struct ctl_http_req *req, int rc, const struct ctl_err *e);
/* 404 not_found "no such <what>". */
int api_reply_not_found(struct ctl_http_req *req, const char *what);

/* ---- request bodies ------------------------------------------------------- */

/* What a getter found: absent, present (value in *out), JSON null. */
enum {
	API_ABSENT = 0,
	API_PRESENT = 1,
	API_NULL = 2,
};

/*
 * Every member of obj must be one of names (NULL-terminated); the first
 * one that is not gets 400 unknown_field with field "<prefix><member>".
 * obj NULL (no body) passes.
 */
int api_fields_check(struct ctl_http_req *req, json_t *obj, const char *prefix,
		     const char *const *names);

/*
 * Getters for the member key of obj (NULL: absent), "field" naming it in
 * errors (NULL: key). They return API_ABSENT, API_PRESENT or (when
 * nullable) API_NULL, or reply 400 invalid and return -EINVAL.
 */
int api_get_int(struct ctl_http_req *req, json_t *obj, const char *key, const char *field,
		int64_t min, int64_t max, bool nullable, int64_t *out);
int api_get_bool(struct ctl_http_req *req, json_t *obj, const char *key, const char *field,
		 bool *out);
/* A string of at most max bytes without control characters (or NUL). */
int api_get_str(struct ctl_http_req *req, json_t *obj, const char *key, const char *field,
		size_t max, bool nullable, const char **out);
/* A member that must be present: 400 invalid "<field> is required". */
int api_reply_required(struct ctl_http_req *req, const char *field);

/* ---- who may see what ----------------------------------------------------- */

static inline bool
api_is_admin(const struct ctl_http_req *req)
{
	return req->principal.scope == CTL_SCOPE_ADMIN;
}

/* May the principal see objects of user_id? Admin: always; user: its own. */
static inline bool
api_may_see(const struct ctl_http_req *req, int64_t user_id)
{
	return api_is_admin(req) || (user_id != 0 && req->principal.user_id == user_id);
}

/*
 * The user whose objects a listing shows, from ?user_id=: admin: the
 * argument, or 0 (everybody) without it; user: its own id. Another user's
 * id, or an unknown one, gets 404 not_found. 0 or -errno (replied).
 */
int api_list_owner(struct ctl_http_req *req, struct ctl *c, int64_t *user_id);

/* ---- JSON ----------------------------------------------------------------- */

/* Unix seconds, or null for 0 (never). */
json_t *api_json_time(int64_t t);
/* A string, or null for "". */
json_t *api_json_str_or_null(const char *s);
int64_t api_now(void);
/* The effective limits of a user (CTL_LIMIT_DEFAULT resolved). */
int64_t api_user_max_tunnels(const struct ctl_user *u);
int64_t api_user_max_addresses(const struct ctl_user *u);

/* ---- shared by api_tunnels.c and api_misc.c ------------------------------- */

/* Has the engine heard from the tunnel within the connected window? */
bool api_tunnel_connected(const struct ctl *c, const struct ctl_tunnel *t, int64_t now);
/* The tunnel as the API shows it (never a key but the public one). */
json_t *api_tunnel_json(const struct ctl *c, const struct ctl_tunnel *t);
/*
 * The tunnel of the path's {id} when the principal may see it (release with
 * ctl_store_tunnel_clear): 0, or -errno after the reply (404 for another
 * user's tunnel, as for one that does not exist).
 */
int api_tunnel_load(struct ctl_http_req *req, struct ctl *c, struct ctl_tunnel *t);
/*
 * The tunnel's wg-quick client file (api_config.c), with private_key
 * (NULL: the commented placeholder) and its preshared key. Release with
 * ctl_wgconf_free. NULL with errno set: ENOENT (the interface is no longer
 * configured), EINVAL, ENOMEM.
 */
char *api_tunnel_config(const struct ctl *c, const struct ctl_tunnel *t, const char *private_key);

/* ---- the OpenAPI document (openapi.c) -------------------------------------- */

/* The whole document, built once and kept; a new reference. NULL on ENOMEM. */
json_t *api_openapi_doc(void);

#endif /* GATE44_CTL_API_INT_H */
