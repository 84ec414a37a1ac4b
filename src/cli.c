/*
** cli.c: helpers every `sluice` subcommand shares to read its command line
** and its input files (interface in cli.h).
*/
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *help, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%.*s", (int)strcspn(help, "\n") + 1, help);
    return CLI_EXIT_USAGE;
}

bool cli_option(int argc, char **argv, int *i, const char *name,
                char **value)
{
    size_t len = strlen(name);
    char *arg = argv[*i];
    if (strncmp(arg, name, len)) return false;
    if (arg[len] == '=')
        *value = arg + len + 1;
    else if (arg[len] != '\0')
        return false;
    else
        *value = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

bool cli_parse_count(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    if (*text < '0' || *text > '9') return false;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

/* Reads all of f into a NUL-terminated buffer, growing it while the
   content stays within max bytes; NULL with errno set on failure. */
static char *read_stream(FILE *f, size_t max, size_t *len)
{
    size_t cap = 1 << 12, n = 0;
    char *buf = malloc(cap);
    int why = ENOMEM;
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break;
        if (n > max) why = EFBIG;
        char *grown = n <= max && cap <= SIZE_MAX / 2 ? realloc(buf, cap *= 2)
                                                      : NULL;
        if (!grown) free(buf);
        buf = grown;
    }
    if (buf && n > max) {
        free(buf);
        buf = NULL;
        why = EFBIG;
    }
    if (ferror(f)) {
        why = errno;
        free(buf);
        buf = NULL;
    }
    if (!buf) {
        errno = why;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *cli_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return NULL;
    char *text = read_stream(f, max, len);
    int saved = errno;
    if (f != stdin) fclose(f);
    errno = saved;
    return text;
}
