/*
 * x25519.h — Curve25519 Diffie-Hellman through libsodium. Any thread, but in
 * the engine only the main lcore runs it (ARCHITECTURE.md).
 */
#ifndef GATE44_X25519_H
#define GATE44_X25519_H

#include <stdint.h>

enum { CR_X25519_KEY_LEN = 32 };

/* Must be called once per process before any cr_ function (sodium_init).
 * Return 0 or -EIO. Safe to call more than once. */
int cr_init(void);

/* A fresh clamped private key and its public key. Return 0 or -EIO. */
int cr_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
/* pub = priv * basepoint. Return 0 or -EINVAL. */
int cr_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
/* shared = priv * pub. Return 0, or -EINVAL when the result is all zero
 * (a low-order public key); shared is zeroed then. */
int cr_x25519(uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32]);

#endif /* GATE44_X25519_H */
