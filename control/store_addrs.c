/*
 * store_addrs.c — the store's address pools and addresses: the rows the
 * IPAM (ipam.c) reads and writes; the rules are there (see ipam.h). Main
 * (poll loop) thread only.
 *
 * An addresses row is an allocation (tunnel and pool), a user's own prefix
 * (tunnel, no pool) or a reservation (pool, no tunnel). A pool's blocks
 * from its high-water mark up were never allocated; a released block
 * below it goes to the pool_free table (a trigger in the schema, so a
 * cascaded delete frees it too), where the allocator finds the lowest.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

#define POOL_COLS "id, name, family, addr, plen, alloc_len, interface, high_water"
#define ADDR_COLS "id, tunnel_id, pool_id, family, addr, plen"

/* ---- pools ---------------------------------------------------------------------- */

static void
read_pool(sqlite3_stmt *st, struct ctl_pool *p)
{
	const void *h;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	copy_col(p->name, sizeof(p->name), st, 1);
	read_prefix(st, 2, &p->prefix);
	p->alloc_len = (uint8_t)sqlite3_column_int(st, 5);
	copy_col(p->interface, sizeof(p->interface), st, 6);
	h = sqlite3_column_blob(st, 7);
	if (h != NULL && sqlite3_column_bytes(st, 7) == addr_len(p->prefix.family))
		memcpy(p->high_water, h, (size_t)addr_len(p->prefix.family));
}

int
ctl_store_pool_insert(struct ctl_store *s, struct ctl_pool *p)
{
	char text[CTL_PREFIX_STRLEN];
	sqlite3_stmt *st;
	int ret;

	if (!ctl_store_name_valid(p->name) ||
	    ctl_ipam_prefix_format(&p->prefix, text, sizeof(text)) != 0 ||
	    (p->interface[0] != '\0' && !ifname_valid(p->interface)))
		return -EINVAL;
	ret = prep(s,
		   "INSERT INTO pools (name, family, addr, plen, prefix, alloc_len,"
		   " interface, high_water) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3)",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_TRANSIENT);
	if ((ret = bind_prefix(st, 2, &p->prefix)) != 0) {
		sqlite3_clear_bindings(st);
		return ret;
	}
	sqlite3_bind_text(st, 5, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, p->alloc_len);
	bind_text_or_null(st, 7, p->interface);
	ret = run(st);
	if (ret == 0) {
		p->id = sqlite3_last_insert_rowid(s->db);
		memcpy(p->high_water, p->prefix.addr, sizeof(p->high_water));
	}
	return ret;
}

static int
pool_get(struct ctl_store *s, const char *sql, int64_t key, const char *name, struct ctl_pool *p)
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
		read_pool(st, p);
	return finish(st, rc);
}

int
ctl_store_pool_get(struct ctl_store *s, int64_t id, struct ctl_pool *p)
{
	return pool_get(s, "SELECT " POOL_COLS " FROM pools WHERE id = ?1", id, NULL, p);
}

int
ctl_store_pool_get_by_name(struct ctl_store *s, const char *name, struct ctl_pool *p)
{
	return pool_get(s, "SELECT " POOL_COLS " FROM pools WHERE name = ?1", 0, name, p);
}

int
ctl_store_pool_foreach(struct ctl_store *s, int (*cb)(const struct ctl_pool *p, void *arg),
		       void *arg)
{
	struct ctl_pool p;
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = prep_list(s, "SELECT " POOL_COLS " FROM pools ORDER BY id", &st)) != 0)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_pool(st, &p);
		if ((ret = cb(&p, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}

int
ctl_store_pool_usage(struct ctl_store *s, int64_t id, uint64_t *allocated, uint64_t *reserved)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s,
		   "SELECT (SELECT count(*) FROM pools WHERE id = ?1), count(tunnel_id),"
		   " count(*) - count(tunnel_id) FROM addresses WHERE pool_id = ?1",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_int(st, 0) == 0) {
			rc = SQLITE_DONE;
		} else {
			*allocated = (uint64_t)sqlite3_column_int64(st, 1);
			*reserved = (uint64_t)sqlite3_column_int64(st, 2);
		}
	}
	return finish(st, rc);
}

int
ctl_store_pool_set_interface(struct ctl_store *s, int64_t id, const char *ifname)
{
	sqlite3_stmt *st;
	int ret;

	if (ifname == NULL || (ifname[0] != '\0' && !ifname_valid(ifname)))
		return -EINVAL;
	ret = prep(s, "UPDATE pools SET interface = ?2 WHERE id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	bind_text_or_null(st, 2, ifname);
	return run_changed(s, st);
}

int
ctl_store_pool_delete(struct ctl_store *s, int64_t id)
{
	uint64_t allocated, reserved;
	int ret;

	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	ret = ctl_store_pool_usage(s, id, &allocated, &reserved);
	if (ret == 0 && allocated > 0)
		ret = -EBUSY;
	if (ret == 0 && reserved > 0)
		ret = by_id(s, "DELETE FROM addresses WHERE pool_id = ?1 AND tunnel_id IS NULL",
			    id);
	if (ret == 0)
		ret = by_id(s, "DELETE FROM pools WHERE id = ?1", id);
	return ctl_store_savepoint_end(s, ret);
}

int
ctl_store_pool_set_high_water(struct ctl_store *s, int64_t id, const uint8_t mark[16])
{
	struct ctl_pool p;
	sqlite3_stmt *st;
	int ret;

	if ((ret = ctl_store_pool_get(s, id, &p)) != 0)
		return ret;
	ret = prep(s, "UPDATE pools SET high_water = ?2 WHERE id = ?1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, mark, addr_len(p.prefix.family), SQLITE_TRANSIENT);
	return run_changed(s, st);
}

int
ctl_store_pool_free_first(struct ctl_store *s, int64_t id, uint8_t addr[16])
{
	sqlite3_stmt *st;
	const void *b;
	int rc, ret, n;

	ret = prep(s, "SELECT addr FROM pool_free WHERE pool_id = ?1 ORDER BY addr LIMIT 1", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		memset(addr, 0, 16);
		if (b != NULL && n > 0 && n <= 16)
			memcpy(addr, b, (size_t)n);
	}
	return finish(st, rc);
}

int
ctl_store_pool_free_remove(struct ctl_store *s, int64_t id, int family, const uint8_t addr[16])
{
	sqlite3_stmt *st;
	int ret;

	ret = prep(s, "DELETE FROM pool_free WHERE pool_id = ?1 AND addr = ?2", &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, addr, addr_len(family), SQLITE_TRANSIENT);
	return run_changed(s, st);
}

/* ---- addresses ------------------------------------------------------------------ */

static void
read_address(sqlite3_stmt *st, struct ctl_address *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->tunnel_id = sqlite3_column_int64(st, 1);
	a->pool_id = sqlite3_column_int64(st, 2);
	read_prefix(st, 3, &a->prefix);
}

int
ctl_store_address_insert(struct ctl_store *s, struct ctl_address *a)
{
	char text[CTL_PREFIX_STRLEN];
	sqlite3_stmt *st;
	int ret;

	if (ctl_ipam_prefix_format(&a->prefix, text, sizeof(text)) != 0 ||
	    (a->tunnel_id <= 0 && a->pool_id <= 0))
		return -EINVAL;
	ret = prep(s,
		   "INSERT INTO addresses (tunnel_id, pool_id, family, addr, plen, prefix)"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		   &st);
	if (ret != 0)
		return ret;
	bind_pos_or_null(st, 1, a->tunnel_id);
	bind_pos_or_null(st, 2, a->pool_id);
	if ((ret = bind_prefix(st, 3, &a->prefix)) != 0) {
		sqlite3_clear_bindings(st);
		return ret;
	}
	sqlite3_bind_text(st, 6, text, -1, SQLITE_TRANSIENT);
	ret = run(st);
	if (ret == 0)
		a->id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

int
ctl_store_address_get_by_prefix(struct ctl_store *s, const struct ctl_ipam_prefix *p,
				struct ctl_address *a)
{
	sqlite3_stmt *st;
	int rc, ret;

	ret = prep(s,
		   "SELECT " ADDR_COLS " FROM addresses"
		   " WHERE family = ?1 AND addr = ?2 AND plen = ?3",
		   &st);
	if (ret != 0)
		return ret;
	if ((ret = bind_prefix(st, 1, p)) != 0) {
		sqlite3_clear_bindings(st);
		return ret;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_address(st, a);
	return finish(st, rc);
}

int
ctl_store_address_delete(struct ctl_store *s, int64_t id)
{
	return by_id(s, "DELETE FROM addresses WHERE id = ?1", id);
}

int
ctl_store_address_last_before(struct ctl_store *s, int family, const uint8_t addr[16],
			      struct ctl_address *a)
{
	sqlite3_stmt *st;
	int rc, ret;

	if (fam_db(family) == 0)
		return -EINVAL;
	ret = prep(s,
		   "SELECT " ADDR_COLS " FROM addresses"
		   " WHERE family = ?1 AND addr < ?2 ORDER BY addr DESC LIMIT 1",
		   &st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int(st, 1, fam_db(family));
	sqlite3_bind_blob(st, 2, addr, addr_len(family), SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_address(st, a);
	return finish(st, rc);
}

static int
address_list(struct ctl_store *s, sqlite3_stmt *st,
	     int (*cb)(const struct ctl_address *a, void *arg), void *arg)
{
	struct ctl_address a;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_address(st, &a);
		if ((ret = cb(&a, arg)) != 0)
			break;
	}
	return end_list(s, st, rc, ret);
}

int
ctl_store_address_foreach_range(struct ctl_store *s, int family, const uint8_t lo[16],
				const uint8_t hi[16],
				int (*cb)(const struct ctl_address *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int ret;

	if (fam_db(family) == 0)
		return -EINVAL;
	ret = prep_list(s,
			"SELECT " ADDR_COLS " FROM addresses WHERE family = ?1"
			" AND addr >= ?2 AND addr <= ?3 ORDER BY addr, plen",
			&st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int(st, 1, fam_db(family));
	sqlite3_bind_blob(st, 2, lo, addr_len(family), SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, hi, addr_len(family), SQLITE_TRANSIENT);
	return address_list(s, st, cb, arg);
}

int
ctl_store_address_foreach_pool(struct ctl_store *s, int64_t pool_id,
			       int (*cb)(const struct ctl_address *a, void *arg), void *arg)
{
	sqlite3_stmt *st;
	int ret;

	ret = prep_list(s,
			"SELECT " ADDR_COLS " FROM addresses WHERE pool_id = ?1"
			" ORDER BY family, addr",
			&st);
	if (ret != 0)
		return ret;
	sqlite3_bind_int64(st, 1, pool_id);
	return address_list(s, st, cb, arg);
}
