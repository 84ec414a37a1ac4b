/*
** sign.c: ed25519 keys and detached signatures with libsodium (sign.h).
*/
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char key_tag[] = "sluice-ed25519-secret ";

bool sign_init(void)
{
    return sodium_init() >= 0;
}

bool sign_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
    size_t got = 0;
    return hexlen == 2 * n &&
           sodium_hex2bin(out, n, hex, hexlen, NULL, &got, NULL) == 0 && got == n;
}

void sign_public_hex(const uint8_t public_key[SIGN_PUBLIC_BYTES],
                     char hex[SIGN_PUBLIC_HEX])
{
    sodium_bin2hex(hex, SIGN_PUBLIC_HEX, public_key, SIGN_PUBLIC_BYTES);
}

bool sign_keygen(const char *path, SignKey *key, char *err, size_t errlen)
{
    crypto_sign_keypair(key->public_key, key->secret);
    char hex[2 * SIGN_SECRET_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, key->secret, SIGN_SECRET_BYTES);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    bool ok = f && fprintf(f, "%s%s\n", key_tag, hex) > 0;
    int saved = errno;
    if (f) ok = fclose(f) == 0 && ok;
    else if (fd >= 0) close(fd);
    sodium_memzero(hex, sizeof hex);
    if (!ok) snprintf(err, errlen, "%s: %s", path, strerror(saved));
    return ok;
}

bool sign_key_load(const char *path, SignKey *key, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    char line[sizeof key_tag + 2 * SIGN_SECRET_BYTES + 4] = "";
    bool read = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t len = strcspn(line, "\r\n");
    size_t tag = sizeof key_tag - 1;
    bool ok = read && len > tag && !memcmp(line, key_tag, tag) &&
              sign_unhex(line + tag, len - tag, key->secret, SIGN_SECRET_BYTES);
    sodium_memzero(line, sizeof line);
    if (!ok) {
        snprintf(err, errlen, "%s: not a sluice key file (make one with "
                 "`sluice keygen`)", path);
        return false;
    }
    crypto_sign_ed25519_sk_to_pk(key->public_key, key->secret);
    return true;
}

void sign_message(const SignKey *key, const uint8_t *msg, size_t len,
                  uint8_t sig[SIGN_BYTES])
{
    crypto_sign_detached(sig, NULL, msg, len, key->secret);
}

bool sign_verify(const uint8_t public_key[SIGN_PUBLIC_BYTES],
                 const uint8_t sig[SIGN_BYTES], const uint8_t *msg, size_t len)
{
    return crypto_sign_verify_detached(sig, msg, len, public_key) == 0;
}
