/*
** encode.h: records to text, for the sinks (and later the tap and the
** function node): a growable byte buffer, NDJSON and CSV. Written by hand
** rather than through a JSON library because it is on the hot path: no
** allocation per record once the buffer has grown.
*/
#ifndef SLUICE_ENCODE_H
#define SLUICE_ENCODE_H

#include "record.h"

typedef struct SlBuf {
    char *data;
    size_t len, cap;
} SlBuf;

void sl_buf_reserve(SlBuf *b, size_t more);
void sl_buf_put(SlBuf *b, const void *data, size_t len);
static inline void sl_buf_putc(SlBuf *b, char c)
{
    if (b->len == b->cap) sl_buf_reserve(b, 1);
    b->data[b->len++] = c;
}
void sl_buf_free(SlBuf *b);

/* A value as JSON (timestamps as RFC 3339 strings). */
void sl_json_value(SlBuf *b, const SlValue *v);
/* A record's fields as one JSON object and a newline. */
void sl_json_record(SlBuf *b, const SlRecord *r);

/* A value as one CSV cell: quoted when it holds the delimiter, a quote or
** a line break; null is empty; arrays and maps are JSON. */
void sl_csv_value(SlBuf *b, const SlValue *v, char delimiter);

#endif
