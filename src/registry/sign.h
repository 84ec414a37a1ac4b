/*
** sign.h: ed25519 keys and signatures (libsodium) for artifacts.
**
** A signer is known by its public key, written as 64 hexadecimal digits;
** that is what the registry records and what a pipeline lists as a trusted
** signer. A key file holds one line, "sluice-ed25519-secret HEX", and is
** created readable by its owner only.
*/
#ifndef SLUICE_REGISTRY_SIGN_H
#define SLUICE_REGISTRY_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SIGN_PUBLIC_BYTES = 32,
    SIGN_SECRET_BYTES = 64,
    SIGN_BYTES = 64,
    SIGN_PUBLIC_HEX = 2 * SIGN_PUBLIC_BYTES + 1 /* with the NUL */
};

typedef struct SignKey {
    uint8_t secret[SIGN_SECRET_BYTES];
    uint8_t public_key[SIGN_PUBLIC_BYTES];
} SignKey;

/* libsodium's one-time setup; false if it cannot start. */
bool sign_init(void);

/* Makes a new key and writes it to path (which must not exist yet). */
bool sign_keygen(const char *path, SignKey *key, char *err, size_t errlen);

bool sign_key_load(const char *path, SignKey *key, char *err, size_t errlen);

void sign_public_hex(const uint8_t public_key[SIGN_PUBLIC_BYTES],
                     char hex[SIGN_PUBLIC_HEX]);

/* Detached signature of msg. */
void sign_message(const SignKey *key, const uint8_t *msg, size_t len,
                  uint8_t sig[SIGN_BYTES]);

bool sign_verify(const uint8_t public_key[SIGN_PUBLIC_BYTES],
                 const uint8_t sig[SIGN_BYTES], const uint8_t *msg, size_t len);

/* Reads exactly n bytes written as 2n hex digits; false if malformed. */
bool sign_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n);

#endif
