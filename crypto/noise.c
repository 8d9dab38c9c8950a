/*
 * noise.c — WireGuard's handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * (paper §5.4.2–§5.4.4): the generic IKpsk2 pattern over byte arrays, then
 * WireGuard's initiation/response framing and the split into transport keys.
 * No sockets, no mbufs, no clock: bytes in, 0 or -errno out. Runs on the main
 * lcore, the only one that handshakes.
 *
 * Failure policy: a function that starts or continues our own side of the
 * handshake (write_msg1, read_msg1, write_msg2) clears hs when it fails, as
 * that handshake cannot go on. read_msg2 works on a copy and changes hs only
 * on success (as Linux and OpenBSD do): a forged or corrupted response must
 * not destroy the initiation in flight, else anyone who sees our sender index
 * could stop us from ever completing a handshake.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "blake2s.h"
#include "noise.h"
#include "tai64n.h"
#include "x25519.h"

enum {
	/* e, encrypted s: the part of message 1 before the payload */
	MSG1_HEAD_LEN = WG_KEY_LEN + WG_KEY_LEN + WG_AEAD_TAG_LEN,
	MSG1_MIN_LEN = MSG1_HEAD_LEN + WG_AEAD_TAG_LEN,
	/* e: the part of message 2 before the payload */
	MSG2_HEAD_LEN = WG_KEY_LEN,
	MSG2_MIN_LEN = MSG2_HEAD_LEN + WG_AEAD_TAG_LEN,
	WG_INITIATION_NOISE_LEN = MSG1_MIN_LEN + WG_TAI64N_LEN,
	WG_RESPONSE_NOISE_LEN = MSG2_MIN_LEN,
};

/* The WireGuard framing relies on the Noise message lying contiguous in it. */
_Static_assert(sizeof(struct cr_wg_msg_initiation) == WG_MSG_INITIATION_LEN, "initiation size");
_Static_assert(sizeof(struct cr_wg_msg_response) == WG_MSG_RESPONSE_LEN, "response size");
_Static_assert(sizeof(struct cr_wg_msg_data_hdr) == WG_MSG_DATA_HDR_LEN, "data header size");
_Static_assert(offsetof(struct cr_wg_msg_initiation, mac1) -
			       offsetof(struct cr_wg_msg_initiation, ephemeral) ==
		       WG_INITIATION_NOISE_LEN,
	       "initiation noise part");
_Static_assert(offsetof(struct cr_wg_msg_response, mac1) -
			       offsetof(struct cr_wg_msg_response, ephemeral) ==
		       WG_RESPONSE_NOISE_LEN,
	       "response noise part");

/* A valid pointer for zero-length inputs. */
static const uint8_t empty[1];
static const uint8_t zero_psk[WG_KEY_LEN];

/* h = HASH(h || data) */
static void
mix_hash(uint8_t h[WG_HASH_LEN], const uint8_t *data, size_t len)
{
	struct cr_blake2s_state st;

	cr_blake2s_init(&st, WG_HASH_LEN, NULL, 0);
	cr_blake2s_update(&st, h, WG_HASH_LEN);
	if (len != 0)
		cr_blake2s_update(&st, data, len);
	cr_blake2s_final(&st, h); /* wipes st */
}

/* ck = h = HASH(construction) (37 bytes > HASHLEN, so hashed); mix prologue. */
static void
symmetric_init(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN], const uint8_t *prologue,
	       size_t prologue_len)
{
	cr_blake2s(ck, WG_HASH_LEN, (const uint8_t *)WG_CONSTRUCTION, sizeof(WG_CONSTRUCTION) - 1,
		   NULL, 0);
	memcpy(h, ck, WG_HASH_LEN);
	mix_hash(h, prologue, prologue_len);
}

/* The e token in psk mode: h = HASH(h || e); ck = KDF1(ck, e). */
static void
mix_ephemeral(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN], const uint8_t e_pub[WG_KEY_LEN])
{
	mix_hash(h, e_pub, WG_KEY_LEN);
	cr_kdf(ck, NULL, NULL, ck, e_pub, WG_KEY_LEN);
}

/* ck, key = KDF2(ck, DH(priv, pub)); key may be NULL (KDF1). -EINVAL when
 * the DH result is zero (a low-order point). */
static int
mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t *key, const uint8_t priv[WG_KEY_LEN],
       const uint8_t pub[WG_KEY_LEN])
{
	uint8_t dh[WG_KEY_LEN];
	int ret;

	ret = cr_x25519(dh, priv, pub);
	if (ret == 0)
		cr_kdf(ck, key, NULL, ck, dh, sizeof(dh));
	else
		ret = -EINVAL;
	sodium_memzero(dh, sizeof(dh));
	return ret;
}

/* ck, t, key = KDF3(ck, psk); h = HASH(h || t). */
static void
mix_psk(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN], uint8_t key[WG_KEY_LEN],
	const uint8_t *psk)
{
	uint8_t t[WG_HASH_LEN];

	cr_kdf(ck, t, key, ck, psk != NULL ? psk : zero_psk, WG_KEY_LEN);
	mix_hash(h, t, sizeof(t));
	sodium_memzero(t, sizeof(t));
}

/* out[len + 16] = AEAD(key, 0, in, h); h = HASH(h || out). Every key in the
 * handshake encrypts exactly once, so the nonce is always 0. */
static int
encrypt_and_hash(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[WG_KEY_LEN],
		 uint8_t h[WG_HASH_LEN])
{
	int ret;

	ret = cr_aead_seal(out, len != 0 ? in : empty, len, h, WG_HASH_LEN, 0, key);
	if (ret == 0)
		mix_hash(h, out, len + WG_AEAD_TAG_LEN);
	return ret;
}

/* out[clen - 16] = AEAD-open(key, 0, in[clen], h); h = HASH(h || in).
 * out may be NULL when clen is 16. -EBADMSG when it does not authenticate. */
static int
decrypt_and_hash(uint8_t *out, const uint8_t *in, size_t clen, const uint8_t key[WG_KEY_LEN],
		 uint8_t h[WG_HASH_LEN])
{
	uint8_t none[1];
	int ret;

	ret = cr_aead_open(out != NULL ? out : none, in, clen, h, WG_HASH_LEN, 0, key);
	if (ret == 0)
		mix_hash(h, in, clen);
	else
		ret = -EBADMSG;
	return ret;
}

/* A given ephemeral (test vectors) or a fresh one. */
static int
ephemeral_make(struct cr_noise_hs *hs, const uint8_t *e_priv)
{
	if (e_priv == NULL)
		return cr_x25519_keypair(hs->e_priv, hs->e_pub);
	memcpy(hs->e_priv, e_priv, WG_KEY_LEN);
	return cr_x25519_public(hs->e_pub, hs->e_priv);
}

void
cr_noise_hs_clear(struct cr_noise_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
	hs->state = CR_NOISE_ZEROED;
}

int
cr_noise_write_msg1(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
		    const struct cr_noise_static *s, const uint8_t rs[WG_KEY_LEN],
		    const uint8_t *e_priv, const uint8_t *payload, size_t paylen, uint8_t *out)
{
	uint8_t key[WG_KEY_LEN];
	int ret;

	cr_noise_hs_clear(hs);
	if (s == NULL || rs == NULL || out == NULL || (payload == NULL && paylen != 0) ||
	    (prologue == NULL && prologue_len != 0))
		return -EINVAL;

	symmetric_init(hs->ck, hs->hash, prologue, prologue_len);
	/* <- s (pre-message) */
	memcpy(hs->remote_s, rs, WG_KEY_LEN);
	mix_hash(hs->hash, rs, WG_KEY_LEN);

	/* e */
	ret = ephemeral_make(hs, e_priv);
	if (ret != 0)
		goto err;
	memcpy(out, hs->e_pub, WG_KEY_LEN);
	mix_ephemeral(hs->ck, hs->hash, hs->e_pub);

	/* es */
	ret = mix_dh(hs->ck, key, hs->e_priv, rs);
	if (ret != 0)
		goto err;

	/* s */
	ret = encrypt_and_hash(out + WG_KEY_LEN, s->pub, WG_KEY_LEN, key, hs->hash);
	if (ret != 0)
		goto err;

	/* ss */
	ret = mix_dh(hs->ck, key, s->priv, rs);
	if (ret != 0)
		goto err;

	/* payload (WireGuard: TAI64N) */
	ret = encrypt_and_hash(out + MSG1_HEAD_LEN, payload, paylen, key, hs->hash);
	if (ret != 0)
		goto err;

	hs->state = CR_NOISE_INITIATION_SENT;
	sodium_memzero(key, sizeof(key));
	return 0;

err:
	sodium_memzero(key, sizeof(key));
	cr_noise_hs_clear(hs);
	return ret;
}

int
cr_noise_read_msg1(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
		   const struct cr_noise_static *s, const uint8_t *msg, size_t msglen,
		   uint8_t *payload)
{
	return cr_noise_read_msg1_ss(hs, prologue, prologue_len, s, msg, msglen, payload, NULL,
				     NULL);
}

int
cr_noise_read_msg1_ss(struct cr_noise_hs *hs, const uint8_t *prologue, size_t prologue_len,
		      const struct cr_noise_static *s, const uint8_t *msg, size_t msglen,
		      uint8_t *payload, cr_noise_ss_fn ss_fn, void *ss_ctx)
{
	uint8_t key[WG_KEY_LEN], ss[WG_KEY_LEN];
	int ret;

	cr_noise_hs_clear(hs);
	if (s == NULL || msg == NULL || msglen < MSG1_MIN_LEN ||
	    (payload == NULL && msglen != MSG1_MIN_LEN) || (prologue == NULL && prologue_len != 0))
		return -EINVAL;

	symmetric_init(hs->ck, hs->hash, prologue, prologue_len);
	/* <- s (pre-message: our own static) */
	mix_hash(hs->hash, s->pub, WG_KEY_LEN);

	/* e */
	memcpy(hs->remote_e, msg, WG_KEY_LEN);
	mix_ephemeral(hs->ck, hs->hash, hs->remote_e);

	/* es */
	ret = mix_dh(hs->ck, key, s->priv, hs->remote_e);
	if (ret != 0)
		goto err;

	/* s */
	ret = decrypt_and_hash(hs->remote_s, msg + WG_KEY_LEN, WG_KEY_LEN + WG_AEAD_TAG_LEN, key,
			       hs->hash);
	if (ret != 0)
		goto err;

	/* ss: precomputed for a known peer (its DH result never changes), or now */
	if (ss_fn != NULL && ss_fn(ss_ctx, hs->remote_s, ss) == 0) {
		cr_kdf(hs->ck, key, NULL, hs->ck, ss, sizeof(ss));
		sodium_memzero(ss, sizeof(ss));
	} else {
		ret = mix_dh(hs->ck, key, s->priv, hs->remote_s);
		if (ret != 0)
			goto err;
	}

	/* payload */
	ret = decrypt_and_hash(payload, msg + MSG1_HEAD_LEN, msglen - MSG1_HEAD_LEN, key, hs->hash);
	if (ret != 0)
		goto err;

	hs->state = CR_NOISE_INITIATION_CONSUMED;
	sodium_memzero(key, sizeof(key));
	return 0;

err:
	sodium_memzero(key, sizeof(key));
	if (payload != NULL)
		sodium_memzero(payload, msglen - MSG1_MIN_LEN);
	cr_noise_hs_clear(hs);
	return ret;
}

int
cr_noise_write_msg2(struct cr_noise_hs *hs, const uint8_t psk[WG_KEY_LEN], const uint8_t *e_priv,
		    const uint8_t *payload, size_t paylen, uint8_t *out)
{
	uint8_t key[WG_KEY_LEN];
	int ret;

	if (hs->state != CR_NOISE_INITIATION_CONSUMED || out == NULL ||
	    (payload == NULL && paylen != 0))
		return -EINVAL;

	/* e */
	ret = ephemeral_make(hs, e_priv);
	if (ret != 0)
		goto err;
	memcpy(out, hs->e_pub, WG_KEY_LEN);
	mix_ephemeral(hs->ck, hs->hash, hs->e_pub);

	/* ee */
	ret = mix_dh(hs->ck, NULL, hs->e_priv, hs->remote_e);
	if (ret != 0)
		goto err;

	/* se */
	ret = mix_dh(hs->ck, NULL, hs->e_priv, hs->remote_s);
	if (ret != 0)
		goto err;
	/* Our ephemeral has done its work: forget it now, not at the split. */
	sodium_memzero(hs->e_priv, sizeof(hs->e_priv));

	/* psk */
	mix_psk(hs->ck, hs->hash, key, psk);

	/* payload (WireGuard: empty) */
	ret = encrypt_and_hash(out + MSG2_HEAD_LEN, payload, paylen, key, hs->hash);
	if (ret != 0)
		goto err;

	hs->state = CR_NOISE_RESPONSE_SENT;
	sodium_memzero(key, sizeof(key));
	return 0;

err:
	sodium_memzero(key, sizeof(key));
	cr_noise_hs_clear(hs);
	return ret;
}

int
cr_noise_read_msg2(struct cr_noise_hs *hs, const struct cr_noise_static *s,
		   const uint8_t psk[WG_KEY_LEN], const uint8_t *msg, size_t msglen,
		   uint8_t *payload)
{
	struct cr_noise_hs t; /* committed to hs only on success */
	uint8_t key[WG_KEY_LEN];
	int ret;

	if (hs->state != CR_NOISE_INITIATION_SENT || s == NULL || msg == NULL ||
	    msglen < MSG2_MIN_LEN || (payload == NULL && msglen != MSG2_MIN_LEN))
		return -EINVAL;
	memcpy(&t, hs, sizeof(t));

	/* e */
	memcpy(t.remote_e, msg, WG_KEY_LEN);
	mix_ephemeral(t.ck, t.hash, t.remote_e);

	/* ee */
	ret = mix_dh(t.ck, NULL, t.e_priv, t.remote_e);
	if (ret != 0)
		goto out;

	/* se */
	ret = mix_dh(t.ck, NULL, s->priv, t.remote_e);
	if (ret != 0)
		goto out;

	/* psk */
	mix_psk(t.ck, t.hash, key, psk);

	/* payload */
	ret = decrypt_and_hash(payload, msg + MSG2_HEAD_LEN, msglen - MSG2_HEAD_LEN, key, t.hash);
	if (ret != 0)
		goto out;

	sodium_memzero(t.e_priv, sizeof(t.e_priv));
	t.state = CR_NOISE_RESPONSE_CONSUMED;
	memcpy(hs, &t, sizeof(*hs));

out:
	if (ret != 0 && payload != NULL)
		sodium_memzero(payload, msglen - MSG2_MIN_LEN);
	sodium_memzero(&t, sizeof(t));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int
cr_noise_split(struct cr_noise_hs *hs, int initiator, uint8_t send[WG_KEY_LEN],
	       uint8_t recv[WG_KEY_LEN])
{
	enum cr_noise_state ready = initiator ? CR_NOISE_RESPONSE_CONSUMED : CR_NOISE_RESPONSE_SENT;
	uint8_t t0[WG_KEY_LEN], t1[WG_KEY_LEN];

	if (hs->state != ready || send == NULL || recv == NULL)
		return -EINVAL;

	/* t0, t1 = KDF2(ck, empty): t0 carries initiator -> responder. */
	cr_kdf(t0, t1, NULL, hs->ck, empty, 0);
	memcpy(send, initiator ? t0 : t1, WG_KEY_LEN);
	memcpy(recv, initiator ? t1 : t0, WG_KEY_LEN);

	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(t1, sizeof(t1));
	cr_noise_hs_clear(hs);
	return 0;
}

const uint8_t *
cr_noise_hash(const struct cr_noise_hs *hs)
{
	return hs->hash;
}

/* ---- WireGuard framing */

int
cr_wg_initiation_create(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			const uint8_t rs[WG_KEY_LEN], uint32_t sender_index,
			const uint8_t tai64n[WG_TAI64N_LEN], struct cr_wg_msg_initiation *msg)
{
	int ret;

	if (msg == NULL || tai64n == NULL) {
		cr_noise_hs_clear(hs);
		return -EINVAL;
	}
	memset(msg, 0, sizeof(*msg));
	ret = cr_noise_write_msg1(
		hs, (const uint8_t *)WG_IDENTIFIER, sizeof(WG_IDENTIFIER) - 1, s, rs, NULL, tai64n,
		WG_TAI64N_LEN, (uint8_t *)msg + offsetof(struct cr_wg_msg_initiation, ephemeral));
	if (ret != 0) {
		memset(msg, 0, sizeof(*msg));
		return ret;
	}
	msg->type = htole32(WG_MSG_INITIATION);
	msg->sender = htole32(sender_index);
	return 0;
}

int
cr_wg_initiation_consume(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			 const struct cr_wg_msg_initiation *msg, uint32_t *sender_index,
			 uint8_t tai64n[WG_TAI64N_LEN])
{
	return cr_wg_initiation_consume_ss(hs, s, msg, sender_index, tai64n, NULL, NULL);
}

int
cr_wg_initiation_consume_ss(struct cr_noise_hs *hs, const struct cr_noise_static *s,
			    const struct cr_wg_msg_initiation *msg, uint32_t *sender_index,
			    uint8_t tai64n[WG_TAI64N_LEN], cr_noise_ss_fn ss_fn, void *ss_ctx)
{
	int ret;

	if (msg == NULL || sender_index == NULL || tai64n == NULL ||
	    le32toh(msg->type) != WG_MSG_INITIATION) {
		if (tai64n != NULL)
			memset(tai64n, 0, WG_TAI64N_LEN);
		cr_noise_hs_clear(hs);
		return -EINVAL;
	}
	ret = cr_noise_read_msg1_ss(hs, (const uint8_t *)WG_IDENTIFIER, sizeof(WG_IDENTIFIER) - 1,
				    s,
				    (const uint8_t *)msg +
					    offsetof(struct cr_wg_msg_initiation, ephemeral),
				    WG_INITIATION_NOISE_LEN, tai64n, ss_fn, ss_ctx);
	if (ret != 0)
		return ret;
	*sender_index = le32toh(msg->sender);
	return 0;
}

int
cr_wg_response_create(struct cr_noise_hs *hs, const uint8_t psk[WG_KEY_LEN], uint32_t sender_index,
		      uint32_t receiver_index, struct cr_wg_msg_response *msg)
{
	int ret;

	if (msg == NULL)
		return -EINVAL;
	memset(msg, 0, sizeof(*msg));
	ret = cr_noise_write_msg2(hs, psk, NULL, NULL, 0,
				  (uint8_t *)msg + offsetof(struct cr_wg_msg_response, ephemeral));
	if (ret != 0) {
		memset(msg, 0, sizeof(*msg));
		return ret;
	}
	msg->type = htole32(WG_MSG_RESPONSE);
	msg->sender = htole32(sender_index);
	msg->receiver = htole32(receiver_index);
	return 0;
}

int
cr_wg_response_consume(struct cr_noise_hs *hs, const struct cr_noise_static *s,
		       const uint8_t psk[WG_KEY_LEN], const struct cr_wg_msg_response *msg)
{
	if (msg == NULL || le32toh(msg->type) != WG_MSG_RESPONSE)
		return -EINVAL;
	return cr_noise_read_msg2(
		hs, s, psk, (const uint8_t *)msg + offsetof(struct cr_wg_msg_response, ephemeral),
		WG_RESPONSE_NOISE_LEN, NULL);
}

int
cr_wg_keypair_derive(struct cr_noise_hs *hs, int initiator, struct cr_wg_keypair *kp)
{
	int ret;

	if (kp == NULL)
		return -EINVAL;
	ret = cr_noise_split(hs, initiator, kp->send, kp->recv);
	if (ret == 0)
		kp->initiator = initiator != 0;
	return ret;
}

int
cr_wg_timestamp_is_newer(const uint8_t got[WG_TAI64N_LEN], const uint8_t last[WG_TAI64N_LEN])
{
	return cr_tai64n_cmp(got, last) > 0;
}
