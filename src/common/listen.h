/*
** listen.h: a listening TCP socket on HOST:PORT or [IPV6]:PORT, for the
** servers (the observability API, `sluice serve`), which hand it to
** libmicrohttpd. Implemented in listen.c.
*/
#ifndef SLUICE_COMMON_LISTEN_H
#define SLUICE_COMMON_LISTEN_H

#include <stddef.h>

enum { LISTEN_ADDRESS_MAX = 80 };

/* A socket listening on `addr` (port 0 picks a free one), close-on-exec,
** with the address actually bound, as HOST:PORT or [IPV6]:PORT, in
** `bound`. -1 with a message in `err` naming `option` (such as "--api")
** for a malformed address. */
int http_listen(const char *addr, const char *option, int backlog, char *bound,
                size_t boundlen, char *err, size_t errlen);

#endif
