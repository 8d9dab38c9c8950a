/*
 * fuzz_noise.c — libFuzzer target for every consumer of a WireGuard
 * handshake message (crypto/noise.c, crypto/cookie.c): initiation, response
 * and cookie reply, each raw (the fuzzer's bytes as they came off the wire)
 * and "genuine then mutated" (a real message from the noise code, XORed
 * with the fuzzer's mask, so the paths behind MAC and AEAD checks are
 * reached), with and without a handshake in flight. Fixed static
 * identities; randomness is deterministic per input (fuzz_common.h).
 *
 * Input: byte 0 picks the case (low 3 bits) and flags (the rest); the
 * rest is read by the case. Invariants checked beyond "no crash":
 *  - a consumer that fails returns -EINVAL or -EBADMSG and leaves what it
 *    documents: a cleared responder state and zeroed timestamp, an
 *    untouched initiator state (a forged response must not kill it), an
 *    untouched cookie maker;
 *  - an unmodified genuine message is accepted, and whatever is accepted
 *    yields the same keys on both sides (same psk) or is refused (not);
 *  - a cookie reply that is accepted makes the next mac2 pass under load
 *    exactly while both the cookie and the checker's secret are fresh.
 * Single-threaded, like libFuzzer's runs.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cookie.h"
#include "noise.h"
#include "x25519.h"

#include "fuzz_common.h"

#define NS   1000000000ULL
#define SRC_MAX 18 /* IPv6 address + port */

enum {
	CASE_RAW_INITIATION,	/* fuzzed initiation to the responder */
	CASE_GENUINE_INITIATION, /* real initiation ^ mask, then the full handshake */
	CASE_RAW_RESPONSE,	/* fuzzed response to an initiation in flight */
	CASE_GENUINE_RESPONSE,	/* real response ^ mask to an initiation in flight */
	CASE_NO_STATE,		/* response with no initiation in flight */
	CASE_RAW_COOKIE,	/* fuzzed cookie reply to our last initiation */
	CASE_GENUINE_COOKIE,	/* real cookie reply ^ mask, then mac2 under load */
	CASE_MACS,		/* any length: cookie_validate, add_macs, reply_create */
	N_CASES,
};

enum {
	F_UNDER_LOAD = 1u << 0,
	F_PSK_RESPONDER = 1u << 1,
	F_PSK_INITIATOR = 1u << 2,
	F_NO_LAST_MAC1 = 1u << 3, /* RAW_COOKIE: no message outstanding */
	F_RESPONDER_STATE = 1u << 3, /* NO_STATE: hs of a responder, not zeroed */
};

/* Identities and the template of an initiation in flight: written once by
 * LLVMFuzzerInitialize, read-only afterwards. */
static struct cr_noise_static responder; /* "us", the POP */
static struct cr_noise_static initiator; /* a peer */
static uint8_t psk[WG_KEY_LEN];
static struct cr_noise_hs tmpl_hs;		 /* initiator, INITIATION_SENT */
static struct cr_wg_msg_initiation tmpl_init; /* its message, with MACs */
static struct cr_cookie_maker tmpl_maker;	 /* initiator's maker for responder */

static const uint8_t zero32[32];

static void
identity(struct cr_noise_static *s, uint8_t fill)
{
	memset(s->priv, fill, sizeof(s->priv));
	s->priv[0] &= 248;
	s->priv[31] = (s->priv[31] & 127) | 64;
	if (cr_x25519_public(s->pub, s->priv) != 0)
		abort();
}

static bool
all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}

static const uint8_t *
psk_or_null(bool use)
{
	return use ? psk : NULL;
}

/* The responder side of one initiation: MACs, consume, and when that
 * succeeds, a response and the responder's keys. */
struct responder_out {
	int consume_rc;
	enum cr_mac_result mac;
	uint32_t sender;
	uint8_t tai64n[WG_TAI64N_LEN];
	uint8_t remote_s[WG_KEY_LEN];
	struct cr_wg_msg_response resp;
	struct cr_wg_keypair kp;
};

static void
responder_take(const struct cr_wg_msg_initiation *msg, const uint8_t *src, size_t srclen,
	       bool under_load, uint64_t now, const uint8_t *rpsk, struct responder_out *o)
{
	struct cr_cookie_checker chk;
	struct cr_cookie_maker mk;
	struct cr_wg_msg_cookie reply;
	struct cr_noise_hs hs;

	memset(o, 0, sizeof(*o));
	cr_cookie_checker_init(&chk, responder.pub);
	o->mac = cr_cookie_validate(&chk, (const uint8_t *)msg, sizeof(*msg), src, srclen,
				    under_load, now);
	FUZZ_CHECK(o->mac == CR_MAC_VALID || o->mac == CR_MAC_INVALID_MAC1 ||
		   o->mac == CR_MAC_NEED_COOKIE);
	if (o->mac == CR_MAC_NEED_COOKIE) {
		FUZZ_CHECK(under_load);
		FUZZ_CHECK(cr_cookie_reply_create(&chk, &reply, le32toh(msg->sender),
						  (const uint8_t *)msg, sizeof(*msg), src, srclen,
						  now) == 0);
		FUZZ_CHECK(le32toh(reply.type) == WG_MSG_COOKIE);
	}
	cr_cookie_checker_clear(&chk);

	/* The consumer runs whatever the MACs said: it must stand alone. */
	memset(&hs, 0xa5, sizeof(hs));
	memset(o->tai64n, 0xa5, sizeof(o->tai64n));
	o->consume_rc = cr_wg_initiation_consume(&hs, &responder, msg, &o->sender, o->tai64n);
	if (o->consume_rc != 0) {
		FUZZ_CHECK(o->consume_rc == -EINVAL || o->consume_rc == -EBADMSG);
		FUZZ_CHECK(hs.state == CR_NOISE_ZEROED && all_zero(&hs, sizeof(hs)));
		FUZZ_CHECK(all_zero(o->tai64n, sizeof(o->tai64n)));
		return;
	}
	FUZZ_CHECK(hs.state == CR_NOISE_INITIATION_CONSUMED);
	FUZZ_CHECK(le32toh(msg->type) == WG_MSG_INITIATION);
	memcpy(o->remote_s, hs.remote_s, WG_KEY_LEN);
	(void)cr_wg_timestamp_is_newer(o->tai64n, zero32);

	/* An authenticated initiation always gets an answer. */
	FUZZ_CHECK(cr_wg_response_create(&hs, rpsk, 0x52525252, o->sender, &o->resp) == 0);
	FUZZ_CHECK(hs.state == CR_NOISE_RESPONSE_SENT);
	cr_cookie_maker_init(&mk, o->remote_s);
	cr_cookie_add_macs(&mk, (uint8_t *)&o->resp, sizeof(o->resp), now);
	cr_cookie_maker_clear(&mk);
	FUZZ_CHECK(cr_wg_keypair_derive(&hs, 0, &o->kp) == 0);
	FUZZ_CHECK(hs.state == CR_NOISE_ZEROED);
	/* A second split of the same handshake is refused. */
	FUZZ_CHECK(cr_wg_keypair_derive(&hs, 0, &o->kp) == -EINVAL);
}

/* The initiator takes a response to the initiation in flight hs: returns
 * the consumer's result; on success kp holds the initiator's keys. */
static int
initiator_take(struct cr_noise_hs *hs, const struct cr_wg_msg_response *resp, bool ipsk,
	       uint64_t now, struct cr_wg_keypair *kp)
{
	struct cr_cookie_checker chk;
	struct cr_noise_hs saved = *hs;
	enum cr_mac_result mac;
	int rc;

	cr_cookie_checker_init(&chk, initiator.pub);
	mac = cr_cookie_validate(&chk, (const uint8_t *)resp, sizeof(*resp), NULL, 0, false, now);
	FUZZ_CHECK(mac == CR_MAC_VALID || mac == CR_MAC_INVALID_MAC1);
	cr_cookie_checker_clear(&chk);

	rc = cr_wg_response_consume(hs, &initiator, psk_or_null(ipsk), resp);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -EBADMSG);
		FUZZ_CHECK(memcmp(hs, &saved, sizeof(saved)) == 0);
		return rc;
	}
	FUZZ_CHECK(hs->state == CR_NOISE_RESPONSE_CONSUMED);
	/* The same response again: the handshake is no longer in flight. */
	saved = *hs;
	FUZZ_CHECK(cr_wg_response_consume(hs, &initiator, psk_or_null(ipsk), resp) == -EINVAL);
	FUZZ_CHECK(memcmp(hs, &saved, sizeof(saved)) == 0);
	FUZZ_CHECK(cr_wg_keypair_derive(hs, 1, kp) == 0);
	FUZZ_CHECK(kp->initiator == 1);
	return 0;
}

static void
xor_mask(struct fuzz_in *in, void *msg, size_t len, bool *masked)
{
	uint8_t *m = msg;

	*masked = false;
	for (size_t i = 0; i < len && in->n > 0; i++) {
		uint8_t x = fuzz_u8(in);

		m[i] ^= x;
		*masked |= x != 0;
	}
}

static void
src_read(struct fuzz_in *in, uint8_t src[SRC_MAX], size_t *srclen)
{
	*srclen = fuzz_u8(in) % (SRC_MAX + 1);
	fuzz_bytes(in, src, *srclen);
}

/* A fresh initiation from the initiator: returns its handshake state, the
 * message with MACs, and the maker that sent it. */
static void
initiate(struct fuzz_in *in, uint64_t now, struct cr_noise_hs *hs,
	 struct cr_wg_msg_initiation *msg, struct cr_cookie_maker *mk, uint8_t ts[WG_TAI64N_LEN])
{
	uint32_t sender = (uint32_t)fuzz_u64(in, 4);

	fuzz_bytes(in, ts, WG_TAI64N_LEN);
	FUZZ_CHECK(cr_wg_initiation_create(hs, &initiator, responder.pub, sender, ts, msg) == 0);
	FUZZ_CHECK(hs->state == CR_NOISE_INITIATION_SENT);
	cr_cookie_maker_init(mk, responder.pub);
	cr_cookie_add_macs(mk, (uint8_t *)msg, sizeof(*msg), now);
}

static void
case_raw_initiation(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_initiation msg;
	struct responder_out o;
	uint8_t src[SRC_MAX];
	size_t srclen;
	uint64_t now = fuzz_u64(in, 8);

	src_read(in, src, &srclen);
	fuzz_bytes(in, (uint8_t *)&msg, sizeof(msg));
	responder_take(&msg, src, srclen, flags & F_UNDER_LOAD, now,
		       psk_or_null(flags & F_PSK_RESPONDER), &o);
	/* The fuzzer holds no static key but the initiator's (from the seed):
	 * any other would be a forgery. */
	if (o.consume_rc == 0)
		FUZZ_CHECK(memcmp(o.remote_s, initiator.pub, WG_KEY_LEN) == 0);
}

static void
case_genuine_initiation(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_initiation msg;
	struct cr_cookie_maker mk;
	struct cr_wg_keypair kp;
	struct responder_out o;
	struct cr_noise_hs hs;
	uint8_t src[SRC_MAX], ts[WG_TAI64N_LEN];
	size_t srclen;
	uint64_t now = fuzz_u64(in, 8) >> 2;
	bool masked, same_psk;
	int rc;

	fuzz_rng_seed(fuzz_u64(in, 8));
	src_read(in, src, &srclen);
	initiate(in, now, &hs, &msg, &mk, ts);
	xor_mask(in, &msg, sizeof(msg), &masked);

	responder_take(&msg, src, srclen, flags & F_UNDER_LOAD, now,
		       psk_or_null(flags & F_PSK_RESPONDER), &o);
	if (!masked) {
		FUZZ_CHECK(o.mac == CR_MAC_VALID || (flags & F_UNDER_LOAD));
		FUZZ_CHECK(o.consume_rc == 0);
		FUZZ_CHECK(o.sender == le32toh(msg.sender));
	}
	if (o.consume_rc != 0)
		return;
	/* What authenticates is what the initiator sent. */
	FUZZ_CHECK(memcmp(o.remote_s, initiator.pub, WG_KEY_LEN) == 0);
	FUZZ_CHECK(memcmp(o.tai64n, ts, WG_TAI64N_LEN) == 0);

	same_psk = !(flags & F_PSK_RESPONDER) == !(flags & F_PSK_INITIATOR);
	rc = initiator_take(&hs, &o.resp, flags & F_PSK_INITIATOR, now, &kp);
	FUZZ_CHECK((rc == 0) == same_psk);
	if (rc == 0) {
		FUZZ_CHECK(memcmp(kp.send, o.kp.recv, WG_KEY_LEN) == 0);
		FUZZ_CHECK(memcmp(kp.recv, o.kp.send, WG_KEY_LEN) == 0);
	}
	cr_cookie_maker_clear(&mk);
}

static void
case_raw_response(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_response resp;
	struct cr_noise_hs hs = tmpl_hs;
	struct cr_wg_keypair kp;
	uint64_t now = fuzz_u64(in, 8);

	fuzz_bytes(in, (uint8_t *)&resp, sizeof(resp));
	/* Only the seed holding the real response to the template gets
	 * through; a failure must leave the initiation in flight as it was
	 * (initiator_take checks the bytes). */
	if (initiator_take(&hs, &resp, flags & F_PSK_INITIATOR, now, &kp) != 0)
		FUZZ_CHECK(hs.state == CR_NOISE_INITIATION_SENT);
}

static void
case_genuine_response(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_initiation msg;
	struct cr_cookie_maker mk;
	struct cr_wg_keypair kp;
	struct responder_out o;
	struct cr_noise_hs hs;
	uint8_t ts[WG_TAI64N_LEN];
	uint64_t now = fuzz_u64(in, 8) >> 2;
	bool masked, same_psk;
	int rc;

	fuzz_rng_seed(fuzz_u64(in, 8));
	initiate(in, now, &hs, &msg, &mk, ts);
	responder_take(&msg, NULL, 0, false, now, psk_or_null(flags & F_PSK_RESPONDER), &o);
	FUZZ_CHECK(o.consume_rc == 0 && o.mac == CR_MAC_VALID);
	xor_mask(in, &o.resp, sizeof(o.resp), &masked);

	same_psk = !(flags & F_PSK_RESPONDER) == !(flags & F_PSK_INITIATOR);
	rc = initiator_take(&hs, &o.resp, flags & F_PSK_INITIATOR, now, &kp);
	if (!masked)
		FUZZ_CHECK((rc == 0) == same_psk);
	if (rc == 0) {
		/* Only the unauthenticated fields may have changed. */
		FUZZ_CHECK(same_psk);
		FUZZ_CHECK(memcmp(kp.send, o.kp.recv, WG_KEY_LEN) == 0);
		FUZZ_CHECK(memcmp(kp.recv, o.kp.send, WG_KEY_LEN) == 0);
	} else {
		FUZZ_CHECK(hs.state == CR_NOISE_INITIATION_SENT);
	}
	cr_cookie_maker_clear(&mk);
}

static void
case_no_state(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_response resp;
	struct cr_noise_hs hs, saved;
	struct cr_wg_keypair kp;

	fuzz_bytes(in, (uint8_t *)&resp, sizeof(resp));
	cr_noise_hs_clear(&hs);
	if (flags & F_RESPONDER_STATE) {
		/* A responder's state (a consumed initiation) is no initiation
		 * in flight either. */
		uint8_t ts[WG_TAI64N_LEN];
		uint32_t sender;

		FUZZ_CHECK(cr_wg_initiation_consume(&hs, &responder, &tmpl_init, &sender, ts) ==
			   0);
	}
	saved = hs;
	FUZZ_CHECK(cr_wg_response_consume(&hs, &initiator, psk_or_null(flags & F_PSK_INITIATOR),
					  &resp) == -EINVAL);
	FUZZ_CHECK(memcmp(&hs, &saved, sizeof(hs)) == 0);
	FUZZ_CHECK(cr_wg_keypair_derive(&hs, 1, &kp) == -EINVAL);
	cr_noise_hs_clear(&hs);
}

static void
case_raw_cookie(struct fuzz_in *in, unsigned flags)
{
	struct cr_cookie_maker mk = tmpl_maker, saved;
	struct cr_wg_msg_cookie reply;
	uint64_t now = fuzz_u64(in, 8);
	int rc;

	if (flags & F_NO_LAST_MAC1)
		mk.last_mac1_valid = false;
	fuzz_bytes(in, (uint8_t *)&reply, sizeof(reply));
	saved = mk;
	rc = cr_cookie_reply_consume(&mk, &reply, now);
	if (flags & F_NO_LAST_MAC1)
		FUZZ_CHECK(rc == -EINVAL);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -EBADMSG);
		FUZZ_CHECK(memcmp(&mk, &saved, sizeof(mk)) == 0);
		return;
	}
	/* Only the seed holding a real reply to the template gets here. */
	FUZZ_CHECK(mk.cookie_valid && !mk.last_mac1_valid && mk.cookie_birth_ns == now);
	FUZZ_CHECK(cr_cookie_reply_consume(&mk, &reply, now) == -EINVAL);
	cr_cookie_maker_clear(&mk);
}

static void
case_genuine_cookie(struct fuzz_in *in, unsigned flags)
{
	struct cr_wg_msg_initiation msg = tmpl_init;
	struct cr_cookie_maker mk = tmpl_maker, saved;
	struct cr_cookie_checker chk;
	struct cr_wg_msg_cookie reply;
	uint8_t src[SRC_MAX];
	size_t srclen;
	/* t0: the reply is made; t1 = t0 + d1: taken; t2 = t1 + d2: next mac2 */
	uint64_t t0 = fuzz_u64(in, 8) >> 2;
	uint64_t t1 = t0 + fuzz_u64(in, 2) * (NS / 4);
	uint64_t t2 = t1 + fuzz_u64(in, 2) * (NS / 4);
	enum cr_mac_result mac;
	bool masked, fresh;
	int rc;

	(void)flags;
	fuzz_rng_seed(fuzz_u64(in, 8));
	src_read(in, src, &srclen);
	cr_cookie_checker_init(&chk, responder.pub);
	FUZZ_CHECK(cr_cookie_validate(&chk, (const uint8_t *)&msg, sizeof(msg), src, srclen, true,
				      t0) == CR_MAC_NEED_COOKIE);
	FUZZ_CHECK(cr_cookie_reply_create(&chk, &reply, le32toh(msg.sender), (const uint8_t *)&msg,
					  sizeof(msg), src, srclen, t0) == 0);
	xor_mask(in, &reply, sizeof(reply), &masked);

	saved = mk;
	rc = cr_cookie_reply_consume(&mk, &reply, t1);
	if (!masked)
		FUZZ_CHECK(rc == 0);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EBADMSG);
		FUZZ_CHECK(memcmp(&mk, &saved, sizeof(mk)) == 0);
		goto out;
	}
	FUZZ_CHECK(mk.cookie_valid && !mk.last_mac1_valid);
	/* One reply per message: the same one again is refused. */
	FUZZ_CHECK(cr_cookie_reply_consume(&mk, &reply, t1) == -EINVAL);

	/* The next message carries mac2; it passes under load while the
	 * maker still uses the cookie and the checker has not rotated. */
	cr_cookie_add_macs(&mk, (uint8_t *)&msg, sizeof(msg), t2);
	mac = cr_cookie_validate(&chk, (const uint8_t *)&msg, sizeof(msg), src, srclen, true, t2);
	fresh = t2 - t1 < (WG_COOKIE_SECRET_MAX_AGE_S - WG_COOKIE_SECRET_LATENCY_S) * NS &&
		t2 - t0 < WG_COOKIE_SECRET_MAX_AGE_S * NS;
	FUZZ_CHECK(mac == (fresh ? CR_MAC_VALID : CR_MAC_NEED_COOKIE));
	FUZZ_CHECK(cr_cookie_validate(&chk, (const uint8_t *)&msg, sizeof(msg), src, srclen, false,
				      t2) == CR_MAC_VALID);
out:
	cr_cookie_checker_clear(&chk);
	cr_cookie_maker_clear(&mk);
}

static void
case_macs(struct fuzz_in *in, unsigned flags)
{
	struct cr_cookie_checker chk;
	struct cr_cookie_maker mk;
	struct cr_wg_msg_cookie reply;
	uint8_t src[SRC_MAX], *msg;
	size_t srclen, len;
	uint64_t now = fuzz_u64(in, 8);
	enum cr_mac_result mac;

	src_read(in, src, &srclen);
	len = in->n;
	msg = malloc(len + 1);
	if (msg == NULL)
		return;
	fuzz_bytes(in, msg, len);

	cr_cookie_checker_init(&chk, responder.pub);
	mac = cr_cookie_validate(&chk, msg, len, src, srclen, flags & F_UNDER_LOAD, now);
	FUZZ_CHECK(mac == CR_MAC_VALID || mac == CR_MAC_INVALID_MAC1 || mac == CR_MAC_NEED_COOKIE);
	if (len < 32)
		FUZZ_CHECK(mac == CR_MAC_INVALID_MAC1);
	FUZZ_CHECK(cr_cookie_reply_create(&chk, &reply, 7, msg, len, src, srclen, now) ==
		   (len < 32 ? -EINVAL : 0));

	/* Whatever the length, MACs added by a maker for us pass. */
	cr_cookie_maker_init(&mk, responder.pub);
	cr_cookie_add_macs(&mk, msg, len, now);
	if (len >= 32) {
		FUZZ_CHECK(mk.last_mac1_valid);
		FUZZ_CHECK(cr_cookie_validate(&chk, msg, len, src, srclen, false, now) ==
			   CR_MAC_VALID);
		/* No cookie yet: mac2 is zero, so under load one is asked for. */
		FUZZ_CHECK(all_zero(msg + len - 16, 16));
	} else {
		FUZZ_CHECK(!mk.last_mac1_valid);
	}
	cr_cookie_maker_clear(&mk);
	cr_cookie_checker_clear(&chk);
	free(msg);
}

/* Real messages for the seed corpus, written when GATE44_FUZZ_WRITE_SEEDS
 * names a directory (tests/fuzz/gen-seeds.sh). */
static void
seed_write(const char *dir, const char *name, uint8_t c, const void *body, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(&c, 1, 1, f) != 1 || fwrite(body, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void
seeds_write(const char *dir)
{
	uint8_t buf[512] = {0};
	struct cr_wg_msg_cookie reply;
	struct cr_cookie_checker chk;
	struct responder_out o;
	size_t n;

	mkdir(dir, 0755);
	/* raw initiation: now, srclen 6, src, the real message */
	n = 8 + 1 + 6;
	buf[8] = 6;
	memcpy(buf + n, &tmpl_init, sizeof(tmpl_init));
	seed_write(dir, "raw-initiation", CASE_RAW_INITIATION, buf, n + sizeof(tmpl_init));
	seed_write(dir, "raw-initiation-load", CASE_RAW_INITIATION | (F_UNDER_LOAD << 3), buf,
		   n + sizeof(tmpl_init));
	/* raw response: the real answer to the template initiation */
	responder_take(&tmpl_init, NULL, 0, false, 0, NULL, &o);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 8, &o.resp, sizeof(o.resp));
	seed_write(dir, "raw-response", CASE_RAW_RESPONSE, buf, 8 + sizeof(o.resp));
	/* raw cookie reply to the template initiation */
	cr_cookie_checker_init(&chk, responder.pub);
	FUZZ_CHECK(cr_cookie_reply_create(&chk, &reply, 1, (const uint8_t *)&tmpl_init,
					  sizeof(tmpl_init), NULL, 0, 0) == 0);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 8, &reply, sizeof(reply));
	seed_write(dir, "raw-cookie", CASE_RAW_COOKIE, buf, 8 + sizeof(reply));
	/* genuine cases: their fields, no mask */
	memset(buf, 0, sizeof(buf));
	for (unsigned f = 0; f < 8; f++) {
		char name[64];

		snprintf(name, sizeof(name), "genuine-initiation-%u", f);
		seed_write(dir, name, (uint8_t)(CASE_GENUINE_INITIATION | f << 3), buf, 48);
		snprintf(name, sizeof(name), "genuine-response-%u", f);
		seed_write(dir, name, (uint8_t)(CASE_GENUINE_RESPONSE | f << 3), buf, 40);
	}
	seed_write(dir, "genuine-cookie", CASE_GENUINE_COOKIE, buf, 40);
	buf[8] = 0xe0; /* d1 = 480 quarter seconds: the secret is 120 s old */
	buf[9] = 0x01;
	seed_write(dir, "genuine-cookie-stale", CASE_GENUINE_COOKIE, buf, 40);
	seed_write(dir, "no-state", CASE_NO_STATE, &o.resp, sizeof(o.resp));
	seed_write(dir, "no-state-responder", CASE_NO_STATE | (F_RESPONDER_STATE << 3), &o.resp,
		   sizeof(o.resp));
	memset(buf, 0, sizeof(buf));
	seed_write(dir, "macs", CASE_MACS, buf, 8 + 1 + 64);
	cr_cookie_checker_clear(&chk);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("GATE44_FUZZ_WRITE_SEEDS");
	uint8_t ts[WG_TAI64N_LEN] = {0x40, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 0};

	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	identity(&responder, 0x11);
	identity(&initiator, 0x22);
	memset(psk, 0x33, sizeof(psk));
	fuzz_rng_seed(1);
	if (cr_wg_initiation_create(&tmpl_hs, &initiator, responder.pub, 0x49494949, ts,
				    &tmpl_init) != 0)
		abort();
	cr_cookie_maker_init(&tmpl_maker, responder.pub);
	cr_cookie_add_macs(&tmpl_maker, (uint8_t *)&tmpl_init, sizeof(tmpl_init), 0);
	if (seeds != NULL)
		seeds_write(seeds);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t c = fuzz_u8(&in);
	unsigned flags = c >> 3;

	fuzz_rng_seed(0x6761746534340000ULL);
	switch (c & 7) {
	case CASE_RAW_INITIATION:
		case_raw_initiation(&in, flags);
		break;
	case CASE_GENUINE_INITIATION:
		case_genuine_initiation(&in, flags);
		break;
	case CASE_RAW_RESPONSE:
		case_raw_response(&in, flags);
		break;
	case CASE_GENUINE_RESPONSE:
		case_genuine_response(&in, flags);
		break;
	case CASE_NO_STATE:
		case_no_state(&in, flags);
		break;
	case CASE_RAW_COOKIE:
		case_raw_cookie(&in, flags);
		break;
	case CASE_GENUINE_COOKIE:
		case_genuine_cookie(&in, flags);
		break;
	case CASE_MACS:
		case_macs(&in, flags);
		break;
	}
	return 0;
}
