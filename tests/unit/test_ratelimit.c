/*
 * test_ratelimit.c — unit tests of the handshake rate limiter
 * (crypto/ratelimit.c): scripted cases with injected times (burst, refill,
 * per-source and per-/64 buckets, IPv4/IPv6 separation, full table, GC), the
 * Linux WireGuard ratelimiter self-test timings adapted, and random
 * (source, time, GC) streams checked against a naive model: an array of
 * buckets searched linearly, with the same token arithmetic.
 * Single-threaded. Set GATE44_SEED to replay a random run.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ratelimit.h"
#include "wg_const.h"

#define SEC  UINT64_C(1000000000)
#define COST (SEC / WG_RATELIMIT_PACKETS_PER_SECOND) /* 50 ms */
#define TMAX (COST * WG_RATELIMIT_BURST)

struct src {
	int family;
	uint8_t addr[16];
};

/* The sources the scripts name by index. */
static const struct src srcs[] = {
	/* 0 */ {AF_INET, {10, 0, 0, 1}},
	/* 1 */ {AF_INET, {10, 0, 0, 2}},
	/* 2 */ {AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
	/* 3: same /64 as 2 */
	{AF_INET6,
	 {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	/* 4: 2001:db8:0:2::1, the next /64 */
	{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1}},
	/* 5: 0a00:0001::, the bytes of 10.0.0.1 then zeros */
	{AF_INET6, {10, 0, 0, 1}},
	/* 6 */ {AF_INET, {10, 0, 0, 3}},
	/* 7: same /64 as 2 */
	{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	/* 8: 2001:db9:0:1::1, differs in the first 32 bits */
	{AF_INET6, {0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
	/* 9: 2001:db8:1:1::1, differs in bits 32-63 */
	{AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}},
	/* 10: an unknown family */
	{AF_UNIX, {10, 0, 0, 1}},
};

enum op { ALLOW, DENY, GC, COUNT };

struct step {
	enum op op;
	uint64_t t;   /* ns */
	unsigned arg; /* source index for ALLOW/DENY, entries for COUNT */
	unsigned rep; /* ALLOW/DENY: how many times (0 = once) */
};

struct script {
	const char *name;
	unsigned max_entries;
	const struct step *steps;
	size_t n;
};

#define SCRIPT(nm, max, ...)                                                                     \
	{                                                                                        \
		.name = (nm), .max_entries = (max), .steps = (const struct step[]){__VA_ARGS__}, \
		.n = sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step),           \
	}

static const struct script scripts[] = {
	SCRIPT("burst of 5 then denial", 16, {ALLOW, 0, 0, 5}, {DENY, 0, 0, 3}, {COUNT, 0, 1, 0}),
	SCRIPT("refill at 20/s", 16, {ALLOW, 0, 0, 5}, {DENY, 0, 0, 0}, {DENY, COST - 1, 0, 0},
	       {ALLOW, COST, 0, 0}, {DENY, COST, 0, 0}, {DENY, COST + COST / 2, 0, 0},
	       {ALLOW, 2 * COST, 0, 0}, {ALLOW, 3 * COST, 0, 0}, {ALLOW, 4 * COST, 0, 0},
	       {DENY, 4 * COST + COST / 2, 0, 0}, {ALLOW, 5 * COST, 0, 0}, {ALLOW, 7 * COST, 0, 2},
	       {DENY, 7 * COST, 0, 0},
	       /* a long rest fills the bucket to the burst, no more */
	       {ALLOW, 10 * SEC, 0, 5}, {DENY, 10 * SEC, 0, 0}, {DENY, 10 * SEC + COST - 1, 0, 0},
	       {ALLOW, 10 * SEC + COST, 0, 0}),
	SCRIPT("sources are independent", 16, {ALLOW, 0, 0, 5}, {DENY, 0, 0, 0}, {ALLOW, 0, 1, 5},
	       {DENY, 0, 1, 0}, {DENY, 0, 0, 0}, {ALLOW, 0, 6, 0}, {ALLOW, COST, 0, 0},
	       {ALLOW, COST, 1, 0}, {DENY, COST, 0, 0}, {COUNT, COST, 3, 0}),
	SCRIPT("an IPv6 /64 is one source", 16, {ALLOW, 0, 2, 3}, {ALLOW, 0, 3, 1},
	       {ALLOW, 0, 7, 0}, {DENY, 0, 2, 0}, {DENY, 0, 3, 0}, {DENY, 0, 7, 0},
	       {ALLOW, 0, 4, 5}, {DENY, 0, 4, 0}, {ALLOW, 0, 8, 5}, {ALLOW, 0, 9, 5},
	       {DENY, 0, 9, 0}, {COUNT, 0, 4, 0}, {ALLOW, COST, 3, 0}, {DENY, COST, 2, 0}),
	SCRIPT("IPv4 and IPv6 with the same leading bytes", 16, {ALLOW, 0, 0, 5}, {DENY, 0, 0, 0},
	       {ALLOW, 0, 5, 5}, {DENY, 0, 5, 0}, {COUNT, 0, 2, 0}),
	SCRIPT("unknown family", 16, {DENY, 0, 10, 3}, {COUNT, 0, 0, 0}, {ALLOW, 0, 0, 0}),
	SCRIPT("full table: new denied, known allowed", 3, {ALLOW, 0, 0, 0}, {ALLOW, 0, 1, 0},
	       {ALLOW, 0, 6, 0}, {COUNT, 0, 3, 0}, {DENY, 0, 2, 2}, {DENY, 0, 4, 0},
	       {COUNT, 0, 3, 0}, {ALLOW, 0, 0, 4}, {DENY, 0, 0, 0}, {ALLOW, 0, 1, 4},
	       {DENY, 0, 5, 0}, {ALLOW, COST, 0, 0}, {COUNT, COST, 3, 0}),
	SCRIPT("GC frees idle entries", 2, {ALLOW, 0, 0, 0}, {ALLOW, 0, 1, 0}, {DENY, 0, 6, 0},
	       {GC, SEC / 2, 0, 0}, {COUNT, SEC / 2, 2, 0},
	       /* idle exactly 1 s stays (Linux: now - last > NSEC_PER_SEC) */
	       {GC, SEC, 0, 0}, {COUNT, SEC, 2, 0}, {DENY, SEC, 6, 0}, {GC, SEC + 1, 0, 0},
	       {COUNT, SEC + 1, 0, 0}, {ALLOW, SEC + 2, 6, 0}, {ALLOW, SEC + 2, 0, 0},
	       {DENY, SEC + 2, 1, 0}, {COUNT, SEC + 2, 2, 0}),
	/* A GC keeps recent entries with their state: had source 1 been
	 * collected it would come back with a full burst. */
	SCRIPT("GC keeps active entries", 4, {ALLOW, 0, 0, 0}, {ALLOW, SEC - COST, 1, 5},
	       {DENY, SEC - COST, 1, 0}, {GC, SEC + 1, 0, 0}, {COUNT, SEC + 1, 1, 0},
	       {ALLOW, SEC + 1, 1, 0}, {DENY, SEC + 1, 1, 0}, {ALLOW, SEC + 1, 0, 5},
	       {DENY, SEC + 1, 0, 0}, {COUNT, SEC + 1, 2, 0}),
	/* A denied packet still counts as activity: a flood stays limited. */
	SCRIPT("denied packets keep the entry", 4, {ALLOW, 0, 0, 5}, {DENY, COST / 2, 0, 0},
	       {GC, SEC + COST / 4, 0, 0}, {COUNT, SEC + COST / 4, 1, 0},
	       {GC, SEC + COST / 2 + 1, 0, 0}, {COUNT, SEC + COST / 2 + 1, 0, 0}),
	/* A time before the last one seen adds nothing and does not wrap. */
	SCRIPT("time going back", 16, {ALLOW, SEC, 0, 5}, {DENY, SEC / 2, 0, 0}, {DENY, 0, 0, 0},
	       {DENY, SEC + COST - 1, 0, 0}, {ALLOW, SEC + COST, 0, 0}, {GC, SEC / 2, 0, 0},
	       {COUNT, SEC / 2, 1, 0}),
};

static void
test_scripts(void **state)
{
	size_t s, i;

	(void)state;
	for (s = 0; s < sizeof(scripts) / sizeof(scripts[0]); s++) {
		const struct script *sc = &scripts[s];
		struct cr_ratelimit *rl = cr_ratelimit_create(sc->max_entries);

		assert_non_null(rl);
		for (i = 0; i < sc->n; i++) {
			const struct step *st = &sc->steps[i];
			unsigned k, rep = st->rep ? st->rep : 1;

			switch (st->op) {
			case ALLOW:
			case DENY:
				for (k = 0; k < rep; k++) {
					bool got = cr_ratelimit_allow(rl, srcs[st->arg].family,
								      srcs[st->arg].addr, st->t);

					if (got != (st->op == ALLOW))
						fail_msg("%s step %zu (#%u): source %u at %" PRIu64
							 " ns %s",
							 sc->name, i + 1, k + 1, st->arg, st->t,
							 got ? "allowed" : "denied");
				}
				break;
			case GC:
				cr_ratelimit_gc(rl, st->t);
				break;
			case COUNT:
				if (cr_ratelimit_count(rl) != st->arg)
					fail_msg("%s step %zu: %u entries, want %u", sc->name,
						 i + 1, cr_ratelimit_count(rl), st->arg);
				break;
			}
		}
		cr_ratelimit_free(rl);
	}
}

/*
 * Linux selftest/ratelimiter.c timings_test, with times injected instead of
 * slept: for each row, after waiting `sleep`, a fixed IPv4 source and a
 * fixed IPv6 /64 (low half changed every row) get `result`, while a fresh
 * IPv4 address and a fresh /64 are always allowed. Then capacity_test: with
 * an empty table, max_entries sources pass and one more does not.
 */
static void
test_linux_selftest(void **state)
{
	/* clang-format off */
	static const struct {
		bool result;
		uint64_t sleep;
	} expected[] = {
		{true, 0}, {true, 0}, {true, 0}, {true, 0}, {true, 0}, /* the burst */
		{false, 0},
		{true, COST},
		{false, 0},
		{true, 2 * COST},
		{true, 0},
		{false, 0},
	};
	/* clang-format on */
	const unsigned max_entries = 64;
	struct cr_ratelimit *rl = cr_ratelimit_create(max_entries);
	uint8_t a4[4], a6[16] = {0};
	uint64_t t = 12345;
	uint32_t v;
	unsigned i;

	(void)state;
	assert_non_null(rl);
	v = 8182;
	for (i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		uint32_t w;

		t += expected[i].sleep;
		a4[0] = v >> 24, a4[1] = v >> 16, a4[2] = v >> 8, a4[3] = v;
		assert_int_equal(cr_ratelimit_allow(rl, AF_INET, a4, t), expected[i].result);
		w = v + i + 1;
		a4[0] = w >> 24, a4[1] = w >> 16, a4[2] = w >> 8, a4[3] = w;
		assert_true(cr_ratelimit_allow(rl, AF_INET, a4, t));

		/* 1212:289188 as the /64, i in both low words */
		memset(a6, 0, sizeof(a6));
		a6[2] = 1212 >> 8, a6[3] = 1212 & 0xff;
		a6[5] = 289188 >> 16, a6[6] = (289188 >> 8) & 0xff, a6[7] = 289188 & 0xff;
		a6[11] = (uint8_t)i, a6[15] = (uint8_t)i;
		assert_int_equal(cr_ratelimit_allow(rl, AF_INET6, a6, t), expected[i].result);
		w = 1212 + i + 1;
		a6[0] = w >> 24, a6[1] = w >> 16, a6[2] = w >> 8, a6[3] = w;
		assert_true(cr_ratelimit_allow(rl, AF_INET6, a6, t));
	}
	cr_ratelimit_free(rl);

	rl = cr_ratelimit_create(max_entries);
	assert_non_null(rl);
	assert_int_equal(cr_ratelimit_count(rl), 0);
	for (i = 0; i <= max_entries; i++) {
		a4[0] = i >> 24, a4[1] = i >> 16, a4[2] = i >> 8, a4[3] = i;
		assert_int_equal(cr_ratelimit_allow(rl, AF_INET, a4, t), i != max_entries);
	}
	assert_int_equal(cr_ratelimit_count(rl), max_entries);
	cr_ratelimit_free(rl);
}

static void
test_create_args(void **state)
{
	struct cr_ratelimit *rl;

	(void)state;
	errno = 0;
	assert_null(cr_ratelimit_create(0));
	assert_int_equal(errno, EINVAL);
	rl = cr_ratelimit_create(1);
	assert_non_null(rl);
	assert_true(cr_ratelimit_allow(rl, AF_INET, srcs[0].addr, 0));
	assert_false(cr_ratelimit_allow(rl, AF_INET, srcs[1].addr, 0));
	cr_ratelimit_gc(rl, 2 * SEC);
	assert_true(cr_ratelimit_allow(rl, AF_INET, srcs[1].addr, 2 * SEC));
	cr_ratelimit_free(rl);
	cr_ratelimit_free(NULL);
}

/* ---- the naive model: an array of buckets, searched linearly ------------- */

struct mentry {
	bool used;
	int family;
	uint8_t prefix[8]; /* IPv4: 4 bytes then zeros; IPv6: the /64 */
	uint64_t tokens, last;
};

struct model {
	struct mentry *e;
	unsigned n;
};

static void
model_key(int family, const uint8_t *addr, uint8_t prefix[8])
{
	memset(prefix, 0, 8);
	memcpy(prefix, addr, family == AF_INET ? 4 : 8);
}

static bool
model_allow(struct model *m, int family, const uint8_t *addr, uint64_t now)
{
	uint8_t prefix[8];
	unsigned i;

	if (family != AF_INET && family != AF_INET6)
		return false;
	model_key(family, addr, prefix);
	for (i = 0; i < m->n; i++) {
		struct mentry *e = &m->e[i];

		if (!e->used || e->family != family || memcmp(e->prefix, prefix, 8) != 0)
			continue;
		if (now > e->last) {
			e->tokens += now - e->last;
			if (e->tokens > TMAX)
				e->tokens = TMAX;
			e->last = now;
		}
		if (e->tokens < COST)
			return false;
		e->tokens -= COST;
		return true;
	}
	for (i = 0; i < m->n; i++) {
		struct mentry *e = &m->e[i];

		if (e->used)
			continue;
		e->used = true;
		e->family = family;
		memcpy(e->prefix, prefix, 8);
		e->tokens = TMAX - COST;
		e->last = now;
		return true;
	}
	return false;
}

static void
model_gc(struct model *m, uint64_t now)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].used && now > m->e[i].last && now - m->e[i].last > SEC)
			m->e[i].used = false;
}

static unsigned
model_count(const struct model *m)
{
	unsigned i, c = 0;

	for (i = 0; i < m->n; i++)
		c += m->e[i].used;
	return c;
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

/*
 * One run: `pool` sources (a third IPv4, the rest IPv6 /64s of which some
 * repeat IPv4 addresses' bytes; every IPv6 packet gets a random low half)
 * against a table of max_entries. A few hot sources send 3/4 of the packets,
 * faster than 20/s, so their buckets run dry; the rest are enough to fill
 * the table within a second. Time advances `tick` ns per packet on average,
 * leaps past the GC horizon about 40 times a run, and sometimes steps back
 * (a stale timestamp); GC runs at random.
 */
struct run {
	unsigned max_entries, pool;
	unsigned long ops;
	uint64_t tick;
};

static void
random_run(uint64_t seed, const struct run *run)
{
	const unsigned max_entries = run->max_entries, pool = run->pool;
	const unsigned long ops = run->ops;
	struct cr_ratelimit *rl = cr_ratelimit_create(max_entries);
	struct model m = {calloc(max_entries, sizeof(struct mentry)), max_entries};
	struct src *p = calloc(pool, sizeof(*p));
	unsigned long op, allowed = 0, gcs = 0, full = 0, added = 0, collected = 0;
	uint64_t s = seed, now = SEC;
	unsigned i, hot = pool / 8 + 1;

	assert_non_null(rl);
	assert_non_null(m.e);
	assert_non_null(p);
	for (i = 0; i < pool; i++) {
		uint64_t x = rnd(&s);

		if (i % 3 == 0) {
			p[i].family = AF_INET;
			memcpy(p[i].addr, &x, 4);
		} else if (i % 3 == 1 && i >= 3) {
			/* the same leading bytes as an IPv4 source */
			p[i].family = AF_INET6;
			memcpy(p[i].addr, p[i - 1].addr, 4);
		} else {
			p[i].family = AF_INET6;
			memcpy(p[i].addr, &x, 8);
		}
	}

	for (op = 0; op < ops; op++) {
		uint64_t x = rnd(&s), sel = x % 1000;
		unsigned k, n;
		bool want, got, leap;

		/* the clock: mean step ~ tick; after a quiet spell, GC often runs
		 * before the next packet */
		leap = rnd(&s) % (ops / 40) == 0;
		if (leap)
			now += SEC / 2 + rnd(&s) % (2 * SEC);
		else if (sel < 500)
			;
		else if (sel < 995)
			now += rnd(&s) % (4 * run->tick);
		else
			now -= rnd(&s) % (8 * run->tick); /* a stale timestamp */

		if ((leap && rnd(&s) % 2 == 0) || rnd(&s) % 200 == 0) {
			unsigned before = model_count(&m);

			cr_ratelimit_gc(rl, now);
			model_gc(&m, now);
			gcs++;
			collected += before - model_count(&m);
		}

		/* a few hot sources send most packets, so buckets run dry */
		x = rnd(&s);
		k = (unsigned)(x % 4 ? (x >> 8) % hot : (x >> 8) % pool);
		if (p[k].family == AF_INET6) {
			uint64_t low = rnd(&s);

			memcpy(p[k].addr + 8, &low, 8);
		}
		n = model_count(&m);
		full += n == max_entries;
		want = model_allow(&m, p[k].family, p[k].addr, now);
		added += model_count(&m) - n;
		got = cr_ratelimit_allow(rl, p[k].family, p[k].addr, now);
		if (got != want)
			fail_msg("seed 0x%" PRIx64 " max %u op %lu: source %u at %" PRIu64
				 " ns: %d, model %d",
				 seed, max_entries, op, k, now, got, want);
		allowed += got;
		if (cr_ratelimit_count(rl) != model_count(&m))
			fail_msg("seed 0x%" PRIx64 " max %u op %lu: %u entries, model %u", seed,
				 max_entries, op, cr_ratelimit_count(rl), model_count(&m));
	}
	print_message("ratelimit random: max %u, %u sources: %lu ops, %lu allowed, %lu full, "
		      "%lu entries added, %lu collected in %lu GCs\n",
		      max_entries, pool, ops, allowed, full, added, collected, gcs);
	/* the run must have seen both verdicts, a full table, and churn */
	assert_true(allowed > ops / 10 && allowed < ops - ops / 10);
	assert_true(full > ops / 100);
	assert_true(added > 4 * max_entries && collected > 4 * max_entries);
	cr_ratelimit_free(rl);
	free(m.e);
	free(p);
}

static void
test_random_vs_model(void **state)
{
	static const struct run runs[] = {
		{.max_entries = 1, .pool = 3, .ops = 20000, .tick = 20000000},
		{.max_entries = 8, .pool = 12, .ops = 200000, .tick = 5000000},
		{.max_entries = 64, .pool = 100, .ops = 200000, .tick = 1000000},
		{.max_entries = 500, .pool = 800, .ops = 100000, .tick = 200000},
	};
	uint64_t seed = UINT64_C(0x726c343467617465);
	const char *env = getenv("GATE44_SEED");
	unsigned i;

	(void)state;
	if (env != NULL)
		seed = strtoull(env, NULL, 0);
	print_message("ratelimit random: seed 0x%" PRIx64 " (set GATE44_SEED to repeat)\n", seed);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		random_run(seed + i, &runs[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_linux_selftest),
		cmocka_unit_test(test_create_args),
		cmocka_unit_test(test_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
