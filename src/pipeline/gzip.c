/*
** gzip.c: gzip compression with zlib (see gzip.h).
*/
#include "gzip.h"

#include <stdint.h>
#include <zlib.h>

bool sl_gzip(const SlBuf *in, SlBuf *out)
{
    z_stream z = { 0 };
    if (in->len > UINT32_MAX) return false; /* zlib counts in 32 bits */
    /* 15 + 16: the largest window, with a gzip header and trailer. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    out->len = 0;
    sl_buf_reserve(out, deflateBound(&z, in->len));
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)out->cap;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}
