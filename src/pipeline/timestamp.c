/*
** timestamp.c: RFC 3339 timestamps to and from nanoseconds since the Unix
** epoch, without the C library's time zone machinery (it is slow and not
** thread-safe), using the days-from-civil arithmetic of the proleptic
** Gregorian calendar.
*/
#include "record.h"

#include <stdio.h>

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly `n` digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return false;
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) return false;
    (*i)++;
    return true;
}

static bool fraction(const char *s, size_t len, size_t *i, int64_t *ns)
{
    *ns = 0;
    if (*i >= len || s[*i] != '.') return true;
    (*i)++;
    int64_t scale = 100000000;
    size_t start = *i;
    for (; *i < len && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        *ns += (s[*i] - '0') * scale;
        scale /= 10;
    }
    return *i > start;
}

static bool zone(const char *s, size_t len, size_t *i, int *offset_s)
{
    *offset_s = 0;
    if (*i < len && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
        return true;
    }
    if (*i >= len || (s[*i] != '+' && s[*i] != '-')) return false;
    int sign = s[(*i)++] == '-' ? -1 : 1, hh, mm;
    if (!digits(s, len, i, 2, &hh)) return false;
    if (*i < len && s[*i] == ':') (*i)++;
    if (!digits(s, len, i, 2, &mm) || hh > 23 || mm > 59) return false;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return true;
}

bool sl_parse_time(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec, offset;
    int64_t frac;
    if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &mo) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &d))
        return false;
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
    i++;
    if (!digits(s, len, &i, 2, &h) || !expect(s, len, &i, ':') ||
        !digits(s, len, &i, 2, &mi) || !expect(s, len, &i, ':') ||
        !digits(s, len, &i, 2, &sec) || !fraction(s, len, &i, &frac) ||
        !zone(s, len, &i, &offset) || i != len)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* Nanoseconds in 64 bits reach from 1677 to 2262: refuse what lies
       outside rather than wrap. */
    return !__builtin_mul_overflow(secs, (int64_t)1000000000, out) &&
           !__builtin_add_overflow(*out, frac, out);
}

/* Writes `v` as exactly `width` digits. */
static char *put_digits(char *out, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10) out[i] = (char)('0' + v % 10);
    return out + width;
}

size_t sl_format_time(int64_t ns, char out[40])
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        /* Outside four-digit years: the slow general form. */
        return (size_t)snprintf(out, 40, "%lld-%02d-%02dT%02d:%02d:%02d.%09dZ", (long long)y,
                                m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
                                (int)frac);
    }
    char *p = put_digits(out, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    *p++ = '.';
    p = frac % 1000000 == 0 ? put_digits(p, frac / 1000000, 3) : put_digits(p, frac, 9);
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}
