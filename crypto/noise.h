/*
 * noise.h — Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s exactly as WireGuard uses
 * it. Two layers:
 *  - the generic pattern (any prologue, any payloads, an optional fixed
 *    ephemeral) so the standard Noise vectors can drive it byte for byte;
 *  - WireGuard's framing on top: initiation (148 B) and response (92 B) with
 *    type, indices, TAI64N payload, and the split into a transport keypair.
 * Knows nothing of sockets or mbufs: bytes in, 0 or -errno out. Every secret
 * intermediate is wiped with sodium_memzero on every exit path. In the engine
 * this runs on the main lcore only.
 */
#ifndef GATE44_NOISE_H
#define GATE44_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "wg_const.h"

enum cr_noise_state {
	CR_NOISE_ZEROED = 0,
	CR_NOISE_INITIATION_SENT,     /* initiator: wrote msg1 */
	CR_NOISE_INITIATION_CONSUMED, /* responder: read msg1 */
	CR_NOISE_RESPONSE_SENT,       /* responder: wrote msg2, ready to split */
	CR_NOISE_RESPONSE_CONSUMED,   /* initiator: read msg2, ready to split */
};

/* The symmetric and ephemeral state of one handshake in flight. */
struct cr_noise_hs {
	enum cr_noise_state state;
	uint8_t hash[WG_HASH_LEN];
	uint8_t ck[WG_HASH_LEN];
	uint8_t e_priv[WG_KEY_LEN];
	uint8_t e_pub[WG_KEY_LEN];
	uint8_t remote_e[WG_KEY_LEN];
	uint8_t remote_s[WG_KEY_LEN];
};

/* Our static identity. */
struct cr_noise_static {
	uint8_t priv[WG_KEY_LEN];
	uint8_t pub[WG_KEY_LEN];
};

/* Wipe a handshake (sodium_memzero) and set it CR_NOISE_ZEROED. */
void cr_noise_hs_clear(struct cr_noise_hs *hs);

/* ---- Generic IKpsk2 (pattern: <- s ... -> e, es, s, ss  <- e, ee, se, psk) */

/* Initiator, message 1. e_priv NULL: a fresh ephemeral. out receives
 * 32 + 48 + paylen + 16 bytes. Return 0 or -EINVAL (DH result zero); on
 * failure hs is cleared. */
int cr_noise_write_msg1(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			const struct cr_noise_static *s, const uint8_t rs[WG_KEY_LEN],
			const uint8_t *e_priv, const uint8_t *payload, size_t paylen,
			uint8_t *out);
/* Responder, message 1 (msglen >= 96). Learns the initiator's static key
 * (hs->remote_s) and writes msglen - 96 payload bytes. Return 0, -EINVAL
 * (short or bad DH), -EBADMSG (authentication failed). On failure hs is
 * cleared and the payload zeroed. */
int cr_noise_read_msg1(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
		       const struct cr_noise_static *s, const uint8_t *msg, size_t msglen,
		       uint8_t *payload);
/* A responder's precomputed static-static DH: write DH(our static, remote_s)
 * to out and return 0, or return non-zero to have it computed (an unknown
 * initiator, or no precomputation). The WireGuard paper's "ss" never
 * changes for a pair of static keys, so a POP computes it once per peer and
 * answers an initiation with one X25519 less. */
typedef int (*cr_noise_ss_fn)(void *ctx, const uint8_t remote_s[WG_KEY_LEN],
			      uint8_t out[WG_KEY_LEN]);
/* cr_noise_read_msg1 with a precomputed ss (ss_fn NULL: none). */
int cr_noise_read_msg1_ss(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
			  const struct cr_noise_static *s, const uint8_t *msg, size_t msglen,
			  uint8_t *payload, cr_noise_ss_fn ss_fn, void *ss_ctx);
/* Responder, message 2: out receives 32 + paylen + 16 bytes. psk may be NULL
 * (all zero). Return 0 or -EINVAL (not after read_msg1, bad DH; hs is
 * cleared on a DH failure). */
int cr_noise_write_msg2(struct cr_noise_hs *hs, const uint8_t psk[WG_KEY_LEN],
			const uint8_t *e_priv, const uint8_t *payload, size_t paylen,
			uint8_t *out);
/* Initiator, message 2 (msglen >= 48). Return 0, -EINVAL (wrong state,
 * short or bad DH), -EBADMSG (authentication failed; the payload is zeroed).
 * On failure hs is left as it was, so that a forged response cannot kill the
 * initiation in flight (as Linux and OpenBSD do). */
int cr_noise_read_msg2(struct cr_noise_hs *hs, const struct cr_noise_static *s,
		       const uint8_t psk[WG_KEY_LEN], const uint8_t *msg, size_t msglen,
		       uint8_t *payload);
/* Transport keys after message 2: the initiator sends with t0 and receives
 * with t1, the responder the reverse. Clears hs. Return 0 or -EINVAL when the
 * handshake is not ready to split. */
int cr_noise_split(struct cr_noise_hs *hs, int initiator, uint8_t send[WG_KEY_LEN],
		   uint8_t recv[WG_KEY_LEN]);
/* The handshake hash h (for the vector test). */
const uint8_t *cr_noise_hash(const struct cr_noise_hs *hs);

/* ---- WireGuard framing (little-endian fields, paper §5.4.2–§5.4.3) */

struct cr_wg_msg_initiation {
	uint32_t type;       /* WG_MSG_INITIATION, le */
	uint32_t sender;     /* le */
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t static_enc[WG_KEY_LEN + WG_AEAD_TAG_LEN];
	uint8_t timestamp_enc[WG_TAI64N_LEN + WG_AEAD_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct cr_wg_msg_response {
	uint32_t type;       /* WG_MSG_RESPONSE, le */
	uint32_t sender;     /* le */
	uint32_t receiver;   /* le */
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t empty_enc[WG_AEAD_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct cr_wg_msg_data_hdr {
	uint32_t type;       /* WG_MSG_DATA, le */
	uint32_t receiver;   /* le */
	uint64_t counter;    /* le */
} __attribute__((packed));

/* A derived transport keypair. */
struct cr_wg_keypair {
	uint8_t send[WG_KEY_LEN];
	uint8_t recv[WG_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	int initiator;
};

/* Build an initiation (mac1/mac2 left zero: cookie.h adds them). */
int cr_wg_initiation_create(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			    const uint8_t rs[WG_KEY_LEN], uint32_t sender_index,
			    const uint8_t tai64n[WG_TAI64N_LEN],
			    struct cr_wg_msg_initiation *msg);
/* Consume an initiation whose MACs were already checked. Writes the sender
 * index and the decrypted timestamp; hs->remote_s holds the initiator's
 * static key, for the caller to look the peer up and check the timestamp
 * (greater than the last one seen) before it answers. */
int cr_wg_initiation_consume(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			     const struct cr_wg_msg_initiation *msg, uint32_t *sender_index,
			     uint8_t tai64n[WG_TAI64N_LEN]);
/* The same with a precomputed ss (see cr_noise_ss_fn). */
int cr_wg_initiation_consume_ss(struct cr_noise_hs *hs, const struct cr_noise_static *s,
				const struct cr_wg_msg_initiation *msg, uint32_t *sender_index,
				uint8_t tai64n[WG_TAI64N_LEN], cr_noise_ss_fn ss_fn,
				void *ss_ctx);
/* Build the response to a consumed initiation (mac1/mac2 left zero). */
int cr_wg_response_create(struct cr_noise_hs *hs, const uint8_t psk[WG_KEY_LEN],
			  uint32_t sender_index, uint32_t receiver_index,
			  struct cr_wg_msg_response *msg);
/* Consume a response to our initiation (the caller matched msg->receiver). */
int cr_wg_response_consume(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			   const uint8_t psk[WG_KEY_LEN], const struct cr_wg_msg_response *msg);
/* Split into kp (indices are the caller's to fill). Clears hs. */
int cr_wg_keypair_derive(struct cr_noise_hs *hs, int initiator, struct cr_wg_keypair *kp);
/* The replay rule for initiations (paper §5.4.2): 1 when the
 * timestamp got from a consumed initiation is strictly newer than the last
 * one accepted from that peer (answer it and store got), 0 otherwise (drop). */
int cr_wg_timestamp_is_newer(const uint8_t got[WG_TAI64N_LEN],
			     const uint8_t last[WG_TAI64N_LEN]);

#endif /* GATE44_NOISE_H */
