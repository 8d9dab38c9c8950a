/*
 * test_cookie.c — unit tests for crypto/cookie.c: mac1/mac2/cookie reply
 * against an independent reference, mac1 checks, the under-load cookie
 * round trip, binding to the source address, the checker's secret rotation
 * and the maker's cookie expiry with injected time, tampered and unsolicited
 * cookie replies, and wiping. Runs in the test's thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <endian.h>
#include <errno.h>

#include <cmocka.h>
#include <sodium.h>

#include "cookie.h"
#include "vectors.h"
#include "x25519.h"

#define NSEC   1000000000ULL
#define T0     (5000ULL * NSEC) /* an arbitrary monotonic start */
#define MSGLEN WG_MSG_INITIATION_LEN

static const uint8_t src_a[6] = {192, 0, 2, 1, 0xca, 0x6c};
static const uint8_t src_b[6] = {192, 0, 2, 2, 0xca, 0x6c}; /* other address */
static const uint8_t src_p[6] = {192, 0, 2, 1, 0xca, 0x6d}; /* other port */
static const uint8_t src_6[18] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1, 0xca, 0x6c};

struct side {
	uint8_t pub[32];
	struct cr_cookie_checker checker; /* the responder's */
	struct cr_cookie_maker maker;	  /* the initiator's, for the responder */
};

static int
setup(void **state)
{
	(void)state;
	return cr_init();
}

static void
side_init(struct side *s)
{
	uint8_t priv[32];

	assert_int_equal(cr_x25519_keypair(priv, s->pub), 0);
	sodium_memzero(priv, sizeof(priv));
	cr_cookie_checker_init(&s->checker, s->pub);
	cr_cookie_maker_init(&s->maker, s->pub);
}

static void
side_clear(struct side *s)
{
	cr_cookie_checker_clear(&s->checker);
	cr_cookie_maker_clear(&s->maker);
}

/* A fresh message body with its MACs from the maker. */
static void
msg_new(struct side *s, uint8_t msg[MSGLEN], uint64_t now)
{
	randombytes_buf(msg, MSGLEN - 2 * WG_MAC_LEN);
	cr_cookie_add_macs(&s->maker, msg, MSGLEN, now);
}

static enum cr_mac_result
check(struct side *s, const uint8_t *msg, const uint8_t *src, size_t srclen, bool load,
      uint64_t now)
{
	return cr_cookie_validate(&s->checker, msg, MSGLEN, src, srclen, load, now);
}

/* A message sent, answered with a cookie reply, the reply taken. */
static void
earn_cookie(struct side *s, const uint8_t *src, size_t srclen, uint64_t now)
{
	struct cr_wg_msg_cookie reply;
	uint8_t msg[MSGLEN];

	msg_new(s, msg, now);
	assert_int_equal(check(s, msg, src, srclen, false, now), CR_MAC_VALID);
	assert_int_equal(
		cr_cookie_reply_create(&s->checker, &reply, 77, msg, MSGLEN, src, srclen, now), 0);
	assert_int_equal(cr_cookie_reply_consume(&s->maker, &reply, now), 0);
}

/* ---- independent reference: Python hashlib BLAKE2s and libsodium's
 * XChaCha20-Poly1305 through ctypes; pub[i] = 3i + 1, msg[i] = 13i + 5,
 * cookie c0..cf, nonce 40..57, secret 80..9f, source 192.0.2.7:51820 */
static const char kat_mac1_key[] =
	"d56854762b8d350ea53065eb303dfeeb13ff202430a79188062f5f1851ef12a3";
static const char kat_cookie_key[] =
	"d1f75e6a75092615aadc235de8eae5da7c913a62c46d0baf82bf9d9bdad4a77b";
static const char kat_msg[] =
	"05121f2c394653606d7a8794a1aebbc8d5e2effc091623303d4a5764717e8b98a5b2bfccd9e6f300"
	"0d1a2734414e5b6875828f9ca9b6c3d0ddeaf704111e2b3845525f6c798693a0adbac7d4e1eefb08"
	"15222f3c495663707d8a97a4b1becbd8e5f2ff0c192633404d5a6774818e9ba8b5c2cfdc526c28da"
	"9f921fbfb7a7c8000996f3e5591f0dd6dc50d875bb8ad2473d566cb8";
static const char kat_cookie_enc[] =
	"84c3120b8190866e433fdd9a0b474eee61fea82eec8408b6b4ce713f92cdaf66";
static const char kat_cookie_src[] = "bedeebae06059bbf147e06fda1d1e011";

static void
test_reference(void **state)
{
	struct cr_cookie_checker c;
	struct cr_cookie_maker m;
	struct cr_wg_msg_cookie reply;
	uint8_t pub[32], want[MSGLEN], msg[MSGLEN], key[32], cookie[16];
	static const uint8_t src7[6] = {192, 0, 2, 7, 0xca, 0x6c};

	(void)state;
	for (int i = 0; i < 32; i++)
		pub[i] = (uint8_t)(3 * i + 1);
	vec_hex_fixed(kat_msg, want, sizeof(want));

	/* the keys */
	cr_cookie_checker_init(&c, pub);
	cr_cookie_maker_init(&m, pub);
	vec_hex_fixed(kat_mac1_key, key, 32);
	assert_memory_equal(c.mac1_key, key, 32);
	assert_memory_equal(m.mac1_key, key, 32);
	vec_hex_fixed(kat_cookie_key, key, 32);
	assert_memory_equal(c.cookie_enc_key, key, 32);
	assert_memory_equal(m.cookie_dec_key, key, 32);

	/* a reply with a known nonce decrypts to the known cookie; mac1 and
	 * mac2 made with it match */
	for (int i = 0; i < MSGLEN; i++)
		msg[i] = (uint8_t)(13 * i + 5);
	cr_cookie_add_macs(&m, msg, MSGLEN, T0);
	assert_memory_equal(msg, want, MSGLEN - WG_MAC_LEN);
	assert_true(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	reply.type = htole32(WG_MSG_COOKIE);
	reply.receiver = 0;
	for (int i = 0; i < 24; i++)
		reply.nonce[i] = (uint8_t)(0x40 + i);
	vec_hex_fixed(kat_cookie_enc, reply.cookie_enc, sizeof(reply.cookie_enc));
	assert_int_equal(cr_cookie_reply_consume(&m, &reply, T0), 0);
	for (int i = 0; i < 16; i++)
		cookie[i] = (uint8_t)(0xc0 + i);
	assert_memory_equal(m.cookie, cookie, 16);
	cr_cookie_add_macs(&m, msg, MSGLEN, T0);
	assert_memory_equal(msg, want, MSGLEN);

	/* cookie = MAC(R_m, address || port) */
	for (int i = 0; i < 32; i++)
		c.secret[i] = (uint8_t)(0x80 + i);
	c.secret_valid = true;
	c.secret_birth_ns = T0;
	assert_int_equal(
		cr_cookie_reply_create(&c, &reply, 0x01020304, msg, MSGLEN, src7, sizeof(src7), T0),
		0);
	assert_int_equal(le32toh(reply.type), WG_MSG_COOKIE);
	assert_int_equal(le32toh(reply.receiver), 0x01020304);
	assert_int_equal(cr_cookie_reply_consume(&m, &reply, T0), 0);
	vec_hex_fixed(kat_cookie_src, cookie, 16);
	assert_memory_equal(m.cookie, cookie, 16);

	cr_cookie_checker_clear(&c);
	cr_cookie_maker_clear(&m);
}

/* ---- mac1 */

static void
test_mac1(void **state)
{
	struct side s, other;
	uint8_t msg[MSGLEN];

	(void)state;
	side_init(&s);
	side_init(&other);
	msg_new(&s, msg, T0);
	assert_true(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN)); /* no cookie: no mac2 */
	assert_int_equal(check(&s, msg, src_a, 6, false, T0), CR_MAC_VALID);

	/* every bit up to and including mac1 matters; mac2 is not looked at
	 * when not under load */
	for (size_t off = 0; off < MSGLEN; off++) {
		for (int bit = 0; bit < 8; bit++) {
			msg[off] ^= (uint8_t)(1u << bit);
			assert_int_equal(check(&s, msg, src_a, 6, false, T0),
					 off < MSGLEN - WG_MAC_LEN ? CR_MAC_INVALID_MAC1
								   : CR_MAC_VALID);
			msg[off] ^= (uint8_t)(1u << bit);
		}
	}

	/* made for another key; MACs of a zero message; too short */
	assert_int_equal(cr_cookie_validate(&other.checker, msg, MSGLEN, src_a, 6, false, T0),
			 CR_MAC_INVALID_MAC1);
	{
		uint8_t z[MSGLEN] = {0};

		assert_int_equal(check(&s, z, src_a, 6, false, T0), CR_MAC_INVALID_MAC1);
		assert_int_equal(check(&s, z, src_a, 6, true, T0), CR_MAC_INVALID_MAC1);
	}
	assert_int_equal(cr_cookie_validate(&s.checker, msg, 31, src_a, 6, false, T0),
			 CR_MAC_INVALID_MAC1);
	assert_int_equal(cr_cookie_validate(&s.checker, NULL, 0, src_a, 6, false, T0),
			 CR_MAC_INVALID_MAC1);
	/* the shortest message: MACs over nothing */
	cr_cookie_add_macs(&s.maker, msg, 32, T0);
	assert_int_equal(cr_cookie_validate(&s.checker, msg, 32, src_a, 6, false, T0),
			 CR_MAC_VALID);
	/* the response size works alike */
	msg_new(&s, msg, T0);
	cr_cookie_add_macs(&s.maker, msg, WG_MSG_RESPONSE_LEN, T0);
	assert_int_equal(
		cr_cookie_validate(&s.checker, msg, WG_MSG_RESPONSE_LEN, src_a, 6, false, T0),
		CR_MAC_VALID);
	side_clear(&s);
	side_clear(&other);
}

/* ---- under load */

static void
test_under_load(void **state)
{
	struct cr_wg_msg_cookie reply;
	uint8_t msg[MSGLEN];
	struct side s;

	(void)state;
	side_init(&s);

	/* not under load: mac1 alone suffices */
	msg_new(&s, msg, T0);
	assert_int_equal(check(&s, msg, src_a, 6, false, T0), CR_MAC_VALID);
	/* under load without mac2: a cookie is needed */
	assert_int_equal(check(&s, msg, src_a, 6, true, T0), CR_MAC_NEED_COOKIE);
	assert_int_equal(
		cr_cookie_reply_create(&s.checker, &reply, 0xdeadbeef, msg, MSGLEN, src_a, 6, T0),
		0);
	assert_int_equal(le32toh(reply.type), WG_MSG_COOKIE);
	assert_int_equal(le32toh(reply.receiver), 0xdeadbeef);
	/* a reply is bound to the message: this one is still unanswered */
	assert_int_equal(check(&s, msg, src_a, 6, true, T0), CR_MAC_NEED_COOKIE);
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &reply, T0 + NSEC), 0);
	assert_true(s.maker.cookie_valid);

	/* the next message carries mac2 and passes under load */
	msg_new(&s, msg, T0 + 2 * NSEC);
	assert_false(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	assert_int_equal(check(&s, msg, src_a, 6, true, T0 + 2 * NSEC), CR_MAC_VALID);
	assert_int_equal(check(&s, msg, src_a, 6, false, T0 + 2 * NSEC), CR_MAC_VALID);

	/* every bit of mac2 matters under load */
	for (size_t off = MSGLEN - WG_MAC_LEN; off < MSGLEN; off++) {
		for (int bit = 0; bit < 8; bit++) {
			msg[off] ^= (uint8_t)(1u << bit);
			assert_int_equal(check(&s, msg, src_a, 6, true, T0 + 2 * NSEC),
					 CR_MAC_NEED_COOKIE);
			msg[off] ^= (uint8_t)(1u << bit);
		}
	}
	/* the body changed, mac1 redone, the old mac2 kept: mac2 fails */
	{
		uint8_t mac2[WG_MAC_LEN];

		memcpy(mac2, msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN);
		msg[10] ^= 1;
		cr_cookie_add_macs(&s.maker, msg, MSGLEN, T0 + 2 * NSEC);
		assert_int_equal(check(&s, msg, src_a, 6, true, T0 + 2 * NSEC), CR_MAC_VALID);
		memcpy(msg + MSGLEN - WG_MAC_LEN, mac2, WG_MAC_LEN);
		assert_int_equal(check(&s, msg, src_a, 6, false, T0 + 2 * NSEC), CR_MAC_VALID);
		assert_int_equal(check(&s, msg, src_a, 6, true, T0 + 2 * NSEC), CR_MAC_NEED_COOKIE);
	}
	side_clear(&s);
}

static void
test_bound_to_source(void **state)
{
	uint8_t msg[MSGLEN];
	struct side s;

	(void)state;
	side_init(&s);
	earn_cookie(&s, src_a, sizeof(src_a), T0);
	msg_new(&s, msg, T0);
	assert_int_equal(check(&s, msg, src_a, sizeof(src_a), true, T0), CR_MAC_VALID);
	assert_int_equal(check(&s, msg, src_b, sizeof(src_b), true, T0), CR_MAC_NEED_COOKIE);
	assert_int_equal(check(&s, msg, src_p, sizeof(src_p), true, T0), CR_MAC_NEED_COOKIE);
	assert_int_equal(check(&s, msg, src_6, sizeof(src_6), true, T0), CR_MAC_NEED_COOKIE);
	/* the new address earns its own cookie; the old one then needs one */
	earn_cookie(&s, src_6, sizeof(src_6), T0);
	msg_new(&s, msg, T0);
	assert_int_equal(check(&s, msg, src_6, sizeof(src_6), true, T0), CR_MAC_VALID);
	assert_int_equal(check(&s, msg, src_a, sizeof(src_a), true, T0), CR_MAC_NEED_COOKIE);
	side_clear(&s);
}

/* ---- time */

static void
test_secret_rotation(void **state)
{
	const uint64_t age = WG_COOKIE_SECRET_MAX_AGE_S * NSEC;
	uint8_t msg[MSGLEN];
	struct side s;

	(void)state;
	side_init(&s);
	/* the secret is born at T0 (first cookie); the maker's cookie from
	 * T0 + 100 s is young enough to use until T0 + 215 s, but the
	 * secret it was made with dies at T0 + 120 s */
	earn_cookie(&s, src_a, 6, T0);
	assert_int_equal(s.checker.secret_birth_ns, T0);
	earn_cookie(&s, src_a, 6, T0 + 100 * NSEC);
	assert_int_equal(s.checker.secret_birth_ns, T0);

	msg_new(&s, msg, T0 + age - 1);
	assert_false(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	assert_int_equal(check(&s, msg, src_a, 6, true, T0 + age - 1), CR_MAC_VALID);
	assert_int_equal(s.checker.secret_birth_ns, T0);

	msg_new(&s, msg, T0 + age);
	assert_false(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	assert_int_equal(check(&s, msg, src_a, 6, true, T0 + age), CR_MAC_NEED_COOKIE);
	assert_int_equal(s.checker.secret_birth_ns, T0 + age);

	/* a cookie from the new secret works again */
	earn_cookie(&s, src_a, 6, T0 + age + NSEC);
	msg_new(&s, msg, T0 + age + NSEC);
	assert_int_equal(check(&s, msg, src_a, 6, true, T0 + age + NSEC), CR_MAC_VALID);

	/* not under load the secret is not touched */
	assert_int_equal(check(&s, msg, src_a, 6, false, T0 + 10 * age), CR_MAC_VALID);
	assert_int_equal(s.checker.secret_birth_ns, T0 + age);
	side_clear(&s);
}

static void
test_maker_latency(void **state)
{
	const uint64_t use = (WG_COOKIE_SECRET_MAX_AGE_S - WG_COOKIE_SECRET_LATENCY_S) * NSEC;
	const uint64_t t1 = T0 + 3 * NSEC; /* cookie received */
	uint8_t msg[MSGLEN];
	struct side s;

	(void)state;
	side_init(&s);
	earn_cookie(&s, src_a, 6, t1);

	msg_new(&s, msg, t1 + use - 1);
	assert_false(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	assert_int_equal(check(&s, msg, src_a, 6, true, t1 + use - 1), CR_MAC_VALID);

	msg_new(&s, msg, t1 + use);
	assert_true(sodium_is_zero(msg + MSGLEN - WG_MAC_LEN, WG_MAC_LEN));
	assert_false(s.maker.cookie_valid);
	assert_true(sodium_is_zero(s.maker.cookie, sizeof(s.maker.cookie)));
	assert_int_equal(check(&s, msg, src_a, 6, true, t1 + use), CR_MAC_NEED_COOKIE);
	/* mac1 is unaffected */
	assert_int_equal(check(&s, msg, src_a, 6, false, t1 + use), CR_MAC_VALID);
	side_clear(&s);
}

/* ---- cookie replies that must not be taken */

static void
test_reply_tampered(void **state)
{
	struct cr_wg_msg_cookie reply, stale;
	struct side s, other;
	uint8_t msg[MSGLEN];

	(void)state;
	side_init(&s);
	side_init(&other);
	msg_new(&s, msg, T0);
	assert_int_equal(cr_cookie_reply_create(&s.checker, &reply, 1, msg, MSGLEN, src_a, 6, T0),
			 0);

	/* every bit of nonce and sealed cookie (type and receiver are for the
	 * caller's dispatch) */
	for (size_t off = offsetof(struct cr_wg_msg_cookie, nonce); off < sizeof(reply); off++) {
		for (int bit = 0; bit < 8; bit++) {
			struct cr_wg_msg_cookie r = reply;

			((uint8_t *)&r)[off] ^= (uint8_t)(1u << bit);
			assert_int_equal(cr_cookie_reply_consume(&s.maker, &r, T0), -EBADMSG);
			assert_false(s.maker.cookie_valid);
			assert_true(s.maker.last_mac1_valid);
		}
	}

	/* from a checker with another key */
	{
		struct cr_wg_msg_cookie r;

		assert_int_equal(
			cr_cookie_reply_create(&other.checker, &r, 1, msg, MSGLEN, src_a, 6, T0),
			0);
		assert_int_equal(cr_cookie_reply_consume(&s.maker, &r, T0), -EBADMSG);
	}

	/* a reply to an earlier message: the maker has sent another since */
	stale = reply;
	msg_new(&s, msg, T0);
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &stale, T0), -EBADMSG);
	assert_false(s.maker.cookie_valid);

	/* the right one for the latest message is taken */
	assert_int_equal(cr_cookie_reply_create(&s.checker, &reply, 1, msg, MSGLEN, src_a, 6, T0),
			 0);
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &reply, T0), 0);
	side_clear(&s);
	side_clear(&other);
}

static void
test_reply_unsolicited(void **state)
{
	struct cr_wg_msg_cookie reply;
	uint8_t msg[MSGLEN];
	struct side s;

	(void)state;
	side_init(&s);
	randombytes_buf(msg, sizeof(msg));
	assert_int_equal(cr_cookie_reply_create(&s.checker, &reply, 1, msg, MSGLEN, src_a, 6, T0),
			 0);
	/* nothing sent yet */
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &reply, T0), -EINVAL);

	/* one reply per message: the second is refused */
	msg_new(&s, msg, T0);
	assert_int_equal(cr_cookie_reply_create(&s.checker, &reply, 1, msg, MSGLEN, src_a, 6, T0),
			 0);
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &reply, T0), 0);
	assert_int_equal(cr_cookie_reply_consume(&s.maker, &reply, T0), -EINVAL);

	/* a reply to a message too short to hold MACs cannot be made */
	assert_int_equal(cr_cookie_reply_create(&s.checker, &reply, 1, msg, 31, src_a, 6, T0),
			 -EINVAL);
	side_clear(&s);
}

static void
test_clear(void **state)
{
	struct side s;

	(void)state;
	side_init(&s);
	earn_cookie(&s, src_a, 6, T0);
	assert_true(s.checker.secret_valid);
	assert_true(s.maker.cookie_valid);
	side_clear(&s);
	assert_true(sodium_is_zero((const unsigned char *)&s.checker, sizeof(s.checker)));
	assert_true(sodium_is_zero((const unsigned char *)&s.maker, sizeof(s.maker)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference),	cmocka_unit_test(test_mac1),
		cmocka_unit_test(test_under_load),	cmocka_unit_test(test_bound_to_source),
		cmocka_unit_test(test_secret_rotation), cmocka_unit_test(test_maker_latency),
		cmocka_unit_test(test_reply_tampered),	cmocka_unit_test(test_reply_unsolicited),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
