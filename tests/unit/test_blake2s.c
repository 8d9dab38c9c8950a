/*
 * test_blake2s.c — BLAKE2s (official KAT, RFC 7693), HMAC-BLAKE2s and
 * WireGuard's KDF against published vectors. Single-threaded cmocka test.
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

#include "blake2s.h"
#include "vectors.h"
#include "wg_const.h"

/* Odd chunk sizes, to cross block boundaries at every offset. */
static const size_t chunk_sizes[] = {1, 3, 7, 13, 31, 63, 64, 65, 127};

static void
hash_chunked(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key,
	     size_t keylen, size_t chunk)
{
	struct cr_blake2s_state s;
	size_t off, n;

	assert_int_equal(cr_blake2s_init(&s, outlen, key, keylen), 0);
	cr_blake2s_update(&s, in, 0);
	for (off = 0; off < inlen; off += n) {
		n = inlen - off < chunk ? inlen - off : chunk;
		cr_blake2s_update(&s, in + off, n);
	}
	cr_blake2s_final(&s, out);
}

/* Every entry of the reference KAT (blake2/testvectors/blake2-kat.json). */
static void
test_kat(void **state)
{
	json_t *root = vec_load("blake2s_kat.json");
	size_t i, keyed = 0, unkeyed = 0;
	json_t *e;

	(void)state;
	assert_true(json_is_array(root));
	json_array_foreach(root, i, e)
	{
		size_t inlen, keylen, outlen, c;
		uint8_t *in, *key, *want;
		uint8_t got[CR_BLAKE2S_HASH_LEN];

		assert_string_equal(vec_str(e, "hash"), "blake2s");
		in = vec_hex(vec_str(e, "in"), &inlen);
		key = vec_hex(vec_str(e, "key"), &keylen);
		want = vec_hex(vec_str(e, "out"), &outlen);
		assert_true(outlen >= 1 && outlen <= CR_BLAKE2S_HASH_LEN);

		memset(got, 0, sizeof(got));
		assert_int_equal(cr_blake2s(got, outlen, in, inlen, keylen ? key : NULL, keylen),
				 0);
		assert_memory_equal(got, want, outlen);

		for (c = 0; c < sizeof(chunk_sizes) / sizeof(chunk_sizes[0]); c++) {
			memset(got, 0, sizeof(got));
			hash_chunked(got, outlen, in, inlen, key, keylen, chunk_sizes[c]);
			assert_memory_equal(got, want, outlen);
		}
		if (keylen != 0)
			keyed++;
		else
			unkeyed++;
		free(in);
		free(key);
		free(want);
	}
	assert_true(keyed > 0);
	assert_true(unkeyed > 0);
	assert_int_equal(keyed + unkeyed, json_array_size(root));
	json_decref(root);
}

/*
 * Digest lengths. BLAKE2s-256("abc") is RFC 7693 Appendix B. The 16-byte
 * digest encodes outlen in the parameter block, so it is not a prefix of the
 * 32-byte one; its value was derived with Python 3:
 *   hashlib.blake2s(b'abc', digest_size=16).hexdigest()
 */
static const struct {
	const char *in;
	size_t outlen;
	const char *hex;
} outlen_cases[] = {
	{"abc", 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"},
	{"abc", 16, "aa4938119b1dc7b87cbad0ffd200d0ae"},
};

static void
test_outlen(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outlen_cases) / sizeof(outlen_cases[0]); i++) {
		uint8_t want[CR_BLAKE2S_HASH_LEN], got[CR_BLAKE2S_HASH_LEN + 1];
		size_t outlen = outlen_cases[i].outlen;
		const char *in = outlen_cases[i].in;

		vec_hex_fixed(outlen_cases[i].hex, want, outlen);
		memset(got, 0xa5, sizeof(got));
		assert_int_equal(cr_blake2s(got, outlen, (const uint8_t *)in, strlen(in), NULL, 0),
				 0);
		assert_memory_equal(got, want, outlen);
		/* Nothing is written past outlen. */
		assert_int_equal(got[outlen], 0xa5);
	}
}

static void
test_invalid(void **state)
{
	static const struct {
		size_t outlen;
		size_t keylen;
		int null_key;
	} cases[] = {
		{0, 0, 1}, {33, 0, 1}, {64, 0, 1}, {32, 33, 0}, {32, 64, 0}, {32, 5, 1}, {0, 32, 0},
	};
	uint8_t key[64] = {0}, out[64];
	struct cr_blake2s_state s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *k = cases[i].null_key ? NULL : key;

		assert_int_equal(cr_blake2s_init(&s, cases[i].outlen, k, cases[i].keylen), -EINVAL);
		assert_int_equal(cr_blake2s(out, cases[i].outlen, (const uint8_t *)"x", 1, k,
					    cases[i].keylen),
				 -EINVAL);
	}
	/* The boundaries themselves are valid. */
	assert_int_equal(cr_blake2s(out, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(cr_blake2s(out, 32, NULL, 0, key, 32), 0);
	assert_int_equal(cr_blake2s(out, 32, NULL, 0, key, 1), 0);
}

/* final() leaves no secret state behind. */
static void
test_final_wipes(void **state)
{
	static const uint8_t zero[sizeof(struct cr_blake2s_state)];
	struct cr_blake2s_state s;
	uint8_t key[32], out[32];

	(void)state;
	memset(key, 0x42, sizeof(key));
	assert_int_equal(cr_blake2s_init(&s, 32, key, sizeof(key)), 0);
	cr_blake2s_update(&s, key, sizeof(key));
	cr_blake2s_final(&s, out);
	assert_memory_equal(&s, zero, sizeof(s));
}

/*
 * HMAC-BLAKE2s (RFC 2104, 64-byte block), keys and messages borrowed from
 * RFC 4231 §4.2-4.3, 4.6-4.7 plus an empty key. Reference values derived with
 * Python 3: hmac.new(key, msg, hashlib.blake2s).hexdigest() (block_size 64).
 * Keys of 65 and 131 bytes exercise the hash-the-key path; 64 bytes does not.
 */
static const struct {
	const char *key_hex;
	const char *msg;
	const char *mac_hex;
} hmac_cases[] = {
	{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
	 "65a8b7c5cc9136d424e82c37e2707e74e913c0655b99c75f40edf387453a3260"},
	{"4a656665", "what do ya want for nothing?",
	 "90b6281e2f3038c9056af0b4a7e763cae6fe5d9eb4386a0ec95237890c104ff0"},
	{"", "", "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd"},
};

static void
test_hmac(void **state)
{
	static const char big[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131], msg[50], got[32], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hmac_cases) / sizeof(hmac_cases[0]); i++) {
		size_t klen;
		uint8_t *k = vec_hex(hmac_cases[i].key_hex, &klen);

		vec_hex_fixed(hmac_cases[i].mac_hex, want, 32);
		cr_hmac_blake2s(got, k, klen, (const uint8_t *)hmac_cases[i].msg,
				strlen(hmac_cases[i].msg));
		assert_memory_equal(got, want, 32);
		free(k);
	}

	/* 64-byte key 0xaa, 50 bytes 0xdd (RFC 4231 §4.4 shape, longer key). */
	memset(key, 0xaa, 64);
	memset(msg, 0xdd, 50);
	vec_hex_fixed("72f9ba1ceff3d2edd054021a8d0efea2feb702982a59ed1998ac7649585f490f", want, 32);
	cr_hmac_blake2s(got, key, 64, msg, 50);
	assert_memory_equal(got, want, 32);

	/* Keys longer than the block are hashed first. */
	memset(key, 0xaa, sizeof(key));
	vec_hex_fixed("3f4bf4ce3c6b5f6e4156ace1b6fb7e5ec194274c059ee3fd99bd042ed458400a", want, 32);
	cr_hmac_blake2s(got, key, 65, (const uint8_t *)big, strlen(big));
	assert_memory_equal(got, want, 32);
	vec_hex_fixed("d23d79394f53d536a096e6514447eeaabb05ded01be32c1937da6a8f7103bc4e", want, 32);
	cr_hmac_blake2s(got, key, 131, (const uint8_t *)big, strlen(big));
	assert_memory_equal(got, want, 32);

	/* out may alias the message. */
	memcpy(got, big, 32);
	cr_hmac_blake2s(want, key, 131, got, 32);
	cr_hmac_blake2s(got, key, 131, got, 32);
	assert_memory_equal(got, want, 32);
}

/*
 * One KDF vector. cr_kdf takes a 32-byte chaining key, but the published
 * vectors use shorter keys. HMAC zero-pads its key to the 64-byte block, so a
 * key zero-padded to 32 bytes gives the same prk: feed it that way, and also
 * recompute the chain with cr_hmac_blake2s on the unpadded key.
 */
static void
check_kdf_vector(const json_t *v)
{
	uint8_t t0[32], t1[32], t2[32], w0[32], w1[32], w2[32], ck[32] = {0};
	uint8_t prk[32], buf[33];
	size_t keylen, inlen;
	uint8_t *key = vec_hex(vec_str(v, "key"), &keylen);
	uint8_t *in = vec_hex(vec_str(v, "input"), &inlen);

	assert_true(keylen <= sizeof(ck));
	memcpy(ck, key, keylen);
	vec_hex_fixed(vec_str(v, "t0"), w0, 32);
	vec_hex_fixed(vec_str(v, "t1"), w1, 32);
	vec_hex_fixed(vec_str(v, "t2"), w2, 32);

	cr_kdf(t0, t1, t2, ck, in, inlen);
	assert_memory_equal(t0, w0, 32);
	assert_memory_equal(t1, w1, 32);
	assert_memory_equal(t2, w2, 32);

	cr_hmac_blake2s(prk, key, keylen, in, inlen);
	buf[0] = 1;
	cr_hmac_blake2s(buf, prk, 32, buf, 1);
	assert_memory_equal(buf, w0, 32);
	buf[32] = 2;
	cr_hmac_blake2s(buf, prk, 32, buf, 33);
	assert_memory_equal(buf, w1, 32);
	buf[32] = 3;
	cr_hmac_blake2s(buf, prk, 32, buf, 33);
	assert_memory_equal(buf, w2, 32);

	free(key);
	free(in);
}

/* Every group of wireguard_kdf.json: kdf_vectors_*, the initial chaining key
 * and hash, and a Linux-generated initiation's mac1. */
static void
test_kdf_vectors(void **state)
{
	json_t *root = vec_load("wireguard_kdf.json");
	size_t groups = 0, vectors = 0, i;
	const char *name;
	json_t *g, *v;

	(void)state;
	json_object_foreach(root, name, g)
	{
		json_t *list = json_object_get(g, "vectors");

		if (!json_is_array(list))
			continue;
		groups++;
		json_array_foreach(list, i, v)
		{
			check_kdf_vector(v);
			vectors++;
		}
	}
	assert_true(groups >= 2);
	assert_true(vectors > 0);

	/* C = HASH(Construction), H = HASH(C || Identifier). */
	g = json_object_get(root, "initial_chaining_key_and_hash");
	assert_non_null(g);
	{
		uint8_t c[32], h[32], want[32];
		struct cr_blake2s_state s;

		assert_string_equal(vec_str(g, "construction"), WG_CONSTRUCTION);
		assert_string_equal(vec_str(g, "identifier"), WG_IDENTIFIER);
		assert_int_equal(cr_blake2s(c, 32, (const uint8_t *)WG_CONSTRUCTION,
					    strlen(WG_CONSTRUCTION), NULL, 0),
				 0);
		vec_hex_fixed(vec_str(g, "C = HASH(Construction)"), want, 32);
		assert_memory_equal(c, want, 32);
		assert_int_equal(cr_blake2s_init(&s, 32, NULL, 0), 0);
		cr_blake2s_update(&s, c, 32);
		cr_blake2s_update(&s, (const uint8_t *)WG_IDENTIFIER, strlen(WG_IDENTIFIER));
		cr_blake2s_final(&s, h);
		vec_hex_fixed(vec_str(g, "H = HASH(C || Identifier)"), want, 32);
		assert_memory_equal(h, want, 32);
	}

	/* mac1 = BLAKE2s-128(key = BLAKE2s-256("mac1----" || Spub_r), msg[0:116]). */
	g = json_object_get(root, "linux_generated_initiation_mac1");
	assert_non_null(g);
	{
		const char *b64 = vec_str(g, "responder_public_key_b64");
		uint8_t pub[32], mkey[32], mac[WG_MAC_LEN], zero[WG_MAC_LEN] = {0};
		struct cr_blake2s_state s;
		size_t publen = 0, msglen;
		uint8_t *msg = vec_hex(vec_str(g, "initiation_hex"), &msglen);

		assert_int_equal(sodium_base642bin(pub, sizeof(pub), b64, strlen(b64), NULL,
						   &publen, NULL, sodium_base64_VARIANT_ORIGINAL),
				 0);
		assert_int_equal(publen, 32);
		assert_int_equal(msglen, WG_MSG_INITIATION_LEN);
		assert_int_equal(cr_blake2s_init(&s, 32, NULL, 0), 0);
		cr_blake2s_update(&s, (const uint8_t *)WG_LABEL_MAC1, strlen(WG_LABEL_MAC1));
		cr_blake2s_update(&s, pub, 32);
		cr_blake2s_final(&s, mkey);
		assert_int_equal(cr_blake2s(mac, WG_MAC_LEN, msg, 116, mkey, 32), 0);
		assert_memory_equal(mac, msg + 116, WG_MAC_LEN);
		assert_memory_equal(msg + 132, zero, WG_MAC_LEN);
		free(msg);
	}
	json_decref(root);
}

/* KDF1 and KDF2 (NULL outputs) are prefixes of KDF3; any subset works. */
static void
test_kdf_prefixes(void **state)
{
	uint8_t ck[32], in[77], a[32], b[32], c[32], x[32], y[32], z[32];
	size_t inlen;

	(void)state;
	randombytes_buf(ck, sizeof(ck));
	randombytes_buf(in, sizeof(in));
	for (inlen = 0; inlen <= sizeof(in); inlen += 11) {
		cr_kdf(a, b, c, ck, in, inlen);

		memset(x, 0, 32);
		cr_kdf(x, NULL, NULL, ck, in, inlen);
		assert_memory_equal(x, a, 32);

		memset(x, 0, 32);
		memset(y, 0, 32);
		cr_kdf(x, y, NULL, ck, in, inlen);
		assert_memory_equal(x, a, 32);
		assert_memory_equal(y, b, 32);

		memset(y, 0, 32);
		cr_kdf(NULL, y, NULL, ck, in, inlen);
		assert_memory_equal(y, b, 32);

		memset(z, 0, 32);
		cr_kdf(NULL, NULL, z, ck, in, inlen);
		assert_memory_equal(z, c, 32);

		cr_kdf(NULL, NULL, NULL, ck, in, inlen); /* a no-op, must not crash */
	}
}

/* Each output position may alias ck, as Noise's MixKey does. */
static void
test_kdf_alias(void **state)
{
	uint8_t ck[32], orig[32], in[32], a[32], b[32], c[32], o1[32], o2[32];
	int pos;

	(void)state;
	randombytes_buf(orig, sizeof(orig));
	randombytes_buf(in, sizeof(in));
	cr_kdf(a, b, c, orig, in, sizeof(in));
	for (pos = 0; pos < 3; pos++) {
		memcpy(ck, orig, 32);
		switch (pos) {
		case 0:
			cr_kdf(ck, o1, o2, ck, in, sizeof(in));
			assert_memory_equal(ck, a, 32);
			assert_memory_equal(o1, b, 32);
			assert_memory_equal(o2, c, 32);
			break;
		case 1:
			cr_kdf(o1, ck, o2, ck, in, sizeof(in));
			assert_memory_equal(o1, a, 32);
			assert_memory_equal(ck, b, 32);
			assert_memory_equal(o2, c, 32);
			break;
		default:
			cr_kdf(o1, o2, ck, ck, in, sizeof(in));
			assert_memory_equal(o1, a, 32);
			assert_memory_equal(o2, b, 32);
			assert_memory_equal(ck, c, 32);
			break;
		}
	}
	/* KDF1 in place: ck = KDF1(ck, in). */
	memcpy(ck, orig, 32);
	cr_kdf(ck, NULL, NULL, ck, in, sizeof(in));
	assert_memory_equal(ck, a, 32);
}

int
main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_outlen),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_final_wipes),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_kdf_prefixes),
		cmocka_unit_test(test_kdf_alias),
	};
	/* clang-format on */

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
