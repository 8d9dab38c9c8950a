/*
 * store.c — gate44-control's database (see store.h): opening it (mode,
 * pragmas, WAL), the schema and its migrations, transactions and
 * savepoints. The typed queries live in store_users.c (users, tokens,
 * interfaces), store_tunnels.c (tunnels, counters) and store_addrs.c
 * (pools, addresses). Main (poll loop) thread only.
 *
 * Addresses and pools keep their prefix twice: as canonical text (for
 * people reading the database with sqlite3) and as family + network
 * address (a 4- or 16-byte BLOB, which SQLite compares like memcmp, i.e.
 * numerically) + length, which the IPAM's range queries use. Both are
 * written from the same parsed prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <sqlite3.h>

#include "store_int.h"

/* ---- schema ------------------------------------------------------------- */

/*
 * migrations[i] takes a database from user_version i to i + 1; each runs
 * in one transaction with the version bump. Append, never edit.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE COLLATE NOCASE"
	"  CHECK (length(name) BETWEEN 1 AND 32 AND name NOT GLOB '*[^A-Za-z0-9._-]*'),"
	" email TEXT,"
	" disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	" max_tunnels INTEGER CHECK (max_tunnels >= 0),"
	" max_addresses INTEGER CHECK (max_addresses >= 0),"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE tokens ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" scope TEXT NOT NULL CHECK (scope IN ('admin', 'user')),"
	" user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,"
	" name TEXT NOT NULL DEFAULT '',"
	" hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	" prefix TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" last_used_at INTEGER,"
	" revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
	" CHECK ((scope = 'admin') = (user_id IS NULL)));"
	"CREATE INDEX tokens_user ON tokens (user_id);"
	"CREATE TABLE interfaces ("
	" name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 15),"
	" listen_port INTEGER NOT NULL DEFAULT 0 CHECK (listen_port BETWEEN 0 AND 65535),"
	" public_key TEXT);"
	"CREATE TABLE tunnels ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
	" interface TEXT NOT NULL REFERENCES interfaces (name),"
	" name TEXT NOT NULL DEFAULT '',"
	" public_key TEXT NOT NULL CHECK (length(public_key) = 44),"
	" preshared_key BLOB CHECK (preshared_key IS NULL OR length(preshared_key) = 32),"
	" private_key_generated INTEGER NOT NULL DEFAULT 0,"
	" keepalive INTEGER NOT NULL DEFAULT 0 CHECK (keepalive BETWEEN 0 AND 65535),"
	" enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	" expires_at INTEGER,"
	" expired_at INTEGER,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" rx_total INTEGER NOT NULL DEFAULT 0,"
	" tx_total INTEGER NOT NULL DEFAULT 0,"
	" last_handshake INTEGER NOT NULL DEFAULT 0,"
	" endpoint TEXT,"
	" UNIQUE (interface, public_key));"
	"CREATE INDEX tunnels_user ON tunnels (user_id);"
	/* (interface, rowid): the full sync walks it in id order, no sort */
	"CREATE INDEX tunnels_interface ON tunnels (interface);"
	"CREATE INDEX tunnels_expiring ON tunnels (expires_at)"
	" WHERE expires_at IS NOT NULL AND expired_at IS NULL;"
	"CREATE INDEX tunnels_expired ON tunnels (expired_at) WHERE expired_at IS NOT NULL;"
	"CREATE TABLE pools ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" family INTEGER NOT NULL CHECK (family IN (4, 6)),"
	" prefix TEXT NOT NULL UNIQUE,"
	" addr BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" alloc_len INTEGER NOT NULL,"
	" interface TEXT REFERENCES interfaces (name),"
	" high_water BLOB NOT NULL," /* blocks from here up were never allocated */
	" CHECK (length(addr) = CASE family WHEN 4 THEN 4 ELSE 16 END),"
	" CHECK (plen <= alloc_len AND alloc_len <= CASE family WHEN 4 THEN 32 ELSE 128 END));"
	/* tunnel_id NULL: reserved in its pool; pool_id NULL: a user's own prefix */
	"CREATE TABLE addresses ("
	" id INTEGER PRIMARY KEY,"
	" tunnel_id INTEGER REFERENCES tunnels (id) ON DELETE CASCADE,"
	" pool_id INTEGER REFERENCES pools (id),"
	" family INTEGER NOT NULL CHECK (family IN (4, 6)),"
	" addr BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" prefix TEXT NOT NULL UNIQUE,"
	" CHECK (tunnel_id IS NOT NULL OR pool_id IS NOT NULL),"
	" CHECK (length(addr) = CASE family WHEN 4 THEN 4 ELSE 16 END),"
	" CHECK (plen BETWEEN 0 AND CASE family WHEN 4 THEN 32 ELSE 128 END));"
	"CREATE UNIQUE INDEX addresses_addr ON addresses (family, addr, plen);"
	"CREATE INDEX addresses_tunnel ON addresses (tunnel_id, family, addr);"
	"CREATE INDEX addresses_pool ON addresses (pool_id);"
	/* the released blocks of a pool below its high-water mark */
	"CREATE TABLE pool_free ("
	" pool_id INTEGER NOT NULL REFERENCES pools (id) ON DELETE CASCADE,"
	" addr BLOB NOT NULL,"
	" PRIMARY KEY (pool_id, addr)) WITHOUT ROWID;"
	/* a released block goes to its pool's free list (cascaded deletes too) */
	"CREATE TRIGGER addresses_free AFTER DELETE ON addresses"
	" WHEN old.pool_id IS NOT NULL AND old.tunnel_id IS NOT NULL BEGIN"
	"  INSERT OR IGNORE INTO pool_free (pool_id, addr)"
	"   SELECT id, old.addr FROM pools WHERE id = old.pool_id AND old.addr < high_water;"
	" END;"
	"CREATE TABLE counters ("
	" tunnel_id INTEGER NOT NULL REFERENCES tunnels (id) ON DELETE CASCADE,"
	" ts INTEGER NOT NULL,"
	" rx_bytes INTEGER NOT NULL,"
	" tx_bytes INTEGER NOT NULL,"
	" PRIMARY KEY (tunnel_id, ts)) WITHOUT ROWID;"
	"CREATE INDEX counters_ts ON counters (ts);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == CTL_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* ---- the database --------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
pragma_int(struct ctl_store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return errno_of(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -EIO : errno_of(rc);
}

static int
migrate(struct ctl_store *s, char *err, size_t errlen)
{
	int64_t version, app_id, objects;
	char sql[64];
	int ret;

	ret = exec(s, s->readonly ? "BEGIN" : "BEGIN IMMEDIATE");
	if (ret != 0)
		goto err_sql;
	if ((ret = pragma_int(s, "PRAGMA user_version", &version)) != 0 ||
	    (ret = pragma_int(s, "PRAGMA application_id", &app_id)) != 0 ||
	    (ret = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects)) != 0)
		goto err_sql;
	if (app_id != CTL_STORE_APPLICATION_ID && (app_id != 0 || objects != 0)) {
		seterr(err, errlen, "not a gate44-control database (application_id %lld)",
		       (long long)app_id);
		ret = -EINVAL;
		goto err;
	}
	if (version > CTL_STORE_SCHEMA_VERSION) {
		seterr(err, errlen, "schema version %lld is newer than this gate44-control's (%d)",
		       (long long)version, CTL_STORE_SCHEMA_VERSION);
		ret = -EPROTO;
		goto err;
	}
	if (version < CTL_STORE_SCHEMA_VERSION && s->readonly) {
		seterr(err, errlen, "schema version %lld needs an upgrade to %d: not writable",
		       (long long)version, CTL_STORE_SCHEMA_VERSION);
		ret = -EROFS;
		goto err;
	}
	if (version == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", CTL_STORE_APPLICATION_ID);
		if ((ret = exec(s, sql)) != 0)
			goto err_sql;
	}
	for (; version < CTL_STORE_SCHEMA_VERSION; version++) {
		ret = exec(s, migrations[version]);
		if (ret != 0)
			goto err_sql;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)version + 1);
		ret = exec(s, sql);
		if (ret != 0)
			goto err_sql;
	}
	ret = exec(s, "COMMIT");
	if (ret != 0)
		goto err_sql;
	return 0;

err_sql:
	seterr(err, errlen, "schema: %s", sqlite3_errmsg(s->db));
err:
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	return ret;
}

/*
 * Create the file 0600 when missing; take group and other bits off an
 * existing one. Its -wal and -shm, when left over, get the same mode: a
 * read-only connection leaves them behind with the database's mode of the
 * time (0400, say), which would make a later writer fail. Returns 0, or 1
 * when the file is not writable (open read-only), or -errno.
 */
static int
prepare_file(const char *path, char *err, size_t errlen)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	char side[4096];
	struct stat sb;
	mode_t mode;
	int fd, ret = 0;
	size_t i;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		ret = errno == EROFS ? 2 : 1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	mode = sb.st_mode & 0700;
	if ((sb.st_mode & 077) != 0) {
		if (fchmod(fd, mode) != 0) {
			ret = -errno;
			seterr(err, errlen, "%s: mode %04o is open to others and chmod failed: %s",
			       path, (unsigned)(sb.st_mode & 07777), strerror(errno));
			close(fd);
			return ret;
		}
		seterr(err, errlen, "%s: mode %04o tightened to %04o (it holds preshared keys)",
		       path, (unsigned)(sb.st_mode & 07777), (unsigned)mode);
	}
	close(fd);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, suffixes[i]);
		if (stat(side, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 07777) != mode)
			(void)chmod(side, mode); /* not ours? SQLite will say */
	}
	return ret;
}

static bool
wal_exists(const char *path)
{
	char wal[4100];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &sb) == 0;
}

struct ctl_store *
ctl_store_open(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct ctl_store *s;
	char mode[16] = "";
	int rc, ret = 0;

	seterr(err, errlen, "%s", "");
	if (path == NULL || path[0] == '\0' || strlen(path) > 4000) {
		seterr(err, errlen, "no database path");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	s->readonly = (flags & CTL_STORE_RDONLY) != 0;
	if (!s->readonly) {
		ret = prepare_file(path, err, errlen);
		if (ret < 0)
			goto err_free;
		if (ret >= 1) {
			s->readonly = true;
			seterr(err, errlen, "%s: not writable%s, opened read-only", path,
			       ret == 2 ? " (read-only file system)" : "");
		}
	}
	if (ret == 2 && !wal_exists(path)) {
		/* A WAL database closed cleanly has no -wal/-shm files, and SQLite
		 * cannot make them on a read-only file system: nothing can change
		 * the file there, so it is opened as immutable. (With a -wal left
		 * by a crash, a plain read-only open works and must read it.) */
		char uri[8192], *o = uri;

		o += snprintf(uri, sizeof(uri), "file:");
		for (const char *c = path; *c != '\0' && o < uri + sizeof(uri) - 16; c++) {
			if (*c == '%' || *c == '?' || *c == '#' || *c == ' ')
				o += snprintf(o, 4, "%%%02X", (unsigned char)*c);
			else
				*o++ = *c;
		}
		snprintf(o, (size_t)(uri + sizeof(uri) - o), "?immutable=1");
		rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	} else {
		rc = sqlite3_open_v2(path, &s->db,
				     s->readonly ? SQLITE_OPEN_READONLY
						 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				     NULL);
	}
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		       s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto err_close;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, CTL_STORE_BUSY_TIMEOUT_MS);
	if (exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
		    " PRAGMA secure_delete = ON; PRAGMA trusted_schema = OFF") != 0) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto err_close;
	}
	if (!s->readonly) {
		sqlite3_stmt *st;

		/* also the first read: a file that is not a database fails here */
		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			if ((rc = sqlite3_step(st)) == SQLITE_ROW)
				copy_col(mode, sizeof(mode), st, 0);
			sqlite3_finalize(st);
		}
		if (strcmp(mode, "wal") != 0) {
			seterr(err, errlen, "%s: cannot use WAL: %s", path,
			       rc == SQLITE_ROW ? mode : sqlite3_errmsg(s->db));
			goto err_close;
		}
	}
	if (migrate(s, err, errlen) != 0)
		goto err_close;
	return s;

err_close:
	sqlite3_close_v2(s->db);
err_free:
	free(s);
	return NULL;
}

void
ctl_store_close(struct ctl_store *s)
{
	unsigned i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_cached; i++)
		sqlite3_finalize(s->cache[i].st);
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	sqlite3_close_v2(s->db);
	free(s);
}

bool
ctl_store_readonly(const struct ctl_store *s)
{
	return s->readonly;
}

const char *
ctl_store_errmsg(const struct ctl_store *s)
{
	return sqlite3_errmsg(s->db);
}

int
ctl_store_limit_size(struct ctl_store *s, uint64_t bytes)
{
	int64_t page_size, pages;
	char sql[64];

	if (pragma_int(s, "PRAGMA page_size", &page_size) != 0 || page_size <= 0)
		return -EIO;
	pages = (int64_t)(bytes / (uint64_t)page_size);
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)(pages ? pages : 1));
	return pragma_int(s, sql, &pages);
}

/* ---- transactions ----------------------------------------------------------- */

int
ctl_store_begin(struct ctl_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return -EALREADY;
	if (s->readonly)
		return -EROFS;
	return exec(s, "BEGIN IMMEDIATE");
}

int
ctl_store_commit(struct ctl_store *s)
{
	int ret;

	if (sqlite3_get_autocommit(s->db))
		return -EINVAL;
	ret = exec(s, "COMMIT");
	if (ret != 0 && !sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	return ret;
}

int
ctl_store_rollback(struct ctl_store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return exec(s, "ROLLBACK");
}

bool
ctl_store_in_transaction(struct ctl_store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

int
ctl_store_savepoint(struct ctl_store *s)
{
	bool outer = sqlite3_get_autocommit(s->db) != 0;
	int ret;

	if (s->sp_depth >= 64)
		return -E2BIG;
	ret = exec(s, "SAVEPOINT ctl");
	if (ret != 0)
		return ret;
	if (outer)
		s->sp_outer |= UINT64_C(1) << s->sp_depth;
	else
		s->sp_outer &= ~(UINT64_C(1) << s->sp_depth);
	s->sp_depth++;
	return 0;
}

int
ctl_store_savepoint_end(struct ctl_store *s, int ret)
{
	bool outer;
	int r = 0;

	if (s->sp_depth == 0)
		return ret != 0 ? ret : -EINVAL;
	s->sp_depth--;
	outer = (s->sp_outer >> s->sp_depth & 1) != 0;
	if (ret == 0) {
		/* the RELEASE of a savepoint that began the transaction commits it */
		r = exec(s, "RELEASE ctl");
		if (r == 0)
			return 0;
		ret = r;
	}
	if (outer) {
		if (!sqlite3_get_autocommit(s->db))
			exec(s, "ROLLBACK");
	} else {
		exec(s, "ROLLBACK TO ctl");
		exec(s, "RELEASE ctl");
	}
	return ret;
}
