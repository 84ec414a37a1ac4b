/*
** sluice_batch.h: the binary columnar batch of the function ABI v2
** (docs/abi.md, "ABI v2"): its byte layout, a writer that lays a batch out
** in a buffer of known size, and a reader that checks a batch (an output
** from a guest, which may be anything) and gives views of its columns.
**
** Every user of the format goes through this header (libsluice-fn, the
** pipeline's function node, `sluice fn test`), so that the layout is
** written down in one place. It depends on nothing but the C library.
**
** The layout, all little-endian, every section starting at a multiple of
** 8 bytes from the start of the batch:
**
**   header   magic "SLCB", u16 version (2), u16 flags, u32 rows,
**            u32 columns                                     (16 bytes)
**   column   u32 name length, u8 type, 3 zero bytes; the name, padded;
**            the validity bitmap (bit i%8 of byte i/8: row i has a
**            value), padded; then by type:
**              null                  nothing
**              bool                  one byte per row, 0 or 1, padded
**              i64, f64, timestamp   8 bytes per row
**              string, json          u32 offsets[rows + 1] (offsets[0]
**                                    is 0, never decreasing), padded;
**                                    then offsets[rows] bytes, padded
**
** Padding bytes are zero. The reader checks that every part lies within
** the buffer, that types, flags and offsets make sense, and that nothing
** follows the last column; it never reads a byte outside the buffer.
*/
#ifndef SLUICE_BATCH_H
#define SLUICE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sluice_batch.h: the batch format is little-endian, and so must the host be"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SB_MAGIC "SLCB"
enum {
    SB_VERSION = 2,
    SB_HEADER_SIZE = 16,
    SB_MAX_COLUMNS = 4096,  /* more is refused: names are compared pairwise */
    SB_NEW_ROWS = 1         /* flag: the output's rows are new records, even
                               when there are as many as input rows */
};

typedef enum sb_type {
    SB_NULL, SB_BOOL, SB_I64, SB_F64, SB_STRING, SB_TIMESTAMP, SB_JSON, SB_NTYPES
} sb_type;

/* "null", "bool", "i64", "f64", "string", "timestamp", "json"; "?" else. */
const char *sb_type_name(int type);

/* ---- Writing ----------------------------------------------------------- */

/* The bytes a column takes: `bytes` is the total length of a string or
   json column's values (ignored for other types). */
size_t sb_column_size(uint32_t rows, size_t name_len, sb_type type, size_t bytes);

/* Where a column's parts go, for the caller to fill: the bitmap (zeroed:
   every row null), the fixed-width values or the offsets (zeroed), and the
   string bytes. */
typedef struct sb_column_out {
    uint8_t *valid;
    uint8_t *values;        /* bool, i64, f64, timestamp: rows items */
    uint8_t *offsets;       /* string, json: rows + 1 u32 */
    uint8_t *bytes;         /* string, json: the values' bytes */
} sb_column_out;

/* Lays a batch out in dst, whose size is SB_HEADER_SIZE plus the
   sb_column_size of every column: sb_write_header, then sb_write_column
   for each column in turn. */
typedef struct sb_writer {
    uint8_t *dst;
    size_t pos;
    uint32_t rows;
} sb_writer;

void sb_write_header(sb_writer *w, uint8_t *dst, uint32_t rows, uint32_t columns,
                     uint16_t flags);
sb_column_out sb_write_column(sb_writer *w, const char *name, size_t name_len,
                              sb_type type, size_t bytes);

static inline void sb_set_valid(uint8_t *valid, uint32_t row)
{
    valid[row >> 3] |= (uint8_t)(1u << (row & 7));
}

static inline void sb_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void sb_put_i64(uint8_t *p, int64_t v) { memcpy(p, &v, 8); }
static inline void sb_put_f64(uint8_t *p, double v) { memcpy(p, &v, 8); }

/* ---- Reading ----------------------------------------------------------- */

/* A checked column: views into the batch's bytes. */
typedef struct sb_column {
    const char *name;
    uint32_t name_len;
    sb_type type;
    uint32_t rows;
    const uint8_t *valid;
    const uint8_t *values;  /* fixed-width values, or string bytes */
    const uint8_t *offsets; /* string, json */
} sb_column;

typedef struct sb_reader {
    const uint8_t *data;
    size_t len, pos;
    uint32_t rows, columns, flags;
    uint32_t next;          /* the column read next */
} sb_reader;

/* Checks the header. Returns false with the reason in why[cap]. */
bool sb_read_header(sb_reader *r, const void *data, size_t len, char *why, size_t cap);
/* Checks and reads the next column (there must be one left). After the
   last column, also checks that no bytes follow it. */
bool sb_read_column(sb_reader *r, sb_column *col, char *why, size_t cap);

static inline bool sb_is_valid(const sb_column *c, uint32_t row)
{
    return c->type != SB_NULL && (c->valid[row >> 3] >> (row & 7) & 1);
}

static inline bool sb_get_bool(const sb_column *c, uint32_t row) { return c->values[row] != 0; }

static inline int64_t sb_get_i64(const sb_column *c, uint32_t row)
{
    int64_t v;
    memcpy(&v, c->values + (size_t)row * 8, 8);
    return v;
}

static inline double sb_get_f64(const sb_column *c, uint32_t row)
{
    double v;
    memcpy(&v, c->values + (size_t)row * 8, 8);
    return v;
}

static inline uint32_t sb_offset(const sb_column *c, uint32_t i)
{
    uint32_t v;
    memcpy(&v, c->offsets + (size_t)i * 4, 4);
    return v;
}

/* A string or json value: its bytes and length. */
static inline const char *sb_get_string(const sb_column *c, uint32_t row, uint32_t *len)
{
    uint32_t start = sb_offset(c, row);
    *len = sb_offset(c, row + 1) - start;
    return (const char *)c->values + start;
}

#ifdef __cplusplus
}
#endif
#endif
