/*
** client.h: the registry's HTTP client (libcurl), used by `sluice
** artifact` and by the resolver.
**
** The registry URL and token come from, in order: the command line, the
** environment (SLUICE_REGISTRY_URL, SLUICE_REGISTRY_TOKEN), then a config
** file ($SLUICE_REGISTRY_CONFIG, or ~/.config/sluice/registry.yaml) with
** the lines `url: URL` and `token: TOKEN`.
*/
#ifndef SLUICE_REGISTRY_CLIENT_H
#define SLUICE_REGISTRY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CLIENT_URL_MAX = 512, CLIENT_TOKEN_MAX = 128 };

typedef struct RegistryClientConfig {
    char url[CLIENT_URL_MAX];     /* e.g. http://127.0.0.1:8750; "" unset */
    char token[CLIENT_TOKEN_MAX]; /* "" when none */
    long timeout_s;               /* per request; 0: 60 */
} RegistryClientConfig;

/* Fills config from the flags (NULL: not given), the environment and the
   config file. Fails if no URL is found anywhere. */
bool client_config_load(RegistryClientConfig *config, const char *url_flag,
                        const char *token_flag, char *err, size_t errlen);

/* Calls the API: path is below /api/v1 (e.g. "/artifacts/x/1.0.0").
   Returns the HTTP status (0 if the registry cannot be reached) and the
   parsed JSON body in *doc (may be NULL); for a status >= 400, err holds
   the registry's error message. */
long client_call(const RegistryClientConfig *config, const char *method,
                 const char *path, const uint8_t *body, size_t len,
                 json_t **doc, char *err, size_t errlen);

/* GET /artifacts?q=QUERY (QUERY escaped; NULL or "": everything). */
long client_search(const RegistryClientConfig *config, const char *query,
                   json_t **doc, char *err, size_t errlen);

/* Downloads name@version (version may be "latest"): fetches its metadata,
   then its archive, and checks that the archive's digest is the one the
   registry recorded. Returns false with err filled. */
bool client_download(const RegistryClientConfig *config, const char *name,
                     const char *version, uint8_t **bytes, size_t *len,
                     json_t **meta, char *err, size_t errlen);

#endif
