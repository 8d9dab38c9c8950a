/*
 * store_users.c — the store's users, API tokens and interfaces (see
 * store.h). Main (poll loop) thread only.
 *
 * A token is 32 random bytes shown once as "g44_<base64url>"; the store
 * keeps the BLAKE2b-256 of that text (unkeyed: the token has 256 bits of
 * entropy, a key would add nothing) under a UNIQUE index, and compares the
 * hash it finds with sodium_memcmp.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store_int.h"

#define USER_COLS "id, name, email, disabled, max_tunnels, max_addresses, created_at"
#define TOKEN_COLS                                                                   \
	"t.id, t.scope, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, " \
	"t.revoked, coalesce(u.disabled, 0), t.hash"
#define TOKEN_FROM " FROM tokens t LEFT JOIN users u ON u.id = t.user_id"

/* ---- users ------------------------------------------------------------------- */

bool
ctl_store_name_valid(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= CTL_NAME_MAX;
}

static int
user_check(const struct ctl_user *u)
{
	if (!ctl_store_name_valid(u->name) || !label_valid(u->email, CTL_EMAIL_MAX) ||
	    strchr(u->email, ' ') != NULL || (u->email[0] != '\0' && !strchr(u->email, '@')))
		return -EINVAL;
	if (u->max_tunnels < CTL_LIMIT_DEFAULT || u->max_addresses < CTL_LIMIT_DEFAULT)
		return -EINVAL;
	return 0;
}

static int
bind_limit(sqlite3_stmt *st, int i, int64_t v)
{
	if (v == CTL_LIMIT_DEFAULT)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_int64(st, i, v);
}

static void
read_user(sqlite3_stmt *st, struct ctl_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	copy_col(u->name, sizeof(u->name), st, 1);
	copy_col(u->email, sizeof(u->email), st, 2);
	u->disabled = sqlite3_column_int(st, 3) != 0;
	u->max_tunnels = sqlite3_column_type(st, 4) == SQLITE_NULL ? CTL_LIMIT_DEFAULT
								   : sqlite3_column_int64(st, 4);
	u->max_addresses = sqlite3_column_type(st, 5) == SQLITE_NULL ? CTL_LIMIT_DEFAULT
								     : sqlite3_column_int64(st, 5);
	u->created_at = sqlite3_column_int64(st, 6);
}

int
ctl_store_user_create(struct ctl_store *s, struct ctl_user *u)
{
	sqlite3_stmt *st;
	int64_t now = now_s();
	int ret;

	if ((ret = user_check(u)) != 0)
		return ret;
	ret = prep(s,
		   "INSERT INTO users (name, email, disabled, max_tunnels, max_addresses,"
		   " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, 2, u->email);
	sqlite3_bind_int(st, 3, u->disabled);
	bind_limit(st, 4, u->max_tunnels);
	bind_limit(st, 5, u->max_addresses);
	sqlite3_bind_int64(st, 6, now);
	ret = run(st);
	if (ret == 0) {
		u->id = sqlite3_last_insert_rowid(s->db);
		u->created_at = now;
	}
	return ret;
}

static int
user_get(struct ctl_store *s, const char *sql, int64_t key, const char *name, struct ctl_user *u)
{
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = prep(s, sql, &st)) != 0)
		return ret;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_user(st, u);
	return finish(st, rc);
}

int
ctl_store_user_get(struct ctl_store *s, int64_t id, struct ctl_user *u)
{
	return user_get(s, "SELECT " USER_COLS " FROM users WHERE id = ?1", id, NULL, u);
}

int
ctl_store_user_get_by_name(struct ctl_store *s, const char *name, struct ctl_user *u)
{
	if (!ctl_store_name_valid(name))
		return -ENOENT;
	return user_get(s, "SELECT " USER_COLS " FROM users WHERE name = ?1", 0, name, u);
}

int
ctl_store_user_update(struct ctl_store *s, const struct ctl_user *u)
{
	sqlite3_stmt *st;
	int ret;

	if ((ret = user_check(u)) != 0)
		return ret;
	ret = prep(s,
		   "UPDATE users SET name = ?2, email = ?3, disabled = ?4,"
		   " max_tunnels = ?5, max_addresses = ?6 WHERE id = ?1",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, u->id);
	sqlite3_bind_text(st, 2, u->name, -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, 3, u->email);
	sqlite3_bind_int(st, 4, u->disabled);
	bind_limit(st, 5, u->max_tunnels);
	bind_limit(st, 6, u->max_addresses);
	return run_changed(s, st);
}

int
ctl_store_user_delete(struct ctl_store *s, int64_t id)
{
	sqlite3_stmt *st;
	int ret;

	ret = prep(s, "DELETE FROM users WHERE id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	return run_changed(s, st);
}

int
ctl_store_user_foreach(struct ctl_store *s, int (*cb)(const struct ctl_user *u, void *arg),
		       void *arg)
{
	struct ctl_user u;
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = prep_list(s, "SELECT " USER_COLS " FROM users ORDER BY id", &st)) != 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_user(st, &u);
		if ((ret = cb(&u, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}

int
ctl_store_user_usage(struct ctl_store *s, int64_t id, unsigned *tunnels, unsigned *addresses)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s,
		   "SELECT (SELECT count(*) FROM users WHERE id = ?1),"
		   " (SELECT count(*) FROM tunnels WHERE user_id = ?1),"
		   " (SELECT count(*) FROM addresses a JOIN tunnels t ON t.id = a.tunnel_id"
		   " WHERE t.user_id = ?1)",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(st, 0) == 0) {
			rc = SQLITE_DONE;
		} else {
			*tunnels = (unsigned)sqlite3_column_int64(st, 1);
			*addresses = (unsigned)sqlite3_column_int64(st, 2);
		}
	}
	return finish(st, rc);
}

/* ---- tokens --------------------------------------------------------------- */

void
ctl_store_token_hash(const char *secret, uint8_t hash[CTL_KEY_LEN])
{
	crypto_generichash(hash, CTL_KEY_LEN, (const unsigned char *)secret, strlen(secret), NULL,
			   0);
}

/* Fills t; returns 0 when the row's hash equals `hash` (NULL: no check). */
static int
read_token(sqlite3_stmt *st, struct ctl_token *t, const uint8_t *hash)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	t->scope = strcmp((const char *)sqlite3_column_text(st, 1), "admin") == 0 ? CTL_TOKEN_ADMIN
										  : CTL_TOKEN_USER;
	t->user_id = sqlite3_column_int64(st, 2);
	copy_col(t->name, sizeof(t->name), st, 3);
	copy_col(t->prefix, sizeof(t->prefix), st, 4);
	t->created_at = sqlite3_column_int64(st, 5);
	t->last_used_at = sqlite3_column_int64(st, 6);
	t->revoked = sqlite3_column_int(st, 7) != 0;
	t->user_disabled = sqlite3_column_int(st, 8) != 0;
	if (hash == NULL)
		return 0;
	h = sqlite3_column_blob(st, 9);
	if (h == NULL || sqlite3_column_bytes(st, 9) != CTL_KEY_LEN ||
	    sodium_memcmp(h, hash, CTL_KEY_LEN) != 0)
		return -ENOENT;
	return 0;
}

int
ctl_store_token_create(struct ctl_store *s, enum ctl_token_scope scope, int64_t user_id,
		       const char *name, char secret[CTL_TOKEN_STRLEN + 1], struct ctl_token *out)
{
	uint8_t raw[32], hash[CTL_KEY_LEN];
	char prefix[CTL_TOKEN_PREFIX_LEN + 1];
	sqlite3_stmt *st;
	int64_t now = now_s();
	int ret;

	secret[0] = '\0';
	if ((scope != CTL_TOKEN_ADMIN && scope != CTL_TOKEN_USER) ||
	    (scope == CTL_TOKEN_ADMIN) != (user_id == 0) || user_id < 0 ||
	    !label_valid(name, CTL_LABEL_MAX))
		return -EINVAL;
	ret = prep(s,
		   "INSERT INTO tokens (scope, user_id, name, hash, prefix, created_at)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		   &st);
	if (ret != 0)
		return ret;
	randombytes_buf(raw, sizeof(raw));
	memcpy(secret, "g44_", 4);
	sodium_bin2base64(secret + 4, CTL_TOKEN_STRLEN + 1 - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	ctl_store_token_hash(secret, hash);
	snprintf(prefix, sizeof(prefix), "%.*s", CTL_TOKEN_PREFIX_LEN, secret);

	sqlite3_bind_text(st, 1, scope == CTL_TOKEN_ADMIN ? "admin" : "user", -1, SQLITE_STATIC);
	bind_pos_or_null(st, 2, user_id);
	sqlite3_bind_text(st, 3, name != NULL ? name : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 5, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	ret = run(st);
	sodium_memzero(hash, sizeof(hash));
	if (ret != 0) {
		sodium_memzero(secret, CTL_TOKEN_STRLEN + 1);
		return ret;
	}
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_last_insert_rowid(s->db);
		out->scope = scope;
		out->user_id = user_id;
		snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
		memcpy(out->prefix, prefix, sizeof(prefix));
		out->created_at = now;
	}
	return 0;
}

int
ctl_store_token_lookup(struct ctl_store *s, const char *secret, struct ctl_token *t)
{
	uint8_t hash[CTL_KEY_LEN];
	sqlite3_stmt *st;
	int rc, ret;

	if (secret == NULL || strnlen(secret, CTL_TOKEN_STRLEN + 1) != CTL_TOKEN_STRLEN ||
	    memcmp(secret, "g44_", 4) != 0)
		return -ENOENT;
	ret = prep(s, "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.hash = ?1", &st);
	if (ret != 0)
		return ret;
	ctl_store_token_hash(secret, hash);
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && read_token(st, t, hash) != 0)
		rc = SQLITE_DONE;
	ret = finish(st, rc);
	sodium_memzero(hash, sizeof(hash));
	return ret;
}

int
ctl_store_token_authenticate(struct ctl_store *s, const char *secret, int64_t now,
			     struct ctl_token *t)
{
	sqlite3_stmt *st;
	int ret;

	ret = ctl_store_token_lookup(s, secret, t);
	if (ret != 0)
		return ret;
	if (t->revoked)
		return -EKEYREVOKED;
	if (t->user_disabled)
		return -EACCES;
	if (!s->readonly && prep(s,
				 "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1"
				 " AND (last_used_at IS NULL OR last_used_at <= ?2 - ?3"
				 " OR last_used_at > ?2)",
				 &st) == 0) {
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, CTL_TOKEN_TOUCH_S);
		if (run(st) == 0 && sqlite3_changes(s->db) > 0)
			t->last_used_at = now;
	}
	return 0;
}

int
ctl_store_token_get(struct ctl_store *s, int64_t id, struct ctl_token *t)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s, "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_token(st, t, NULL);
	return finish(st, rc);
}

int
ctl_store_token_foreach(struct ctl_store *s, int64_t user_id,
			int (*cb)(const struct ctl_token *t, void *arg), void *arg)
{
	struct ctl_token t;
	sqlite3_stmt *st;
	int rc, ret;

	if (user_id == 0)
		ret = prep_list(s, "SELECT " TOKEN_COLS TOKEN_FROM " ORDER BY t.id", &st);
	else
		ret = prep_list(
			s, "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.user_id = ?1 ORDER BY t.id",
			&st);
	if (ret != 0)
		return ret;
	if (user_id != 0)
		sqlite3_bind_int64(st, 1, user_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_token(st, &t, NULL);
		if ((ret = cb(&t, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}

int
ctl_store_token_revoke(struct ctl_store *s, int64_t id)
{
	return by_id(s, "UPDATE tokens SET revoked = 1 WHERE id = ?1", id);
}

int
ctl_store_token_delete(struct ctl_store *s, int64_t id)
{
	return by_id(s, "DELETE FROM tokens WHERE id = ?1", id);
}

/* ---- interfaces ------------------------------------------------------------ */

bool
ctl_store_key_valid(const char *b64)
{
	uint8_t key[CTL_KEY_LEN];
	size_t n = 0;
	bool ok;

	/* the alphabet first: libsodium 1.0.18 decodes some bytes >= 0x80 as
	 * base64 digits */
	if (b64 == NULL || strnlen(b64, CTL_KEY_B64_LEN + 1) != CTL_KEY_B64_LEN ||
	    b64[CTL_KEY_B64_LEN - 1] != '=' ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != CTL_KEY_B64_LEN - 1)
		return false;
	ok = sodium_base642bin(key, sizeof(key), b64, CTL_KEY_B64_LEN, NULL, &n, NULL,
			       sodium_base64_VARIANT_ORIGINAL) == 0 &&
	     n == CTL_KEY_LEN;
	sodium_memzero(key, sizeof(key));
	return ok;
}

int
ctl_store_interface_upsert(struct ctl_store *s, const struct ctl_interface *i)
{
	sqlite3_stmt *st;
	int ret;

	if (!ifname_valid(i->name) || (i->public_key[0] && !ctl_store_key_valid(i->public_key)))
		return -EINVAL;
	ret = prep(s,
		   "INSERT INTO interfaces (name, listen_port, public_key) VALUES (?1, ?2, ?3)"
		   " ON CONFLICT (name) DO UPDATE SET listen_port = excluded.listen_port,"
		   " public_key = excluded.public_key",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, i->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, i->listen_port);
	bind_text_or_null(st, 3, i->public_key);
	return run(st);
}

static void
read_interface(sqlite3_stmt *st, struct ctl_interface *i)
{
	memset(i, 0, sizeof(*i));
	copy_col(i->name, sizeof(i->name), st, 0);
	i->listen_port = (uint16_t)sqlite3_column_int(st, 1);
	copy_col(i->public_key, sizeof(i->public_key), st, 2);
}

int
ctl_store_interface_get(struct ctl_store *s, const char *name, struct ctl_interface *i)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s, "SELECT name, listen_port, public_key FROM interfaces WHERE name = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_interface(st, i);
	return finish(st, rc);
}

int
ctl_store_interface_delete(struct ctl_store *s, const char *name)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s, "DELETE FROM interfaces WHERE name = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = run_rc(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return -EBUSY;
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return errno_of(rc);
}

int
ctl_store_interface_foreach(struct ctl_store *s,
			    int (*cb)(const struct ctl_interface *i, void *arg), void *arg)
{
	struct ctl_interface i;
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep_list(s, "SELECT name, listen_port, public_key FROM interfaces ORDER BY name",
			&st);
	if (ret != 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_interface(st, &i);
		if ((ret = cb(&i, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}
