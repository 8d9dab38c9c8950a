/*
 * aead_burst.c — ChaCha20-Poly1305 (RFC 8439) over a burst of WireGuard
 * transport messages, each with its own key, nonce and length, through
 * libsodium or intel-ipsec-mb. Run by the worker lcore that owns the context
 * (one context per lcore; nothing here is shared or locked).
 *
 * The ipsec-mb backend hands each chunk of ops to the library as one burst
 * of jobs (IMB_GET_NEXT_BURST / IMB_SUBMIT_BURST_NOCHECK / IMB_FLUSH_BURST,
 * new in 1.3 and about 10% cheaper per 64-byte message than one
 * SUBMIT_JOB per op). Each completed job is mapped back to its op through
 * job->user_data, never by position, so the code stays correct if a library
 * version fills multi-buffer lanes and completes jobs out of order.
 * ipsec-mb 1.3 has no multi-buffer CHACHA20-POLY1305 manager, though: each
 * job runs the single-buffer AVX-512 (or AVX2) code at submission. The gain
 * over libsodium comes from the wider code (AVX-512 ChaCha20, IFMA
 * Poly1305), not from interleaving messages.
 *
 * ipsec-mb never checks a tag: for a decrypt job it writes the plaintext and
 * the tag it computed. We compare that with the received tag in constant
 * time, zero the plaintext on mismatch and wipe the computed tags either way
 * (for a forged message it is the MAC the attacker lacks).
 *
 * Zero-length messages (keepalives: only a tag) need nothing special: the
 * 1.3 code handles msg_len_to_cipher_in_bytes == 0 for this algorithm (its
 * argument checks accept it too) and the tag is then Poly1305 over the AAD
 * and the length block alone, as the unit test checks against libsodium and
 * Wycheproof. A job the library
 * refuses anyway (it has then written nothing) is redone through libsodium,
 * so a burst never fails for a backend reason.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <sodium.h>

#include "aead_burst.h"

enum {
	KEY_LEN = 32,
	TAG_LEN = 16,
	NONCE_LEN = 12,
	/* Ops handed to ipsec-mb as one burst before draining it: within the
	 * library's burst limit (IMB_MAX_BURST_SIZE, 128) and above any rx/tx
	 * burst the engine uses. Larger calls are cut into chunks. */
	CHUNK = 64,
};

_Static_assert(CHUNK <= IMB_MAX_BURST_SIZE, "a chunk must be one ipsec-mb burst");
_Static_assert(crypto_aead_chacha20poly1305_IETF_ABYTES == TAG_LEN, "tag length");
_Static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == NONCE_LEN, "nonce length");
_Static_assert(crypto_aead_chacha20poly1305_IETF_KEYBYTES == KEY_LEN, "key length");

struct cr_aead_burst {
	enum cr_aead_backend backend; /* SODIUM or IPSEC_MB, never AUTO */
	IMB_MGR *mgr;		      /* NULL for SODIUM */
	/* Per-chunk scratch for the ipsec-mb backend: WireGuard nonces built
	 * from counters, and the tags computed while opening. */
	uint8_t nonce[CHUNK][NONCE_LEN] __attribute__((aligned(16)));
	uint8_t tag[CHUNK][TAG_LEN] __attribute__((aligned(16)));
};

/* WireGuard's nonce: 32 zero bits, then the counter in little endian. */
static inline void
wg_nonce(uint8_t n[NONCE_LEN], uint64_t counter)
{
	memset(n, 0, 4);
	for (unsigned i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* One op through libsodium; return 1 when it succeeded. */
static unsigned
sodium_one(struct cr_aead_op *op, bool seal)
{
	uint8_t nbuf[NONCE_LEN];
	const uint8_t *nonce = op->nonce;

	if (nonce == NULL) {
		wg_nonce(nbuf, op->counter);
		nonce = nbuf;
	}
	if (seal) {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			op->dst, op->dst + op->len, NULL, op->src, op->len, op->aad, op->aad_len,
			NULL, nonce, op->key);
		op->status = 0;
		return 1;
	}
	/* libsodium checks the tag before it writes any plaintext. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(op->dst, NULL, op->src, op->len,
							       op->src + op->len, op->aad,
							       op->aad_len, nonce, op->key) != 0) {
		sodium_memzero(op->dst, op->len);
		op->status = -EBADMSG;
		return 0;
	}
	op->status = 0;
	return 1;
}

static unsigned
sodium_burst(struct cr_aead_op *ops, unsigned n, bool seal)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += sodium_one(&ops[i], seal);
	return ok;
}

/*
 * A job came back from ipsec-mb: set its op's status; return 1 on success.
 * The computed tags of an open are wiped by the caller, once per chunk.
 */
static unsigned
mb_complete(IMB_JOB *job, bool seal)
{
	struct cr_aead_op *op = job->user_data;

	/* ipsec-mb writes another status only for a job it refused before
	 * touching its buffers, so libsodium can still do it from scratch. */
	if (__builtin_expect(job->status != IMB_STATUS_COMPLETED, 0))
		return sodium_one(op, seal);
	if (seal) {
		op->status = 0;
		return 1;
	}
	/* crypto_verify_16 is libsodium's constant-time compare for 16-byte
	 * MACs (what its own Poly1305 verify uses), as safe as sodium_memcmp
	 * and cheaper: about 10% more 64-byte opens per second here. */
	if (crypto_verify_16(job->auth_tag_output, op->src + op->len) == 0) {
		op->status = 0;
		return 1;
	}
	sodium_memzero(op->dst, op->len);
	op->status = -EBADMSG;
	return 0;
}

static void
mb_job_fill(struct cr_aead_burst *b, IMB_JOB *job, struct cr_aead_op *op, unsigned i, bool seal)
{
	const uint8_t *iv = op->nonce;

	if (iv == NULL) {
		wg_nonce(b->nonce[i], op->counter);
		iv = b->nonce[i];
	}
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	if (seal) {
		job->cipher_direction = IMB_DIR_ENCRYPT;
		job->chain_order = IMB_ORDER_CIPHER_HASH;
		job->auth_tag_output = op->dst + op->len;
	} else {
		job->cipher_direction = IMB_DIR_DECRYPT;
		job->chain_order = IMB_ORDER_HASH_CIPHER;
		job->auth_tag_output = b->tag[i];
	}
	job->auth_tag_output_len_in_bytes = TAG_LEN;
	job->enc_keys = op->key;
	job->dec_keys = op->key;
	job->key_len_in_bytes = KEY_LEN;
	job->src = op->src;
	job->dst = op->dst;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = op->len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->len;
	job->iv = iv;
	job->iv_len_in_bytes = NONCE_LEN;
	job->u.CHACHA20_POLY1305.aad = op->aad;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = op->aad_len;
	job->u.CHACHA20_POLY1305.ctx = NULL;
	job->user_data = op;
	op->status = -EINPROGRESS;
}

/*
 * Up to CHUNK ops through ipsec-mb's burst API; its queue is empty again on
 * return. The jobs go in without the library's argument checks
 * (SUBMIT_BURST_NOCHECK; the checks cost about 9% at 64 bytes): every field
 * is set above, to a constant or from an op whose contract (aead_burst.h)
 * already excludes what they test (NULL buffers, bad lengths).
 */
static unsigned
mb_chunk(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n, bool seal)
{
	IMB_MGR *mgr = b->mgr;
	IMB_JOB *jobs[CHUNK];
	unsigned ok = 0, got, done = 0, k;

	/* The queue is empty, so this is n jobs; less would be handled below. */
	got = IMB_GET_NEXT_BURST(mgr, n, jobs);
	for (unsigned i = 0; i < got; i++)
		mb_job_fill(b, jobs[i], &ops[i], i, seal);
	k = got != 0 ? IMB_SUBMIT_BURST_NOCHECK(mgr, got, jobs) : 0;
	for (;;) {
		/* completed jobs, in any order, each knowing its op */
		for (unsigned i = 0; i < k; i++)
			ok += mb_complete(jobs[i], seal);
		done += k;
		if (done >= got)
			break;
		k = IMB_FLUSH_BURST(mgr, CHUNK, jobs);
		if (k == 0)
			break;
	}
	if (!seal)
		sodium_memzero(b->tag, (size_t)got * TAG_LEN);
	if (__builtin_expect(done != n, 0)) {
		/* Not seen with ipsec-mb 1.3; never leave an op unprocessed. */
		for (unsigned i = 0; i < n; i++)
			if (i >= got || ops[i].status == -EINPROGRESS)
				ok += sodium_one(&ops[i], seal);
	}
	return ok;
}

static unsigned
mb_burst(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n, bool seal)
{
	unsigned ok = 0;

	for (unsigned base = 0; base < n; base += CHUNK)
		ok += mb_chunk(b, ops + base, n - base < CHUNK ? n - base : CHUNK, seal);
	return ok;
}

/*
 * Check the manager against libsodium on one message (seal, then open of
 * the result and of a forgery) before trusting it. Return 0 or -ENOTSUP.
 * The key is a fixed test pattern, not a secret.
 */
static int
mb_self_test(struct cr_aead_burst *b)
{
	enum { LEN = 131 }; /* two 64-byte blocks and a partial one */
	uint8_t key[KEY_LEN], nonce[NONCE_LEN], aad[13];
	uint8_t pt[LEN], want[LEN + TAG_LEN], got[LEN + TAG_LEN], back[LEN];
	struct cr_aead_op op = {
		.key = key, .nonce = nonce, .aad = aad, .aad_len = sizeof(aad), .len = LEN};

	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x80 + i);
	for (unsigned i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)(0x40 + i);
	for (unsigned i = 0; i < sizeof(aad); i++)
		aad[i] = (uint8_t)(0xc0 + i);
	for (unsigned i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7 + 3);
	crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, pt, LEN, aad, sizeof(aad), NULL,
						  nonce, key);

	op.src = pt;
	op.dst = got;
	if (mb_burst(b, &op, 1, true) != 1 || memcmp(got, want, sizeof(want)) != 0)
		return -ENOTSUP;
	op.src = got;
	op.dst = back;
	if (mb_burst(b, &op, 1, false) != 1 || memcmp(back, pt, sizeof(pt)) != 0)
		return -ENOTSUP;
	got[LEN] ^= 1;
	if (mb_burst(b, &op, 1, false) != 0 || op.status != -EBADMSG)
		return -ENOTSUP;
	return 0;
}

/* A manager for the widest code ipsec-mb offers here, or NULL. */
static IMB_MGR *
mb_mgr_create(void)
{
	IMB_MGR *mgr = alloc_mb_mgr(0);

	if (mgr == NULL)
		return NULL;
	if ((mgr->features & IMB_CPUFLAGS_AVX512) == IMB_CPUFLAGS_AVX512)
		init_mb_mgr_avx512(mgr);
	else if ((mgr->features & IMB_CPUFLAGS_AVX2) == IMB_CPUFLAGS_AVX2)
		init_mb_mgr_avx2(mgr);
	else
		goto err_free;
	if (imb_get_errno(mgr) != 0)
		goto err_free;
	return mgr;

err_free:
	free_mb_mgr(mgr);
	return NULL;
}

struct cr_aead_burst *
cr_aead_burst_create(enum cr_aead_backend backend)
{
	struct cr_aead_burst *b;

	if (backend != CR_AEAD_BACKEND_AUTO && backend != CR_AEAD_BACKEND_SODIUM &&
	    backend != CR_AEAD_BACKEND_IPSEC_MB) {
		errno = EINVAL;
		return NULL;
	}
	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	b = aligned_alloc(64, (sizeof(*b) + 63) & ~(size_t)63);
	if (b == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	b->backend = CR_AEAD_BACKEND_SODIUM;
	if (backend == CR_AEAD_BACKEND_SODIUM)
		return b;

	b->mgr = mb_mgr_create();
	if (b->mgr != NULL && mb_self_test(b) == 0) {
		b->backend = CR_AEAD_BACKEND_IPSEC_MB;
		return b;
	}
	if (b->mgr != NULL) {
		free_mb_mgr(b->mgr);
		b->mgr = NULL;
	}
	if (backend == CR_AEAD_BACKEND_AUTO)
		return b;
	free(b);
	errno = ENOTSUP;
	return NULL;
}

void
cr_aead_burst_free(struct cr_aead_burst *b)
{
	if (b == NULL)
		return;
	if (b->mgr != NULL)
		free_mb_mgr(b->mgr);
	sodium_memzero(b, sizeof(*b));
	free(b);
}

enum cr_aead_backend
cr_aead_burst_backend(const struct cr_aead_burst *b)
{
	return b->backend;
}

const char *
cr_aead_backend_name(enum cr_aead_backend backend)
{
	switch (backend) {
	case CR_AEAD_BACKEND_AUTO:
		return "auto";
	case CR_AEAD_BACKEND_SODIUM:
		return "libsodium";
	case CR_AEAD_BACKEND_IPSEC_MB:
		return "ipsec-mb";
	}
	return "unknown";
}

unsigned
cr_aead_burst_seal(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n)
{
	if (b->mgr != NULL)
		return mb_burst(b, ops, n, true);
	return sodium_burst(ops, n, true);
}

unsigned
cr_aead_burst_open(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n)
{
	if (b->mgr != NULL)
		return mb_burst(b, ops, n, false);
	return sodium_burst(ops, n, false);
}
