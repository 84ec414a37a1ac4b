/*
** record.c: batches, their arenas, and the record and value operations of
** record.h. Arena blocks are 64 KiB (below the size where malloc turns to
** mmap, which would cost a system call and page faults per batch), and
** freed blocks are kept in a small pool for the next batches.
*/
#include "record.h"
#include "ack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct SlArenaBlock {
    SlArenaBlock *next;
    size_t size;
    _Alignas(8) char data[];
};

enum { BLOCK_SIZE = 64 * 1024 - 64, POOL_MAX = 64 };

static struct {
    pthread_mutex_t lock;
    SlArenaBlock *blocks;
    size_t count;
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "sluice: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *sl_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) {
        fprintf(stderr, "sluice: out of memory (%zu bytes)\n", size);
        abort();
    }
    return q;
}

static SlArenaBlock *block_new(size_t need)
{
    SlArenaBlock *blk = NULL;
    if (need <= BLOCK_SIZE) {
        pthread_mutex_lock(&pool.lock);
        if ((blk = pool.blocks)) {
            pool.blocks = blk->next;
            pool.count--;
        }
        pthread_mutex_unlock(&pool.lock);
        need = BLOCK_SIZE;
    }
    if (!blk) {
        blk = xmalloc(sizeof *blk + need);
        blk->size = need;
    }
    return blk;
}

static void block_free(SlArenaBlock *blk)
{
    if (blk->size == BLOCK_SIZE) {
        pthread_mutex_lock(&pool.lock);
        bool kept = pool.count < POOL_MAX;
        if (kept) {
            blk->next = pool.blocks;
            pool.blocks = blk;
            pool.count++;
        }
        pthread_mutex_unlock(&pool.lock);
        if (kept) return;
    }
    free(blk);
}

static void arena_grow(SlArena *a, size_t need)
{
    SlArenaBlock *blk = block_new(need);
    blk->next = a->head;
    a->head = blk;
    a->next = blk->data;
    a->end = blk->data + blk->size;
    a->total += blk->size;
}

void *sl_alloc(SlBatch *b, size_t size)
{
    SlArena *a = &b->arena;
    size = (size + 7) & ~(size_t)7;
    if ((size_t)(a->end - a->next) < size) arena_grow(a, size);
    void *p = a->next;
    a->next += size;
    return p;
}

const char *sl_copy_str(SlBatch *b, const char *s, size_t len)
{
    char *p = sl_alloc(b, len + 1);
    if (len) memcpy(p, s, len);
    p[len] = 0;
    return p;
}

/* ---- Batches --------------------------------------------------------- */

SlBatch *sl_batch_new(void)
{
    SlBatch *b = xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    return b;
}

void sl_batch_free(SlBatch *b)
{
    if (!b) return;
    SlArenaBlock *blk = b->arena.head;
    while (blk) {
        SlArenaBlock *next = blk->next;
        block_free(blk);
        blk = next;
    }
    free(b->records);
    SlAck *ack = b->ack;
    free(b);
    sl_ack_release(ack);
}

SlRecord *sl_batch_add(SlBatch *b)
{
    if (b->count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : SL_BATCH_RECORDS;
        SlRecord *grown = realloc(b->records, b->cap * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "sluice: out of memory (batch of %u)\n", b->cap);
            abort();
        }
        b->records = grown;
    }
    SlRecord *r = &b->records[b->count++];
    memset(r, 0, sizeof *r);
    return r;
}

size_t sl_batch_memory(const SlBatch *b)
{
    return sizeof *b + b->cap * sizeof(SlRecord) + b->arena.total;
}

/* ---- Deep copies ----------------------------------------------------- */

static void copy_map(SlBatch *b, SlMap *dst, const SlMap *src);

SlValue sl_value_copy(SlBatch *b, const SlValue *v)
{
    SlValue out = *v;
    switch (v->type) {
    case SL_STRING:
        out.as.s = sl_copy_str(b, v->as.s, v->len);
        break;
    case SL_ARRAY:
        out = sl_array(b, v->len);
        for (uint32_t i = 0; i < v->len; i++)
            out.as.items[i] = sl_value_copy(b, &v->as.items[i]);
        break;
    case SL_MAP:
        out = sl_map(b);
        copy_map(b, out.as.map, v->as.map);
        break;
    default:
        break;
    }
    return out;
}

static void copy_map(SlBatch *b, SlMap *dst, const SlMap *src)
{
    dst->count = dst->cap = src->count;
    dst->fields = src->count ? sl_alloc(b, src->count * sizeof(SlField)) : NULL;
    for (uint32_t i = 0; i < src->count; i++) {
        const SlField *f = &src->fields[i];
        dst->fields[i].name = sl_copy_str(b, f->name, f->name_len);
        dst->fields[i].name_len = f->name_len;
        dst->fields[i].value = sl_value_copy(b, &f->value);
    }
}

SlRecord *sl_batch_add_copy(SlBatch *b, const SlRecord *r)
{
    SlRecord *copy = sl_batch_add(b);
    copy_map(b, &copy->fields, &r->fields);
    copy_map(b, &copy->meta, &r->meta);
    return copy;
}

SlBatch *sl_batch_clone(const SlBatch *b)
{
    SlBatch *c = sl_batch_new();
    for (uint32_t i = 0; i < b->count; i++) sl_batch_add_copy(c, &b->records[i]);
    c->bytes = b->bytes;
    c->ack = sl_ack_hold(b->ack);
    return c;
}

/* ---- Values and maps ------------------------------------------------- */

SlValue sl_array(SlBatch *b, uint32_t n)
{
    SlValue v = { .type = SL_ARRAY, .len = n };
    v.as.items = n ? sl_alloc(b, n * sizeof(SlValue)) : NULL;
    for (uint32_t i = 0; i < n; i++) v.as.items[i] = sl_null();
    return v;
}

SlValue sl_map(SlBatch *b)
{
    SlValue v = { .type = SL_MAP };
    v.as.map = sl_alloc(b, sizeof(SlMap));
    memset(v.as.map, 0, sizeof(SlMap));
    return v;
}

const char *sl_type_name(SlType t)
{
    static const char *const names[] = {
        "null", "bool", "int", "float", "string", "timestamp", "array", "map"
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static SlField *find_field(const SlMap *m, const char *name, size_t len)
{
    for (uint32_t i = 0; i < m->count; i++) {
        SlField *f = &m->fields[i];
        if (f->name_len == len && !memcmp(f->name, name, len)) return f;
    }
    return NULL;
}

SlValue *sl_map_get(const SlMap *m, const char *name, size_t len)
{
    SlField *f = find_field(m, name, len);
    return f ? &f->value : NULL;
}

SlValue *sl_map_set(SlBatch *b, SlMap *m, const char *name, size_t len)
{
    SlField *f = find_field(m, name, len);
    if (f) return &f->value;
    if (m->count == m->cap) {
        /* The old table stays in the arena: cheap, and it dies with it. */
        uint32_t cap = m->cap ? m->cap * 2 : 8;
        SlField *grown = sl_alloc(b, cap * sizeof *grown);
        if (m->count) memcpy(grown, m->fields, m->count * sizeof *grown);
        m->fields = grown;
        m->cap = cap;
    }
    f = &m->fields[m->count++];
    f->name = name;
    f->name_len = (uint32_t)len;
    f->value = sl_null();
    return &f->value;
}

bool sl_map_remove(SlMap *m, const char *name, size_t len)
{
    SlField *f = find_field(m, name, len);
    if (!f) return false;
    size_t after = (size_t)(m->fields + m->count - (f + 1));
    memmove(f, f + 1, after * sizeof *f);
    m->count--;
    return true;
}

bool sl_map_rename(SlMap *m, const char *from, size_t from_len,
                   const char *to, size_t to_len)
{
    SlField *f = find_field(m, from, from_len);
    if (!f) return false;
    sl_map_remove(m, to, to_len);
    f = find_field(m, from, from_len); /* removal may have moved it */
    f->name = to;
    f->name_len = (uint32_t)to_len;
    return true;
}

SlValue *sl_get(const SlRecord *r, const char *name)
{
    return sl_map_get(&r->fields, name, strlen(name));
}

SlValue *sl_set(SlBatch *b, SlRecord *r, const char *name)
{
    return sl_map_set(b, &r->fields, name, strlen(name));
}
