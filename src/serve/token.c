/*
** token.c: the token of `sluice serve`, which every request changing state
** must bear. Given on the command line or in the environment, or kept in
** DATA/token so that it survives restarts; made up (32 random bytes in
** hex) the first time. A request's token is compared in constant time,
** so that the time of an answer tells nothing of the token.
*/
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RANDOM_BYTES = 32 };

static bool copy_token(const char *text, char token[SERVE_TOKEN_MAX], char *err, size_t errlen)
{
    size_t len = strcspn(text, "\r\n");
    if (len == 0 || len >= SERVE_TOKEN_MAX || strspn(text, "\t ") == len) {
        snprintf(err, errlen, "a token must have 1 to %d characters", SERVE_TOKEN_MAX - 1);
        return false;
    }
    memcpy(token, text, len);
    token[len] = '\0';
    return true;
}

/* The token kept in `path`: 1 read, 0 there is none, -1 failed. */
static int read_stored(const char *path, char token[SERVE_TOKEN_MAX], char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT) return 0;
    char line[SERVE_TOKEN_MAX + 2] = "";
    bool ok = f && fgets(line, sizeof line, f) && copy_token(line, token, err, errlen);
    if (!ok && f) snprintf(err, errlen, "%s: no token in it (delete it to make a new one)", path);
    else if (!f) snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    if (f) fclose(f);
    return ok ? 1 : -1;
}

static bool store_new(const char *path, char token[SERVE_TOKEN_MAX], char *err, size_t errlen)
{
    unsigned char bytes[RANDOM_BYTES];
    randombytes_buf(bytes, sizeof bytes);
    sodium_bin2hex(token, SERVE_TOKEN_MAX, bytes, sizeof bytes);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    bool ok = f && fprintf(f, "%s\n", token) > 0;
    if (f ? fclose(f) != 0 : (fd >= 0 && close(fd) != 0)) ok = false;
    if (!ok) snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return ok;
}

bool serve_token(const char *flag, const char *data_dir, char token[SERVE_TOKEN_MAX],
                 bool *generated, char *err, size_t errlen)
{
    *generated = false;
    const char *env = getenv("SLUICE_TOKEN");
    if (flag) return copy_token(flag, token, err, errlen);
    if (env && *env) return copy_token(env, token, err, errlen);
    char path[4096];
    snprintf(path, sizeof path, "%s/token", data_dir);
    int stored = read_stored(path, token, err, errlen);
    if (stored) return stored > 0;
    return *generated = store_new(path, token, err, errlen);
}

bool serve_token_matches(const char *token, const char *authorization)
{
    static const char scheme[] = "Bearer ";
    size_t len = strlen(token);
    if (!authorization || strncmp(authorization, scheme, sizeof scheme - 1)) return false;
    const char *given = authorization + sizeof scheme - 1;
    return strlen(given) == len && sodium_memcmp(given, token, len) == 0;
}
