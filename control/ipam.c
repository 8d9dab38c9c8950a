/*
 * ipam.c — 44net address management over the store (see ipam.h for the
 * rules): prefix arithmetic, the AMPRNet check, overlap search, pools,
 * lowest-free allocation (high-water mark + free list), own prefixes.
 * Main (poll loop) thread; every function here is pure over the store —
 * the only state is in the database, so a rollback undoes everything.
 *
 * Addresses are handled as unsigned 128-bit integers (IPv4 in the low 32
 * bits). The rows of the addresses table never overlap one another (this
 * file checks every insert), which lets a search for a free block look
 * only at the one row starting below its candidate and at the rows
 * starting after it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "ipam.h"
#include "store.h"

typedef unsigned __int128 u128;

static unsigned
width(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool
family_valid(int family)
{
	return family == AF_INET || family == AF_INET6;
}

static u128
to_u128(int family, const uint8_t addr[16])
{
	unsigned i, n = width(family) / 8;
	u128 v = 0;

	for (i = 0; i < n; i++)
		v = v << 8 | addr[i];
	return v;
}

static void
from_u128(int family, u128 v, uint8_t addr[16])
{
	unsigned i = width(family) / 8;

	memset(addr, 0, 16);
	while (i-- > 0) {
		addr[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* The host part of a prefix of length plen. */
static u128
host_mask(int family, unsigned plen)
{
	unsigned h = width(family) - plen;

	return h >= 128 ? ~(u128)0 : ((u128)1 << h) - 1;
}

static u128
first_of(const struct ctl_ipam_prefix *p)
{
	return to_u128(p->family, p->addr);
}

static u128
last_of(const struct ctl_ipam_prefix *p)
{
	return first_of(p) | host_mask(p->family, p->plen);
}

static void
make_prefix(struct ctl_ipam_prefix *p, int family, u128 addr, unsigned plen)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	from_u128(family, addr & ~host_mask(family, plen), p->addr);
	p->plen = (uint8_t)plen;
}

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

/* ---- prefixes ----------------------------------------------------------------- */

int
ctl_ipam_prefix_parse(const char *s, struct ctl_ipam_prefix *p, char *err, size_t errlen)
{
	return ctl_prefix_parse_text(s, p, err, errlen);
}

int
ctl_ipam_prefix_format(const struct ctl_ipam_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!family_valid(p->family) || p->plen > width(p->family))
		return -EINVAL;
	if (inet_ntop(p->family, p->addr, a, sizeof(a)) == NULL)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%u", a, p->plen);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool
ctl_ipam_prefix_contains(const struct ctl_ipam_prefix *outer, const struct ctl_ipam_prefix *inner)
{
	if (outer->family != inner->family || !family_valid(outer->family) ||
	    outer->plen > inner->plen)
		return false;
	return (first_of(inner) & ~host_mask(outer->family, outer->plen)) ==
	       (first_of(outer) & ~host_mask(outer->family, outer->plen));
}

bool
ctl_ipam_prefix_equal(const struct ctl_ipam_prefix *a, const struct ctl_ipam_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

bool
ctl_ipam_prefix_overlap(const struct ctl_ipam_prefix *a, const struct ctl_ipam_prefix *b)
{
	return ctl_ipam_prefix_contains(a, b) || ctl_ipam_prefix_contains(b, a);
}

/* ---- AMPRNet ------------------------------------------------------------------ */

static const struct ctl_ipam_prefix amprnet[] = {
	{.family = AF_INET, .addr = {44, 0, 0, 0}, .plen = 9},
	{.family = AF_INET, .addr = {44, 128, 0, 0}, .plen = 10},
	{.family = AF_INET6, .addr = {0x20, 0x00}, .plen = 3},
};

int
ctl_ipam_check_amprnet(const struct ctl_ipam_prefix *p, char *err, size_t errlen)
{
	char text[CTL_PREFIX_STRLEN];
	size_t i;

	if (!family_valid(p->family) || p->plen > width(p->family) ||
	    (first_of(p) & host_mask(p->family, p->plen)) != 0) {
		seterr(err, errlen, "not a valid prefix");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(amprnet) / sizeof(amprnet[0]); i++)
		if (ctl_ipam_prefix_contains(&amprnet[i], p))
			return 0;
	ctl_ipam_prefix_format(p, text, sizeof(text));
	if (p->family == AF_INET)
		seterr(err, errlen, "%s is not AMPRNet (44.0.0.0/9 or 44.128.0.0/10)", text);
	else
		seterr(err, errlen, "%s is not global unicast IPv6 (2000::/3)", text);
	return -EINVAL;
}

/* ---- overlaps -------------------------------------------------------------- */

static void
describe_address(const struct ctl_address *a, char *err, size_t errlen)
{
	char text[CTL_PREFIX_STRLEN];

	ctl_ipam_prefix_format(&a->prefix, text, sizeof(text));
	if (a->tunnel_id == 0)
		seterr(err, errlen, "%s (reserved in pool %lld)", text, (long long)a->pool_id);
	else if (a->pool_id != 0)
		seterr(err, errlen, "%s (allocated to tunnel %lld)", text, (long long)a->tunnel_id);
	else
		seterr(err, errlen, "%s (assigned to tunnel %lld)", text, (long long)a->tunnel_id);
}

static int
first_row(const struct ctl_address *a, void *arg)
{
	*(struct ctl_address *)arg = *a;
	return 1;
}

/* The first addresses row overlapping p: 0 none, -EEXIST (err set), -errno. */
static int
address_conflict(struct ctl_store *s, const struct ctl_ipam_prefix *p, char *err, size_t errlen)
{
	struct ctl_ipam_prefix q;
	struct ctl_address a;
	uint8_t lo[16], hi[16];
	unsigned len;
	int ret;

	/* rows that contain p (or equal it): one exact lookup per length */
	for (len = 0; len <= p->plen; len++) {
		make_prefix(&q, p->family, first_of(p), len);
		ret = ctl_store_address_get_by_prefix(s, &q, &a);
		if (ret == 0) {
			describe_address(&a, err, errlen);
			return -EEXIST;
		}
		if (ret != -ENOENT)
			return ret;
	}
	/* rows that start inside p */
	from_u128(p->family, first_of(p), lo);
	from_u128(p->family, last_of(p), hi);
	ret = ctl_store_address_foreach_range(s, p->family, lo, hi, first_row, &a);
	if (ret == 1) {
		describe_address(&a, err, errlen);
		return -EEXIST;
	}
	return ret;
}

struct pool_search {
	const struct ctl_ipam_prefix *p;
	struct ctl_pool found;
};

static int
pool_overlaps(const struct ctl_pool *pool, void *arg)
{
	struct pool_search *ps = arg;

	if (!ctl_ipam_prefix_overlap(&pool->prefix, ps->p))
		return 0;
	ps->found = *pool;
	return 1;
}

int
ctl_ipam_conflict(struct ctl_store *s, const struct ctl_ipam_prefix *p, char *err, size_t errlen)
{
	struct pool_search ps = {.p = p};
	char text[CTL_PREFIX_STRLEN];
	int ret;

	if (!family_valid(p->family) || p->plen > width(p->family))
		return -EINVAL;
	ret = ctl_store_pool_foreach(s, pool_overlaps, &ps);
	if (ret == 1) {
		ctl_ipam_prefix_format(&ps.found.prefix, text, sizeof(text));
		seterr(err, errlen, "%s (pool %s)", text, ps.found.name);
		return -EEXIST;
	}
	if (ret != 0)
		return ret;
	return address_conflict(s, p, err, errlen);
}

/* ---- pools -------------------------------------------------------------------- */

/* Add reservation r to pool: inside it, overlapping nothing. */
static int
add_reservation(struct ctl_store *s, const struct ctl_pool *pool, const struct ctl_ipam_prefix *r,
		char *err, size_t errlen)
{
	char text[CTL_PREFIX_STRLEN], why[160];
	struct ctl_address a;
	int ret;

	if (ctl_ipam_prefix_format(r, text, sizeof(text)) != 0 ||
	    !ctl_ipam_prefix_contains(&pool->prefix, r)) {
		seterr(err, errlen, "pool %s: reserved %s is not inside the pool", pool->name,
		       text);
		return -EINVAL;
	}
	ret = address_conflict(s, r, why, sizeof(why));
	if (ret == -EEXIST)
		seterr(err, errlen, "pool %s: reserved %s overlaps %s", pool->name, text, why);
	if (ret != 0)
		return ret;
	memset(&a, 0, sizeof(a));
	a.pool_id = pool->id;
	a.prefix = *r;
	return ctl_store_address_insert(s, &a);
}

static int
pool_check(const struct ctl_pool *pool, char *err, size_t errlen)
{
	int ret;

	if (!ctl_store_name_valid(pool->name)) {
		seterr(err, errlen, "bad pool name");
		return -EINVAL;
	}
	if ((ret = ctl_ipam_check_amprnet(&pool->prefix, err, errlen)) != 0)
		return ret;
	if (pool->alloc_len < pool->prefix.plen || pool->alloc_len > width(pool->prefix.family)) {
		seterr(err, errlen, "pool %s: alloc_len /%u must be between /%u and /%u",
		       pool->name, pool->alloc_len, pool->prefix.plen, width(pool->prefix.family));
		return -EINVAL;
	}
	return 0;
}

int
ctl_ipam_pool_add(struct ctl_store *s, struct ctl_pool *pool,
		  const struct ctl_ipam_prefix *reserved, size_t n_reserved, char *err,
		  size_t errlen)
{
	char text[CTL_PREFIX_STRLEN], why[160];
	size_t i;
	int ret;

	if ((ret = pool_check(pool, err, errlen)) != 0)
		return ret;
	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	ret = ctl_ipam_conflict(s, &pool->prefix, why, sizeof(why));
	if (ret == -EEXIST) {
		ctl_ipam_prefix_format(&pool->prefix, text, sizeof(text));
		seterr(err, errlen, "pool %s: %s overlaps %s", pool->name, text, why);
	}
	if (ret != 0)
		goto out;
	ret = ctl_store_pool_insert(s, pool);
	if (ret == -EEXIST)
		seterr(err, errlen, "a pool named %s or with this prefix exists", pool->name);
	else if (ret == -ENOENT)
		seterr(err, errlen, "pool %s: no interface %s", pool->name, pool->interface);
	for (i = 0; ret == 0 && i < n_reserved; i++)
		ret = add_reservation(s, pool, &reserved[i], err, errlen);
out:
	return ctl_store_savepoint_end(s, ret);
}

/* The reservations of a pool, as the store has them. */
struct resv_rows {
	struct ctl_address *row;
	size_t n, cap;
};

static int
resv_collect(const struct ctl_address *a, void *arg)
{
	struct resv_rows *r = arg;

	if (a->tunnel_id != 0)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct ctl_address *row = realloc(r->row, cap * sizeof(*row));

		if (row == NULL)
			return -ENOMEM;
		r->row = row;
		r->cap = cap;
	}
	r->row[r->n++] = *a;
	return 0;
}

static bool
prefix_in(const struct ctl_ipam_prefix *p, const struct ctl_ipam_prefix *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ctl_ipam_prefix_equal(p, &list[i]))
			return true;
	return false;
}

/*
 * Make the stored pool of that name what the config says. The mark comes
 * down to a dropped reservation: the allocator's walk from the mark finds
 * the blocks it frees (free-list entries it passes are checked when taken).
 */
static int
pool_reconcile(struct ctl_store *s, struct ctl_pool *pool, const struct ctl_pool *old,
	       const struct ctl_ipam_prefix *reserved, size_t n_reserved, char *err, size_t errlen)
{
	int family = pool->prefix.family;
	u128 mask = host_mask(family, pool->alloc_len), mark, b;
	struct resv_rows have = {0};
	size_t i;
	int ret;

	pool->id = old->id;
	memcpy(pool->high_water, old->high_water, sizeof(pool->high_water));
	if (strcmp(pool->interface, old->interface) != 0) {
		ret = ctl_store_pool_set_interface(s, pool->id, pool->interface);
		if (ret == -ENOENT)
			seterr(err, errlen, "pool %s: no interface %s", pool->name,
			       pool->interface);
		if (ret != 0)
			return ret;
	}
	ret = ctl_store_address_foreach_pool(s, pool->id, resv_collect, &have);
	mark = to_u128(family, pool->high_water);
	for (i = 0; ret == 0 && i < have.n; i++) {
		if (prefix_in(&have.row[i].prefix, reserved, n_reserved))
			continue;
		ret = ctl_store_address_delete(s, have.row[i].id);
		b = first_of(&have.row[i].prefix) & ~mask;
		if (ret == 0 && b < mark) {
			mark = b;
			from_u128(family, mark, pool->high_water);
			ret = ctl_store_pool_set_high_water(s, pool->id, pool->high_water);
		}
	}
	for (i = 0; ret == 0 && i < n_reserved; i++) {
		size_t j;
		bool present = false;

		for (j = 0; j < have.n; j++)
			present |= ctl_ipam_prefix_equal(&have.row[j].prefix, &reserved[i]);
		if (!present)
			ret = add_reservation(s, pool, &reserved[i], err, errlen);
	}
	free(have.row);
	return ret;
}

int
ctl_ipam_pool_sync(struct ctl_store *s, struct ctl_pool *pool,
		   const struct ctl_ipam_prefix *reserved, size_t n_reserved, char *err,
		   size_t errlen)
{
	char was[CTL_PREFIX_STRLEN], now[CTL_PREFIX_STRLEN];
	uint64_t allocated, resv;
	struct ctl_pool old;
	int ret;

	if ((ret = pool_check(pool, err, errlen)) != 0)
		return ret;
	ret = ctl_store_pool_get_by_name(s, pool->name, &old);
	if (ret == -ENOENT)
		return ctl_ipam_pool_add(s, pool, reserved, n_reserved, err, errlen);
	if (ret != 0)
		return ret;
	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	if (ctl_ipam_prefix_equal(&old.prefix, &pool->prefix) && old.alloc_len == pool->alloc_len) {
		ret = pool_reconcile(s, pool, &old, reserved, n_reserved, err, errlen);
		goto out;
	}
	/* a new prefix or block length: only while nothing is allocated */
	ret = ctl_store_pool_usage(s, old.id, &allocated, &resv);
	if (ret == 0 && allocated > 0) {
		ctl_ipam_prefix_format(&old.prefix, was, sizeof(was));
		ctl_ipam_prefix_format(&pool->prefix, now, sizeof(now));
		seterr(err, errlen,
		       "pool %s: %s/%u changed to %s/%u but %llu blocks are allocated from it",
		       pool->name, was, old.alloc_len, now, pool->alloc_len,
		       (unsigned long long)allocated);
		ret = -EBUSY;
	}
	if (ret == 0)
		ret = ctl_store_pool_delete(s, old.id);
	if (ret == 0)
		ret = ctl_ipam_pool_add(s, pool, reserved, n_reserved, err, errlen);
out:
	return ctl_store_savepoint_end(s, ret);
}

struct pool_pick {
	const char *ifname;
	int family;
	struct ctl_pool any; /* the first pool serving every interface */
	bool have_any;
	struct ctl_pool *out;
};

static int
pool_pick(const struct ctl_pool *pool, void *arg)
{
	struct pool_pick *pp = arg;

	if (pool->prefix.family != pp->family)
		return 0;
	if (pp->ifname != NULL && strcmp(pool->interface, pp->ifname) == 0) {
		*pp->out = *pool;
		return 1;
	}
	if (pool->interface[0] == '\0' && !pp->have_any) {
		pp->any = *pool;
		pp->have_any = true;
	}
	return 0;
}

int
ctl_ipam_pool_for(struct ctl_store *s, const char *ifname, int family, struct ctl_pool *pool)
{
	struct pool_pick pp = {.ifname = ifname, .family = family, .out = pool};
	int ret;

	ret = ctl_store_pool_foreach(s, pool_pick, &pp);
	if (ret == 1)
		return 0;
	if (ret != 0)
		return ret;
	if (!pp.have_any)
		return -ENOENT;
	*pool = pp.any;
	return 0;
}

/* ---- allocation ----------------------------------------------------------------- */

/*
 * The search for the lowest free block in [c, last] (c block-aligned):
 * rows come by address; a row that starts past the candidate block leaves
 * it free, one that starts inside it moves the candidate past the row.
 */
struct gap_search {
	u128 c;		/* candidate block start */
	u128 blockmask; /* host part of a block */
	u128 last;	/* the last address searched */
	bool full;
};

static void
gap_skip(struct gap_search *g, u128 row_last)
{
	if (row_last >= g->last) {
		g->full = true;
		return;
	}
	if (row_last >= g->c)
		g->c = (row_last + 1 + g->blockmask) & ~g->blockmask;
}

static int
gap_step(const struct ctl_address *a, void *arg)
{
	struct gap_search *g = arg;

	if (first_of(&a->prefix) > g->c + g->blockmask)
		return 1; /* g->c is free */
	gap_skip(g, last_of(&a->prefix));
	return g->full ? 1 : 0;
}

/* The lowest block in [from, last] that no row overlaps: 0, -ENOSPC, -errno. */
static int
find_gap(struct ctl_store *s, int family, u128 from, u128 last, u128 blockmask, u128 *block)
{
	struct gap_search g = {.c = from & ~blockmask, .blockmask = blockmask, .last = last};
	struct ctl_address a;
	uint8_t lo[16], hi[16];
	int ret;

	if (g.c > last)
		return -ENOSPC;
	/* a row starting below the candidate may still cover it */
	from_u128(family, g.c, lo);
	ret = ctl_store_address_last_before(s, family, lo, &a);
	if (ret == 0)
		gap_skip(&g, last_of(&a.prefix));
	else if (ret != -ENOENT)
		return ret;
	if (!g.full && g.c <= last) {
		from_u128(family, g.c, lo);
		from_u128(family, last, hi);
		ret = ctl_store_address_foreach_range(s, family, lo, hi, gap_step, &g);
		if (ret < 0)
			return ret;
	}
	if (g.full || g.c > last)
		return -ENOSPC;
	*block = g.c;
	return 0;
}

/*
 * The pool's lowest free block, taken off its books: the lowest released
 * block below the high-water mark (every block below the mark is taken,
 * reserved or on the free list), else the lowest free one from the mark up,
 * and the mark moves past it. O(log n) either way; the walk from the mark
 * only steps over reservations. A free-list entry that a row covers after
 * all (written around the IPAM) is dropped.
 */
static int
take_block(struct ctl_store *s, struct ctl_pool *pool, u128 *block)
{
	int family = pool->prefix.family;
	u128 mask = host_mask(family, pool->alloc_len), first = first_of(&pool->prefix);
	u128 last = last_of(&pool->prefix), top = host_mask(family, 0), b, x, mark;
	uint8_t addr[16];
	int ret;

	while ((ret = ctl_store_pool_free_first(s, pool->id, addr)) == 0) {
		b = to_u128(family, addr);
		if ((ret = ctl_store_pool_free_remove(s, pool->id, family, addr)) != 0)
			return ret;
		if ((b & mask) != 0 || b < first || b > last)
			continue;
		ret = find_gap(s, family, b, b | mask, mask, &x);
		if (ret == 0 && x == b) {
			*block = b;
			return 0;
		}
		if (ret != 0 && ret != -ENOSPC)
			return ret;
	}
	if (ret != -ENOENT)
		return ret;
	mark = to_u128(family, pool->high_water);
	if (mark < first)
		mark = first;
	ret = find_gap(s, family, mark, last, mask, &b);
	if (ret != 0)
		return ret;
	/* past the block; a pool ending at the top of the space keeps it there */
	mark = (b | mask) == top ? b : (b | mask) + 1;
	from_u128(family, mark, pool->high_water);
	ret = ctl_store_pool_set_high_water(s, pool->id, pool->high_water);
	if (ret != 0)
		return ret;
	*block = b;
	return 0;
}

int
ctl_ipam_allocate(struct ctl_store *s, int64_t pool_id, int64_t tunnel_id, unsigned count,
		  struct ctl_address *out, char *err, size_t errlen)
{
	struct ctl_tunnel t;
	struct ctl_pool pool;
	unsigned i;
	u128 block;
	int ret;

	if (count == 0) {
		seterr(err, errlen, "nothing to allocate");
		return -EINVAL;
	}
	if ((ret = ctl_store_pool_get(s, pool_id, &pool)) != 0) {
		seterr(err, errlen, "no pool %lld", (long long)pool_id);
		return ret;
	}
	if ((ret = ctl_store_tunnel_get(s, tunnel_id, &t)) != 0) {
		seterr(err, errlen, "no tunnel %lld", (long long)tunnel_id);
		return ret;
	}
	if (pool.interface[0] != '\0' && strcmp(pool.interface, t.interface) != 0) {
		seterr(err, errlen, "pool %s serves %s, tunnel %lld is on %s", pool.name,
		       pool.interface, (long long)tunnel_id, t.interface);
		ret = -EINVAL;
	}
	ctl_store_tunnel_clear(&t);
	if (ret != 0)
		return ret;
	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	for (i = 0; i < count; i++) {
		ret = take_block(s, &pool, &block);
		if (ret == -ENOSPC)
			seterr(err, errlen, "pool %s is full", pool.name);
		if (ret != 0)
			break;
		memset(&out[i], 0, sizeof(out[i]));
		out[i].tunnel_id = tunnel_id;
		out[i].pool_id = pool_id;
		make_prefix(&out[i].prefix, pool.prefix.family, block, pool.alloc_len);
		if ((ret = ctl_store_address_insert(s, &out[i])) != 0)
			break;
	}
	return ctl_store_savepoint_end(s, ret);
}

/* ---- own prefixes ------------------------------------------------------------- */

int
ctl_ipam_assign(struct ctl_store *s, int64_t tunnel_id, const struct ctl_ipam_prefix *p,
		struct ctl_address *out, char *err, size_t errlen)
{
	char text[CTL_PREFIX_STRLEN], why[160];
	struct ctl_address a;
	int ret;

	if ((ret = ctl_ipam_check_amprnet(p, err, errlen)) != 0)
		return ret;
	if ((ret = ctl_store_savepoint(s)) != 0)
		return ret;
	ret = ctl_ipam_conflict(s, p, why, sizeof(why));
	if (ret == -EEXIST) {
		ctl_ipam_prefix_format(p, text, sizeof(text));
		seterr(err, errlen, "%s overlaps %s", text, why);
	}
	if (ret == 0) {
		memset(&a, 0, sizeof(a));
		a.tunnel_id = tunnel_id;
		a.prefix = *p;
		ret = ctl_store_address_insert(s, &a);
		if (ret == -ENOENT)
			seterr(err, errlen, "no tunnel %lld", (long long)tunnel_id);
		if (ret == 0 && out != NULL)
			*out = a;
	}
	return ctl_store_savepoint_end(s, ret);
}

int
ctl_ipam_release(struct ctl_store *s, int64_t tunnel_id, const struct ctl_ipam_prefix *p)
{
	struct ctl_address a;
	int ret;

	ret = ctl_store_address_get_by_prefix(s, p, &a);
	if (ret != 0)
		return ret;
	if (a.tunnel_id != tunnel_id || tunnel_id == 0)
		return -ENOENT;
	return ctl_store_address_delete(s, a.id);
}
