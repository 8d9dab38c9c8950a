/*
 * test_fib.c — unit tests of dataplane/fib.c (cmocka): the next-hop
 * encoding, table-driven adds/deletes/lookups, longest match in any
 * insertion order, a naive linear-scan model on random routes and
 * addresses, abort, -ENOSPC in the middle of a batch, and one reader thread
 * racing the writer's commits. Runs EAL once, without hugepages, on lcore 0;
 * the reader is a plain pthread registered with rte_rcu_qsbr.
 *
 * FIB_SEED=<n> in the environment runs the random test with another seed;
 * FIB_TEST=<glob> runs only the tests whose names match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "fib.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLOW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW 1
#endif
#endif
#ifndef SLOW
#define SLOW 0
#endif

#define PEER(i)	 DP_NH(DP_NH_PEER, (i))
#define ADJ(i)	 DP_NH(DP_NH_ADJ, (i))
#define LOCAL(i) DP_NH(DP_NH_LOCAL, (i))
#define CONN(i)	 DP_NH(DP_NH_CONNECTED, (i))
#define DROP(i)	 DP_NH(DP_NH_DROP, (i))

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* "44.0.0.0" or "2001:db8::" -> family and 4 or 16 bytes */
static int
parse(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (strchr(s, ':') != NULL) {
		assert_int_equal(inet_pton(AF_INET6, s, addr), 1);
		return AF_INET6;
	}
	assert_int_equal(inet_pton(AF_INET, s, addr), 1);
	return AF_INET;
}

static uint32_t
lookup_str(const struct dp_fib *fib, const char *s)
{
	uint8_t a[16];

	if (parse(s, a) == AF_INET)
		return dp_fib_lookup4(fib, (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
	return dp_fib_lookup6(fib, a);
}

/* ---- next-hop encoding ---- */

static void
test_nh_encoding(void **state)
{
	static const struct {
		unsigned int kind;
		uint32_t index;
		uint32_t nh;
	} cases[] = {
		{DP_NH_DROP, 0, 0},
		{DP_NH_PEER, 1, 0x10000001},
		{DP_NH_ADJ, 0x0fffffff, 0x2fffffff},
		{DP_NH_LOCAL, 42, 0x3000002a},
		{DP_NH_CONNECTED, 3, 0x40000003},
		{DP_NH_PEER, 0x1fffffff, 0x1fffffff}, /* index cut to 28 bits */
	};
	size_t i;

	(void)state;
	for (i = 0; i < RTE_DIM(cases); i++) {
		uint32_t nh = dp_nh_make(cases[i].kind, cases[i].index);

		assert_int_equal(nh, cases[i].nh);
		assert_int_equal(dp_nh_kind(nh), cases[i].kind);
		assert_int_equal(dp_nh_index(nh), cases[i].index & DP_NH_INDEX_MASK);
		assert_true(nh < (1u << 31));
	}
}

/* ---- table-driven basics ---- */

enum step_op { ADD, DEL, GET, LOOKUP, COUNT4, COUNT6 };

struct step {
	enum step_op op;
	const char *addr; /* prefix, or the address looked up */
	int plen;
	uint32_t nh; /* ADD: the next hop; GET, LOOKUP: the one expected */
	int ret;     /* ADD, DEL, GET: return expected; COUNT: count */
};

static const struct step basics[] = {
	{LOOKUP, "44.0.0.1", 0, DROP(0), 0}, /* empty: default is drop */
	{LOOKUP, "2001:db8::1", 0, DROP(0), 0},
	{ADD, "44.0.0.0", 9, PEER(1), 0},
	{ADD, "44.0.0.0", 9, PEER(2), -EEXIST},
	{GET, "44.0.0.0", 9, PEER(1), 0},
	{GET, "44.0.0.0", 10, 0, -ENOENT},
	{GET, "44.0.0.1", 9, 0, -EINVAL},
	{ADD, "44.128.0.0", 8, PEER(1), -EINVAL},   /* host bits */
	{ADD, "44.0.0.1", 31, PEER(1), -EINVAL},    /* host bits */
	{ADD, "44.0.0.0", 33, PEER(1), -EINVAL},    /* plen */
	{ADD, "44.0.0.0", 24, 5u << 28, -EINVAL},   /* kind */
	{ADD, "44.0.0.0", 24, 0x80000001, -EINVAL}, /* bit 31 */
	{ADD, "0.0.0.1", 0, PEER(1), -EINVAL},
	{DEL, "45.0.0.0", 8, 0, -ENOENT},
	{DEL, "44.0.0.0", 10, 0, -ENOENT},
	{DEL, "44.0.0.1", 32, 0, -ENOENT},
	{DEL, "44.0.0.1", 31, 0, -EINVAL},
	{LOOKUP, "44.1.2.3", 0, PEER(1), 0},
	{LOOKUP, "44.127.255.255", 0, PEER(1), 0},
	{LOOKUP, "44.128.0.0", 0, DROP(0), 0},
	{LOOKUP, "43.255.255.255", 0, DROP(0), 0},
	{ADD, "0.0.0.0", 0, ADJ(7), 0},
	{LOOKUP, "8.8.8.8", 0, ADJ(7), 0},
	{LOOKUP, "44.1.2.3", 0, PEER(1), 0},
	{ADD, "44.1.2.3", 32, LOCAL(0), 0},
	{ADD, "44.1.2.0", 24, DROP(3), 0}, /* blackhole inside the /9 */
	{LOOKUP, "44.1.2.3", 0, LOCAL(0), 0},
	{LOOKUP, "44.1.2.4", 0, DROP(3), 0},
	{LOOKUP, "44.1.3.4", 0, PEER(1), 0},
	{ADD, "255.255.255.255", 32, CONN(2), 0},
	{LOOKUP, "255.255.255.255", 0, CONN(2), 0},
	{LOOKUP, "255.255.255.254", 0, ADJ(7), 0},
	{COUNT4, NULL, 0, 0, 5},
	{DEL, "0.0.0.0", 0, 0, 0},
	{LOOKUP, "8.8.8.8", 0, DROP(0), 0},
	{DEL, "0.0.0.0", 0, 0, -ENOENT},
	{DEL, "44.1.2.0", 24, 0, 0},
	{LOOKUP, "44.1.2.4", 0, PEER(1), 0},
	{LOOKUP, "44.1.2.3", 0, LOCAL(0), 0},
	{DEL, "44.0.0.0", 9, 0, 0},
	{LOOKUP, "44.1.2.4", 0, DROP(0), 0},
	{LOOKUP, "44.1.2.3", 0, LOCAL(0), 0},
	{COUNT4, NULL, 0, 0, 2},
	/* IPv6 */
	{ADD, "2001:db8::", 32, CONN(2), 0},
	{ADD, "2001:db8::", 32, CONN(3), -EEXIST},
	{ADD, "2001:db8::", 129, CONN(2), -EINVAL},
	{ADD, "2001:db8::1", 64, CONN(2), -EINVAL},
	{ADD, "2001:db8:8000::", 31, CONN(2), -EINVAL},
	{ADD, "2001:db8:0:1::", 64, PEER(9), 0},
	{ADD, "2001:db8:0:1::44", 128, LOCAL(1), 0},
	{ADD, "::", 0, ADJ(1), 0},
	{ADD, "::", 1, ADJ(1), 0},
	{GET, "2001:db8:0:1::", 64, PEER(9), 0},
	{GET, "2001:db8:0:1::", 65, 0, -ENOENT},
	{GET, "2001:db8:0:1::", 63, 0, -EINVAL},
	{LOOKUP, "2001:db8:0:1::5", 0, PEER(9), 0},
	{LOOKUP, "2001:db8:0:1::44", 0, LOCAL(1), 0},
	{LOOKUP, "2001:db8:0:1::45", 0, PEER(9), 0},
	{LOOKUP, "2001:db8:0:2::5", 0, CONN(2), 0},
	{LOOKUP, "2001:db9::", 0, ADJ(1), 0},
	{LOOKUP, "ffff::1", 0, ADJ(1), 0},
	{COUNT6, NULL, 0, 0, 5},
	{DEL, "::", 0, 0, 0},
	{LOOKUP, "ffff::1", 0, DROP(0), 0},
	{LOOKUP, "2001:db9::", 0, ADJ(1), 0},
	{DEL, "2001:db8:0:1::", 64, 0, 0},
	{LOOKUP, "2001:db8:0:1::5", 0, CONN(2), 0},
	{LOOKUP, "2001:db8:0:1::44", 0, LOCAL(1), 0},
	{DEL, "2001:db8:0:1::44", 128, 0, 0},
	{LOOKUP, "2001:db8:0:1::44", 0, CONN(2), 0},
	{DEL, "2001:db8:0:1::44", 128, 0, -ENOENT},
	{COUNT6, NULL, 0, 0, 2},
	{COUNT4, NULL, 0, 0, 2},
};

/* the routes left at the end of basics[] */
static const struct step basics_left[] = {
	{ADD, "44.1.2.3", 32, LOCAL(0), 0},
	{ADD, "255.255.255.255", 32, CONN(2), 0},
	{ADD, "2001:db8::", 32, CONN(2), 0},
	{ADD, "::", 1, ADJ(1), 0},
};

struct walk_acc {
	int family[16];
	uint8_t addr[16][16];
	uint8_t plen[16];
	uint32_t nh[16];
	unsigned int n;
	unsigned int stop_after;
};

static int
walk_collect(int family, const uint8_t *addr, uint8_t plen, uint32_t nh, void *arg)
{
	struct walk_acc *w = arg;

	if (w->n == RTE_DIM(w->nh))
		return -ENOBUFS;
	w->family[w->n] = family;
	memset(w->addr[w->n], 0, 16);
	memcpy(w->addr[w->n], addr, family == AF_INET ? 4 : 16);
	w->plen[w->n] = plen;
	w->nh[w->n] = nh;
	w->n++;
	return w->n == w->stop_after ? 77 : 0;
}

static void
run_steps(struct dp_fib *fib, const struct step *steps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		uint8_t a[16];
		uint32_t nh = 0xdeadbeef;
		int fam = AF_UNSPEC, ret = 0;

		if (s->addr != NULL)
			fam = parse(s->addr, a);
		switch (s->op) {
		case ADD:
			ret = dp_fib_add(fib, fam, a, (uint8_t)s->plen, s->nh);
			break;
		case DEL:
			ret = dp_fib_del(fib, fam, a, (uint8_t)s->plen);
			break;
		case GET:
			ret = dp_fib_get(fib, fam, a, (uint8_t)s->plen, &nh);
			if (ret == 0 && nh != s->nh)
				ret = 1000;
			break;
		case LOOKUP:
			nh = lookup_str(fib, s->addr);
			ret = nh == s->nh ? 0 : 1000;
			break;
		case COUNT4:
			ret = (int)dp_fib_count(fib, AF_INET);
			break;
		case COUNT6:
			ret = (int)dp_fib_count(fib, AF_INET6);
			break;
		}
		if (ret != s->ret)
			fail_msg("step %zu (%d %s/%d): got %d (nh %#x), want %d (nh %#x)", i, s->op,
				 s->addr ? s->addr : "-", s->plen, ret, nh, s->ret, s->nh);
	}
}

static void
test_basics(void **state)
{
	struct dp_fib *fib;
	struct walk_acc w;
	uint8_t a[16] = {0};
	size_t i, j;

	(void)state;
	fib = dp_fib_create("basics", 64, 64, SOCKET_ID_ANY, NULL);
	assert_non_null(fib);
	run_steps(fib, basics, RTE_DIM(basics));
	assert_int_equal(dp_fib_verify(fib), 0);

	/* bad family */
	assert_int_equal(dp_fib_add(fib, AF_UNIX, a, 0, PEER(1)), -EAFNOSUPPORT);
	assert_int_equal(dp_fib_del(fib, AF_UNIX, a, 0), -EAFNOSUPPORT);
	assert_int_equal(dp_fib_count(fib, AF_UNIX), 0);

	/* walk: exactly the routes left */
	memset(&w, 0, sizeof(w));
	assert_int_equal(dp_fib_walk(fib, walk_collect, &w), 0);
	assert_int_equal(w.n, RTE_DIM(basics_left));
	for (i = 0; i < RTE_DIM(basics_left); i++) {
		int fam = parse(basics_left[i].addr, a);

		for (j = 0; j < w.n; j++)
			if (w.family[j] == fam && memcmp(w.addr[j], a, 16) == 0 &&
			    w.plen[j] == basics_left[i].plen && w.nh[j] == basics_left[i].nh)
				break;
		assert_true(j < w.n);
	}
	/* a callback's non-zero return stops the walk and is returned */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_int_equal(dp_fib_walk(fib, walk_collect, &w), 77);
	assert_int_equal(w.n, 2);
	dp_fib_free(fib);
}

/* create: names and families */
static void
test_create(void **state)
{
	struct dp_fib *a, *b;
	uint8_t addr[16] = {44};

	(void)state;
	assert_null(dp_fib_create("zero", 0, 0, SOCKET_ID_ANY, NULL));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(dp_fib_create("", 8, 8, SOCKET_ID_ANY, NULL));
	assert_null(dp_fib_create("seventeen-chars-x", 8, 8, SOCKET_ID_ANY, NULL));
	assert_int_equal(rte_errno, ENAMETOOLONG);

	/* longest name, IPv4 only; and a second FIB, IPv6 only */
	a = dp_fib_create("sixteen-chars-xy", 8, 0, SOCKET_ID_ANY, NULL);
	assert_non_null(a);
	b = dp_fib_create("v6only", 0, 8, SOCKET_ID_ANY, NULL);
	assert_non_null(b);
	assert_null(dp_fib_create("v6only", 0, 8, SOCKET_ID_ANY, NULL));
	assert_int_equal(rte_errno, EEXIST);

	assert_int_equal(dp_fib_add(a, AF_INET, addr, 8, PEER(1)), 0);
	assert_int_equal(dp_fib_add(a, AF_INET6, addr, 8, PEER(1)), -EAFNOSUPPORT);
	assert_int_equal(dp_fib_add(b, AF_INET, addr, 8, PEER(1)), -EAFNOSUPPORT);
	assert_int_equal(dp_fib_add(b, AF_INET6, addr, 8, PEER(2)), 0);
	assert_int_equal(dp_fib_lookup4(a, 0x2c000001), PEER(1));
	assert_int_equal(dp_fib_lookup4(b, 0x2c000001), DP_NH_DROP);
	assert_int_equal(dp_fib_lookup6(a, addr), DP_NH_DROP);
	assert_int_equal(dp_fib_lookup6(b, addr), PEER(2));
	assert_int_equal(dp_fib_count(a, AF_INET6), 0);
	assert_int_equal(dp_fib_verify(a), 0);
	assert_int_equal(dp_fib_verify(b), 0);
	dp_fib_free(a);
	dp_fib_free(b);
	dp_fib_free(NULL);

	/* the name is free again */
	b = dp_fib_create("v6only", 0, 8, SOCKET_ID_ANY, NULL);
	assert_non_null(b);
	dp_fib_free(b);
}

/* ---- longest match, in any insertion and deletion order ---- */

struct nest {
	const char *prefix;
	int plen;
	uint32_t nh;
};

static const struct nest nest4[] = {
	{"0.0.0.0", 0, ADJ(1)},
	{"44.0.0.0", 8, PEER(1)},
	{"44.128.0.0", 10, PEER(2)},
	{"44.130.0.0", 16, PEER(3)},
	{"44.130.1.0", 24, PEER(4)},
	{"44.130.1.128", 25, PEER(5)},
	{"44.130.1.130", 31, PEER(6)},
	{"44.130.1.131", 32, PEER(7)},
	{"44.130.1.0", 26, DROP(1)},
	{"44.130.0.0", 23, LOCAL(1)},
	/* the top of the address space (DPDK 22.11 wrap-around, see fib.c) */
	{"0.0.0.0", 1, ADJ(2)},
	{"128.0.0.0", 1, ADJ(3)},
	{"224.0.0.0", 3, DROP(4)},
	{"255.255.255.255", 32, LOCAL(9)},
};

static const struct nest nest6[] = {
	{"::", 0, ADJ(1)},
	{"2000::", 3, PEER(1)},
	{"2001:db8::", 32, PEER(2)},
	{"2001:db8:44::", 48, PEER(3)},
	{"2001:db8:44:1::", 64, PEER(4)},
	{"2001:db8:44:1:8000::", 65, PEER(5)},
	{"2001:db8:44:1:8000::100", 120, PEER(6)},
	{"2001:db8:44:1:8000::1ff", 128, PEER(7)},
	{"2001:db8:44:1:8000::1fe", 127, LOCAL(2)},
	{"2001:db8:44::", 56, DROP(2)},
	{"::", 1, ADJ(2)},
	{"8000::", 1, ADJ(3)},
	{"e000::", 3, DROP(4)},
	{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, LOCAL(9)},
};

static const char *const probes4[] = {
	"1.2.3.4",	   "44.0.0.0",	   "44.127.255.255",  "44.128.0.0",   "44.191.255.255",
	"44.130.0.1",	   "44.130.1.1",   "44.130.1.63",     "44.130.1.64",  "44.130.1.127",
	"44.130.1.128",	   "44.130.1.129", "44.130.1.130",    "44.130.1.131", "44.130.1.132",
	"44.130.1.255",	   "44.130.2.0",   "44.131.0.0",      "44.192.0.0",   "255.255.255.255",
	"0.0.0.0",	   "0.0.0.1",	   "127.255.255.255", "128.0.0.0",    "200.0.0.1",
	"223.255.255.255", "224.0.0.0",	   "255.255.255.254",
};

static const char *const probes6[] = {
	"::1",
	"2001:db8::1",
	"2001:db8:44::",
	"2001:db8:44:0:ffff::",
	"2001:db8:44:1::1",
	"2001:db8:44:1:7fff:ffff:ffff:ffff",
	"2001:db8:44:1:8000::",
	"2001:db8:44:1:8000::ff",
	"2001:db8:44:1:8000::100",
	"2001:db8:44:1:8000::1fd",
	"2001:db8:44:1:8000::1fe",
	"2001:db8:44:1:8000::1ff",
	"2001:db8:44:1:8000::200",
	"2001:db8:44:2::",
	"2001:db8:45::",
	"3fff:ffff::",
	"4000::",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
	"::",
	"7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"8000::",
	"dfff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"e000::",
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool
covers(const uint8_t *prefix, int plen, const uint8_t *ip)
{
	int i;

	for (i = 0; i < plen; i++)
		if (((prefix[i / 8] ^ ip[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

/* the answer the nested table should give, by linear scan of present[] */
static uint32_t
nest_expect(const struct nest *t, size_t n, const bool *present, const char *probe)
{
	uint8_t ip[16], p[16];
	uint32_t nh = DP_NH_DROP;
	int best = -1;
	size_t i;

	parse(probe, ip);
	for (i = 0; i < n; i++) {
		parse(t[i].prefix, p);
		if (present[i] && t[i].plen > best && covers(p, t[i].plen, ip)) {
			best = t[i].plen;
			nh = t[i].nh;
		}
	}
	return nh;
}

static void
check_probes(const struct dp_fib *fib, const struct nest *t, size_t n, const bool *present,
	     const char *const *probes, size_t np)
{
	size_t i;

	for (i = 0; i < np; i++) {
		uint32_t want = nest_expect(t, n, present, probes[i]);
		uint32_t got = lookup_str(fib, probes[i]);

		if (got != want)
			fail_msg("%s: got %#x want %#x", probes[i], got, want);
	}
}

static void
shuffle(size_t *order, size_t n)
{
	size_t i, j, t;

	for (i = n; i > 1; i--) {
		j = rnd() % i;
		t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

static void
nest_run(struct dp_fib *fib, const struct nest *t, size_t n, const char *const *probes, size_t np)
{
	size_t order[16], i, round;
	bool present[16];
	uint8_t a[16];

	assert_true(n <= RTE_DIM(order));
	for (round = 0; round < 24; round++) {
		for (i = 0; i < n; i++)
			order[i] = round == 1 ? n - 1 - i : i;
		if (round >= 2)
			shuffle(order, n);
		memset(present, 0, sizeof(present));

		/* odd rounds: one transaction; even rounds: one by one */
		if (round & 1)
			assert_int_equal(dp_fib_begin(fib), 0);
		for (i = 0; i < n; i++) {
			int fam = parse(t[order[i]].prefix, a);

			assert_int_equal(dp_fib_add(fib, fam, a, t[order[i]].plen, t[order[i]].nh),
					 0);
			present[order[i]] = true;
			if (!(round & 1))
				check_probes(fib, t, n, present, probes, np);
		}
		if (round & 1)
			assert_int_equal(dp_fib_commit(fib), 0);
		check_probes(fib, t, n, present, probes, np);
		assert_int_equal(dp_fib_verify(fib), 0);

		/* delete in another random order, checking every step */
		shuffle(order, n);
		for (i = 0; i < n; i++) {
			int fam = parse(t[order[i]].prefix, a);

			assert_int_equal(dp_fib_del(fib, fam, a, t[order[i]].plen), 0);
			present[order[i]] = false;
			check_probes(fib, t, n, present, probes, np);
		}
		assert_int_equal(dp_fib_verify(fib), 0);
	}
}

static void
test_longest_match(void **state)
{
	struct dp_fib *fib;

	(void)state;
	rng_state = 44;
	fib = dp_fib_create("nest", 16, 16, SOCKET_ID_ANY, NULL);
	assert_non_null(fib);
	nest_run(fib, nest4, RTE_DIM(nest4), probes4, RTE_DIM(probes4));
	nest_run(fib, nest6, RTE_DIM(nest6), probes6, RTE_DIM(probes6));
	assert_int_equal(dp_fib_count(fib, AF_INET), 0);
	assert_int_equal(dp_fib_count(fib, AF_INET6), 0);
	dp_fib_free(fib);
}

/* ---- the naive model on random input ---- */

struct mroute {
	uint8_t addr[16];
	uint32_t nh;
	uint8_t fam; /* 0: IPv4, 1: IPv6 */
	uint8_t plen;
};

struct model {
	struct mroute *r;
	size_t n, cap;
	size_t count[2];
	unsigned int tbl8; /* IPv6 tbl8 budget used */
};

static const int families[2] = {AF_INET, AF_INET6};
static unsigned int tbl8_cost(unsigned int plen);
static const int maxlen[2] = {32, 128};

static void
model_copy(struct model *dst, const struct model *src)
{
	if (dst->cap < src->n) {
		dst->cap = src->cap;
		dst->r = realloc(dst->r, dst->cap * sizeof(*dst->r));
		assert_non_null(dst->r);
	}
	if (src->n > 0)
		memcpy(dst->r, src->r, src->n * sizeof(*dst->r));
	dst->n = src->n;
	dst->count[0] = src->count[0];
	dst->count[1] = src->count[1];
	dst->tbl8 = src->tbl8;
}

static long
model_find(const struct model *m, unsigned int fam, const uint8_t *addr, uint8_t plen)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->r[i].plen == plen && m->r[i].fam == fam &&
		    memcmp(m->r[i].addr, addr, 16) == 0)
			return (long)i;
	return -1;
}

static void
model_add(struct model *m, unsigned int fam, const uint8_t *addr, uint8_t plen, uint32_t nh)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->r = realloc(m->r, m->cap * sizeof(*m->r));
		assert_non_null(m->r);
	}
	memcpy(m->r[m->n].addr, addr, 16);
	m->r[m->n].fam = (uint8_t)fam;
	m->r[m->n].plen = plen;
	m->r[m->n].nh = nh;
	m->n++;
	m->count[fam]++;
	if (fam == 1)
		m->tbl8 += tbl8_cost(plen);
}

static void
model_del(struct model *m, size_t i)
{
	m->count[m->r[i].fam]--;
	if (m->r[i].fam == 1)
		m->tbl8 -= tbl8_cost(m->r[i].plen);
	m->r[i] = m->r[--m->n];
}

/* The model flattened for lookups: one array per family, longest first. */
struct flat4 {
	uint32_t net, mask, nh;
	int plen;
};
struct flat6 {
	uint64_t hi, lo, mhi, mlo;
	uint32_t nh;
	int plen;
};
struct flat {
	struct flat4 *r4;
	struct flat6 *r6;
	size_t n4, n6;
};

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
mask64(int bits)
{
	return bits <= 0 ? 0 : bits >= 64 ? UINT64_MAX : ~(UINT64_MAX >> bits);
}

static int
cmp4(const void *a, const void *b)
{
	return ((const struct flat4 *)b)->plen - ((const struct flat4 *)a)->plen;
}

static int
cmp6(const void *a, const void *b)
{
	return ((const struct flat6 *)b)->plen - ((const struct flat6 *)a)->plen;
}

static void
flat_build(struct flat *f, const struct model *m)
{
	size_t i;

	f->r4 = realloc(f->r4, (m->count[0] + 1) * sizeof(*f->r4));
	f->r6 = realloc(f->r6, (m->count[1] + 1) * sizeof(*f->r6));
	assert_true(f->r4 != NULL && f->r6 != NULL);
	f->n4 = f->n6 = 0;
	for (i = 0; i < m->n; i++) {
		const struct mroute *r = &m->r[i];

		if (r->fam == 0) {
			struct flat4 *e = &f->r4[f->n4++];

			e->mask = (uint32_t)mask64(r->plen + 32);
			e->net = (uint32_t)(be64(r->addr) >> 32);
			e->nh = r->nh;
			e->plen = r->plen;
		} else {
			struct flat6 *e = &f->r6[f->n6++];

			e->hi = be64(r->addr);
			e->lo = be64(r->addr + 8);
			e->mhi = mask64(r->plen);
			e->mlo = mask64(r->plen - 64);
			e->nh = r->nh;
			e->plen = r->plen;
		}
	}
	qsort(f->r4, f->n4, sizeof(*f->r4), cmp4);
	qsort(f->r6, f->n6, sizeof(*f->r6), cmp6);
}

/* linear scan, longest first: the first match is the answer */
static uint32_t
flat_lookup4(const struct flat *f, uint32_t ip)
{
	size_t i;

	for (i = 0; i < f->n4; i++)
		if ((ip & f->r4[i].mask) == f->r4[i].net)
			return f->r4[i].nh;
	return DP_NH_DROP;
}

static uint32_t
flat_lookup6(const struct flat *f, const uint8_t *ip)
{
	uint64_t hi = be64(ip), lo = be64(ip + 8);
	size_t i;

	for (i = 0; i < f->n6; i++)
		if ((hi & f->r6[i].mhi) == f->r6[i].hi && (lo & f->r6[i].mlo) == f->r6[i].lo)
			return f->r6[i].nh;
	return DP_NH_DROP;
}

#define NBASES 16
static uint8_t bases[2][NBASES][16];

static void
mask_prefix(uint8_t *a, unsigned int plen)
{
	unsigned int i;

	for (i = plen; i < 128; i++)
		a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/* random bits below bit `keep` of a (bits numbered from the top) */
static void
randomize_below(uint8_t *a, unsigned int keep, unsigned int len)
{
	unsigned int i;

	for (i = keep; i < len; i++)
		if (rnd() & 1)
			a[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
}

/* A prefix near one of the bases, so that routes nest and overlap. */
static void
random_prefix(unsigned int fam, uint8_t *a, uint8_t *plen)
{
	unsigned int len = (unsigned int)maxlen[fam];
	unsigned int r = rnd() % 100, pl;

	memcpy(a, bases[fam][rnd() % NBASES], 16);
	if (fam == 0)
		pl = r < 5 ? rnd() % 9 : r < 35 ? 9 + rnd() % 16 : 25 + rnd() % 8;
	else
		pl = r < 5 ? rnd() % 17 : r < 60 ? 17 + rnd() % 48 : 65 + rnd() % 64;
	pl = RTE_MIN(pl, len);
	/* keep a random number of the base's bits, randomize the rest */
	randomize_below(a, (unsigned int)(rnd() % (len + 1)), len);
	mask_prefix(a, pl);
	*plen = (uint8_t)pl;
}

/* An address to look up: in a route, near a base, or anywhere. */
static void
random_addr(unsigned int fam, const struct model *m, uint8_t *a)
{
	unsigned int len = (unsigned int)maxlen[fam];
	unsigned int r = rnd() % 100, b;
	size_t i;

	memset(a, 0, 16);
	if (r < 50 && m->count[fam] > 0) {
		do
			i = rnd() % m->n;
		while (m->r[i].fam != fam);
		memcpy(a, m->r[i].addr, 16);
		if (r < 10) { /* the last address of the route */
			for (b = m->r[i].plen; b < len; b++)
				a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		} else {
			randomize_below(a, m->r[i].plen, len);
		}
	} else if (r < 80) {
		memcpy(a, bases[fam][rnd() % NBASES], 16);
		randomize_below(a, (unsigned int)(rnd() % (len + 1)), len);
	} else {
		randomize_below(a, 0, len);
	}
	if (fam == 0)
		memset(a + 4, 0, 12);
}

static uint32_t
random_nh(void)
{
	return dp_nh_make((unsigned int)(rnd() % DP_NH_KIND_COUNT), (uint32_t)rnd());
}

/* Report a lookup that disagrees with the model, with the routes covering it. */
static void
lookup_fail(const struct model *m, unsigned int fam, const uint32_t *ip4, const uint8_t *ip6,
	    uint32_t bulk, uint32_t single, uint32_t want)
{
	char s[INET6_ADDRSTRLEN];
	uint8_t ip[16] = {0};
	size_t j;

	if (fam == 0) {
		ip[0] = *ip4 >> 24;
		ip[1] = *ip4 >> 16;
		ip[2] = *ip4 >> 8;
		ip[3] = *ip4;
	} else {
		memcpy(ip, ip6, 16);
	}
	for (j = 0; j < m->n; j++) {
		if (m->r[j].fam != fam || !covers(m->r[j].addr, m->r[j].plen, ip))
			continue;
		inet_ntop(families[fam], m->r[j].addr, s, sizeof(s));
		print_message("  covering %s/%u nh %#x\n", s, m->r[j].plen, m->r[j].nh);
	}
	inet_ntop(families[fam], ip, s, sizeof(s));
	fail_msg("lookup %s: bulk %#x single %#x, model %#x", s, bulk, single, want);
}

/* Compare n random lookups, bulk and single, against the model. */
static void
check_lookups(const struct dp_fib *fib, const struct model *m, struct flat *f, unsigned int n)
{
	static uint32_t ip4[512], nh[512];
	static uint8_t ip6[512][16];
	uint8_t a[16];
	unsigned int done, k, i, fam;

	flat_build(f, m);
	for (done = 0; done < n; done += k) {
		k = RTE_MIN(n - done, (unsigned int)(1 + rnd() % 300));
		fam = rnd() & 1;
		for (i = 0; i < k; i++) {
			random_addr(fam, m, a);
			if (fam == 0)
				ip4[i] = (uint32_t)(be64(a) >> 32);
			else
				memcpy(ip6[i], a, 16);
		}
		if (fam == 0)
			dp_fib_lookup4_bulk(fib, ip4, nh, k);
		else
			dp_fib_lookup6_bulk(fib, (const uint8_t(*)[16])ip6, nh, k);
		for (i = 0; i < k; i++) {
			uint32_t want =
				fam == 0 ? flat_lookup4(f, ip4[i]) : flat_lookup6(f, ip6[i]);
			uint32_t single = fam == 0 ? dp_fib_lookup4(fib, ip4[i])
						   : dp_fib_lookup6(fib, ip6[i]);

			if (nh[i] != want || single != want)
				lookup_fail(m, fam, fam == 0 ? &ip4[i] : NULL, ip6[i], nh[i],
					    single, want);
		}
	}
}

struct walk_cmp {
	const struct model *m;
	size_t seen;
	bool bad;
};

static int
walk_check(int family, const uint8_t *addr, uint8_t plen, uint32_t nh, void *arg)
{
	struct walk_cmp *w = arg;
	unsigned int fam = family == AF_INET6;
	uint8_t a[16] = {0};
	long i;

	memcpy(a, addr, fam ? 16 : 4);
	i = model_find(w->m, fam, a, plen);
	if (i < 0 || w->m->r[i].nh != nh)
		w->bad = true;
	w->seen++;
	return 0;
}

static void
check_walk(const struct dp_fib *fib, const struct model *m)
{
	struct walk_cmp w = {.m = m};

	assert_int_equal(dp_fib_walk(fib, walk_check, &w), 0);
	assert_false(w.bad);
	assert_int_equal(w.seen, m->n);
	assert_int_equal(dp_fib_count(fib, AF_INET), m->count[0]);
	assert_int_equal(dp_fib_count(fib, AF_INET6), m->count[1]);
}

/* The fixed probes of the longest-match test, against the model. */
static void
check_probes_model(const struct dp_fib *fib, const struct model *m, struct flat *f)
{
	uint8_t a[16];
	size_t i;

	flat_build(f, m);
	for (i = 0; i < RTE_DIM(probes4); i++) {
		uint32_t ip;

		parse(probes4[i], a);
		ip = (uint32_t)(be64(a) >> 32);
		if (dp_fib_lookup4(fib, ip) != flat_lookup4(f, ip))
			fail_msg("%s: got %#x, model %#x", probes4[i], dp_fib_lookup4(fib, ip),
				 flat_lookup4(f, ip));
	}
	for (i = 0; i < RTE_DIM(probes6); i++) {
		parse(probes6[i], a);
		if (dp_fib_lookup6(fib, a) != flat_lookup6(f, a))
			fail_msg("%s: got %#x, model %#x", probes6[i], dp_fib_lookup6(fib, a),
				 flat_lookup6(f, a));
	}
}

/* The IPv6 tbl8 budget of a route, as fib.h documents it. */
static unsigned int
tbl8_cost(unsigned int plen)
{
	return plen > 24 ? (plen + 7) / 8 - 3 : 0;
}

struct model_run {
	const char *name;
	uint32_t max[2];	  /* max_routes4, max_routes6 */
	unsigned int target_adds; /* successful adds before stopping */
	unsigned int max_txn;	  /* changes per transaction, at most */
	unsigned int final_lookups;
	unsigned int check_every; /* transactions between full checks */
};

/*
 * Random transactions of adds and deletes (and duplicates, missing
 * deletes, changes past the capacity), some aborted, some outside any
 * transaction, each change's result predicted by the model; then lookups
 * against the model, and everything deleted again.
 */
static void
run_model(const struct model_run *run)
{
	struct model committed = {0}, work = {0};
	struct flat f = {0};
	struct dp_fib *fib;
	struct dp_fib_stats st;
	unsigned int adds = 0, dels = 0, txns = 0, aborts = 0, nospc = 0, fam, k;
	uint32_t budget = run->max[1] * DP_FIB6_TBL8_PER_ROUTE + DP_FIB6_TBL8_SPARE;
	double t_start = now_ms(), t_lookup;
	uint8_t a[16];
	size_t i;

	fib = dp_fib_create(run->name, run->max[0], run->max[1], SOCKET_ID_ANY, NULL);
	assert_non_null(fib);

	while (adds < run->target_adds) {
		unsigned int nops = 1 + rnd() % (rnd() % 8 == 0 ? run->max_txn : run->max_txn / 10);
		bool implicit = rnd() % 16 == 0; /* changes outside begin/commit */
		bool abort_it = !implicit && rnd() % 8 == 0;

		if (implicit)
			nops = RTE_MIN(nops, 20u);
		model_copy(&work, &committed);
		if (!implicit)
			assert_int_equal(dp_fib_begin(fib), 0);
		for (k = 0; k < nops; k++) {
			unsigned int r = rnd() % 100;
			uint32_t nh = random_nh();
			uint8_t plen;
			long found;
			int want, ret;

			fam = rnd() & 1;
			memset(a, 0, 16);
			/* 7% re-add an existing prefix, 63% a random one; 24% delete
			 * an existing prefix, 6% a random one */
			if ((r < 7 || (r >= 70 && r < 94)) && work.count[fam] > 0) {
				do
					i = rnd() % work.n;
				while (work.r[i].fam != fam);
				memcpy(a, work.r[i].addr, 16);
				plen = work.r[i].plen;
			} else {
				random_prefix(fam, a, &plen);
			}
			found = model_find(&work, fam, a, plen);
			if (r >= 70) {
				ret = dp_fib_del(fib, families[fam], a, plen);
				if (ret != (found >= 0 ? 0 : -ENOENT))
					fail_msg("del fam %u /%u: %d, found %ld", fam, plen, ret,
						 found);
				if (ret == 0) {
					model_del(&work, (size_t)found);
					dels++;
					if (implicit)
						model_del(&committed,
							  (size_t)model_find(&committed, fam, a,
									     plen));
				}
				continue;
			}
			if (found >= 0)
				want = -EEXIST;
			else if (work.count[fam] >= run->max[fam] ||
				 (fam == 1 && work.tbl8 + tbl8_cost(plen) > budget))
				want = -ENOSPC;
			else
				want = 0;
			ret = dp_fib_add(fib, families[fam], a, plen, nh);
			if (ret != want)
				fail_msg("add fam %u /%u: %d, want %d", fam, plen, ret, want);
			nospc += ret == -ENOSPC;
			if (ret == 0) {
				model_add(&work, fam, a, plen, nh);
				adds++;
				if (implicit)
					model_add(&committed, fam, a, plen, nh);
			}
		}
		if (implicit) {
			/* nothing pending: the FIB is the committed model */
		} else if (abort_it) {
			/* mid-transaction, readers still see the last commit */
			check_lookups(fib, &committed, &f, 200);
			dp_fib_abort(fib);
			aborts++;
		} else {
			check_walk(fib, &work);
			assert_int_equal(dp_fib_commit(fib), 0);
			model_copy(&committed, &work);
		}
		txns++;
		assert_int_equal(dp_fib_count(fib, AF_INET), committed.count[0]);
		assert_int_equal(dp_fib_count(fib, AF_INET6), committed.count[1]);
		if (txns % run->check_every == 0) {
			assert_int_equal(dp_fib_verify(fib), 0);
			check_lookups(fib, &committed, &f, 2000);
		}
	}
	assert_int_equal(dp_fib_verify(fib), 0);
	check_walk(fib, &committed);

	t_lookup = now_ms();
	check_lookups(fib, &committed, &f, run->final_lookups);
	t_lookup = now_ms() - t_lookup;
	dp_fib_stats_get(fib, &st);
	assert_int_equal(st.tbl8_used6, committed.tbl8);
	print_message("%s: %u transactions (%u aborted), %u adds, %u deletes, %u -ENOSPC; "
		      "%zu v4 + %zu v6 routes left, tbl8 budget %u/%u; %" PRIu64
		      " changes retried, %" PRIu64 " copies rebuilt; %u lookups checked; "
		      "%.0f ms (final lookups %.0f ms)\n",
		      run->name, txns, aborts, adds, dels, nospc, committed.count[0],
		      committed.count[1], st.tbl8_used6, st.tbl8_budget6, st.retries, st.rebuilds,
		      run->final_lookups, now_ms() - t_start, t_lookup);

	/* delete everything, in random order, in a few transactions */
	while (committed.n > 0) {
		assert_int_equal(dp_fib_begin(fib), 0);
		for (k = 0; k < 3000 && committed.n > 0; k++) {
			i = rnd() % committed.n;
			assert_int_equal(dp_fib_del(fib, families[committed.r[i].fam],
						    committed.r[i].addr, committed.r[i].plen),
					 0);
			model_del(&committed, i);
		}
		assert_int_equal(dp_fib_commit(fib), 0);
		check_lookups(fib, &committed, &f, 1000);
	}
	assert_int_equal(dp_fib_count(fib, AF_INET), 0);
	assert_int_equal(dp_fib_count(fib, AF_INET6), 0);
	assert_int_equal(dp_fib_verify(fib), 0);
	check_lookups(fib, &committed, &f, 2000);

	dp_fib_free(fib);
	free(committed.r);
	free(work.r);
	free(f.r4);
	free(f.r6);
}

static void
test_random_model(void **state)
{
	static const struct model_run runs[] = {
		/* many routes: >= 20000 added, >= 200000 lookups */
		{.name = "model-big",
		 .max = {16384, 16384},
		 .target_adds = SLOW ? 20000 : 24000,
		 .max_txn = 2000,
		 .final_lookups = SLOW ? 200000 : 400000,
		 .check_every = 16},
		/* a small table kept full: -ENOSPC, DPDK's tbl8 count drifting */
		{.name = "model-full",
		 .max = {200, 200},
		 .target_adds = SLOW ? 3000 : 6000,
		 .max_txn = 100,
		 .final_lookups = 20000,
		 .check_every = 8},
	};
	uint64_t seed = 0x44e7f1b;
	const char *env = getenv("FIB_SEED");
	unsigned int fam, b, r;

	(void)state;
	if (env != NULL)
		seed = strtoull(env, NULL, 0);
	print_message("random model: seed %#" PRIx64 " (FIB_SEED=%#" PRIx64 " replays it)\n", seed,
		      seed);
	rng_state = seed;
	for (fam = 0; fam < 2; fam++)
		for (b = 0; b < NBASES; b++) {
			memset(bases[fam][b], 0, 16);
			randomize_below(bases[fam][b], 0, (unsigned int)maxlen[fam]);
		}
	for (r = 0; r < RTE_DIM(runs); r++)
		run_model(&runs[r]);
}

/* ---- abort leaves no trace ---- */

static void
add_nest(struct dp_fib *fib, struct model *m, const struct nest *t, size_t n)
{
	uint8_t a[16];
	size_t i;

	for (i = 0; i < n; i++) {
		int family = parse(t[i].prefix, a);

		assert_int_equal(dp_fib_add(fib, family, a, t[i].plen, t[i].nh), 0);
		model_add(m, family == AF_INET6, a, t[i].plen, t[i].nh);
	}
}

/* The FIB is exactly model m: walk, count, verify, lookups. */
static void
check_state(struct dp_fib *fib, const struct model *m, struct flat *f)
{
	check_walk(fib, m);
	assert_int_equal(dp_fib_verify(fib), 0);
	check_lookups(fib, m, f, 3000);
	check_probes_model(fib, m, f);
}

static void
test_abort(void **state)
{
	struct model committed = {0}, work = {0};
	struct flat f = {0};
	struct dp_fib *fib;
	uint8_t a[16];
	uint32_t nh;
	unsigned int i, round;

	(void)state;
	rng_state = 4444;
	fib = dp_fib_create("abort", 256, 256, SOCKET_ID_ANY, NULL);
	assert_non_null(fib);
	assert_int_equal(dp_fib_begin(fib), 0);
	add_nest(fib, &committed, nest4, RTE_DIM(nest4));
	add_nest(fib, &committed, nest6, RTE_DIM(nest6));
	assert_int_equal(dp_fib_commit(fib), 0);
	check_state(fib, &committed, &f);

	for (round = 0; round < 2; round++) {
		/* round 0 aborts the transaction, round 1 commits it */
		model_copy(&work, &committed);
		assert_int_equal(dp_fib_begin(fib), 0);
		assert_int_equal(dp_fib_begin(fib), -EBUSY);
		for (i = 0; i < 100; i++) {
			uint8_t p[16] = {44, 200, (uint8_t)i, (uint8_t)(i * 7)};

			assert_int_equal(dp_fib_add(fib, AF_INET, p, 32, LOCAL(i)), 0);
			model_add(&work, 0, p, 32, LOCAL(i));
		}
		for (i = 0; i < 50; i++) {
			uint8_t p[16];

			parse("2001:db8:44:1:8000::", p);
			p[14] = (uint8_t)(i >> 8);
			p[15] = (uint8_t)i;

			assert_int_equal(dp_fib_add(fib, AF_INET6, p, 128, PEER(100 + i)), 0);
			model_add(&work, 1, p, 128, PEER(100 + i));
		}
		/* delete both default routes; replace a /24 and a /64 */
		for (i = 0; i < committed.n; i++) {
			struct mroute r = committed.r[i];

			if (r.plen == 0 || (r.fam == 0 && r.plen == 24) ||
			    (r.fam == 1 && r.plen == 64)) {
				assert_int_equal(dp_fib_del(fib, families[r.fam], r.addr, r.plen),
						 0);
				model_del(&work, (size_t)model_find(&work, r.fam, r.addr, r.plen));
				if (r.plen != 0) {
					assert_int_equal(dp_fib_add(fib, families[r.fam], r.addr,
								    r.plen, PEER(99)),
							 0);
					model_add(&work, r.fam, r.addr, r.plen, PEER(99));
				}
			}
		}
		/* failed changes change nothing */
		assert_int_equal(
			dp_fib_add(fib, AF_INET, (uint8_t[16]){44, 200, 1, 7}, 32, PEER(1)),
			-EEXIST);
		parse("44.130.1.0", a);
		assert_int_equal(dp_fib_get(fib, AF_INET, a, 24, &nh), 0);
		assert_int_equal(nh, PEER(99));
		/* the writer sees the transaction; readers see the last commit */
		check_walk(fib, &work);
		check_lookups(fib, &committed, &f, 2000);
		check_probes_model(fib, &committed, &f);
		assert_int_equal(dp_fib_verify(fib), -EBUSY);
		if (round == 0) {
			dp_fib_abort(fib);
			dp_fib_abort(fib); /* no-op */
			assert_int_equal(dp_fib_commit(fib), -EINVAL);
		} else {
			assert_int_equal(dp_fib_commit(fib), 0);
			model_copy(&committed, &work);
		}
		check_state(fib, &committed, &f);
	}

	/* empty transactions, and one whose every change failed */
	assert_int_equal(dp_fib_begin(fib), 0);
	assert_int_equal(dp_fib_commit(fib), 0);
	assert_int_equal(dp_fib_begin(fib), 0);
	assert_int_equal(dp_fib_del(fib, AF_INET, (uint8_t[16]){45}, 8), -ENOENT);
	assert_int_equal(dp_fib_commit(fib), 0);
	check_state(fib, &committed, &f);

	dp_fib_free(fib);
	free(committed.r);
	free(work.r);
	free(f.r4);
	free(f.r6);
}

/* ---- -ENOSPC in the middle of a batch ---- */

static void
test_enospc(void **state)
{
	struct model committed = {0}, work = {0};
	struct flat f = {0};
	struct dp_fib *fib;
	unsigned int i, round, full6 = 0;
	struct dp_fib_stats st;
	uint8_t a[16];
	int ret;

	(void)state;
	rng_state = 44444;
	/* 16 IPv6 routes, 80 tbl8: a /128 with no covering route takes 13 */
	fib = dp_fib_create("enospc", 8, 16, SOCKET_ID_ANY, NULL);
	assert_non_null(fib);
	assert_int_equal(dp_fib_begin(fib), 0);
	add_nest(fib, &committed, nest4, 3);
	add_nest(fib, &committed, (const struct nest[]){{"44.130.1.128", 25, PEER(5)}}, 1);
	add_nest(fib, &committed, nest6, 4);
	assert_int_equal(dp_fib_commit(fib), 0);
	check_state(fib, &committed, &f);

	for (round = 0; round < 6; round++) {
		bool commit = round & 1;

		model_copy(&work, &committed);
		assert_int_equal(dp_fib_begin(fib), 0);
		/* IPv4: the route count runs out */
		for (i = 0;; i++) {
			uint8_t p[16] = {10, (uint8_t)i, (uint8_t)round, 1};

			ret = dp_fib_add(fib, AF_INET, p, 32, LOCAL(i));
			if (ret != 0)
				break;
			model_add(&work, 0, p, 32, LOCAL(i));
		}
		assert_int_equal(ret, -ENOSPC);
		assert_int_equal(dp_fib_count(fib, AF_INET), 8);
		/* a delete makes room again */
		assert_int_equal(dp_fib_del(fib, AF_INET, work.r[0].addr, work.r[0].plen), 0);
		model_del(&work, 0);
		memcpy(a, (uint8_t[16]){10, 99, (uint8_t)round, 0}, 16);
		assert_int_equal(dp_fib_add(fib, AF_INET, a, 25, PEER(7)), 0);
		model_add(&work, 0, a, 25, PEER(7));

		/* IPv6: the tbl8 groups run out before the route count */
		for (i = 0;; i++) {
			uint8_t p[16] = {0x2a, (uint8_t)i, (uint8_t)round, 0x44};

			p[15] = 1;
			ret = dp_fib_add(fib, AF_INET6, p, 128, PEER(i));
			if (ret != 0)
				break;
			model_add(&work, 1, p, 128, PEER(i));
		}
		assert_int_equal(ret, -ENOSPC);
		assert_true(dp_fib_count(fib, AF_INET6) < 16);
		full6 = dp_fib_count(fib, AF_INET6);
		memcpy(a, (uint8_t[16]){0x2a, (uint8_t)i, (uint8_t)round, 0x44}, 16);
		a[15] = 1;
		assert_int_equal(dp_fib_get(fib, AF_INET6, a, 128, &(uint32_t){0}), -ENOENT);
		/* readers still see the last commit */
		check_lookups(fib, &committed, &f, 1000);
		/* the transaction goes on after the failure: a shallow route fits */
		memcpy(a, (uint8_t[16]){0x2a, 0xff, (uint8_t)round}, 16);
		assert_int_equal(dp_fib_add(fib, AF_INET6, a, 24, ADJ(3)), 0);
		model_add(&work, 1, a, 24, ADJ(3));
		check_walk(fib, &work);

		if (commit) {
			assert_int_equal(dp_fib_commit(fib), 0);
			check_state(fib, &work, &f);
			/* take it back out, so the next round starts alike */
			assert_int_equal(dp_fib_begin(fib), 0);
			for (i = 0; i < work.n; i++)
				if (model_find(&committed, work.r[i].fam, work.r[i].addr,
					       work.r[i].plen) < 0)
					assert_int_equal(dp_fib_del(fib, families[work.r[i].fam],
								    work.r[i].addr, work.r[i].plen),
							 0);
			for (i = 0; i < committed.n; i++)
				if (model_find(&work, committed.r[i].fam, committed.r[i].addr,
					       committed.r[i].plen) < 0)
					assert_int_equal(
						dp_fib_add(fib, families[committed.r[i].fam],
							   committed.r[i].addr, committed.r[i].plen,
							   committed.r[i].nh),
						0);
			assert_int_equal(dp_fib_commit(fib), 0);
		} else {
			dp_fib_abort(fib);
		}
		check_state(fib, &committed, &f);
	}
	dp_fib_stats_get(fib, &st);
	print_message("enospc: IPv6 tbl8 budget (%u) full at %u routes (max_routes6 16); "
		      "%" PRIu64 " changes retried on rebuilt copies, %" PRIu64 " rebuilds\n",
		      st.tbl8_budget6, full6, st.retries, st.rebuilds);
	/* DPDK's tbl8 count drifted (undone /128s), and the retry path ran */
	assert_true(st.retries > 0);

	dp_fib_free(fib);
	free(committed.r);
	free(work.r);
	free(f.r4);
	free(f.r6);
}

/* ---- one reader racing the writer ---- */

#define RACE_SLOTS 32

struct race {
	const struct dp_fib *fib;
	struct rte_rcu_qsbr *qs;
	int ready, stop;
	uint32_t ip4[2 * RACE_SLOTS]; /* per slot: in the child, outside it */
	uint8_t ip6[2 * RACE_SLOTS][16];
	uint64_t bulks, errors, flips4, flips6;
	char error[160];
};

/*
 * One bulk's answers must all come from one transaction t: for every slot i
 * the parent's next hop is PEER(2i + (t & 1)), and the child /28 or /64 is
 * there (LOCAL(i)) in every slot or in none.
 */
static int
race_check(struct race *r, const uint32_t *nh, const char *what, int *phase)
{
	int p = nh[1] == PEER(0) ? 0 : nh[1] == PEER(1) ? 1 : -1;
	bool child = nh[0] == LOCAL(0);
	unsigned int i;

	for (i = 0; i < RACE_SLOTS && p >= 0; i++) {
		uint32_t parent = PEER(2 * i + (unsigned int)p);

		if (nh[2 * i + 1] != parent || nh[2 * i] != (child ? LOCAL(i) : parent))
			break;
	}
	if (p < 0 || i < RACE_SLOTS) {
		if (r->errors++ == 0)
			snprintf(r->error, sizeof(r->error),
				 "%s bulk %" PRIu64 ": slot %u: child %#x, outside %#x (phase %d)",
				 what, r->bulks, i, nh[2 * i], nh[2 * i + 1], p);
		return -1;
	}
	if (*phase >= 0 && *phase != p) {
		if (what[3] == '4')
			r->flips4++;
		else
			r->flips6++;
	}
	*phase = p;
	return 0;
}

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	uint32_t nh[2 * RACE_SLOTS];
	int p4 = -1, p6 = -1;

	assert_int_equal(rte_rcu_qsbr_thread_register(r->qs, 0), 0);
	rte_rcu_qsbr_thread_online(r->qs, 0);
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		dp_fib_lookup4_bulk(r->fib, r->ip4, nh, 2 * RACE_SLOTS);
		race_check(r, nh, "ipv4", &p4);
		dp_fib_lookup6_bulk(r->fib, (const uint8_t(*)[16])r->ip6, nh, 2 * RACE_SLOTS);
		race_check(r, nh, "ipv6", &p6);
		r->bulks++;
		rte_rcu_qsbr_quiescent(r->qs, 0);
	}
	rte_rcu_qsbr_thread_offline(r->qs, 0);
	rte_rcu_qsbr_thread_unregister(r->qs, 0);
	return NULL;
}

static void
race_prefixes(unsigned int i, uint8_t p4[16], uint8_t c4[16], uint8_t p6[16], uint8_t c6[16])
{
	memcpy(p4, (uint8_t[16]){44, (uint8_t)i}, 16);				    /* /16 */
	memcpy(c4, (uint8_t[16]){44, (uint8_t)i, 7, 0}, 16);			    /* /28 */
	memcpy(p6, (uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)i}, 16);	    /* /48 */
	memcpy(c6, (uint8_t[16]){0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)i, 0, 7}, 16); /* /64 */
}

static void
test_concurrent_reader(void **state)
{
	const unsigned int ncommits = SLOW ? 600 : 2000;
	struct race r = {0};
	struct rte_rcu_qsbr *qs;
	struct dp_fib *fib;
	pthread_attr_t attr;
	pthread_t tid;
	cpu_set_t cpus;
	uint8_t p4[16], c4[16], p6[16], c6[16];
	unsigned int t, i;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double t0, t_commit;

	(void)state;
	qs = rte_zmalloc("fib_test_qs", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(qs);
	assert_int_equal(rte_rcu_qsbr_init(qs, 1), 0);
	fib = dp_fib_create("race", 256, 256, SOCKET_ID_ANY, qs);
	assert_non_null(fib);

	assert_int_equal(dp_fib_begin(fib), 0);
	for (i = 0; i < RACE_SLOTS; i++) {
		race_prefixes(i, p4, c4, p6, c6);
		assert_int_equal(dp_fib_add(fib, AF_INET, p4, 16, PEER(2 * i)), 0);
		assert_int_equal(dp_fib_add(fib, AF_INET6, p6, 48, PEER(2 * i)), 0);
		r.ip4[2 * i] = 44u << 24 | i << 16 | 7 << 8 | 5; /* in the child */
		r.ip4[2 * i + 1] = 44u << 24 | i << 16 | 200 << 8 | 1;
		memcpy(r.ip6[2 * i], c6, 16);
		r.ip6[2 * i][15] = 5;
		memcpy(r.ip6[2 * i + 1], p6, 16);
		r.ip6[2 * i + 1][7] = 8;
		r.ip6[2 * i + 1][15] = 1;
	}
	assert_int_equal(dp_fib_commit(fib), 0);

	/* EAL pinned this thread to lcore 0; let the reader run anywhere */
	r.fib = fib;
	r.qs = qs;
	CPU_ZERO(&cpus);
	for (i = 0; i < (unsigned int)ncpu && i < CPU_SETSIZE; i++)
		CPU_SET(i, &cpus);
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus), 0);
	assert_int_equal(pthread_create(&tid, &attr, race_reader, &r), 0);
	pthread_attr_destroy(&attr);
	while (!__atomic_load_n(&r.ready, __ATOMIC_ACQUIRE))
		sched_yield();

	t_commit = 0;
	for (t = 1; t <= ncommits; t++) {
		bool child = (t >> 1) & 1, had = ((t - 1) >> 1) & 1;

		assert_int_equal(dp_fib_begin(fib), 0);
		for (i = 0; i < RACE_SLOTS; i++) {
			uint32_t nh = PEER(2 * i + (t & 1));

			race_prefixes(i, p4, c4, p6, c6);
			assert_int_equal(dp_fib_del(fib, AF_INET, p4, 16), 0);
			assert_int_equal(dp_fib_add(fib, AF_INET, p4, 16, nh), 0);
			assert_int_equal(dp_fib_del(fib, AF_INET6, p6, 48), 0);
			assert_int_equal(dp_fib_add(fib, AF_INET6, p6, 48, nh), 0);
			if (child && !had) {
				assert_int_equal(dp_fib_add(fib, AF_INET, c4, 28, LOCAL(i)), 0);
				assert_int_equal(dp_fib_add(fib, AF_INET6, c6, 64, LOCAL(i)), 0);
			} else if (!child && had) {
				assert_int_equal(dp_fib_del(fib, AF_INET, c4, 28), 0);
				assert_int_equal(dp_fib_del(fib, AF_INET6, c6, 64), 0);
			}
		}
		t0 = now_ms();
		assert_int_equal(dp_fib_commit(fib), 0);
		t_commit += now_ms() - t0;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(tid, NULL), 0);

	print_message("race: %u commits (%.1f us each, grace period included), reader: %" PRIu64
		      " bulks of 2x%u lookups, %" PRIu64 "/%" PRIu64
		      " changes of phase seen (v4/v6), %" PRIu64 " errors\n",
		      ncommits, t_commit * 1e3 / ncommits, r.bulks, 2 * RACE_SLOTS, r.flips4,
		      r.flips6, r.errors);
	if (r.errors != 0)
		fail_msg("reader saw a next hop that was never valid: %s", r.error);
	assert_true(r.flips4 > 0 && r.flips6 > 0);
	assert_int_equal(dp_fib_verify(fib), 0);
	dp_fib_free(fib);
	rte_free(qs);
}

/* ---- main ---- */

static int
eal_setup(void **state)
{
	char *argv[] = {
		"test_fib",	  "--no-huge",	       "-m", "1024", "--no-shconf", "--no-pci",
		"--no-telemetry", "--log-level=error", "-l", "0"};

	(void)state;
	return rte_eal_init((int)RTE_DIM(argv), argv) < 0 ? -1 : 0;
}

static int
eal_teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nh_encoding),  cmocka_unit_test(test_basics),
		cmocka_unit_test(test_create),	     cmocka_unit_test(test_longest_match),
		cmocka_unit_test(test_random_model), cmocka_unit_test(test_abort),
		cmocka_unit_test(test_enospc),	     cmocka_unit_test(test_concurrent_reader),
	};

	/* FIB_TEST=test_enospc (a glob) runs only the tests it matches */
	if (getenv("FIB_TEST") != NULL)
		cmocka_set_test_filter(getenv("FIB_TEST"));
	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
