/*
 * test_noise.c — unit tests for crypto/noise.c: the cacophony IKpsk2 vector
 * byte for byte (handshake and transport), a WireGuard initiation/response
 * pair from an independent reference, whole handshakes with and without PSK,
 * every bit of both messages flipped, replayed initiations, wrong keys, low-
 * order points, misuse of the state machine and the wiping of the state.
 * Runs in the test's thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <endian.h>
#include <errno.h>

#include <cmocka.h>
#include <sodium.h>

#include "aead.h"
#include "cookie.h"
#include "noise.h"
#include "tai64n.h"
#include "vectors.h"
#include "x25519.h"

#define WG_PROLOGUE	(const uint8_t *)WG_IDENTIFIER
#define WG_PROLOGUE_LEN (sizeof(WG_IDENTIFIER) - 1)
#define NOW_NS		(1000ULL * 1000000000ULL)

static const uint8_t zero32[32];
static const uint8_t src4[6] = {192, 0, 2, 1, 0xca, 0x6c};

static int
setup(void **state)
{
	(void)state;
	return cr_init();
}

static void
identity_new(struct cr_noise_static *s)
{
	assert_int_equal(cr_x25519_keypair(s->priv, s->pub), 0);
}

static void
identity_from(struct cr_noise_static *s, const uint8_t priv[WG_KEY_LEN])
{
	memcpy(s->priv, priv, WG_KEY_LEN);
	assert_int_equal(cr_x25519_public(s->pub, s->priv), 0);
}

static void
assert_hs_zero(const struct cr_noise_hs *hs)
{
	assert_true(sodium_is_zero((const unsigned char *)hs, sizeof(*hs)));
	assert_int_equal(hs->state, CR_NOISE_ZEROED);
}

static uint8_t *
vec_bytes(const json_t *obj, const char *key, size_t *len)
{
	return vec_hex(vec_str(obj, key), len);
}

/* Transport message i -> r or r -> i: seal must give ct, open must give pt. */
static void
transport_check(const uint8_t send[WG_KEY_LEN], const uint8_t recv[WG_KEY_LEN], uint64_t nonce,
		const uint8_t *pt, size_t ptlen, const uint8_t *ct, size_t ctlen)
{
	uint8_t *buf = malloc(ptlen + WG_AEAD_TAG_LEN);

	assert_non_null(buf);
	assert_int_equal(ctlen, ptlen + WG_AEAD_TAG_LEN);
	assert_int_equal(cr_aead_seal(buf, pt, ptlen, NULL, 0, nonce, send), 0);
	assert_memory_equal(buf, ct, ctlen);
	assert_int_equal(cr_aead_open(buf, ct, ctlen, NULL, 0, nonce, recv), 0);
	if (ptlen != 0)
		assert_memory_equal(buf, pt, ptlen);
	free(buf);
}

/* ---- cacophony: the generic layer against the standard vector */

static void
cacophony_one(const json_t *v)
{
	struct cr_noise_static s_i, s_r;
	struct cr_noise_hs hs_i, hs_r;
	uint8_t e_i[32], e_r[32], rs[32], psk[32], psk_r[32], hh[32], priv[32];
	uint8_t i_send[32], i_recv[32], r_send[32], r_recv[32];
	const json_t *msgs = json_object_get(v, "messages");
	uint8_t *prologue, *prologue_r, *p, *ct, *out;
	size_t plen, prlen, len, ctlen;
	uint64_t n_ir = 0, n_ri = 0;

	assert_string_equal(vec_str(v, "protocol_name"), WG_CONSTRUCTION);
	prologue = vec_bytes(v, "init_prologue", &plen);
	prologue_r = vec_bytes(v, "resp_prologue", &prlen);
	assert_int_equal(plen, prlen);
	assert_memory_equal(prologue, prologue_r, plen);
	assert_int_equal(json_array_size(json_object_get(v, "init_psks")), 1);
	assert_int_equal(json_array_size(json_object_get(v, "resp_psks")), 1);
	vec_hex_fixed(json_string_value(json_array_get(json_object_get(v, "init_psks"), 0)), psk,
		      32);
	vec_hex_fixed(json_string_value(json_array_get(json_object_get(v, "resp_psks"), 0)), psk_r,
		      32);
	assert_memory_equal(psk, psk_r, 32);
	vec_hex_fixed(vec_str(v, "init_static"), priv, 32);
	identity_from(&s_i, priv);
	vec_hex_fixed(vec_str(v, "resp_static"), priv, 32);
	identity_from(&s_r, priv);
	vec_hex_fixed(vec_str(v, "init_remote_static"), rs, 32);
	assert_memory_equal(rs, s_r.pub, 32);
	vec_hex_fixed(vec_str(v, "init_ephemeral"), e_i, 32);
	vec_hex_fixed(vec_str(v, "resp_ephemeral"), e_r, 32);
	vec_hex_fixed(vec_str(v, "handshake_hash"), hh, 32);
	assert_true(json_array_size(msgs) >= 2);

	/* message 0: -> e, es, s, ss, payload */
	p = vec_bytes(json_array_get(msgs, 0), "payload", &len);
	ct = vec_bytes(json_array_get(msgs, 0), "ciphertext", &ctlen);
	assert_int_equal(ctlen, 96 + len);
	out = malloc(ctlen);
	assert_non_null(out);
	assert_int_equal(cr_noise_write_msg1(&hs_i, prologue, plen, &s_i, rs, e_i, p, len, out), 0);
	assert_int_equal(hs_i.state, CR_NOISE_INITIATION_SENT);
	assert_memory_equal(out, ct, ctlen);
	memset(out, 0xee, ctlen);
	assert_int_equal(cr_noise_read_msg1(&hs_r, prologue, plen, &s_r, ct, ctlen, out), 0);
	assert_int_equal(hs_r.state, CR_NOISE_INITIATION_CONSUMED);
	if (len != 0)
		assert_memory_equal(out, p, len);
	assert_memory_equal(hs_r.remote_s, s_i.pub, 32);
	assert_memory_equal(cr_noise_hash(&hs_i), cr_noise_hash(&hs_r), 32);
	free(p);
	free(ct);
	free(out);

	/* message 1: <- e, ee, se, psk, payload */
	p = vec_bytes(json_array_get(msgs, 1), "payload", &len);
	ct = vec_bytes(json_array_get(msgs, 1), "ciphertext", &ctlen);
	assert_int_equal(ctlen, 48 + len);
	out = malloc(ctlen);
	assert_non_null(out);
	assert_int_equal(cr_noise_write_msg2(&hs_r, psk, e_r, p, len, out), 0);
	assert_int_equal(hs_r.state, CR_NOISE_RESPONSE_SENT);
	assert_memory_equal(out, ct, ctlen);
	memset(out, 0xee, ctlen);
	assert_int_equal(cr_noise_read_msg2(&hs_i, &s_i, psk, ct, ctlen, out), 0);
	assert_int_equal(hs_i.state, CR_NOISE_RESPONSE_CONSUMED);
	if (len != 0)
		assert_memory_equal(out, p, len);
	free(p);
	free(ct);
	free(out);

	/* handshake hash, then split; both states wiped */
	assert_memory_equal(cr_noise_hash(&hs_i), hh, 32);
	assert_memory_equal(cr_noise_hash(&hs_r), hh, 32);
	assert_int_equal(cr_noise_split(&hs_i, 1, i_send, i_recv), 0);
	assert_int_equal(cr_noise_split(&hs_r, 0, r_send, r_recv), 0);
	assert_hs_zero(&hs_i);
	assert_hs_zero(&hs_r);
	assert_memory_equal(i_send, r_recv, 32);
	assert_memory_equal(i_recv, r_send, 32);

	/* transport: even i -> r, odd r -> i, nonces from 0 per direction */
	for (size_t k = 2; k < json_array_size(msgs); k++) {
		p = vec_bytes(json_array_get(msgs, k), "payload", &len);
		ct = vec_bytes(json_array_get(msgs, k), "ciphertext", &ctlen);
		if (k % 2 == 0)
			transport_check(i_send, r_recv, n_ir++, p, len, ct, ctlen);
		else
			transport_check(r_send, i_recv, n_ri++, p, len, ct, ctlen);
		free(p);
		free(ct);
	}
	assert_true(n_ir + n_ri >= 2);
	free(prologue);
	free(prologue_r);
}

static void
test_cacophony(void **state)
{
	json_t *root = vec_load("noise_ikpsk2_cacophony.json");
	const json_t *vecs = json_object_get(root, "vectors");
	size_t i;
	json_t *v;

	(void)state;
	assert_true(json_array_size(vecs) > 0);
	json_array_foreach (vecs, i, v)
		cacophony_one(v);
	json_decref(root);
}

/* ---- WireGuard framing against an independent reference (Python hashlib
 * BLAKE2s/HMAC, pyca X25519 and ChaCha20-Poly1305; the same script reproduces
 * the cacophony vector): fixed statics 01..20 and 65..84, ephemerals c9..e8
 * and 7*i, PSK a0..bf, TAI64N below, indices 0x11223344 / 0x55667788. */

static const char kat_init[] =
	"01000000443322114c29f4996985e80d247e80b70303824592ff9fbad74904ea7c3d2bda24e51c"
	"12197f3df1f1f385eeca7385af03e3983a5be229054fb3fdc500e176ddd622a02b9e5e64b51975"
	"fa696074da3938059ad5d1060d78a6c945818fa0d3665cba5ae880c9045d5493a9df1abbbcce63"
	"c574f714ccff895b0fc4c8ff40ae3100000000000000000000000000000000";
static const char kat_resp[] =
	"020000008877665544332211177d8f231f6cab89ea03f90d2f2d53dd9ba13c78947d5d85b83d49"
	"4514e0b714a20603e9a00da9458341452d24b553608121e855e52a6ef19cf4df2ace699d600000"
	"0000000000000000000000000000";
static const char kat_t0[] = "2ad847a4f5f57aa6259847637f3dd255fc2e8de58f253daa39253165c382e66c";
static const char kat_t1[] = "d13d1736c189b11ff362206b6579faa080b9e50e817f60bcdfbd59f8058a16a9";
static const char kat_h[] = "24e732f53acc1b89ca3110b1fc5875a064b5d2553c10f2033962b8c7e4dff351";
static const char kat_ts[] = "400000006553f1000c000000";

static void
test_wireguard_kat(void **state)
{
	struct cr_noise_static s_i, s_r;
	struct cr_noise_hs hs_i, hs_r;
	struct cr_cookie_maker mk_i, mk_r;
	struct cr_cookie_checker ck_i, ck_r;
	struct cr_wg_msg_initiation init;
	struct cr_wg_msg_response resp;
	struct cr_wg_keypair kp_i, kp_r;
	uint8_t priv[32], e_i[32], e_r[32], psk[32], ts[12], got_ts[12];
	uint8_t want_init[148], want_resp[92], t0[32], t1[32], h[32];
	uint32_t sender;

	(void)state;
	for (int i = 0; i < 32; i++) {
		e_i[i] = (uint8_t)(201 + i);
		e_r[i] = (uint8_t)(7 * i);
		psk[i] = (uint8_t)(0xa0 + i);
	}
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(1 + i);
	identity_from(&s_i, priv);
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(101 + i);
	identity_from(&s_r, priv);
	vec_hex_fixed(kat_init, want_init, sizeof(want_init));
	vec_hex_fixed(kat_resp, want_resp, sizeof(want_resp));
	vec_hex_fixed(kat_t0, t0, 32);
	vec_hex_fixed(kat_t1, t1, 32);
	vec_hex_fixed(kat_h, h, 32);
	vec_hex_fixed(kat_ts, ts, 12);

	/* initiation: the generic layer with WireGuard's prologue and a fixed
	 * ephemeral, the framing around it, mac1 from the cookie maker */
	memset(&init, 0, sizeof(init));
	init.type = htole32(WG_MSG_INITIATION);
	init.sender = htole32(0x11223344);
	assert_int_equal(
		cr_noise_write_msg1(
			&hs_i, WG_PROLOGUE, WG_PROLOGUE_LEN, &s_i, s_r.pub, e_i, ts, sizeof(ts),
			(uint8_t *)&init + offsetof(struct cr_wg_msg_initiation, ephemeral)),
		0);
	cr_cookie_maker_init(&mk_i, s_r.pub);
	cr_cookie_add_macs(&mk_i, (uint8_t *)&init, sizeof(init), NOW_NS);
	assert_memory_equal(&init, want_init, sizeof(init));

	cr_cookie_checker_init(&ck_r, s_r.pub);
	assert_int_equal(cr_cookie_validate(&ck_r, want_init, sizeof(want_init), src4, sizeof(src4),
					    false, NOW_NS),
			 CR_MAC_VALID);
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &init, &sender, got_ts), 0);
	assert_int_equal(sender, 0x11223344);
	assert_memory_equal(got_ts, ts, 12);
	assert_memory_equal(hs_r.remote_s, s_i.pub, 32);

	/* response */
	memset(&resp, 0, sizeof(resp));
	resp.type = htole32(WG_MSG_RESPONSE);
	resp.sender = htole32(0x55667788);
	resp.receiver = htole32(sender);
	assert_int_equal(cr_noise_write_msg2(
				 &hs_r, psk, e_r, NULL, 0,
				 (uint8_t *)&resp + offsetof(struct cr_wg_msg_response, ephemeral)),
			 0);
	cr_cookie_maker_init(&mk_r, s_i.pub);
	cr_cookie_add_macs(&mk_r, (uint8_t *)&resp, sizeof(resp), NOW_NS);
	assert_memory_equal(&resp, want_resp, sizeof(resp));

	cr_cookie_checker_init(&ck_i, s_i.pub);
	assert_int_equal(cr_cookie_validate(&ck_i, want_resp, sizeof(want_resp), src4, sizeof(src4),
					    false, NOW_NS),
			 CR_MAC_VALID);
	assert_int_equal(cr_wg_response_consume(&hs_i, &s_i, psk, &resp), 0);
	assert_memory_equal(cr_noise_hash(&hs_i), h, 32);
	assert_memory_equal(cr_noise_hash(&hs_r), h, 32);

	memset(&kp_i, 0xaa, sizeof(kp_i));
	assert_int_equal(cr_wg_keypair_derive(&hs_i, 1, &kp_i), 0);
	assert_int_equal(cr_wg_keypair_derive(&hs_r, 0, &kp_r), 0);
	assert_memory_equal(kp_i.send, t0, 32);
	assert_memory_equal(kp_i.recv, t1, 32);
	assert_memory_equal(kp_r.send, t1, 32);
	assert_memory_equal(kp_r.recv, t0, 32);
	assert_int_equal(kp_i.initiator, 1);
	assert_int_equal(kp_r.initiator, 0);
	/* indices are the caller's: untouched */
	assert_int_equal(kp_i.local_index, 0xaaaaaaaa);
	assert_hs_zero(&hs_i);
	assert_hs_zero(&hs_r);
	cr_cookie_maker_clear(&mk_i);
	cr_cookie_maker_clear(&mk_r);
	cr_cookie_checker_clear(&ck_i);
	cr_cookie_checker_clear(&ck_r);
}

/* ---- whole WireGuard handshakes */

struct pair {
	struct cr_noise_static s_i, s_r;
	struct cr_noise_hs hs_i, hs_r;
	struct cr_wg_msg_initiation init;
	struct cr_wg_msg_response resp;
	uint8_t ts[WG_TAI64N_LEN];
};

/* Initiation written and consumed; response written, not consumed. */
static void
pair_start(struct pair *p, const uint8_t *psk_r)
{
	uint8_t ts[WG_TAI64N_LEN];
	uint32_t sender = 0;

	identity_new(&p->s_i);
	identity_new(&p->s_r);
	cr_tai64n_now(p->ts);
	assert_int_equal(
		cr_wg_initiation_create(&p->hs_i, &p->s_i, p->s_r.pub, 0x01020304, p->ts, &p->init),
		0);
	assert_int_equal(le32toh(p->init.type), WG_MSG_INITIATION);
	assert_int_equal(le32toh(p->init.sender), 0x01020304);
	assert_true(sodium_is_zero(p->init.mac1, WG_MAC_LEN));
	assert_true(sodium_is_zero(p->init.mac2, WG_MAC_LEN));
	assert_int_equal(cr_wg_initiation_consume(&p->hs_r, &p->s_r, &p->init, &sender, ts), 0);
	assert_int_equal(sender, 0x01020304);
	assert_memory_equal(ts, p->ts, sizeof(ts));
	assert_memory_equal(p->hs_r.remote_s, p->s_i.pub, 32);
	assert_int_equal(cr_wg_response_create(&p->hs_r, psk_r, 0x0a0b0c0d, sender, &p->resp), 0);
	assert_int_equal(le32toh(p->resp.type), WG_MSG_RESPONSE);
	assert_int_equal(le32toh(p->resp.sender), 0x0a0b0c0d);
	assert_int_equal(le32toh(p->resp.receiver), 0x01020304);
	/* the responder's ephemeral private key is gone once it has answered */
	assert_true(sodium_is_zero(p->hs_r.e_priv, 32));
}

static void
transport_both_ways(const struct cr_wg_keypair *kp_i, const struct cr_wg_keypair *kp_r)
{
	uint8_t pt[100], ct[sizeof(pt) + 16], back[sizeof(pt)];

	randombytes_buf(pt, sizeof(pt));
	for (uint64_t n = 0; n < 4; n++) {
		assert_int_equal(cr_aead_seal(ct, pt, sizeof(pt), NULL, 0, n, kp_i->send), 0);
		assert_int_equal(cr_aead_open(back, ct, sizeof(ct), NULL, 0, n, kp_r->recv), 0);
		assert_memory_equal(back, pt, sizeof(pt));
		/* the other direction's key does not open it */
		assert_int_equal(cr_aead_open(back, ct, sizeof(ct), NULL, 0, n, kp_r->send),
				 -EBADMSG);
		assert_int_equal(cr_aead_seal(ct, pt, sizeof(pt), NULL, 0, n, kp_r->send), 0);
		assert_int_equal(cr_aead_open(back, ct, sizeof(ct), NULL, 0, n, kp_i->recv), 0);
		assert_memory_equal(back, pt, sizeof(pt));
	}
}

static void
test_wireguard_handshake(void **state)
{
	static const struct {
		const char *name;
		int psk_i, psk_r; /* 0: NULL, 1: explicit zero, 2: random */
	} cases[] = {
		{"no psk", 0, 0},
		{"psk", 2, 2},
		{"NULL psk == zero psk (i)", 1, 0},
		{"NULL psk == zero psk (r)", 0, 1},
	};
	uint8_t rnd[32];

	(void)state;
	randombytes_buf(rnd, sizeof(rnd));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const uint8_t *psks[] = {NULL, zero32, rnd};
		struct cr_wg_keypair kp_i, kp_r;
		struct pair p;

		print_message("case: %s\n", cases[c].name);
		pair_start(&p, psks[cases[c].psk_r]);
		assert_int_equal(
			cr_wg_response_consume(&p.hs_i, &p.s_i, psks[cases[c].psk_i], &p.resp), 0);
		assert_int_equal(p.hs_i.state, CR_NOISE_RESPONSE_CONSUMED);
		assert_true(sodium_is_zero(p.hs_i.e_priv, 32));
		assert_memory_equal(cr_noise_hash(&p.hs_i), cr_noise_hash(&p.hs_r), 32);
		assert_int_equal(cr_wg_keypair_derive(&p.hs_i, 1, &kp_i), 0);
		assert_int_equal(cr_wg_keypair_derive(&p.hs_r, 0, &kp_r), 0);
		assert_hs_zero(&p.hs_i);
		assert_hs_zero(&p.hs_r);
		assert_memory_equal(kp_i.send, kp_r.recv, 32);
		assert_memory_equal(kp_i.recv, kp_r.send, 32);
		assert_memory_not_equal(kp_i.send, kp_i.recv, 32);
		assert_false(sodium_is_zero(kp_i.send, 32));
		transport_both_ways(&kp_i, &kp_r);
		/* a second split is refused */
		assert_int_equal(cr_wg_keypair_derive(&p.hs_i, 1, &kp_i), -EINVAL);
		sodium_memzero(&kp_i, sizeof(kp_i));
		sodium_memzero(&kp_r, sizeof(kp_r));
	}
}

/* Generic layer: payloads of several sizes both ways. */
static void
test_generic_payloads(void **state)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 200};
	struct cr_noise_static s_i, s_r;
	uint8_t psk[32], pro[] = {'g', 'a', 't', 'e', '4'};

	(void)state;
	identity_new(&s_i);
	identity_new(&s_r);
	randombytes_buf(psk, sizeof(psk));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint8_t pay[200], back[200], m1[96 + 200], m2[48 + 200];
		struct cr_noise_hs hs_i, hs_r;
		size_t n = lens[k];

		randombytes_buf(pay, sizeof(pay));
		memset(back, 0, sizeof(back));
		assert_int_equal(cr_noise_write_msg1(&hs_i, pro, sizeof(pro), &s_i, s_r.pub, NULL,
						     pay, n, m1),
				 0);
		assert_int_equal(cr_noise_read_msg1(&hs_r, pro, sizeof(pro), &s_r, m1, 96 + n,
						    n ? back : NULL),
				 0);
		assert_memory_equal(back, pay, n);
		assert_int_equal(cr_noise_write_msg2(&hs_r, psk, NULL, pay, n, m2), 0);
		memset(back, 0, sizeof(back));
		assert_int_equal(cr_noise_read_msg2(&hs_i, &s_i, psk, m2, 48 + n, n ? back : NULL),
				 0);
		assert_memory_equal(back, pay, n);
		assert_memory_equal(cr_noise_hash(&hs_i), cr_noise_hash(&hs_r), 32);
		cr_noise_hs_clear(&hs_i);
		cr_noise_hs_clear(&hs_r);
		assert_hs_zero(&hs_i);

		/* a different prologue on the responder's side: refused */
		assert_int_equal(cr_noise_write_msg1(&hs_i, pro, sizeof(pro), &s_i, s_r.pub, NULL,
						     pay, n, m1),
				 0);
		assert_int_equal(cr_noise_read_msg1(&hs_r, pro, sizeof(pro) - 1, &s_r, m1, 96 + n,
						    n ? back : NULL),
				 -EBADMSG);
		assert_hs_zero(&hs_r);
		cr_noise_hs_clear(&hs_i);
	}
}

/* ---- tampering */

/* Bytes the Noise layer authenticates: type, ephemeral, static, timestamp.
 * The sender index and the MACs are mac1's (and mac2's) to protect. */
static int
init_noise_covered(size_t off)
{
	return off < offsetof(struct cr_wg_msg_initiation, sender) ||
	       (off >= offsetof(struct cr_wg_msg_initiation, ephemeral) &&
		off < offsetof(struct cr_wg_msg_initiation, mac1));
}

static int
resp_noise_covered(size_t off)
{
	return off < offsetof(struct cr_wg_msg_response, sender) ||
	       (off >= offsetof(struct cr_wg_msg_response, ephemeral) &&
		off < offsetof(struct cr_wg_msg_response, mac1));
}

/* Noise alone: every bit of what it authenticates is refused; hs is wiped. */
static void
test_tamper_initiation_noise(void **state)
{
	struct pair p;
	uint8_t ts[12];
	uint32_t sender;
	size_t refused = 0;

	(void)state;
	pair_start(&p, NULL);
	for (size_t off = 0; off < sizeof(p.init); off++) {
		for (int bit = 0; bit < 8; bit++) {
			struct cr_wg_msg_initiation m = p.init;
			struct cr_noise_hs hs;
			int ret;

			((uint8_t *)&m)[off] ^= (uint8_t)(1u << bit);
			memset(&hs, 0x5a, sizeof(hs));
			memset(ts, 0xa5, sizeof(ts));
			ret = cr_wg_initiation_consume(&hs, &p.s_r, &m, &sender, ts);
			if (init_noise_covered(off)) {
				assert_int_not_equal(ret, 0);
				assert_hs_zero(&hs);
				assert_true(sodium_is_zero(ts, sizeof(ts)));
				refused++;
			} else {
				/* left to mac1: see the pipeline test */
				assert_int_equal(ret, 0);
			}
			cr_noise_hs_clear(&hs);
		}
	}
	assert_int_equal(refused, (4 + 32 + 48 + 28) * 8);
}

static void
test_tamper_response_noise(void **state)
{
	struct cr_noise_hs saved;
	struct pair p;
	size_t refused = 0;

	(void)state;
	pair_start(&p, NULL);
	saved = p.hs_i;
	for (size_t off = 0; off < sizeof(p.resp); off++) {
		if (!resp_noise_covered(off))
			continue;
		for (int bit = 0; bit < 8; bit++) {
			struct cr_wg_msg_response m = p.resp;

			((uint8_t *)&m)[off] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &m), 0);
			/* a refused response leaves the initiation in flight intact */
			assert_memory_equal(&p.hs_i, &saved, sizeof(saved));
			refused++;
		}
	}
	assert_int_equal(refused, (4 + 32 + 16) * 8);
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), 0);
	cr_noise_hs_clear(&p.hs_i);
	cr_noise_hs_clear(&p.hs_r);
	sodium_memzero(&saved, sizeof(saved));
}

/* The receive path as the engine runs it, under load with a cookie held:
 * MACs first, then Noise. Every bit of every byte is refused. */
static void
test_tamper_pipeline(void **state)
{
	struct cr_cookie_checker ck_i, ck_r;
	struct cr_cookie_maker mk_i, mk_r;
	struct cr_wg_msg_cookie reply;
	struct cr_noise_hs saved;
	struct pair p;
	uint8_t ts[12];
	uint32_t sender;

	(void)state;
	pair_start(&p, NULL);
	cr_cookie_checker_init(&ck_r, p.s_r.pub);
	cr_cookie_checker_init(&ck_i, p.s_i.pub);
	cr_cookie_maker_init(&mk_i, p.s_r.pub);
	cr_cookie_maker_init(&mk_r, p.s_i.pub);

	/* Each side earns a cookie from the other, then MACs its message. */
	cr_cookie_add_macs(&mk_i, (uint8_t *)&p.init, sizeof(p.init), NOW_NS);
	assert_int_equal(cr_cookie_validate(&ck_r, (uint8_t *)&p.init, sizeof(p.init), src4,
					    sizeof(src4), true, NOW_NS),
			 CR_MAC_NEED_COOKIE);
	assert_int_equal(cr_cookie_reply_create(&ck_r, &reply, 0x01020304, (uint8_t *)&p.init,
						sizeof(p.init), src4, sizeof(src4), NOW_NS),
			 0);
	assert_int_equal(cr_cookie_reply_consume(&mk_i, &reply, NOW_NS), 0);
	cr_cookie_add_macs(&mk_i, (uint8_t *)&p.init, sizeof(p.init), NOW_NS);
	assert_int_equal(cr_cookie_validate(&ck_r, (uint8_t *)&p.init, sizeof(p.init), src4,
					    sizeof(src4), true, NOW_NS),
			 CR_MAC_VALID);

	cr_cookie_add_macs(&mk_r, (uint8_t *)&p.resp, sizeof(p.resp), NOW_NS);
	assert_int_equal(cr_cookie_reply_create(&ck_i, &reply, 0x0a0b0c0d, (uint8_t *)&p.resp,
						sizeof(p.resp), src4, sizeof(src4), NOW_NS),
			 0);
	assert_int_equal(cr_cookie_reply_consume(&mk_r, &reply, NOW_NS), 0);
	cr_cookie_add_macs(&mk_r, (uint8_t *)&p.resp, sizeof(p.resp), NOW_NS);
	assert_int_equal(cr_cookie_validate(&ck_i, (uint8_t *)&p.resp, sizeof(p.resp), src4,
					    sizeof(src4), true, NOW_NS),
			 CR_MAC_VALID);

	for (size_t off = 0; off < sizeof(p.init); off++) {
		for (int bit = 0; bit < 8; bit++) {
			struct cr_wg_msg_initiation m = p.init;
			struct cr_noise_hs hs;
			int accepted;

			((uint8_t *)&m)[off] ^= (uint8_t)(1u << bit);
			accepted = cr_cookie_validate(&ck_r, (uint8_t *)&m, sizeof(m), src4,
						      sizeof(src4), true, NOW_NS) == CR_MAC_VALID &&
				   cr_wg_initiation_consume(&hs, &p.s_r, &m, &sender, ts) == 0;
			assert_false(accepted);
			cr_noise_hs_clear(&hs);
		}
	}

	saved = p.hs_i;
	for (size_t off = 0; off < sizeof(p.resp); off++) {
		for (int bit = 0; bit < 8; bit++) {
			struct cr_wg_msg_response m = p.resp;
			int accepted;

			((uint8_t *)&m)[off] ^= (uint8_t)(1u << bit);
			accepted = cr_cookie_validate(&ck_i, (uint8_t *)&m, sizeof(m), src4,
						      sizeof(src4), true, NOW_NS) == CR_MAC_VALID &&
				   cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &m) == 0;
			assert_false(accepted);
			assert_memory_equal(&p.hs_i, &saved, sizeof(saved));
		}
	}

	/* the untampered messages still pass the same pipeline */
	{
		struct cr_noise_hs hs;

		assert_int_equal(cr_wg_initiation_consume(&hs, &p.s_r, &p.init, &sender, ts), 0);
		cr_noise_hs_clear(&hs);
	}
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), 0);
	cr_noise_hs_clear(&p.hs_i);
	cr_noise_hs_clear(&p.hs_r);
	sodium_memzero(&saved, sizeof(saved));
	cr_cookie_checker_clear(&ck_i);
	cr_cookie_checker_clear(&ck_r);
	cr_cookie_maker_clear(&mk_i);
	cr_cookie_maker_clear(&mk_r);
}

/* ---- replay: a replayed initiation authenticates, its timestamp does not
 * advance, and the rule drops it */

static void
test_replay_timestamp(void **state)
{
	static const struct {
		uint64_t sec_a;
		uint32_t ns_a;
		uint64_t sec_b;
		uint32_t ns_b;
		int newer;
	} rule[] = {
		{1700000000, 0, 1700000000, 0, 0},
		{1700000001, 0, 1700000000, 0, 1},
		{1700000000, 0, 1700000001, 0, 0},
		{1700000000, 1u << 24, 1700000000, 0, 1},
		{1700000000, 0, 1700000000, 1u << 24, 0},
		/* below the 2^24 ns grain: the same stamp, not newer */
		{1700000000, 1000, 1700000000, 0, 0},
		{1700000000, 999999999, 1700000001, 0, 0},
	};
	uint8_t last[12] = {0}, got[12], a[12], b[12], t_old[12], t_new[12];
	struct cr_noise_static s_i, s_r;
	struct cr_wg_msg_initiation m1, m2, m0;
	struct cr_noise_hs hs_i, hs_r;
	uint32_t sender;

	(void)state;
	for (size_t k = 0; k < sizeof(rule) / sizeof(rule[0]); k++) {
		cr_tai64n_from(a, rule[k].sec_a, rule[k].ns_a);
		cr_tai64n_from(b, rule[k].sec_b, rule[k].ns_b);
		assert_int_equal(cr_wg_timestamp_is_newer(a, b), rule[k].newer);
	}

	identity_new(&s_i);
	identity_new(&s_r);
	cr_tai64n_from(t_old, 1699999999, 0);
	cr_tai64n_from(t_new, 1700000000, 1u << 24);
	cr_tai64n_from(a, 1700000000, 0);
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 1, a, &m1), 0);

	/* first sight of the peer (last is zero): accepted and stored */
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m1, &sender, got), 0);
	assert_true(cr_wg_timestamp_is_newer(got, last));
	memcpy(last, got, sizeof(last));
	cr_noise_hs_clear(&hs_r);

	/* the same bytes again: Noise accepts, the timestamp rule drops it */
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m1, &sender, got), 0);
	assert_true(cr_tai64n_cmp(got, last) <= 0);
	assert_false(cr_wg_timestamp_is_newer(got, last));
	cr_noise_hs_clear(&hs_r);

	/* an older initiation, made later: dropped too */
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 2, t_old, &m0), 0);
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m0, &sender, got), 0);
	assert_false(cr_wg_timestamp_is_newer(got, last));
	cr_noise_hs_clear(&hs_r);

	/* a newer one is answered */
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 3, t_new, &m2), 0);
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m2, &sender, got), 0);
	assert_true(cr_wg_timestamp_is_newer(got, last));
	assert_int_equal(sender, 3);
	cr_noise_hs_clear(&hs_r);
	cr_noise_hs_clear(&hs_i);
}

/* ---- wrong keys */

static void
test_wrong_responder_static(void **state)
{
	struct cr_noise_static s_i, s_r, s_x;
	struct cr_wg_msg_initiation m;
	struct cr_noise_hs hs_i, hs_r;
	uint8_t ts[12], got[12];
	uint32_t sender;

	(void)state;
	identity_new(&s_i);
	identity_new(&s_r);
	identity_new(&s_x);
	cr_tai64n_now(ts);

	/* sent to x's key, received by r */
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_x.pub, 1, ts, &m), 0);
	memset(&hs_r, 0x5a, sizeof(hs_r));
	memset(got, 0xa5, sizeof(got));
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m, &sender, got), -EBADMSG);
	assert_hs_zero(&hs_r);
	assert_true(sodium_is_zero(got, sizeof(got)));

	/* sent to r, received by an r with the right public but another
	 * private key */
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 1, ts, &m), 0);
	{
		struct cr_noise_static s_bad = s_r;

		memcpy(s_bad.priv, s_x.priv, 32);
		assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_bad, &m, &sender, got),
				 -EBADMSG);
		assert_hs_zero(&hs_r);
		sodium_memzero(&s_bad, sizeof(s_bad));
	}
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m, &sender, got), 0);

	/* a response read with the wrong initiator static: refused, kept */
	{
		struct cr_wg_msg_response r;
		struct cr_noise_hs saved;

		assert_int_equal(cr_wg_response_create(&hs_r, NULL, 2, 1, &r), 0);
		saved = hs_i;
		assert_int_equal(cr_wg_response_consume(&hs_i, &s_x, NULL, &r), -EBADMSG);
		assert_memory_equal(&hs_i, &saved, sizeof(saved));
		assert_int_equal(cr_wg_response_consume(&hs_i, &s_i, NULL, &r), 0);
		sodium_memzero(&saved, sizeof(saved));
	}
	cr_noise_hs_clear(&hs_i);
	cr_noise_hs_clear(&hs_r);
}

static void
test_wrong_psk(void **state)
{
	uint8_t psk_a[32], psk_b[32];
	struct cr_noise_hs saved, r_ready;
	struct cr_wg_keypair kp_i, kp_r;
	struct cr_wg_msg_response r2;
	struct pair p;

	(void)state;
	randombytes_buf(psk_a, sizeof(psk_a));
	randombytes_buf(psk_b, sizeof(psk_b));

	/* responder answers with B, initiator expects A; then NULL vs A */
	pair_start(&p, psk_b);
	saved = p.hs_i;
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, psk_a, &p.resp), -EBADMSG);
	assert_memory_equal(&p.hs_i, &saved, sizeof(saved));
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), -EBADMSG);
	assert_memory_equal(&p.hs_i, &saved, sizeof(saved));
	assert_int_equal(cr_wg_keypair_derive(&p.hs_i, 1, &kp_i), -EINVAL);

	/* the initiation in flight survived: a right answer still completes it */
	{
		uint8_t ts[12];
		uint32_t sender;

		assert_int_equal(cr_wg_initiation_consume(&r_ready, &p.s_r, &p.init, &sender, ts),
				 0);
	}
	assert_int_equal(cr_wg_response_create(&r_ready, psk_a, 9, 0x01020304, &r2), 0);
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, psk_a, &r2), 0);
	assert_int_equal(cr_wg_keypair_derive(&p.hs_i, 1, &kp_i), 0);
	assert_int_equal(cr_wg_keypair_derive(&r_ready, 0, &kp_r), 0);
	assert_memory_equal(kp_i.send, kp_r.recv, 32);
	assert_memory_equal(kp_i.recv, kp_r.send, 32);
	assert_hs_zero(&p.hs_i);
	assert_hs_zero(&r_ready);

	/* clearing a failed handshake wipes it */
	cr_noise_hs_clear(&saved);
	assert_hs_zero(&saved);
	cr_noise_hs_clear(&p.hs_r);
	sodium_memzero(&kp_i, sizeof(kp_i));
	sodium_memzero(&kp_r, sizeof(kp_r));
}

/* ---- low-order points and misuse */

static void
test_low_order(void **state)
{
	struct cr_noise_static s_i, s_r;
	struct cr_wg_msg_initiation m;
	struct cr_noise_hs hs_i, hs_r, saved;
	uint8_t ts[12], got[12];
	uint32_t sender;
	struct pair p;

	(void)state;
	identity_new(&s_i);
	identity_new(&s_r);
	cr_tai64n_now(ts);

	/* to a low-order static: es is zero */
	memset(&hs_i, 0x5a, sizeof(hs_i));
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, zero32, 1, ts, &m), -EINVAL);
	assert_hs_zero(&hs_i);
	assert_true(sodium_is_zero((const unsigned char *)&m, sizeof(m)));

	/* an initiation carrying a low-order ephemeral */
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 1, ts, &m), 0);
	memset(m.ephemeral, 0, sizeof(m.ephemeral));
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m, &sender, got), -EINVAL);
	assert_hs_zero(&hs_r);
	m.ephemeral[0] = 1; /* u = 1, order 1 */
	assert_int_equal(cr_wg_initiation_consume(&hs_r, &s_r, &m, &sender, got), -EINVAL);
	assert_hs_zero(&hs_r);
	cr_noise_hs_clear(&hs_i);

	/* a response carrying a low-order ephemeral */
	pair_start(&p, NULL);
	memset(p.resp.ephemeral, 0, sizeof(p.resp.ephemeral));
	saved = p.hs_i;
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), -EINVAL);
	assert_memory_equal(&p.hs_i, &saved, sizeof(saved));
	cr_noise_hs_clear(&p.hs_i);
	cr_noise_hs_clear(&p.hs_r);
	cr_noise_hs_clear(&saved);
}

static void
test_misuse(void **state)
{
	struct cr_wg_keypair kp;
	struct cr_noise_hs hs, saved;
	uint8_t buf[200], k1[32], k2[32], ts[12];
	uint32_t sender;
	struct pair p;

	(void)state;
	memset(buf, 0, sizeof(buf));
	cr_noise_hs_clear(&hs);

	/* nothing to answer, nothing to read, nothing to split */
	assert_int_equal(cr_noise_write_msg2(&hs, NULL, NULL, NULL, 0, buf), -EINVAL);
	assert_int_equal(cr_noise_split(&hs, 0, k1, k2), -EINVAL);
	assert_int_equal(cr_noise_split(&hs, 1, k1, k2), -EINVAL);
	pair_start(&p, NULL);
	assert_int_equal(cr_noise_read_msg2(&hs, &p.s_i, NULL, buf, 48, NULL), -EINVAL);

	/* short messages, missing payload buffer */
	memset(&hs, 0x5a, sizeof(hs));
	assert_int_equal(cr_noise_read_msg1(&hs, NULL, 0, &p.s_r, buf, 95, NULL), -EINVAL);
	assert_hs_zero(&hs);
	assert_int_equal(cr_noise_read_msg1(&hs, NULL, 0, &p.s_r, buf, 97, NULL), -EINVAL);
	saved = p.hs_i;
	assert_int_equal(cr_noise_read_msg2(&p.hs_i, &p.s_i, NULL, buf, 47, NULL), -EINVAL);
	assert_int_equal(cr_noise_read_msg2(&p.hs_i, &p.s_i, NULL, buf, 49, NULL), -EINVAL);
	assert_memory_equal(&p.hs_i, &saved, sizeof(saved));

	/* wrong message types */
	{
		struct cr_wg_msg_initiation m = p.init;
		struct cr_wg_msg_response r = p.resp;

		m.type = htole32(WG_MSG_RESPONSE);
		assert_int_equal(cr_wg_initiation_consume(&hs, &p.s_r, &m, &sender, ts), -EINVAL);
		assert_hs_zero(&hs);
		r.type = htole32(WG_MSG_INITIATION);
		assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &r), -EINVAL);
	}

	/* splits in the wrong role or too early */
	assert_int_equal(cr_noise_split(&p.hs_i, 1, k1, k2), -EINVAL); /* not consumed yet */
	assert_int_equal(cr_noise_split(&p.hs_r, 1, k1, k2), -EINVAL); /* responder */
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), 0);
	assert_int_equal(cr_noise_split(&p.hs_i, 0, k1, k2), -EINVAL); /* initiator */
	/* a response consumed twice */
	assert_int_equal(cr_wg_response_consume(&p.hs_i, &p.s_i, NULL, &p.resp), -EINVAL);
	assert_int_equal(cr_wg_keypair_derive(&p.hs_i, 1, &kp), 0);
	assert_int_equal(cr_wg_keypair_derive(&p.hs_r, 0, &kp), 0);
	/* answered twice */
	assert_int_equal(cr_wg_response_create(&p.hs_r, NULL, 1, 2, &p.resp), -EINVAL);
	assert_hs_zero(&p.hs_i);
	assert_hs_zero(&p.hs_r);
	sodium_memzero(&kp, sizeof(kp));
	sodium_memzero(&saved, sizeof(saved));
}

/* A precomputed static-static DH gives the handshake computed in full; a
 * wrong one fails authentication; declining falls back to computing it. */
struct ss_table {
	uint8_t pub[32];
	uint8_t ss[32];
	int calls;
};

static int
ss_lookup(void *ctx, const uint8_t remote_s[32], uint8_t out[32])
{
	struct ss_table *t = ctx;

	t->calls++;
	if (memcmp(remote_s, t->pub, 32) != 0)
		return -1;
	memcpy(out, t->ss, 32);
	return 0;
}

static void
test_precomputed_ss(void **state)
{
	struct cr_noise_static s_i, s_r;
	struct cr_noise_hs hs_i, hs_a, hs_b;
	struct cr_wg_msg_initiation init;
	struct ss_table t;
	uint8_t ts[WG_TAI64N_LEN], got[WG_TAI64N_LEN];
	uint32_t sender;

	(void)state;
	identity_new(&s_i);
	identity_new(&s_r);
	memcpy(t.pub, s_i.pub, 32);
	assert_int_equal(cr_x25519(t.ss, s_r.priv, s_i.pub), 0);
	t.calls = 0;
	cr_tai64n_now(ts);
	assert_int_equal(cr_wg_initiation_create(&hs_i, &s_i, s_r.pub, 7, ts, &init), 0);
	assert_int_equal(cr_wg_initiation_consume(&hs_a, &s_r, &init, &sender, got), 0);
	assert_int_equal(cr_wg_initiation_consume_ss(&hs_b, &s_r, &init, &sender, got, ss_lookup,
						     &t),
			 0);
	assert_int_equal(t.calls, 1);
	assert_memory_equal(got, ts, sizeof(ts));
	/* the same chaining key and hash: the same keys follow */
	assert_memory_equal(hs_a.ck, hs_b.ck, sizeof(hs_a.ck));
	assert_memory_equal(hs_a.hash, hs_b.hash, sizeof(hs_a.hash));
	assert_memory_equal(hs_a.remote_s, hs_b.remote_s, 32);
	/* a wrong precomputation cannot authenticate the timestamp */
	t.ss[0] ^= 1;
	assert_int_equal(cr_wg_initiation_consume_ss(&hs_b, &s_r, &init, &sender, got, ss_lookup,
						     &t),
			 -EBADMSG);
	/* an unknown initiator: the callback declines, the DH is computed */
	t.ss[0] ^= 1;
	t.pub[0] ^= 1;
	assert_int_equal(cr_wg_initiation_consume_ss(&hs_b, &s_r, &init, &sender, got, ss_lookup,
						     &t),
			 0);
	assert_memory_equal(hs_a.ck, hs_b.ck, sizeof(hs_a.ck));
	assert_int_equal(t.calls, 3);
	cr_noise_hs_clear(&hs_i);
	cr_noise_hs_clear(&hs_a);
	cr_noise_hs_clear(&hs_b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacophony),
		cmocka_unit_test(test_wireguard_kat),
		cmocka_unit_test(test_wireguard_handshake),
		cmocka_unit_test(test_generic_payloads),
		cmocka_unit_test(test_tamper_initiation_noise),
		cmocka_unit_test(test_tamper_response_noise),
		cmocka_unit_test(test_tamper_pipeline),
		cmocka_unit_test(test_replay_timestamp),
		cmocka_unit_test(test_wrong_responder_static),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_precomputed_ss),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
