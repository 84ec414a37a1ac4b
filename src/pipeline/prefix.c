/*
** prefix.c: the done prefix of a set of keys (prefix.h).
*/
#include "prefix.h"
#include "record.h"

#include <stdlib.h>
#include <string.h>

void sl_prefix_init(SlPrefix *p)
{
    *p = (SlPrefix){ 0 };
}

void sl_prefix_free(SlPrefix *p)
{
    free(p->entries);
    *p = (SlPrefix){ 0 };
}

static SlPrefixEntry *at(const SlPrefix *p, size_t i)
{
    return &p->entries[p->start + i];
}

/* The first held index whose key is >= key (count if none). */
static size_t lower_bound(const SlPrefix *p, uint64_t key)
{
    size_t lo = 0, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(p, mid)->key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Room for one more at the end: slide to the front of the array when the
** popped space is at least half of it, else grow. */
static void make_room(SlPrefix *p)
{
    if (p->start + p->count < p->cap) return;
    if (p->start >= p->cap / 2 && p->start > 0) {
        memmove(p->entries, at(p, 0), p->count * sizeof *p->entries);
        p->start = 0;
        return;
    }
    p->cap = p->cap ? 2 * p->cap : 64;
    p->entries = sl_xrealloc(p->entries, p->cap * sizeof *p->entries);
}

/* The entry of `key`, inserted open (without item) where it belongs if
** absent; NULL at or below the floor. */
static SlPrefixEntry *find_or_insert(SlPrefix *p, uint64_t key)
{
    if (key <= p->floor) return NULL;
    size_t i = lower_bound(p, key);
    if (i < p->count && at(p, i)->key == key) return at(p, i);
    make_room(p);
    SlPrefixEntry *e = at(p, i);
    /* Keys out of order (a redelivery of a message never seen) are rare:
    ** a shift is cheap enough. */
    memmove(e + 1, e, (p->count - i) * sizeof *e);
    *e = (SlPrefixEntry){ .key = key };
    p->count++;
    return e;
}

bool sl_prefix_open(SlPrefix *p, uint64_t key, void *item)
{
    SlPrefixEntry *e = find_or_insert(p, key);
    if (!e || e->done) return false;
    e->item = item;
    return true;
}

void sl_prefix_done(SlPrefix *p, uint64_t key, void *item)
{
    SlPrefixEntry *e = find_or_insert(p, key);
    if (!e) return;
    e->done = true;
    e->item = item;
}

void sl_prefix_forget(SlPrefix *p, uint64_t key, const void *item)
{
    size_t i = lower_bound(p, key);
    if (i < p->count && at(p, i)->key == key && !at(p, i)->done && at(p, i)->item == item)
        at(p, i)->item = NULL;
}

bool sl_prefix_pop(SlPrefix *p, uint64_t *key, void **item)
{
    if (p->count == 0 || !at(p, 0)->done) return false;
    *key = p->floor = at(p, 0)->key;
    *item = at(p, 0)->item;
    p->start++;
    if (--p->count == 0) p->start = 0;
    return true;
}

size_t sl_prefix_count_above(const SlPrefix *p, uint64_t key)
{
    if (key == UINT64_MAX) return 0;
    return p->count - lower_bound(p, key + 1);
}
