/*
 * aead_burst.h — seal or open many WireGuard transport messages in one call,
 * each with its own key, counter and length. Two backends: libsodium (always
 * available) and intel-ipsec-mb's CHACHA20-POLY1305 (chosen at run time when
 * the CPU has AVX-512 or AVX2). A context is per thread (one per lcore):
 * ipsec-mb managers are not thread-safe. No DPDK here: ops point at bytes.
 */
#ifndef GATE44_AEAD_BURST_H
#define GATE44_AEAD_BURST_H

#include <stdint.h>

enum cr_aead_backend {
	CR_AEAD_BACKEND_AUTO = 0,  /* ipsec-mb when usable, else libsodium */
	CR_AEAD_BACKEND_SODIUM,
	CR_AEAD_BACKEND_IPSEC_MB,
};

/*
 * One message. Nonce = 4 zero bytes || le64(counter) unless nonce is set
 * (12 bytes, for standard vectors); associated data optional (WireGuard
 * transport data has none). For seal, src holds len plaintext bytes and
 * dst receives len ciphertext bytes followed by the 16-byte tag. For open,
 * src holds len ciphertext bytes followed by the tag and dst receives len
 * plaintext bytes. dst may equal src (in place); otherwise they must not
 * overlap. status is written: 0, or -EBADMSG when open fails (dst contents
 * are then unspecified and must not be used).
 */
struct cr_aead_op {
	const uint8_t *key;   /* 32 bytes */
	const uint8_t *src;
	uint8_t *dst;
	uint64_t counter;
	const uint8_t *nonce; /* NULL: WireGuard nonce from counter */
	const uint8_t *aad;   /* may be NULL when aad_len is 0 */
	uint32_t aad_len;
	uint32_t len;         /* plaintext length, 0..65535 */
	int status;
};

struct cr_aead_burst;

/* NULL with errno set (ENOTSUP when IPSEC_MB is asked for and the CPU or
 * library cannot do it, ENOMEM). */
struct cr_aead_burst *cr_aead_burst_create(enum cr_aead_backend backend);
void cr_aead_burst_free(struct cr_aead_burst *b);
enum cr_aead_backend cr_aead_burst_backend(const struct cr_aead_burst *b);
const char *cr_aead_backend_name(enum cr_aead_backend backend);

/* Process n ops; return how many succeeded (status == 0). Every op's status
 * is set. n may be 0. */
unsigned cr_aead_burst_seal(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n);
unsigned cr_aead_burst_open(struct cr_aead_burst *b, struct cr_aead_op *ops, unsigned n);

#endif /* GATE44_AEAD_BURST_H */
