/*
 * test_aead.c — ChaCha20-Poly1305 and XChaCha20-Poly1305 against every
 * applicable Wycheproof case, WireGuard's counter nonce, in-place operation
 * and error returns. Single-threaded cmocka test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "aead.h"
#include "vectors.h"

/* cr_aead_*_nonce and cr_xaead_* share this shape (array parameters decay). */
typedef int (*aead_fn)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		       size_t adlen, const uint8_t *nonce, const uint8_t *key);

struct aead_impl {
	const char *file;
	unsigned int iv_bits;
	size_t nonce_len;
	aead_fn seal;
	aead_fn open;
};

static const struct aead_impl impls[] = {
	{"wycheproof_chacha20_poly1305.json", 96, CR_AEAD_NONCE_LEN, cr_aead_seal_nonce,
	 cr_aead_open_nonce},
	{"wycheproof_xchacha20_poly1305.json", 192, CR_XAEAD_NONCE_LEN, cr_xaead_seal,
	 cr_xaead_open},
};

static int
all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || sodium_is_zero(p, n);
}

/* One Wycheproof case; returns 1 when it was valid, 0 when invalid. */
static int
check_case(const struct aead_impl *im, const json_t *t)
{
	const char *result = vec_str(t, "result");
	uint8_t key[32], nonce[CR_XAEAD_NONCE_LEN];
	size_t adlen, mlen, ctlen, taglen, clen;
	uint8_t *ad, *msg, *ct, *tag, *sealed, *buf;
	long long id = json_integer_value(json_object_get(t, "tcId"));
	int valid, rc;

	vec_hex_fixed(vec_str(t, "key"), key, 32);
	vec_hex_fixed(vec_str(t, "iv"), nonce, im->nonce_len);
	ad = vec_hex(vec_str(t, "aad"), &adlen);
	msg = vec_hex(vec_str(t, "msg"), &mlen);
	ct = vec_hex(vec_str(t, "ct"), &ctlen);
	tag = vec_hex(vec_str(t, "tag"), &taglen);
	assert_int_equal(ctlen, mlen);
	assert_int_equal(taglen, CR_AEAD_TAG_LEN);

	/* The expected wire form: ct || tag. */
	clen = ctlen + CR_AEAD_TAG_LEN;
	sealed = malloc(clen);
	buf = malloc(clen);
	assert_non_null(sealed);
	assert_non_null(buf);
	memcpy(sealed, ct, ctlen);
	memcpy(sealed + ctlen, tag, CR_AEAD_TAG_LEN);

	if (strcmp(result, "valid") == 0) {
		valid = 1;
		/* seal */
		assert_int_equal(im->seal(buf, msg, mlen, ad, adlen, nonce, key), 0);
		if (memcmp(buf, sealed, clen) != 0)
			fail_msg("%s tcId %lld: seal mismatch", im->file, id);
		/* open */
		memset(buf, 0xaa, clen);
		rc = im->open(buf, sealed, clen, ad, adlen, nonce, key);
		if (rc != 0)
			fail_msg("%s tcId %lld: open returned %d", im->file, id, rc);
		assert_memory_equal(buf, msg, mlen);
		/* seal in place */
		memcpy(buf, msg, mlen);
		assert_int_equal(im->seal(buf, buf, mlen, ad, adlen, nonce, key), 0);
		assert_memory_equal(buf, sealed, clen);
		/* open in place */
		assert_int_equal(im->open(buf, buf, clen, ad, adlen, nonce, key), 0);
		assert_memory_equal(buf, msg, mlen);
	} else {
		assert_string_equal(result, "invalid");
		valid = 0;
		memset(buf, 0xaa, clen);
		rc = im->open(buf, sealed, clen, ad, adlen, nonce, key);
		if (rc != -EBADMSG)
			fail_msg("%s tcId %lld: open returned %d, want -EBADMSG", im->file, id, rc);
		assert_true(all_zero(buf, mlen));
		/* in place, too */
		memcpy(buf, sealed, clen);
		assert_int_equal(im->open(buf, buf, clen, ad, adlen, nonce, key), -EBADMSG);
		assert_true(all_zero(buf, mlen));
		/* and sealing msg does not reproduce the forged ct || tag */
		rc = im->seal(buf, msg, mlen, ad, adlen, nonce, key);
		assert_true(rc != 0 || memcmp(buf, sealed, clen) != 0);
	}

	free(ad);
	free(msg);
	free(ct);
	free(tag);
	free(sealed);
	free(buf);
	return valid;
}

static void
run_wycheproof(const struct aead_impl *im)
{
	json_t *root = vec_load(im->file);
	json_t *groups = json_object_get(root, "testGroups"), *g, *t;
	size_t applicable = 0, tested = 0, valid = 0, na = 0, gi, ti;

	assert_true(json_is_array(groups));
	json_array_foreach(groups, gi, g)
	{
		json_t *tests = json_object_get(g, "tests");

		assert_true(json_is_array(tests));
		/* Other nonce sizes do not exist for this primitive's API. */
		if (json_integer_value(json_object_get(g, "ivSize")) != im->iv_bits) {
			na += json_array_size(tests);
			continue;
		}
		assert_int_equal(json_integer_value(json_object_get(g, "keySize")), 256);
		assert_int_equal(json_integer_value(json_object_get(g, "tagSize")), 128);
		applicable += json_array_size(tests);
		json_array_foreach(tests, ti, t)
		{
			valid += (size_t)check_case(im, t);
			tested++;
		}
	}
	assert_true(tested > 0);
	assert_int_equal(tested, applicable);
	assert_true(valid > 0 && valid < tested);
	assert_int_equal(tested + na, json_integer_value(json_object_get(root, "numberOfTests")));
	print_message("%s: %zu tested (%zu valid, %zu invalid), %zu not applicable\n", im->file,
		      tested, valid, tested - valid, na);
	json_decref(root);
}

static void
test_wycheproof_chacha(void **state)
{
	(void)state;
	run_wycheproof(&impls[0]);
}

static void
test_wycheproof_xchacha(void **state)
{
	(void)state;
	run_wycheproof(&impls[1]);
}

/* cr_aead_{seal,open}(counter) == *_nonce(0,0,0,0 || le64(counter)). */
static void
test_wg_nonce(void **state)
{
	static const uint64_t counters[] = {
		0, 1, 0xff, 0x100, 0x0102030405060708ULL, (1ULL << 60), UINT64_MAX,
	};
	static const uint8_t ad[] = "additional data";
	uint8_t key[32], msg[100], a[sizeof(msg) + 16], b[sizeof(msg) + 16], out[sizeof(msg)];
	size_t i;
	int j;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		uint8_t nonce[CR_AEAD_NONCE_LEN] = {0};

		for (j = 0; j < 8; j++)
			nonce[4 + j] = (uint8_t)(counters[i] >> (8 * j));
		assert_int_equal(
			cr_aead_seal(a, msg, sizeof(msg), ad, sizeof(ad), counters[i], key), 0);
		assert_int_equal(
			cr_aead_seal_nonce(b, msg, sizeof(msg), ad, sizeof(ad), nonce, key), 0);
		assert_memory_equal(a, b, sizeof(a));

		assert_int_equal(cr_aead_open(out, a, sizeof(a), ad, sizeof(ad), counters[i], key),
				 0);
		assert_memory_equal(out, msg, sizeof(msg));
		/* Another counter, or another ad, does not open it. */
		assert_int_equal(
			cr_aead_open(out, a, sizeof(a), ad, sizeof(ad), counters[i] ^ 1, key),
			-EBADMSG);
		assert_true(all_zero(out, sizeof(out)));
		assert_int_equal(
			cr_aead_open(out, a, sizeof(a), ad, sizeof(ad) - 1, counters[i], key),
			-EBADMSG);
	}
}

/* In place through the counter API, with a keepalive (empty) message too. */
static void
test_in_place(void **state)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 1420};
	uint8_t key[32], nonce[CR_XAEAD_NONCE_LEN];
	uint8_t msg[1420], buf[1420 + 16], ref[1420 + 16];
	size_t i;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(msg, sizeof(msg));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];

		assert_int_equal(cr_aead_seal(ref, msg, n, NULL, 0, 42, key), 0);
		memcpy(buf, msg, n);
		assert_int_equal(cr_aead_seal(buf, buf, n, NULL, 0, 42, key), 0);
		assert_memory_equal(buf, ref, n + 16);
		assert_int_equal(cr_aead_open(buf, buf, n + 16, NULL, 0, 42, key), 0);
		assert_memory_equal(buf, msg, n);

		assert_int_equal(cr_xaead_seal(ref, msg, n, NULL, 0, nonce, key), 0);
		memcpy(buf, msg, n);
		assert_int_equal(cr_xaead_seal(buf, buf, n, NULL, 0, nonce, key), 0);
		assert_memory_equal(buf, ref, n + 16);
		assert_int_equal(cr_xaead_open(buf, buf, n + 16, NULL, 0, nonce, key), 0);
		assert_memory_equal(buf, msg, n);

		/* A flipped bit anywhere fails, in place, and wipes the output. */
		memcpy(buf, ref, n + 16);
		buf[(n + 16) / 2] ^= 0x01;
		assert_int_equal(cr_xaead_open(buf, buf, n + 16, NULL, 0, nonce, key), -EBADMSG);
		assert_true(all_zero(buf, n));
	}
}

/* Shorter than a tag: -EINVAL, for every open function. */
static void
test_short(void **state)
{
	uint8_t key[32] = {0}, nonce[CR_XAEAD_NONCE_LEN] = {0}, src[16] = {0}, dst[16];
	size_t len;

	(void)state;
	for (len = 0; len < CR_AEAD_TAG_LEN; len++) {
		assert_int_equal(cr_aead_open(dst, src, len, NULL, 0, 0, key), -EINVAL);
		assert_int_equal(cr_aead_open_nonce(dst, src, len, NULL, 0, nonce, key), -EINVAL);
		assert_int_equal(cr_xaead_open(dst, src, len, NULL, 0, nonce, key), -EINVAL);
	}
	/* Exactly a tag is an empty message: well-formed, but this tag is forged. */
	assert_int_equal(cr_aead_open(dst, src, 16, NULL, 0, 0, key), -EBADMSG);
	assert_int_equal(cr_xaead_open(dst, src, 16, NULL, 0, nonce, key), -EBADMSG);
}

int
main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wycheproof_chacha),
		cmocka_unit_test(test_wycheproof_xchacha),
		cmocka_unit_test(test_wg_nonce),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_short),
	};
	/* clang-format on */

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
