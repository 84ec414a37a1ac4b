/*
** sluice_fn.h: write Sluice functions in C. Header-only; implements the
** function ABI v1 (JSON, SLUICE_FUNCTION) and v2 (binary columns read in
** place, SLUICE_FUNCTION_V2: see "ABI v2" below) of docs/abi.md. The user
** guide is docs/sdk.md.
**
** A function turns one JSON input document into one JSON output document:
**
**   #include "sluice_fn.h"
**
**   static double factor = 1.0;
**
**   static int init(const sl_json *config)           // optional
**   {
**       const sl_json *f = sl_get(config, "factor");
**       if (f && f->type != SL_NUMBER)
**           return sl_fail("invalid_config", "factor must be a number");
**       if (f) factor = f->number;
**       return SL_OK;
**   }
**
**   static int execute(const sl_json *input, sl_writer *out)
**   {
**       const sl_json *values = sl_get(input, "values");
**       if (!values || values->type != SL_ARRAY)
**           return sl_fail("invalid_input", "values must be an array");
**       sl_write_object_begin(out);
**       sl_write_key(out, "scaled");
**       sl_write_array_begin(out);
**       for (const sl_json *v = values->first; v; v = v->next) {
**           if (v->type != SL_NUMBER)
**               return sl_fail("invalid_input", "values[%zu] is not a number",
**                              sl_index(values, v));
**           sl_write_number(out, v->number * factor);
**       }
**       sl_write_array_end(out);
**       sl_write_object_end(out);
**       sl_debug("scaled %zu values", values->count);
**       return SL_OK;
**   }
**
**   SLUICE_FUNCTION(execute, init)       // or SLUICE_FUNCTION(execute)
**
** Build, with wasi-libc:
**   clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
**       -o fn.wasm fn.c
** or without any libc (a module of a few tens of KiB, with no WASI import):
**   clang-19 --target=wasm32 -O2 -ffreestanding -nostdlib -mbulk-memory \
**       -Wl,--no-entry -o fn.wasm fn.c
**
** What SLUICE_FUNCTION generates
**   The exports of ABI v1: memory (by the linker), sluice_abi_version,
**   sluice_alloc, sluice_free, sluice_execute and, with an init function,
**   sluice_init. For each call the glue parses the input (invalid JSON is
**   an error of kind "invalid_input"), calls execute with a fresh writer,
**   checks that exactly one complete JSON value was written ("invalid_output"
**   otherwise), hands it to the host and frees everything: no memory stays
**   allocated between calls. init receives the node's configuration object
**   ({} when there is none) once per instance; copy what you need out of it,
**   because the document is freed when init returns.
**   Use SLUICE_FUNCTION once per module.
**
** Reading JSON: sl_json
**   A parsed document is a tree of sl_json nodes. Arrays and objects link
**   their children through first/next; members of an object also have a
**   key. Strings are decoded UTF-8 (string, len), not NUL-terminated, and
**   may contain NUL bytes. Numbers are doubles (number) and keep their
**   source text (string, len), so that sl_write_value copies them exactly,
**   digits beyond double precision included. Input documents and their
**   strings are valid only during the call. sl_parse and sl_doc_free read
**   any other JSON text (a nested document in a string, say).
**
** Writing JSON: sl_writer
**   sl_write_* append to a growable buffer, inserting commas and escaping
**   strings. Misuse (a value without a key inside an object, a key outside
**   an object, an unbalanced end, two top-level values), a non-finite number,
**   invalid UTF-8 or lack of memory puts the writer in error: later calls do
**   nothing and the call fails with kind "invalid_output" and the reason.
**   Numbers are written with the fewest significant digits, from 15 up to
**   17 (sl_write_number) or from 6 up to 9 (sl_write_float), that read back
**   as the same double or float.
**
** Errors and logs
**   sl_fail(kind, format, ...) records the error of the call and returns
**   SL_ERROR; return that from execute or init. kind is a short
**   machine-readable word ("" for none). sl_log(level, format, ...) and the
**   sl_debug/sl_info/sl_warn/sl_error macros send a log line to the host.
**   Formats are a printf subset that needs no libc: %s %.*s %c %d %i %u
**   %ld %lu %lld %llu %zu %zd %g (as sl_write_number) %%. Messages longer
**   than 1023 bytes are cut and end with "...".
**
** Memory
**   sl_alloc/sl_free (and sl_realloc) are malloc/free/realloc with wasi-libc
**   or natively, and without libc a small allocator of power-of-two blocks,
**   with a free list per size, over memory.grow. Blocks are 8-byte aligned.
**
** Numbers
**   Reading rounds to the nearest double (ties to even), like strtod;
**   writing is as described above, in printf's %g form. With libc these are
**   strtod and snprintf; without libc the SDK's own exact conversion (with
**   big integers when double arithmetic is not exact): both builds read and
**   write the same numbers.
**
** Configuration macros (define before including)
**   SLUICE_FN_LIBC  1: use the C library (malloc, strtod, snprintf);
**                   0: freestanding (wasm32 with -mbulk-memory only).
**                   Default: 0 for wasm32 without WASI, 1 otherwise
**                   (wasm32-wasi, native builds).
**
** Natively (not wasm32), the header compiles as well, so that functions
** and the SDK itself can be unit-tested: the exports are plain C functions
** and the program must define the three host imports, sluice_output,
** sluice_error and sluice_log, with the signatures below.
*/
#ifndef SLUICE_FN_H
#define SLUICE_FN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SLUICE_FN_LIBC
#if defined(__wasm__) && !defined(__wasi__)
#define SLUICE_FN_LIBC 0
#else
#define SLUICE_FN_LIBC 1
#endif
#endif

#if SLUICE_FN_LIBC
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define SL__COPY memcpy
#define SL__FILL memset
#else
#if !defined(__wasm__)
#error "sluice_fn.h: SLUICE_FN_LIBC 0 (no libc) needs a wasm32 target"
#elif !defined(__wasm_bulk_memory__)
#error "sluice_fn.h: without libc, build with -mbulk-memory (memory.copy and memory.fill replace memcpy and memset)"
#endif
#define SL__COPY __builtin_memcpy
#define SL__FILL __builtin_memset
#endif

#define SLUICE_FN_ABI_VERSION 1

/* Status of execute and init. */
enum { SL_OK = 0, SL_ERROR = 1 };

/* ---- Host imports (module "sluice") ------------------------------------ */

#ifdef __wasm__
#define SL__IMPORT(name) __attribute__((import_module("sluice"), import_name(#name)))
#define SL__EXPORT(name) __attribute__((export_name(#name)))
#else
#define SL__IMPORT(name)
#define SL__EXPORT(name)
#endif

SL__IMPORT(sluice_output) void sluice_output(const void *ptr, size_t len);
SL__IMPORT(sluice_error) void sluice_error(const void *kind, size_t kind_len,
                                           const void *msg, size_t msg_len);
SL__IMPORT(sluice_log) void sluice_log(int level, const void *ptr, size_t len);

/* ---- Memory ------------------------------------------------------------ */

#if SLUICE_FN_LIBC

static inline void *sl_alloc(size_t size) { return malloc(size ? size : 1); }
static inline void sl_free(void *ptr) { free(ptr); }
static inline void *sl_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

#else

extern unsigned char __heap_base; /* defined by wasm-ld: end of static data */

/* Blocks of 2^c bytes, c in [SL__MIN_CLASS, SL__MAX_CLASS]; the first 8
   bytes of a block hold c, the rest is the caller's. */
enum { SL__MIN_CLASS = 4, SL__MAX_CLASS = 31, SL__HEADER = 8, SL__PAGE = 65536 };

typedef struct sl__heap {
    void *free_lists[SL__MAX_CLASS + 1]; /* free blocks, linked by 1st word */
    uintptr_t top;                       /* start of the never-used space */
    unsigned long long end;              /* end of linear memory */
} sl__heap;

/* Weak, so that every file including this header shares one heap. */
__attribute__((weak)) sl__heap sl__the_heap;

static inline void *sl_alloc(size_t size)
{
    sl__heap *h = &sl__the_heap;
    if (size > ((size_t)1 << SL__MAX_CLASS) - SL__HEADER) return NULL;
    unsigned c = SL__MIN_CLASS;
    while (((size_t)1 << c) < size + SL__HEADER) c++;
    unsigned char *block = h->free_lists[c];
    if (block) {
        h->free_lists[c] = *(void **)block;
    } else {
        if (!h->top) {
            h->top = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
            h->end = (unsigned long long)__builtin_wasm_memory_size(0) * SL__PAGE;
        }
        unsigned long long bytes = (unsigned long long)1 << c;
        if (h->top + bytes > h->end) {
            unsigned long long missing = h->top + bytes - h->end;
            size_t pages = (size_t)((missing + SL__PAGE - 1) / SL__PAGE);
            if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
            h->end += (unsigned long long)pages * SL__PAGE;
        }
        block = (unsigned char *)h->top;
        h->top += (uintptr_t)bytes;
    }
    *(uint32_t *)block = c;
    return block + SL__HEADER;
}

static inline void sl_free(void *ptr)
{
    if (!ptr) return;
    unsigned char *block = (unsigned char *)ptr - SL__HEADER;
    uint32_t c = *(uint32_t *)block;
    *(void **)block = sl__the_heap.free_lists[c];
    sl__the_heap.free_lists[c] = block;
}

static inline void *sl_realloc(void *ptr, size_t size)
{
    if (!ptr) return sl_alloc(size);
    size_t capacity = ((size_t)1 << *(uint32_t *)((unsigned char *)ptr - SL__HEADER)) - SL__HEADER;
    if (size <= capacity) return ptr;
    void *grown = sl_alloc(size);
    if (!grown) return NULL;
    SL__COPY(grown, ptr, capacity);
    sl_free(ptr);
    return grown;
}

#endif

/* ---- Text helpers -------------------------------------------------------- */

static inline size_t sl__strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes available), or 0
   when it is invalid (overlong, surrogate, beyond U+10FFFF, truncated). */
static inline size_t sl__utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp, min;
    size_t len;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) { len = 2; cp = s[0] & 0x1Fu; min = 0x80; }
    else if ((s[0] & 0xF0) == 0xE0) { len = 3; cp = s[0] & 0x0Fu; min = 0x800; }
    else if ((s[0] & 0xF8) == 0xF0) { len = 4; cp = s[0] & 0x07u; min = 0x10000; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Writes the decimal digits of v, with a '-' when negative, at the end of
   buf[32]; returns the start. */
static inline char *sl__format_int(char *buf, long long v)
{
    char *p = buf + 32;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--p = '-';
    return p;
}

/* ---- Exact number conversion (builds without libc) ------------------------ */

/* Without libc, decimal text and binary floating point are converted here,
   exactly: in double or float arithmetic when that is exact (few digits,
   small exponents), else with big integers. Both directions round to
   nearest, ties to even, as strtod and printf do. */

enum {
    SL__BIG_WORDS = 160,  /* 5120 bits; the conversions below need < 3800 */
    SL__MAX_DIGITS = 780  /* significant digits kept when reading: more than
                             any halfway point between two doubles has */
};

typedef struct sl__big {
    uint32_t w[SL__BIG_WORDS]; /* little-endian */
    int n;                     /* words in use; w[n - 1] != 0 */
} sl__big;

static inline void sl__big_set(sl__big *b, uint64_t v)
{
    b->n = 0;
    for (; v; v >>= 32) b->w[b->n++] = (uint32_t)v;
}

/* b = b * m + a. */
static inline void sl__big_muladd(sl__big *b, uint32_t m, uint32_t a)
{
    uint64_t carry = a;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->w[i] * m + carry;
        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (b->n == SL__BIG_WORDS) __builtin_trap(); /* unreachable: see the sizes above */
        b->w[b->n++] = (uint32_t)carry;
    }
}

/* b = b * 10^k, k >= 0. */
static inline void sl__big_pow10(sl__big *b, int k)
{
    static const uint32_t small[9] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };
    for (; k >= 9; k -= 9) sl__big_muladd(b, 1000000000u, 0);
    sl__big_muladd(b, small[k], 0);
}

/* b = b * 2^bits, bits >= 0. */
static inline void sl__big_shl(sl__big *b, int bits)
{
    if (b->n == 0) return;
    int words = bits / 32, r = bits % 32, n = b->n + words + 1;
    if (n > SL__BIG_WORDS) __builtin_trap(); /* unreachable: see the sizes above */
    for (int i = n - 1; i >= words; i--) {
        int s = i - words;
        uint32_t hi = s < b->n ? b->w[s] : 0, lo = s > 0 ? b->w[s - 1] : 0;
        b->w[i] = r ? hi << r | lo >> (32 - r) : hi;
    }
    for (int i = 0; i < words; i++) b->w[i] = 0;
    b->n = n;
    while (b->n && !b->w[b->n - 1]) b->n--;
}

static inline void sl__big_shr1(sl__big *b)
{
    for (int i = 0; i < b->n; i++)
        b->w[i] = b->w[i] >> 1 | (i + 1 < b->n ? b->w[i + 1] << 31 : 0);
    if (b->n && !b->w[b->n - 1]) b->n--;
}

static inline int sl__big_cmp(const sl__big *a, const sl__big *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a = a - b, a >= b. */
static inline void sl__big_sub(sl__big *a, const sl__big *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
        a->w[i] = (uint32_t)t;
        borrow = t >> 63;
    }
    while (a->n && !a->w[a->n - 1]) a->n--;
}

/* The number of significant bits. */
static inline int sl__big_bits(const sl__big *b)
{
    return b->n ? 32 * b->n - __builtin_clz(b->w[b->n - 1]) : 0;
}

/* num / den for a quotient below 2^(bits + 1); num becomes the remainder. */
static inline uint64_t sl__big_div(sl__big *num, const sl__big *den, int bits)
{
    sl__big d = *den;
    sl__big_shl(&d, bits);
    uint64_t q = 0;
    for (int i = bits; i >= 0; i--) {
        if (sl__big_cmp(num, &d) >= 0) {
            sl__big_sub(num, &d);
            q |= (uint64_t)1 << i;
        }
        sl__big_shr1(&d);
    }
    return q;
}

static inline uint64_t sl__pow10(int i)
{
    static const uint64_t p[18] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
        10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
        1000000000000000, 10000000000000000, 100000000000000000,
    };
    return p[i];
}

typedef union sl__bits64 { double d; uint64_t u; } sl__bits64;
typedef union sl__bits32 { float f; uint32_t u; } sl__bits32;

/* Rounds the JSON number s[0..len) (checked by the grammar) to the nearest
   double, or float when single, ties to even, and sets *bits to its IEEE 754
   encoding. Returns false when it is beyond the range of that format. */
static inline bool sl__decimal_to_binary(const char *s, size_t len, bool single, uint64_t *bits)
{
    static const double exact[23] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    const int mant = single ? 24 : 53, bias = single ? 127 : 1023;
    const char *p = s, *end = s + len;
    uint64_t sign = p < end && *p == '-' ? (uint64_t)1 << (single ? 31 : 63) : 0;
    p += sign != 0;
    /* The value is digits * 10^exp10, digits being the significant digits:
       in small up to 19 of them, then in big. */
    uint64_t small = 0;
    sl__big num;
    int ndigits = 0;
    long exp10 = 0;
    bool seen = false, fraction = false, sticky = false;
    for (; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
        if (*p == '.') {
            fraction = true;
            continue;
        }
        unsigned d = (unsigned)(*p - '0');
        if (!seen && d == 0) {
            exp10 -= fraction;
            continue;
        }
        seen = true;
        if (ndigits == SL__MAX_DIGITS) {
            sticky |= d != 0;
            exp10 += !fraction;
            continue;
        }
        if (ndigits == 19) sl__big_set(&num, small);
        if (ndigits >= 19) sl__big_muladd(&num, 10, d);
        else small = small * 10 + d;
        ndigits++;
        exp10 -= fraction;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool negative = p < end && *p == '-';
        if (p < end && (*p == '-' || *p == '+')) p++;
        long e = 0;
        for (; p < end; p++)
            if (e < 100000) e = e * 10 + (*p - '0');
        exp10 += negative ? -e : e;
    }
    if (!seen) {
        *bits = sign;
        return true;
    }
    if (sticky) { /* digits beyond the kept ones: only their presence matters */
        sl__big_muladd(&num, 10, 1);
        ndigits++;
        exp10--;
    }
    long magnitude = ndigits + exp10; /* 10^(magnitude - 1) <= value < 10^magnitude */
    if (magnitude > 310) return false;
    if (magnitude < -325) {
        *bits = sign;
        return true;
    }
    /* Exact in floating point: the digits and the power of ten are exact, and
       one operation rounds correctly. */
    if (!single && ndigits <= 15 && exp10 >= -22 && exp10 <= 22) {
        sl__bits64 v = { exp10 < 0 ? (double)small / exact[-exp10] : (double)small * exact[exp10] };
        *bits = v.u | sign;
        return true;
    }
    if (single && ndigits <= 7 && exp10 >= -10 && exp10 <= 10) {
        float x = (float)small, scale = (float)exact[exp10 < 0 ? -exp10 : exp10];
        sl__bits32 v = { exp10 < 0 ? x / scale : x * scale };
        *bits = v.u | sign;
        return true;
    }
    /* q = floor(value * 2^shift) with mant bits (fewer for subnormals), the
       rest rounding it. */
    if (ndigits <= 19) sl__big_set(&num, small);
    sl__big den, n, d;
    sl__big_set(&den, 1);
    if (exp10 >= 0) sl__big_pow10(&num, (int)exp10);
    else sl__big_pow10(&den, (int)-exp10);
    int min_exponent = bias + mant - 2; /* 2^-min_exponent: the smallest subnormal */
    int shift = mant - (sl__big_bits(&num) - sl__big_bits(&den));
    if (shift > min_exponent) shift = min_exponent;
    uint64_t q;
    for (;;) {
        n = num;
        d = den;
        if (shift >= 0) sl__big_shl(&n, shift);
        else sl__big_shl(&d, -shift);
        q = sl__big_div(&n, &d, mant + 1);
        if (q < (uint64_t)1 << mant) break;
        shift--;
    }
    sl__big_shl(&n, 1);
    int half = sl__big_cmp(&n, &d);
    if (half > 0 || (half == 0 && (q & 1))) q++;
    if (q == (uint64_t)1 << mant) {
        q >>= 1;
        shift--;
    }
    uint64_t hidden = (uint64_t)1 << (mant - 1);
    if (q < hidden) { /* subnormal */
        *bits = sign | q;
        return true;
    }
    long biased = (mant - 1) - shift + bias;
    if (biased > 2 * bias) return false;
    *bits = sign | (uint64_t)biased << (mant - 1) | (q - hidden);
    return true;
}

/* The p (<= 17) significant digits of v (finite, > 0), rounded to nearest,
   ties to even: returns N, 10^(p-1) <= N < 10^p, and sets *k so that
   v ~ N * 10^(*k - p + 1). */
static inline uint64_t sl__digits(double v, int p, int *k)
{
    sl__bits64 b = { v };
    int biased = (int)(b.u >> 52 & 0x7FF), e = biased ? biased - 1075 : -1074;
    uint64_t m = (b.u & (((uint64_t)1 << 52) - 1)) | (uint64_t)(biased != 0) << 52;
    int b2 = 63 - __builtin_clzll(m) + e; /* 2^b2 <= v < 2^(b2 + 1) */
    /* log10(2) ~ 78913 / 2^18, floored: at most one off */
    *k = b2 >= 0 ? b2 * 78913 / 262144 : -((-b2 * 78913 + 262143) / 262144);
    for (;;) {
        sl__big num, den;
        sl__big_set(&num, m);
        sl__big_set(&den, 1);
        if (e >= 0) sl__big_shl(&num, e);
        else sl__big_shl(&den, -e);
        int t = p - 1 - *k;
        if (t >= 0) sl__big_pow10(&num, t);
        else sl__big_pow10(&den, -t);
        uint64_t n = sl__big_div(&num, &den, 60);
        if (n >= sl__pow10(p)) {
            ++*k;
            continue;
        }
        if (n < sl__pow10(p - 1)) {
            --*k;
            continue;
        }
        sl__big_shl(&num, 1);
        int half = sl__big_cmp(&num, &den);
        if (half > 0 || (half == 0 && (n & 1))) n++;
        if (n == sl__pow10(p)) {
            n = sl__pow10(p - 1);
            ++*k;
        }
        return n;
    }
}

/* Writes the p digits of n with the exponent k as printf's %.{p}g does
   (trailing zeros dropped); returns the length (at most 25). */
static inline size_t sl__write_decimal(char *out, uint64_t n, int p, int k)
{
    char digits[17];
    for (int i = p - 1; i >= 0; i--, n /= 10) digits[i] = (char)('0' + n % 10);
    int nd = p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    size_t len = 0;
    if (k < -4 || k >= p) {
        out[len++] = digits[0];
        if (nd > 1) out[len++] = '.';
        for (int i = 1; i < nd; i++) out[len++] = digits[i];
        out[len++] = 'e';
        out[len++] = k < 0 ? '-' : '+';
        int x = k < 0 ? -k : k;
        if (x >= 100) out[len++] = (char)('0' + x / 100);
        out[len++] = (char)('0' + x / 10 % 10);
        out[len++] = (char)('0' + x % 10);
    } else if (k >= 0) {
        for (int i = 0; i <= k; i++) out[len++] = i < nd ? digits[i] : '0';
        if (nd > k + 1) out[len++] = '.';
        for (int i = k + 1; i < nd; i++) out[len++] = digits[i];
    } else {
        out[len++] = '0';
        out[len++] = '.';
        for (int i = 0; i < -k - 1; i++) out[len++] = '0';
        for (int i = 0; i < nd; i++) out[len++] = digits[i];
    }
    return len;
}

/* Formats v (finite) into buf[32] as sl__format_number does with libc: the
   fewest significant digits, from 15 (6 when single) up to 17 (9), that read
   back as v, written as by printf("%.*g"). Returns the length. */
static inline size_t sl__format_exact(char *buf, double v, bool single)
{
    sl__bits64 b = { v };
    size_t len = 0;
    if (b.u >> 63) {
        buf[len++] = '-';
        v = -v;
    }
    if (v == 0) {
        buf[len++] = '0';
        return len;
    }
    sl__bits32 f = { (float)v };
    sl__bits64 d = { v };
    uint64_t target = single ? f.u : d.u;
    int lo = single ? 6 : 15, hi = single ? 9 : 17, k;
    uint64_t all = sl__digits(v, hi, &k);
    for (int p = lo;; p++) {
        /* Rounding the hi digits again gives the p digits, but for a tie,
           which the digits dropped by the first rounding may decide. */
        int kp = k;
        uint64_t n = all;
        if (p < hi) {
            uint64_t unit = sl__pow10(hi - p), rest = all % unit;
            n = all / unit;
            if (rest * 2 == unit) n = sl__digits(v, p, &kp);
            else if (rest * 2 > unit && ++n == sl__pow10(p)) {
                n = sl__pow10(p - 1);
                kp++;
            }
        }
        size_t n_len = sl__write_decimal(buf + len, n, p, kp);
        uint64_t back;
        if (p == hi || (sl__decimal_to_binary(buf + len, n_len, single, &back) && back == target))
            return len + n_len;
    }
}

/* Formats v into buf[32] with the fewest significant digits, from 15 (6
   when single) up to 17 (9), that read back as v (as a float when single,
   else as a double); returns the length, or 0 when v is not finite. */
static inline size_t sl__format_number(char *buf, double v, bool single)
{
    if (v != v || v - v != 0) return 0; /* NaN, or infinite */
#if SLUICE_FN_LIBC
    int len = 0;
    for (int precision = single ? 6 : 15; precision <= (single ? 9 : 17); precision++) {
        len = snprintf(buf, 32, "%.*g", precision, v);
        if (single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    return (size_t)len;
#else
    return sl__format_exact(buf, v, single);
#endif
}

/* A bounded text buffer for messages: keeps the first cap - 1 bytes and
   marks a cut with "...". */
typedef struct sl__text {
    char *buf;
    size_t len, cap;
    bool cut;
} sl__text;

static inline void sl__text_add(sl__text *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t->len + 1 >= t->cap) {
            t->cut = true;
            return;
        }
        t->buf[t->len++] = s[i];
    }
}

/* The printf subset documented above, into t. */
static inline void sl__vformat(sl__text *t, const char *fmt, va_list ap)
{
    char num[32];
    while (*fmt) {
        if (*fmt != '%') {
            sl__text_add(t, fmt++, 1);
            continue;
        }
        const char *spec = fmt++;
        bool star = false;
        int size = 0; /* 0 int, 1 long, 2 long long, 3 size_t */
        if (fmt[0] == '.' && fmt[1] == '*') { star = true; fmt += 2; }
        if (*fmt == 'l') { size = 1; fmt++; if (*fmt == 'l') { size = 2; fmt++; } }
        else if (*fmt == 'z') { size = 3; fmt++; }
        char conv = *fmt ? *fmt++ : '\0';
        switch (conv) {
        case 's': {
            int precision = star ? va_arg(ap, int) : -1;
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            size_t n = 0;
            while ((precision < 0 || n < (size_t)precision) && s[n]) n++;
            sl__text_add(t, s, n);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            sl__text_add(t, &c, 1);
            break;
        }
        case 'd': case 'i': {
            long long v = size == 0 ? va_arg(ap, int) : size == 1 ? va_arg(ap, long)
                        : size == 2 ? va_arg(ap, long long) : (long long)va_arg(ap, ptrdiff_t);
            char *p = sl__format_int(num, v);
            sl__text_add(t, p, (size_t)(num + 32 - p));
            break;
        }
        case 'u': {
            unsigned long long v = size == 0 ? va_arg(ap, unsigned) : size == 1 ? va_arg(ap, unsigned long)
                                 : size == 2 ? va_arg(ap, unsigned long long) : va_arg(ap, size_t);
            char *p = num + 32;
            do *--p = (char)('0' + v % 10); while (v /= 10);
            sl__text_add(t, p, (size_t)(num + 32 - p));
            break;
        }
        case 'g': {
            double v = va_arg(ap, double);
            size_t n = sl__format_number(num, v, false);
            if (n) sl__text_add(t, num, n);
            else if (v != v) sl__text_add(t, "nan", 3);
            else sl__text_add(t, v < 0 ? "-inf" : "inf", v < 0 ? 4 : 3);
            break;
        }
        case '%':
            sl__text_add(t, "%", 1);
            break;
        default: /* not supported: shown as written */
            sl__text_add(t, spec, (size_t)(fmt - spec));
            break;
        }
    }
    if (t->cut) {
        t->len = t->cap - 4 < t->len ? t->cap - 4 : t->len;
        sl__text_add(t, "...", 3);
    }
    t->buf[t->len] = '\0';
}

/* ---- Errors and logging -------------------------------------------------- */

enum { SL__MESSAGE_MAX = 1024, SL__KIND_MAX = 64 };

typedef struct sl__error_state {
    bool set;
    char kind[SL__KIND_MAX];
    char message[SL__MESSAGE_MAX];
} sl__error_state;

/* Weak, so that every file including this header shares it. */
__attribute__((weak)) sl__error_state sl__the_error;

/* Records the error of the current call (the first one wins) and returns
   SL_ERROR. kind: a short machine-readable word, or "". */
__attribute__((format(printf, 2, 3)))
static inline int sl_fail(const char *kind, const char *fmt, ...)
{
    sl__error_state *e = &sl__the_error;
    if (e->set) return SL_ERROR;
    e->set = true;
    sl__text k = { e->kind, 0, sizeof e->kind, false };
    sl__text_add(&k, kind, sl__strlen(kind));
    k.buf[k.len] = '\0';
    sl__text m = { e->message, 0, sizeof e->message, false };
    va_list ap;
    va_start(ap, fmt);
    sl__vformat(&m, fmt, ap);
    va_end(ap);
    return SL_ERROR;
}

typedef enum sl_level { SL_LOG_DEBUG = 0, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR } sl_level;

/* Sends one log line to the host. */
__attribute__((format(printf, 2, 3)))
static inline void sl_log(sl_level level, const char *fmt, ...)
{
    char buf[SL__MESSAGE_MAX];
    sl__text t = { buf, 0, sizeof buf, false };
    va_list ap;
    va_start(ap, fmt);
    sl__vformat(&t, fmt, ap);
    va_end(ap);
    sluice_log((int)level, buf, t.len);
}

#define sl_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)

/* ---- Reading JSON -------------------------------------------------------- */

typedef enum sl_type {
    SL_NULL, SL_BOOL, SL_NUMBER, SL_STRING, SL_ARRAY, SL_OBJECT
} sl_type;

typedef struct sl_json sl_json;
struct sl_json {
    sl_type type;
    bool boolean;        /* SL_BOOL */
    double number;       /* SL_NUMBER */
    const char *string;  /* SL_STRING: decoded UTF-8; SL_NUMBER: its text */
    size_t len;
    sl_json *first;      /* SL_ARRAY, SL_OBJECT: first child, or NULL */
    size_t count;        /* SL_ARRAY, SL_OBJECT: number of children */
    sl_json *next;       /* next element or member of the parent */
    const char *key;     /* member of an object: its key (decoded UTF-8) */
    size_t key_len;
};

/* Nesting deeper than this is refused, so that the parser never exhausts
   the (small) Wasm stack. */
enum { SL_MAX_DEPTH = 256 };

typedef struct sl__chunk {
    struct sl__chunk *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
} sl__chunk;

/* A parsed document: owns its nodes. */
typedef struct sl_doc {
    sl_json *root;
    sl__chunk *chunks;
    char error[160]; /* why sl_parse failed: "at byte N: reason" */
} sl_doc;

static inline void sl_doc_free(sl_doc *doc)
{
    for (sl__chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        sl_free(c);
    }
    doc->chunks = NULL;
    doc->root = NULL;
}

/* size bytes, 8-byte aligned, owned by doc; NULL when out of memory. */
static inline void *sl__doc_alloc(sl_doc *doc, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    sl__chunk *c = doc->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = c ? c->cap * 2 : 4096;
        if (cap > ((size_t)1 << 20)) cap = (size_t)1 << 20;
        if (cap < size) cap = size;
        if (cap > (size_t)-1 / 2 - sizeof *c) return NULL;
        c = sl_alloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = doc->chunks;
        c->used = 0;
        c->cap = cap;
        doc->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

typedef struct sl__parser {
    const unsigned char *start, *p, *end;
    sl_doc *doc;
    int depth;
} sl__parser;

static inline bool sl__parse_error(sl__parser *ps, const char *why)
{
    sl__text t = { ps->doc->error, 0, sizeof ps->doc->error, false };
    char num[32];
    char *at = sl__format_int(num, (long long)(ps->p - ps->start));
    sl__text_add(&t, "at byte ", 8);
    sl__text_add(&t, at, (size_t)(num + 32 - at));
    sl__text_add(&t, ": ", 2);
    sl__text_add(&t, why, sl__strlen(why));
    t.buf[t.len] = '\0';
    return false;
}

static inline void sl__skip_space(sl__parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static inline bool sl__literal(sl__parser *ps, const char *word)
{
    size_t n = sl__strlen(word);
    if ((size_t)(ps->end - ps->p) < n) return sl__parse_error(ps, "invalid literal");
    for (size_t i = 0; i < n; i++)
        if (ps->p[i] != (unsigned char)word[i]) return sl__parse_error(ps, "invalid literal");
    ps->p += n;
    return true;
}

static inline int sl__hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Reads the string at ps->p (at its opening quote) into (*out, *len):
   a pointer into the input when there is no escape, else a decoded copy. */
static inline bool sl__string(sl__parser *ps, const char **out, size_t *len)
{
    const unsigned char *begin = ++ps->p;
    bool escaped = false;
    while (ps->p < ps->end && *ps->p != '"') {
        if (*ps->p < 0x20) return sl__parse_error(ps, "control character in string");
        if (*ps->p == '\\') {
            escaped = true;
            if (ps->end - ps->p < 2) {
                ps->p = ps->end;
                break;
            }
            ps->p += 2;
            continue;
        }
        size_t n = sl__utf8_seq(ps->p, (size_t)(ps->end - ps->p));
        if (!n) return sl__parse_error(ps, "invalid UTF-8 in string");
        ps->p += n;
    }
    if (ps->p >= ps->end) return sl__parse_error(ps, "unterminated string");
    const unsigned char *finish = ps->p++;
    if (!escaped) {
        *out = (const char *)begin;
        *len = (size_t)(finish - begin);
        return true;
    }
    /* An escape is never shorter than what it stands for. */
    unsigned char *dst = sl__doc_alloc(ps->doc, (size_t)(finish - begin));
    if (!dst) return sl__parse_error(ps, "out of memory");
    *out = (const char *)dst;
    for (const unsigned char *s = begin; s < finish;) {
        if (*s != '\\') {
            *dst++ = *s++;
            continue;
        }
        ps->p = s; /* error position */
        unsigned char c = s[1];
        s += 2;
        switch (c) {
        case '"': *dst++ = '"'; break;
        case '\\': *dst++ = '\\'; break;
        case '/': *dst++ = '/'; break;
        case 'b': *dst++ = '\b'; break;
        case 'f': *dst++ = '\f'; break;
        case 'n': *dst++ = '\n'; break;
        case 'r': *dst++ = '\r'; break;
        case 't': *dst++ = '\t'; break;
        case 'u': {
            int hi = finish - s >= 4 ? sl__hex4(s) : -1;
            if (hi < 0) return sl__parse_error(ps, "invalid \\u escape");
            s += 4;
            uint32_t cp = (uint32_t)hi;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return sl__parse_error(ps, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = finish - s >= 6 && s[0] == '\\' && s[1] == 'u' ? sl__hex4(s + 2) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return sl__parse_error(ps, "high surrogate without a low one in \\u escape");
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            }
            if (cp < 0x80) {
                *dst++ = (unsigned char)cp;
            } else if (cp < 0x800) {
                *dst++ = (unsigned char)(0xC0 | cp >> 6);
                *dst++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *dst++ = (unsigned char)(0xE0 | cp >> 12);
                *dst++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                *dst++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                *dst++ = (unsigned char)(0xF0 | cp >> 18);
                *dst++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
                *dst++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
                *dst++ = (unsigned char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return sl__parse_error(ps, "invalid escape in string");
        }
    }
    *len = (size_t)(dst - (const unsigned char *)*out);
    ps->p = finish + 1;
    return true;
}

/* Reads a number (JSON grammar) into node. */
static inline bool sl__number(sl__parser *ps, sl_json *node)
{
    const unsigned char *begin = ps->p, *p = ps->p, *end = ps->end;
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') p++;
    else if (p < end && *p >= '1' && *p <= '9') while (p < end && *p >= '0' && *p <= '9') p++;
    else return sl__parse_error(ps, "invalid number");
    if (p < end && *p == '.') {
        if (++p >= end || *p < '0' || *p > '9') { ps->p = p; return sl__parse_error(ps, "digit expected after the decimal point"); }
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') { ps->p = p; return sl__parse_error(ps, "digit expected in the exponent"); }
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    node->type = SL_NUMBER;
    node->string = (const char *)begin;
    node->len = (size_t)(p - begin);
#if SLUICE_FN_LIBC
    char small[64];
    char *text = node->len < sizeof small ? small : sl__doc_alloc(ps->doc, node->len + 1);
    if (!text) return sl__parse_error(ps, "out of memory");
    memcpy(text, begin, node->len);
    text[node->len] = '\0';
    node->number = strtod(text, NULL);
    if (node->number - node->number != 0) return sl__parse_error(ps, "number out of the range of a double");
#else
    sl__bits64 v;
    if (!sl__decimal_to_binary(node->string, node->len, false, &v.u))
        return sl__parse_error(ps, "number out of the range of a double");
    node->number = v.d;
#endif
    ps->p = p;
    return true;
}

static inline bool sl__value(sl__parser *ps, sl_json *node);

/* Reads the array or object at ps->p (at its opening bracket). */
static inline bool sl__container(sl__parser *ps, sl_json *node, bool object)
{
    if (++ps->depth > SL_MAX_DEPTH) return sl__parse_error(ps, "nesting too deep");
    node->type = object ? SL_OBJECT : SL_ARRAY;
    char close = object ? '}' : ']';
    sl_json **link = &node->first;
    ps->p++;
    sl__skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return true;
    }
    for (;;) {
        sl_json *child = sl__doc_alloc(ps->doc, sizeof *child);
        if (!child) return sl__parse_error(ps, "out of memory");
        *child = (sl_json){ .type = SL_NULL };
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') return sl__parse_error(ps, "member name (a string) expected");
            if (!sl__string(ps, &child->key, &child->key_len)) return false;
            sl__skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') return sl__parse_error(ps, "':' expected");
            ps->p++;
            sl__skip_space(ps);
        }
        if (!sl__value(ps, child)) return false;
        *link = child;
        link = &child->next;
        node->count++;
        sl__skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            sl__skip_space(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return true;
        }
        return sl__parse_error(ps, object ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static inline bool sl__value(sl__parser *ps, sl_json *node)
{
    if (ps->p >= ps->end) return sl__parse_error(ps, "value expected, found the end");
    switch (*ps->p) {
    case '{': return sl__container(ps, node, true);
    case '[': return sl__container(ps, node, false);
    case '"':
        node->type = SL_STRING;
        return sl__string(ps, &node->string, &node->len);
    case 't': node->type = SL_BOOL; node->boolean = true; return sl__literal(ps, "true");
    case 'f': node->type = SL_BOOL; node->boolean = false; return sl__literal(ps, "false");
    case 'n': node->type = SL_NULL; return sl__literal(ps, "null");
    default: return sl__number(ps, node);
    }
}

/* Parses len bytes of JSON text into doc. Returns the root value, or NULL
   with doc->error set (the document is then already freed). The text must
   outlive the document: strings without escapes point into it. Free the
   document with sl_doc_free. */
static inline sl_json *sl_parse(sl_doc *doc, const char *text, size_t len)
{
    *doc = (sl_doc){ .root = NULL };
    sl__parser ps = { (const unsigned char *)text, (const unsigned char *)text,
                      (const unsigned char *)text + len, doc, 0 };
    sl_json *root = sl__doc_alloc(doc, sizeof *root);
    if (!root) {
        sl__parse_error(&ps, "out of memory");
        return NULL;
    }
    *root = (sl_json){ .type = SL_NULL };
    sl__skip_space(&ps);
    bool ok = sl__value(&ps, root);
    if (ok) {
        sl__skip_space(&ps);
        if (ps.p < ps.end) ok = sl__parse_error(&ps, "unexpected text after the value");
    }
    if (!ok) {
        sl_doc_free(doc);
        return NULL;
    }
    doc->root = root;
    return root;
}

/* The member of object named key (the first one if repeated), or NULL when
   there is none or object is not an object. */
static inline const sl_json *sl_get(const sl_json *object, const char *key)
{
    if (!object || object->type != SL_OBJECT) return NULL;
    size_t n = sl__strlen(key);
    for (const sl_json *m = object->first; m; m = m->next) {
        if (m->key_len != n) continue;
        size_t i = 0;
        while (i < n && m->key[i] == key[i]) i++;
        if (i == n) return m;
    }
    return NULL;
}

/* Whether node is the string s. */
static inline bool sl_string_eq(const sl_json *node, const char *s)
{
    if (!node || node->type != SL_STRING || node->len != sl__strlen(s)) return false;
    for (size_t i = 0; i < node->len; i++)
        if (node->string[i] != s[i]) return false;
    return true;
}

/* The position of child among the children of parent (for messages). */
static inline size_t sl_index(const sl_json *parent, const sl_json *child)
{
    size_t i = 0;
    for (const sl_json *c = parent->first; c && c != child; c = c->next) i++;
    return i;
}

/* ---- Writing JSON ---------------------------------------------------------- */

enum { SL_WRITER_MAX_DEPTH = 64 };

typedef struct sl_writer {
    char *data;          /* the text written so far (not NUL-terminated) */
    size_t len, cap;
    const char *error;   /* why the writer stopped, or NULL */
    uint64_t objects;    /* bit d: the container at depth d is an object */
    int depth;
    bool need_comma;     /* a value was written at the current level */
    bool after_key;      /* a key was written, its value is due */
} sl_writer;

#define SL_WRITER_INIT { 0 }

static inline void sl_writer_free(sl_writer *w)
{
    sl_free(w->data);
    *w = (sl_writer)SL_WRITER_INIT;
}

static inline bool sl__writer_fail(sl_writer *w, const char *why)
{
    if (!w->error) w->error = why;
    return false;
}

static inline bool sl__put(sl_writer *w, const char *s, size_t n)
{
    if (w->error) return false;
    if (n == 0) return true;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > (size_t)-1 / 2) return sl__writer_fail(w, "out of memory");
            cap *= 2;
        }
        char *grown = sl_realloc(w->data, cap);
        if (!grown) return sl__writer_fail(w, "out of memory");
        w->data = grown;
        w->cap = cap;
    }
    SL__COPY(w->data + w->len, s, n);
    w->len += n;
    return true;
}

/* Checks that a value may come now and writes the comma before it. */
static inline bool sl__before_value(sl_writer *w)
{
    if (w->error) return false;
    if (w->depth == 0 && w->len > 0) return sl__writer_fail(w, "a second top-level value");
    if (w->depth > 0 && (w->objects >> (w->depth - 1) & 1) && !w->after_key)
        return sl__writer_fail(w, "a value inside an object without a key");
    if (w->need_comma && !w->after_key && !sl__put(w, ",", 1)) return false;
    w->after_key = false;
    return true;
}

static inline void sl__begin(sl_writer *w, bool object)
{
    if (!sl__before_value(w)) return;
    if (w->depth == SL_WRITER_MAX_DEPTH) {
        sl__writer_fail(w, "nesting too deep");
        return;
    }
    if (!sl__put(w, object ? "{" : "[", 1)) return;
    if (object) w->objects |= (uint64_t)1 << w->depth;
    else w->objects &= ~((uint64_t)1 << w->depth);
    w->depth++;
    w->need_comma = false;
}

static inline void sl__end(sl_writer *w, bool object)
{
    if (w->error) return;
    if (w->depth == 0 || (bool)(w->objects >> (w->depth - 1) & 1) != object) {
        sl__writer_fail(w, object ? "object end without its beginning" : "array end without its beginning");
        return;
    }
    if (w->after_key) {
        sl__writer_fail(w, "object end after a key without its value");
        return;
    }
    if (!sl__put(w, object ? "}" : "]", 1)) return;
    w->depth--;
    w->need_comma = true;
}

static inline void sl_write_object_begin(sl_writer *w) { sl__begin(w, true); }
static inline void sl_write_object_end(sl_writer *w) { sl__end(w, true); }
static inline void sl_write_array_begin(sl_writer *w) { sl__begin(w, false); }
static inline void sl_write_array_end(sl_writer *w) { sl__end(w, false); }

/* Writes s[0..n) as a JSON string, escaped. */
static inline bool sl__quoted(sl_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!sl__put(w, "\"", 1)) return false;
    size_t run = 0; /* bytes of s[i - run..i) not written yet */
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = { '\\', 0, '0', '0', 0, 0 };
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c < 0x20) {
                esc[1] = 'u';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                esc_len = 6;
                break;
            }
            size_t seq = sl__utf8_seq((const unsigned char *)s + i, n - i);
            if (!seq) return sl__writer_fail(w, "invalid UTF-8 in a string");
            i += seq;
            run += seq;
            continue;
        }
        if (!sl__put(w, s + i - run, run) || !sl__put(w, esc, esc_len)) return false;
        run = 0;
        i++;
    }
    return sl__put(w, s + n - run, run) && sl__put(w, "\"", 1);
}

/* Writes the key of the next member of the current object. */
static inline void sl_write_key_n(sl_writer *w, const char *key, size_t n)
{
    if (w->error) return;
    if (w->depth == 0 || !(w->objects >> (w->depth - 1) & 1) || w->after_key) {
        sl__writer_fail(w, w->after_key ? "two keys in a row" : "a key outside an object");
        return;
    }
    if (w->need_comma && !sl__put(w, ",", 1)) return;
    if (!sl__quoted(w, key, n) || !sl__put(w, ":", 1)) return;
    w->after_key = true;
    w->need_comma = true;
}

static inline void sl_write_key(sl_writer *w, const char *key)
{
    sl_write_key_n(w, key, sl__strlen(key));
}

/* The scalar writers: a value is written after sl__before_value. */
static inline void sl__scalar(sl_writer *w, const char *text, size_t n)
{
    if (sl__before_value(w) && sl__put(w, text, n)) w->need_comma = true;
}

static inline void sl_write_string_n(sl_writer *w, const char *s, size_t n)
{
    if (sl__before_value(w) && sl__quoted(w, s, n)) w->need_comma = true;
}

static inline void sl_write_string(sl_writer *w, const char *s)
{
    sl_write_string_n(w, s, sl__strlen(s));
}

static inline void sl__write_number(sl_writer *w, double v, bool single)
{
    char buf[32];
    size_t n = sl__format_number(buf, v, single);
    if (!n) {
        sl__writer_fail(w, "a number that is not finite (JSON has no NaN or infinity)");
        return;
    }
    sl__scalar(w, buf, n);
}

/* Writes v so that it reads back as the same double (15 to 17 digits). */
static inline void sl_write_number(sl_writer *w, double v) { sl__write_number(w, v, false); }

/* Writes v so that it reads back as the same float (6 to 9 digits): 0.1f
   is written 0.1, not 0.100000001490116. */
static inline void sl_write_float(sl_writer *w, float v) { sl__write_number(w, v, true); }

static inline void sl_write_int(sl_writer *w, long long v)
{
    char buf[32];
    char *p = sl__format_int(buf, v);
    sl__scalar(w, p, (size_t)(buf + 32 - p));
}

static inline void sl_write_bool(sl_writer *w, bool v)
{
    sl__scalar(w, v ? "true" : "false", v ? 4 : 5);
}

static inline void sl_write_null(sl_writer *w) { sl__scalar(w, "null", 4); }

/* Writes a copy of a parsed value; numbers keep their source text. */
static inline void sl_write_value(sl_writer *w, const sl_json *v)
{
    switch (v->type) {
    case SL_NULL: sl_write_null(w); break;
    case SL_BOOL: sl_write_bool(w, v->boolean); break;
    case SL_NUMBER:
        if (v->len) sl__scalar(w, v->string, v->len);
        else sl_write_number(w, v->number);
        break;
    case SL_STRING: sl_write_string_n(w, v->string, v->len); break;
    case SL_ARRAY:
    case SL_OBJECT:
        sl__begin(w, v->type == SL_OBJECT);
        for (const sl_json *c = v->first; c; c = c->next) {
            if (v->type == SL_OBJECT) sl_write_key_n(w, c->key, c->key_len);
            sl_write_value(w, c);
        }
        sl__end(w, v->type == SL_OBJECT);
        break;
    }
}

/* ---- The ABI glue ---------------------------------------------------------- */

typedef int (*sl_execute_fn)(const sl_json *input, sl_writer *out);
typedef int (*sl_init_fn)(const sl_json *config);

/* Sends the recorded error to the host and clears it. */
static inline int sl__report(void)
{
    sl__error_state *e = &sl__the_error;
    if (!e->set) sl_fail("", "the function failed without saying why (return sl_fail(...))");
    sluice_error(e->kind, sl__strlen(e->kind), e->message, sl__strlen(e->message));
    e->set = false;
    return SL_ERROR;
}

static inline int sl__run_init(sl_init_fn init, const char *ptr, size_t len)
{
    sl__the_error.set = false;
    sl_doc doc;
    const sl_json *config = sl_parse(&doc, ptr, len);
    int status = config ? init(config) : sl_fail("invalid_config", "the configuration is not valid JSON: %s", doc.error);
    sl_doc_free(&doc);
    return status == SL_OK ? SL_OK : sl__report();
}

static inline int sl__run_execute(sl_execute_fn execute, const char *ptr, size_t len)
{
    sl__the_error.set = false;
    sl_doc doc;
    const sl_json *input = sl_parse(&doc, ptr, len);
    if (!input) {
        sl_fail("invalid_input", "the input is not valid JSON: %s", doc.error);
        return sl__report();
    }
    sl_writer out = SL_WRITER_INIT;
    int status = execute(input, &out);
    sl_doc_free(&doc);
    if (status == SL_OK) {
        if (out.error)
            status = sl_fail("invalid_output", "the output cannot be written as JSON: %s", out.error);
        else if (out.len == 0 || out.depth > 0)
            status = sl_fail("invalid_output", "the output is not a complete JSON value (%s)",
                             out.len == 0 ? "nothing was written" : "an array or object was left open");
        else
            sluice_output(out.data, out.len);
    }
    sl_writer_free(&out);
    return status == SL_OK ? SL_OK : sl__report();
}

/* ---- ABI v2: binary columnar batches --------------------------------------- */

/* With SLUICE_FUNCTION_V2 the input is a batch of typed columns read in
   place (no parsing), and the output is built column by column: by
   default one value per input row, and the host then keeps every input
   record with the output's columns added or replacing fields of the same
   name. docs/abi.md has the byte layout. */

#define SLUICE_FN_BATCH_VERSION 2

typedef enum sl_column_type {
    SL_COL_NULL, SL_COL_BOOL, SL_COL_I64, SL_COL_F64, SL_COL_STRING, SL_COL_TIMESTAMP,
    SL_COL_JSON
} sl_column_type;

/* An input column: views into the input, valid during the call. */
typedef struct sl_column {
    const char *name;           /* not NUL-terminated */
    size_t name_len;
    sl_column_type type;
    size_t rows;
    const uint8_t *valid;       /* bit r%8 of byte r/8: row r has a value */
    const bool *bools;          /* SL_COL_BOOL */
    const int64_t *i64;         /* SL_COL_I64; SL_COL_TIMESTAMP: ns since 1970 UTC */
    const double *f64;          /* SL_COL_F64 */
    const uint32_t *offsets;    /* SL_COL_STRING, SL_COL_JSON: row r is */
    const char *bytes;          /* bytes[offsets[r]..offsets[r + 1]) */
} sl_column;

typedef struct sl_batch {
    size_t rows, ncolumns;
    sl_column *columns;
} sl_batch;

/* The column of that name, or NULL. */
static inline const sl_column *sl_column_get(const sl_batch *b, const char *name)
{
    size_t n = sl__strlen(name);
    for (size_t k = 0; k < b->ncolumns; k++) {
        const sl_column *c = &b->columns[k];
        size_t i = 0;
        while (i < n && i < c->name_len && c->name[i] == name[i]) i++;
        if (i == n && c->name_len == n) return c;
    }
    return NULL;
}

static inline bool sl_is_null(const sl_column *c, size_t row)
{
    return c->type == SL_COL_NULL || !(c->valid[row >> 3] >> (row & 7) & 1);
}

/* A number column's value as a double (i64 converted); 0 for null rows. */
static inline double sl_column_number(const sl_column *c, size_t row)
{
    if (sl_is_null(c, row)) return 0;
    return c->type == SL_COL_F64 ? c->f64[row] : c->type == SL_COL_I64 ? (double)c->i64[row] : 0;
}

/* A string (or json) column's value; *len 0 for null rows. */
static inline const char *sl_column_string(const sl_column *c, size_t row, size_t *len)
{
    *len = c->offsets[row + 1] - c->offsets[row];
    return c->bytes + c->offsets[row];
}

/* An output column. Fill the array of its type, one item per row; a new
   bool, i64, f64 or timestamp column has every row valid (false or 0), a
   string or json column every row null until sl_out_string gives it. */
typedef struct sl_out_column {
    bool *bools;                /* SL_COL_BOOL */
    int64_t *i64;               /* SL_COL_I64, SL_COL_TIMESTAMP */
    double *f64;                /* SL_COL_F64 */
    /* The rest is the SDK's. */
    const char *name;
    size_t name_len, rows, next_row;
    sl_column_type type;
    uint8_t *valid;
    uint32_t *offsets;
    char *bytes;
    size_t bytes_len, bytes_cap;
    struct sl_out_column *next;
} sl_out_column;

typedef struct sl_out {
    size_t rows;                /* the input's, unless sl_out_new_rows */
    bool new_rows;
    const char *error;          /* why the output cannot be sent, or NULL */
    sl_out_column *first, *last;
    size_t ncolumns;
} sl_out;

static inline bool sl__out_fail(sl_out *out, const char *why)
{
    if (!out->error) out->error = why;
    return false;
}

/* Makes the output `rows` new records (an aggregate, a filter...) rather
   than an update of the input rows. Call it before adding any column. */
static inline bool sl_out_new_rows(sl_out *out, size_t rows)
{
    if (out->first) return sl__out_fail(out, "sl_out_new_rows after a column was added");
    out->rows = rows;
    out->new_rows = true;
    return true;
}

static inline size_t sl__pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static inline void *sl__zalloc(size_t size)
{
    void *p = sl_alloc(size);
    if (p) SL__FILL(p, 0, size);
    return p;
}

/* Adds a column named name (the string must outlive the call), or NULL
   when out of memory (then return an error). */
static inline sl_out_column *sl_out_add(sl_out *out, const char *name, sl_column_type type)
{
    size_t rows = out->rows, bitmap = (rows + 7) / 8;
    size_t width = type == SL_COL_BOOL ? 1 : type == SL_COL_I64 || type == SL_COL_F64 ||
                                                     type == SL_COL_TIMESTAMP ? 8 : 0;
    bool variable = type == SL_COL_STRING || type == SL_COL_JSON;
    sl_out_column *c = sl__zalloc(sizeof *c);
    if (!c) return sl__out_fail(out, "out of memory"), NULL;
    *c = (sl_out_column){ .name = name, .name_len = sl__strlen(name), .rows = rows, .type = type };
    c->valid = sl__zalloc(bitmap + 1);
    void *values = width ? sl__zalloc(width * rows + 1) : NULL;
    c->offsets = variable ? sl__zalloc((rows + 1) * 4) : NULL;
    if (!c->valid || (width && !values) || (variable && !c->offsets)) {
        sl_free(c->valid);
        sl_free(values);
        sl_free(c->offsets);
        sl_free(c);
        return sl__out_fail(out, "out of memory"), NULL;
    }
    if (width) SL__FILL(c->valid, 0xff, bitmap);
    c->bools = type == SL_COL_BOOL ? values : NULL;
    c->i64 = width == 8 && type != SL_COL_F64 ? values : NULL;
    c->f64 = type == SL_COL_F64 ? values : NULL;
    if (out->last) out->last->next = c;
    else out->first = c;
    out->last = c;
    out->ncolumns++;
    return c;
}

/* Marks a row of a bool, i64, f64 or timestamp column null. */
static inline void sl_out_null(sl_out_column *c, size_t row)
{
    if (row < c->rows) c->valid[row >> 3] &= (uint8_t)~(1u << (row & 7));
}

/* Sets row `row` of a string or json column (JSON text for json); rows go
   in increasing order, and the rows skipped are null. */
static inline bool sl_out_string(sl_out *out, sl_out_column *c, size_t row, const char *s, size_t n)
{
    if (!c->offsets || row < c->next_row || row >= c->rows)
        return sl__out_fail(out, !c->offsets ? "sl_out_string on a column that is not string or json"
                                             : "sl_out_string: rows out of order or beyond the last");
    if (c->bytes_cap - c->bytes_len < n) {
        size_t cap = c->bytes_cap ? c->bytes_cap : 256;
        while (cap - c->bytes_len < n) cap *= 2;
        char *grown = sl_realloc(c->bytes, cap);
        if (!grown) return sl__out_fail(out, "out of memory");
        c->bytes = grown;
        c->bytes_cap = cap;
    }
    for (; c->next_row < row; c->next_row++) c->offsets[c->next_row + 1] = (uint32_t)c->bytes_len;
    if (n) SL__COPY(c->bytes + c->bytes_len, s, n);
    c->bytes_len += n;
    c->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
    c->offsets[row + 1] = (uint32_t)c->bytes_len;
    c->next_row = row + 1;
    return true;
}

static inline void sl__out_free(sl_out *out)
{
    for (sl_out_column *c = out->first, *next; c; c = next) {
        next = c->next;
        sl_free(c->valid);
        sl_free(c->bools ? (void *)c->bools : c->i64 ? (void *)c->i64 : (void *)c->f64);
        sl_free(c->offsets);
        sl_free(c->bytes);
        sl_free(c);
    }
    *out = (sl_out){ 0 };
}

static inline size_t sl__out_column_size(const sl_out_column *c)
{
    size_t size = 8 + sl__pad8(c->name_len) + sl__pad8((c->rows + 7) / 8);
    if (c->offsets) return size + sl__pad8((c->rows + 1) * 4) + sl__pad8(c->bytes_len);
    return size + sl__pad8((c->type == SL_COL_BOOL ? 1 : c->type == SL_COL_NULL ? 0 : 8) * c->rows);
}

/* Copies n bytes to p and zero-pads them to 8; returns the end. */
static inline unsigned char *sl__out_put(unsigned char *p, const void *src, size_t n)
{
    if (n) SL__COPY(p, src, n);
    SL__FILL(p + n, 0, sl__pad8(n) - n);
    return p + sl__pad8(n);
}

static inline unsigned char *sl__out_column(unsigned char *p, sl_out_column *c)
{
    uint32_t head[2] = { (uint32_t)c->name_len, (uint32_t)c->type };
    p = sl__out_put(p, head, 8);
    p = sl__out_put(p, c->name, c->name_len);
    p = sl__out_put(p, c->valid, (c->rows + 7) / 8);
    if (c->offsets) {
        for (; c->next_row < c->rows; c->next_row++) c->offsets[c->next_row + 1] = (uint32_t)c->bytes_len;
        p = sl__out_put(p, c->offsets, (c->rows + 1) * 4);
        return sl__out_put(p, c->bytes, c->bytes_len);
    }
    const void *values = c->bools ? (const void *)c->bools : c->i64 ? (const void *)c->i64 : (const void *)c->f64;
    return sl__out_put(p, values, (c->type == SL_COL_BOOL ? 1 : c->type == SL_COL_NULL ? 0 : 8) * c->rows);
}

/* Lays the output out as a batch and hands it to the host. */
static inline int sl__out_send(sl_out *out)
{
    size_t size = 16;
    for (const sl_out_column *c = out->first; c; c = c->next) size += sl__out_column_size(c);
    unsigned char *batch = sl_alloc(size);
    if (!batch) return sl_fail("invalid_output", "out of memory for an output of %zu bytes", size);
    uint32_t head[4] = { 0x42434c53u /* "SLCB" */, SLUICE_FN_BATCH_VERSION | (out->new_rows ? 1u << 16 : 0),
                         (uint32_t)out->rows, (uint32_t)out->ncolumns };
    unsigned char *p = sl__out_put(batch, head, 16);
    for (sl_out_column *c = out->first; c; c = c->next) p = sl__out_column(p, c);
    sluice_output(batch, size);
    sl_free(batch);
    return SL_OK;
}

/* Reads the input batch in place (the host wrote it at an 8-byte aligned
   address, so that the arrays can be used as they are). */
static inline bool sl__read_batch(sl_batch *b, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    uint32_t head[4];
    if (len < 16 || ((uintptr_t)p & 7)) return false;
    SL__COPY(head, p, 16);
    if (head[0] != 0x42434c53u || head[1] != SLUICE_FN_BATCH_VERSION) return false;
    b->rows = head[2];
    b->ncolumns = head[3];
    b->columns = sl_alloc((b->ncolumns ? b->ncolumns : 1) * sizeof *b->columns);
    if (!b->columns) return false;
    p += 16;
    size_t rows = b->rows, bitmap = sl__pad8((rows + 7) / 8);
    for (size_t k = 0; k < b->ncolumns; k++) {
        sl_column *c = &b->columns[k];
        if ((size_t)(end - p) < 8) return false;
        uint32_t name_len, type;
        SL__COPY(&name_len, p, 4);
        SL__COPY(&type, p + 4, 4);
        *c = (sl_column){ .name = (const char *)p + 8, .name_len = name_len,
                          .type = (sl_column_type)(type & 0xff), .rows = rows };
        size_t width = c->type == SL_COL_BOOL ? 1 : c->type == SL_COL_NULL ? 0 : 8;
        bool variable = c->type == SL_COL_STRING || c->type == SL_COL_JSON;
        size_t fixed = 8 + sl__pad8(name_len) + bitmap + (variable ? sl__pad8((rows + 1) * 4)
                                                                   : sl__pad8(width * rows));
        if (c->type > SL_COL_JSON || (size_t)(end - p) < fixed) return false;
        c->valid = p + 8 + sl__pad8(name_len);
        const unsigned char *values = c->valid + bitmap;
        p += fixed;
        if (variable) {
            c->offsets = (const uint32_t *)(const void *)values;
            c->bytes = (const char *)p;
            if ((size_t)(end - p) < sl__pad8(c->offsets[rows])) return false;
            p += sl__pad8(c->offsets[rows]);
        }
        c->bools = c->type == SL_COL_BOOL ? (const bool *)(const void *)values : NULL;
        c->i64 = c->type == SL_COL_I64 || c->type == SL_COL_TIMESTAMP ? (const int64_t *)(const void *)values : NULL;
        c->f64 = c->type == SL_COL_F64 ? (const double *)(const void *)values : NULL;
    }
    return p == end;
}

typedef int (*sl_execute_v2_fn)(const sl_batch *input, sl_out *out);

static inline int sl__run_execute_v2(sl_execute_v2_fn execute, const char *ptr, size_t len)
{
    sl__the_error.set = false;
    sl_batch in = { 0 };
    int status;
    if (!sl__read_batch(&in, (const unsigned char *)ptr, len)) {
        status = sl_fail("invalid_input", "the input is not a valid batch of ABI v2");
    } else {
        sl_out out = { .rows = in.rows };
        status = execute(&in, &out);
        if (status == SL_OK && out.error)
            status = sl_fail("invalid_output", "the output cannot be built: %s", out.error);
        else if (status == SL_OK)
            status = sl__out_send(&out);
        sl__out_free(&out);
    }
    sl_free(in.columns);
    return status == SL_OK ? SL_OK : sl__report();
}

/* SLUICE_FUNCTION_V2(execute) or SLUICE_FUNCTION_V2(execute, init): the
   exports of ABI v2; execute is int (const sl_batch *, sl_out *), init
   takes the JSON configuration as with SLUICE_FUNCTION. */
#define SLUICE_FUNCTION_V2(...) SL__PICK(__VA_ARGS__, SL__FUNCTION_V2_INIT, SL__FUNCTION_V2, unused)(__VA_ARGS__)
#define SL__FUNCTION_V2(execute) SL__EXPORTS(SLUICE_FN_BATCH_VERSION, sl__run_execute_v2, execute)
#define SL__FUNCTION_V2_INIT(execute, init) SL__EXPORTS_INIT(SLUICE_FN_BATCH_VERSION, sl__run_execute_v2, execute, init)

/* SLUICE_FUNCTION(execute) or SLUICE_FUNCTION(execute, init): the exports. */
#define SLUICE_FUNCTION(...) SL__PICK(__VA_ARGS__, SL__FUNCTION_INIT, SL__FUNCTION, unused)(__VA_ARGS__)
#define SL__PICK(a, b, name, ...) name

#define SL__FUNCTION(execute) SL__EXPORTS(SLUICE_FN_ABI_VERSION, sl__run_execute, execute)
#define SL__FUNCTION_INIT(execute, init) SL__EXPORTS_INIT(SLUICE_FN_ABI_VERSION, sl__run_execute, execute, init)

/* The exports of ABI `version`, whose sluice_execute is run(execute, ...). */
#define SL__EXPORTS(version, run, execute)                                      \
    SL__EXPORT(sluice_abi_version) int sluice_abi_version(void)                 \
    {                                                                           \
        return (version);                                                       \
    }                                                                           \
    SL__EXPORT(sluice_alloc) void *sluice_alloc(size_t size)                    \
    {                                                                           \
        return sl_alloc(size);                                                  \
    }                                                                           \
    SL__EXPORT(sluice_free) void sluice_free(void *ptr, size_t size)            \
    {                                                                           \
        (void)size;                                                             \
        sl_free(ptr);                                                           \
    }                                                                           \
    SL__EXPORT(sluice_execute) int sluice_execute(const char *ptr, size_t len)  \
    {                                                                           \
        return run((execute), ptr, len);                                        \
    }

#define SL__EXPORTS_INIT(version, run, execute, init)                           \
    SL__EXPORTS(version, run, execute)                                          \
    SL__EXPORT(sluice_init) int sluice_init(const char *ptr, size_t len)        \
    {                                                                           \
        return sl__run_init((init), ptr, len);                                  \
    }

#endif
