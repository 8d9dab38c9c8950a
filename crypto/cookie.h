/*
 * cookie.h — WireGuard's MAC1/MAC2 and cookie replies (paper §5.4.4, §5.4.7):
 * the checker (our side: validates MACs, builds cookie replies, rotates its
 * secret every 120 s) and the maker (per remote peer: adds MACs to what we
 * send, consumes cookie replies). Time is passed in (monotonic ns) so the
 * module is pure and testable. Main lcore only in the engine.
 */
#ifndef GATE44_COOKIE_H
#define GATE44_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg_const.h"

struct cr_wg_msg_cookie {
	uint32_t type;     /* WG_MSG_COOKIE, le */
	uint32_t receiver; /* le: the sender index of the message answered */
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t cookie_enc[WG_COOKIE_LEN + WG_AEAD_TAG_LEN];
} __attribute__((packed));

/* Our side. */
struct cr_cookie_checker {
	uint8_t mac1_key[WG_KEY_LEN];         /* HASH(LABEL_MAC1 || our pub) */
	uint8_t cookie_enc_key[WG_KEY_LEN];   /* HASH(LABEL_COOKIE || our pub) */
	uint8_t secret[WG_HASH_LEN];          /* rotated every 120 s */
	uint64_t secret_birth_ns;
	bool secret_valid;
};

/* Remote peer's side, kept per peer. */
struct cr_cookie_maker {
	uint8_t mac1_key[WG_KEY_LEN];         /* HASH(LABEL_MAC1 || peer pub) */
	uint8_t cookie_dec_key[WG_KEY_LEN];   /* HASH(LABEL_COOKIE || peer pub) */
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool cookie_valid;
	uint8_t last_mac1[WG_MAC_LEN];        /* of the last message we sent */
	bool last_mac1_valid;
};

enum cr_mac_result {
	CR_MAC_VALID = 0,        /* process it */
	CR_MAC_INVALID_MAC1,     /* drop */
	CR_MAC_NEED_COOKIE,      /* under load and mac2 missing/stale: send a cookie reply */
};

void cr_cookie_checker_init(struct cr_cookie_checker *c, const uint8_t our_pub[WG_KEY_LEN]);
void cr_cookie_checker_clear(struct cr_cookie_checker *c);
/*
 * Check the MACs of an initiation or response (msg points at the whole
 * message, len its size; mac1 and mac2 are its last 32 bytes). src is the
 * packet's source address and port as bytes (4 + 2 or 16 + 2), bound into
 * the cookie. When under_load is false, a valid mac1 suffices.
 */
enum cr_mac_result cr_cookie_validate(struct cr_cookie_checker *c, const uint8_t *msg,
				      size_t len, const uint8_t *src, size_t srclen,
				      bool under_load, uint64_t now_ns);
/* Build a cookie reply to msg (a message whose mac1 was valid). receiver is
 * the sender index found in msg. Return 0 or -EINVAL. */
int cr_cookie_reply_create(struct cr_cookie_checker *c, struct cr_wg_msg_cookie *reply,
			   uint32_t receiver, const uint8_t *msg, size_t len,
			   const uint8_t *src, size_t srclen, uint64_t now_ns);

void cr_cookie_maker_init(struct cr_cookie_maker *m, const uint8_t peer_pub[WG_KEY_LEN]);
void cr_cookie_maker_clear(struct cr_cookie_maker *m);
/* Fill in mac1 and mac2 (mac2 zero unless we hold a cookie younger than
 * COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY). */
void cr_cookie_add_macs(struct cr_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);
/* Take a cookie reply to our last message. Return 0, -EINVAL (no message
 * outstanding), -EBADMSG (does not authenticate). */
int cr_cookie_reply_consume(struct cr_cookie_maker *m, const struct cr_wg_msg_cookie *reply,
			    uint64_t now_ns);

#endif /* GATE44_COOKIE_H */
