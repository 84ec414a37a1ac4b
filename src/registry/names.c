/*
** names.c: validation and ordering of artifact names and semantic versions
** (see names.h for the rules).
*/
#include "names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool registry_name_valid(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);
    if (len == 0 || len > REGISTRY_NAME_MAX) {
        snprintf(err, errlen, "invalid name '%.80s': it must be 1 to %d "
                 "characters long", name, REGISTRY_NAME_MAX);
        return false;
    }
    if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len ||
        name[0] == '-') {
        snprintf(err, errlen, "invalid name '%.80s': use lowercase letters, "
                 "digits and '-' (not first)", name);
        return false;
    }
    return true;
}

/* A dot-separated list of identifiers [0-9A-Za-z-]+ from s up to end;
   numeric ones without leading zeros when numeric_strict. */
static bool identifiers_valid(const char *s, const char *end, bool numeric_strict)
{
    for (;;) {
        const char *dot = memchr(s, '.', (size_t)(end - s));
        const char *stop = dot ? dot : end;
        size_t n = (size_t)(stop - s);
        if (n == 0) return false;
        bool numeric = true;
        for (const char *c = s; c < stop; c++) {
            if (!isalnum((unsigned char)*c) && *c != '-') return false;
            if (!isdigit((unsigned char)*c)) numeric = false;
        }
        if (numeric_strict && numeric && n > 1 && s[0] == '0') return false;
        if (!dot) return true;
        s = dot + 1;
    }
}

/* MAJOR.MINOR.PATCH at the start of v; returns the length or 0. */
static size_t core_length(const char *v)
{
    const char *s = v;
    for (int part = 0; part < 3; part++) {
        size_t n = strspn(s, "0123456789");
        if (n == 0 || (n > 1 && s[0] == '0')) return 0;
        s += n;
        if (part < 2) {
            if (*s != '.') return 0;
            s++;
        }
    }
    return (size_t)(s - v);
}

bool registry_version_valid(const char *version, char *err, size_t errlen)
{
    size_t len = strlen(version);
    size_t core = core_length(version);
    const char *rest = version + core;
    const char *plus = strchr(rest, '+');
    const char *pre_end = plus ? plus : version + len;
    bool ok = core > 0 && len <= REGISTRY_VERSION_MAX &&
              (*rest == '\0' || *rest == '-' || *rest == '+') &&
              (*rest != '-' || identifiers_valid(rest + 1, pre_end, true)) &&
              (!plus || identifiers_valid(plus + 1, version + len, false));
    if (!ok)
        snprintf(err, errlen, "invalid version '%.80s': it must be a semantic "
                 "version such as 1.2.0 or 2.0.0-rc.1 (semver.org)", version);
    return ok;
}

bool registry_version_is_prerelease(const char *version)
{
    return version[core_length(version)] == '-';
}

static int compare_numbers(const char *a, size_t na, const char *b, size_t nb)
{
    if (na != nb) return na < nb ? -1 : 1;
    int c = memcmp(a, b, na);
    return (c > 0) - (c < 0);
}

static bool all_digits(const char *s, size_t n)
{
    return strspn(s, "0123456789") >= n;
}

/* Compares two pre-release strings (after '-', up to '+' or the end). */
static int compare_prerelease(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, ".+"), nb = strcspn(b, ".+");
        bool da = all_digits(a, na), db = all_digits(b, nb);
        int c;
        if (da && db) c = compare_numbers(a, na, b, nb);
        else if (da != db) c = da ? -1 : 1;
        else {
            c = strncmp(a, b, na < nb ? na : nb);
            if (c == 0) c = (na > nb) - (na < nb);
        }
        if (c) return c < 0 ? -1 : 1;
        bool more_a = a[na] == '.', more_b = b[nb] == '.';
        if (!more_a || !more_b) return more_a - more_b;
        a += na + 1;
        b += nb + 1;
    }
}

int registry_version_compare(const char *a, const char *b)
{
    for (int part = 0; part < 3; part++) {
        size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
        int c = compare_numbers(a, na, b, nb);
        if (c) return c;
        a += na + (part < 2);
        b += nb + (part < 2);
    }
    bool pa = *a == '-', pb = *b == '-';
    if (pa != pb) return pa ? -1 : 1;
    return pa ? compare_prerelease(a + 1, b + 1) : 0;
}

bool registry_ref_parse(const char *ref, char name[REGISTRY_NAME_MAX + 1],
                        char version[REGISTRY_VERSION_MAX + 1], char *err,
                        size_t errlen)
{
    const char *at = strchr(ref, '@');
    size_t nlen = at ? (size_t)(at - ref) : strlen(ref);
    const char *v = at ? at + 1 : "latest";
    if (nlen > REGISTRY_NAME_MAX || strlen(v) > REGISTRY_VERSION_MAX) {
        snprintf(err, errlen, "invalid reference '%.80s': too long", ref);
        return false;
    }
    memcpy(name, ref, nlen);
    name[nlen] = '\0';
    strcpy(version, v);
    return registry_name_valid(name, err, errlen) &&
           (!strcmp(version, "latest") ||
            registry_version_valid(version, err, errlen));
}
