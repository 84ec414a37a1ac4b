/*
** pack.h: a batch of records as compact bytes and back, for the disk
** buffer (diskbuffer.h). Unlike NDJSON it keeps every value's type
** (timestamps stay timestamps, 1.0 stays a float) and the metadata, so a
** sink behind a buffer sees exactly the records it would have seen.
**
** Layout: a varint record count, then per record its fields and its
** metadata, each a varint count of (varint name length, name, value). A
** value is a type byte then: bool one byte; int and timestamp a zigzag
** varint; float 8 bytes little-endian; string a varint length and bytes;
** array a varint count and values; map as fields.
*/
#ifndef SLUICE_PACK_H
#define SLUICE_PACK_H

#include "encode.h"

void sl_pack_batch(SlBuf *out, const SlBatch *b);
/* A new batch, or NULL if `data` is not a whole packed batch. */
SlBatch *sl_unpack_batch(const void *data, size_t len);

#endif
