/*
 * tai64n.c — TAI64N timestamps for handshake initiations, encoded as Linux
 * WireGuard does (noise.c tai64n_now): big-endian 0x400000000000000a + Unix
 * seconds, then big-endian nanoseconds rounded down to a power of two. Any
 * thread; in the engine the main lcore runs it.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tai64n.h"

#define NSEC_PER_SEC 1000000000U
/* TAI64 label of the Unix epoch: 2^62 + 10 (TAI-UTC in 1970, as Linux). */
#define TAI64_EPOCH 0x400000000000000aULL
/*
 * Linux: rounddown(nsec, rounddown_pow_of_two(NSEC_PER_SEC /
 * INITIATIONS_PER_SECOND)). For 50/s that is 2^24 ns (~16.8 ms); the asserts
 * keep the constant honest if WG_INITIATIONS_PER_SECOND ever changes.
 */
#define TAI64N_NSEC_GRAIN (1U << 24)
_Static_assert(TAI64N_NSEC_GRAIN <= NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND,
	       "grain above NSEC_PER_SEC / INITIATIONS_PER_SECOND");
_Static_assert(2ULL * TAI64N_NSEC_GRAIN > NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND,
	       "grain is not the largest power of two below NSEC_PER_SEC / INITIATIONS_PER_SECOND");

void
cr_tai64n_from(uint8_t out[WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec)
{
	uint64_t sec;
	int i;

	/* Not required by the contract: keep the encoding canonical anyway. */
	if (nsec >= NSEC_PER_SEC) {
		unix_sec += nsec / NSEC_PER_SEC;
		nsec %= NSEC_PER_SEC;
	}
	nsec &= ~(TAI64N_NSEC_GRAIN - 1);
	sec = TAI64_EPOCH + unix_sec;
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

void
cr_tai64n_now(uint8_t out[WG_TAI64N_LEN])
{
	struct timespec ts;

	/* C11 timespec_get(TIME_UTC) is CLOCK_REALTIME, without feature macros. */
	if (timespec_get(&ts, TIME_UTC) != TIME_UTC) {
		/* Cannot happen on Linux; an old stamp is merely refused by peers. */
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
	}
	cr_tai64n_from(out, (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

int
cr_tai64n_cmp(const uint8_t a[WG_TAI64N_LEN], const uint8_t b[WG_TAI64N_LEN])
{
	/* Timestamps are not secret (Linux compares them with memcmp too). */
	int r = memcmp(a, b, WG_TAI64N_LEN);

	return (r > 0) - (r < 0);
}
