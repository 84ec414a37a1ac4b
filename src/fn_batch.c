/*
** fn_batch.c: `sluice fn run` and `sluice fn test` on functions of any ABI
** version. Their documents are JSON; a function of ABI v2 takes binary
** batches (sluice_batch.h), so its JSON input, an object of equal-length
** arrays as the pipeline would give a v1 function, becomes a batch, and
** its output batch becomes such an object again, merged with the input
** as the pipeline merges records (docs/abi.md).
**
** Column types from JSON: all integers are i64, numbers f64, booleans
** bool, strings that are all RFC 3339 times timestamp, other strings
** string, only nulls null; anything else (arrays, objects, mixtures) is
** JSON text. Back to JSON, timestamps are RFC 3339 strings and floats that
** are not finite are null, as in the pipeline's JSON output.
*/
#include "fn_cli.h"
#include "pipeline/record.h"
#include "sluice_batch.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int input_error(sfn_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON input that cannot become a batch: the function is not called. */
static int input_error(sfn_error *err, const char *fmt, ...)
{
    err->kind = SFN_OK;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return FN_BAD_INPUT;
}

/* ---- JSON to a batch ------------------------------------------------------ */

static bool is_time(const json_t *v)
{
    int64_t ns;
    return json_is_string(v) && sl_parse_time(json_string_value(v), json_string_length(v), &ns);
}

static sb_type cell_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: return SB_NULL;
    case JSON_TRUE: case JSON_FALSE: return SB_BOOL;
    case JSON_INTEGER: return SB_I64;
    case JSON_REAL: return SB_F64;
    case JSON_STRING: return is_time(v) ? SB_TIMESTAMP : SB_STRING;
    default: return SB_JSON;
    }
}

static sb_type column_type(const json_t *array)
{
    sb_type type = SB_NULL;
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) {
        sb_type t = cell_type(v);
        if (t == SB_NULL || t == type) continue;
        if (type == SB_NULL) type = t;
        else if ((type == SB_I64 && t == SB_F64) || (type == SB_F64 && t == SB_I64)) type = SB_F64;
        else if ((type == SB_STRING && t == SB_TIMESTAMP) || (type == SB_TIMESTAMP && t == SB_STRING))
            type = SB_STRING;
        else return SB_JSON;
    }
    return type;
}

/* A cell's bytes in a string or json column (malloc'd for json). */
static char *cell_text(const json_t *v, sb_type type, size_t *len)
{
    if (type == SB_STRING || type == SB_TIMESTAMP) {
        *len = json_string_length(v);
        return strndup(json_string_value(v), *len);
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    *len = text ? strlen(text) : 0;
    return text;
}

static size_t column_bytes(const json_t *array, sb_type type)
{
    size_t total = 0, len, i;
    json_t *v;
    if (type != SB_STRING && type != SB_JSON) return 0;
    json_array_foreach(array, i, v) {
        if (json_is_null(v)) continue;
        free(cell_text(v, type, &len));
        total += len;
    }
    return total;
}

static void put_cell(sb_column_out *out, sb_type type, const json_t *v, uint32_t row)
{
    int64_t ns = 0;
    switch (type) {
    case SB_BOOL: out->values[row] = json_is_true(v); break;
    case SB_I64: sb_put_i64(out->values + (size_t)row * 8, json_integer_value(v)); break;
    case SB_F64: sb_put_f64(out->values + (size_t)row * 8, json_number_value(v)); break;
    case SB_TIMESTAMP:
        sl_parse_time(json_string_value(v), json_string_length(v), &ns);
        sb_put_i64(out->values + (size_t)row * 8, ns);
        break;
    default: break;
    }
}

static void write_json_column(sb_writer *w, const char *name, const json_t *array, sb_type type,
                              size_t bytes)
{
    sb_column_out out = sb_write_column(w, name, strlen(name), type, bytes);
    uint32_t offset = 0;
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) {
        uint32_t row = (uint32_t)i;
        if (!json_is_null(v)) {
            sb_set_valid(out.valid, row);
            if (out.offsets) {
                size_t len;
                char *text = cell_text(v, type, &len);
                if (text) memcpy(out.bytes + offset, text, len);
                free(text);
                offset += (uint32_t)len;
            } else {
                put_cell(&out, type, v, row);
            }
        }
        if (out.offsets) sb_put_u32(out.offsets + (size_t)(row + 1) * 4, offset);
    }
}

/* The batch of a columnar JSON object, malloc'd in *batch. */
static int to_batch(const json_t *doc, uint8_t **batch, size_t *size, sfn_error *err)
{
    const char *name;
    json_t *column;
    size_t rows = 0, k = 0;
    if (!json_is_object(doc))
        return input_error(err, "a function of ABI v2 takes an object of arrays (one per column)");
    json_object_foreach((json_t *)doc, name, column) {
        if (!json_is_array(column))
            return input_error(err, "the input's '%s' is not an array", name);
        if (k++ && json_array_size(column) != rows)
            return input_error(err, "the input's arrays have unequal lengths ('%s' has %zu items, "
                               "others %zu)", name, json_array_size(column), rows);
        rows = json_array_size(column);
    }
    *size = SB_HEADER_SIZE;
    json_object_foreach((json_t *)doc, name, column) {
        sb_type type = column_type(column);
        *size += sb_column_size((uint32_t)rows, strlen(name), type, column_bytes(column, type));
    }
    *batch = calloc(1, *size);
    if (!*batch) abort();
    sb_writer w;
    sb_write_header(&w, *batch, (uint32_t)rows, (uint32_t)k, 0);
    json_object_foreach((json_t *)doc, name, column) {
        sb_type type = column_type(column);
        write_json_column(&w, name, column, type, column_bytes(column, type));
    }
    return 0;
}

/* ---- A batch to JSON ------------------------------------------------------ */

/* A cell as JSON; NULL with a reason when it cannot be one. */
static json_t *cell_json(const sb_column *c, uint32_t row, char *why, size_t cap)
{
    uint32_t len;
    const char *s;
    char time[40];
    json_t *v = NULL;
    if (!sb_is_valid(c, row)) return json_null();
    switch (c->type) {
    case SB_BOOL: return json_boolean(sb_get_bool(c, row));
    case SB_I64: return json_integer(sb_get_i64(c, row));
    case SB_F64: return isfinite(sb_get_f64(c, row)) ? json_real(sb_get_f64(c, row)) : json_null();
    case SB_TIMESTAMP: return json_stringn(time, sl_format_time(sb_get_i64(c, row), time));
    case SB_STRING:
        s = sb_get_string(c, row, &len);
        if (!(v = json_stringn(s, len))) snprintf(why, cap, "it is not UTF-8");
        return v;
    case SB_JSON: {
        json_error_t jerr;
        s = sb_get_string(c, row, &len);
        if (!(v = json_loadb(s, len, JSON_DECODE_ANY, &jerr))) snprintf(why, cap, "%s", jerr.text);
        return v;
    }
    default: return json_null();
    }
}

static json_t *column_json(const sb_column *c, sfn_error *err)
{
    json_t *array = json_array();
    for (uint32_t row = 0; row < c->rows; row++) {
        char why[200] = "";
        json_t *v = cell_json(c, row, why, sizeof why);
        if (!v) {
            err->kind = SFN_ABI;
            snprintf(err->message, sizeof err->message, "the output's column '%.*s', row %u: %s",
                     (int)(c->name_len > 100 ? 100 : c->name_len), c->name, row, why);
            json_decref(array);
            return NULL;
        }
        json_array_append_new(array, v);
    }
    return array;
}

/* The output batch as a columnar object: the input updated with the
   output's columns, or the output's rows alone. NULL with err filled. */
static json_t *from_batch(const uint8_t *bytes, size_t len, const json_t *input, sfn_error *err)
{
    sb_reader r;
    char why[600];
    err->kind = SFN_ABI;
    if (!sb_read_header(&r, bytes, len, why, sizeof why)) {
        snprintf(err->message, sizeof err->message, "the output is not a valid batch: %s", why);
        return NULL;
    }
    json_t *first = json_object_size(input) ? json_object_iter_value(json_object_iter((json_t *)input)) : NULL;
    bool update = !(r.flags & SB_NEW_ROWS) && r.rows == (first ? json_array_size(first) : 0);
    json_t *doc = update ? json_deep_copy(input) : json_object();
    for (uint32_t k = 0; k < r.columns; k++) {
        sb_column c;
        json_t *array = NULL;
        if (!sb_read_column(&r, &c, why, sizeof why))
            snprintf(err->message, sizeof err->message, "the output is not a valid batch: %s", why);
        else
            array = column_json(&c, err);
        char *name = array ? strndup(c.name, c.name_len) : NULL;
        if (!name) {
            json_decref(array);
            json_decref(doc);
            return NULL;
        }
        json_object_set_new(doc, name, array);
        free(name);
    }
    err->kind = SFN_OK;
    return doc;
}

/* ---- Calls ---------------------------------------------------------------- */

static int call_v2(sfn_instance *inst, const char *input, size_t len, FnOutput *result,
                   sfn_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(input, len, 0, &jerr);
    if (!doc) return input_error(err, "the input is not JSON: %s", jerr.text);
    uint8_t *batch = NULL;
    size_t size = 0;
    const uint8_t *out;
    size_t out_len;
    int rc = to_batch(doc, &batch, &size, err);
    if (!rc) rc = sfn_call(inst, batch, size, &out, &out_len, err);
    json_t *merged = rc ? NULL : from_batch(out, out_len, doc, err);
    if (!rc && !merged) rc = -1;
    if (merged) {
        result->owned = json_dumps(merged, JSON_COMPACT);
        if (!result->owned) abort();
        result->data = (const uint8_t *)result->owned;
        result->len = strlen(result->owned);
    }
    json_decref(merged);
    json_decref(doc);
    free(batch);
    return rc;
}

int fn_call(sfn_instance *inst, const char *input, size_t len, FnOutput *result, sfn_error *err)
{
    free(result->owned);
    *result = (FnOutput){ 0 };
    if (sfn_instance_abi(inst) == 1)
        return sfn_call(inst, (const uint8_t *)input, len, &result->data, &result->len, err);
    return call_v2(inst, input, len, result, err);
}
