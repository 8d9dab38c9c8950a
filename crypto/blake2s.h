/*
 * blake2s.h — BLAKE2s (RFC 7693), keyed and unkeyed, 1..32-byte digests;
 * HMAC-BLAKE2s (RFC 2104, block 64) and WireGuard's KDF1/KDF2/KDF3.
 * Pure functions, any thread. libsodium has no BLAKE2s, so it lives here.
 */
#ifndef GATE44_BLAKE2S_H
#define GATE44_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum {
	CR_BLAKE2S_BLOCK_LEN = 64,
	CR_BLAKE2S_HASH_LEN = 32,
	CR_BLAKE2S_KEY_LEN = 32,
};

struct cr_blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[CR_BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* outlen 1..32, keylen 0..32 (key may be NULL when keylen is 0).
 * Return 0 or -EINVAL. */
int cr_blake2s_init(struct cr_blake2s_state *s, size_t outlen, const uint8_t *key,
		    size_t keylen);
void cr_blake2s_update(struct cr_blake2s_state *s, const uint8_t *in, size_t inlen);
/* Writes s->outlen bytes and wipes the state. */
void cr_blake2s_final(struct cr_blake2s_state *s, uint8_t *out);
/* One-shot. Return 0 or -EINVAL. */
int cr_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
	       const uint8_t *key, size_t keylen);

/* HMAC-BLAKE2s-256: out[32] = HMAC(key, in). keylen may exceed 64 (hashed). */
void cr_hmac_blake2s(uint8_t out[CR_BLAKE2S_HASH_LEN], const uint8_t *key,
		     size_t keylen, const uint8_t *in, size_t inlen);

/*
 * WireGuard's KDFn (paper §5.4): prk = HMAC(ck, input); t0 = HMAC(prk, 0x1);
 * t1 = HMAC(prk, t0 || 0x2); t2 = HMAC(prk, t1 || 0x3). Any of t0, t1, t2 may
 * be NULL (KDF1 passes t1 = t2 = NULL, KDF2 passes t2 = NULL). Outputs may
 * alias ck. Intermediates are wiped.
 */
void cr_kdf(uint8_t t0[32], uint8_t t1[32], uint8_t t2[32], const uint8_t ck[32],
	    const uint8_t *input, size_t inlen);

#endif /* GATE44_BLAKE2S_H */
