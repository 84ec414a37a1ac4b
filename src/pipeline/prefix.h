/*
** prefix.h: the done prefix of a set of keys. Keys (stream sequences,
** offsets, counters) are opened as their work starts and marked done, in
** any order, as it is committed; the prefix moves over the lowest keys as
** long as each is done, and stops at the first that is not. An open key
** below keys already popped cannot exist: a key at or below the floor is
** ignored. Each key carries an item (the message to acknowledge it by, a
** checkpoint's mark), handed back when the prefix moves past it.
**
** One sorted array, appended to at the end in the usual case (keys come
** in increasing order) and popped at the front: no allocation per key. Not
** thread-safe: the caller locks.
*/
#ifndef SLUICE_PREFIX_H
#define SLUICE_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SlPrefixEntry {
    uint64_t key;
    void *item;
    bool done;
} SlPrefixEntry;

typedef struct SlPrefix {
    SlPrefixEntry *entries;         /* [start, start + count), sorted by key */
    size_t start, count, cap;
    uint64_t floor;                 /* every key up to it was popped */
} SlPrefix;

void sl_prefix_init(SlPrefix *p);
void sl_prefix_free(SlPrefix *p);

/* Opens `key` with `item`; an open key takes the newer item (the latest
** delivery of a message). False, and nothing changes, if the key is done
** or at or below the floor. */
bool sl_prefix_open(SlPrefix *p, uint64_t key, void *item);
/* Marks `key` done, by `item` (not NULL); opens it first if it is unknown. Ignored
** at or below the floor. */
void sl_prefix_done(SlPrefix *p, uint64_t key, void *item);
/* `item` is going away: an open key that holds it holds nothing now (it
** stays open). */
void sl_prefix_forget(SlPrefix *p, uint64_t key, const void *item);
/* Pops the lowest key if it is done: true, with its key and item, and
** `floor` is then that key; false if the lowest is open or none is held. */
bool sl_prefix_pop(SlPrefix *p, uint64_t *key, void **item);
/* How many keys above `key` are held (open or done, not popped). */
size_t sl_prefix_count_above(const SlPrefix *p, uint64_t key);

#endif
