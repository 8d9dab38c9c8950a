/*
 * fuzz_common.h — what every libFuzzer target of tests/fuzz shares: a
 * FUZZ_CHECK() that turns a broken invariant into a crash libFuzzer keeps,
 * a byte reader over the input, and a deterministic libsodium random source
 * reseeded at the start of every run, so that one input always takes the
 * same path (ephemeral keys, cookie secrets and nonces included) and a
 * crash replays. Header-only; single-threaded, like libFuzzer's runs.
 */
#ifndef GATE44_FUZZ_COMMON_H
#define GATE44_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* An invariant of the code under test does not hold: report and abort, so
 * libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* ---- reading the input ------------------------------------------------------ */

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

/* Little-endian, zero-padded past the end of the input. */
static inline uint64_t
fuzz_u64(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/* Copy up to len bytes into dst, zero-filling what the input lacks. */
static inline void
fuzz_bytes(struct fuzz_in *in, uint8_t *dst, size_t len)
{
	size_t n = in->n < len ? in->n : len;

	memcpy(dst, in->p, n);
	memset(dst + n, 0, len - n);
	in->p += n;
	in->n -= n;
}

/* ---- deterministic randomness --------------------------------------------- */

/* splitmix64: not a CSPRNG, which is the point (replayable runs). */
static uint64_t fuzz_rng_state;

static inline uint64_t
fuzz_rng_next(void)
{
	uint64_t z = (fuzz_rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *
fuzz_rng_name(void)
{
	return "gate44-fuzz-splitmix64";
}

static uint32_t
fuzz_rng_random(void)
{
	return (uint32_t)fuzz_rng_next();
}

static void
fuzz_rng_buf(void *const buf, const size_t size)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < size; i += 8) {
		uint64_t v = fuzz_rng_next();
		size_t k = size - i < 8 ? size - i : 8;

		memcpy(b + i, &v, k);
	}
}

static randombytes_implementation fuzz_rng_impl = {
	.implementation_name = fuzz_rng_name,
	.random = fuzz_rng_random,
	.buf = fuzz_rng_buf,
};

/* Once, from LLVMFuzzerInitialize: libsodium wants its random source set
 * before sodium_init(). Aborts when libsodium cannot start. */
static inline void
fuzz_sodium_init(void)
{
	randombytes_set_implementation(&fuzz_rng_impl);
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		abort();
	}
}

/* At the start of every run. */
static inline void
fuzz_rng_seed(uint64_t seed)
{
	fuzz_rng_state = seed;
}

/* A NUL-terminated copy of the input (free() it); NULL when out of memory. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif /* GATE44_FUZZ_COMMON_H */
