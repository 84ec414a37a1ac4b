/*
** server.h: the artifact registry's HTTP server (libmicrohttpd), the REST
** API under /api/v1 described in docs/registry.md.
*/
#ifndef SLUICE_REGISTRY_SERVER_H
#define SLUICE_REGISTRY_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ServerConfig {
    const char *data_dir;
    const char *host;     /* an IPv4 address to listen on */
    unsigned port;        /* 0: any free port */
    size_t max_upload;    /* bytes; larger uploads get 413 */
    size_t max_unpacked;  /* bytes an artifact may unpack to */
    bool private_reads;   /* reads need a token too */
} ServerConfig;

/* Serves until SIGINT or SIGTERM. Prints "listening on http://HOST:PORT"
   on standard output once it accepts connections. Returns 0, or 1 with a
   message on standard error if it cannot start. */
int registry_serve(const ServerConfig *config);

#endif
