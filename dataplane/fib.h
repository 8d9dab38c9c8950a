/*
 * fib.h — longest-prefix-match tables for IPv4 and IPv6 (the POP's FIB, and
 * per WireGuard interface the allowed-IPs table for cryptokey routing).
 * Changed only by the main lcore, in transactions; read lock-free by the
 * worker lcores, which must report an rte_rcu_qsbr quiescent state once per
 * loop iteration.
 *
 * Each family has two identical copies of its table. A transaction is
 * applied to the standby copy, published with one atomic pointer store,
 * and after an RCU grace period replayed on the old copy, so readers never
 * see a table being modified and never see half a transaction.
 */
#ifndef GATE44_FIB_H
#define GATE44_FIB_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <string.h>

struct rte_rcu_qsbr;

/*
 * Next hops: 31 bits, because rte_fib's 4-byte entries keep one bit for
 * themselves. Bits 30..28 are the kind, bits 27..0 the index; bit 31 is
 * always 0. 0 is DP_NH_DROP, which is also what a lookup that matches no
 * route returns.
 */
enum dp_nh_kind {
	DP_NH_DROP = 0,	     /* index: free for the caller (e.g. a drop reason) */
	DP_NH_PEER = 1,	     /* index: peer id */
	DP_NH_ADJ = 2,	     /* index: adjacency id (gateway or on-link, per port) */
	DP_NH_LOCAL = 3,     /* index: local address entry / exception path */
	DP_NH_CONNECTED = 4, /* index: port id; resolve the destination itself */
	DP_NH_KIND_COUNT
};

#define DP_NH_KIND_SHIFT 28
#define DP_NH_KIND_MASK	 0x7u
#define DP_NH_INDEX_MASK 0x0fffffffu
#define DP_NH_INDEX_MAX	 DP_NH_INDEX_MASK

/* The same as dp_nh_make, as a constant expression (static tables). */
#define DP_NH(kind, index)                                          \
	((((uint32_t)(kind)&DP_NH_KIND_MASK) << DP_NH_KIND_SHIFT) | \
	 ((uint32_t)(index)&DP_NH_INDEX_MASK))

/* DP_NH_LOCAL indices: one of the POP's addresses, or a route to the host */
enum { DP_LOCAL_ADDRESS = 0, DP_LOCAL_EXCEPTION = 1 };

/* index must be <= DP_NH_INDEX_MAX: higher bits are cut off. */
static inline uint32_t
dp_nh_make(unsigned int kind, uint32_t index)
{
	return DP_NH(kind, index);
}

static inline unsigned int
dp_nh_kind(uint32_t nh)
{
	return (nh >> DP_NH_KIND_SHIFT) & DP_NH_KIND_MASK;
}

static inline uint32_t
dp_nh_index(uint32_t nh)
{
	return nh & DP_NH_INDEX_MASK;
}

/* Longest name accepted by dp_fib_create (DPDK object names derive from it). */
#define DP_FIB_NAME_MAX 16

struct dp_fib;

/*
 * IPv6 capacity is also a budget of tbl8 groups (1 KiB each):
 * DP_FIB6_TBL8_PER_ROUTE per route plus DP_FIB6_TBL8_SPARE. A route longer
 * than /24 costs ceil(plen / 8) - 3 of it: a /48 costs 3, a /64 5, a /128 13,
 * a /24 or shorter nothing. So max_routes6 /64s always fit, but only
 * 5/13 as many /128s.
 */
#define DP_FIB6_TBL8_PER_ROUTE 5
#define DP_FIB6_TBL8_SPARE     8

/*
 * Create a FIB holding up to max_routes4 IPv4 and max_routes6 IPv6 routes.
 * A family with 0 routes gets no table: its lookups return DP_NH_DROP and
 * its adds fail with -EAFNOSUPPORT. Memory per family is two copies of:
 *   IPv4: 64 MiB + 1 KiB per route (a tbl8 for every route: an IPv4 add can
 *         only fail on the route count);
 *   IPv6: 64 MiB + the tbl8 budget (5 KiB per route).
 * qs: the QSBR variable the readers report to; NULL if no lcore reads the
 * FIB concurrently with the writer (tests, single-threaded tools).
 * name: unique in the process, at most DP_FIB_NAME_MAX characters.
 * Returns NULL with rte_errno set (EINVAL, ENAMETOOLONG, EEXIST, ENOMEM).
 */
struct dp_fib *dp_fib_create(const char *name, uint32_t max_routes4, uint32_t max_routes6,
			     int socket_id, struct rte_rcu_qsbr *qs);
/* No reader may use the FIB any more. NULL is a no-op. */
void dp_fib_free(struct dp_fib *fib);

/*
 * Transactions (main lcore only). Between begin and commit, adds and deletes
 * are checked against the routes as changed so far and applied to the
 * standby copy; get, walk and count see them, readers do not. A failed add
 * or delete changes nothing and leaves the transaction open: the caller
 * commits what succeeded or aborts. Add and delete outside a transaction are
 * a transaction of one change.
 *
 * dp_fib_begin: 0, or -EBUSY if one is open.
 * dp_fib_commit: publishes, waits for a grace period (may block for as long
 * as the slowest reader's loop iteration), brings the other copy up to date.
 * 0, -EINVAL (no transaction), or -errno when the standby copy, dirty from
 * an earlier failure, cannot be rebuilt (e.g. -ENOMEM): the transaction then
 * stays open, to be committed again or aborted.
 * dp_fib_abort: undoes every change of the transaction; no-op without one.
 */
int dp_fib_begin(struct dp_fib *fib);
int dp_fib_commit(struct dp_fib *fib);
void dp_fib_abort(struct dp_fib *fib);

/*
 * family: AF_INET or AF_INET6. addr: the prefix in network byte order
 * (4 or 16 bytes), host bits zero. nh: a dp_nh_make() value.
 * dp_fib_add: 0, -EINVAL (plen, host bits, nh kind), -EAFNOSUPPORT,
 *   -EEXIST (the prefix has a route: delete it first, in the same
 *   transaction to replace it atomically), -ENOSPC (route count or IPv6
 *   tbl8 budget), -ENOMEM.
 * dp_fib_del: 0, -EINVAL, -EAFNOSUPPORT, -ENOENT, -ENOMEM.
 * dp_fib_get: exact match; 0, -EINVAL, -EAFNOSUPPORT, -ENOENT.
 */
int dp_fib_add(struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen, uint32_t nh);
int dp_fib_del(struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen);
int dp_fib_get(const struct dp_fib *fib, int family, const uint8_t *addr, uint8_t plen,
	       uint32_t *nh);

/*
 * Call cb for every route, in no particular order, until it returns
 * non-zero; return that value, or 0. cb must not change the FIB.
 */
typedef int (*dp_fib_walk_cb)(int family, const uint8_t *addr, uint8_t plen, uint32_t nh,
			      void *arg);
int dp_fib_walk(const struct dp_fib *fib, dp_fib_walk_cb cb, void *arg);
unsigned int dp_fib_count(const struct dp_fib *fib, int family);

/* Counters for telemetry and tests (main lcore). */
struct dp_fib_stats {
	uint64_t commits; /* transactions published */
	uint64_t aborts;
	uint64_t rebuilds; /* copies rebuilt from the RIB after a failed change */
	uint64_t retries;  /* changes that failed on a copy, retried on a new one */
	uint32_t tbl8_used6, tbl8_budget6;
};
void dp_fib_stats_get(const struct dp_fib *fib, struct dp_fib_stats *st);

/*
 * Self-check for tests and debugging (main lcore): both copies hold exactly
 * the routes of the RIB, and answer the same for the first and last address
 * of every route. 0 or -EIO. Cost: a walk of every table.
 */
int dp_fib_verify(struct dp_fib *fib);

/*
 * Fast path (worker lcores): the next hop of each address, DP_NH_DROP where
 * no route matches. IPv4 addresses in host byte order, IPv6 in network byte
 * order. One transaction is either wholly visible to a bulk or not at all.
 */
void dp_fib_lookup4_bulk(const struct dp_fib *fib, const uint32_t *ips_host_order, uint32_t *nh,
			 unsigned int n);
void dp_fib_lookup6_bulk(const struct dp_fib *fib, const uint8_t (*ips)[16], uint32_t *nh,
			 unsigned int n);

static inline uint32_t
dp_fib_lookup4(const struct dp_fib *fib, uint32_t ip_host_order)
{
	uint32_t nh;

	dp_fib_lookup4_bulk(fib, &ip_host_order, &nh, 1);
	return nh;
}

static inline uint32_t
dp_fib_lookup6(const struct dp_fib *fib, const uint8_t ip[16])
{
	uint32_t nh;

	dp_fib_lookup6_bulk(fib, (const uint8_t(*)[16])ip, &nh, 1);
	return nh;
}

/* One address of either family, network order (IPv4 in the first 4 bytes). */
static inline uint32_t
dp_fib_lookup(const struct dp_fib *fib, int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		uint32_t a;

		memcpy(&a, addr, 4);
		return dp_fib_lookup4(fib, rte_be_to_cpu_32(a));
	}
	return dp_fib_lookup6(fib, addr);
}

#endif /* GATE44_FIB_H */
