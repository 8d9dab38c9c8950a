/*
 * ipam.h — the 44net addresses of gate44-control: prefixes (parse, print,
 * containment), the AMPRNet check, address pools, allocation of /32s and
 * /64s to tunnels and assignment of users' own prefixes. Pure functions
 * over the store (every query is in store_*.c; nothing is cached here), run
 * by the daemon's main (poll loop) thread.
 *
 * The rules:
 *  - AMPRNet IPv4 is 44.0.0.0/9 (44.0.0.0-44.127.255.255) and 44.128.0.0/10
 *    (44.128.0.0-44.191.255.255). 44.192.0.0/10 was sold in 2019 and is not
 *    AMPRNet. IPv6 has no AMPRNet block: any global unicast prefix (inside
 *    2000::/3) is accepted, the POP's own /48 and users' own prefixes alike;
 *    whether a user really holds it is the portal's business.
 *  - A pool is a prefix in that space, the length it hands out (alloc_len:
 *    32 for IPv4 hosts, 64 for IPv6 subnets) and an optional interface.
 *    Pools never overlap each other. Every block of the pool can be handed
 *    out — the network and broadcast addresses of an IPv4 pool included —
 *    except the pool's reservations: prefixes listed when the pool is added
 *    (the POP's own address, .0 and .255 if wanted). A reservation is an
 *    addresses row with no tunnel, so it is skipped, and checked for
 *    overlaps, exactly like an allocation.
 *  - Allocation hands out the lowest free block, never one that any
 *    addresses row overlaps (UNIQUE in the schema, and the search). A block
 *    is free again when its row is deleted: ctl_ipam_release(), or the
 *    tunnel's (or its user's) deletion, which cascades.
 *  - An own prefix (ctl_ipam_assign) must be AMPRNet (IPv4) or global
 *    unicast (IPv6) and must overlap — contain, be contained in, or equal —
 *    no pool and no allocated, reserved or assigned prefix.
 *
 * Cost: a pool keeps a high-water mark (no block from it up was ever
 * allocated) and a free list of the blocks released below it (a trigger
 * in the schema adds them, for cascaded deletes too). The lowest free
 * block is the free list's first, or else the first one from the mark up:
 * an allocation is O(log n) index lookups, whatever the pool's history.
 * Overlap checks are O(plen * log n).
 */
#ifndef GATE44_CTL_IPAM_H
#define GATE44_CTL_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h" /* struct ctl_ipam_prefix, CTL_PREFIX_STRLEN */

struct ctl_store;
struct ctl_pool;
struct ctl_address;

/*
 * "a.b.c.d/len" or "v6addr/len" by the rules of prefix.h (the one parser
 * the configuration file uses too): the length is required, without a
 * leading zero; host bits set is an error whose message says the right
 * prefix ("44.1.2.3/24 has host bits set (did you mean 44.1.2.0/24?)").
 * 0 or -EINVAL with err set (err may be NULL).
 */
int ctl_ipam_prefix_parse(const char *s, struct ctl_ipam_prefix *p, char *err, size_t errlen);

/* Canonical text (RFC 5952 for IPv6) into buf: 0, or -ENOSPC / -EINVAL. */
int ctl_ipam_prefix_format(const struct ctl_ipam_prefix *p, char *buf, size_t len);

/* Same family, and every address of inner is in outer (equal included). */
bool ctl_ipam_prefix_contains(const struct ctl_ipam_prefix *outer,
			      const struct ctl_ipam_prefix *inner);

/* Same family, length and address (the fields, not the padding). */
bool ctl_ipam_prefix_equal(const struct ctl_ipam_prefix *a, const struct ctl_ipam_prefix *b);

/* Same family and one contains the other: prefixes never partly overlap. */
bool ctl_ipam_prefix_overlap(const struct ctl_ipam_prefix *a, const struct ctl_ipam_prefix *b);

/*
 * 0 when p may be given to a user: IPv4 inside 44.0.0.0/9 or 44.128.0.0/10,
 * IPv6 inside 2000::/3. -EINVAL with err set otherwise.
 */
int ctl_ipam_check_amprnet(const struct ctl_ipam_prefix *p, char *err, size_t errlen);

/*
 * The first row (pool, or address of any kind) that overlaps p: 0 when
 * there is none, -EEXIST with a description in err ("44.31.1.0/24 (pool
 * wg0-v4)", "44.10.0.0/16 (assigned to tunnel 7)") when there is, or
 * another -errno from the store.
 */
int ctl_ipam_conflict(struct ctl_store *s, const struct ctl_ipam_prefix *p, char *err,
		      size_t errlen);

/*
 * Add a pool and its reservations (n_reserved prefixes inside the pool),
 * all or nothing. The pool's prefix must pass ctl_ipam_check_amprnet,
 * plen <= alloc_len <= 32/128, and it must overlap no other pool and no
 * assigned prefix (-EEXIST). On success pool->id is set. A pool with the
 * same name or prefix: -EEXIST; an unknown interface: -ENOENT.
 */
int ctl_ipam_pool_add(struct ctl_store *s, struct ctl_pool *pool,
		      const struct ctl_ipam_prefix *reserved, size_t n_reserved, char *err,
		      size_t errlen);

/*
 * Make the stored pool of this name match a configured one, at every
 * start: add it when missing; else set its interface and make its
 * reservations exactly `reserved` (a dropped reservation's blocks become
 * free; a new one must overlap nothing). A changed prefix or alloc_len
 * replaces the pool while nothing is allocated from it, and is refused
 * (-EBUSY, err says why) otherwise. All or nothing; pool->id is set.
 */
int ctl_ipam_pool_sync(struct ctl_store *s, struct ctl_pool *pool,
		       const struct ctl_ipam_prefix *reserved, size_t n_reserved, char *err,
		       size_t errlen);

/*
 * The pool from which a tunnel of interface ifname gets addresses of
 * family: the lowest-id pool of that family whose interface is ifname, or
 * else the lowest-id one with no interface. 0 or -ENOENT.
 */
int ctl_ipam_pool_for(struct ctl_store *s, const char *ifname, int family, struct ctl_pool *pool);

/*
 * Allocate count blocks of pool_id's alloc_len to tunnel_id, lowest free
 * first, all or nothing (a savepoint inside the caller's transaction, if
 * any). out (count entries) gets the new rows (undefined on failure). -ENOSPC when the pool has
 * fewer than count free blocks, -ENOENT for an unknown pool or tunnel,
 * -EINVAL when the pool serves another interface than the tunnel's.
 */
int ctl_ipam_allocate(struct ctl_store *s, int64_t pool_id, int64_t tunnel_id, unsigned count,
		      struct ctl_address *out, char *err, size_t errlen);

/*
 * Give tunnel_id the user's own prefix p (no pool). -EINVAL when p is not
 * AMPRNet / global unicast, -EEXIST when it overlaps anything (err names
 * it), -ENOENT for an unknown tunnel. On success *out (may be NULL) gets
 * the new row.
 */
int ctl_ipam_assign(struct ctl_store *s, int64_t tunnel_id, const struct ctl_ipam_prefix *p,
		    struct ctl_address *out, char *err, size_t errlen);

/* Free the allocated or assigned prefix p of tunnel_id: 0 or -ENOENT. */
int ctl_ipam_release(struct ctl_store *s, int64_t tunnel_id, const struct ctl_ipam_prefix *p);

#endif /* GATE44_CTL_IPAM_H */
