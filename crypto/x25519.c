/*
 * x25519.c — Curve25519 Diffie-Hellman (RFC 7748) through libsodium, with
 * WireGuard's rejection of an all-zero shared secret. Any thread; in the
 * engine only the main lcore runs it.
 */
#include <errno.h>
#include <stdint.h>

#include <sodium.h>

#include "x25519.h"

_Static_assert(CR_X25519_KEY_LEN == crypto_scalarmult_BYTES, "X25519 point size");
_Static_assert(CR_X25519_KEY_LEN == crypto_scalarmult_SCALARBYTES, "X25519 scalar size");

int
cr_init(void)
{
	/* 0: initialised now, 1: already initialised, -1: failure. */
	return sodium_init() < 0 ? -EIO : 0;
}

/* RFC 7748 §5 decodeScalar25519, applied to the stored key as Linux does. */
static void
clamp(uint8_t k[CR_X25519_KEY_LEN])
{
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

int
cr_x25519_keypair(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, CR_X25519_KEY_LEN);
	clamp(priv);
	if (crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(priv, CR_X25519_KEY_LEN);
		sodium_memzero(pub, CR_X25519_KEY_LEN);
		return -EIO;
	}
	return 0;
}

int
cr_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	if (crypto_scalarmult_base(pub, priv) != 0) {
		sodium_memzero(pub, CR_X25519_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

int
cr_x25519(uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32])
{
	/*
	 * libsodium returns -1 for an all-zero result, and for the blacklisted
	 * low-order points it returns early without writing shared at all. The
	 * sodium_is_zero() test repeats the check (constant time) so the
	 * contract holds whatever libsodium build or backend is linked.
	 */
	if (crypto_scalarmult(shared, priv, pub) != 0 ||
	    sodium_is_zero(shared, CR_X25519_KEY_LEN)) {
		sodium_memzero(shared, CR_X25519_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}
