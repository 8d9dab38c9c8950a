/*
 * test_x25519.c — X25519 against every Wycheproof case, all-zero shared
 * secret rejection, key generation and DH symmetry. Single-threaded cmocka
 * test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "vectors.h"
#include "x25519.h"

static const uint8_t zero32[32];

static void
test_init(void **state)
{
	(void)state;
	/* main() already initialised: a repeated call still returns 0. */
	assert_int_equal(cr_init(), 0);
	assert_int_equal(cr_init(), 0);
}

/*
 * wycheproof_x25519.json: "valid" must match; "acceptable" (twist points,
 * low-order and non-canonical keys) must match too, except that an all-zero
 * expected secret must be refused with -EINVAL; "invalid" must fail or differ.
 */
static void
test_wycheproof(void **state)
{
	json_t *root = vec_load("wycheproof_x25519.json");
	size_t valid = 0, acceptable = 0, rejected = 0, invalid = 0, total = 0, gi, ti;
	json_t *groups = json_object_get(root, "testGroups"), *g, *t;

	(void)state;
	assert_true(json_is_array(groups));
	json_array_foreach(groups, gi, g)
	{
		assert_string_equal(vec_str(g, "curve"), "curve25519");
		json_array_foreach(json_object_get(g, "tests"), ti, t)
		{
			uint8_t priv[32], pub[32], want[32], got[32];
			const char *result = vec_str(t, "result");
			int rc;

			vec_hex_fixed(vec_str(t, "private"), priv, 32);
			vec_hex_fixed(vec_str(t, "public"), pub, 32);
			vec_hex_fixed(vec_str(t, "shared"), want, 32);
			memset(got, 0xaa, sizeof(got));
			rc = cr_x25519(got, priv, pub);

			if (sodium_is_zero(want, 32)) {
				/* Never accepted, whatever the vector's verdict. */
				assert_int_equal(rc, -EINVAL);
				assert_memory_equal(got, zero32, 32);
				rejected++;
			} else if (strcmp(result, "valid") == 0 ||
				   strcmp(result, "acceptable") == 0) {
				if (rc != 0)
					fail_msg("tcId %lld: rc %d",
						 (long long)json_integer_value(
							 json_object_get(t, "tcId")),
						 rc);
				assert_memory_equal(got, want, 32);
			} else {
				assert_string_equal(result, "invalid");
				assert_true(rc != 0 || memcmp(got, want, 32) != 0);
				invalid++;
			}
			if (strcmp(result, "valid") == 0)
				valid++;
			else if (strcmp(result, "acceptable") == 0)
				acceptable++;
			total++;
		}
	}
	assert_true(valid > 0);
	assert_true(acceptable > 0);
	assert_true(rejected > 0);
	assert_int_equal(valid + acceptable + invalid, total);
	assert_int_equal(total, json_integer_value(json_object_get(root, "numberOfTests")));
	print_message("x25519: %zu valid, %zu acceptable (%zu all-zero rejected), %zu invalid\n",
		      valid, acceptable, rejected, invalid);
	json_decref(root);
}

/*
 * Low-order points (libsodium's blacklist and RFC 7748 §6.1), plus forms with
 * bit 255 set, which X25519 ignores: every one must give -EINVAL and a zeroed
 * output whatever the private key.
 */
static const char *const low_order[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
};

static void
test_low_order(void **state)
{
	uint8_t priv[32], pub[32], out[32];
	size_t i;
	int k;

	(void)state;
	for (k = 0; k < 4; k++) {
		randombytes_buf(priv, sizeof(priv));
		for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
			vec_hex_fixed(low_order[i], pub, 32);
			memset(out, 0xaa, sizeof(out));
			assert_int_equal(cr_x25519(out, priv, pub), -EINVAL);
			assert_memory_equal(out, zero32, 32);
		}
	}
}

/* RFC 7748 §6.1: public keys from private keys, and the shared secret. */
static const struct {
	const char *priv;
	const char *pub;
} rfc7748_keys[] = {
	{"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	 "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
	{"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	 "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
};

static void
test_rfc7748(void **state)
{
	uint8_t priv[2][32], pub[2][32], want[32], s1[32], s2[32];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		vec_hex_fixed(rfc7748_keys[i].priv, priv[i], 32);
		vec_hex_fixed(rfc7748_keys[i].pub, want, 32);
		assert_int_equal(cr_x25519_public(pub[i], priv[i]), 0);
		assert_memory_equal(pub[i], want, 32);
	}
	vec_hex_fixed("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	assert_int_equal(cr_x25519(s1, priv[0], pub[1]), 0);
	assert_int_equal(cr_x25519(s2, priv[1], pub[0]), 0);
	assert_memory_equal(s1, want, 32);
	assert_memory_equal(s2, want, 32);
}

/* Fresh keys are clamped, consistent with cr_x25519_public, distinct, and
 * agree on a non-zero shared secret. */
static void
test_keypair(void **state)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], pub[32], s1[32], s2[32];
	int i;

	(void)state;
	for (i = 0; i < 32; i++) {
		assert_int_equal(cr_x25519_keypair(a_priv, a_pub), 0);
		assert_int_equal(cr_x25519_keypair(b_priv, b_pub), 0);
		assert_int_equal(a_priv[0] & 7, 0);
		assert_int_equal(a_priv[31] & 0xc0, 0x40);
		assert_memory_not_equal(a_priv, b_priv, 32);
		assert_memory_not_equal(a_pub, b_pub, 32);

		assert_int_equal(cr_x25519_public(pub, a_priv), 0);
		assert_memory_equal(pub, a_pub, 32);
		assert_int_equal(cr_x25519_public(pub, b_priv), 0);
		assert_memory_equal(pub, b_pub, 32);

		assert_int_equal(cr_x25519(s1, a_priv, b_pub), 0);
		assert_int_equal(cr_x25519(s2, b_priv, a_pub), 0);
		assert_memory_equal(s1, s2, 32);
		assert_false(sodium_is_zero(s1, 32));
	}
	sodium_memzero(a_priv, sizeof(a_priv));
	sodium_memzero(b_priv, sizeof(b_priv));
}

int
main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_wycheproof),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_rfc7748),
		cmocka_unit_test(test_keypair),
	};
	/* clang-format on */

	if (cr_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
