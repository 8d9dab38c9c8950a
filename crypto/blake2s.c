/*
 * blake2s.c — BLAKE2s (RFC 7693) with keyed mode and 1..32-byte digests,
 * HMAC-BLAKE2s (RFC 2104, 64-byte block) and WireGuard's KDF1/2/3 (paper
 * §5.4). Pure functions on caller-owned state: any thread; in the engine the
 * main lcore runs them for handshakes and cookies.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "blake2s.h"

static const uint32_t blake2s_iv[8] = {
	0x6a09e667UL, 0xbb67ae85UL, 0x3c6ef372UL, 0xa54ff53aUL,
	0x510e527fUL, 0x9b05688cUL, 0x1f83d9abUL, 0x5be0cd19UL,
};

/* RFC 7693 §2.7; BLAKE2s uses the first ten rows. */
static const uint8_t blake2s_sigma[10][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

/* Byte-wise little-endian access: portable, and GCC/Clang fold it into a
 * single (unaligned) load or store on little-endian targets. */
static inline uint32_t
load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
store32_le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t
ror32(uint32_t v, unsigned int n)
{
	return (v >> n) | (v << (32 - n));
}

/* The mixing function G (RFC 7693 §3.1) for column/diagonal i of round r.
 * r and i are constants, so the sigma look-ups fold at compile time. */
#define G(r, i, a, b, c, d)                                \
	do {                                               \
		a += b + m[blake2s_sigma[r][2 * (i)]];     \
		d = ror32(d ^ a, 16);                      \
		c += d;                                    \
		b = ror32(b ^ c, 12);                      \
		a += b + m[blake2s_sigma[r][2 * (i) + 1]]; \
		d = ror32(d ^ a, 8);                       \
		c += d;                                    \
		b = ror32(b ^ c, 7);                       \
	} while (0)

#define ROUND(r)                                   \
	do {                                       \
		G(r, 0, v[0], v[4], v[8], v[12]);  \
		G(r, 1, v[1], v[5], v[9], v[13]);  \
		G(r, 2, v[2], v[6], v[10], v[14]); \
		G(r, 3, v[3], v[7], v[11], v[15]); \
		G(r, 4, v[0], v[5], v[10], v[15]); \
		G(r, 5, v[1], v[6], v[11], v[12]); \
		G(r, 6, v[2], v[7], v[8], v[13]);  \
		G(r, 7, v[3], v[4], v[9], v[14]);  \
	} while (0)

/* Compress one 64-byte block; inc is how many message bytes it carries. */
static void
compress(struct cr_blake2s_state *s, const uint8_t block[CR_BLAKE2S_BLOCK_LEN], uint32_t inc)
{
	uint32_t m[16], v[16];
	int i;

	s->t[0] += inc;
	s->t[1] += (s->t[0] < inc);
	for (i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (i = 0; i < 8; i++)
		v[i] = s->h[i];
	v[8] = blake2s_iv[0];
	v[9] = blake2s_iv[1];
	v[10] = blake2s_iv[2];
	v[11] = blake2s_iv[3];
	v[12] = blake2s_iv[4] ^ s->t[0];
	v[13] = blake2s_iv[5] ^ s->t[1];
	v[14] = blake2s_iv[6] ^ s->f[0];
	v[15] = blake2s_iv[7] ^ s->f[1];

	ROUND(0);
	ROUND(1);
	ROUND(2);
	ROUND(3);
	ROUND(4);
	ROUND(5);
	ROUND(6);
	ROUND(7);
	ROUND(8);
	ROUND(9);

	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	/* The block may be key material (keyed hash, HMAC pads). */
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

#undef ROUND
#undef G

int
cr_blake2s_init(struct cr_blake2s_state *s, size_t outlen, const uint8_t *key, size_t keylen)
{
	int i;

	if (outlen == 0 || outlen > CR_BLAKE2S_HASH_LEN || keylen > CR_BLAKE2S_KEY_LEN ||
	    (key == NULL && keylen != 0))
		return -EINVAL;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; i++)
		s->h[i] = blake2s_iv[i];
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
	s->h[0] ^= 0x01010000UL ^ (uint32_t)(keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen != 0) {
		/* The key, zero-padded, is the first block (buf is already 0). */
		memcpy(s->buf, key, keylen);
		s->buflen = CR_BLAKE2S_BLOCK_LEN;
	}
	return 0;
}

void
cr_blake2s_update(struct cr_blake2s_state *s, const uint8_t *in, size_t inlen)
{
	size_t fill;

	if (inlen == 0)
		return;
	/* The last block must stay buffered for final(), which flags it. */
	fill = CR_BLAKE2S_BLOCK_LEN - s->buflen;
	if (inlen > fill) {
		memcpy(s->buf + s->buflen, in, fill);
		compress(s, s->buf, CR_BLAKE2S_BLOCK_LEN);
		s->buflen = 0;
		in += fill;
		inlen -= fill;
		while (inlen > CR_BLAKE2S_BLOCK_LEN) {
			compress(s, in, CR_BLAKE2S_BLOCK_LEN);
			in += CR_BLAKE2S_BLOCK_LEN;
			inlen -= CR_BLAKE2S_BLOCK_LEN;
		}
	}
	memcpy(s->buf + s->buflen, in, inlen);
	s->buflen += inlen;
}

void
cr_blake2s_final(struct cr_blake2s_state *s, uint8_t *out)
{
	uint8_t full[CR_BLAKE2S_HASH_LEN];
	int i;

	memset(s->buf + s->buflen, 0, CR_BLAKE2S_BLOCK_LEN - s->buflen);
	s->f[0] = UINT32_MAX;
	compress(s, s->buf, (uint32_t)s->buflen);
	for (i = 0; i < 8; i++)
		store32_le(full + 4 * i, s->h[i]);
	memcpy(out, full, s->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(s, sizeof(*s));
}

int
cr_blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key,
	   size_t keylen)
{
	struct cr_blake2s_state s;
	int ret;

	ret = cr_blake2s_init(&s, outlen, key, keylen);
	if (ret != 0)
		return ret;
	cr_blake2s_update(&s, in, inlen);
	cr_blake2s_final(&s, out);
	return 0;
}

/*
 * HMAC-BLAKE2s-256. out is written last, after key and in have been read, so
 * it may alias either of them.
 */
void
cr_hmac_blake2s(uint8_t out[CR_BLAKE2S_HASH_LEN], const uint8_t *key, size_t keylen,
		const uint8_t *in, size_t inlen)
{
	struct cr_blake2s_state s;
	uint8_t pad[CR_BLAKE2S_BLOCK_LEN] = {0};
	uint8_t inner[CR_BLAKE2S_HASH_LEN];
	int i;

	if (keylen > CR_BLAKE2S_BLOCK_LEN) {
		cr_blake2s_init(&s, CR_BLAKE2S_HASH_LEN, NULL, 0);
		cr_blake2s_update(&s, key, keylen);
		cr_blake2s_final(&s, pad);
	} else if (keylen != 0) {
		memcpy(pad, key, keylen);
	}

	for (i = 0; i < CR_BLAKE2S_BLOCK_LEN; i++)
		pad[i] ^= 0x36;
	cr_blake2s_init(&s, CR_BLAKE2S_HASH_LEN, NULL, 0);
	cr_blake2s_update(&s, pad, CR_BLAKE2S_BLOCK_LEN);
	cr_blake2s_update(&s, in, inlen);
	cr_blake2s_final(&s, inner);

	for (i = 0; i < CR_BLAKE2S_BLOCK_LEN; i++)
		pad[i] ^= 0x36 ^ 0x5c;
	cr_blake2s_init(&s, CR_BLAKE2S_HASH_LEN, NULL, 0);
	cr_blake2s_update(&s, pad, CR_BLAKE2S_BLOCK_LEN);
	cr_blake2s_update(&s, inner, CR_BLAKE2S_HASH_LEN);
	cr_blake2s_final(&s, out);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
}

/*
 * KDFn. ck and input are only read while computing prk, before any output is
 * written, so outputs may alias ck (or input). Only as many HMAC steps as the
 * last non-NULL output needs are run.
 */
void
cr_kdf(uint8_t t0[32], uint8_t t1[32], uint8_t t2[32], const uint8_t ck[32], const uint8_t *input,
       size_t inlen)
{
	uint8_t prk[CR_BLAKE2S_HASH_LEN];
	uint8_t buf[CR_BLAKE2S_HASH_LEN + 1];
	int need = t2 != NULL ? 3 : t1 != NULL ? 2 : t0 != NULL ? 1 : 0;

	if (need == 0)
		return;

	cr_hmac_blake2s(prk, ck, CR_BLAKE2S_HASH_LEN, input, inlen);

	/* t0 = HMAC(prk, 0x1) */
	buf[0] = 0x1;
	cr_hmac_blake2s(buf, prk, sizeof(prk), buf, 1);
	if (t0 != NULL)
		memcpy(t0, buf, CR_BLAKE2S_HASH_LEN);
	if (need == 1)
		goto out;

	/* t1 = HMAC(prk, t0 || 0x2) */
	buf[CR_BLAKE2S_HASH_LEN] = 0x2;
	cr_hmac_blake2s(buf, prk, sizeof(prk), buf, sizeof(buf));
	if (t1 != NULL)
		memcpy(t1, buf, CR_BLAKE2S_HASH_LEN);
	if (need == 2)
		goto out;

	/* t2 = HMAC(prk, t1 || 0x3) */
	buf[CR_BLAKE2S_HASH_LEN] = 0x3;
	cr_hmac_blake2s(buf, prk, sizeof(prk), buf, sizeof(buf));
	memcpy(t2, buf, CR_BLAKE2S_HASH_LEN);

out:
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(buf, sizeof(buf));
}
