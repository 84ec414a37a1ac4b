/*
** decode.h: JSON text to values, for every component that reads JSON
** (parse_json, NDJSON over HTTP, a function's output). The value and all it
** holds are allocated in the batch.
*/
#ifndef SLUICE_DECODE_H
#define SLUICE_DECODE_H

#include "record.h"

/* Returns false with a reason ("not JSON: ... at character N"). */
bool sl_json_decode(SlBatch *b, const char *text, size_t len, SlValue *out,
                    char *why, size_t why_size);

/* Adds the members of a decoded map value to `m` (replacing same names). */
void sl_map_merge(SlBatch *b, SlMap *m, const SlValue *map);

#endif
