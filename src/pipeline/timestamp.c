/*
** timestamp.c: RFC 3339 timestamps to and from nanoseconds since the Unix
** epoch, without the C library's time zone machinery (it is slow and not
** thread-safe), using the days-from-civil arithmetic of the proleptic
** Gregorian calendar.
*/
#include "record.h"

#include <string.h>

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

/* The seconds from the epoch to the minute that s[0..16) names, as
** YYYY-MM-DDTHH:MM (or with a space or 't' for the T). */
static bool parse_minute(const char *s, size_t len, int64_t *secs)
{
    size_t i = 0;
    int y, mo, d, h, mi;
    if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &mo) || !expect(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &d))
        return false;
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
    i++;
    if (!digits(s, len, &i, 2, &h) || !expect(s, len, &i, ':') ||
        !digits(s, len, &i, 2, &mi))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
    *secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
    return true;
}

enum { MINUTE_LEN = 16 };   /* YYYY-MM-DDTHH:MM */

/* Timestamps come in order, many to a minute: each thread keeps the last
** minute it read, and its text, so most parses read only the seconds. */
static _Thread_local struct {
    char text[MINUTE_LEN];
    int64_t secs;
    bool valid;
} last_minute;

static bool parse_minute_cached(const char *s, size_t len, int64_t *secs)
{
    if (len < MINUTE_LEN) return false;
    if (last_minute.valid && !memcmp(s, last_minute.text, MINUTE_LEN)) {
        *secs = last_minute.secs;
        return true;
    }
    if (!parse_minute(s, len, secs)) return false;
    memcpy(last_minute.text, s, MINUTE_LEN);
    last_minute.secs = *secs;
    last_minute.valid = true;
    return true;
}

bool sl_parse_time(const char *s, size_t len, int64_t *out)
{
    size_t i = MINUTE_LEN;
    int sec, offset;
    int64_t minute, frac;
    if (!parse_minute_cached(s, len, &minute) || !expect(s, len, &i, ':') ||
        !digits(s, len, &i, 2, &sec) || !fraction(s, len, &i, &frac) ||
        !zone(s, len, &i, &offset) || i != len || sec > 60)
        return false;
    int64_t secs = minute + sec - offset;
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

/* Like parsing, formatting keeps the last minute's text per thread. */
static _Thread_local struct {
    int64_t minute;
    char text[MINUTE_LEN + 1];      /* YYYY-MM-DDTHH:MM: */
    bool valid;
} last_formatted;

/* Fills the cache with minute `minute` (minutes since the epoch). Nanoseconds
** in 64 bits span the years 1677 to 2262: four digits always do. */
static void format_minute(int64_t minute)
{
    int64_t days = minute / 1440, rem = minute % 1440;
    if (rem < 0) {
        rem += 1440;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char *p = put_digits(last_formatted.text, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    *p = ':';
    last_formatted.minute = minute;
    last_formatted.valid = true;
}

size_t sl_format_time(int64_t ns, char out[40])
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t minute = secs / 60, sec = secs % 60;
    if (sec < 0) {
        sec += 60;
        minute--;
    }
    if (!last_formatted.valid || last_formatted.minute != minute) format_minute(minute);
    memcpy(out, last_formatted.text, MINUTE_LEN + 1);
    char *p = put_digits(out + MINUTE_LEN + 1, sec, 2);
    *p++ = '.';
    p = frac % 1000000 == 0 ? put_digits(p, frac / 1000000, 3) : put_digits(p, frac, 9);
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}
