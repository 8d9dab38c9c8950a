/*
 * store_int.h — what the store's source files share and nobody else sees:
 * the struct behind struct ctl_store, its statement cache and the small
 * helpers that bind, step and map SQLite results to -errno. Main (poll
 * loop) thread only, like the store.
 *
 * Statements: point queries go through prep(), which keeps one prepared
 * statement per SQL text (the cache is keyed by the string literal's
 * address: the SQL of a query is written once, at its call site) and hands
 * it out reset and unbound; run()/finish() reset it again after use, so no
 * cached statement stays busy between calls. Listings use prep_list() and
 * release_list(): the cached statement too, or one of their own when it is
 * busy, so that their callbacks may call the store, even the same listing.
 */
#ifndef GATE44_CTL_STORE_INT_H
#define GATE44_CTL_STORE_INT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_CACHE_MAX 64 /* distinct cached statements; the store has ~40 */

struct store_cached {
	const char *sql;
	sqlite3_stmt *st;
};

struct ctl_store {
	sqlite3 *db;
	bool readonly;
	/* open savepoints; bit i of sp_outer: savepoint i began the transaction */
	unsigned sp_depth;
	uint64_t sp_outer;
	unsigned n_cached;
	struct store_cached cache[STORE_CACHE_MAX];
};

static inline int
errno_of(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT; /* the row it refers to does not exist */
	case SQLITE_IOERR_NOMEM:
		return -ENOMEM;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return -EINVAL; /* CHECK, NOT NULL: a value the C checks let through */
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

/* errno_of() for a result known to be a failure. */
static inline int
errno_fail(int rc)
{
	int ret = errno_of(rc);

	return ret != 0 ? ret : -EIO;
}

static inline int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* The cached statement of sql (a string literal), ready to bind. */
static inline int
prep(struct ctl_store *s, const char *sql, sqlite3_stmt **st)
{
	unsigned i;
	int rc;

	for (i = 0; i < s->n_cached; i++) {
		if (s->cache[i].sql == sql) {
			*st = s->cache[i].st;
			return 0;
		}
	}
	*st = NULL;
	if (s->n_cached == STORE_CACHE_MAX)
		return -E2BIG; /* raise STORE_CACHE_MAX */
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return errno_fail(rc);
	}
	s->cache[s->n_cached].sql = sql;
	s->cache[s->n_cached].st = *st;
	s->n_cached++;
	return 0;
}

/*
 * The statement of a listing: the cached one, unless that one is being
 * stepped already (a listing's callback starting the same listing), then a
 * statement of its own. Give it back with release_list().
 */
static inline int
prep_list(struct ctl_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc, ret;

	ret = prep(s, sql, st);
	if (ret != 0 || !sqlite3_stmt_busy(*st))
		return ret;
	rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return errno_fail(rc);
	}
	return 0;
}

static inline void
release_list(struct ctl_store *s, sqlite3_stmt *st)
{
	unsigned i;

	for (i = 0; i < s->n_cached; i++) {
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

/* Step a cached statement that returns no row to its end; reset, unbind. */
static inline int
run_rc(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

static inline int
run(sqlite3_stmt *st)
{
	return errno_of(run_rc(st));
}

/* run(), and -ENOENT when no row changed. */
static inline int
run_changed(struct ctl_store *s, sqlite3_stmt *st)
{
	int ret;

	ret = run(st);
	if (ret == 0 && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return ret;
}

/* After the one sqlite3_step of a cached single-row query: 0 / -ENOENT. */
static inline int
finish(sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return errno_fail(rc);
}

/* After the stepping loop of a listing: its result; releases st. */
static inline int
end_list(struct ctl_store *s, sqlite3_stmt *st, int rc, int ret)
{
	release_list(s, st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return errno_fail(rc);
	return ret;
}

static inline int
exec(struct ctl_store *s, const char *sql)
{
	return errno_of(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/* A cached "... WHERE id = ?1" statement; -ENOENT when it changed nothing. */
static inline int
by_id(struct ctl_store *s, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	int ret;

	if ((ret = prep(s, sql, &st)) != 0)
		return ret;
	sqlite3_bind_int64(st, 1, id);
	return run_changed(s, st);
}

static inline void
copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t != NULL ? (const char *)t : "");
}

static inline void
bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* Ids and times: 0 (none) is stored as NULL. */
static inline void
bind_pos_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v <= 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

/* NULL, or at most max bytes without control characters. */
static inline bool
label_valid(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return true;
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n <= max;
}

static inline bool
ifname_valid(const char *name)
{
	return name != NULL && name[0] != '\0' && label_valid(name, CTL_IFNAME_MAX) &&
	       strchr(name, ' ') == NULL && strchr(name, '/') == NULL;
}

/* The family as stored: 4 or 6 (AF_* values differ between systems). */
static inline int
fam_db(int af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0;
}

static inline int
addr_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

/* Bind family, network address and length at i, i + 1, i + 2. */
static inline int
bind_prefix(sqlite3_stmt *st, int i, const struct ctl_ipam_prefix *p)
{
	if (fam_db(p->family) == 0)
		return -EINVAL;
	sqlite3_bind_int(st, i, fam_db(p->family));
	sqlite3_bind_blob(st, i + 1, p->addr, addr_len(p->family), SQLITE_TRANSIENT);
	sqlite3_bind_int(st, i + 2, p->plen);
	return 0;
}

/* Read the family, address and length columns col .. col + 2. */
static inline void
read_prefix(sqlite3_stmt *st, int col, struct ctl_ipam_prefix *p)
{
	const void *b = sqlite3_column_blob(st, col + 1);
	int n = sqlite3_column_bytes(st, col + 1);

	memset(p, 0, sizeof(*p));
	p->family = sqlite3_column_int(st, col) == 4 ? AF_INET : AF_INET6;
	if (b != NULL && n == addr_len(p->family))
		memcpy(p->addr, b, (size_t)n);
	p->plen = (uint8_t)sqlite3_column_int(st, col + 2);
}

#endif /* GATE44_CTL_STORE_INT_H */
