/*
 * aead.h — single-message ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce
 * (32 zero bits, then the 64-bit little-endian counter) and
 * XChaCha20-Poly1305 (24-byte nonce, for cookie replies), through libsodium.
 * Any thread. The per-packet data path uses aead_burst.h instead.
 */
#ifndef GATE44_AEAD_H
#define GATE44_AEAD_H

#include <stddef.h>
#include <stdint.h>

enum {
	CR_AEAD_KEY_LEN = 32,
	CR_AEAD_TAG_LEN = 16,
	CR_AEAD_NONCE_LEN = 12,
	CR_XAEAD_NONCE_LEN = 24,
};

/* dst[len + 16] = seal(src[len]); dst may equal src. Return 0 or -EINVAL. */
int cr_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		 size_t adlen, uint64_t counter, const uint8_t key[32]);
/* dst[len - 16] = open(src[len]); dst may equal src. Return 0, -EINVAL when
 * len < 16, -EBADMSG on authentication failure (dst is then zeroed). */
int cr_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		 size_t adlen, uint64_t counter, const uint8_t key[32]);

/* The same with an arbitrary 12-byte nonce (RFC 8439 vectors). */
int cr_aead_seal_nonce(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		       size_t adlen, const uint8_t nonce[12], const uint8_t key[32]);
int cr_aead_open_nonce(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		       size_t adlen, const uint8_t nonce[12], const uint8_t key[32]);

int cr_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		  size_t adlen, const uint8_t nonce[24], const uint8_t key[32]);
int cr_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
		  size_t adlen, const uint8_t nonce[24], const uint8_t key[32]);

#endif /* GATE44_AEAD_H */
