/*
** server.c: the registry's REST API over libmicrohttpd (server.h).
**
** One thread per connection; each request opens its own Store (SQLite
** connection), so publishes run side by side and SQLite's locking plus
** UNIQUE(name, version) decide races. An upload is buffered in memory up
** to the configured maximum, checked completely (archive, manifest,
** signature, module), and only then stored.
*/
#include "server.h"

#include "artifact.h"
#include "store.h"
#include "../common/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char api_prefix[] = REGISTRY_API_PREFIX;

enum { MAX_CONNECTIONS = 128, CONNECTION_TIMEOUT_S = 60 };

/* ---- Responses --------------------------------------------------------- */

static enum MHD_Result send_blob(struct MHD_Connection *c, const Store *s, json_t *meta)
{
    const char *digest = json_string_value(json_object_get(meta, "digest"));
    char path[PATH_MAX], disposition[256];
    store_blob_path(s, digest, path, sizeof path);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the blob %s is missing", digest);
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s.tar.gz\"",
             json_string_value(json_object_get(meta, "name")),
             json_string_value(json_object_get(meta, "version")));
    MHD_add_response_header(r, "Content-Type", "application/gzip");
    MHD_add_response_header(r, "Content-Disposition", disposition);
    MHD_add_response_header(r, "X-Sluice-Digest", digest);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- Authentication ---------------------------------------------------- */

/* Whether `token` is the configured admin token (compared in constant time). */
static bool is_admin_token(const ServerConfig *cfg, const char *token)
{
    size_t len = cfg->admin_token ? strlen(cfg->admin_token) : 0;
    return len && strlen(token) == len && sodium_memcmp(token, cfg->admin_token, len) == 0;
}

/* Checks the bearer token: 0 with the token's name in who, or the HTTP
   status of the refusal (with its message already queued). */
static unsigned authenticate(struct MHD_Connection *c, const ServerConfig *cfg, Store *s,
                             char who[STORE_TOKEN_NAME_MAX + 1])
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0) {
        http_send_error(c, MHD_HTTP_UNAUTHORIZED, "this needs a token: send "
                        "'Authorization: Bearer TOKEN' (make one with `sluice "
                        "registry token add`)");
        return MHD_HTTP_UNAUTHORIZED;
    }
    if (is_admin_token(cfg, auth + 7)) {
        snprintf(who, STORE_TOKEN_NAME_MAX + 1, "%s", cfg->admin_name);
        return 0;
    }
    StoreStatus status = store_token_check(s, auth + 7, who);
    if (status == STORE_OK) return 0;
    if (status == STORE_NOT_FOUND) {
        http_send_error(c, MHD_HTTP_FORBIDDEN, "the token is not valid for this registry");
        return MHD_HTTP_FORBIDDEN;
    }
    http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot check the token");
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- Routes ------------------------------------------------------------ */

/* The parts of a path under /api/v1/artifacts: up to NAME/VERSION/ACTION. */
typedef struct Route {
    char parts[3][REGISTRY_VERSION_MAX + 16];
    int nparts;
    bool ok;
} Route;

static Route parse_route(const char *url)
{
    Route r = { .ok = false };
    size_t plen = sizeof api_prefix - 1;
    if (strncmp(url, api_prefix, plen) != 0) return r;
    const char *p = url + plen;
    if (*p == '/') p++;
    else if (*p) return r;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (r.nparts == 3 || n == 0 || n >= sizeof r.parts[0]) return r;
        memcpy(r.parts[r.nparts], p, n);
        r.parts[r.nparts++][n] = '\0';
        p += n;
        if (*p == '/' && p[1] == '\0') return r;
        if (*p == '/') p++;
    }
    r.ok = true;
    return r;
}

static enum MHD_Result publish(struct MHD_Connection *c, const ServerConfig *cfg,
                               Store *s, const HttpBody *req, const char *who)
{
    char err[1024];
    Artifact *a = artifact_read(req->data, req->len, cfg->max_unpacked, err, sizeof err);
    if (!a) return http_send_error(c, MHD_HTTP_BAD_REQUEST, "%s", err);
    if (!artifact_check_module(a, err, sizeof err)) {
        artifact_free(a);
        return http_send_error(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "%s", err);
    }
    json_t *meta = NULL;
    StoreStatus status = store_publish(s, a, req->data, req->len, who, &meta, err, sizeof err);
    enum MHD_Result ret;
    if (status == STORE_OK && meta) ret = http_send_json(c, MHD_HTTP_CREATED, meta);
    else if (status == STORE_EXISTS)
        ret = http_send_error(c, MHD_HTTP_CONFLICT, "%s@%s is already published; "
                              "versions are immutable, publish a new version",
                              a->manifest->name, a->manifest->version);
    else ret = http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot store: %s", err);
    artifact_free(a);
    return ret;
}

static bool valid_parts(struct MHD_Connection *c, const Route *r, enum MHD_Result *ret)
{
    char why[256];
    if (!registry_name_valid(r->parts[0], why, sizeof why) ||
        (r->nparts > 1 && strcmp(r->parts[1], "latest") &&
         !registry_version_valid(r->parts[1], why, sizeof why))) {
        *ret = http_send_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
        return false;
    }
    return true;
}

static enum MHD_Result yank(struct MHD_Connection *c, Store *s, const Route *r, bool yanked)
{
    if (!strcmp(r->parts[1], "latest"))
        return http_send_error(c, MHD_HTTP_BAD_REQUEST, "yank needs an exact version, not latest");
    StoreStatus status = store_yank(s, r->parts[0], r->parts[1], yanked);
    if (status == STORE_NOT_FOUND)
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "no artifact %s@%s", r->parts[0], r->parts[1]);
    if (status != STORE_OK)
        return http_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot update the database");
    return http_send_json(c, MHD_HTTP_OK, store_metadata(s, r->parts[0], r->parts[1]));
}

/* GET of a name, a version or a download. */
static enum MHD_Result read_artifact(struct MHD_Connection *c, Store *s, const Route *r)
{
    const char *name = r->parts[0];
    if (r->nparts == 1) {
        json_t *versions = store_versions(s, name);
        return versions ? http_send_json(c, MHD_HTTP_OK, versions)
                        : http_send_error(c, MHD_HTTP_NOT_FOUND, "no artifact named %s", name);
    }
    json_t *meta = store_metadata(s, name, r->parts[1]);
    if (!meta)
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "no artifact %s@%s%s", name, r->parts[1],
                               strcmp(r->parts[1], "latest") ? "" : " (every version is yanked, or none exists)");
    if (r->nparts == 2) return http_send_json(c, MHD_HTTP_OK, meta);
    enum MHD_Result ret = send_blob(c, s, meta);
    json_decref(meta);
    return ret;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, const ServerConfig *cfg,
                                Store *s, const char *method, const char *url,
                                const HttpBody *req)
{
    Route r = parse_route(url);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    const char *action = r.nparts == 3 ? r.parts[2] : "";
    enum MHD_Result ret = MHD_YES;
    if (!r.ok || (*action && strcmp(action, "download") && strcmp(action, "yank") &&
                  strcmp(action, "unyank")))
        return http_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s", url);
    if (r.nparts > 0 && !valid_parts(c, &r, &ret)) return ret;
    char who[STORE_TOKEN_NAME_MAX + 1] = "";
    if ((post || cfg->private_reads) && authenticate(c, cfg, s, who)) return MHD_YES;
    if (r.nparts == 0 && post) return publish(c, cfg, s, req, who);
    if (r.nparts == 0 && get)
        return http_send_json(c, MHD_HTTP_OK, store_search(s, MHD_lookup_connection_value(
                                                          c, MHD_GET_ARGUMENT_KIND, "q")));
    if (get && (!*action || !strcmp(action, "download")))
        return read_artifact(c, s, &r);
    if (post && (!strcmp(action, "yank") || !strcmp(action, "unyank")))
        return yank(c, s, &r, !strcmp(action, "yank"));
    return http_send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s", method, url);
}

/* ---- libmicrohttpd callbacks ------------------------------------------- */

enum MHD_Result registry_answer(const ServerConfig *cfg, struct MHD_Connection *c,
                                const char *url, const char *method, const char *data,
                                size_t *data_size, void **con_cls)
{
    HttpBody *body = *con_cls;
    if (!body) {
        if (!(body = calloc(1, sizeof *body))) return MHD_NO;
        *con_cls = body;
        if (!strcmp(method, "POST") && http_announced_too_large(c, cfg->max_upload))
            return http_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the upload is larger "
                                   "than this registry's limit of %zu bytes", cfg->max_upload);
        return MHD_YES;
    }
    if (*data_size) {
        http_body_append(body, data, *data_size, cfg->max_upload);
        *data_size = 0;
        return MHD_YES;
    }
    if (body->too_large)
        return http_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the upload is larger than "
                               "this registry's limit of %zu bytes", cfg->max_upload);
    char err[512];
    Store *s = store_open(cfg->data_dir, err, sizeof err);
    if (!s) return http_send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    enum MHD_Result ret = dispatch(c, cfg, s, method, url, body);
    store_close(s);
    return ret;
}

void registry_completed(void **con_cls)
{
    HttpBody *body = *con_cls;
    if (!body) return;
    http_body_free(body);
    free(body);
    *con_cls = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *data, size_t *data_size, void **con_cls)
{
    (void)version;
    return registry_answer(cls, c, url, method, data, data_size, con_cls);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    registry_completed(con_cls);
}

/* ---- Running ----------------------------------------------------------- */

static struct MHD_Daemon *start(const ServerConfig *cfg, struct sockaddr_in *addr)
{
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO,
        0, NULL, NULL, handle, (void *)cfg,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)addr,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_END);
}

bool registry_prepare(const ServerConfig *cfg, char *err, size_t errlen)
{
    Store *s = store_open(cfg->data_dir, err, errlen);
    if (!s) return false;
    store_close(s);
    store_clean_tmp(cfg->data_dir);
    return true;
}

int registry_serve(const ServerConfig *cfg)
{
    char err[512];
    if (!registry_prepare(cfg, err, sizeof err)) {
        fprintf(stderr, "sluice: registry serve: %s\n", err);
        return 1;
    }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        fprintf(stderr, "sluice: registry serve: '%s' is not an IPv4 address\n", cfg->host);
        return 1;
    }
    sigset_t stop;
    http_block_stop_signals(&stop);   /* before the server's threads exist */
    struct MHD_Daemon *d = start(cfg, &addr);
    if (!d) {
        fprintf(stderr, "sluice: registry serve: cannot listen on %s:%u (in use, "
                "or not an address of this machine)\n", cfg->host, cfg->port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on http://%s:%u\n", cfg->host, info ? info->port : cfg->port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    return 0;
}
