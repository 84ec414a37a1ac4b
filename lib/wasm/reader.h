/*
** reader.h: a bounds-checked cursor over module bytes, with the LEB128 and
** fixed-width readers that both the decoder and the compiler need.
**
** Every read checks the remaining length; on failure the reader records the
** first error (a message and the byte offset) and returns 0, so callers can
** chain reads and test r->failed once.
*/
#ifndef SW_READER_H
#define SW_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct Reader {
    const uint8_t *base;  /* start of the module (offsets are relative to it) */
    const uint8_t *p, *end;
    bool failed;
    const char *error;    /* static message of the first failure */
    size_t error_offset;
} Reader;

static inline Reader reader_at(const uint8_t *base, const uint8_t *p,
                               const uint8_t *end)
{
    Reader r = { base, p, end, false, NULL, 0 };
    return r;
}

static inline size_t reader_offset(const Reader *r)
{
    return (size_t)(r->p - r->base);
}

static inline bool reader_fail(Reader *r, const char *message)
{
    if (!r->failed) {
        r->failed = true;
        r->error = message;
        r->error_offset = reader_offset(r);
    }
    r->p = r->end;
    return false;
}

static inline bool reader_eof(const Reader *r) { return r->p >= r->end; }

static inline uint8_t read_u8(Reader *r)
{
    if (r->p >= r->end) return (uint8_t)reader_fail(r, "unexpected end");
    return *r->p++;
}

static inline const uint8_t *read_bytes(Reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        reader_fail(r, "unexpected end");
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64). The spec requires the
   unused bits of the last byte to be zero, and at most ceil(bits/7) bytes. */
static inline uint64_t read_uleb(Reader *r, unsigned bits)
{
    uint64_t result = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (r->p >= r->end) return reader_fail(r, "unexpected end"), 0;
        uint8_t byte = *r->p++;
        if (shift + 7 >= bits) { /* last permitted byte */
            unsigned used = bits - shift;
            if (byte & 0x80) return reader_fail(r, "integer representation too long"), 0;
            if (used < 7 && (byte >> used) != 0)
                return reader_fail(r, "integer too large"), 0;
            return result | ((uint64_t)byte << shift);
        }
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return result;
    }
}

/* Signed LEB128; the unused bits of the last byte must sign-extend. */
static inline int64_t read_sleb(Reader *r, unsigned bits)
{
    uint64_t result = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (r->p >= r->end) return reader_fail(r, "unexpected end"), 0;
        uint8_t byte = *r->p++;
        if (shift + 7 >= bits) {
            unsigned used = bits - shift; /* value bits in this byte */
            if (byte & 0x80) return reader_fail(r, "integer representation too long"), 0;
            /* bits [used-1 .. 6] must all equal the sign bit */
            uint8_t mask = (uint8_t)((0x7fu >> (used - 1)) << (used - 1));
            if (used < 7 && (byte & mask) != 0 && (byte & mask) != mask)
                return reader_fail(r, "integer too large"), 0;
            result |= (uint64_t)byte << shift;
            if (shift + 7 < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << (shift + 7);
            return (int64_t)result;
        }
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            shift += 7;
            if (shift < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << shift;
            return (int64_t)result;
        }
    }
}

static inline uint32_t read_u32(Reader *r) { return (uint32_t)read_uleb(r, 32); }
static inline int32_t read_s32(Reader *r) { return (int32_t)read_sleb(r, 32); }
static inline int64_t read_s64(Reader *r) { return read_sleb(r, 64); }

/* Little-endian fixed width, for f32/f64 immediates. */
static inline uint32_t read_fixed32(Reader *r)
{
    const uint8_t *b = read_bytes(r, 4);
    uint32_t v = 0;
    if (b) memcpy(&v, b, 4); /* hosts are little-endian (checked in module.c) */
    return v;
}

static inline uint64_t read_fixed64(Reader *r)
{
    const uint8_t *b = read_bytes(r, 8);
    uint64_t v = 0;
    if (b) memcpy(&v, b, 8);
    return v;
}

#endif
