/*
 * test_store.c — unit tests of gate44-control's store (control/store*.c)
 * on real SQLite files in a temporary directory: opening (mode 0600, WAL,
 * schema version, refusals), CRUD of every table with its unique and
 * foreign-key errors, cascades, transactions and savepoints, counters,
 * expiry, the engine's full-sync listing, read-only and full databases,
 * and acknowledged writes surviving kill -9 of the writer. Single-threaded
 * (one forked child in the kill -9 test).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "ipam.h"
#include "store.h"

struct fx {
	char dir[64];
	char path[128];
	struct ctl_store *s;
};

static void
rm_db(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/control.db", f->dir);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("open: %s", err);
	assert_string_equal(err, "");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ctl_store_close(f->s);
	rm_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct ctl_store *
reopen(struct fx *f, unsigned flags)
{
	char err[256];

	ctl_store_close(f->s);
	f->s = ctl_store_open(f->path, flags, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("reopen: %s", err);
	return f->s;
}

/* A valid base64 public key whose 32 bytes are all b. */
static void
key_of(uint8_t b, char out[CTL_KEY_B64_LEN + 1])
{
	uint8_t k[32];

	memset(k, b, sizeof(k));
	sodium_bin2base64(out, CTL_KEY_B64_LEN + 1, k, sizeof(k), sodium_base64_VARIANT_ORIGINAL);
}

static int64_t
mk_user(struct ctl_store *s, const char *name)
{
	struct ctl_user u = {.max_tunnels = CTL_LIMIT_DEFAULT, .max_addresses = CTL_LIMIT_DEFAULT};

	snprintf(u.name, sizeof(u.name), "%s", name);
	assert_int_equal(ctl_store_user_create(s, &u), 0);
	assert_true(u.id > 0);
	return u.id;
}

static void
mk_if(struct ctl_store *s, const char *name)
{
	struct ctl_interface i = {.listen_port = 51820};

	snprintf(i.name, sizeof(i.name), "%s", name);
	key_of(0xee, i.public_key);
	assert_int_equal(ctl_store_interface_upsert(s, &i), 0);
}

static int64_t
mk_tunnel(struct ctl_store *s, int64_t user, const char *ifname, uint8_t keyb)
{
	struct ctl_tunnel t = {.user_id = user, .enabled = true, .keepalive = 25};

	snprintf(t.interface, sizeof(t.interface), "%s", ifname);
	key_of(keyb, t.public_key);
	assert_int_equal(ctl_store_tunnel_create(s, &t), 0);
	return t.id;
}

static struct ctl_ipam_prefix
pfx(const char *text)
{
	struct ctl_ipam_prefix p;
	char err[128];

	if (ctl_ipam_prefix_parse(text, &p, err, sizeof(err)) != 0)
		fail_msg("prefix %s: %s", text, err);
	return p;
}

static int64_t
mk_addr(struct ctl_store *s, int64_t tunnel, int64_t pool, const char *text)
{
	struct ctl_address a = {.tunnel_id = tunnel, .pool_id = pool, .prefix = pfx(text)};

	assert_int_equal(ctl_store_address_insert(s, &a), 0);
	return a.id;
}

static int
count_cb(const void *row, void *arg)
{
	(void)row;
	(*(unsigned *)arg)++;
	return 0;
}

#define COUNTER(type) ((int (*)(const type *, void *))count_cb)

static unsigned
n_users(struct ctl_store *s)
{
	unsigned n = 0;

	assert_int_equal(ctl_store_user_foreach(s, COUNTER(struct ctl_user), &n), 0);
	return n;
}

static unsigned
n_tunnels(struct ctl_store *s, int64_t user)
{
	unsigned n = 0;

	assert_int_equal(ctl_store_tunnel_foreach(s, user, COUNTER(struct ctl_tunnel), &n), 0);
	return n;
}

static unsigned
n_tokens(struct ctl_store *s, int64_t user)
{
	unsigned n = 0;

	assert_int_equal(ctl_store_token_foreach(s, user, COUNTER(struct ctl_token), &n), 0);
	return n;
}

/* One text value of a query on a separate raw connection. */
static void
raw_query(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* ---- opening ----------------------------------------------------------------- */

static void
test_open_new(void **state)
{
	struct fx *f = *state;
	struct ctl_user u;
	struct stat sb;
	char v[64];

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_false(ctl_store_readonly(f->s));
	raw_query(f->path, "PRAGMA journal_mode", v, sizeof(v));
	assert_string_equal(v, "wal");
	raw_query(f->path, "PRAGMA user_version", v, sizeof(v));
	assert_int_equal(atoi(v), CTL_STORE_SCHEMA_VERSION);
	raw_query(f->path, "PRAGMA application_id", v, sizeof(v));
	assert_int_equal(atoll(v), CTL_STORE_APPLICATION_ID);

	/* reopen keeps the data and does not migrate again */
	mk_user(f->s, "DL1ABC");
	reopen(f, 0);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC", &u), 0);
	raw_query(f->path, "PRAGMA user_version", v, sizeof(v));
	assert_int_equal(atoi(v), CTL_STORE_SCHEMA_VERSION);
	/* the WAL has the database's mode */
	{
		char side[200];

		snprintf(side, sizeof(side), "%s-wal", f->path);
		assert_int_equal(stat(side, &sb), 0);
		assert_int_equal(sb.st_mode & 077, 0);
	}
}

static void
test_open_tightens_mode(void **state)
{
	struct fx *f = *state;
	struct ctl_user u;
	struct stat sb;
	char err[256];

	mk_user(f->s, "K1ABC");
	ctl_store_close(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0644), 0);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	assert_non_null(strstr(err, "tightened"));
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "k1abc", &u), 0);

	/* an empty file created by someone else, mode 0666 */
	ctl_store_close(f->s);
	f->s = NULL;
	rm_db(f->path);
	assert_int_equal(close(open(f->path, O_CREAT | O_WRONLY, 0666)), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(n_users(f->s), 0);
}

static void
test_open_refuses(void **state)
{
	static const struct {
		const char *setup_sql; /* raw SQL on a fresh file; NULL: special */
		const char *text;      /* file content instead of SQL */
		const char *why;       /* substring of err */
	} cases[] = {
		{"PRAGMA application_id = 1194603587; PRAGMA user_version = 99;", NULL, "newer"},
		{"CREATE TABLE other (x INTEGER);", NULL, "not a gate44-control database"},
		{"PRAGMA application_id = 1234; CREATE TABLE t (x);", NULL, "not a gate44"},
		{NULL, "this is not a database, just some text that is long enough......\n"
		       "................................................................\n",
		 "not a database"},
	};
	struct fx *f = *state;
	char err[256];
	size_t i;

	ctl_store_close(f->s);
	f->s = NULL;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rm_db(f->path);
		if (cases[i].setup_sql != NULL) {
			raw_exec(f->path, cases[i].setup_sql);
		} else {
			FILE *fp = fopen(f->path, "w");

			assert_non_null(fp);
			fputs(cases[i].text, fp);
			fclose(fp);
		}
		assert_null(ctl_store_open(f->path, 0, err, sizeof(err)));
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: err '%s', want '%s'", i, err, cases[i].why);
	}
	/* a directory, a missing file read-only, no path */
	assert_null(ctl_store_open(f->dir, 0, err, sizeof(err)));
	assert_true(err[0] != '\0');
	rm_db(f->path);
	assert_null(ctl_store_open(f->path, CTL_STORE_RDONLY, err, sizeof(err)));
	assert_null(ctl_store_open("", 0, err, sizeof(err)));
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
}

/* ---- users -------------------------------------------------------------------- */

static void
test_user_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"DL1ABC", true},
		{"a", true},
		{"dl1abc-2.portable_x", true},
		{"12345678901234567890123456789012", true},  /* 32 */
		{"123456789012345678901234567890123", false}, /* 33 */
		{"", false},
		{"dl1 abc", false},
		{"dl1abc/p", false},
		{"dl1abc@x", false},
		{"dl1äbc", false},
		{"a\nb", false},
	};
	struct fx *f = *state;
	struct ctl_user u;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&u, 0, sizeof(u));
		u.max_tunnels = u.max_addresses = CTL_LIMIT_DEFAULT;
		snprintf(u.name, sizeof(u.name), "%s", cases[i].name);
		if (strlen(cases[i].name) > CTL_NAME_MAX) /* too long for the struct */
			assert_false(ctl_store_name_valid(cases[i].name));
		else if (ctl_store_user_create(f->s, &u) != (cases[i].ok ? 0 : -EINVAL))
			fail_msg("name '%s'", cases[i].name);
		assert_int_equal(ctl_store_name_valid(cases[i].name), cases[i].ok);
	}
}

static void
test_user_crud(void **state)
{
	struct fx *f = *state;
	struct ctl_user u, v;
	unsigned nt, na;
	int64_t id;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "DL1ABC");
	snprintf(u.email, sizeof(u.email), "dl1abc@example.org");
	u.max_tunnels = 3;
	u.max_addresses = CTL_LIMIT_DEFAULT;
	assert_int_equal(ctl_store_user_create(f->s, &u), 0);
	assert_true(u.created_at > 0);
	id = u.id;

	assert_int_equal(ctl_store_user_get(f->s, id, &v), 0);
	assert_string_equal(v.name, "DL1ABC");
	assert_string_equal(v.email, "dl1abc@example.org");
	assert_int_equal(v.max_tunnels, 3);
	assert_int_equal(v.max_addresses, CTL_LIMIT_DEFAULT);
	assert_false(v.disabled);
	/* callsigns are case-insensitive */
	assert_int_equal(ctl_store_user_get_by_name(f->s, "dl1abc", &v), 0);
	assert_int_equal(v.id, id);
	snprintf(u.name, sizeof(u.name), "dl1ABC");
	assert_int_equal(ctl_store_user_create(f->s, &u), -EEXIST);

	/* bad email and limits */
	snprintf(u.name, sizeof(u.name), "K2X");
	snprintf(u.email, sizeof(u.email), "no at sign");
	assert_int_equal(ctl_store_user_create(f->s, &u), -EINVAL);
	u.email[0] = '\0';
	u.max_addresses = -5;
	assert_int_equal(ctl_store_user_create(f->s, &u), -EINVAL);
	u.max_addresses = 0;
	assert_int_equal(ctl_store_user_create(f->s, &u), 0);
	assert_int_equal(ctl_store_user_get(f->s, u.id, &v), 0);
	assert_int_equal(v.max_addresses, 0);
	assert_string_equal(v.email, "");

	/* update: rename onto the other user's name, then really */
	v.id = id;
	snprintf(v.name, sizeof(v.name), "k2x");
	assert_int_equal(ctl_store_user_update(f->s, &v), -EEXIST);
	snprintf(v.name, sizeof(v.name), "DL1ABC-2");
	v.disabled = true;
	v.max_tunnels = CTL_LIMIT_DEFAULT;
	assert_int_equal(ctl_store_user_update(f->s, &v), 0);
	assert_int_equal(ctl_store_user_get(f->s, id, &u), 0);
	assert_string_equal(u.name, "DL1ABC-2");
	assert_true(u.disabled);
	assert_int_equal(u.max_tunnels, CTL_LIMIT_DEFAULT);
	v.id = 9999;
	assert_int_equal(ctl_store_user_update(f->s, &v), -ENOENT);

	assert_int_equal(n_users(f->s), 2);
	assert_int_equal(ctl_store_user_usage(f->s, id, &nt, &na), 0);
	assert_int_equal(nt, 0);
	assert_int_equal(na, 0);
	assert_int_equal(ctl_store_user_usage(f->s, 9999, &nt, &na), -ENOENT);
	assert_int_equal(ctl_store_user_delete(f->s, id), 0);
	assert_int_equal(ctl_store_user_delete(f->s, id), -ENOENT);
	assert_int_equal(ctl_store_user_get(f->s, id, &u), -ENOENT);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC-2", &u), -ENOENT);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "bad name", &u), -ENOENT);
	assert_int_equal(n_users(f->s), 1);
}

/* ---- tokens ------------------------------------------------------------------- */

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	char secret[CTL_TOKEN_STRLEN + 1], admin[CTL_TOKEN_STRLEN + 1], v[256], sql[160];
	uint8_t hash[CTL_KEY_LEN], raw[64];
	struct ctl_token t, out;
	struct ctl_user u;
	int64_t user, other;
	size_t n, i;

	user = mk_user(f->s, "DL1ABC");
	other = mk_user(f->s, "K1XYZ");

	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_ADMIN, 0, "noc", admin, &out), 0);
	assert_int_equal(out.scope, CTL_TOKEN_ADMIN);
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, user, "portal", secret, &out),
			 0);
	/* format: g44_ + 43 base64url characters = 32 bytes */
	assert_int_equal(strlen(secret), CTL_TOKEN_STRLEN);
	assert_memory_equal(secret, "g44_", 4);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), secret + 4, strlen(secret + 4), NULL,
					   &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	assert_int_equal(n, 32);
	assert_int_equal(strncmp(out.prefix, secret, CTL_TOKEN_PREFIX_LEN), 0);
	assert_int_equal(strlen(out.prefix), CTL_TOKEN_PREFIX_LEN);
	assert_string_not_equal(secret, admin);

	/* stored as its hash only */
	ctl_store_token_hash(secret, hash);
	snprintf(sql, sizeof(sql), "SELECT hex(hash) FROM tokens WHERE id = %lld", (long long)out.id);
	raw_query(f->path, sql, v, sizeof(v));
	for (i = 0; i < CTL_KEY_LEN; i++) {
		char hx[3];

		snprintf(hx, sizeof(hx), "%02X", hash[i]);
		assert_memory_equal(v + 2 * i, hx, 2);
	}
	raw_query(f->path, "SELECT group_concat(name || prefix || hex(hash)) FROM tokens", v,
		  sizeof(v));
	assert_null(strstr(v, secret + CTL_TOKEN_PREFIX_LEN));

	/* lookup */
	assert_int_equal(ctl_store_token_lookup(f->s, secret, &t), 0);
	assert_int_equal(t.id, out.id);
	assert_int_equal(t.scope, CTL_TOKEN_USER);
	assert_int_equal(t.user_id, user);
	assert_string_equal(t.name, "portal");
	assert_int_equal(ctl_store_token_lookup(f->s, admin, &t), 0);
	assert_int_equal(t.scope, CTL_TOKEN_ADMIN);
	assert_int_equal(t.user_id, 0);
	{
		char wrong[CTL_TOKEN_STRLEN + 1];
		static const char *const bad[] = {"", "g44_", "Bearer x", "g44_short",
						  "x44_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};

		memcpy(wrong, secret, sizeof(wrong));
		wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
		assert_int_equal(ctl_store_token_lookup(f->s, wrong, &t), -ENOENT);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(ctl_store_token_lookup(f->s, bad[i], &t), -ENOENT);
		assert_int_equal(ctl_store_token_lookup(f->s, NULL, &t), -ENOENT);
	}

	/* authenticate records use at most every CTL_TOKEN_TOUCH_S */
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 1000000, &t), 0);
	assert_int_equal(t.last_used_at, 1000000);
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 1000010, &t), 0);
	assert_int_equal(t.last_used_at, 1000000);
	assert_int_equal(ctl_store_token_get(f->s, out.id, &t), 0);
	assert_int_equal(t.last_used_at, 1000000);
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 1000000 + CTL_TOKEN_TOUCH_S, &t),
			 0);
	assert_int_equal(t.last_used_at, 1000000 + CTL_TOKEN_TOUCH_S);

	/* a disabled user's tokens fail, admin tokens do not */
	assert_int_equal(ctl_store_user_get(f->s, user, &u), 0);
	u.disabled = true;
	assert_int_equal(ctl_store_user_update(f->s, &u), 0);
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 1, &t), -EACCES);
	assert_true(t.user_disabled);
	assert_int_equal(ctl_store_token_authenticate(f->s, admin, 1, &t), 0);
	u.disabled = false;
	assert_int_equal(ctl_store_user_update(f->s, &u), 0);

	/* revoke */
	assert_int_equal(ctl_store_token_revoke(f->s, out.id), 0);
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 1, &t), -EKEYREVOKED);
	assert_int_equal(ctl_store_token_lookup(f->s, secret, &t), 0);
	assert_true(t.revoked);
	assert_int_equal(ctl_store_token_revoke(f->s, 9999), -ENOENT);

	/* argument checks */
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_ADMIN, user, "x", secret, NULL),
			 -EINVAL);
	assert_string_equal(secret, "");
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, 0, "x", secret, NULL),
			 -EINVAL);
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, 9999, "x", secret, NULL),
			 -ENOENT);
	assert_string_equal(secret, "");
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, user, "a\tb", secret, NULL),
			 -EINVAL);

	/* lists */
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, other, NULL, secret, NULL),
			 0);
	assert_int_equal(n_tokens(f->s, 0), 3);
	assert_int_equal(n_tokens(f->s, user), 1);
	assert_int_equal(n_tokens(f->s, other), 1);
	assert_int_equal(ctl_store_token_delete(f->s, out.id), 0);
	assert_int_equal(ctl_store_token_delete(f->s, out.id), -ENOENT);
	assert_int_equal(n_tokens(f->s, user), 0);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(admin, sizeof(admin));
}

/* ---- interfaces ----------------------------------------------------------------- */

static int
if_collect(const struct ctl_interface *i, void *arg)
{
	char *names = arg;

	strcat(names, i->name);
	strcat(names, ",");
	return 0;
}

static void
test_interfaces(void **state)
{
	struct fx *f = *state;
	struct ctl_interface i = {.listen_port = 51820}, j;
	char names[128] = "";
	int64_t user;

	snprintf(i.name, sizeof(i.name), "wg0");
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), 0); /* no key yet */
	assert_int_equal(ctl_store_interface_get(f->s, "wg0", &j), 0);
	assert_int_equal(j.listen_port, 51820);
	assert_string_equal(j.public_key, "");
	key_of(7, i.public_key);
	i.listen_port = 51821;
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), 0);
	assert_int_equal(ctl_store_interface_get(f->s, "wg0", &j), 0);
	assert_int_equal(j.listen_port, 51821);
	assert_string_equal(j.public_key, i.public_key);
	mk_if(f->s, "wg1");
	assert_int_equal(ctl_store_interface_foreach(f->s, if_collect, names), 0);
	assert_string_equal(names, "wg0,wg1,");
	assert_int_equal(ctl_store_interface_get(f->s, "wg9", &j), -ENOENT);

	snprintf(i.name, sizeof(i.name), "wg 2");
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), -EINVAL);
	snprintf(i.name, sizeof(i.name), "wg2");
	snprintf(i.public_key, sizeof(i.public_key), "not a key");
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), -EINVAL);
	i.name[0] = '\0';
	assert_int_equal(ctl_store_interface_upsert(f->s, &i), -EINVAL);

	/* in use by a tunnel */
	user = mk_user(f->s, "DL1ABC");
	mk_tunnel(f->s, user, "wg1", 1);
	assert_int_equal(ctl_store_interface_delete(f->s, "wg1"), -EBUSY);
	assert_int_equal(ctl_store_interface_delete(f->s, "wg0"), 0);
	assert_int_equal(ctl_store_interface_delete(f->s, "wg0"), -ENOENT);
}

/* ---- tunnels -------------------------------------------------------------------- */

static void
test_tunnel_crud(void **state)
{
	struct fx *f = *state;
	struct ctl_tunnel t, g;
	int64_t user, id;

	user = mk_user(f->s, "DL1ABC");
	mk_if(f->s, "wg0");
	mk_if(f->s, "wg1");

	memset(&t, 0, sizeof(t));
	t.user_id = user;
	snprintf(t.interface, sizeof(t.interface), "wg0");
	snprintf(t.name, sizeof(t.name), "home router");
	key_of(1, t.public_key);
	t.has_psk = true;
	memset(t.psk, 0x5a, sizeof(t.psk));
	t.private_key_generated = true;
	t.keepalive = 25;
	t.enabled = true;
	t.expires_at = 2000000000;
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), 0);
	id = t.id;
	assert_true(t.created_at > 0);

	assert_int_equal(ctl_store_tunnel_get(f->s, id, &g), 0);
	assert_int_equal(g.user_id, user);
	assert_string_equal(g.interface, "wg0");
	assert_string_equal(g.name, "home router");
	assert_string_equal(g.public_key, t.public_key);
	assert_true(g.has_psk);
	assert_memory_equal(g.psk, t.psk, CTL_KEY_LEN);
	assert_true(g.private_key_generated);
	assert_int_equal(g.keepalive, 25);
	assert_true(g.enabled);
	assert_true(g.active);
	assert_int_equal(g.expires_at, 2000000000);
	assert_int_equal(g.expired_at, 0);
	assert_int_equal(g.n_addrs, 0);
	assert_int_equal(g.rx_total, 0);
	ctl_store_tunnel_clear(&g);
	assert_int_equal(g.has_psk, false);

	/* unique per interface, not globally */
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), -EEXIST);
	snprintf(t.interface, sizeof(t.interface), "wg1");
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), 0);
	/* references */
	snprintf(t.interface, sizeof(t.interface), "wg9");
	key_of(2, t.public_key);
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), -ENOENT);
	snprintf(t.interface, sizeof(t.interface), "wg0");
	t.user_id = 9999;
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), -ENOENT);
	t.user_id = user;
	/* malformed */
	snprintf(t.public_key, sizeof(t.public_key), "AAAA");
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), -EINVAL);
	/* 44 characters but 33 bytes' worth: the last one has bits beyond 32 bytes */
	snprintf(t.public_key, sizeof(t.public_key),
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=");
	assert_int_equal(ctl_store_tunnel_create(f->s, &t), -EINVAL);
	assert_false(ctl_store_key_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_true(ctl_store_key_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));

	/* update */
	assert_int_equal(ctl_store_tunnel_get(f->s, id, &g), 0);
	g.has_psk = false;
	g.keepalive = 0;
	g.enabled = false;
	g.expires_at = 0;
	snprintf(g.name, sizeof(g.name), "renamed");
	assert_int_equal(ctl_store_tunnel_update(f->s, &g), 0);
	ctl_store_tunnel_clear(&g);
	assert_int_equal(ctl_store_tunnel_get(f->s, id, &g), 0);
	assert_false(g.has_psk);
	assert_int_equal(g.keepalive, 0);
	assert_false(g.enabled);
	assert_false(g.active);
	assert_int_equal(g.expires_at, 0);
	assert_string_equal(g.name, "renamed");
	/* a new key: unique on the interface */
	key_of(3, g.public_key);
	assert_int_equal(ctl_store_tunnel_update(f->s, &g), 0);
	mk_tunnel(f->s, user, "wg0", 4);
	key_of(4, g.public_key);
	assert_int_equal(ctl_store_tunnel_update(f->s, &g), -EEXIST);
	ctl_store_tunnel_clear(&g);

	key_of(3, t.public_key);
	assert_int_equal(ctl_store_tunnel_get_by_key(f->s, "wg0", t.public_key, &g), 0);
	assert_int_equal(g.id, id);
	ctl_store_tunnel_clear(&g);
	assert_int_equal(ctl_store_tunnel_get_by_key(f->s, "wg1", t.public_key, &g), -ENOENT);

	assert_int_equal(n_tunnels(f->s, user), 3);
	assert_int_equal(n_tunnels(f->s, 0), 3);
	assert_int_equal(n_tunnels(f->s, 9999), 0);
	assert_int_equal(ctl_store_tunnel_delete(f->s, id), 0);
	assert_int_equal(ctl_store_tunnel_delete(f->s, id), -ENOENT);
	assert_int_equal(ctl_store_tunnel_get(f->s, id, &g), -ENOENT);
	t.id = id;
	key_of(9, t.public_key);
	assert_int_equal(ctl_store_tunnel_update(f->s, &t), -ENOENT);
	assert_int_equal(n_tunnels(f->s, user), 2);
}

static void
test_pools_addresses(void **state)
{
	struct fx *f = *state;
	struct ctl_pool p = {.alloc_len = 32}, q;
	struct ctl_address a;
	struct ctl_tunnel t;
	uint64_t alloc, resv;
	int64_t user, tun, aid;

	mk_if(f->s, "wg0");
	user = mk_user(f->s, "DL1ABC");
	tun = mk_tunnel(f->s, user, "wg0", 1);

	snprintf(p.name, sizeof(p.name), "v4");
	p.prefix = pfx("44.31.1.0/24");
	snprintf(p.interface, sizeof(p.interface), "wg0");
	assert_int_equal(ctl_store_pool_insert(f->s, &p), 0);
	assert_int_equal(ctl_store_pool_insert(f->s, &p), -EEXIST); /* name */
	snprintf(p.name, sizeof(p.name), "v4b");
	assert_int_equal(ctl_store_pool_insert(f->s, &p), -EEXIST); /* prefix */
	p.prefix = pfx("44.31.2.0/24");
	snprintf(p.interface, sizeof(p.interface), "wg9");
	assert_int_equal(ctl_store_pool_insert(f->s, &p), -ENOENT); /* interface */
	p.alloc_len = 16;
	p.interface[0] = '\0';
	assert_int_equal(ctl_store_pool_insert(f->s, &p), -EINVAL); /* CHECK */
	assert_int_equal(ctl_store_pool_get_by_name(f->s, "v4", &q), 0);
	assert_int_equal(q.alloc_len, 32);
	assert_string_equal(q.interface, "wg0");
	assert_memory_equal(q.high_water, q.prefix.addr, 4);

	aid = mk_addr(f->s, tun, q.id, "44.31.1.7/32");
	mk_addr(f->s, 0, q.id, "44.31.1.1/32"); /* a reservation */
	mk_addr(f->s, tun, 0, "44.60.0.0/24");	/* own */
	mk_addr(f->s, tun, 0, "2001:db8:1::/48");
	a.tunnel_id = tun;
	a.pool_id = q.id;
	a.prefix = pfx("44.31.1.7/32");
	assert_int_equal(ctl_store_address_insert(f->s, &a), -EEXIST);
	a.tunnel_id = 9999;
	a.prefix = pfx("44.31.1.8/32");
	assert_int_equal(ctl_store_address_insert(f->s, &a), -ENOENT);
	a.tunnel_id = 0;
	a.pool_id = 0;
	assert_int_equal(ctl_store_address_insert(f->s, &a), -EINVAL);

	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), -ENOENT);
	a.prefix = pfx("44.31.1.7/32");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), 0);
	assert_int_equal(a.id, aid);
	assert_int_equal(a.tunnel_id, tun);
	assert_int_equal(a.pool_id, q.id);

	/* a tunnel carries its addresses, by family then address */
	assert_int_equal(ctl_store_tunnel_get(f->s, tun, &t), 0);
	assert_int_equal(t.n_addrs, 3);
	{
		char s0[CTL_PREFIX_STRLEN], s1[CTL_PREFIX_STRLEN], s2[CTL_PREFIX_STRLEN];

		ctl_ipam_prefix_format(&t.addrs[0].prefix, s0, sizeof(s0));
		ctl_ipam_prefix_format(&t.addrs[1].prefix, s1, sizeof(s1));
		ctl_ipam_prefix_format(&t.addrs[2].prefix, s2, sizeof(s2));
		assert_string_equal(s0, "44.31.1.7/32");
		assert_string_equal(s1, "44.60.0.0/24");
		assert_string_equal(s2, "2001:db8:1::/48");
	}
	ctl_store_tunnel_clear(&t);

	assert_int_equal(ctl_store_pool_usage(f->s, q.id, &alloc, &resv), 0);
	assert_int_equal(alloc, 1);
	assert_int_equal(resv, 1);
	assert_int_equal(ctl_store_pool_delete(f->s, q.id), -EBUSY);
	assert_int_equal(ctl_store_address_delete(f->s, aid), 0);
	assert_int_equal(ctl_store_address_delete(f->s, aid), -ENOENT);
	assert_int_equal(ctl_store_pool_delete(f->s, q.id), 0);
	assert_int_equal(ctl_store_pool_get(f->s, q.id, &q), -ENOENT);
	assert_int_equal(ctl_store_pool_delete(f->s, q.id), -ENOENT);
	a.prefix = pfx("44.31.1.1/32");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), -ENOENT);
}

/* ---- cascades ---------------------------------------------------------------------- */

static void
test_cascade(void **state)
{
	struct fx *f = *state;
	char secret[CTL_TOKEN_STRLEN + 1], admin[CTL_TOKEN_STRLEN + 1];
	struct ctl_pool p = {.alloc_len = 32};
	struct ctl_address a;
	struct ctl_token tok;
	int64_t u1, u2, t1, t2, t3;
	unsigned n = 0, nt, na;

	mk_if(f->s, "wg0");
	u1 = mk_user(f->s, "DL1ABC");
	u2 = mk_user(f->s, "K1XYZ");
	t1 = mk_tunnel(f->s, u1, "wg0", 1);
	t2 = mk_tunnel(f->s, u1, "wg0", 2);
	t3 = mk_tunnel(f->s, u2, "wg0", 3);
	snprintf(p.name, sizeof(p.name), "v4");
	p.prefix = pfx("44.31.1.0/24");
	assert_int_equal(ctl_store_pool_insert(f->s, &p), 0);
	mk_addr(f->s, t1, p.id, "44.31.1.5/32");
	mk_addr(f->s, t2, p.id, "44.31.1.6/32");
	mk_addr(f->s, t2, 0, "44.60.0.0/24");
	mk_addr(f->s, t3, p.id, "44.31.1.9/32");
	assert_int_equal(ctl_store_counters_fold(f->s, t1, 100, 10, 20, 0, NULL), 0);
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, u1, "a", secret, NULL), 0);
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_ADMIN, 0, "b", admin, NULL), 0);
	assert_int_equal(ctl_store_pool_set_high_water(f->s, p.id, pfx("44.31.1.10/32").addr), 0);
	assert_int_equal(ctl_store_user_usage(f->s, u1, &nt, &na), 0);
	assert_int_equal(nt, 2);
	assert_int_equal(na, 3);

	assert_int_equal(ctl_store_user_delete(f->s, u1), 0);
	assert_int_equal(n_tunnels(f->s, u1), 0);
	assert_int_equal(n_tunnels(f->s, 0), 1);
	assert_int_equal(ctl_store_token_lookup(f->s, secret, &tok), -ENOENT);
	assert_int_equal(ctl_store_token_lookup(f->s, admin, &tok), 0);
	a.prefix = pfx("44.31.1.5/32");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), -ENOENT);
	a.prefix = pfx("44.60.0.0/24");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), -ENOENT);
	a.prefix = pfx("44.31.1.9/32");
	assert_int_equal(ctl_store_address_get_by_prefix(f->s, &a.prefix, &a), 0);
	assert_int_equal(ctl_store_counters_history(f->s, t1, 0, INT64_MAX,
						    COUNTER(struct ctl_counter_sample), &n),
			 0);
	assert_int_equal(n, 0);
	/* the freed blocks went to the pool's free list (trigger, through the cascade) */
	{
		uint8_t addr[16];

		assert_int_equal(ctl_store_pool_free_first(f->s, p.id, addr), 0);
		assert_memory_equal(addr, pfx("44.31.1.5/32").addr, 4);
		assert_int_equal(ctl_store_pool_free_remove(f->s, p.id, AF_INET, addr), 0);
		assert_int_equal(ctl_store_pool_free_first(f->s, p.id, addr), 0);
		assert_memory_equal(addr, pfx("44.31.1.6/32").addr, 4);
		assert_int_equal(ctl_store_pool_free_remove(f->s, p.id, AF_INET, addr), 0);
		/* the own prefix is no pool's; 44.31.1.9 is still allocated */
		assert_int_equal(ctl_store_pool_free_first(f->s, p.id, addr), -ENOENT);
		assert_int_equal(ctl_store_pool_free_remove(f->s, p.id, AF_INET, addr), -ENOENT);
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(admin, sizeof(admin));
}

/* ---- transactions ------------------------------------------------------------------ */

static void
test_transactions(void **state)
{
	struct fx *f = *state;
	struct ctl_user u;

	assert_false(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_commit(f->s), -EINVAL);
	assert_int_equal(ctl_store_rollback(f->s), 0);

	/* rollback leaves nothing */
	assert_int_equal(ctl_store_begin(f->s), 0);
	assert_true(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_begin(f->s), -EALREADY);
	mk_user(f->s, "DL1ABC");
	mk_if(f->s, "wg0");
	assert_int_equal(ctl_store_rollback(f->s), 0);
	assert_false(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC", &u), -ENOENT);
	assert_int_equal(n_users(f->s), 0);

	/* commit keeps everything, also across a reopen */
	assert_int_equal(ctl_store_begin(f->s), 0);
	mk_user(f->s, "DL1ABC");
	mk_user(f->s, "K1XYZ");
	assert_int_equal(ctl_store_commit(f->s), 0);
	reopen(f, 0);
	assert_int_equal(n_users(f->s), 2);

	/* a failed step inside a transaction does not end it */
	assert_int_equal(ctl_store_begin(f->s), 0);
	mk_user(f->s, "N0CALL");
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "dl1abc");
	assert_int_equal(ctl_store_user_create(f->s, &u), -EEXIST);
	assert_true(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_commit(f->s), 0);
	assert_int_equal(n_users(f->s), 3);

	/* savepoints: inner undo inside an outer transaction that commits */
	assert_int_equal(ctl_store_begin(f->s), 0);
	mk_user(f->s, "A1");
	assert_int_equal(ctl_store_savepoint(f->s), 0);
	mk_user(f->s, "A2");
	assert_int_equal(ctl_store_savepoint_end(f->s, -EIO), -EIO);
	assert_true(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_savepoint(f->s), 0);
	mk_user(f->s, "A3");
	assert_int_equal(ctl_store_savepoint_end(f->s, 0), 0);
	assert_int_equal(ctl_store_commit(f->s), 0);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "A1", &u), 0);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "A2", &u), -ENOENT);
	assert_int_equal(ctl_store_user_get_by_name(f->s, "A3", &u), 0);
	/* a savepoint outside a transaction is one */
	assert_int_equal(ctl_store_savepoint(f->s), 0);
	mk_user(f->s, "A4");
	assert_int_equal(ctl_store_savepoint_end(f->s, -EINVAL), -EINVAL);
	assert_false(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_user_get_by_name(f->s, "A4", &u), -ENOENT);
	assert_int_equal(ctl_store_savepoint(f->s), 0);
	mk_user(f->s, "A5");
	assert_int_equal(ctl_store_savepoint_end(f->s, 0), 0);
	assert_false(ctl_store_in_transaction(f->s));
	assert_int_equal(ctl_store_user_get_by_name(f->s, "A5", &u), 0);
}

/* ---- counters -------------------------------------------------------------------- */

struct samples {
	struct ctl_counter_sample s[16];
	unsigned n;
};

static int
sample_collect(const struct ctl_counter_sample *c, void *arg)
{
	struct samples *ss = arg;

	assert_true(ss->n < 16);
	ss->s[ss->n++] = *c;
	return 0;
}

static void
test_counters(void **state)
{
	struct fx *f = *state;
	struct samples ss = {.n = 0};
	struct ctl_tunnel t;
	uint64_t deleted;
	int64_t user, tun;

	mk_if(f->s, "wg0");
	user = mk_user(f->s, "DL1ABC");
	tun = mk_tunnel(f->s, user, "wg0", 1);

	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1000, 100, 200, 990, "192.0.2.7:51820"),
			 0);
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1010, 50, 0, 0, NULL), 0);
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1010, 5, 7, 0, NULL), 0); /* same ts */
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1020, 0, 0, 1015, "[2001:db8::7]:4500"),
			 0); /* no sample */
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1030, 1, 1, 0, NULL), 0);
	assert_int_equal(ctl_store_counters_fold(f->s, 9999, 1030, 1, 1, 0, NULL), -ENOENT);
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1030, UINT64_MAX, 1, 0, NULL), -EINVAL);

	assert_int_equal(ctl_store_tunnel_get(f->s, tun, &t), 0);
	assert_int_equal(t.rx_total, 156);
	assert_int_equal(t.tx_total, 208);
	assert_int_equal(t.last_handshake, 1015);
	assert_string_equal(t.endpoint, "[2001:db8::7]:4500");
	ctl_store_tunnel_clear(&t);

	assert_int_equal(ctl_store_counters_history(f->s, tun, 0, INT64_MAX, sample_collect, &ss),
			 0);
	assert_int_equal(ss.n, 3);
	assert_int_equal(ss.s[0].ts, 1000);
	assert_int_equal(ss.s[0].rx_bytes, 100);
	assert_int_equal(ss.s[0].tx_bytes, 200);
	assert_int_equal(ss.s[1].ts, 1010);
	assert_int_equal(ss.s[1].rx_bytes, 55);
	assert_int_equal(ss.s[1].tx_bytes, 7);
	assert_int_equal(ss.s[2].ts, 1030);
	/* inclusive range */
	ss.n = 0;
	assert_int_equal(ctl_store_counters_history(f->s, tun, 1010, 1030, sample_collect, &ss), 0);
	assert_int_equal(ss.n, 2);
	ss.n = 0;
	assert_int_equal(ctl_store_counters_history(f->s, tun, 1001, 1009, sample_collect, &ss), 0);
	assert_int_equal(ss.n, 0);

	assert_int_equal(ctl_store_counters_prune(f->s, 1010, &deleted), 0);
	assert_int_equal(deleted, 1);
	ss.n = 0;
	assert_int_equal(ctl_store_counters_history(f->s, tun, 0, INT64_MAX, sample_collect, &ss),
			 0);
	assert_int_equal(ss.n, 2);
	assert_int_equal(ss.s[0].ts, 1010);

	/* many tunnels in one transaction */
	assert_int_equal(ctl_store_begin(f->s), 0);
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 2000, 1, 2, 0, NULL), 0);
	assert_int_equal(ctl_store_rollback(f->s), 0);
	assert_int_equal(ctl_store_tunnel_get(f->s, tun, &t), 0);
	assert_int_equal(t.rx_total, 156);
	ctl_store_tunnel_clear(&t);
}

/* ---- expiry and the full sync ---------------------------------------------------- */

struct ids {
	int64_t id[16];
	unsigned n;
};

static int
ids_collect(const struct ctl_tunnel *t, void *arg)
{
	struct ids *ids = arg;

	assert_true(ids->n < 16);
	ids->id[ids->n++] = t->id;
	return 0;
}

struct expirer {
	struct ctl_store *s;
	unsigned n;
};

/* The daemon's pattern: mark each expiring tunnel from the listing's callback. */
static int
expire_cb(const struct ctl_tunnel *t, void *arg)
{
	struct expirer *e = arg;

	assert_int_equal(ctl_store_tunnel_expire(e->s, t->id, 2000), 0);
	e->n++;
	return 0;
}

/* A listing whose callback runs the same listing and a lookup. */
static int
nested_cb(const struct ctl_tunnel *t, void *arg)
{
	struct expirer *e = arg;
	struct ctl_tunnel g;
	unsigned n = 0;

	assert_int_equal(ctl_store_tunnel_foreach(e->s, 0, COUNTER(struct ctl_tunnel), &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ctl_store_tunnel_get(e->s, t->id, &g), 0);
	assert_string_equal(g.public_key, t->public_key);
	ctl_store_tunnel_clear(&g);
	e->n++;
	return 0;
}

static void
test_expiry(void **state)
{
	static const struct {
		int64_t expires_at, expired_at;
		bool expiring; /* listed by foreach_expiring(1000) */
	} cases[] = {
		{0, 0, false},	   /* never */
		{999, 0, true},	   /* past */
		{1000, 0, true},   /* now */
		{1001, 0, false},  /* future */
		{500, 600, false}, /* already marked */
	};
	struct fx *f = *state;
	struct ids ids = {.n = 0};
	struct ctl_tunnel t;
	int64_t user, id[5];
	size_t i;

	mk_if(f->s, "wg0");
	user = mk_user(f->s, "DL1ABC");
	for (i = 0; i < 5; i++) {
		id[i] = mk_tunnel(f->s, user, "wg0", (uint8_t)(i + 1));
		assert_int_equal(ctl_store_tunnel_get(f->s, id[i], &t), 0);
		t.expires_at = cases[i].expires_at;
		t.expired_at = cases[i].expired_at;
		assert_int_equal(ctl_store_tunnel_update(f->s, &t), 0);
		ctl_store_tunnel_clear(&t);
	}
	assert_int_equal(ctl_store_tunnel_foreach_expiring(f->s, 1000, ids_collect, &ids), 0);
	assert_int_equal(ids.n, 2);
	assert_int_equal(ids.id[0], id[1]);
	assert_int_equal(ids.id[1], id[2]);

	assert_int_equal(ctl_store_tunnel_expire(f->s, id[1], 1000), 0);
	assert_int_equal(ctl_store_tunnel_expire(f->s, id[1], 1005), 0); /* kept */
	assert_int_equal(ctl_store_tunnel_expire(f->s, 9999, 1000), -ENOENT);
	assert_int_equal(ctl_store_tunnel_get(f->s, id[1], &t), 0);
	assert_int_equal(t.expired_at, 1000);
	assert_false(t.active);
	assert_true(t.enabled);
	ctl_store_tunnel_clear(&t);
	ids.n = 0;
	assert_int_equal(ctl_store_tunnel_foreach_expiring(f->s, 1000, ids_collect, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.id[0], id[2]);

	/* marked expired at or before: the grace period's end */
	ids.n = 0;
	assert_int_equal(ctl_store_tunnel_foreach_expired(f->s, 999, ids_collect, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.id[0], id[4]);
	ids.n = 0;
	assert_int_equal(ctl_store_tunnel_foreach_expired(f->s, 1000, ids_collect, &ids), 0);
	assert_int_equal(ids.n, 2);

	/* extending revives it */
	assert_int_equal(ctl_store_tunnel_get(f->s, id[1], &t), 0);
	t.expires_at = 5000;
	t.expired_at = 0;
	assert_int_equal(ctl_store_tunnel_update(f->s, &t), 0);
	ctl_store_tunnel_clear(&t);
	assert_int_equal(ctl_store_tunnel_get(f->s, id[1], &t), 0);
	assert_true(t.active);
	ctl_store_tunnel_clear(&t);

	/* expire from inside the listing, then the listing is empty */
	{
		struct expirer e = {.s = f->s};

		assert_int_equal(ctl_store_tunnel_foreach_expiring(f->s, 6000, expire_cb, &e), 0);
		assert_int_equal(e.n, 3); /* id[1] (5000), id[2] (1000), id[3] (1001) */
		ids.n = 0;
		assert_int_equal(ctl_store_tunnel_foreach_expiring(f->s, 6000, ids_collect, &ids), 0);
		assert_int_equal(ids.n, 0);
		e.n = 0;
		assert_int_equal(ctl_store_tunnel_foreach(f->s, 0, nested_cb, &e), 0);
		assert_int_equal(e.n, 5);
		/* the writes made inside the listing are durable */
		reopen(f, 0);
		assert_int_equal(ctl_store_tunnel_get(f->s, id[2], &t), 0);
		assert_int_equal(t.expired_at, 2000);
		ctl_store_tunnel_clear(&t);
	}
}

struct dump {
	char text[1024];
};

static int
dump_collect(const struct ctl_tunnel *t, void *arg)
{
	struct dump *d = arg;
	char p[CTL_PREFIX_STRLEN], line[200];
	size_t i;

	snprintf(line, sizeof(line), "%lld k%c psk%d ka%u:", (long long)t->id, t->public_key[0],
		 t->has_psk ? t->psk[0] : -1, t->keepalive);
	strcat(d->text, line);
	for (i = 0; i < t->n_addrs; i++) {
		assert_int_equal(t->addrs[i].tunnel_id, t->id);
		ctl_ipam_prefix_format(&t->addrs[i].prefix, p, sizeof(p));
		strcat(d->text, " ");
		strcat(d->text, p);
	}
	strcat(d->text, ";");
	assert_true(t->active);
	return 0;
}

static int
stop_at_two(const struct ctl_tunnel *t, void *arg)
{
	(void)t;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void
test_sync_dump(void **state)
{
	struct fx *f = *state;
	struct dump d = {.text = ""};
	struct ctl_tunnel t;
	struct ctl_user u;
	int64_t u1, u2, a, b, c, e, g, h;
	char want[512];
	int calls = 0;

	mk_if(f->s, "wg0");
	mk_if(f->s, "wg1");
	u1 = mk_user(f->s, "DL1ABC");
	u2 = mk_user(f->s, "K1XYZ");
	a = mk_tunnel(f->s, u1, "wg0", 0);	       /* key starts with 'A' */
	b = mk_tunnel(f->s, u1, "wg0", 4);	       /* disabled */
	c = mk_tunnel(f->s, u1, "wg0", 8);	       /* expired */
	e = mk_tunnel(f->s, u2, "wg0", 12);	       /* user disabled */
	g = mk_tunnel(f->s, u1, "wg1", 16);	       /* other interface */
	h = mk_tunnel(f->s, u1, "wg0", 20);	       /* no addresses, psk */
	mk_addr(f->s, a, 0, "2001:db8:2::/48");
	mk_addr(f->s, a, 0, "44.31.9.0/24");
	mk_addr(f->s, a, 0, "44.31.1.2/32");
	mk_addr(f->s, b, 0, "44.31.1.3/32");
	mk_addr(f->s, g, 0, "44.31.1.4/32");

	assert_int_equal(ctl_store_tunnel_get(f->s, b, &t), 0);
	t.enabled = false;
	assert_int_equal(ctl_store_tunnel_update(f->s, &t), 0);
	ctl_store_tunnel_clear(&t);
	assert_int_equal(ctl_store_tunnel_expire(f->s, c, 100), 0);
	assert_int_equal(ctl_store_user_get(f->s, u2, &u), 0);
	u.disabled = true;
	assert_int_equal(ctl_store_user_update(f->s, &u), 0);
	assert_int_equal(ctl_store_tunnel_get(f->s, h, &t), 0);
	t.has_psk = true;
	memset(t.psk, 9, sizeof(t.psk));
	t.keepalive = 0;
	assert_int_equal(ctl_store_tunnel_update(f->s, &t), 0);
	ctl_store_tunnel_clear(&t);
	(void)e;

	assert_int_equal(ctl_store_tunnel_foreach_active(f->s, "wg0", dump_collect, &d), 0);
	snprintf(want, sizeof(want),
		 "%lld kA psk-1 ka25: 44.31.1.2/32 44.31.9.0/24 2001:db8:2::/48;"
		 "%lld kF psk9 ka0:;",
		 (long long)a, (long long)h);
	assert_string_equal(d.text, want);
	d.text[0] = '\0';
	assert_int_equal(ctl_store_tunnel_foreach_active(f->s, "wg1", dump_collect, &d), 0);
	snprintf(want, sizeof(want), "%lld kE psk-1 ka25: 44.31.1.4/32;", (long long)g);
	assert_string_equal(d.text, want);
	d.text[0] = '\0';
	assert_int_equal(ctl_store_tunnel_foreach_active(f->s, "wg9", dump_collect, &d), 0);
	assert_string_equal(d.text, "");
	/* a callback's non-zero stops the listing and is returned */
	assert_int_equal(ctl_store_tunnel_foreach(f->s, 0, stop_at_two, &calls), 42);
	assert_int_equal(calls, 2);
}

/* ---- read-only, full, kill -9 --------------------------------------------------- */

static void
check_writes_fail(struct ctl_store *s, int want)
{
	struct ctl_user u = {.max_tunnels = CTL_LIMIT_DEFAULT, .max_addresses = CTL_LIMIT_DEFAULT};
	char secret[CTL_TOKEN_STRLEN + 1];

	snprintf(u.name, sizeof(u.name), "NEW1");
	assert_int_equal(ctl_store_user_create(s, &u), want);
	assert_int_equal(ctl_store_token_create(s, CTL_TOKEN_ADMIN, 0, "x", secret, NULL), want);
	assert_string_equal(secret, "");
}

static void
test_readonly(void **state)
{
	struct fx *f = *state;
	char secret[CTL_TOKEN_STRLEN + 1], err[256];
	struct ctl_token tok;
	struct ctl_user u;
	int64_t user, tun;

	mk_if(f->s, "wg0");
	user = mk_user(f->s, "DL1ABC");
	tun = mk_tunnel(f->s, user, "wg0", 1);
	assert_int_equal(ctl_store_token_create(f->s, CTL_TOKEN_USER, user, "x", secret, NULL), 0);

	reopen(f, CTL_STORE_RDONLY);
	assert_true(ctl_store_readonly(f->s));
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC", &u), 0);
	assert_int_equal(n_tunnels(f->s, user), 1);
	assert_int_equal(ctl_store_token_authenticate(f->s, secret, 5000, &tok), 0);
	check_writes_fail(f->s, -EROFS);
	assert_int_equal(ctl_store_begin(f->s), -EROFS);
	assert_int_equal(ctl_store_counters_fold(f->s, tun, 1, 1, 1, 0, NULL), -EROFS);
	assert_int_equal(ctl_store_user_delete(f->s, user), -EROFS);
	assert_int_equal(ctl_store_tunnel_delete(f->s, tun), -EROFS);
	assert_false(ctl_store_in_transaction(f->s));

	/* a file its user may not write: read-only with a notice (root may write anyway) */
	ctl_store_close(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0400), 0);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	if (geteuid() != 0) {
		assert_true(ctl_store_readonly(f->s));
		assert_non_null(strstr(err, "read-only"));
		check_writes_fail(f->s, -EROFS);
	}
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC", &u), 0);
	ctl_store_close(f->s);
	assert_int_equal(chmod(f->path, 0600), 0);
	f->s = ctl_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	sodium_memzero(secret, sizeof(secret));
}

static void
test_full(void **state)
{
	struct fx *f = *state;
	struct ctl_user u;
	char name[32];
	int i, ret = 0;

	mk_user(f->s, "DL1ABC");
	assert_int_equal(ctl_store_limit_size(f->s, 64 * 1024), 0);
	for (i = 0; i < 100000 && ret == 0; i++) {
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), "U%d", i);
		snprintf(u.email, sizeof(u.email), "%0200d@x", i);
		ret = ctl_store_user_create(f->s, &u);
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(i > 10);
	/* reads still work; so does a write that frees space */
	assert_int_equal(ctl_store_user_get_by_name(f->s, "DL1ABC", &u), 0);
	assert_int_equal(ctl_store_begin(f->s), 0);
	for (int j = 0; j < i - 1; j++) {
		snprintf(name, sizeof(name), "U%d", j);
		assert_int_equal(ctl_store_user_get_by_name(f->s, name, &u), 0);
		assert_int_equal(ctl_store_user_delete(f->s, u.id), 0);
	}
	assert_int_equal(ctl_store_commit(f->s), 0);
	assert_int_equal(ctl_store_limit_size(f->s, 1ull << 40), 0);
	mk_user(f->s, "AFTER");
}

/*
 * A child writes users one by one (each an implicit transaction) and
 * reports each acknowledged write through a pipe; it is killed with
 * SIGKILL mid-stream. Every user it reported must be in the database.
 */
static void
test_kill9(void **state)
{
	struct fx *f = *state;
	struct ctl_user u;
	int fds[2], acked = 0, i;
	char name[32], b;
	pid_t pid;

	ctl_store_close(f->s);
	f->s = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct ctl_store *s = ctl_store_open(f->path, 0, err, sizeof(err));

		close(fds[0]);
		if (s == NULL)
			_exit(2);
		for (i = 0;; i++) {
			memset(&u, 0, sizeof(u));
			snprintf(u.name, sizeof(u.name), "K%d", i);
			if (ctl_store_user_create(s, &u) != 0)
				_exit(3);
			if (write(fds[1], "x", 1) != 1)
				_exit(4);
		}
	}
	close(fds[1]);
	while (acked < 40 && read(fds[0], &b, 1) == 1)
		acked++;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	assert_int_equal(acked, 40);
	reopen(f, 0);
	for (i = 0; i < acked; i++) {
		snprintf(name, sizeof(name), "K%d", i);
		if (ctl_store_user_get_by_name(f->s, name, &u) != 0)
			fail_msg("acknowledged user %s lost", name);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_tightens_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tunnel_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pools_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
