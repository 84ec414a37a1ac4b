/*
** colbinary.c: a window of records to the binary columnar batch of the
** function ABI v2 and the function's output back (columnar.h; the byte
** layout is sluice_batch.h's).
**
** Encoding takes two passes: the plan finds every cell once (kept in
** c->cells), picks each column's type and adds up the size, so that the
** caller can have the guest allocate exactly that much; the write then
** lays the batch out straight into the guest's buffer.
**
** A column's type is that of its values: all ints are i64, ints mixed with
** floats are f64, and anything else mixed, arrays and maps go as JSON text.
**
** The output is checked whole (sb_read_*) before a record is made; its
** cells are turned into values while the records are built, and a json
** cell that is not JSON undoes the records appended so far.
*/
#include "columnar.h"
#include "../pipeline/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Encoding ---------------------------------------------------------- */

static sb_type value_type(const SlValue *v)
{
    switch (v->type) {
    case SL_NULL: return SB_NULL;
    case SL_BOOL: return SB_BOOL;
    case SL_INT: return SB_I64;
    case SL_FLOAT: return SB_F64;
    case SL_STRING: return SB_STRING;
    case SL_TIMESTAMP: return SB_TIMESTAMP;
    default: return SB_JSON;
    }
}

/* The type that holds both a and b. */
static sb_type join_types(sb_type a, sb_type b)
{
    if (a == b || b == SB_NULL) return a;
    if (a == SB_NULL) return b;
    if ((a == SB_I64 && b == SB_F64) || (a == SB_F64 && b == SB_I64)) return SB_F64;
    return SB_JSON;
}

/* The JSON text of a cell of a json column, in c->json. */
static void cell_json(Columnar *c, const SlValue *v)
{
    c->json.len = 0;
    sl_json_value(&c->json, v);
}

static PlannedColumn plan_column(Columnar *c, const SlValue **cells, uint32_t rows)
{
    PlannedColumn p = { SB_NULL, 0 };
    for (uint32_t i = 0; i < rows; i++)
        if (cells[i]) p.type = join_types(p.type, value_type(cells[i]));
    for (uint32_t i = 0; i < rows; i++) {
        if (!cells[i] || cells[i]->type == SL_NULL) continue;
        if (p.type == SB_STRING) {
            p.bytes += cells[i]->len;
        } else if (p.type == SB_JSON) {
            cell_json(c, cells[i]);
            p.bytes += c->json.len;
        }
    }
    return p;
}

static void find_cells(Columnar *c, const Window *w)
{
    size_t rows = w->count;
    c->cells = columnar_grow(c->cells, &c->cells_cap, c->nnames * rows, sizeof *c->cells);
    for (size_t k = 0; k < c->nnames; k++) {
        uint32_t hint = (uint32_t)k;
        for (uint32_t i = 0; i < rows; i++)
            c->cells[k * rows + i] = columnar_field(window_record(w, i), &c->names[k], &hint);
    }
}

bool columnar_plan(Columnar *c, const Window *w, const char *const *fields, size_t nfields,
                   char *why, size_t why_size)
{
    columnar_names(c, w, fields, nfields);
    if (c->nnames > SB_MAX_COLUMNS) {
        snprintf(why, why_size, "the window has %zu fields; a batch holds at most %d columns",
                 c->nnames, SB_MAX_COLUMNS);
        return false;
    }
    find_cells(c, w);
    c->planned = columnar_grow(c->planned, &c->planned_cap, c->nnames, sizeof *c->planned);
    c->size = SB_HEADER_SIZE;
    for (size_t k = 0; k < c->nnames; k++) {
        PlannedColumn p = plan_column(c, c->cells + k * w->count, w->count);
        if (p.bytes > UINT32_MAX) {
            snprintf(why, why_size, "the window's field '%.*s' holds %zu bytes; a batch column "
                     "holds at most 4 GiB", (int)c->names[k].len, c->names[k].name, p.bytes);
            return false;
        }
        c->planned[k] = p;
        c->size += sb_column_size(w->count, c->names[k].len, p.type, p.bytes);
    }
    return true;
}

static void write_fixed(sb_column_out *out, sb_type type, const SlValue *v, uint32_t row)
{
    uint8_t *at = out->values + (type == SB_BOOL ? row : (size_t)row * 8);
    switch (type) {
    case SB_BOOL: *at = v->as.b; break;
    case SB_I64: sb_put_i64(at, v->as.i); break;
    case SB_F64: sb_put_f64(at, v->type == SL_INT ? (double)v->as.i : v->as.f); break;
    case SB_TIMESTAMP: sb_put_i64(at, v->as.ns); break;
    default: break;
    }
}

static void write_column(Columnar *c, sb_column_out *out, sb_type type, const SlValue **cells,
                         uint32_t rows)
{
    bool variable = type == SB_STRING || type == SB_JSON;
    uint32_t offset = 0;
    for (uint32_t i = 0; i < rows; i++) {
        const SlValue *v = cells[i];
        if (v && v->type != SL_NULL) {
            sb_set_valid(out->valid, i);
            if (type == SB_STRING) {
                memcpy(out->bytes + offset, v->as.s, v->len);
                offset += v->len;
            } else if (type == SB_JSON) {
                cell_json(c, v);
                memcpy(out->bytes + offset, c->json.data, c->json.len);
                offset += (uint32_t)c->json.len;
            } else {
                write_fixed(out, type, v, i);
            }
        }
        if (variable) sb_put_u32(out->offsets + (size_t)(i + 1) * 4, offset);
    }
}

void columnar_write(Columnar *c, const Window *w, uint8_t *dst)
{
    sb_writer wr;
    sb_write_header(&wr, dst, w->count, (uint32_t)c->nnames, 0);
    for (size_t k = 0; k < c->nnames; k++) {
        const PlannedColumn *p = &c->planned[k];
        sb_column_out out = sb_write_column(&wr, c->names[k].name, c->names[k].len, p->type,
                                            p->bytes);
        write_column(c, &out, p->type, c->cells + k * w->count, w->count);
    }
}

/* ---- Decoding ---------------------------------------------------------- */

static bool read_output(Columnar *c, sb_reader *r, const uint8_t *bytes, size_t len, char *why,
                        size_t why_size)
{
    if (!sb_read_header(r, bytes, len, why, why_size)) return false;
    c->read = columnar_grow(c->read, &c->read_cap, r->columns, sizeof *c->read);
    for (uint32_t k = 0; k < r->columns; k++) {
        sb_column *col = &c->read[k];
        if (!sb_read_column(r, col, why, why_size)) return false;
        for (uint32_t j = 0; j < k; j++)
            if (c->read[j].name_len == col->name_len &&
                !memcmp(c->read[j].name, col->name, col->name_len)) {
                snprintf(why, why_size, "the output has the column '%.*s' twice",
                         (int)(col->name_len > 100 ? 100 : col->name_len), col->name);
                return false;
            }
    }
    return true;
}

/* The value of a cell, in the output batch. */
static bool cell_value(SlBatch *out, const sb_column *col, uint32_t row, SlValue *v, char *why,
                       size_t why_size)
{
    uint32_t len;
    const char *s;
    if (!sb_is_valid(col, row)) {
        *v = sl_null();
        return true;
    }
    switch (col->type) {
    case SB_BOOL: *v = sl_bool(sb_get_bool(col, row)); return true;
    case SB_I64: *v = sl_int(sb_get_i64(col, row)); return true;
    case SB_F64: *v = sl_float(sb_get_f64(col, row)); return true;
    case SB_TIMESTAMP: *v = sl_time(sb_get_i64(col, row)); return true;
    case SB_STRING:
        s = sb_get_string(col, row, &len);
        *v = sl_str(sl_copy_str(out, s, len), len);
        return true;
    case SB_JSON: {
        s = sb_get_string(col, row, &len);
        char reason[200];
        if (sl_json_decode(out, s, len, v, reason, sizeof reason)) return true;
        snprintf(why, why_size, "column '%.*s', row %u: %s", (int)(col->name_len > 100 ? 100 :
                 col->name_len), col->name, row, reason);
        return false;
    }
    default: *v = sl_null(); return true;
    }
}

/* The names of the output's columns, copied into the output batch once. */
static const char **column_names(Columnar *c, SlBatch *out, uint32_t n)
{
    const char **names = sl_alloc(out, (n ? n : 1) * sizeof *names);
    for (uint32_t k = 0; k < n; k++) names[k] = sl_copy_str(out, c->read[k].name, c->read[k].name_len);
    return names;
}

/* Row `row` as a new record of the output's columns. */
static bool new_record(Columnar *c, SlBatch *out, uint32_t ncols, const char **names,
                       uint32_t row, char *why, size_t why_size)
{
    SlRecord *r = sl_batch_add(out);
    r->fields.fields = sl_alloc(out, (ncols ? ncols : 1) * sizeof(SlField));
    r->fields.count = r->fields.cap = ncols;
    for (uint32_t k = 0; k < ncols; k++) {
        SlField *f = &r->fields.fields[k];
        *f = (SlField){ names[k], c->read[k].name_len, sl_null() };
        if (!cell_value(out, &c->read[k], row, &f->value, why, why_size)) return false;
    }
    return true;
}

/* The field named as the column among fields[0..count), or NULL. */
static SlField *find_field(SlField *fields, uint32_t count, const sb_column *col)
{
    for (uint32_t j = 0; j < count; j++)
        if (fields[j].name_len == col->name_len && !memcmp(fields[j].name, col->name, col->name_len))
            return &fields[j];
    return NULL;
}

enum { NAME_CACHE = 16 };

/* The input's field names as copied into the output batch, by position:
** records of one source share their name strings, so a window's records
** need each name copied once. */
typedef struct NameCache {
    const char *from[NAME_CACHE], *to[NAME_CACHE];
    uint32_t len[NAME_CACHE];
} NameCache;

static const char *copy_name(SlBatch *out, NameCache *nc, uint32_t j, const SlField *f)
{
    if (j < NAME_CACHE && nc->from[j] == f->name && nc->len[j] == f->name_len) return nc->to[j];
    const char *copy = sl_copy_str(out, f->name, f->name_len);
    if (j < NAME_CACHE) {
        nc->from[j] = f->name;
        nc->to[j] = copy;
        nc->len[j] = f->name_len;
    }
    return copy;
}

/* Record `row` of the window, with the output's columns set as its fields. */
static bool updated_record(Columnar *c, SlBatch *out, NameCache *nc, const SlRecord *src,
                           uint32_t ncols, const char **names, uint32_t row, char *why,
                           size_t why_size)
{
    SlRecord meta_only = { .meta = src->meta };
    SlRecord *r = sl_batch_add_copy(out, &meta_only);
    uint32_t n = src->fields.count;
    SlField *fields = sl_alloc(out, (n + ncols ? n + ncols : 1) * sizeof *fields);
    for (uint32_t j = 0; j < n; j++) {
        const SlField *f = &src->fields.fields[j];
        fields[j] = (SlField){ copy_name(out, nc, j, f), f->name_len, sl_value_copy(out, &f->value) };
    }
    for (uint32_t k = 0; k < ncols; k++) {
        SlField *f = find_field(fields, n, &c->read[k]);
        if (!f) {
            f = &fields[n++];
            *f = (SlField){ names[k], c->read[k].name_len, sl_null() };
        }
        if (!cell_value(out, &c->read[k], row, &f->value, why, why_size)) return false;
    }
    r->fields = (SlMap){ fields, n, src->fields.count + ncols };
    return true;
}

bool columnar_merge(Columnar *c, SlBatch *out, const uint8_t *bytes, size_t len,
                    const Window *in, const char *key_field, char *why, size_t why_size)
{
    sb_reader r;
    if (!read_output(c, &r, bytes, len, why, why_size)) return false;
    uint32_t first_row = out->count;
    const char **names = column_names(c, out, r.columns);
    bool update = !(r.flags & SB_NEW_ROWS) && r.rows == in->count;
    NameCache nc = { 0 };
    for (uint32_t row = 0; row < r.rows; row++) {
        bool ok = update ? updated_record(c, out, &nc, window_record(in, row), r.columns, names,
                                          row, why, why_size)
                         : new_record(c, out, r.columns, names, row, why, why_size);
        if (!ok) {
            out->count = first_row;
            return false;
        }
    }
    if (key_field && in->count) columnar_restore_key(out, first_row, in, key_field);
    return true;
}
