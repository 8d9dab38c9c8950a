/*
 * store.h — gate44-control's durable state: one SQLite database (WAL,
 * synchronous=FULL, foreign keys on) holding users, API tokens, WireGuard
 * interfaces, tunnels (peers), address pools, addresses and counter
 * history. Used only by the daemon's main (poll loop) thread: a store and
 * everything it returns must not be shared with another thread.
 *
 * Durability: every call that returns 0 after a write outside an explicit
 * transaction, and every ctl_store_commit() that returns 0, has reached the
 * disk (fsync): it survives kill -9 and power loss.
 *
 * Secrets: the database holds tunnels' preshared keys, because they must be
 * pushed to the engine again after every restart; it is therefore created
 * mode 0600, and an existing file that group or others may read is
 * tightened to owner-only when opened (ctl_store_open says so in err).
 * secure_delete is on: deleted rows are zeroed in the file. Private keys are
 * never stored (a tunnel only records that its private key was generated
 * for the user). API tokens are stored as their BLAKE2b-256 hash only. No
 * function here logs anything; ctl_store_errmsg() never contains values.
 *
 * Errors are 0 or -errno:
 *   -ENOENT  no such row, or a row it refers to (user, interface, tunnel)
 *            does not exist
 *   -EEXIST  a unique name, key, prefix or hash is taken
 *   -EINVAL  a malformed argument (name, key, label, length)
 *   -EBUSY   the row is still in use (an interface with tunnels, a pool
 *            with allocations), or the database is locked by another process
 *            for longer than CTL_STORE_BUSY_TIMEOUT_MS
 *   -ENOSPC  disk full or the size limit (SQLITE_FULL): HTTP 507
 *   -EROFS   the store is read-only (SQLITE_READONLY): HTTP 503
 *   -ENOMEM, -EIO (any other SQLite error; see ctl_store_errmsg())
 *
 * Listing functions call cb once per row with a struct valid only during
 * the call; a non-zero return from cb stops the listing and is returned.
 * cb may call any store function, the same listing included, and may
 * write; the listing may or may not see rows it changes. Outside an
 * explicit transaction, such writes become durable when the listing ends
 * (SQLite commits when its last statement finishes), not when the call
 * returns.
 */
#ifndef GATE44_CTL_STORE_H
#define GATE44_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam.h"

#define CTL_STORE_SCHEMA_VERSION  1
#define CTL_STORE_APPLICATION_ID  0x47343443 /* "G44C" in the file header */
#define CTL_STORE_BUSY_TIMEOUT_MS 2000

#define CTL_NAME_MAX	     32 /* user and pool names: 1..32 of [A-Za-z0-9._-] */
#define CTL_IFNAME_MAX	     15 /* interface names, as the engine's */
#define CTL_LABEL_MAX	     64 /* token and tunnel names: no control characters */
#define CTL_EMAIL_MAX	     254
#define CTL_KEY_LEN	     32
#define CTL_KEY_B64_LEN	     44	  /* standard base64 with padding, as wg(8) */
#define CTL_ENDPOINT_MAX     63	  /* "[v6]:port" */
#define CTL_TOKEN_STRLEN     47	  /* "g44_" and 43 base64url characters */
#define CTL_TOKEN_PREFIX_LEN 12	  /* "g44_" and 8 characters, shown in lists */
#define CTL_TOKEN_TOUCH_S    60	  /* last_used_at is written at most this often */
#define CTL_LIMIT_DEFAULT    (-1) /* max_tunnels / max_addresses: the daemon's default */

enum {
	CTL_STORE_RDONLY = 1 << 0, /* never write (tools, inspection) */
};

struct ctl_store;

/* ---- the database --------------------------------------------------- */

/*
 * Open (creating it when missing, mode 0600) and migrate the database at
 * path. NULL on failure with the reason in err. On success err is "" or a
 * notice worth logging: the file's mode was tightened to owner-only, or the
 * file is not writable and the store was opened read-only (every write then
 * fails with -EROFS). A database of a newer schema, or a SQLite file that
 * is not gate44-control's, is refused.
 */
struct ctl_store *ctl_store_open(const char *path, unsigned flags, char *err, size_t errlen);
/* Close; an open transaction is rolled back. NULL is a no-op. */
void ctl_store_close(struct ctl_store *s);
bool ctl_store_readonly(const struct ctl_store *s);
/* SQLite's message about the last failure (for logs; never holds values). */
const char *ctl_store_errmsg(const struct ctl_store *s);
/* Cap the database file at about bytes: writes beyond fail with -ENOSPC. */
int ctl_store_limit_size(struct ctl_store *s, uint64_t bytes);

/*
 * Explicit transactions, for "begin; change the store; change the engine;
 * commit, or roll back if the engine refused". begin takes the write lock
 * at once (BEGIN IMMEDIATE): -EALREADY inside a transaction, -EROFS,
 * -EBUSY. commit: 0 when durable; on failure the transaction is rolled
 * back, nothing of it persists, and the caller must undo the engine side.
 * rollback: 0, also when no transaction is open (SQLite may have rolled
 * back on its own after an I/O error).
 */
int ctl_store_begin(struct ctl_store *s);
int ctl_store_commit(struct ctl_store *s);
int ctl_store_rollback(struct ctl_store *s);
bool ctl_store_in_transaction(struct ctl_store *s);
/*
 * A nested all-or-nothing step, inside or outside a transaction:
 * ctl_store_savepoint(), then ctl_store_savepoint_end(s, ret) releases the
 * savepoint when ret is 0 and undoes everything since it otherwise, and
 * returns ret (or the release's error).
 */
int ctl_store_savepoint(struct ctl_store *s);
int ctl_store_savepoint_end(struct ctl_store *s, int ret);

/* ---- users ------------------------------------------------------------ */

struct ctl_user {
	int64_t id;
	char name[CTL_NAME_MAX + 1];   /* unique, case-insensitively (callsigns) */
	char email[CTL_EMAIL_MAX + 1]; /* "" when none */
	bool disabled;		       /* all the user's tunnels are inactive */
	int64_t max_tunnels;	       /* >= 0, or CTL_LIMIT_DEFAULT */
	int64_t max_addresses;	       /* >= 0, or CTL_LIMIT_DEFAULT */
	int64_t created_at;	       /* unix seconds */
};

/* 1..CTL_NAME_MAX characters of [A-Za-z0-9._-]. */
bool ctl_store_name_valid(const char *name);

/* Insert u (id and created_at are set): -EINVAL, -EEXIST. */
int ctl_store_user_create(struct ctl_store *s, struct ctl_user *u);
int ctl_store_user_get(struct ctl_store *s, int64_t id, struct ctl_user *u);
int ctl_store_user_get_by_name(struct ctl_store *s, const char *name, struct ctl_user *u);
/* Write name, email, disabled and the limits of u->id. */
int ctl_store_user_update(struct ctl_store *s, const struct ctl_user *u);
/* Delete the user with their tokens, tunnels, addresses and counters. */
int ctl_store_user_delete(struct ctl_store *s, int64_t id);
int ctl_store_user_foreach(struct ctl_store *s, int (*cb)(const struct ctl_user *u, void *arg),
			   void *arg);
/* The user's tunnels and addresses (allocated and own), for the limits. */
int ctl_store_user_usage(struct ctl_store *s, int64_t id, unsigned *tunnels, unsigned *addresses);

/* ---- API tokens --------------------------------------------------------- */

enum ctl_token_scope {
	CTL_TOKEN_ADMIN, /* everything; belongs to no user */
	CTL_TOKEN_USER,	 /* one user's tunnels */
};

struct ctl_token {
	int64_t id;
	enum ctl_token_scope scope;
	int64_t user_id; /* 0 for admin tokens */
	char name[CTL_LABEL_MAX + 1];
	char prefix[CTL_TOKEN_PREFIX_LEN + 1]; /* the secret's first characters */
	int64_t created_at;
	int64_t last_used_at; /* 0: never */
	bool revoked;
	bool user_disabled; /* the owner is disabled (user tokens) */
};

/* The stored form of a token: BLAKE2b-256 of its whole text, no key. */
void ctl_store_token_hash(const char *secret, uint8_t hash[CTL_KEY_LEN]);

/*
 * Make a token: 32 random bytes, shown as "g44_<base64url>" in secret —
 * the only time it exists in clear; wipe it (sodium_memzero) once shown.
 * Admin tokens take user_id 0; user tokens a user's id (-ENOENT if none).
 * out (may be NULL) gets the stored token.
 */
int ctl_store_token_create(struct ctl_store *s, enum ctl_token_scope scope, int64_t user_id,
			   const char *name, char secret[CTL_TOKEN_STRLEN + 1],
			   struct ctl_token *out);
/* The token whose secret this is, revoked or not: 0 or -ENOENT. */
int ctl_store_token_lookup(struct ctl_store *s, const char *secret, struct ctl_token *t);
/*
 * Lookup for a request: 0 only for a usable token; -ENOENT unknown,
 * -EKEYREVOKED revoked, -EACCES its user is disabled. Records the use
 * (at most every CTL_TOKEN_TOUCH_S seconds, best effort: a read-only or
 * full store still authenticates).
 */
int ctl_store_token_authenticate(struct ctl_store *s, const char *secret, int64_t now,
				 struct ctl_token *t);
int ctl_store_token_get(struct ctl_store *s, int64_t id, struct ctl_token *t);
/* The tokens of user_id, or all tokens (admin ones too) when user_id is 0. */
int ctl_store_token_foreach(struct ctl_store *s, int64_t user_id,
			    int (*cb)(const struct ctl_token *t, void *arg), void *arg);
int ctl_store_token_revoke(struct ctl_store *s, int64_t id);
int ctl_store_token_delete(struct ctl_store *s, int64_t id);

/* ---- interfaces (learned from the engine and the config) ---------------- */

struct ctl_interface {
	char name[CTL_IFNAME_MAX + 1];
	uint16_t listen_port;
	char public_key[CTL_KEY_B64_LEN + 1]; /* "" when unknown */
};

/* Insert, or update the port and key of an existing name. */
int ctl_store_interface_upsert(struct ctl_store *s, const struct ctl_interface *i);
int ctl_store_interface_get(struct ctl_store *s, const char *name, struct ctl_interface *i);
/* -EBUSY while tunnels or pools refer to it. */
int ctl_store_interface_delete(struct ctl_store *s, const char *name);
int ctl_store_interface_foreach(struct ctl_store *s,
				int (*cb)(const struct ctl_interface *i, void *arg), void *arg);

/* ---- tunnels (the users' WireGuard peers) ----------------------------- */

struct ctl_address {
	int64_t id;
	int64_t tunnel_id; /* 0: a reservation of pool_id */
	int64_t pool_id;   /* 0: a user's own prefix */
	struct ctl_ipam_prefix prefix;
};

struct ctl_tunnel {
	int64_t id;
	int64_t user_id;
	char interface[CTL_IFNAME_MAX + 1];
	char name[CTL_LABEL_MAX + 1];
	char public_key[CTL_KEY_B64_LEN + 1];
	bool has_psk;
	uint8_t psk[CTL_KEY_LEN]; /* wiped by ctl_store_tunnel_clear */
	bool private_key_generated;
	uint16_t keepalive; /* seconds, 0: off */
	bool enabled;
	int64_t expires_at; /* 0: never */
	int64_t expired_at; /* 0: not expired; else when expiry disabled it */
	int64_t created_at;
	int64_t updated_at;
	/* status, folded from the engine's counters */
	uint64_t rx_total;
	uint64_t tx_total;
	int64_t last_handshake; /* 0: never */
	char endpoint[CTL_ENDPOINT_MAX + 1];
	/* enabled, not expired and its user not disabled: the engine has it */
	bool active;
	/* the allowed IPs, by family then address */
	struct ctl_address *addrs;
	size_t n_addrs;
};

/* 44 characters of standard base64 that decode to exactly 32 bytes. */
bool ctl_store_key_valid(const char *b64);

/*
 * Insert t (its addrs are ignored: see ctl_ipam_allocate/assign); id,
 * created_at, updated_at are set. -ENOENT for an unknown user or interface,
 * -EEXIST when the interface already has this public key.
 */
int ctl_store_tunnel_create(struct ctl_store *s, struct ctl_tunnel *t);
/* Fill t with its addresses; release with ctl_store_tunnel_clear. */
int ctl_store_tunnel_get(struct ctl_store *s, int64_t id, struct ctl_tunnel *t);
int ctl_store_tunnel_get_by_key(struct ctl_store *s, const char *ifname, const char *public_key,
				struct ctl_tunnel *t);
/*
 * Write name, public_key, the PSK, private_key_generated, keepalive,
 * enabled, expires_at and expired_at of t->id; updated_at is set. The user,
 * interface, status and addresses are not changed here.
 */
int ctl_store_tunnel_update(struct ctl_store *s, struct ctl_tunnel *t);
/* Delete with its addresses (freed) and counter history. */
int ctl_store_tunnel_delete(struct ctl_store *s, int64_t id);
/* Wipe the PSK and free the addresses of a struct filled by a _get. */
void ctl_store_tunnel_clear(struct ctl_tunnel *t);
/* The tunnels of user_id (all when 0), by id. */
int ctl_store_tunnel_foreach(struct ctl_store *s, int64_t user_id,
			     int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg);
/*
 * The full engine sync of an interface: its active tunnels with their
 * allowed IPs, PSK and keepalive, by id.
 */
int ctl_store_tunnel_foreach_active(struct ctl_store *s, const char *ifname,
				    int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg);
/* Tunnels whose expires_at <= now and that are not marked expired yet. */
int ctl_store_tunnel_foreach_expiring(struct ctl_store *s, int64_t now,
				      int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg);
/* Tunnels marked expired at or before `before` (for the grace period). */
int ctl_store_tunnel_foreach_expired(struct ctl_store *s, int64_t before,
				     int (*cb)(const struct ctl_tunnel *t, void *arg), void *arg);
/* Mark expired at now (kept if already marked): the tunnel turns inactive. */
int ctl_store_tunnel_expire(struct ctl_store *s, int64_t id, int64_t now);

/* ---- pools and addresses (policy in ipam.h) ----------------------------- */

struct ctl_pool {
	int64_t id;
	char name[CTL_NAME_MAX + 1];
	struct ctl_ipam_prefix prefix;
	uint8_t alloc_len;		    /* length of the blocks handed out */
	char interface[CTL_IFNAME_MAX + 1]; /* "" serves every interface */
	uint8_t high_water[16];		    /* IPAM's: no block from here up was allocated */
};

/* Raw insert, no overlap checks: use ctl_ipam_pool_add. */
int ctl_store_pool_insert(struct ctl_store *s, struct ctl_pool *p);
int ctl_store_pool_get(struct ctl_store *s, int64_t id, struct ctl_pool *p);
int ctl_store_pool_get_by_name(struct ctl_store *s, const char *name, struct ctl_pool *p);
int ctl_store_pool_foreach(struct ctl_store *s, int (*cb)(const struct ctl_pool *p, void *arg),
			   void *arg);
/* "" serves every interface; -ENOENT for an unknown one. */
int ctl_store_pool_set_interface(struct ctl_store *s, int64_t id, const char *ifname);
/* Delete a pool and its reservations: -EBUSY while blocks are allocated. */
int ctl_store_pool_delete(struct ctl_store *s, int64_t id);
/* Blocks allocated to tunnels and reservations of a pool. */
int ctl_store_pool_usage(struct ctl_store *s, int64_t id, uint64_t *allocated, uint64_t *reserved);
/* The IPAM's bookkeeping: the high-water mark, and the free list below it
 * (the lowest released block: 0 or -ENOENT; take one off it). */
int ctl_store_pool_set_high_water(struct ctl_store *s, int64_t id, const uint8_t mark[16]);
int ctl_store_pool_free_first(struct ctl_store *s, int64_t id, uint8_t addr[16]);
int ctl_store_pool_free_remove(struct ctl_store *s, int64_t id, int family, const uint8_t addr[16]);

/* Raw insert, no overlap checks: use ctl_ipam_allocate/assign. */
int ctl_store_address_insert(struct ctl_store *s, struct ctl_address *a);
int ctl_store_address_get_by_prefix(struct ctl_store *s, const struct ctl_ipam_prefix *p,
				    struct ctl_address *a);
int ctl_store_address_delete(struct ctl_store *s, int64_t id);
/* Rows of family whose network address is in [lo, hi], by address. */
int ctl_store_address_foreach_range(struct ctl_store *s, int family, const uint8_t lo[16],
				    const uint8_t hi[16],
				    int (*cb)(const struct ctl_address *a, void *arg), void *arg);
/* The row of family with the greatest network address below addr. */
int ctl_store_address_last_before(struct ctl_store *s, int family, const uint8_t addr[16],
				  struct ctl_address *a);
int ctl_store_address_foreach_pool(struct ctl_store *s, int64_t pool_id,
				   int (*cb)(const struct ctl_address *a, void *arg), void *arg);

/* ---- counters ----------------------------------------------------------- */

struct ctl_counter_sample {
	int64_t ts;	   /* unix seconds, end of the interval */
	uint64_t rx_bytes; /* during the interval */
	uint64_t tx_bytes;
};

/*
 * Fold what the engine counted since the last fold into the tunnel: add
 * the deltas to its totals, set last_handshake (when > 0) and endpoint
 * (when not NULL), and record a history sample at ts (added to one already
 * at ts; none when both deltas are 0). -ENOENT when the tunnel is gone.
 * Folding many tunnels? Wrap the calls in one transaction: one fsync.
 */
int ctl_store_counters_fold(struct ctl_store *s, int64_t tunnel_id, int64_t ts, uint64_t rx_delta,
			    uint64_t tx_delta, int64_t last_handshake, const char *endpoint);
/* The samples of a tunnel with from <= ts <= to, oldest first. */
int ctl_store_counters_history(struct ctl_store *s, int64_t tunnel_id, int64_t from, int64_t to,
			       int (*cb)(const struct ctl_counter_sample *c, void *arg), void *arg);
/* Delete every sample older than before; *deleted (may be NULL) counts. */
int ctl_store_counters_prune(struct ctl_store *s, int64_t before, uint64_t *deleted);

#endif /* GATE44_CTL_STORE_H */
