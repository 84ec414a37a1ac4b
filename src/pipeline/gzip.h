/*
** gzip.h: gzip compression of request bodies (http and elasticsearch sinks).
*/
#ifndef SLUICE_GZIP_H
#define SLUICE_GZIP_H

#include "encode.h"

#include <stdbool.h>

/* Replaces out's contents with in, gzip-compressed. False on failure. */
bool sl_gzip(const SlBuf *in, SlBuf *out);

#endif
