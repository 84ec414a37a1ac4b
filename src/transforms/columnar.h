/*
** columnar.h: a window of records to the function's columnar JSON input
** ({"a": [1, 2], "b": ["x", "y"]}, one array per field) and the function's
** columnar output back to records.
**
** Both directions are on the hot path: the input is written straight from
** the records into one reused buffer, and the output is read by a parser
** with fast paths for arrays of numbers, plain strings, booleans and nulls
** (anything else goes through the pipeline's JSON decoder), with no
** allocation per record.
**
** Functions of ABI v2 exchange binary columnar batches (sluice_batch.h)
** instead: columnar_plan and columnar_write lay the window out straight
** into the guest's input buffer, and the output is merged back into copies
** of the window's records (columnar_merge) or into the records where they
** are (columnar_update) (colbinary.c). Both forms share the scratch space
** below.
*/
#ifndef SLUICE_COLUMNAR_H
#define SLUICE_COLUMNAR_H

#include "window.h"
#include "../pipeline/encode.h"
#include "sluice_batch.h"

typedef struct ColumnName {
    const char *name;
    uint32_t len;
} ColumnName;

typedef struct DecodedColumn {
    ColumnName name;                /* in the output batch */
    size_t first, count;            /* its items in Columnar.values */
    bool restore_time;              /* the input field was a timestamp */
} DecodedColumn;

/* A column of a binary input, as planned before it is written. */
typedef struct PlannedColumn {
    sb_type type;
    size_t bytes;                   /* of a string or json column's values */
    sb_column_out out;              /* while written: where its parts go */
    uint32_t offset;                /* and the string bytes written so far */
} PlannedColumn;

/* Output rows [row0, row0 + rows) of a binary output update records
** [first, first + rows) of `batch`: their new values are made there. */
typedef struct UpdateRun {
    SlBatch *batch;
    uint32_t first, rows, row0;
} UpdateRun;

/* Scratch space reused from call to call (one per function instance). */
typedef struct Columnar {
    SlBuf json;                     /* the encoded input */
    ColumnName *names;
    size_t nnames, names_cap;
    SlValue *values;
    size_t nvalues, values_cap;
    DecodedColumn *columns;
    size_t ncolumns, columns_cap;
    /* The binary form (ABI v2). */
    ColumnName *layout;             /* the field names of the last layout seen */
    uint32_t nlayout;
    size_t layout_cap;
    int32_t *at;                    /* in that layout, column k's field, or -1 */
    size_t at_cap;
    PlannedColumn *planned;
    size_t nplanned, planned_cap;
    size_t size;                    /* of the planned batch, in bytes */
    sb_column *read;                /* the output's columns */
    size_t nread, read_cap;
    uint32_t read_rows;
    UpdateRun *runs;                /* the records the output updates */
    size_t nruns, runs_cap;
} Columnar;

/* Encodes the window into c->json: the columns are `fields` when given,
** else every field of the window's records in order of first appearance
** (null where a record lacks one). */
void columnar_encode(Columnar *c, const Window *w, const char *const *fields, size_t nfields);

/* Appends the records of a columnar output to `out`. When there are as
** many rows as the window has records, row i keeps record i's metadata and
** a string in a field that was a timestamp becomes a timestamp again.
** With a key_field (a keyed window), every row lacking it gets the
** window's key. Returns false with a reason when the output is not an object of arrays
** of equal length (then nothing is appended). */
bool columnar_decode(Columnar *c, SlBatch *out, const char *text, size_t len,
                     const Window *in, const char *key_field, char *why, size_t why_size);

/* The binary form (colbinary.c). columnar_plan picks the window's columns
** (as columnar_encode does) and each one's type, and sets c->size; false
** with a reason when the window does not fit in a batch. columnar_write
** then writes the batch into dst[c->size]. */
bool columnar_plan(Columnar *c, const Window *w, const char *const *fields, size_t nfields,
                   char *why, size_t why_size);
void columnar_write(Columnar *c, const Window *w, uint8_t *dst);

/* Appends the records of a binary output to `out`. With as many rows as
** the window has records (and no SB_NEW_ROWS flag), row i updates record
** i: a copy of it, metadata included, with the output's columns set as
** fields. Otherwise the rows are new records of the output's columns.
** With a key_field the window's key is restored as columnar_decode does.
** Returns false with a reason when the output is not a valid batch (then
** nothing is appended). */
bool columnar_merge(Columnar *c, SlBatch *out, const uint8_t *bytes, size_t len,
                    const Window *in, const char *key_field, char *why, size_t why_size);

/* columnar_merge in steps, for windows whose records are updated where
** they are. columnar_read checks the output (the bytes must live until the
** next step) and tells whether it updates the window's records; then
** either columnar_update sets the output's columns as fields of the
** window's records, in their own batches (all or, failing, none of them),
** or columnar_new_rows appends the rows to `out` as new records. */
bool columnar_read(Columnar *c, const uint8_t *bytes, size_t len, const Window *in,
                   bool *update, char *why, size_t why_size);
bool columnar_update(Columnar *c, const Window *in, char *why, size_t why_size);
bool columnar_new_rows(Columnar *c, SlBatch *out, char *why, size_t why_size);

/* ---- Shared by both forms (columnar.c) ---- */

/* Grows a scratch array to hold `need` items of `size` bytes. */
void *columnar_grow(void *items, size_t *cap, size_t need, size_t size);
/* Sets c->names to `fields` when given, else every field of the window's
** records in order of first appearance. */
void columnar_names(Columnar *c, const Window *w, const char *const *fields, size_t nfields);
void columnar_add_name(Columnar *c, const char *name, uint32_t len);
/* The column of that name, or -1. */
int32_t columnar_name_index(const Columnar *c, const char *name, uint32_t len);
/* A field's value, looking first at position *hint (records of one source
** usually list their fields in the same order); NULL if absent. */
const SlValue *columnar_field(const SlRecord *r, const ColumnName *n, uint32_t *hint);
/* The position of the first field of that name in m, or -1. */
int32_t columnar_field_index(const SlMap *m, const ColumnName *n);
/* Gives the output rows from first_row on the keyed window's key when they
** lack it. */
void columnar_restore_key(SlBatch *out, uint32_t first_row, const Window *in, const char *key);

void columnar_free(Columnar *c);

#endif
