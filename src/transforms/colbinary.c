/*
** colbinary.c: a window of records to the binary columnar batch of the
** function ABI v2 and the function's output back (columnar.h; the byte
** layout is sluice_batch.h's).
**
** Encoding reads the window's records twice, in order, and keeps nothing
** per cell: the plan picks the columns (the `fields`, or the fields in
** order of first appearance), each one's type and the batch's size, so
** that the caller can have the guest allocate exactly that much; the write
** then lays every value straight into the guest's buffer. Where a record's
** values are is worked out once per layout (its field names, compared by
** pointer: records of one parser share them), not per record.
**
** A column's type is that of its values: all ints are i64, ints mixed with
** floats are f64, and anything else mixed, arrays and maps go as JSON text.
**
** The output is checked whole (sb_read_*) before a record changes. An
** update sets the output's columns as fields of the window's records where
** they are (or of copies of them), in two steps: the cells become values
** first, so that a json cell that is not JSON fails the window before any
** record has changed.
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

/* A plan, of no type and no bytes yet, for each column that has none. */
static void plan_new_columns(Columnar *c)
{
    c->planned = columnar_grow(c->planned, &c->planned_cap, c->nnames, sizeof *c->planned);
    for (size_t k = c->nplanned; k < c->nnames; k++) c->planned[k] = (PlannedColumn){ .type = SB_NULL };
    c->nplanned = c->nnames;
}

/* Learns the layout of m: which field holds each column (c->at[k], or -1),
** adding the names of fields no column has yet when `add` is set. */
static void learn_layout(Columnar *c, const SlMap *m, bool add)
{
    c->layout = columnar_grow(c->layout, &c->layout_cap, m->count, sizeof *c->layout);
    c->nlayout = m->count;
    for (uint32_t j = 0; j < m->count; j++) {
        const SlField *f = &m->fields[j];
        c->layout[j] = (ColumnName){ f->name, f->name_len };
        if (add && columnar_name_index(c, f->name, f->name_len) < 0)
            columnar_add_name(c, f->name, f->name_len);
    }
    plan_new_columns(c);
    c->at = columnar_grow(c->at, &c->at_cap, c->nnames, sizeof *c->at);
    for (size_t k = 0; k < c->nnames; k++) c->at[k] = columnar_field_index(m, &c->names[k]);
}

/* Where each column's value is in m: c->at, relearned when m's layout is
** not the last one seen. */
static const int32_t *layout_of(Columnar *c, const SlMap *m, bool add)
{
    bool same = m->count == c->nlayout;
    for (uint32_t j = 0; same && j < m->count; j++)
        same = m->fields[j].name == c->layout[j].name && m->fields[j].name_len == c->layout[j].len;
    if (!same) learn_layout(c, m, add);
    return c->at;
}

/* The column's value in a record of layout `at`, or NULL. */
static const SlValue *cell(const SlMap *m, const int32_t *at, size_t k)
{
    return at[k] < 0 ? NULL : &m->fields[at[k]].value;
}

/* First pass: the columns, their types, and the bytes of string columns. */
static void plan_types(Columnar *c, const Window *w, bool add)
{
    for (uint32_t i = 0; i < w->count; i++) {
        /* Fetched ahead: a parser on another thread has just written them. */
        if (i + 8 < w->count) __builtin_prefetch(window_record(w, i + 8)->fields.fields);
        const SlMap *m = &window_record(w, i)->fields;
        const int32_t *at = layout_of(c, m, add);
        for (size_t k = 0; k < c->nnames; k++) {
            const SlValue *v = cell(m, at, k);
            if (!v) continue;
            c->planned[k].type = join_types(c->planned[k].type, value_type(v));
            if (v->type == SL_STRING) c->planned[k].bytes += v->len;
        }
    }
}

/* The bytes of the json columns' values, once their types are known. */
static void plan_json(Columnar *c, const Window *w)
{
    for (size_t k = 0; k < c->nnames; k++)
        if (c->planned[k].type == SB_JSON) c->planned[k].bytes = 0;
    for (uint32_t i = 0; i < w->count; i++) {
        const SlMap *m = &window_record(w, i)->fields;
        const int32_t *at = layout_of(c, m, false);
        for (size_t k = 0; k < c->nnames; k++) {
            const SlValue *v = cell(m, at, k);
            if (c->planned[k].type != SB_JSON || !v || v->type == SL_NULL) continue;
            cell_json(c, v);
            c->planned[k].bytes += c->json.len;
        }
    }
}

bool columnar_plan(Columnar *c, const Window *w, const char *const *fields, size_t nfields,
                   char *why, size_t why_size)
{
    c->nnames = c->nplanned = 0;
    c->nlayout = UINT32_MAX;        /* no layout learned for these names */
    if (fields) columnar_names(c, w, fields, nfields);
    plan_new_columns(c);
    plan_types(c, w, !fields);
    if (c->nnames > SB_MAX_COLUMNS) {
        snprintf(why, why_size, "the window has %zu fields; a batch holds at most %d columns",
                 c->nnames, SB_MAX_COLUMNS);
        return false;
    }
    bool json = false;
    for (size_t k = 0; k < c->nnames; k++) json |= c->planned[k].type == SB_JSON;
    if (json) plan_json(c, w);
    c->size = SB_HEADER_SIZE;
    for (size_t k = 0; k < c->nnames; k++) {
        const PlannedColumn *p = &c->planned[k];
        if (p->bytes > UINT32_MAX) {
            snprintf(why, why_size, "the window's field '%.*s' holds %zu bytes; a batch column "
                     "holds at most 4 GiB", (int)c->names[k].len, c->names[k].name, p->bytes);
            return false;
        }
        c->size += sb_column_size(w->count, c->names[k].len, p->type, p->bytes);
    }
    return true;
}

static void write_fixed(const PlannedColumn *p, const SlValue *v, uint32_t row)
{
    uint8_t *at = p->out.values + (p->type == SB_BOOL ? row : (size_t)row * 8);
    switch (p->type) {
    case SB_BOOL: *at = v->as.b; break;
    case SB_I64: sb_put_i64(at, v->as.i); break;
    case SB_F64: sb_put_f64(at, v->type == SL_INT ? (double)v->as.i : v->as.f); break;
    case SB_TIMESTAMP: sb_put_i64(at, v->as.ns); break;
    default: break;
    }
}

/* Writes a cell (v NULL: none) of row `row` into its column. */
static void write_cell(Columnar *c, PlannedColumn *p, const SlValue *v, uint32_t row)
{
    bool variable = p->type == SB_STRING || p->type == SB_JSON;
    if (v && v->type != SL_NULL) {
        sb_set_valid(p->out.valid, row);
        if (p->type == SB_STRING) {
            memcpy(p->out.bytes + p->offset, v->as.s, v->len);
            p->offset += v->len;
        } else if (p->type == SB_JSON) {
            cell_json(c, v);
            memcpy(p->out.bytes + p->offset, c->json.data, c->json.len);
            p->offset += (uint32_t)c->json.len;
        } else {
            write_fixed(p, v, row);
        }
    }
    if (variable) sb_put_u32(p->out.offsets + (size_t)(row + 1) * 4, p->offset);
}

void columnar_write(Columnar *c, const Window *w, uint8_t *dst)
{
    sb_writer wr;
    sb_write_header(&wr, dst, w->count, (uint32_t)c->nnames, 0);
    for (size_t k = 0; k < c->nnames; k++) {
        PlannedColumn *p = &c->planned[k];
        p->out = sb_write_column(&wr, c->names[k].name, c->names[k].len, p->type, p->bytes);
        p->offset = 0;
    }
    for (uint32_t i = 0; i < w->count; i++) {
        const SlMap *m = &window_record(w, i)->fields;
        const int32_t *at = layout_of(c, m, false);
        for (size_t k = 0; k < c->nnames; k++) write_cell(c, &c->planned[k], cell(m, at, k), i);
    }
}

/* ---- Decoding ---------------------------------------------------------- */

bool columnar_read(Columnar *c, const uint8_t *bytes, size_t len, const Window *in,
                   bool *update, char *why, size_t why_size)
{
    sb_reader r;
    if (!sb_read_header(&r, bytes, len, why, why_size)) return false;
    c->read = columnar_grow(c->read, &c->read_cap, r.columns, sizeof *c->read);
    for (uint32_t k = 0; k < r.columns; k++) {
        sb_column *col = &c->read[k];
        if (!sb_read_column(&r, col, why, why_size)) return false;
        for (uint32_t j = 0; j < k; j++)
            if (c->read[j].name_len == col->name_len &&
                !memcmp(c->read[j].name, col->name, col->name_len)) {
                snprintf(why, why_size, "the output has the column '%.*s' twice",
                         (int)(col->name_len > 100 ? 100 : col->name_len), col->name);
                return false;
            }
    }
    c->nread = r.columns;
    c->read_rows = r.rows;
    *update = !(r.flags & SB_NEW_ROWS) && r.rows == in->count;
    return true;
}

/* The value of a json cell, decoded into batch b. */
static bool json_value(SlBatch *b, const sb_column *col, uint32_t row, SlValue *v, char *why,
                       size_t why_size)
{
    uint32_t len;
    const char *s = sb_get_string(col, row, &len);
    char reason[200];
    if (sl_json_decode(b, s, len, v, reason, sizeof reason)) return true;
    snprintf(why, why_size, "column '%.*s', row %u: %s", (int)(col->name_len > 100 ? 100 :
             col->name_len), col->name, row, reason);
    return false;
}

/* The value of a cell; a string is copied into batch b. */
static bool cell_value(SlBatch *b, const sb_column *col, uint32_t row, SlValue *v, char *why,
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
        *v = sl_str(sl_copy_str(b, s, len), len);
        return true;
    case SB_JSON: return json_value(b, col, row, v, why, why_size);
    default: *v = sl_null(); return true;
    }
}

/* The names of the output's columns, copied into batch b once. */
static const char **column_names(Columnar *c, SlBatch *b)
{
    const char **names = sl_alloc(b, (c->nread ? c->nread : 1) * sizeof *names);
    for (uint32_t k = 0; k < c->nread; k++)
        names[k] = sl_copy_str(b, c->read[k].name, c->read[k].name_len);
    return names;
}

/* Row `row` as a new record of the output's columns. */
static bool new_record(Columnar *c, SlBatch *out, const char **names, uint32_t row, char *why,
                       size_t why_size)
{
    SlRecord *r = sl_batch_add(out);
    uint32_t ncols = (uint32_t)c->nread;
    r->fields.fields = sl_alloc(out, (ncols ? ncols : 1) * sizeof(SlField));
    r->fields.count = r->fields.cap = ncols;
    for (uint32_t k = 0; k < ncols; k++) {
        SlField *f = &r->fields.fields[k];
        *f = (SlField){ names[k], c->read[k].name_len, sl_null() };
        if (!cell_value(out, &c->read[k], row, &f->value, why, why_size)) return false;
    }
    return true;
}

bool columnar_new_rows(Columnar *c, SlBatch *out, char *why, size_t why_size)
{
    uint32_t first_row = out->count;
    const char **names = column_names(c, out);
    for (uint32_t row = 0; row < c->read_rows; row++)
        if (!new_record(c, out, names, row, why, why_size)) {
            out->count = first_row;
            return false;
        }
    return true;
}

/* ---- Updating records -------------------------------------------------- */

static void add_run(Columnar *c, SlBatch *b, uint32_t first, uint32_t row0)
{
    UpdateRun *last = c->nruns ? &c->runs[c->nruns - 1] : NULL;
    if (last && last->batch == b && last->first + last->rows == first) {
        last->rows++;
        return;
    }
    c->runs = columnar_grow(c->runs, &c->runs_cap, c->nruns + 1, sizeof *c->runs);
    c->runs[c->nruns++] = (UpdateRun){ b, first, 1, row0 };
}

/* A string column's values for a run: its bytes are copied in one piece. */
static void string_values(const sb_column *col, const UpdateRun *run, SlValue *values)
{
    uint32_t start = sb_offset(col, run->row0), end = sb_offset(col, run->row0 + run->rows);
    char *bytes = sl_alloc(run->batch, end - start + 1);
    memcpy(bytes, col->values + start, end - start);
    for (uint32_t i = 0; i < run->rows; i++) {
        uint32_t row = run->row0 + i, at = sb_offset(col, row);
        values[i] = sb_is_valid(col, row) ? sl_str(bytes + (at - start), sb_offset(col, row + 1) - at)
                                          : sl_null();
    }
}

/* First step: every cell of the output becomes a value in the batch of its
** record (column k, row i: c->values[k * rows + i]), so that a json cell
** that is not JSON fails the window before any record has changed. */
static bool make_values(Columnar *c, char *why, size_t why_size)
{
    uint32_t rows = c->read_rows;
    c->values = columnar_grow(c->values, &c->values_cap, c->nread * rows, sizeof *c->values);
    for (size_t r = 0; r < c->nruns; r++) {
        const UpdateRun *run = &c->runs[r];
        for (size_t k = 0; k < c->nread; k++) {
            const sb_column *col = &c->read[k];
            SlValue *values = c->values + k * rows + run->row0;
            if (col->type == SB_STRING) {
                string_values(col, run, values);
                continue;
            }
            for (uint32_t i = 0; i < run->rows; i++)
                if (!cell_value(run->batch, col, run->row0 + i, &values[i], why, why_size))
                    return false;
        }
    }
    return true;
}

/* The field named as the column among the record's, or NULL. */
static SlField *find_field(SlMap *m, const sb_column *col)
{
    for (uint32_t j = 0; j < m->count; j++)
        if (m->fields[j].name_len == col->name_len &&
            !memcmp(m->fields[j].name, col->name, col->name_len))
            return &m->fields[j];
    return NULL;
}

/* Gives a record room for `more` fields (records of a parser have none to
** spare): its fields move to a larger table in its batch. */
static void make_room(SlBatch *b, SlMap *m, uint32_t more)
{
    if (m->cap >= m->count + more) return;
    SlField *fields = sl_alloc(b, (m->count + more) * sizeof *fields);
    if (m->count) memcpy(fields, m->fields, m->count * sizeof *fields);
    m->fields = fields;
    m->cap = m->count + more;
}

/* Second step: the values become the run's records' fields. */
static void set_fields(Columnar *c, const UpdateRun *run)
{
    uint32_t ncols = (uint32_t)c->nread;
    const char **names = column_names(c, run->batch);
    for (uint32_t i = 0; i < run->rows; i++) {
        SlMap *m = &run->batch->records[run->first + i].fields;
        make_room(run->batch, m, ncols);
        for (uint32_t k = 0; k < ncols; k++) {
            SlField *f = find_field(m, &c->read[k]);
            if (!f) {
                f = &m->fields[m->count++];
                *f = (SlField){ names[k], c->read[k].name_len, sl_null() };
            }
            f->value = c->values[(size_t)k * c->read_rows + run->row0 + i];
        }
    }
}

static bool update_runs(Columnar *c, char *why, size_t why_size)
{
    if (!make_values(c, why, why_size)) return false;
    for (size_t r = 0; r < c->nruns; r++) set_fields(c, &c->runs[r]);
    return true;
}

bool columnar_update(Columnar *c, const Window *in, char *why, size_t why_size)
{
    c->nruns = 0;
    for (uint32_t i = 0; i < in->count; i++) add_run(c, in->refs[i].segment->batch, in->refs[i].index, i);
    return update_runs(c, why, why_size);
}

/* ---- Merging into copies ----------------------------------------------- */

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

/* A copy of src in out, metadata included, with room for `extra` more fields. */
static void copy_record(SlBatch *out, NameCache *nc, const SlRecord *src, uint32_t extra)
{
    SlRecord meta_only = { .meta = src->meta };
    SlRecord *r = sl_batch_add_copy(out, &meta_only);
    uint32_t n = src->fields.count;
    SlField *fields = sl_alloc(out, (n + extra ? n + extra : 1) * sizeof *fields);
    for (uint32_t j = 0; j < n; j++) {
        const SlField *f = &src->fields.fields[j];
        fields[j] = (SlField){ copy_name(out, nc, j, f), f->name_len, sl_value_copy(out, &f->value) };
    }
    r->fields = (SlMap){ fields, n, n + extra };
}

/* The window's records, copied into out, updated by the output. */
static bool update_copies(Columnar *c, SlBatch *out, const Window *in, char *why, size_t why_size)
{
    uint32_t first = out->count;
    NameCache nc = { 0 };
    for (uint32_t i = 0; i < in->count; i++)
        copy_record(out, &nc, window_record(in, i), (uint32_t)c->nread);
    c->nruns = 0;
    if (in->count) {
        c->runs = columnar_grow(c->runs, &c->runs_cap, 1, sizeof *c->runs);
        c->runs[c->nruns++] = (UpdateRun){ out, first, in->count, 0 };
    }
    if (update_runs(c, why, why_size)) return true;
    out->count = first;
    return false;
}

bool columnar_merge(Columnar *c, SlBatch *out, const uint8_t *bytes, size_t len,
                    const Window *in, const char *key_field, char *why, size_t why_size)
{
    bool update;
    if (!columnar_read(c, bytes, len, in, &update, why, why_size)) return false;
    uint32_t first_row = out->count;
    bool ok = update ? update_copies(c, out, in, why, why_size)
                     : columnar_new_rows(c, out, why, why_size);
    if (ok && key_field && in->count) columnar_restore_key(out, first_row, in, key_field);
    return ok;
}
