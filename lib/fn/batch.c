/*
** batch.c: the binary columnar batch of the function ABI v2: laying one
** out, and checking one that came from a guest (include/sluice_batch.h).
**
** The reader trusts nothing: every size is checked against what is left
** of the buffer before anything is read, in 64-bit arithmetic that cannot
** overflow (rows < 2^32, so rows * 8 < 2^35), and the first problem found
** is reported with the column it is in.
*/
#include "sluice_batch.h"

#include <stdarg.h>
#include <stdio.h>

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static size_t bitmap_size(uint32_t rows)
{
    return pad8(((size_t)rows + 7) / 8);
}

static bool is_variable(sb_type type)
{
    return type == SB_STRING || type == SB_JSON;
}

/* Bytes per row of a fixed-width type; 0 for the others. */
static size_t value_width(sb_type type)
{
    switch (type) {
    case SB_BOOL: return 1;
    case SB_I64: case SB_F64: case SB_TIMESTAMP: return 8;
    default: return 0;
    }
}

const char *sb_type_name(int type)
{
    static const char *const names[SB_NTYPES] = { "null", "bool", "i64", "f64", "string",
                                                  "timestamp", "json" };
    return type >= 0 && type < SB_NTYPES ? names[type] : "?";
}

/* ---- Writing ----------------------------------------------------------- */

size_t sb_column_size(uint32_t rows, size_t name_len, sb_type type, size_t bytes)
{
    size_t size = 8 + pad8(name_len) + bitmap_size(rows);
    if (is_variable(type)) return size + pad8(((size_t)rows + 1) * 4) + pad8(bytes);
    return size + pad8(value_width(type) * rows);
}

void sb_write_header(sb_writer *w, uint8_t *dst, uint32_t rows, uint32_t columns,
                     uint16_t flags)
{
    *w = (sb_writer){ .dst = dst, .pos = SB_HEADER_SIZE, .rows = rows };
    memcpy(dst, SB_MAGIC, 4);
    uint16_t version = SB_VERSION;
    memcpy(dst + 4, &version, 2);
    memcpy(dst + 6, &flags, 2);
    sb_put_u32(dst + 8, rows);
    sb_put_u32(dst + 12, columns);
}

/* Zeroes `size` bytes at the writer's position and moves past them. */
static uint8_t *take(sb_writer *w, size_t size)
{
    uint8_t *p = w->dst + w->pos;
    memset(p, 0, size);
    w->pos += size;
    return p;
}

sb_column_out sb_write_column(sb_writer *w, const char *name, size_t name_len,
                              sb_type type, size_t bytes)
{
    uint8_t *head = take(w, 8 + pad8(name_len));
    sb_put_u32(head, (uint32_t)name_len);
    head[4] = (uint8_t)type;
    memcpy(head + 8, name, name_len);
    sb_column_out out = { .valid = take(w, bitmap_size(w->rows)) };
    if (is_variable(type)) {
        out.offsets = take(w, pad8(((size_t)w->rows + 1) * 4));
        out.bytes = take(w, pad8(bytes));
    } else {
        out.values = take(w, pad8(value_width(type) * w->rows));
    }
    return out;
}

/* ---- Reading ----------------------------------------------------------- */

static bool bad(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool bad(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

bool sb_read_header(sb_reader *r, const void *data, size_t len, char *why, size_t cap)
{
    *r = (sb_reader){ .data = data, .len = len, .pos = SB_HEADER_SIZE };
    const uint8_t *p = data;
    if (len < SB_HEADER_SIZE)
        return bad(why, cap, "the batch is %zu bytes long, shorter than its %d-byte header",
                   len, SB_HEADER_SIZE);
    if (memcmp(p, SB_MAGIC, 4))
        return bad(why, cap, "the batch does not start with the magic \"%s\"", SB_MAGIC);
    uint16_t version, flags;
    memcpy(&version, p + 4, 2);
    memcpy(&flags, p + 6, 2);
    memcpy(&r->rows, p + 8, 4);
    memcpy(&r->columns, p + 12, 4);
    r->flags = flags;
    if (version != SB_VERSION)
        return bad(why, cap, "the batch has format version %u; this host reads version %d",
                   version, SB_VERSION);
    if (flags & ~SB_NEW_ROWS)
        return bad(why, cap, "the batch's header has unknown flags 0x%x", flags & ~SB_NEW_ROWS);
    if (r->columns > SB_MAX_COLUMNS)
        return bad(why, cap, "the batch has %u columns; at most %d are allowed", r->columns,
                   SB_MAX_COLUMNS);
    if (r->columns == 0 && len != SB_HEADER_SIZE)
        return bad(why, cap, "%zu bytes follow a header that announces no column",
                   len - SB_HEADER_SIZE);
    return true;
}

/* The next `size` bytes of the batch, or NULL when they are not there. */
static const uint8_t *part(sb_reader *r, size_t size)
{
    if (size > r->len - r->pos) return NULL;
    const uint8_t *p = r->data + r->pos;
    r->pos += size;
    return p;
}

/* Checks a string or json column's offsets: they start at 0, never
   decrease, and end within the buffer. */
static bool read_strings(sb_reader *r, sb_column *col, const char *what, char *why, size_t cap)
{
    col->offsets = part(r, pad8(((size_t)r->rows + 1) * 4));
    if (!col->offsets)
        return bad(why, cap, "%s: its offsets (%u + 1 of 4 bytes) run past the end of the batch",
                   what, r->rows);
    if (sb_offset(col, 0) != 0)
        return bad(why, cap, "%s: its first offset is %u, not 0", what, sb_offset(col, 0));
    for (uint32_t i = 0; i < r->rows; i++)
        if (sb_offset(col, i + 1) < sb_offset(col, i))
            return bad(why, cap, "%s: offset %u (%u) is below offset %u (%u)", what, i + 1,
                       sb_offset(col, i + 1), i, sb_offset(col, i));
    uint32_t bytes = sb_offset(col, r->rows);
    col->values = part(r, pad8(bytes));
    if (!col->values)
        return bad(why, cap, "%s: its %u bytes of values run past the end of the batch", what,
                   bytes);
    return true;
}

static bool read_values(sb_reader *r, sb_column *col, const char *what, char *why, size_t cap)
{
    if (is_variable(col->type)) return read_strings(r, col, what, why, cap);
    size_t width = value_width(col->type);
    col->values = part(r, pad8(width * r->rows));
    if (!col->values)
        return bad(why, cap, "%s: its %u values of %zu bytes run past the end of the batch",
                   what, r->rows, width);
    if (col->type == SB_BOOL)
        for (uint32_t i = 0; i < r->rows; i++)
            if (col->values[i] > 1)
                return bad(why, cap, "%s: row %u holds %u, not 0 (false) or 1 (true)", what, i,
                           col->values[i]);
    return true;
}

bool sb_read_column(sb_reader *r, sb_column *col, char *why, size_t cap)
{
    uint32_t index = r->next++;
    const uint8_t *head = part(r, 8);
    if (!head)
        return bad(why, cap, "column %u: its header runs past the end of the batch (%zu bytes)",
                   index, r->len);
    *col = (sb_column){ .type = head[4], .rows = r->rows };
    memcpy(&col->name_len, head, 4);
    col->name = (const char *)part(r, pad8(col->name_len));
    if (!col->name)
        return bad(why, cap, "column %u: its name (%u bytes) runs past the end of the batch",
                   index, col->name_len);
    char what[160];
    snprintf(what, sizeof what, "column %u ('%.*s')", index,
             (int)(col->name_len > 100 ? 100 : col->name_len), col->name);
    if (head[4] >= SB_NTYPES)
        return bad(why, cap, "%s: unknown type %u (0 to %d are known)", what, head[4],
                   SB_NTYPES - 1);
    col->valid = part(r, bitmap_size(r->rows));
    if (!col->valid)
        return bad(why, cap, "%s: its validity bitmap runs past the end of the batch", what);
    if (!read_values(r, col, what, why, cap)) return false;
    if (r->next == r->columns && r->pos != r->len)
        return bad(why, cap, "%zu bytes follow the last column", r->len - r->pos);
    return true;
}
