/*
 * fuzz_transport.c — libFuzzer target for the consumer of WireGuard
 * transport data (message type 4) without the engine: the replay window
 * (crypto/replay.c) and ChaCha20-Poly1305 open, both the single-message
 * code (crypto/aead.c) and the burst code the data path runs
 * (crypto/aead_burst.c, intel-ipsec-mb when the CPU has AVX2/AVX-512).
 *
 * Input: a sequence of records, each a message received on one keypair:
 *   op (1 byte)  bits 0-1: 0 forged (the bytes are ciphertext and tag),
 *                1 genuine, 2 genuine with one bit flipped, 3 genuine
 *                opened in place; bit 2: second key; bit 3: 16 bytes of
 *                associated data; bits 4-5: how the counter is given.
 *   counter      8 bytes, or 2 relative to the window (see counter_read)
 *   len (2)      payload length, 0..2047
 *   payload      len bytes (zero-padded past the end of the input)
 *   [flip (2)]   bit to flip, op 2 only
 * Invariants:
 *  - cr_replay_peek/check agree with a naive model: a counter is accepted
 *    iff it is below REJECT_AFTER_MESSAGES, at most WINDOW_SIZE behind the
 *    highest accepted one, and never accepted before;
 *  - seal then open gives the plaintext back; one flipped bit is refused
 *    and the output zeroed; a short message is -EINVAL;
 *  - the burst backend seals byte for byte like libsodium and opens the
 *    same messages (statuses and plaintexts), all records in one burst so
 *    that the chunking (64 ops) and mixed keys and lengths are exercised.
 * Single-threaded; the burst context is created once and holds no state
 * between calls.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "aead_burst.h"
#include "replay.h"
#include "wg_const.h"

#include "fuzz_common.h"

enum {
	MAX_RECORDS = 256,
	MAX_LEN = 2047,
	TAG = CR_AEAD_TAG_LEN,
};

enum {
	K_FORGED,
	K_GENUINE,
	K_FLIPPED,
	K_IN_PLACE,
};

struct record {
	unsigned kind;
	uint64_t counter;
	const uint8_t *key;
	const uint8_t *ad;
	size_t adlen;
	uint8_t *plain;	 /* genuine: the plaintext */
	uint8_t *wire;	 /* ciphertext || tag as received */
	size_t wire_len; /* >= 0; < TAG only when forged */
	uint8_t *ref;	 /* cr_aead_open's output */
	int ref_rc;
};

static uint8_t key_a[32], key_b[32];
static struct cr_aead_burst *burst;

/* The model of the window: every counter accepted, and the greatest + 1. */
struct model {
	uint64_t seen[MAX_RECORDS];
	unsigned n;
	uint64_t greatest;
};

static int
model_verdict(const struct model *m, uint64_t c)
{
	if (c >= WG_REJECT_AFTER_MESSAGES)
		return -ERANGE;
	if (c + 1 + WG_REPLAY_WINDOW_SIZE < m->greatest)
		return -EALREADY;
	for (unsigned i = 0; i < m->n; i++)
		if (m->seen[i] == c)
			return -EALREADY;
	return 0;
}

static void
model_accept(struct model *m, uint64_t c)
{
	m->seen[m->n++] = c;
	if (c + 1 > m->greatest)
		m->greatest = c + 1;
}

/* Counters near the places where the window's logic turns. */
static uint64_t
counter_read(struct fuzz_in *in, unsigned how, const struct model *m)
{
	int64_t d;

	if (how == 0)
		return fuzz_u64(in, 8);
	d = (int16_t)fuzz_u64(in, 2);
	switch (how) {
	case 1: /* around the greatest accepted */
		return m->greatest - 1 + (uint64_t)d;
	case 2: /* around the trailing edge of the window */
		return m->greatest - 1 - WG_REPLAY_WINDOW_SIZE + (uint64_t)d;
	default: /* around REJECT_AFTER_MESSAGES */
		return WG_REJECT_AFTER_MESSAGES + (uint64_t)d;
	}
}

static void
records_free(struct record *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(r[i].plain);
		free(r[i].wire);
		free(r[i].ref);
	}
}

/* The burst backend on every record at once, against the reference. */
static void
burst_compare(struct record *r, unsigned n)
{
	struct cr_aead_op *ops = calloc(n ? n : 1, sizeof(*ops));
	uint8_t **bufs = calloc(n ? n : 1, sizeof(*bufs));
	unsigned i, k = 0, ok = 0;

	if (ops == NULL || bufs == NULL)
		goto out;

	/* seal: every genuine plaintext */
	for (i = 0; i < n; i++) {
		if (r[i].kind == K_FORGED)
			continue;
		bufs[k] = malloc(r[i].wire_len);
		if (bufs[k] == NULL)
			goto out;
		ops[k] = (struct cr_aead_op){
			.key = r[i].key,
			.src = r[i].plain,
			.dst = bufs[k],
			.counter = r[i].counter,
			.aad = r[i].ad,
			.aad_len = (uint32_t)r[i].adlen,
			.len = (uint32_t)(r[i].wire_len - TAG),
		};
		k++;
	}
	FUZZ_CHECK(cr_aead_burst_seal(burst, ops, k) == k);
	for (i = 0, k = 0; i < n; i++) {
		uint8_t sealed[MAX_LEN + TAG];

		if (r[i].kind == K_FORGED)
			continue;
		FUZZ_CHECK(ops[k].status == 0);
		FUZZ_CHECK(cr_aead_seal(sealed, r[i].plain, r[i].wire_len - TAG, r[i].ad,
					r[i].adlen, r[i].counter, r[i].key) == 0);
		FUZZ_CHECK(memcmp(bufs[k], sealed, r[i].wire_len) == 0);
		free(bufs[k]);
		bufs[k] = NULL;
		k++;
	}

	/* open: every record long enough to hold a tag, some in place */
	for (i = 0, k = 0; i < n; i++) {
		bool in_place = r[i].kind == K_IN_PLACE;

		if (r[i].wire_len < TAG)
			continue;
		bufs[k] = malloc(r[i].wire_len);
		if (bufs[k] == NULL)
			goto out;
		memcpy(bufs[k], r[i].wire, r[i].wire_len);
		ops[k] = (struct cr_aead_op){
			.key = r[i].key,
			.src = in_place ? bufs[k] : r[i].wire,
			.dst = bufs[k],
			.counter = r[i].counter,
			.aad = r[i].ad,
			.aad_len = (uint32_t)r[i].adlen,
			.len = (uint32_t)(r[i].wire_len - TAG),
			.status = 1,
		};
		k++;
	}
	ok = cr_aead_burst_open(burst, ops, k);
	for (i = 0, k = 0; i < n; i++) {
		if (r[i].wire_len < TAG)
			continue;
		FUZZ_CHECK(ops[k].status == r[i].ref_rc);
		if (r[i].ref_rc == 0) {
			FUZZ_CHECK(memcmp(bufs[k], r[i].ref, r[i].wire_len - TAG) == 0);
			ok--;
		}
		k++;
	}
	FUZZ_CHECK(ok == 0);
out:
	for (i = 0; bufs != NULL && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(ops);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sodium_init();
	memset(key_a, 0x44, sizeof(key_a));
	memset(key_b, 0x45, sizeof(key_b));
	burst = cr_aead_burst_create(CR_AEAD_BACKEND_IPSEC_MB);
	if (burst == NULL)
		burst = cr_aead_burst_create(CR_AEAD_BACKEND_SODIUM);
	if (burst == NULL)
		abort();
	fprintf(stderr, "fuzz_transport: aead burst backend %s\n",
		cr_aead_backend_name(cr_aead_burst_backend(burst)));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ad16[16] = "gate44-fuzz-ad!";
	struct fuzz_in in = {data, size};
	struct record rec[MAX_RECORDS];
	struct cr_replay win;
	struct model m = {0};
	unsigned n = 0;

	fuzz_rng_seed(0);
	cr_replay_init(&win);
	while (in.n > 0 && n < MAX_RECORDS) {
		struct record *r = &rec[n];
		uint8_t op = fuzz_u8(&in);
		size_t len;
		int peek, check, want;

		memset(r, 0, sizeof(*r));
		r->kind = op & 3;
		r->key = op & 4 ? key_b : key_a;
		r->ad = op & 8 ? ad16 : NULL;
		r->adlen = op & 8 ? sizeof(ad16) : 0;
		r->counter = counter_read(&in, (op >> 4) & 3, &m);
		len = fuzz_u64(&in, 2) & MAX_LEN;
		n++;

		if (r->kind == K_FORGED) {
			r->wire_len = len;
			r->wire = malloc(len + 1);
			r->ref = malloc(len + 1);
			if (r->wire == NULL || r->ref == NULL)
				goto out;
			fuzz_bytes(&in, r->wire, len);
		} else {
			r->wire_len = len + TAG;
			r->plain = malloc(len + 1);
			r->wire = malloc(len + TAG);
			r->ref = malloc(len + TAG);
			if (r->plain == NULL || r->wire == NULL || r->ref == NULL)
				goto out;
			fuzz_bytes(&in, r->plain, len);
			FUZZ_CHECK(cr_aead_seal(r->wire, r->plain, len, r->ad, r->adlen, r->counter,
						r->key) == 0);
			if (r->kind == K_FLIPPED) {
				size_t bit = fuzz_u64(&in, 2) % (r->wire_len * 8);

				r->wire[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
		}

		/* The receive path: window first, then decryption, then the
		 * window is updated once the message authenticated. */
		peek = cr_replay_peek(&win, r->counter);
		want = model_verdict(&m, r->counter);
		FUZZ_CHECK(peek == want);

		if (r->kind == K_IN_PLACE) {
			memcpy(r->ref, r->wire, r->wire_len);
			r->ref_rc = cr_aead_open(r->ref, r->ref, r->wire_len, r->ad, r->adlen,
						 r->counter, r->key);
		} else {
			memset(r->ref, 0xa5, r->wire_len);
			r->ref_rc = cr_aead_open(r->ref, r->wire, r->wire_len, r->ad, r->adlen,
						 r->counter, r->key);
		}
		if (r->wire_len < TAG) {
			FUZZ_CHECK(r->ref_rc == -EINVAL);
			continue;
		}
		if (r->kind == K_GENUINE || r->kind == K_IN_PLACE) {
			FUZZ_CHECK(r->ref_rc == 0);
			FUZZ_CHECK(memcmp(r->ref, r->plain, len) == 0);
		} else if (r->kind == K_FLIPPED) {
			FUZZ_CHECK(r->ref_rc == -EBADMSG);
		}
		if (r->ref_rc != 0) {
			FUZZ_CHECK(r->ref_rc == -EBADMSG);
			FUZZ_CHECK(sodium_is_zero(r->ref, r->wire_len - TAG));
			continue;
		}
		check = cr_replay_check(&win, r->counter);
		FUZZ_CHECK(check == want);
		if (check == 0) {
			model_accept(&m, r->counter);
			FUZZ_CHECK(cr_replay_peek(&win, r->counter) == -EALREADY);
		}
	}
	burst_compare(rec, n);
out:
	records_free(rec, n);
	return 0;
}
