/*
 * ratelimit.h — handshake rate limiter per source address, as Linux
 * WireGuard's ratelimiter.c: a token bucket of 20 packets/s with a burst of 5
 * per IPv4 address or IPv6 /64, in a bounded hash table keyed with a random
 * SipHash key; idle entries are collected. One instance per thread that
 * receives handshakes (the main lcore); not thread-safe.
 */
#ifndef GATE44_RATELIMIT_H
#define GATE44_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct cr_ratelimit;

/* max_entries bounds the table (memory); a new source beyond it is denied.
 * NULL with errno on failure. */
struct cr_ratelimit *cr_ratelimit_create(unsigned max_entries);
void cr_ratelimit_free(struct cr_ratelimit *rl);
/* family is AF_INET (addr: 4 bytes) or AF_INET6 (addr: 16 bytes, only the
 * first 8 count). true: allowed, a token was taken. */
bool cr_ratelimit_allow(struct cr_ratelimit *rl, int family, const uint8_t *addr,
			uint64_t now_ns);
/* Drop entries idle for more than a second. Call about once a second. */
void cr_ratelimit_gc(struct cr_ratelimit *rl, uint64_t now_ns);
unsigned cr_ratelimit_count(const struct cr_ratelimit *rl);

#endif /* GATE44_RATELIMIT_H */
