/*
** record.h: the data model that flows through a pipeline.
**
** A record is a map of named fields plus a second map of metadata (where it
** came from, why it was rejected...). Values are null, bool, int, float,
** string, timestamp, array or map. Records travel in batches: a batch owns
** an arena, and every string, array, map and field table of its records is
** allocated from that arena, so building a record never calls malloc per
** field and freeing a batch is a handful of free() calls whatever it holds.
**
** Strings are (pointer, length) slices, not NUL-terminated; a string may
** point into memory the batch owns (its arena) or into memory that outlives
** every batch (component settings, string literals). Never point a record at
** memory that dies before the batch does.
**
** A batch has exactly one owner at a time: the component that holds it may
** change its records in place (a transform parses in place, then emits the
** same batch). The runtime clones batches when one output feeds several
** inputs, so nobody ever shares a batch.
*/
#ifndef SLUICE_RECORD_H
#define SLUICE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SlType {
    SL_NULL, SL_BOOL, SL_INT, SL_FLOAT, SL_STRING, SL_TIMESTAMP, SL_ARRAY, SL_MAP
} SlType;

typedef struct SlMap SlMap;
typedef struct SlValue SlValue;

/* 16 bytes. `len` is the byte length of a string or the item count of an
** array; a timestamp is nanoseconds since 1970-01-01T00:00:00Z. */
struct SlValue {
    uint8_t type;
    uint32_t len;
    union {
        bool b;
        int64_t i;
        double f;
        int64_t ns;
        const char *s;
        SlValue *items;
        SlMap *map;
    } as;
};

typedef struct SlField {
    const char *name;
    uint32_t name_len;
    SlValue value;
} SlField;

struct SlMap {
    SlField *fields;
    uint32_t count, cap;
};

typedef struct SlRecord {
    SlMap fields;
    SlMap meta;
} SlRecord;

/* The arena: a chain of blocks; allocation bumps a pointer. */
typedef struct SlArenaBlock SlArenaBlock;
typedef struct SlArena {
    SlArenaBlock *head;
    char *next, *end;
    size_t total;           /* bytes reserved in all blocks */
} SlArena;

typedef struct SlAck SlAck;  /* end-to-end acknowledgement: ack.h */

typedef struct SlBatch {
    SlRecord *records;
    uint32_t count, cap;
    uint64_t bytes;         /* input bytes these records came from, if known */
    SlArena arena;
    SlAck *ack;             /* whom to tell once written (ack.h); NULL: nobody */
} SlBatch;

/* How many records a source should put in one batch. */
#define SL_BATCH_RECORDS 1024

/* ---- Batches --------------------------------------------------------- */
SlBatch *sl_batch_new(void);
void sl_batch_free(SlBatch *b);
/* Appends an empty record (no fields, no metadata) and returns it. The
** pointer is valid until the next sl_batch_add on this batch. */
SlRecord *sl_batch_add(SlBatch *b);
/* Appends a deep copy of `r` (which may live in another batch). */
SlRecord *sl_batch_add_copy(SlBatch *b, const SlRecord *r);
SlBatch *sl_batch_clone(const SlBatch *b);
/* Bytes of memory the batch holds, for memory accounting. */
size_t sl_batch_memory(const SlBatch *b);

/* ---- Arena ----------------------------------------------------------- */
/* realloc that reports and aborts when memory runs out (never NULL). */
void *sl_xrealloc(void *p, size_t size);
void *sl_alloc(SlBatch *b, size_t size);  /* 8-byte aligned, never NULL */
const char *sl_copy_str(SlBatch *b, const char *s, size_t len);

/* ---- Values ---------------------------------------------------------- */
static inline SlValue sl_null(void) { return (SlValue){ .type = SL_NULL }; }
static inline SlValue sl_bool(bool v) { return (SlValue){ .type = SL_BOOL, .as.b = v }; }
static inline SlValue sl_int(int64_t v) { return (SlValue){ .type = SL_INT, .as.i = v }; }
static inline SlValue sl_float(double v) { return (SlValue){ .type = SL_FLOAT, .as.f = v }; }
static inline SlValue sl_time(int64_t ns) { return (SlValue){ .type = SL_TIMESTAMP, .as.ns = ns }; }
static inline SlValue sl_str(const char *s, size_t len)
{
    return (SlValue){ .type = SL_STRING, .len = (uint32_t)len, .as.s = s };
}
/* An array of `n` null items allocated in the batch. */
SlValue sl_array(SlBatch *b, uint32_t n);
/* An empty map allocated in the batch. */
SlValue sl_map(SlBatch *b);
const char *sl_type_name(SlType t);
/* A deep copy of `v` into batch `b` (strings, arrays and maps included). */
SlValue sl_value_copy(SlBatch *b, const SlValue *v);

/* ---- Fields (of a record's fields or meta, or of a map value) -------- */
SlValue *sl_map_get(const SlMap *m, const char *name, size_t len);
/* Returns the slot of field `name`, adding it (as null) if absent. The name
** must outlive the batch or live in it (see sl_copy_str). */
SlValue *sl_map_set(SlBatch *b, SlMap *m, const char *name, size_t len);
bool sl_map_remove(SlMap *m, const char *name, size_t len);
bool sl_map_rename(SlMap *m, const char *from, size_t from_len,
                   const char *to, size_t to_len);

/* Shorthands with NUL-terminated names, for the common case. */
SlValue *sl_get(const SlRecord *r, const char *name);
SlValue *sl_set(SlBatch *b, SlRecord *r, const char *name);

/* ---- Timestamps ------------------------------------------------------ */
/* Parses RFC 3339 / ISO 8601 (2026-11-24T10:00:00.000Z, offsets, a space
** for T); returns false if `s` is not one. */
bool sl_parse_time(const char *s, size_t len, int64_t *ns);
/* Writes 2026-11-24T10:00:00.000000000Z form, trimmed to milliseconds when
** exact; returns the length (< 40). */
size_t sl_format_time(int64_t ns, char out[40]);

#endif
