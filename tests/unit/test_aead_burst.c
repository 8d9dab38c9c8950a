/*
 * test_aead_burst.c — the burst AEAD on both backends: every 96-bit-nonce
 * Wycheproof ChaCha20-Poly1305 case in bursts of 1, 7, 32 and 64 with valid
 * and forged messages mixed, keepalives (zero-length plaintext), and the two
 * backends against a libsodium reference on random bursts, in place and out
 * of place, with forged ops among good ones. Test-only; runs in the test's
 * thread.
 *
 * This CPU class (AVX-512 or AVX2) must get the ipsec-mb backend: when it
 * cannot be created the ipsec-mb tests fail rather than skip. On a machine
 * known to lack it, run with GATE44_NO_IPSEC_MB=1 to skip exactly those tests
 * (the libsodium ones still run).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "aead_burst.h"
#include "vectors.h"

enum { KEY_LEN = 32, TAG_LEN = 16, NONCE_LEN = 12, MAX_LEN = 1500, MAX_BURST = 300 };

static bool
ipsec_mb_skipped(void)
{
	const char *v = getenv("GATE44_NO_IPSEC_MB");

	return v != NULL && strcmp(v, "1") == 0;
}

/* A context on exactly this backend; skips only an ipsec-mb test, and only
 * when GATE44_NO_IPSEC_MB=1. */
static struct cr_aead_burst *
burst_new(enum cr_aead_backend be)
{
	struct cr_aead_burst *b;

	if (be == CR_AEAD_BACKEND_IPSEC_MB && ipsec_mb_skipped())
		skip();
	b = cr_aead_burst_create(be);
	if (b == NULL)
		fail_msg("cannot create the %s backend: %s%s", cr_aead_backend_name(be),
			 strerror(errno),
			 be == CR_AEAD_BACKEND_IPSEC_MB ? " (GATE44_NO_IPSEC_MB=1 skips it)" : "");
	assert_int_equal(cr_aead_burst_backend(b), be);
	return b;
}

static void
wg_nonce(uint8_t n[NONCE_LEN], uint64_t counter)
{
	memset(n, 0, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* xorshift64*: reproducible random input (the seed is printed). */
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void
rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

/* ---- names and construction ------------------------------------------ */

static void
test_backend_names(void **state)
{
	static const struct {
		enum cr_aead_backend be;
		const char *name;
	} tab[] = {
		{CR_AEAD_BACKEND_AUTO, "auto"},
		{CR_AEAD_BACKEND_SODIUM, "libsodium"},
		{CR_AEAD_BACKEND_IPSEC_MB, "ipsec-mb"},
		{(enum cr_aead_backend)42, "unknown"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		assert_string_equal(cr_aead_backend_name(tab[i].be), tab[i].name);
}

static void
test_create(void **state)
{
	struct cr_aead_burst *b;

	(void)state;
	b = burst_new(CR_AEAD_BACKEND_SODIUM);
	assert_int_equal(cr_aead_burst_seal(b, NULL, 0), 0);
	assert_int_equal(cr_aead_burst_open(b, NULL, 0), 0);
	cr_aead_burst_free(b);
	cr_aead_burst_free(NULL);

	errno = 0;
	assert_null(cr_aead_burst_create((enum cr_aead_backend)42));
	assert_int_equal(errno, EINVAL);

	/* AUTO resolves to a concrete backend: ipsec-mb wherever it works. */
	b = cr_aead_burst_create(CR_AEAD_BACKEND_AUTO);
	assert_non_null(b);
	if (ipsec_mb_skipped())
		assert_true(cr_aead_burst_backend(b) == CR_AEAD_BACKEND_SODIUM ||
			    cr_aead_burst_backend(b) == CR_AEAD_BACKEND_IPSEC_MB);
	else
		assert_int_equal(cr_aead_burst_backend(b), CR_AEAD_BACKEND_IPSEC_MB);
	cr_aead_burst_free(b);
}

static void
test_create_ipsec_mb(void **state)
{
	struct cr_aead_burst *b;

	(void)state;
	b = burst_new(CR_AEAD_BACKEND_IPSEC_MB);
	assert_int_equal(cr_aead_burst_seal(b, NULL, 0), 0);
	assert_int_equal(cr_aead_burst_open(b, NULL, 0), 0);
	cr_aead_burst_free(b);
}

/* ---- Wycheproof ------------------------------------------------------- */

struct wp_case {
	long id;
	bool valid;
	uint8_t key[KEY_LEN];
	uint8_t iv[NONCE_LEN];
	uint8_t *aad, *msg, *ct;
	uint8_t tag[TAG_LEN];
	size_t aad_len, len;
};

struct wp_set {
	struct wp_case *c;
	size_t n, n_valid;
};

/* Every case of the 96-bit-nonce, 128-bit-tag groups, in a fixed shuffled
 * order so that valid and forged cases share bursts. */
static void
wp_load(struct wp_set *s)
{
	json_t *root = vec_load("wycheproof_chacha20_poly1305.json");
	json_t *groups = json_object_get(root, "testGroups"), *g, *t;
	size_t gi, ti, cap = 0;

	memset(s, 0, sizeof(*s));
	assert_true(json_is_array(groups));
	json_array_foreach (groups, gi, g) {
		json_t *tests = json_object_get(g, "tests");

		if (json_integer_value(json_object_get(g, "ivSize")) != 96 ||
		    json_integer_value(json_object_get(g, "tagSize")) != 128)
			continue;
		assert_int_equal(json_integer_value(json_object_get(g, "keySize")), 256);
		json_array_foreach (tests, ti, t) {
			struct wp_case *c;
			const char *result = vec_str(t, "result");
			size_t ct_len;

			if (s->n == cap) {
				cap = cap ? 2 * cap : 256;
				s->c = realloc(s->c, cap * sizeof(*s->c));
				assert_non_null(s->c);
			}
			c = &s->c[s->n++];
			memset(c, 0, sizeof(*c));
			c->id = (long)json_integer_value(json_object_get(t, "tcId"));
			vec_hex_fixed(vec_str(t, "key"), c->key, KEY_LEN);
			vec_hex_fixed(vec_str(t, "iv"), c->iv, NONCE_LEN);
			vec_hex_fixed(vec_str(t, "tag"), c->tag, TAG_LEN);
			c->aad = vec_hex(vec_str(t, "aad"), &c->aad_len);
			c->msg = vec_hex(vec_str(t, "msg"), &c->len);
			c->ct = vec_hex(vec_str(t, "ct"), &ct_len);
			assert_int_equal(ct_len, c->len);
			if (strcmp(result, "valid") == 0) {
				c->valid = true;
				s->n_valid++;
			} else {
				assert_string_equal(result, "invalid");
			}
		}
	}
	json_decref(root);
	/* The file has 256 valid and 60 forged (modified tag) such cases. */
	assert_true(s->n_valid >= 200 && s->n - s->n_valid >= 50);

	rng_state = 0x5eed0001;
	for (size_t i = s->n - 1; i > 0; i--) {
		size_t j = rnd_below((uint32_t)(i + 1));
		struct wp_case tmp = s->c[i];

		s->c[i] = s->c[j];
		s->c[j] = tmp;
	}
}

static void
wp_free(struct wp_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->c[i].aad);
		free(s->c[i].msg);
		free(s->c[i].ct);
	}
	free(s->c);
}

/* One burst of Wycheproof cases: seal (must match ct||tag for valid cases
 * and must not for forged ones), then open ct||tag (forged ones fail). */
static void
wp_burst(struct cr_aead_burst *b, const struct wp_case *cs, unsigned n)
{
	struct cr_aead_op ops[64];
	uint8_t *buf[64], *out[64];
	unsigned n_valid = 0;

	assert_true(n <= 64);
	for (unsigned i = 0; i < n; i++) {
		const struct wp_case *c = &cs[i];

		buf[i] = malloc(c->len + TAG_LEN);
		out[i] = malloc(c->len + 1);
		assert_non_null(buf[i]);
		assert_non_null(out[i]);
		n_valid += c->valid;
		ops[i] = (struct cr_aead_op){.key = c->key,
					     .nonce = c->iv,
					     .aad = c->aad,
					     .aad_len = (uint32_t)c->aad_len,
					     .len = (uint32_t)c->len,
					     .counter = 0xdead,
					     .status = 12345};
		/* odd ops in place, even ones out of place */
		if (i % 2) {
			memcpy(buf[i], c->msg, c->len);
			ops[i].src = buf[i];
		} else {
			ops[i].src = c->msg;
		}
		ops[i].dst = buf[i];
	}
	assert_int_equal(cr_aead_burst_seal(b, ops, n), n);
	for (unsigned i = 0; i < n; i++) {
		const struct wp_case *c = &cs[i];
		bool same = memcmp(buf[i], c->ct, c->len) == 0 &&
			    memcmp(buf[i] + c->len, c->tag, TAG_LEN) == 0;

		assert_int_equal(ops[i].status, 0);
		if (same != c->valid)
			fail_msg("tcId %ld (op %u of %u, len %zu, aad %zu): seal %s ct||tag", c->id,
				 i, n, c->len, c->aad_len,
				 c->valid ? "does not give" : "reproduces the forged");
	}

	for (unsigned i = 0; i < n; i++) {
		const struct wp_case *c = &cs[i];

		memcpy(buf[i], c->ct, c->len);
		memcpy(buf[i] + c->len, c->tag, TAG_LEN);
		ops[i].src = buf[i];
		ops[i].dst = i % 3 == 0 ? buf[i] : out[i];
		ops[i].status = 12345;
	}
	assert_int_equal(cr_aead_burst_open(b, ops, n), n_valid);
	for (unsigned i = 0; i < n; i++) {
		const struct wp_case *c = &cs[i];

		if (c->valid) {
			if (ops[i].status != 0)
				fail_msg("tcId %ld: open failed (%d)", c->id, ops[i].status);
			assert_memory_equal(ops[i].dst, c->msg, c->len);
		} else if (ops[i].status != -EBADMSG) {
			fail_msg("tcId %ld: forged message opened (%d)", c->id, ops[i].status);
		}
		free(buf[i]);
		free(out[i]);
	}
}

static void
wycheproof(enum cr_aead_backend be)
{
	static const unsigned sizes[] = {1, 7, 32, 64};
	struct cr_aead_burst *b = burst_new(be);
	struct wp_set s;

	wp_load(&s);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned mixed = 0;

		for (size_t i = 0; i < s.n; i += sizes[k]) {
			unsigned n = (unsigned)(s.n - i < sizes[k] ? s.n - i : sizes[k]);
			unsigned v = 0;

			for (unsigned j = 0; j < n; j++)
				v += s.c[i + j].valid;
			mixed += v != 0 && v != n;
			wp_burst(b, &s.c[i], n);
		}
		/* the per-op status mapping is only proven by mixed bursts */
		if (sizes[k] > 1)
			assert_true(mixed > 0);
	}
	print_message("%s: %zu Wycheproof cases (%zu valid) in bursts of 1, 7, 32, 64\n",
		      cr_aead_backend_name(be), s.n, s.n_valid);
	wp_free(&s);
	cr_aead_burst_free(b);
}

static void
test_wycheproof_sodium(void **state)
{
	(void)state;
	wycheproof(CR_AEAD_BACKEND_SODIUM);
}

static void
test_wycheproof_ipsec_mb(void **state)
{
	(void)state;
	wycheproof(CR_AEAD_BACKEND_IPSEC_MB);
}

/* ---- keepalives ------------------------------------------------------- */

/* A WireGuard keepalive is a zero-length plaintext: 16 bytes of tag only. */
static void
keepalive(enum cr_aead_backend be)
{
	static const uint64_t counters[] = {
		0,
		1,
		0xff,
		0x100,
		0xffffffffULL,
		0x100000000ULL,
		1ULL << 60,
		UINT64_MAX - (1ULL << 13),
		UINT64_MAX,
	};
	enum { N = sizeof(counters) / sizeof(counters[0]) };
	struct cr_aead_burst *b = burst_new(be);
	struct cr_aead_op ops[N];
	uint8_t key[N][KEY_LEN], msg[N][TAG_LEN], ref[N][TAG_LEN], nonce[NONCE_LEN];
	uint8_t dummy[N][1], aad[8] = {0x67, 0x61, 0x74, 0x65, 0x34, 0x34, 0x6b, 0x61};

	rng_state = 0x5eed0002;
	for (unsigned i = 0; i < N; i++) {
		rnd_fill(key[i], KEY_LEN);
		wg_nonce(nonce, counters[i]);
		/* every other one with associated data */
		crypto_aead_chacha20poly1305_ietf_encrypt(ref[i], NULL, dummy[i], 0, aad,
							  i % 2 ? sizeof(aad) : 0, NULL, nonce,
							  key[i]);
		ops[i] = (struct cr_aead_op){.key = key[i],
					     .src = msg[i],
					     .dst = msg[i],
					     .counter = counters[i],
					     .aad = i % 2 ? aad : NULL,
					     .aad_len = i % 2 ? sizeof(aad) : 0,
					     .status = 1};
	}
	assert_int_equal(cr_aead_burst_seal(b, ops, N), N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(ops[i].status, 0);
		assert_memory_equal(msg[i], ref[i], TAG_LEN);
	}

	/* open: in place, out of place, and with a flipped tag bit in between */
	for (unsigned i = 0; i < N; i++) {
		ops[i].dst = i % 2 ? msg[i] : dummy[i];
		ops[i].status = 1;
		if (i % 3 == 1)
			msg[i][i % TAG_LEN] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(cr_aead_burst_open(b, ops, N), N - N / 3);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(ops[i].status, i % 3 == 1 ? -EBADMSG : 0);
	cr_aead_burst_free(b);
}

static void
test_keepalive_sodium(void **state)
{
	(void)state;
	keepalive(CR_AEAD_BACKEND_SODIUM);
}

static void
test_keepalive_ipsec_mb(void **state)
{
	(void)state;
	keepalive(CR_AEAD_BACKEND_IPSEC_MB);
}

/* ---- both backends against a reference on random bursts --------------- */

struct rop {
	uint8_t key[KEY_LEN];
	uint8_t aad[32];
	uint32_t aad_len, len;
	uint64_t counter;
	uint8_t pt[MAX_LEN];
	uint8_t ref[MAX_LEN + TAG_LEN]; /* reference ct||tag */
	uint8_t buf[MAX_LEN + TAG_LEN]; /* src / in-place buffer */
	uint8_t out[MAX_LEN + TAG_LEN]; /* out-of-place dst */
};

static uint32_t
rnd_len(void)
{
	switch (rnd_below(8)) {
	case 0:
		return 0; /* keepalive */
	case 1:
		return rnd_below(65); /* around the 16- and 64-byte block edges */
	case 2:
		return MAX_LEN - rnd_below(4);
	default:
		return rnd_below(MAX_LEN + 1);
	}
}

static uint64_t
rnd_counter(void)
{
	static const uint64_t edge[] = {0, 1, 0xffffffffULL, 0x100000000ULL, UINT64_MAX};

	return rnd_below(4) == 0 ? edge[rnd_below(5)] : rnd();
}

/* A random burst: keys (some shared), counters, lengths, some AAD. */
static void
rop_make(struct rop *r, unsigned n)
{
	uint8_t nonce[NONCE_LEN];

	for (unsigned i = 0; i < n; i++) {
		if (i > 0 && rnd_below(4) == 0)
			memcpy(r[i].key, r[rnd_below(i)].key, KEY_LEN); /* same peer */
		else
			rnd_fill(r[i].key, KEY_LEN);
		r[i].counter = rnd_counter();
		r[i].len = rnd_len();
		r[i].aad_len = rnd_below(4) == 0 ? 1 + rnd_below(32) : 0;
		rnd_fill(r[i].aad, r[i].aad_len);
		rnd_fill(r[i].pt, r[i].len);
		wg_nonce(nonce, r[i].counter);
		crypto_aead_chacha20poly1305_ietf_encrypt(r[i].ref, NULL, r[i].pt, r[i].len,
							  r[i].aad, r[i].aad_len, NULL, nonce,
							  r[i].key);
	}
}

static void
rop_op(struct cr_aead_op *op, struct rop *r)
{
	*op = (struct cr_aead_op){.key = r->key,
				  .counter = r->counter,
				  .aad = r->aad_len ? r->aad : NULL,
				  .aad_len = r->aad_len,
				  .len = r->len,
				  .status = 12345};
}

static void
check_seal(struct cr_aead_burst *b, struct rop *r, struct cr_aead_op *ops, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		rop_op(&ops[i], &r[i]);
		memcpy(r[i].buf, r[i].pt, r[i].len);
		ops[i].src = r[i].buf;
		ops[i].dst = rnd_below(2) ? r[i].buf : r[i].out;
	}
	assert_int_equal(cr_aead_burst_seal(b, ops, n), n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(ops[i].status, 0);
		assert_memory_equal(ops[i].dst, r[i].ref, r[i].len + TAG_LEN);
	}
}

/* Open the reference ct||tag with about a quarter of the ops forged by one
 * flipped bit (in the ciphertext or the tag); the others must not notice. */
static void
check_open(struct cr_aead_burst *b, struct rop *r, struct cr_aead_op *ops, unsigned n)
{
	bool forged[MAX_BURST];
	unsigned want = 0;

	assert_true(n <= MAX_BURST);
	for (unsigned i = 0; i < n; i++) {
		rop_op(&ops[i], &r[i]);
		memcpy(r[i].buf, r[i].ref, r[i].len + TAG_LEN);
		forged[i] = rnd_below(4) == 0;
		if (forged[i]) {
			uint32_t bit = rnd_below((r[i].len + TAG_LEN) * 8);

			r[i].buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		want += !forged[i];
		ops[i].src = r[i].buf;
		ops[i].dst = rnd_below(2) ? r[i].buf : r[i].out;
	}
	assert_int_equal(cr_aead_burst_open(b, ops, n), want);
	for (unsigned i = 0; i < n; i++) {
		if (forged[i]) {
			assert_int_equal(ops[i].status, -EBADMSG);
		} else {
			assert_int_equal(ops[i].status, 0);
			assert_memory_equal(ops[i].dst, r[i].pt, r[i].len);
		}
	}
}

static void
test_random_cross(void **state)
{
	enum { ROUNDS = 300 };
	struct cr_aead_burst *bs[2];
	unsigned nb = 0, total = 0;
	struct cr_aead_op *ops = calloc(MAX_BURST, sizeof(*ops));
	struct rop *r = calloc(MAX_BURST, sizeof(*r));

	(void)state;
	assert_non_null(ops);
	assert_non_null(r);
	bs[nb++] = burst_new(CR_AEAD_BACKEND_SODIUM);
	if (ipsec_mb_skipped())
		print_message("GATE44_NO_IPSEC_MB=1: libsodium against the reference only\n");
	else
		bs[nb++] = burst_new(CR_AEAD_BACKEND_IPSEC_MB);

	rng_state = 0x5eed0003;
	print_message("seed %#llx\n", (unsigned long long)rng_state);
	for (unsigned round = 0; round < ROUNDS; round++) {
		/* mostly engine-sized bursts; some of several 64-op chunks (so
		 * several ipsec-mb bursts in one call) */
		unsigned n = round % 10 == 9 ? 65 + rnd_below(MAX_BURST - 64) : 1 + rnd_below(64);

		rop_make(r, n);
		for (unsigned k = 0; k < nb; k++) {
			check_seal(bs[k], r, ops, n);
			check_open(bs[k], r, ops, n);
		}
		total += n;
	}
	print_message("%u random messages through %u backends\n", total, nb);
	for (unsigned k = 0; k < nb; k++)
		cr_aead_burst_free(bs[k]);
	free(ops);
	free(r);
}

/* A message sealed by one backend opens with the other, and one burst may
 * use WireGuard nonces and explicit nonces side by side. */
static void
test_backend_interop(void **state)
{
	enum { N = 40 };
	struct cr_aead_burst *mb = burst_new(CR_AEAD_BACKEND_IPSEC_MB);
	struct cr_aead_burst *sod = burst_new(CR_AEAD_BACKEND_SODIUM);
	struct cr_aead_burst *pairs[2][2] = {{sod, mb}, {mb, sod}};
	struct cr_aead_op ops[N];
	struct rop *r = calloc(N, sizeof(*r));
	uint8_t nonce[N][NONCE_LEN];

	(void)state;
	assert_non_null(r);
	rng_state = 0x5eed0004;
	for (unsigned p = 0; p < 2; p++) {
		rop_make(r, N);
		for (unsigned i = 0; i < N; i++) {
			rop_op(&ops[i], &r[i]);
			memcpy(r[i].buf, r[i].pt, r[i].len);
			ops[i].src = ops[i].dst = r[i].buf;
			if (i % 2) {
				wg_nonce(nonce[i], r[i].counter);
				ops[i].nonce = nonce[i];
				ops[i].counter = ~r[i].counter; /* ignored */
			}
		}
		assert_int_equal(cr_aead_burst_seal(pairs[p][0], ops, N), N);
		for (unsigned i = 0; i < N; i++) {
			assert_memory_equal(r[i].buf, r[i].ref, r[i].len + TAG_LEN);
			ops[i].dst = r[i].out;
		}
		assert_int_equal(cr_aead_burst_open(pairs[p][1], ops, N), N);
		for (unsigned i = 0; i < N; i++)
			assert_memory_equal(r[i].out, r[i].pt, r[i].len);
	}
	free(r);
	cr_aead_burst_free(sod);
	cr_aead_burst_free(mb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_names),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_ipsec_mb),
		cmocka_unit_test(test_wycheproof_sodium),
		cmocka_unit_test(test_wycheproof_ipsec_mb),
		cmocka_unit_test(test_keepalive_sodium),
		cmocka_unit_test(test_keepalive_ipsec_mb),
		cmocka_unit_test(test_random_cross),
		cmocka_unit_test(test_backend_interop),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
