/*
 * test_tai64n.c — TAI64N encoding of known times, nanosecond rounding,
 * ordering and the wall clock. Single-threaded cmocka test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tai64n.h"
#include "vectors.h"

#define GRAIN (1U << 24) /* Linux: rounddown_pow_of_two(1e9 / 50) */

/* Expected encodings computed with Python 3:
 *   struct.pack('>QI', 0x400000000000000a + sec, nsec & ~(2**24 - 1)).hex() */
static const struct {
	uint64_t sec;
	uint32_t nsec;
	const char *hex;
} known[] = {
	{0, 0, "400000000000000a00000000"},
	{0, 999999999, "400000000000000a3b000000"},
	{1, 16777215, "400000000000000b00000000"},
	{1, 16777216, "400000000000000b01000000"},
	{1700000000, 123456789, "400000006553f10a07000000"},
	{0xffffffffULL, 500000000, "40000001000000091d000000"},
};

static uint64_t
get_sec(const uint8_t t[WG_TAI64N_LEN])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | t[i];
	return v;
}

static uint32_t
get_nsec(const uint8_t t[WG_TAI64N_LEN])
{
	return (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
}

static void
test_known(void **state)
{
	uint8_t got[WG_TAI64N_LEN], want[WG_TAI64N_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		vec_hex_fixed(known[i].hex, want, sizeof(want));
		cr_tai64n_from(got, known[i].sec, known[i].nsec);
		assert_memory_equal(got, want, sizeof(want));
	}
}

/* nsec is rounded down to the grain, never up, never by a grain or more. */
static void
test_rounding(void **state)
{
	static const uint32_t ns[] = {
		0, 1, GRAIN - 1, GRAIN, GRAIN + 1, 2 * GRAIN - 1, 20000000, 500000000, 999999999,
	};
	uint8_t t[WG_TAI64N_LEN], u[WG_TAI64N_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		uint32_t got, top;

		cr_tai64n_from(t, 12345, ns[i]);
		got = get_nsec(t);
		assert_int_equal(got % GRAIN, 0);
		assert_true(got <= ns[i]);
		assert_true(ns[i] - got < GRAIN);
		assert_int_equal(get_sec(t), 0x400000000000000aULL + 12345);
		/* Everything inside one grain encodes identically. */
		top = got + GRAIN - 1 < 999999999 ? got + GRAIN - 1 : 999999999;
		cr_tai64n_from(u, 12345, top);
		assert_int_equal(cr_tai64n_cmp(t, u), 0);
	}
	/* Beyond the contract: nsec >= 1e9 carries into the seconds. */
	cr_tai64n_from(t, 0, 1500000000);
	cr_tai64n_from(u, 1, 500000000);
	assert_memory_equal(t, u, sizeof(t));
}

/* Later times compare greater; equal grains compare equal; antisymmetric. */
static void
test_cmp(void **state)
{
	static const struct {
		uint64_t sec;
		uint32_t nsec;
	} seq[] = {
		{0, 0},
		{0, GRAIN},
		{0, 999999999},
		{1, 0},
		{255, 0},
		{256, 0},
		{1700000000, 0},
		{1700000000, 2 * GRAIN},
		{0x100000000ULL, 0},
		{0x100000000ULL, 50 * GRAIN},
	};
	uint8_t a[WG_TAI64N_LEN], b[WG_TAI64N_LEN];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		cr_tai64n_from(a, seq[i].sec, seq[i].nsec);
		for (j = 0; j < sizeof(seq) / sizeof(seq[0]); j++) {
			int c;

			cr_tai64n_from(b, seq[j].sec, seq[j].nsec);
			c = cr_tai64n_cmp(a, b);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
			assert_int_equal(c > 0, cr_tai64n_cmp(b, a) < 0);
		}
	}
	/* Inside one grain: equal (a replayed-too-soon initiation is not newer). */
	cr_tai64n_from(a, 100, 1000);
	cr_tai64n_from(b, 100, GRAIN - 1);
	assert_int_equal(cr_tai64n_cmp(a, b), 0);
}

/* The wall clock: close to time(), canonical nanoseconds, non-decreasing. */
static void
test_now(void **state)
{
	uint8_t prev[WG_TAI64N_LEN], cur[WG_TAI64N_LEN];
	int64_t sec, delta;
	int i;

	(void)state;
	cr_tai64n_now(prev);
	sec = (int64_t)(get_sec(prev) - 0x400000000000000aULL);
	delta = sec - (int64_t)time(NULL);
	assert_true(delta >= -2 && delta <= 2);
	assert_true(sec > 1600000000); /* after 2020: the clock is set */
	assert_true(get_nsec(prev) < 1000000000U);
	assert_int_equal(get_nsec(prev) % GRAIN, 0);
	for (i = 0; i < 1000; i++) {
		cr_tai64n_now(cur);
		assert_true(cr_tai64n_cmp(cur, prev) >= 0);
		memcpy(prev, cur, sizeof(cur));
	}
}

int
main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_now),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
