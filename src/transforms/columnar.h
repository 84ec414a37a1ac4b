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
*/
#ifndef SLUICE_COLUMNAR_H
#define SLUICE_COLUMNAR_H

#include "window.h"
#include "../pipeline/encode.h"

typedef struct ColumnName {
    const char *name;
    uint32_t len;
} ColumnName;

typedef struct DecodedColumn {
    ColumnName name;                /* in the output batch */
    size_t first, count;            /* its items in Columnar.values */
    bool restore_time;              /* the input field was a timestamp */
} DecodedColumn;

/* Scratch space reused from call to call (one per function instance). */
typedef struct Columnar {
    SlBuf json;                     /* the encoded input */
    ColumnName *names;
    size_t nnames, names_cap;
    SlValue *values;
    size_t nvalues, values_cap;
    DecodedColumn *columns;
    size_t ncolumns, columns_cap;
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

void columnar_free(Columnar *c);

#endif
