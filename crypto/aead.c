/*
 * aead.c — single-message ChaCha20-Poly1305 (RFC 8439) with WireGuard's
 * counter nonce, and XChaCha20-Poly1305 for cookie replies, through
 * libsodium's detached API. Any thread (handshakes and cookies run on the
 * main lcore; the data path uses aead_burst.c).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"

_Static_assert(CR_AEAD_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key size");
_Static_assert(CR_AEAD_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(CR_AEAD_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(CR_AEAD_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "xkey size");
_Static_assert(CR_AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "xtag size");
_Static_assert(CR_XAEAD_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "xnonce size");

/* WireGuard's nonce: 32 zero bits, then the counter little-endian. */
static void
wg_nonce(uint8_t nonce[CR_AEAD_NONCE_LEN], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/*
 * libsodium encrypts and then MACs the ciphertext, and on open verifies the
 * tag before decrypting; both work in place, and the tag never overlaps the
 * plaintext area, so dst == src is safe.
 */
int
cr_aead_seal_nonce(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[12], const uint8_t key[32])
{
	if (len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return -EINVAL;
	if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
							       adlen, NULL, nonce, key) != 0)
		return -EINVAL;
	return 0;
}

int
cr_aead_open_nonce(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce[12], const uint8_t key[32])
{
	size_t mlen;

	if (len < CR_AEAD_TAG_LEN)
		return -EINVAL;
	mlen = len - CR_AEAD_TAG_LEN;
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, mlen, src + mlen, ad,
							       adlen, nonce, key) != 0) {
		sodium_memzero(dst, mlen);
		return -EBADMSG;
	}
	return 0;
}

int
cr_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	     uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[CR_AEAD_NONCE_LEN];

	wg_nonce(nonce, counter);
	return cr_aead_seal_nonce(dst, src, len, ad, adlen, nonce, key);
}

int
cr_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	     uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[CR_AEAD_NONCE_LEN];

	wg_nonce(nonce, counter);
	return cr_aead_open_nonce(dst, src, len, ad, adlen, nonce, key);
}

int
cr_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      const uint8_t nonce[24], const uint8_t key[32])
{
	if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return -EINVAL;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, ad,
								adlen, NULL, nonce, key) != 0)
		return -EINVAL;
	return 0;
}

int
cr_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      const uint8_t nonce[24], const uint8_t key[32])
{
	size_t mlen;

	if (len < CR_AEAD_TAG_LEN)
		return -EINVAL;
	mlen = len - CR_AEAD_TAG_LEN;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, src, mlen, src + mlen,
								ad, adlen, nonce, key) != 0) {
		sodium_memzero(dst, mlen);
		return -EBADMSG;
	}
	return 0;
}
