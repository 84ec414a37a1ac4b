/*
** pack.c: batches to compact bytes and back (pack.h). Unpacking checks
** every length against what is left, so damaged input gives NULL, never a
** read out of bounds.
*/
#include "pack.h"

#include <string.h>

enum { MAX_DEPTH = 2048 };          /* nesting, as jansson allows */

/* ---- Packing ----------------------------------------------------------- */

static void put_varint(SlBuf *b, uint64_t v)
{
    sl_buf_reserve(b, 10);
    while (v >= 0x80) {
        b->data[b->len++] = (char)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (char)v;
}

static void put_zigzag(SlBuf *b, int64_t v)
{
    put_varint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_bytes(SlBuf *b, const char *s, size_t len)
{
    put_varint(b, len);
    sl_buf_put(b, s, len);
}

static void put_map(SlBuf *b, const SlMap *m);

static void put_value(SlBuf *b, const SlValue *v)
{
    sl_buf_putc(b, (char)v->type);
    switch ((SlType)v->type) {
    case SL_NULL: break;
    case SL_BOOL: sl_buf_putc(b, (char)v->as.b); break;
    case SL_INT: put_zigzag(b, v->as.i); break;
    case SL_TIMESTAMP: put_zigzag(b, v->as.ns); break;
    case SL_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->as.f, sizeof bits);
        for (int i = 0; i < 8; i++) sl_buf_putc(b, (char)(bits >> (8 * i)));
        break;
    }
    case SL_STRING: put_bytes(b, v->as.s, v->len); break;
    case SL_ARRAY:
        put_varint(b, v->len);
        for (uint32_t i = 0; i < v->len; i++) put_value(b, &v->as.items[i]);
        break;
    case SL_MAP: put_map(b, v->as.map); break;
    }
}

static void put_map(SlBuf *b, const SlMap *m)
{
    put_varint(b, m->count);
    for (uint32_t i = 0; i < m->count; i++) {
        put_bytes(b, m->fields[i].name, m->fields[i].name_len);
        put_value(b, &m->fields[i].value);
    }
}

void sl_pack_batch(SlBuf *out, const SlBatch *b)
{
    put_varint(out, b->count);
    for (uint32_t i = 0; i < b->count; i++) {
        put_map(out, &b->records[i].fields);
        put_map(out, &b->records[i].meta);
    }
}

/* ---- Unpacking --------------------------------------------------------- */

typedef struct Reader {
    const unsigned char *p, *end;
    SlBatch *b;
    bool bad;
} Reader;

static uint64_t get_varint(Reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p == r->end) break;
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

/* A count of items that each take at least one byte: never more than the
** bytes left, so a damaged count cannot ask for a huge allocation. */
static uint32_t get_count(Reader *r)
{
    uint64_t n = get_varint(r);
    if (n > (uint64_t)(r->end - r->p) || n > UINT32_MAX) r->bad = true;
    return r->bad ? 0 : (uint32_t)n;
}

static const char *get_bytes(Reader *r, uint32_t *len)
{
    *len = get_count(r);
    const char *s = sl_copy_str(r->b, (const char *)r->p, *len);
    r->p += *len;
    return s;
}

static void get_map(Reader *r, SlMap *m, int depth);

static SlValue get_value(Reader *r, int depth)
{
    if (r->p == r->end || depth > MAX_DEPTH) {
        r->bad = true;
        return sl_null();
    }
    switch (*r->p++) {
    case SL_NULL: return sl_null();
    case SL_BOOL:
        if (r->p == r->end) break;
        return sl_bool(*r->p++ != 0);
    case SL_INT: {
        uint64_t z = get_varint(r);
        return sl_int((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
    }
    case SL_TIMESTAMP: {
        uint64_t z = get_varint(r);
        return sl_time((int64_t)(z >> 1) ^ -(int64_t)(z & 1));
    }
    case SL_FLOAT: {
        if (r->end - r->p < 8) break;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits |= (uint64_t)r->p[i] << (8 * i);
        r->p += 8;
        double f;
        memcpy(&f, &bits, sizeof f);
        return sl_float(f);
    }
    case SL_STRING: {
        uint32_t len;
        const char *s = get_bytes(r, &len);
        return sl_str(s, len);
    }
    case SL_ARRAY: {
        SlValue v = sl_array(r->b, get_count(r));
        for (uint32_t i = 0; i < v.len && !r->bad; i++) v.as.items[i] = get_value(r, depth + 1);
        return v;
    }
    case SL_MAP: {
        SlValue v = sl_map(r->b);
        get_map(r, v.as.map, depth + 1);
        return v;
    }
    default:
        break;
    }
    r->bad = true;
    return sl_null();
}

static void get_map(Reader *r, SlMap *m, int depth)
{
    uint32_t n = get_count(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t len;
        const char *name = get_bytes(r, &len);
        if (r->bad) return;
        SlValue v = get_value(r, depth);
        *sl_map_set(r->b, m, name, len) = v;
    }
}

SlBatch *sl_unpack_batch(const void *data, size_t len)
{
    Reader r = { data, (const unsigned char *)data + len, sl_batch_new(), false };
    uint32_t n = get_count(&r);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        SlRecord *rec = sl_batch_add(r.b);
        get_map(&r, &rec->fields, 0);
        if (!r.bad) get_map(&r, &rec->meta, 0);
    }
    if (!r.bad && r.p == r.end) return r.b;
    sl_batch_free(r.b);
    return NULL;
}
