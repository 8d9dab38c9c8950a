/*
 * cookie.c — WireGuard's mac1/mac2 and cookie replies (paper §5.4.4,
 * §5.4.7): the checker validates the MACs of what reaches us and answers
 * with cookie replies under load, rotating its secret every 120 s; the maker
 * (one per remote peer) adds the MACs to what we send and takes the cookie
 * replies we are given. Time comes in as monotonic nanoseconds, so the module
 * is pure. Main lcore only in the engine.
 *
 *   mac1   = MAC(HASH(LABEL_MAC1 || receiver pub), msg up to mac1)
 *   mac2   = MAC(cookie, msg up to mac2), or zero without a cookie
 *   cookie = MAC(R_m, source address || source port)
 *   reply  = XAEAD(HASH(LABEL_COOKIE || receiver pub), random 24-byte nonce,
 *                  cookie, ad = mac1 of the message answered)
 * where MAC is keyed BLAKE2s with a 16-byte output.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "blake2s.h"
#include "cookie.h"

#define NSEC_PER_SEC 1000000000ULL

_Static_assert(sizeof(struct cr_wg_msg_cookie) == WG_MSG_COOKIE_LEN, "cookie reply size");
_Static_assert(WG_COOKIE_LEN == WG_MAC_LEN, "a cookie keys mac2");

/* mac1 and mac2 close every handshake message. */
enum {
	MACS_LEN = 2 * WG_MAC_LEN,
};

/* key = HASH(label || pub) */
static void
label_key(uint8_t key[WG_KEY_LEN], const char *label, const uint8_t pub[WG_KEY_LEN])
{
	struct cr_blake2s_state st;

	cr_blake2s_init(&st, WG_KEY_LEN, NULL, 0);
	cr_blake2s_update(&st, (const uint8_t *)label, strlen(label));
	cr_blake2s_update(&st, pub, WG_KEY_LEN);
	cr_blake2s_final(&st, key);
}

/* out[16] = keyed BLAKE2s-128 of in. */
static void
mac(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len)
{
	cr_blake2s(out, WG_MAC_LEN, in, len, key, keylen);
}

/* True once age_s seconds have passed since birth_ns (Linux
 * wg_birthdate_has_expired). A clock going backwards counts as expired. */
static bool
has_expired(uint64_t birth_ns, uint64_t now_ns, uint64_t age_s)
{
	return now_ns < birth_ns || now_ns - birth_ns >= age_s * NSEC_PER_SEC;
}

/* cookie = MAC(R_m, src), R_m renewed when older than COOKIE_SECRET_MAX_AGE. */
static void
cookie_make(struct cr_cookie_checker *c, uint8_t cookie[WG_COOKIE_LEN], const uint8_t *src,
	    size_t srclen, uint64_t now_ns)
{
	if (!c->secret_valid ||
	    has_expired(c->secret_birth_ns, now_ns, WG_COOKIE_SECRET_MAX_AGE_S)) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->secret_valid = true;
	}
	mac(cookie, c->secret, sizeof(c->secret), src, srclen);
}

void
cr_cookie_checker_init(struct cr_cookie_checker *c, const uint8_t our_pub[WG_KEY_LEN])
{
	sodium_memzero(c, sizeof(*c));
	label_key(c->mac1_key, WG_LABEL_MAC1, our_pub);
	label_key(c->cookie_enc_key, WG_LABEL_COOKIE, our_pub);
	/* The secret is drawn on first use, when the time is known. */
}

void
cr_cookie_checker_clear(struct cr_cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

enum cr_mac_result
cr_cookie_validate(struct cr_cookie_checker *c, const uint8_t *msg, size_t len, const uint8_t *src,
		   size_t srclen, bool under_load, uint64_t now_ns)
{
	enum cr_mac_result ret = CR_MAC_INVALID_MAC1;
	uint8_t computed[WG_MAC_LEN];
	uint8_t cookie[WG_COOKIE_LEN];
	size_t mac1_off, mac2_off;

	if (msg == NULL || len < MACS_LEN)
		return CR_MAC_INVALID_MAC1;
	mac1_off = len - MACS_LEN;
	mac2_off = mac1_off + WG_MAC_LEN;

	mac(computed, c->mac1_key, sizeof(c->mac1_key), msg, mac1_off);
	if (sodium_memcmp(computed, msg + mac1_off, WG_MAC_LEN) != 0)
		goto out;
	ret = CR_MAC_VALID;
	if (!under_load)
		goto out;

	/* Under load only a mac2 made with our current cookie for src passes. */
	ret = CR_MAC_NEED_COOKIE;
	if (src == NULL && srclen != 0)
		goto out;
	cookie_make(c, cookie, src, srclen, now_ns);
	mac(computed, cookie, sizeof(cookie), msg, mac2_off);
	if (sodium_memcmp(computed, msg + mac2_off, WG_MAC_LEN) == 0)
		ret = CR_MAC_VALID;

out:
	sodium_memzero(computed, sizeof(computed));
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

int
cr_cookie_reply_create(struct cr_cookie_checker *c, struct cr_wg_msg_cookie *reply,
		       uint32_t receiver, const uint8_t *msg, size_t len, const uint8_t *src,
		       size_t srclen, uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];
	int ret;

	if (reply == NULL || msg == NULL || len < MACS_LEN || (src == NULL && srclen != 0))
		return -EINVAL;

	cookie_make(c, cookie, src, srclen, now_ns);
	reply->type = htole32(WG_MSG_COOKIE);
	reply->receiver = htole32(receiver);
	randombytes_buf(reply->nonce, sizeof(reply->nonce));
	/* ad: the mac1 of the message answered, binding the reply to it. */
	ret = cr_xaead_seal(reply->cookie_enc, cookie, sizeof(cookie), msg + len - MACS_LEN,
			    WG_MAC_LEN, reply->nonce, c->cookie_enc_key);
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

void
cr_cookie_maker_init(struct cr_cookie_maker *m, const uint8_t peer_pub[WG_KEY_LEN])
{
	sodium_memzero(m, sizeof(*m));
	label_key(m->mac1_key, WG_LABEL_MAC1, peer_pub);
	label_key(m->cookie_dec_key, WG_LABEL_COOKIE, peer_pub);
}

void
cr_cookie_maker_clear(struct cr_cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

void
cr_cookie_add_macs(struct cr_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	size_t mac1_off, mac2_off;

	if (msg == NULL || len < MACS_LEN)
		return;
	mac1_off = len - MACS_LEN;
	mac2_off = mac1_off + WG_MAC_LEN;

	mac(msg + mac1_off, m->mac1_key, sizeof(m->mac1_key), msg, mac1_off);
	memcpy(m->last_mac1, msg + mac1_off, WG_MAC_LEN);
	m->last_mac1_valid = true;

	/* Stop using a cookie COOKIE_SECRET_LATENCY before the checker's secret
	 * could have rotated under it; an expired cookie is forgotten. */
	if (m->cookie_valid &&
	    has_expired(m->cookie_birth_ns, now_ns,
			WG_COOKIE_SECRET_MAX_AGE_S - WG_COOKIE_SECRET_LATENCY_S)) {
		sodium_memzero(m->cookie, sizeof(m->cookie));
		m->cookie_valid = false;
	}
	if (m->cookie_valid)
		mac(msg + mac2_off, m->cookie, sizeof(m->cookie), msg, mac2_off);
	else
		memset(msg + mac2_off, 0, WG_MAC_LEN);
}

int
cr_cookie_reply_consume(struct cr_cookie_maker *m, const struct cr_wg_msg_cookie *reply,
			uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];
	int ret;

	if (reply == NULL || !m->last_mac1_valid)
		return -EINVAL;

	ret = cr_xaead_open(cookie, reply->cookie_enc, sizeof(reply->cookie_enc), m->last_mac1,
			    WG_MAC_LEN, reply->nonce, m->cookie_dec_key);
	if (ret != 0) {
		ret = -EBADMSG;
		goto out;
	}
	memcpy(m->cookie, cookie, sizeof(m->cookie));
	m->cookie_birth_ns = now_ns;
	m->cookie_valid = true;
	/* One reply per message sent: a second one for it is dropped. */
	m->last_mac1_valid = false;

out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}
