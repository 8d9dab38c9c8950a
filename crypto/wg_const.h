/*
 * wg_const.h — every WireGuard protocol constant gate44 honours, in one place.
 *
 * Sources: J. A. Donenfeld, "WireGuard: Next Generation Kernel Network
 * Tunnel", NDSS 2017, §5.4 (messages) and §6 (timers, "Protocol & Cryptography
 * constants" table); Linux drivers/net/wireguard/messages.h; RFC 6479 for the
 * replay window layout. Header-only, used by every thread.
 */
#ifndef GATE44_WG_CONST_H
#define GATE44_WG_CONST_H

#include <stdint.h>

/* Noise construction and identifiers (paper §5.4). */
#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1   "mac1----"
#define WG_LABEL_COOKIE "cookie--"

/* Key and primitive sizes. */
enum {
	WG_KEY_LEN = 32,       /* X25519 keys, symmetric keys, PSK */
	WG_HASH_LEN = 32,      /* BLAKE2s-256 */
	WG_AEAD_TAG_LEN = 16,  /* Poly1305 */
	WG_TAI64N_LEN = 12,    /* TAI64N timestamp */
	WG_COOKIE_LEN = 16,    /* a cookie is a 16-byte MAC */
	WG_COOKIE_NONCE_LEN = 24, /* XChaCha20-Poly1305 nonce */
	WG_MAC_LEN = 16,       /* mac1, mac2 */
};

/* Message types and sizes (paper §5.4.2–§5.4.6). */
enum {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

enum {
	WG_MSG_INITIATION_LEN = 148,
	WG_MSG_RESPONSE_LEN = 92,
	WG_MSG_COOKIE_LEN = 64,
	WG_MSG_DATA_HDR_LEN = 16,   /* type, receiver, 64-bit counter */
	WG_MSG_DATA_MIN_LEN = 32,   /* header + tag: a keepalive */
	WG_MSG_PADDING = 16,        /* plaintext padded to a multiple of 16 */
};

/* Timers and limits (paper §6.1 table; Linux messages.h). */
#define WG_REKEY_AFTER_MESSAGES  (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13)) /* 2^64 - 2^13 - 1 */
enum {
	WG_REKEY_AFTER_TIME_S = 120,
	WG_REJECT_AFTER_TIME_S = 180,
	WG_REKEY_ATTEMPT_TIME_S = 90,
	WG_REKEY_TIMEOUT_S = 5,
	WG_KEEPALIVE_TIMEOUT_S = 10,
	WG_COOKIE_SECRET_MAX_AGE_S = 120,
	WG_COOKIE_SECRET_LATENCY_S = 5,  /* a cookie is not used this close to expiry */
	WG_REKEY_TIMEOUT_JITTER_MS = 334, /* up to 1/3 s added to each retry */
	WG_MAX_TIMER_HANDSHAKES = WG_REKEY_ATTEMPT_TIME_S / WG_REKEY_TIMEOUT_S,
	WG_MAX_QUEUED_PACKETS = 1024,    /* held per peer while a handshake is under way */
	WG_INITIATIONS_PER_SECOND = 50,  /* a peer accepts at most one per 20 ms */
};
/* Keys are zeroed when no new handshake happened for 3 x REJECT_AFTER_TIME. */
#define WG_KEY_ZERO_AFTER_S (3 * WG_REJECT_AFTER_TIME_S)

/* Replay window (RFC 6479 layout, Linux counter.h: 8192 bits). */
enum {
	WG_REPLAY_WINDOW_BITS = 8192,
	WG_REPLAY_WORD_BITS = 64,
	WG_REPLAY_WORDS = WG_REPLAY_WINDOW_BITS / WG_REPLAY_WORD_BITS,
	/* usable window: one word is kept as slack for the ring's rotation */
	WG_REPLAY_WINDOW_SIZE = WG_REPLAY_WINDOW_BITS - WG_REPLAY_WORD_BITS,
};

/* Handshake rate limiter (Linux ratelimiter.c): 20 packets/s, burst 5, per
 * source IPv4 address or IPv6 /64. */
enum {
	WG_RATELIMIT_PACKETS_PER_SECOND = 20,
	WG_RATELIMIT_BURST = 5,
	WG_RATELIMIT_GC_INTERVAL_S = 1,
};

#endif /* GATE44_WG_CONST_H */
