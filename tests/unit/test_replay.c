/*
 * test_replay.c — unit tests of the replay window (crypto/replay.c): table
 * cases, the Linux WireGuard counter self-test adapted, a sweep of jump
 * distances over a full ring, and >= 2^20 random operations checked against
 * a naive model (a set of every accepted counter). Single-threaded.
 *
 * Every step of every case also checks that cr_replay_peek() agrees with
 * cr_replay_check() and leaves the window byte-for-byte unchanged.
 *
 * Set GATE44_SEED to replay a random run; the seed used is always printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

#define W   ((uint64_t)WG_REPLAY_WINDOW_SIZE)
#define RAM ((uint64_t)WG_REJECT_AFTER_MESSAGES)
#define EA  (-EALREADY)
#define ER  (-ERANGE)

/*
 * One call to cr_replay_check() and what it must return. Before it,
 * cr_replay_peek() must return the same and leave the window untouched;
 * after it, peek must refuse the counter.
 */
struct step {
	uint64_t counter;
	int ret;
};

static void
run_step(struct cr_replay *r, uint64_t counter, int want, const char *name, size_t i)
{
	struct cr_replay before = *r;
	int got;

	got = cr_replay_peek(r, counter);
	if (got != want)
		fail_msg("%s step %zu: peek(%" PRIu64 ") = %d, want %d", name, i, counter, got,
			 want);
	if (memcmp(&before, r, sizeof(before)) != 0)
		fail_msg("%s step %zu: peek(%" PRIu64 ") modified the window", name, i, counter);
	got = cr_replay_check(r, counter);
	if (got != want)
		fail_msg("%s step %zu: check(%" PRIu64 ") = %d, want %d", name, i, counter, got,
			 want);
	got = cr_replay_peek(r, counter);
	if (got != (counter >= RAM ? ER : EA))
		fail_msg("%s step %zu: peek(%" PRIu64 ") after check = %d", name, i, counter, got);
}

struct scenario {
	const char *name;
	const struct step *steps;
	size_t n;
};

#define SCENARIO(nm, ...)                                                              \
	{                                                                              \
		.name = (nm), .steps = (const struct step[]){__VA_ARGS__},             \
		.n = sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step), \
	}

#define M 20000 /* a "greatest" far enough from 0 that the window is full */

static const struct scenario scenarios[] = {
	SCENARIO("counter 0 first", {0, 0}, {0, EA}, {1, 0}, {1, EA}, {0, EA}),
	SCENARIO("late counter 0", {5, 0}, {0, 0}, {5, EA}, {0, EA}, {4, 0}),
	SCENARIO("duplicates", {1, 0}, {1, EA}, {2, 0}, {1, EA}, {2, EA}, {3, 0}, {3, EA},
		 {1000, 0}, {1000, EA}, {2, EA}),
	SCENARIO("reordering in window", {10, 0}, {7, 0}, {9, 0}, {8, 0}, {8, EA}, {0, 0}, {11, 0},
		 {10, EA}, {W, 0}, {6, 0}, {5, 0}, {7, EA}, {W - 1, 0}, {W - 1, EA}, {W + 63, 0},
		 {63, 0}, {62, EA}, {64, 0}),
	/* The oldest acceptable counter is exactly greatest - W (Linux: reject
	 * if counter + 1 + W < greatest + 1). */
	SCENARIO("window edge", {M, 0}, {M - W, 0}, {M - W - 1, EA}, {M - W, EA}, {M - W + 1, 0},
		 {M + 1, 0}, {M - W, EA}, {M - W + 1, EA}, {M - W + 2, 0}, {M + 1 + W + 64, 0},
		 {M + 1 + 64, 0}, {M + 64, EA}, {M + 65, EA}),
	SCENARIO("window edge from 0", {W, 0}, {0, 0}, {0, EA}, {W + 1, 0}, {1, 0}, {2, 0},
		 {W + 3, 0}, {2, EA}, {3, 0}, {4, 0}),
	SCENARIO("window edge, 0 unseen", {W + 1, 0}, {0, EA}, {1, 0}, {1, EA}),
	/* Jumps of one ring or more must wipe every word, shorter ones the
	 * words in between: a counter whose ring slot was used a lap ago is
	 * new. */
	SCENARIO("far jumps clear stale bits", {0, 0}, {64, 0}, {8192, 0}, {0, EA}, {64, EA},
		 {8192 + 64, 0}, {8192 + 1, 0}, {3 * 8192 + 5, 0}, {2 * 8192 + 5, EA},
		 {3 * 8192 + 4, 0}, {2 * 8192 + 5 + 64, 0}, {2 * 8192 + 5 + 63, EA},
		 {(1ULL << 40), 0}, {(1ULL << 40) - 1, 0}, {(1ULL << 40) - W, 0},
		 {(1ULL << 40) - W - 1, EA}, {3 * 8192 + 5, EA}),
	SCENARIO("jump of exactly one ring", {0, 0}, {8191, 0}, {8192, 0}, {8192 + 8191, 0},
		 {8192 + 8190, 0}, {8192 + 64, 0}, {8192 + 63, 0}, {8192 + 62, EA}, {8192, EA},
		 {0, EA}),
	SCENARIO("REJECT_AFTER_MESSAGES boundary", {RAM - 1, 0}, {RAM, ER}, {RAM - 1, EA},
		 {RAM + 1, ER}, {UINT64_MAX, ER}, {RAM - 2, 0}, {RAM - 1 - W, 0}, {RAM - 2 - W, EA},
		 {0, EA}, {RAM, ER}),
	SCENARIO("REJECT_AFTER_MESSAGES from empty", {RAM, ER}, {UINT64_MAX, ER},
		 {UINT64_MAX - W, ER}, {0, 0}, {RAM - 1, 0}, {RAM - 1, EA}),
	/* Linux drivers/net/wireguard/selftest/counter.c, tests 1-34 (step n
	 * is Linux's test n), with T_LIM = W + 1; "false" becomes the errno
	 * gate44 reports. */
	SCENARIO("linux selftest 1-34", {0, 0}, {1, 0}, {1, EA}, {9, 0}, {8, 0}, {7, 0}, {7, EA},
		 {W + 1, 0}, {W, 0}, {W, EA}, {W - 1, 0}, {2, 0}, {2, EA}, {W + 1 + 16, 0}, {3, EA},
		 {W + 1 + 16, EA}, {(W + 1) * 4, 0}, {(W + 1) * 4 - W, 0}, {10, EA},
		 {(W + 1) * 4 - (W + 1), EA}, {(W + 1) * 4 - (W + 2), EA},
		 {(W + 1) * 4 - (W - 1), 0}, {(W + 1) * 4 + 1 - (W + 1), EA}, {0, EA}, {RAM, ER},
		 {RAM - 1, 0}, {RAM, ER}, {RAM - 1, EA}, {RAM - 2, 0}, {RAM + 1, ER}, {RAM + 2, ER},
		 {RAM - 2, EA}, {RAM - 3, 0}, {0, EA}),
};

static void
test_scenarios(void **state)
{
	struct cr_replay r;
	size_t s, i;

	(void)state;
	for (s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		cr_replay_init(&r);
		for (i = 0; i < scenarios[s].n; i++)
			run_step(&r, scenarios[s].steps[i].counter, scenarios[s].steps[i].ret,
				 scenarios[s].name, i + 1);
	}
}

/* The loop half of the Linux self-test, in the same order. */
static void
test_linux_selftest_loops(void **state)
{
	struct cr_replay r;
	uint64_t i;

	(void)state;
	cr_replay_init(&r);
	for (i = 1; i <= W; i++)
		run_step(&r, i, 0, "linux loop 1", i);
	run_step(&r, 0, 0, "linux loop 1", 0);
	run_step(&r, 0, EA, "linux loop 1", 0);

	cr_replay_init(&r);
	for (i = 2; i <= W + 1; i++)
		run_step(&r, i, 0, "linux loop 2", i);
	run_step(&r, 1, 0, "linux loop 2", 1);
	run_step(&r, 0, EA, "linux loop 2", 0);

	cr_replay_init(&r);
	for (i = W + 1; i-- > 0;)
		run_step(&r, i, 0, "linux loop 3", i);

	cr_replay_init(&r);
	for (i = W + 2; i-- > 1;)
		run_step(&r, i, 0, "linux loop 4", i);
	run_step(&r, 0, EA, "linux loop 4", 0);

	cr_replay_init(&r);
	for (i = W + 1; i-- > 1;)
		run_step(&r, i, 0, "linux loop 5", i);
	run_step(&r, W + 1, 0, "linux loop 5", W + 1);
	run_step(&r, 0, EA, "linux loop 5", 0);

	cr_replay_init(&r);
	for (i = W + 1; i-- > 1;)
		run_step(&r, i, 0, "linux loop 6", i);
	run_step(&r, 0, 0, "linux loop 6", 0);
	run_step(&r, W + 1, 0, "linux loop 6", W + 1);
}

/*
 * Fill every slot of the ring (counters 0 .. 3 laps), jump ahead by d, then
 * probe every counter from just behind the new window to the new greatest:
 * bits left from earlier laps must not make a new counter look seen.
 */
static void
test_jump_sweep(void **state)
{
	/* clang-format off */
	static const uint64_t jumps[] = {
		1, 2, 63, 64, 65, 127, 128, 129, 4096,
		8063, 8064, 8065, 8127, 8128, 8129, 8191, 8192, 8193, 8255, 8256, 8257,
		16383, 16384, 16385, 100000, (1ULL << 33) + 17,
	};
	/* clang-format on */
	const uint64_t filled = 3 * WG_REPLAY_WINDOW_BITS;
	struct cr_replay r;
	size_t j;

	(void)state;
	for (j = 0; j < sizeof(jumps) / sizeof(jumps[0]); j++) {
		uint64_t old_max = filled - 1, new_max = old_max + jumps[j];
		uint64_t c;

		cr_replay_init(&r);
		for (c = 0; c < filled; c++)
			assert_int_equal(cr_replay_check(&r, c), 0);
		run_step(&r, new_max, 0, "jump sweep", (size_t)jumps[j]);
		for (c = new_max - W - 2; c < new_max; c++) {
			int want = (c < new_max - W || c <= old_max) ? EA : 0;

			run_step(&r, c, want, "jump sweep", (size_t)jumps[j]);
		}
	}
}

/* ---- the naive model: every accepted counter in a set -------------------- */

/* at most EPOCH_MAX accepted counters per epoch: the set stays <= 1/4 full */
enum { SET_BITS = 18, SET_SIZE = 1 << SET_BITS, EPOCH_MAX = SET_SIZE / 4 };

struct model {
	uint64_t *slot; /* counter + 1, 0 = empty; open addressing */
	uint64_t max;	/* highest accepted counter, valid if any */
	int any;
};

static size_t
set_hash(uint64_t v)
{
	return (size_t)((v * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - SET_BITS));
}

static int
set_has(const struct model *m, uint64_t c)
{
	size_t i;

	for (i = set_hash(c + 1); m->slot[i] != 0; i = (i + 1) & (SET_SIZE - 1))
		if (m->slot[i] == c + 1)
			return 1;
	return 0;
}

static void
set_add(struct model *m, uint64_t c)
{
	size_t i;

	for (i = set_hash(c + 1); m->slot[i] != 0; i = (i + 1) & (SET_SIZE - 1))
		;
	m->slot[i] = c + 1;
}

/* The definition: never at or past REJECT_AFTER_MESSAGES; never more than
 * W behind the highest accepted counter; never twice. */
static int
model_verdict(const struct model *m, uint64_t c)
{
	if (c >= RAM)
		return ER;
	if (m->any && c + W < m->max)
		return EA;
	if (set_has(m, c))
		return EA;
	return 0;
}

static void
model_accept(struct model *m, uint64_t c)
{
	set_add(m, c);
	if (!m->any || c > m->max)
		m->max = c;
	m->any = 1;
}

static uint64_t
rnd(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t
behind(uint64_t hi, uint64_t back, uint64_t *s)
{
	return hi >= back ? hi - back : rnd(s) % (hi + 1);
}

static void
test_random_vs_model(void **state)
{
	const unsigned long total = 1UL << 20;
	uint64_t recent[64] = {0};
	unsigned long op = 0, accepted = 0, old = 0, dup = 0, range = 0, epochs = 0;
	uint64_t seed = UINT64_C(0x67617465343452), s;
	struct model m;
	struct cr_replay r;
	const char *env = getenv("GATE44_SEED");

	(void)state;
	if (env != NULL)
		seed = strtoull(env, NULL, 0);
	print_message("replay random: seed 0x%" PRIx64 " (set GATE44_SEED to repeat)\n", seed);
	s = seed;
	m.slot = malloc(SET_SIZE * sizeof(*m.slot));
	assert_non_null(m.slot);

	while (op < total) {
		unsigned long len = 1000 + rnd(&s) % (EPOCH_MAX - 1000), end;
		uint64_t base, kind = rnd(&s) % 8;

		/* Each epoch is a new keypair, starting at 0, mid-range, or (a
		 * short one) just below REJECT_AFTER_MESSAGES. */
		if (kind < 4) {
			base = 0;
		} else if (kind < 7) {
			base = rnd(&s) >> 24;
		} else {
			base = RAM - 1 - rnd(&s) % 40000;
			len = 1000 + len % 20000;
		}
		memset(m.slot, 0, SET_SIZE * sizeof(*m.slot));
		m.any = 0;
		m.max = 0;
		cr_replay_init(&r);
		epochs++;
		end = op + len < total ? op + len : total;
		for (; op < end; op++) {
			uint64_t hi = m.any ? m.max : base, x = rnd(&s), c;
			unsigned sel = (unsigned)(x % 1000);
			struct cr_replay before;
			int want, got;

			x = rnd(&s);
			if (sel < 450)
				c = hi + 1 + x % 4;
			else if (sel < 700)
				c = behind(hi, x % 64, &s);
			else if (sel < 850)
				c = behind(hi, x % (W + 256), &s);
			else if (sel < 900)
				c = behind(hi, W + 2 - x % 5, &s);
			else if (sel < 950)
				c = recent[x % 64];
			else if (sel < 990)
				c = hi + x % (3 * WG_REPLAY_WINDOW_BITS);
			else if (sel < 997)
				c = hi + (x >> 32);
			else if (sel < 999)
				/* RAM - 2 and RAM - 1 would end the epoch's progress:
				 * only near-limit epochs may accept them */
				c = kind == 7 ? RAM - 2 + x % 4 : RAM + x % 4;
			else
				c = UINT64_MAX - x % 4;
			recent[op % 64] = c;

			want = model_verdict(&m, c);
			if ((op & 7) == 0)
				before = r;
			got = cr_replay_peek(&r, c);
			if (got != want)
				fail_msg("op %lu: peek(%" PRIu64 ") = %d, model %d (seed 0x%" PRIx64
					 ")",
					 op, c, got, want, seed);
			if ((op & 7) == 0 && memcmp(&before, &r, sizeof(r)) != 0)
				fail_msg("op %lu: peek modified the window", op);
			got = cr_replay_check(&r, c);
			if (got != want)
				fail_msg("op %lu: check(%" PRIu64
					 ") = %d, model %d (seed 0x%" PRIx64 ")",
					 op, c, got, want, seed);
			if (want == 0) {
				model_accept(&m, c);
				accepted++;
			} else if (want == ER) {
				range++;
			} else if (c + W < m.max) {
				old++;
			} else {
				dup++;
			}
		}
	}
	print_message("replay random: %lu ops in %lu epochs: %lu accepted, %lu too old, "
		      "%lu seen, %lu out of range\n",
		      op, epochs, accepted, old, dup, range);
	/* every verdict must have been exercised plenty */
	assert_true(accepted > total / 4);
	assert_true(old > total / 50);
	assert_true(dup > total / 50);
	assert_true(range > total / 1000);
	free(m.slot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_linux_selftest_loops),
		cmocka_unit_test(test_jump_sweep),
		cmocka_unit_test(test_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
