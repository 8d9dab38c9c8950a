/*
 * store_tunnels.c — the store's tunnels (WireGuard peers of the users)
 * with their allowed IPs, expiry, the engine's full-sync listing, and the
 * counters folded from the engine (see store.h). Main (poll loop) thread
 * only.
 *
 * A tunnel and its addresses come from one query (tunnels JOIN users LEFT
 * JOIN addresses, ordered by tunnel id), grouped back into one struct per
 * tunnel here: a listing of 100 000 tunnels is one index walk, not one
 * query per tunnel.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store_int.h"

#define TUNNEL_SELECT                                                                   \
	"SELECT t.id, t.user_id, t.interface, t.name, t.public_key, t.preshared_key,"   \
	" t.private_key_generated, t.keepalive, t.enabled, t.expires_at, t.expired_at," \
	" t.created_at, t.updated_at, t.rx_total, t.tx_total, t.last_handshake,"        \
	" t.endpoint, (t.enabled AND t.expired_at IS NULL AND NOT u.disabled),"         \
	" a.id, a.pool_id, a.family, a.addr, a.plen"                                    \
	" FROM tunnels t JOIN users u ON u.id = t.user_id"                              \
	" LEFT JOIN addresses a ON a.tunnel_id = t.id"
#define TUNNEL_ORDER	" ORDER BY t.id, a.family, a.addr"
#define TUNNEL_ADDR_COL 18 /* the address columns follow the tunnel's */

/* ---- tunnels ----------------------------------------------------------------- */

static int
tunnel_check(const struct ctl_tunnel *t)
{
	if (!ctl_store_key_valid(t->public_key) || !label_valid(t->name, CTL_LABEL_MAX) ||
	    t->expires_at < 0 || t->expired_at < 0)
		return -EINVAL;
	return 0;
}

/*
 * Rows of TUNNEL_SELECT, one per (tunnel, address), grouped back into
 * tunnels. The addrs array is reused from tunnel to tunnel.
 */
struct tunnel_reader {
	struct ctl_tunnel t;
	size_t cap;
	bool have;
};

static void
read_tunnel_row(sqlite3_stmt *st, struct ctl_tunnel *t)
{
	const void *psk;

	t->id = sqlite3_column_int64(st, 0);
	t->user_id = sqlite3_column_int64(st, 1);
	copy_col(t->interface, sizeof(t->interface), st, 2);
	copy_col(t->name, sizeof(t->name), st, 3);
	copy_col(t->public_key, sizeof(t->public_key), st, 4);
	psk = sqlite3_column_blob(st, 5);
	t->has_psk = psk != NULL && sqlite3_column_bytes(st, 5) == CTL_KEY_LEN;
	if (t->has_psk)
		memcpy(t->psk, psk, CTL_KEY_LEN);
	else
		sodium_memzero(t->psk, sizeof(t->psk));
	t->private_key_generated = sqlite3_column_int(st, 6) != 0;
	t->keepalive = (uint16_t)sqlite3_column_int(st, 7);
	t->enabled = sqlite3_column_int(st, 8) != 0;
	t->expires_at = sqlite3_column_int64(st, 9);
	t->expired_at = sqlite3_column_int64(st, 10);
	t->created_at = sqlite3_column_int64(st, 11);
	t->updated_at = sqlite3_column_int64(st, 12);
	t->rx_total = (uint64_t)sqlite3_column_int64(st, 13);
	t->tx_total = (uint64_t)sqlite3_column_int64(st, 14);
	t->last_handshake = sqlite3_column_int64(st, 15);
	copy_col(t->endpoint, sizeof(t->endpoint), st, 16);
	t->active = sqlite3_column_int(st, 17) != 0;
	t->n_addrs = 0;
}

static int
read_tunnel_addr(sqlite3_stmt *st, struct tunnel_reader *r)
{
	struct ctl_address *a;

	if (sqlite3_column_type(st, TUNNEL_ADDR_COL) == SQLITE_NULL)
		return 0; /* a tunnel without addresses */
	if (r->t.n_addrs == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 4;

		a = realloc(r->t.addrs, cap * sizeof(*a));
		if (a == NULL)
			return -ENOMEM;
		r->t.addrs = a;
		r->cap = cap;
	}
	a = &r->t.addrs[r->t.n_addrs++];
	a->id = sqlite3_column_int64(st, TUNNEL_ADDR_COL);
	a->tunnel_id = r->t.id;
	a->pool_id = sqlite3_column_int64(st, TUNNEL_ADDR_COL + 1);
	read_prefix(st, TUNNEL_ADDR_COL + 2, &a->prefix);
	return 0;
}

/*
 * Step st to its end, calling cb per tunnel; without cb, stop after the
 * first tunnel and leave it in r->t. Returns 0, cb's non-zero, -ENOENT
 * (no tunnel, without cb) or -errno. st is reset, not finalized.
 */
static int
read_tunnels(sqlite3_stmt *st, struct tunnel_reader *r,
	     int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (r->have && id != r->t.id) {
			if (cb == NULL)
				break;
			if ((ret = cb(&r->t, arg)) != 0)
				break;
			r->have = false;
		}
		if (!r->have) {
			read_tunnel_row(st, &r->t);
			r->have = true;
		}
		if ((ret = read_tunnel_addr(st, r)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = errno_of(rc);
	if (ret == 0 && rc == SQLITE_DONE && cb != NULL && r->have)
		ret = cb(&r->t, arg);
	if (ret == 0 && cb == NULL && !r->have)
		ret = -ENOENT;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

void
ctl_store_tunnel_clear(struct ctl_tunnel *t)
{
	if (t == NULL)
		return;
	free(t->addrs);
	sodium_memzero(t, sizeof(*t));
}

static int
tunnel_get(sqlite3_stmt *st, struct ctl_tunnel *t)
{
	struct tunnel_reader r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = read_tunnels(st, &r, NULL, NULL);
	if (ret != 0) {
		ctl_store_tunnel_clear(&r.t);
		return ret;
	}
	*t = r.t;
	sodium_memzero(&r, sizeof(r));
	return 0;
}

int
ctl_store_tunnel_get(struct ctl_store *s, int64_t id, struct ctl_tunnel *t)
{
	sqlite3_stmt *st;
	int ret;

	memset(t, 0, sizeof(*t));
	if ((ret = prep(s, TUNNEL_SELECT " WHERE t.id = ?1" TUNNEL_ORDER, &st)) != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	return tunnel_get(st, t);
}

int
ctl_store_tunnel_get_by_key(struct ctl_store *s, const char *ifname, const char *public_key,
			    struct ctl_tunnel *t)
{
	sqlite3_stmt *st;
	int ret;

	memset(t, 0, sizeof(*t));
	if ((ret = prep(s,
			TUNNEL_SELECT " WHERE t.interface = ?1 AND t.public_key = ?2" TUNNEL_ORDER,
			&st)) != 0)
		return ret;
	sqlite3_bind_text(st, 1, ifname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, public_key, -1, SQLITE_TRANSIENT);
	return tunnel_get(st, t);
}

static void
bind_psk(sqlite3_stmt *st, int i, const struct ctl_tunnel *t)
{
	/* SQLITE_STATIC: no copy of the key is left in a freed bound value */
	if (t->has_psk)
		sqlite3_bind_blob(st, i, t->psk, CTL_KEY_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int
ctl_store_tunnel_create(struct ctl_store *s, struct ctl_tunnel *t)
{
	sqlite3_stmt *st;
	int64_t now = now_s();
	int ret;

	if ((ret = tunnel_check(t)) != 0)
		return ret;
	ret = prep(s,
		   "INSERT INTO tunnels (user_id, interface, name, public_key,"
		   " preshared_key, private_key_generated, keepalive, enabled,"
		   " expires_at, expired_at, created_at, updated_at)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, t->user_id);
	sqlite3_bind_text(st, 2, t->interface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, t->public_key, -1, SQLITE_TRANSIENT);
	bind_psk(st, 5, t);
	sqlite3_bind_int(st, 6, t->private_key_generated);
	sqlite3_bind_int(st, 7, t->keepalive);
	sqlite3_bind_int(st, 8, t->enabled);
	bind_pos_or_null(st, 9, t->expires_at);
	bind_pos_or_null(st, 10, t->expired_at);
	sqlite3_bind_int64(st, 11, now);
	ret = run(st);
	if (ret == 0) {
		t->id = sqlite3_last_insert_rowid(s->db);
		t->created_at = t->updated_at = now;
		t->active = t->enabled && t->expired_at == 0;
	}
	return ret;
}

int
ctl_store_tunnel_update(struct ctl_store *s, struct ctl_tunnel *t)
{
	sqlite3_stmt *st;
	int64_t now = now_s();
	int ret;

	if ((ret = tunnel_check(t)) != 0)
		return ret;
	ret = prep(s,
		   "UPDATE tunnels SET name = ?2, public_key = ?3, preshared_key = ?4,"
		   " private_key_generated = ?5, keepalive = ?6, enabled = ?7,"
		   " expires_at = ?8, expired_at = ?9, updated_at = ?10 WHERE id = ?1",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, t->public_key, -1, SQLITE_TRANSIENT);
	bind_psk(st, 4, t);
	sqlite3_bind_int(st, 5, t->private_key_generated);
	sqlite3_bind_int(st, 6, t->keepalive);
	sqlite3_bind_int(st, 7, t->enabled);
	bind_pos_or_null(st, 8, t->expires_at);
	bind_pos_or_null(st, 9, t->expired_at);
	sqlite3_bind_int64(st, 10, now);
	ret = run_changed(s, st);
	if (ret == 0)
		t->updated_at = now;
	return ret;
}

int
ctl_store_tunnel_delete(struct ctl_store *s, int64_t id)
{
	return by_id(s, "DELETE FROM tunnels WHERE id = ?1", id);
}

int
ctl_store_tunnel_expire(struct ctl_store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	ret = prep(s,
		   "UPDATE tunnels SET expired_at = coalesce(expired_at, ?2),"
		   " updated_at = ?2 WHERE id = ?1",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return run_changed(s, st);
}

/* Run a TUNNEL_SELECT listing whose ?1 is a number or (text) a string. */
static int
tunnel_list(struct ctl_store *s, const char *sql, int64_t num, const char *text,
	    int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	struct tunnel_reader r;
	sqlite3_stmt *st;
	int ret;

	if ((ret = prep_list(s, sql, &st)) != 0)
		return ret;
	if (text != NULL)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
	else if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, num);
	memset(&r, 0, sizeof(r));
	ret = read_tunnels(st, &r, cb, arg);
	release_list(s, st);
	ctl_store_tunnel_clear(&r.t);
	return ret;
}

int
ctl_store_tunnel_foreach(struct ctl_store *s, int64_t user_id,
			 int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	if (user_id == 0)
		return tunnel_list(s, TUNNEL_SELECT TUNNEL_ORDER, 0, NULL, cb, arg);
	return tunnel_list(s, TUNNEL_SELECT " WHERE t.user_id = ?1" TUNNEL_ORDER, user_id, NULL, cb,
			   arg);
}

int
ctl_store_tunnel_foreach_active(struct ctl_store *s, const char *ifname,
				int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	return tunnel_list(s,
			   TUNNEL_SELECT
			   " WHERE t.interface = ?1 AND t.enabled"
			   " AND t.expired_at IS NULL AND NOT u.disabled" TUNNEL_ORDER,
			   0, ifname, cb, arg);
}

int
ctl_store_tunnel_foreach_expiring(struct ctl_store *s, int64_t now,
				  int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	return tunnel_list(s,
			   TUNNEL_SELECT " WHERE t.expires_at IS NOT NULL AND t.expired_at IS NULL"
					 " AND t.expires_at <= ?1" TUNNEL_ORDER,
			   now, NULL, cb, arg);
}

int
ctl_store_tunnel_foreach_expired(struct ctl_store *s, int64_t before,
				 int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg)
{
	return tunnel_list(s,
			   TUNNEL_SELECT
			   " WHERE t.expired_at IS NOT NULL AND t.expired_at <= ?1" TUNNEL_ORDER,
			   before, NULL, cb, arg);
}

/* ---- counters ---------------------------------------------------------------------- */

int
ctl_store_counters_fold(struct ctl_store *s, int64_t tunnel_id, int64_t ts, uint64_t rx_delta,
			uint64_t tx_delta, int64_t last_handshake, const char *endpoint)
{
	sqlite3_stmt *st;
	int ret;

	if (rx_delta > INT64_MAX || tx_delta > INT64_MAX ||
	    (endpoint != NULL && !label_valid(endpoint, CTL_ENDPOINT_MAX)))
		return -EINVAL;
	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	ret = prep(s,
		   "UPDATE tunnels SET rx_total = rx_total + ?2, tx_total = tx_total + ?3,"
		   " last_handshake = CASE WHEN ?4 > 0 THEN ?4 ELSE last_handshake END,"
		   " endpoint = coalesce(?5, endpoint) WHERE id = ?1",
		   &st);
	if (ret != 0)
		goto out;
	sqlite3_bind_int64(st, 1, tunnel_id);
	sqlite3_bind_int64(st, 2, (int64_t)rx_delta);
	sqlite3_bind_int64(st, 3, (int64_t)tx_delta);
	sqlite3_bind_int64(st, 4, last_handshake);
	if (endpoint != NULL)
		sqlite3_bind_text(st, 5, endpoint, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	ret = run_changed(s, st);
	if (ret != 0 || (rx_delta == 0 && tx_delta == 0))
		goto out;
	ret = prep(s,
		   "INSERT INTO counters (tunnel_id, ts, rx_bytes, tx_bytes)"
		   " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tunnel_id, ts) DO UPDATE SET"
		   " rx_bytes = rx_bytes + excluded.rx_bytes,"
		   " tx_bytes = tx_bytes + excluded.tx_bytes",
		   &st);
	if (ret != 0)
		goto out;
	sqlite3_bind_int64(st, 1, tunnel_id);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_int64(st, 3, (int64_t)rx_delta);
	sqlite3_bind_int64(st, 4, (int64_t)tx_delta);
	ret = run(st);
out:
	return ctl_store_savepoint_end(s, ret);
}

int
ctl_store_counters_history(struct ctl_store *s, int64_t tunnel_id, int64_t from, int64_t to,
			   int (*cb)(const struct ctl_counter_sample *c, void *arg), void *arg)
{
	struct ctl_counter_sample c;
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep_list(s,
			"SELECT ts, rx_bytes, tx_bytes FROM counters WHERE tunnel_id = ?1"
			" AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
			&st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, tunnel_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.ts = sqlite3_column_int64(st, 0);
		c.rx_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		c.tx_bytes = (uint64_t)sqlite3_column_int64(st, 2);
		if ((ret = cb(&c, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}

int
ctl_store_counters_prune(struct ctl_store *s, int64_t before, uint64_t *deleted)
{
	sqlite3_stmt *st;
	int ret;

	ret = prep(s, "DELETE FROM counters WHERE ts < ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, before);
	ret = run(st);
	if (ret == 0 && deleted != NULL)
		*deleted = (uint64_t)sqlite3_changes64(s->db);
	return ret;
}
