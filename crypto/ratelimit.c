/*
 * ratelimit.c — the handshake rate limiter, as Linux WireGuard's
 * ratelimiter.c: one token bucket per source (IPv4 address or IPv6 /64) of
 * 20 packets/s with a burst of 5, found through a chained hash table keyed
 * with SipHash-2-4 under a random key. Run by the thread that receives
 * handshakes (the main lcore); not thread-safe.
 *
 * Memory is fixed at create: max_entries entries on a free list and a
 * bucket array of 32-bit indices, so a flood of spoofed sources costs a
 * hash and a chain walk, never an allocation. When the free list is empty a
 * new source is denied, as Linux does once it has max_entries.
 *
 * Time is the caller's (monotonic ns). Linux reads a monotonic clock under a
 * lock, so "now" never goes back; here a caller may pass a timestamp taken
 * before one already seen (e.g. one per burst), so an earlier time adds no
 * tokens and does not move last_ns back, rather than wrapping.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "ratelimit.h"
#include "wg_const.h"

#define NSEC_PER_SEC UINT64_C(1000000000)

enum {
	/* what one packet costs and what a bucket holds, in ns of credit */
	PACKET_COST = 1000000000 / WG_RATELIMIT_PACKETS_PER_SECOND,
	TOKEN_MAX = PACKET_COST * WG_RATELIMIT_BURST,
	/* hash input: family tag, then 8 address bytes (IPv4 zero-padded) */
	KEY_LEN = 9,
	MAX_ENTRIES_LIMIT = 1 << 26,
};

#define NIL UINT32_MAX /* end of a chain or of the free list */

struct entry {
	uint64_t last_ns; /* time of the last packet seen */
	uint64_t tokens;  /* ns of credit, <= TOKEN_MAX */
	uint8_t key[KEY_LEN];
	uint32_t next; /* next in the bucket's chain, or in the free list */
};

struct cr_ratelimit {
	uint8_t siphash_key[crypto_shorthash_KEYBYTES];
	uint32_t *bucket; /* head entry index per bucket, NIL if empty */
	struct entry *entry;
	uint32_t bucket_mask;
	uint32_t free_head;
	unsigned max_entries;
	unsigned count;
};

struct cr_ratelimit *
cr_ratelimit_create(unsigned max_entries)
{
	struct cr_ratelimit *rl;
	uint32_t nbuckets = 16;
	unsigned i;

	if (max_entries == 0 || max_entries > MAX_ENTRIES_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	/* one bucket per entry or more: chains stay ~1 long when full */
	while (nbuckets < max_entries)
		nbuckets <<= 1;

	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		goto err_rl;
	rl->bucket = malloc(nbuckets * sizeof(*rl->bucket));
	if (rl->bucket == NULL)
		goto err_bucket;
	rl->entry = calloc(max_entries, sizeof(*rl->entry));
	if (rl->entry == NULL)
		goto err_entry;

	crypto_shorthash_keygen(rl->siphash_key);
	for (i = 0; i < nbuckets; i++)
		rl->bucket[i] = NIL;
	for (i = 0; i < max_entries; i++)
		rl->entry[i].next = i + 1 < max_entries ? i + 1 : NIL;
	rl->free_head = 0;
	rl->bucket_mask = nbuckets - 1;
	rl->max_entries = max_entries;
	rl->count = 0;
	return rl;

err_entry:
	free(rl->bucket);
err_bucket:
	free(rl);
err_rl:
	errno = ENOMEM;
	return NULL;
}

void
cr_ratelimit_free(struct cr_ratelimit *rl)
{
	if (rl == NULL)
		return;
	sodium_memzero(rl->siphash_key, sizeof(rl->siphash_key));
	free(rl->entry);
	free(rl->bucket);
	free(rl);
}

/* The bucket key: which family, then the IPv4 address or the IPv6 /64. The
 * tag keeps 1.2.3.4 apart from 102:304::/64. false for another family. */
static bool
make_key(uint8_t key[KEY_LEN], int family, const uint8_t *addr)
{
	memset(key, 0, KEY_LEN);
	if (family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, addr, 4);
	} else if (family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, addr, 8); /* the /64 */
	} else {
		return false;
	}
	return true;
}

static uint32_t
bucket_of(const struct cr_ratelimit *rl, const uint8_t key[KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, KEY_LEN, rl->siphash_key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)v & rl->bucket_mask;
}

bool
cr_ratelimit_allow(struct cr_ratelimit *rl, int family, const uint8_t *addr, uint64_t now_ns)
{
	uint8_t key[KEY_LEN];
	struct entry *e;
	uint32_t b, i;

	if (!make_key(key, family, addr))
		return false;
	b = bucket_of(rl, key);

	for (i = rl->bucket[b]; i != NIL; i = e->next) {
		uint64_t tokens;

		e = &rl->entry[i];
		if (memcmp(e->key, key, KEY_LEN) != 0)
			continue;
		/* Linux: tokens = min(TOKEN_MAX, tokens + now - last_time_ns);
		 * the burst is part of the bucket size, not of the rate. */
		tokens = e->tokens;
		if (now_ns > e->last_ns) {
			uint64_t elapsed = now_ns - e->last_ns;

			tokens = elapsed >= TOKEN_MAX - tokens ? TOKEN_MAX : tokens + elapsed;
			e->last_ns = now_ns;
		}
		if (tokens >= PACKET_COST) {
			e->tokens = tokens - PACKET_COST;
			return true;
		}
		e->tokens = tokens;
		return false;
	}

	/* A new source: take a free entry, or deny if there is none. */
	i = rl->free_head;
	if (i == NIL)
		return false;
	e = &rl->entry[i];
	rl->free_head = e->next;
	memcpy(e->key, key, KEY_LEN);
	e->last_ns = now_ns;
	e->tokens = TOKEN_MAX - PACKET_COST; /* this packet is the first */
	e->next = rl->bucket[b];
	rl->bucket[b] = i;
	rl->count++;
	return true;
}

void
cr_ratelimit_gc(struct cr_ratelimit *rl, uint64_t now_ns)
{
	uint32_t b;

	for (b = 0; b <= rl->bucket_mask; b++) {
		uint32_t *link = &rl->bucket[b];

		while (*link != NIL) {
			uint32_t i = *link;
			struct entry *e = &rl->entry[i];

			/* Linux: now - last_time_ns > NSEC_PER_SEC */
			if (now_ns > e->last_ns && now_ns - e->last_ns > NSEC_PER_SEC) {
				*link = e->next;
				e->next = rl->free_head;
				rl->free_head = i;
				rl->count--;
			} else {
				link = &e->next;
			}
		}
	}
}

unsigned
cr_ratelimit_count(const struct cr_ratelimit *rl)
{
	return rl->count;
}
