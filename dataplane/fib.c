/*
 * fib.c — IPv4/IPv6 longest-prefix-match tables (rte_fib DIR24_8 and
 * rte_fib6 TRIE, 4-byte next hops), double-buffered. The main lcore changes
 * them in transactions; worker lcores look up through one atomically loaded
 * pointer, lock-free.
 *
 * rte_fib in DPDK 22.11 frees and reuses tbl8 groups in place, with no RCU
 * of its own, so a table must never change under a reader. Each family
 * therefore has two copies, grouped into two views {v4, v6}; fib->active
 * points at the view readers use, the other is the standby. A transaction:
 *
 *   1. every change is checked against the RIB (a hash of the routes, the
 *      truth) and then applied to the RIB and to the standby view, and
 *      logged;
 *   2. commit publishes the standby view with one release store, waits for
 *      an RCU grace period (every reader has reported a quiescent state, so
 *      none still holds the old view), and replays the log on the old view,
 *      which becomes the standby, identical to the active one;
 *   3. abort undoes the log in reverse on the RIB and the standby view.
 *
 * rte_fib_add can fail half-way through (tbl8 exhausted after part of the
 * range was written) and leave the table neither before nor after. Any
 * failure on a copy therefore marks it dirty, and a dirty copy is rebuilt
 * from the RIB (freed, created anew, every route added) before it is used
 * again. The active view is never dirty: only a clean standby is published.
 * Two bugs of rte_fib in 22.11 are worked around below (see "Workarounds").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_rib.h>
#include <rte_rib6.h>

#include "fib.h"

#define FIB_LOG(level, fmt, ...) RTE_LOG(level, USER1, "fib: " fmt "\n", ##__VA_ARGS__)

enum {
	F4 = 0, /* family index */
	F6 = 1,
	NFAM = 2,
	LOOKUP_CHUNK = 64, /* addresses per rte_fib lookup call (stack buffer) */
	LOG_MIN = 16,
};

static const uint8_t fam_bytes[NFAM] = {4, 16};
static const uint8_t fam_maxlen[NFAM] = {32, 128};
static const char fam_char[NFAM] = {'4', '6'};

/* What readers see: one copy of each family's table. */
struct view {
	struct rte_fib *t4;
	struct rte_fib6 *t6;
};

/* RIB key. Zero-padded: it is hashed as raw bytes. */
struct rib_key {
	uint8_t addr[16];
	uint8_t plen;
	uint8_t pad[3];
};

/* One change of the open transaction. */
struct op {
	uint8_t addr[16];
	uint32_t nh; /* add: the new next hop; del: the one deleted */
	uint8_t fam;
	uint8_t plen;
	bool del;
};

struct dp_fib {
	/* what the workers read, changed only by a commit or a rebuild */
	struct view *active; /* readers: __atomic_load_n ACQUIRE */
	struct view views[2];
	/* the rest is the main lcore's, on other cache lines */
	uint8_t dirty[2] __rte_cache_aligned; /* per view, a bit per family: rebuild it */
	struct rte_rcu_qsbr *qs;
	struct rte_hash *rib[NFAM];
	uint32_t max_routes[NFAM];
	uint32_t count[NFAM];
	uint32_t tbl8_budget, tbl8_used; /* IPv6, see tbl8_cost() */
	struct dp_fib_stats stats;
	int socket_id;
	bool in_txn;
	struct op *log;
	size_t log_len, log_cap;
	char name[DP_FIB_NAME_MAX + 1];
};

/*
 * The most tbl8 groups an IPv6 route can make rte_fib6 reserve (one per
 * byte below the first 3) and use. Keeping their sum within the trie's
 * num_tbl8 means any set of routes we accepted fits in a new copy, in any
 * order, whatever state DPDK's own count of reserved groups is in.
 */
static inline uint32_t
tbl8_cost(uint8_t plen)
{
	return plen > 24 ? (plen + 7u) / 8 - 3 : 0;
}

static inline unsigned int
standby_idx(const struct dp_fib *fib)
{
	return fib->active == &fib->views[0] ? 1 : 0;
}

static inline uint32_t
addr4(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static void
copy_name(char *buf, size_t len, const struct dp_fib *fib, unsigned int fam, unsigned int v)
{
	snprintf(buf, len, "%s-%c%c", fib->name, fam_char[fam], v == 0 ? 'a' : 'b');
}

/* ---- one copy of one family's table ---- */

static int
copy_create(struct dp_fib *fib, unsigned int v, unsigned int fam)
{
	char name[DP_FIB_NAME_MAX + 8];
	uint32_t max = fib->max_routes[fam];

	copy_name(name, sizeof(name), fib, fam, v);
	if (fam == F4) {
		struct rte_fib_conf conf = {
			.type = RTE_FIB_DIR24_8,
			.default_nh = DP_NH_DROP,
			.max_routes = (int)max,
			.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B,
			/*
			 * A tbl8 per route, and 2 to spare for an install that
			 * checks it has room for two: any max routes fit.
			 */
			.dir24_8.num_tbl8 = max + 2,
		};

		fib->views[v].t4 = rte_fib_create(name, fib->socket_id, &conf);
		return fib->views[v].t4 == NULL ? -rte_errno : 0;
	} else {
		struct rte_fib6_conf conf = {
			.type = RTE_FIB6_TRIE,
			.default_nh = DP_NH_DROP,
			.max_routes = (int)max,
			.trie.nh_sz = RTE_FIB6_TRIE_4B,
			.trie.num_tbl8 = fib->tbl8_budget,
		};

		fib->views[v].t6 = rte_fib6_create(name, fib->socket_id, &conf);
		return fib->views[v].t6 == NULL ? -rte_errno : 0;
	}
}

static void
copy_free(struct dp_fib *fib, unsigned int v, unsigned int fam)
{
	if (fam == F4) {
		rte_fib_free(fib->views[v].t4);
		fib->views[v].t4 = NULL;
	} else {
		rte_fib6_free(fib->views[v].t6);
		fib->views[v].t6 = NULL;
	}
}

/*
 * Workarounds for rte_fib/rte_fib6 in DPDK 22.11 (checked against the
 * 22.11.11 sources; the random-model test finds both within seconds):
 *
 * 1. Wrap-around at the top of the address space. To install prefix P,
 *    modify_fib() (dir24_8.c) and modify_dp() (trie.c) walk P's direct
 *    children; when the last child ends at the top address and starts right
 *    where the previous range ended, the range end wraps to 0 unchecked and
 *    the final install writes P's next hop over the whole table. It takes an
 *    add or delete of a prefix covering 255.255.255.255 (or ff..ff) that has
 *    a more specific route also covering it: 0.0.0.0/0 next to 128.0.0.0/1 or
 *    255.255.255.255/32. So around such a change we lift that chain of
 *    routes out of the copy (deepest first) and put it back (shallowest
 *    first): then P has no child at the top.
 *
 * 2. tbl8 accounting. dir24_8_modify() returns early, without counting the
 *    tbl8 it reserves, when a route > /24 has its parent's next hop; its
 *    delete then decrements the counter anyway, which wraps, and every later
 *    add > /24 in a new /24 fails with -ENOSPC. We add such routes with a
 *    placeholder next hop (kind 7, never valid, so never the parent's) and
 *    then set the real one. trie_modify() never decrements its counter on
 *    delete, so IPv6 tables drift towards -ENOSPC with churn: a failure on
 *    the standby copy is retried once on a copy rebuilt from the RIB, which
 *    starts with an exact count (see txn_apply).
 */
#define NH_PLACEHOLDER (7u << DP_NH_KIND_SHIFT)

struct chain_ent {
	uint8_t addr[16];
	uint32_t nh;
	uint8_t plen;
};

/* Does prefix (addr, plen) cover the top address (all ones)? */
static bool
covers_top(const uint8_t *addr, uint8_t plen)
{
	unsigned int i;

	for (i = 0; i < plen; i++)
		if (!(addr[i / 8] & (0x80u >> (i % 8))))
			return false;
	return true;
}

/* The routes of a copy longer than plen that cover the top, shortest first. */
static unsigned int
top_chain(const struct view *vw, unsigned int fam, uint8_t plen, struct chain_ent *c)
{
	static const uint8_t top[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	unsigned int n = 0, i;
	uint64_t nh;
	uint32_t ip;
	uint8_t d;

	if (fam == F4) {
		struct rte_rib *rib = rte_fib_get_rib(vw->t4);
		struct rte_rib_node *node = rte_rib_lookup(rib, UINT32_MAX);

		for (; node != NULL; node = rte_rib_lookup_parent(node)) {
			rte_rib_get_depth(node, &d);
			if (d <= plen)
				break;
			rte_rib_get_ip(node, &ip);
			rte_rib_get_nh(node, &nh);
			memset(c[n].addr, 0, sizeof(c[n].addr));
			c[n].addr[0] = ip >> 24;
			c[n].addr[1] = ip >> 16;
			c[n].addr[2] = ip >> 8;
			c[n].addr[3] = ip;
			c[n].plen = d;
			c[n].nh = (uint32_t)nh;
			n++;
		}
	} else {
		struct rte_rib6 *rib = rte_fib6_get_rib(vw->t6);
		struct rte_rib6_node *node = rte_rib6_lookup(rib, top);

		for (; node != NULL; node = rte_rib6_lookup_parent(node)) {
			rte_rib6_get_depth(node, &d);
			if (d <= plen)
				break;
			rte_rib6_get_ip(node, c[n].addr);
			rte_rib6_get_nh(node, &nh);
			c[n].plen = d;
			c[n].nh = (uint32_t)nh;
			n++;
		}
	}
	for (i = 0; i < n / 2; i++) {
		struct chain_ent t = c[i];

		c[i] = c[n - 1 - i];
		c[n - 1 - i] = t;
	}
	return n;
}

static int
raw_add(struct view *vw, unsigned int fam, const uint8_t *addr, uint8_t plen, uint32_t nh)
{
	int ret;

	if (fam == F6)
		return rte_fib6_add(vw->t6, addr, plen, nh);
	if (plen > 24) {
		ret = rte_fib_add(vw->t4, addr4(addr), plen, nh | NH_PLACEHOLDER);
		if (ret != 0)
			return ret;
	}
	return rte_fib_add(vw->t4, addr4(addr), plen, nh);
}

static int
raw_del(struct view *vw, unsigned int fam, const uint8_t *addr, uint8_t plen)
{
	if (fam == F4)
		return rte_fib_delete(vw->t4, addr4(addr), plen);
	return rte_fib6_delete(vw->t6, addr, plen);
}

/* Add or delete a route in one copy. A failure may leave it half-changed. */
static int
copy_change(struct view *vw, unsigned int fam, const uint8_t *addr, uint8_t plen, uint32_t nh,
	    bool del)
{
	struct chain_ent chain[129];
	unsigned int n = 0, i;
	int ret;

	if (covers_top(addr, plen))
		n = top_chain(vw, fam, plen, chain);
	for (i = n; i-- > 0;) {
		ret = raw_del(vw, fam, chain[i].addr, chain[i].plen);
		if (ret != 0)
			return ret;
	}
	ret = del ? raw_del(vw, fam, addr, plen) : raw_add(vw, fam, addr, plen, nh);
	if (ret != 0)
		return ret;
	for (i = 0; i < n; i++) {
		ret = raw_add(vw, fam, chain[i].addr, chain[i].plen, chain[i].nh);
		if (ret != 0)
			return ret;
	}
	return 0;
}

static int
copy_apply(struct view *vw, const struct op *o, bool undo)
{
	return copy_change(vw, o->fam, o->addr, o->plen, o->nh, o->del != undo);
}

/* Replace copy (v, fam) with a new one holding the RIB's routes. */
static int
copy_rebuild(struct dp_fib *fib, unsigned int v, unsigned int fam)
{
	const void *key;
	void *data;
	uint32_t next = 0;
	int ret;

	RTE_ASSERT(&fib->views[v] != fib->active);
	copy_free(fib, v, fam);
	ret = copy_create(fib, v, fam);
	while (ret == 0 && rte_hash_iterate(fib->rib[fam], &key, &data, &next) >= 0) {
		const struct rib_key *k = key;

		ret = copy_change(&fib->views[v], fam, k->addr, k->plen, (uint32_t)(uintptr_t)data,
				  false);
	}
	if (ret != 0) {
		FIB_LOG(ERR, "%s: rebuilding IPv%c copy %u: %s", fib->name, fam_char[fam], v,
			strerror(-ret));
		return ret;
	}
	fib->dirty[v] &= ~(1u << fam);
	fib->stats.rebuilds++;
	return 0;
}

/* Rebuild the standby copies marked dirty. */
static int
standby_clean(struct dp_fib *fib)
{
	unsigned int v = standby_idx(fib);
	unsigned int fam;
	int ret;

	for (fam = 0; fam < NFAM; fam++) {
		if (!(fib->dirty[v] & (1u << fam)))
			continue;
		ret = copy_rebuild(fib, v, fam);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* ---- create / free ---- */

static int
rib_create(struct dp_fib *fib, unsigned int fam)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(fib->max_routes[fam], 8u),
		.key_len = sizeof(struct rib_key),
		.hash_func = rte_jhash,
		.hash_func_init_val = 0,
		.socket_id = fib->socket_id,
		/* the extendable table guarantees room for every entry */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "%s-r%c", fib->name, fam_char[fam]);
	fib->rib[fam] = rte_hash_create(&hp);
	return fib->rib[fam] == NULL ? -rte_errno : 0;
}

void
dp_fib_free(struct dp_fib *fib)
{
	unsigned int fam, v;

	if (fib == NULL)
		return;
	for (fam = 0; fam < NFAM; fam++) {
		for (v = 0; v < 2; v++)
			copy_free(fib, v, fam);
		rte_hash_free(fib->rib[fam]);
	}
	free(fib->log);
	rte_free(fib);
}

struct dp_fib *
dp_fib_create(const char *name, uint32_t max_routes4, uint32_t max_routes6, int socket_id,
	      struct rte_rcu_qsbr *qs)
{
	struct dp_fib *fib;
	unsigned int fam, v;
	int ret;

	if (name == NULL || name[0] == '\0' || (max_routes4 == 0 && max_routes6 == 0) ||
	    max_routes4 > INT32_MAX / 2 || max_routes6 > INT32_MAX / 2 / DP_FIB6_TBL8_PER_ROUTE) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(name) > DP_FIB_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	/* every FIB has at least one of these: fail quietly, before DPDK logs */
	for (fam = 0; fam < NFAM; fam++) {
		char hname[RTE_HASH_NAMESIZE];

		snprintf(hname, sizeof(hname), "%s-r%c", name, fam_char[fam]);
		if (rte_hash_find_existing(hname) != NULL) {
			rte_errno = EEXIST;
			return NULL;
		}
	}
	fib = rte_zmalloc_socket("dp_fib", sizeof(*fib), RTE_CACHE_LINE_SIZE, socket_id);
	if (fib == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	strcpy(fib->name, name);
	fib->socket_id = socket_id;
	fib->qs = qs;
	fib->max_routes[F4] = max_routes4;
	fib->max_routes[F6] = max_routes6;
	fib->tbl8_budget = max_routes6 * DP_FIB6_TBL8_PER_ROUTE + DP_FIB6_TBL8_SPARE;
	fib->active = &fib->views[0];

	for (fam = 0; fam < NFAM; fam++) {
		if (fib->max_routes[fam] == 0)
			continue;
		ret = rib_create(fib, fam);
		for (v = 0; ret == 0 && v < 2; v++)
			ret = copy_create(fib, v, fam);
		if (ret != 0)
			goto err_free;
	}
	return fib;

err_free:
	dp_fib_free(fib);
	rte_errno = -ret;
	return NULL;
}

/* ---- validation ---- */

static int
fam_of(const struct dp_fib *fib, int family, unsigned int *fam)
{
	if (family == AF_INET)
		*fam = F4;
	else if (family == AF_INET6)
		*fam = F6;
	else
		return -EAFNOSUPPORT;
	return fib->max_routes[*fam] == 0 ? -EAFNOSUPPORT : 0;
}

/* Check the prefix and build its RIB key. */
static int
prefix_check(const struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen,
	     unsigned int *fam, struct rib_key *k)
{
	unsigned int i, nbytes;
	int ret;

	ret = fam_of(fib, family, fam);
	if (ret != 0)
		return ret;
	if (addr == NULL || plen > fam_maxlen[*fam])
		return -EINVAL;
	nbytes = fam_bytes[*fam];
	for (i = 0; i < nbytes; i++) {
		unsigned int bits = plen > i * 8 ? plen - i * 8 : 0;
		uint8_t host = bits >= 8 ? 0 : (uint8_t)(0xffu >> bits);

		if (addr[i] & host)
			return -EINVAL;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, addr, nbytes);
	k->plen = plen;
	return 0;
}

static int
rib_find(const struct dp_fib *fib, unsigned int fam, const struct rib_key *k, uint32_t *nh)
{
	void *data;
	int ret;

	ret = rte_hash_lookup_data(fib->rib[fam], k, &data);
	if (ret < 0)
		return ret;
	*nh = (uint32_t)(uintptr_t)data;
	return 0;
}

/* ---- transactions ---- */

int
dp_fib_begin(struct dp_fib *fib)
{
	if (fib->in_txn)
		return -EBUSY;
	fib->in_txn = true;
	fib->log_len = 0;
	return 0;
}

static int
log_reserve(struct dp_fib *fib)
{
	struct op *n;
	size_t cap;

	if (fib->log_len < fib->log_cap)
		return 0;
	cap = fib->log_cap < LOG_MIN ? LOG_MIN : fib->log_cap * 2;
	n = realloc(fib->log, cap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	fib->log = n;
	fib->log_cap = cap;
	return 0;
}

/* Add (undo: delete) or delete (undo: add) the op's key in the RIB. */
static int
rib_apply(struct dp_fib *fib, const struct op *o, bool undo)
{
	struct rib_key k;
	int ret;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, o->addr, sizeof(k.addr));
	k.plen = o->plen;
	if (o->del != undo) {
		if (rte_hash_del_key(fib->rib[o->fam], &k) < 0)
			return -EIO;
		fib->count[o->fam]--;
		if (o->fam == F6)
			fib->tbl8_used -= tbl8_cost(o->plen);
	} else {
		/* cannot fail below max_routes: the extendable table has room */
		ret = rte_hash_add_key_data(fib->rib[o->fam], &k, (void *)(uintptr_t)o->nh);
		if (ret != 0)
			return ret;
		fib->count[o->fam]++;
		if (o->fam == F6)
			fib->tbl8_used += tbl8_cost(o->plen);
	}
	return 0;
}

/*
 * Apply one checked change to the RIB and the standby view, and log it. If
 * the standby copy fails it, the copy may be half-changed (rte_fib does not
 * roll back) and is rebuilt from the RIB; since the failure may also be
 * DPDK's tbl8 count gone astray (see above), the change is tried once more
 * on the new copy before it is refused.
 */
static int
txn_apply(struct dp_fib *fib, unsigned int fam, const struct rib_key *k, uint32_t nh, bool del)
{
	unsigned int v = standby_idx(fib), attempt;
	uint8_t bit = (uint8_t)(1u << fam);
	struct op *o;
	int ret;

	ret = log_reserve(fib);
	if (ret != 0)
		return ret;
	o = &fib->log[fib->log_len];
	memcpy(o->addr, k->addr, sizeof(o->addr));
	o->nh = nh;
	o->fam = (uint8_t)fam;
	o->plen = k->plen;
	o->del = del;

	for (attempt = 0;; attempt++) {
		/*
		 * An add must be tried on a clean copy; a delete can wait for
		 * the rebuild at commit (it can only make the table smaller).
		 */
		ret = standby_clean(fib);
		if (ret != 0 && !del)
			return ret;
		ret = rib_apply(fib, o, false);
		if (ret != 0)
			return ret;
		if (fib->dirty[v] & bit)
			break;
		ret = copy_apply(&fib->views[v], o, false);
		if (ret == 0)
			break;
		rib_apply(fib, o, true);
		fib->dirty[v] |= bit;
		if (attempt == 1)
			return ret == -ENOENT || ret == -EEXIST ? -EIO : ret;
		fib->stats.retries++;
	}
	fib->log_len++;
	return 0;
}

/* A change outside begin/commit is a transaction of its own. */
static int
txn_single(struct dp_fib *fib, int ret)
{
	if (ret == 0)
		ret = dp_fib_commit(fib);
	if (ret != 0)
		dp_fib_abort(fib);
	return ret;
}

int
dp_fib_add(struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen, uint32_t nh)
{
	struct rib_key k;
	unsigned int fam;
	uint32_t old;
	bool implicit = !fib->in_txn;
	int ret;

	ret = prefix_check(fib, family, addr, plen, &fam, &k);
	if (ret != 0)
		return ret;
	if (dp_nh_kind(nh) >= DP_NH_KIND_COUNT || (nh >> 31) != 0)
		return -EINVAL;
	if (rib_find(fib, fam, &k, &old) == 0)
		return -EEXIST;
	if (fib->count[fam] >= fib->max_routes[fam] ||
	    (fam == F6 && fib->tbl8_used + tbl8_cost(plen) > fib->tbl8_budget))
		return -ENOSPC;
	if (implicit)
		dp_fib_begin(fib);
	ret = txn_apply(fib, fam, &k, nh, false);
	return implicit ? txn_single(fib, ret) : ret;
}

int
dp_fib_del(struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen)
{
	struct rib_key k;
	unsigned int fam;
	uint32_t old;
	bool implicit = !fib->in_txn;
	int ret;

	ret = prefix_check(fib, family, addr, plen, &fam, &k);
	if (ret != 0)
		return ret;
	if (rib_find(fib, fam, &k, &old) != 0)
		return -ENOENT;
	if (implicit)
		dp_fib_begin(fib);
	ret = txn_apply(fib, fam, &k, old, true);
	return implicit ? txn_single(fib, ret) : ret;
}

void
dp_fib_abort(struct dp_fib *fib)
{
	unsigned int v = standby_idx(fib);
	size_t i;

	if (!fib->in_txn)
		return;
	for (i = fib->log_len; i-- > 0;) {
		const struct op *o = &fib->log[i];

		if (rib_apply(fib, o, true) != 0)
			FIB_LOG(ERR, "%s: abort: RIB undo failed", fib->name);
		if (!(fib->dirty[v] & (1u << o->fam)) && copy_apply(&fib->views[v], o, true) != 0)
			fib->dirty[v] |= (uint8_t)(1u << o->fam);
	}
	fib->log_len = 0;
	fib->in_txn = false;
	fib->stats.aborts++;
	/* failure leaves the copy dirty; the next change retries */
	if (standby_clean(fib) != 0)
		FIB_LOG(WARNING, "%s: standby copy left dirty after abort", fib->name);
}

int
dp_fib_commit(struct dp_fib *fib)
{
	unsigned int v = standby_idx(fib);
	size_t i;
	int ret;

	if (!fib->in_txn)
		return -EINVAL;
	if (fib->log_len == 0) {
		fib->in_txn = false;
		return 0;
	}
	ret = standby_clean(fib);
	if (ret != 0)
		return ret;

	__atomic_store_n(&fib->active, &fib->views[v], __ATOMIC_RELEASE);
	if (fib->qs != NULL)
		rte_rcu_qsbr_synchronize(fib->qs, RTE_QSBR_THRID_INVALID);

	/* no reader uses the old view any more: bring it up to date */
	v = 1 - v;
	for (i = 0; i < fib->log_len; i++) {
		const struct op *o = &fib->log[i];

		if (fib->dirty[v] & (1u << o->fam))
			continue;
		if (copy_apply(&fib->views[v], o, false) != 0)
			fib->dirty[v] |= 1u << o->fam;
	}
	fib->log_len = 0;
	fib->in_txn = false;
	fib->stats.commits++;
	/* the commit stands; a copy left dirty is rebuilt on next use */
	if (standby_clean(fib) != 0)
		FIB_LOG(WARNING, "%s: standby copy left dirty after commit", fib->name);
	return 0;
}

/* ---- queries (main lcore) ---- */

int
dp_fib_get(const struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen, uint32_t *nh)
{
	struct rib_key k;
	unsigned int fam;
	int ret;

	ret = prefix_check(fib, family, addr, plen, &fam, &k);
	if (ret != 0)
		return ret;
	return rib_find(fib, fam, &k, nh) == 0 ? 0 : -ENOENT;
}

int
dp_fib_walk(const struct dp_fib *fib, dp_fib_walk_cb cb, void *arg)
{
	static const int families[NFAM] = {AF_INET, AF_INET6};
	unsigned int fam;
	const void *key;
	void *data;
	uint32_t next;
	int ret;

	for (fam = 0; fam < NFAM; fam++) {
		if (fib->rib[fam] == NULL)
			continue;
		next = 0;
		while (rte_hash_iterate(fib->rib[fam], &key, &data, &next) >= 0) {
			const struct rib_key *k = key;

			ret = cb(families[fam], k->addr, k->plen, (uint32_t)(uintptr_t)data, arg);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

void
dp_fib_stats_get(const struct dp_fib *fib, struct dp_fib_stats *st)
{
	*st = fib->stats;
	st->tbl8_used6 = fib->tbl8_used;
	st->tbl8_budget6 = fib->tbl8_budget;
}

unsigned int
dp_fib_count(const struct dp_fib *fib, int family)
{
	unsigned int fam;

	if (fam_of(fib, family, &fam) != 0)
		return 0;
	return fib->count[fam];
}

/* ---- self-check ---- */

/* Look up one address in copy (v, fam). */
static uint32_t
copy_lookup(struct dp_fib *fib, unsigned int v, unsigned int fam, const uint8_t *addr)
{
	uint64_t nh = UINT64_MAX;

	if (fam == F4) {
		uint32_t ip = addr4(addr);

		rte_fib_lookup_bulk(fib->views[v].t4, &ip, &nh, 1);
	} else {
		uint8_t ip[1][RTE_FIB6_IPV6_ADDR_SIZE];

		memcpy(ip[0], addr, 16);
		rte_fib6_lookup_bulk(fib->views[v].t6, ip, &nh, 1);
	}
	return (uint32_t)nh;
}

/* Is this route of a copy's own RIB in our RIB, with the same next hop? */
static bool
route_known(const struct dp_fib *fib, unsigned int fam, const uint8_t *addr, uint8_t plen,
	    uint64_t cnh)
{
	struct rib_key k;
	uint32_t nh;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, addr, fam_bytes[fam]);
	k.plen = plen;
	return rib_find(fib, fam, &k, &nh) == 0 && nh == cnh;
}

/* Copy (v, fam) holds exactly the routes of our RIB. */
static int
verify_copy_routes(struct dp_fib *fib, unsigned int v, unsigned int fam)
{
	static const uint8_t zero[16];
	uint8_t addr[16], plen;
	uint32_t seen = 0, ip;
	uint64_t cnh;

	/* rte_rib_get_nxt returns only prefixes longer than the one given */
	if (fam == F4) {
		struct rte_rib *rib = rte_fib_get_rib(fib->views[v].t4);
		struct rte_rib_node *n = rte_rib_lookup_exact(rib, 0, 0);

		if (n != NULL) {
			rte_rib_get_nh(n, &cnh);
			if (!route_known(fib, fam, zero, 0, cnh))
				return -EIO;
			seen++;
		}
		for (n = rte_rib_get_nxt(rib, 0, 0, NULL, RTE_RIB_GET_NXT_ALL); n != NULL;
		     n = rte_rib_get_nxt(rib, 0, 0, n, RTE_RIB_GET_NXT_ALL)) {
			rte_rib_get_ip(n, &ip);
			rte_rib_get_depth(n, &plen);
			rte_rib_get_nh(n, &cnh);
			addr[0] = ip >> 24;
			addr[1] = ip >> 16;
			addr[2] = ip >> 8;
			addr[3] = ip;
			if (!route_known(fib, fam, addr, plen, cnh))
				return -EIO;
			seen++;
		}
	} else {
		struct rte_rib6 *rib = rte_fib6_get_rib(fib->views[v].t6);
		struct rte_rib6_node *n = rte_rib6_lookup_exact(rib, zero, 0);

		if (n != NULL) {
			rte_rib6_get_nh(n, &cnh);
			if (!route_known(fib, fam, zero, 0, cnh))
				return -EIO;
			seen++;
		}
		for (n = rte_rib6_get_nxt(rib, zero, 0, NULL, RTE_RIB6_GET_NXT_ALL); n != NULL;
		     n = rte_rib6_get_nxt(rib, zero, 0, n, RTE_RIB6_GET_NXT_ALL)) {
			rte_rib6_get_ip(n, addr);
			rte_rib6_get_depth(n, &plen);
			rte_rib6_get_nh(n, &cnh);
			if (!route_known(fib, fam, addr, plen, cnh))
				return -EIO;
			seen++;
		}
	}
	return seen == fib->count[fam] ? 0 : -EIO;
}

int
dp_fib_verify(struct dp_fib *fib)
{
	unsigned int fam, v, i;
	const void *key;
	void *data;
	uint32_t next;
	int ret;

	if (fib->in_txn)
		return -EBUSY;
	ret = standby_clean(fib);
	if (ret != 0)
		return ret;
	if (fib->dirty[0] | fib->dirty[1])
		return -EIO; /* the active view is dirty */
	for (fam = 0; fam < NFAM; fam++) {
		if (fib->rib[fam] == NULL)
			continue;
		if ((uint32_t)rte_hash_count(fib->rib[fam]) != fib->count[fam])
			return -EIO;
		for (v = 0; v < 2; v++) {
			ret = verify_copy_routes(fib, v, fam);
			if (ret != 0)
				return ret;
		}
		/* the two copies answer alike at both ends of every route */
		next = 0;
		while (rte_hash_iterate(fib->rib[fam], &key, &data, &next) >= 0) {
			const struct rib_key *k = key;
			uint8_t last[16];

			memcpy(last, k->addr, sizeof(last));
			for (i = k->plen; i < fam_maxlen[fam]; i++)
				last[i / 8] |= 0x80u >> (i % 8);
			if (copy_lookup(fib, 0, fam, k->addr) !=
				    copy_lookup(fib, 1, fam, k->addr) ||
			    copy_lookup(fib, 0, fam, last) != copy_lookup(fib, 1, fam, last))
				return -EIO;
		}
	}
	return 0;
}

/* ---- fast path ---- */

void
dp_fib_lookup4_bulk(const struct dp_fib *fib, const uint32_t *ips_host_order, uint32_t *nh,
		    unsigned int n)
{
	const struct view *vw = __atomic_load_n(&fib->active, __ATOMIC_ACQUIRE);
	uint64_t tmp[LOOKUP_CHUNK];
	unsigned int i, m;

	if (vw->t4 == NULL) {
		memset(nh, 0, n * sizeof(*nh));
		return;
	}
	for (; n > 0; n -= m, ips_host_order += m, nh += m) {
		m = RTE_MIN(n, (unsigned int)LOOKUP_CHUNK);
		/* rte_fib_lookup_bulk does not write ips; its prototype lacks const */
		rte_fib_lookup_bulk(vw->t4, (uint32_t *)(uintptr_t)ips_host_order, tmp, (int)m);
		for (i = 0; i < m; i++)
			nh[i] = (uint32_t)tmp[i];
	}
}

void
dp_fib_lookup6_bulk(const struct dp_fib *fib, const uint8_t (*ips)[16], uint32_t *nh,
		    unsigned int n)
{
	const struct view *vw = __atomic_load_n(&fib->active, __ATOMIC_ACQUIRE);
	uint64_t tmp[LOOKUP_CHUNK];
	unsigned int i, m;

	if (vw->t6 == NULL) {
		memset(nh, 0, n * sizeof(*nh));
		return;
	}
	for (; n > 0; n -= m, ips += m, nh += m) {
		m = RTE_MIN(n, (unsigned int)LOOKUP_CHUNK);
		rte_fib6_lookup_bulk(vw->t6, (uint8_t(*)[RTE_FIB6_IPV6_ADDR_SIZE])(uintptr_t)ips,
				     tmp, (int)m);
		for (i = 0; i < m; i++)
			nh[i] = (uint32_t)tmp[i];
	}
}
