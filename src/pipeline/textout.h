/*
** textout.h: what the text sinks (stdout, file) share: their format
** settings, turning batches into NDJSON or CSV, and writing it out.
*/
#ifndef SLUICE_TEXTOUT_H
#define SLUICE_TEXTOUT_H

#include "component.h"
#include "encode.h"

typedef struct SlTextOut {
    bool csv, header;
    char delimiter;
    char **columns;         /* CSV: the columns, from settings or the first record */
    size_t ncolumns;
    bool header_written;
    SlBuf buf;
} SlTextOut;

extern const char *const sl_textout_formats[];

#define SL_TEXTOUT_SETTINGS                                                       \
    { .name = "format", .type = SL_SET_STRING, .def = "ndjson",                   \
      .choices = sl_textout_formats, .doc = "ndjson (one JSON object a line) or csv." }, \
    { .name = "columns", .type = SL_SET_LIST,                                     \
      .item = &(const SlSetting){ .type = SL_SET_STRING },                        \
      .doc = "csv: the fields to write, in order; default: the fields of the first record." }, \
    { .name = "header", .type = SL_SET_BOOL, .def = "true",                       \
      .doc = "csv: write a header line first." },                                 \
    { .name = "delimiter", .type = SL_SET_STRING, .def = ",",                     \
      .doc = "csv: the one-character field separator." }

int sl_textout_init(SlCtx *ctx, SlTextOut *t, const SlConf *conf);
/* Appends the batch's text to t->buf. */
void sl_textout_encode(SlTextOut *t, const SlBatch *b);
void sl_textout_free(SlTextOut *t);
/* write(2) until everything is written; false with errno on failure. */
bool sl_write_all(int fd, const char *data, size_t len);

#endif
