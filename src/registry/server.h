/*
** server.h: the artifact registry's HTTP server (libmicrohttpd), the REST
** API under /api/v1 described in docs/registry.md: on a daemon of its own
** (registry_serve, `sluice registry serve`), or mounted in another one
** (registry_answer, `sluice serve`).
*/
#ifndef SLUICE_REGISTRY_SERVER_H
#define SLUICE_REGISTRY_SERVER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* Every URL of the API starts with this. */
#define REGISTRY_API_PREFIX "/api/v1/artifacts"

typedef struct ServerConfig {
    const char *data_dir;
    const char *host;     /* an IPv4 address to listen on */
    unsigned port;        /* 0: any free port */
    size_t max_upload;    /* bytes; larger uploads get 413 */
    size_t max_unpacked;  /* bytes an artifact may unpack to */
    bool private_reads;   /* reads need a token too */
    const char *admin_token; /* also a write token, besides the stored ones; NULL: none */
    const char *admin_name;  /* the publisher recorded for the admin token */
} ServerConfig;

/* Serves until SIGINT or SIGTERM. Prints "listening on http://HOST:PORT"
   on standard output once it accepts connections. Returns 0, or 1 with a
   message on standard error if it cannot start. */
int registry_serve(const ServerConfig *config);

/* Mounting the API in another daemon. registry_prepare opens (creating)
   the data directory and clears what an interrupted upload left; false
   with a message in err. Then every call libmicrohttpd makes for a request
   under REGISTRY_API_PREFIX goes to registry_answer (same arguments, and
   the request's own *con_cls, NULL at first), and registry_completed frees
   what it kept when the request ends. */
bool registry_prepare(const ServerConfig *config, char *err, size_t errlen);
enum MHD_Result registry_answer(const ServerConfig *config, struct MHD_Connection *c,
                                const char *url, const char *method, const char *data,
                                size_t *data_size, void **con_cls);
void registry_completed(void **con_cls);

#endif
