/*
** server.c: the HTTP server of `sluice serve` (serve.h): one
** libmicrohttpd daemon, a thread per connection, for three things:
**
**   /api/v1/artifacts...   the registry (src/registry/server.c), mounted
**                          as it is, its data in DATA/registry; the
**                          server's token is one of its write tokens
**   /api/v1/...            the console's API (routes.c)
**   /, /console/...        the console's files (files.c)
**
** A request is routed once its body has arrived whole. Reading is open;
** changing anything (POST, PUT, DELETE) takes the server's token, as
** `Authorization: Bearer TOKEN`, except validate and preview, which
** change nothing.
**
** SIGINT and SIGTERM are blocked in every thread and taken by the main
** thread, which then stops the pipelines (they drain) and the server.
*/
#include "serve.h"
#include "../common/listen.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    MAX_CONNECTIONS = 256,
    CONNECTION_TIMEOUT_S = 120,
    MAX_BODY = 16 << 20,            /* a pipeline, or a preview with its module */
    MAX_UPLOAD = 64 << 20,          /* an artifact, as `sluice registry serve` */
    MAX_UNPACKED_FACTOR = 4,
};

typedef struct Server {
    ServeContext ctx;
    ServerConfig registry;
    char token[SERVE_TOKEN_MAX];
    char registry_dir[PATH_MAX], web_dir[PATH_MAX];
} Server;

/* One request: for the registry, or buffered for routes.c. */
typedef struct Request {
    bool registry;
    void *registry_request;
    HttpBody body;
} Request;

static bool is_registry_url(const char *url)
{
    size_t n = strlen(REGISTRY_API_PREFIX);
    return !strncmp(url, REGISTRY_API_PREFIX, n) && (url[n] == '\0' || url[n] == '/');
}

static bool authorized(const Server *s, struct MHD_Connection *c)
{
    return serve_token_matches(s->token, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                     "Authorization"));
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)version;
    Server *s = cls;
    Request *req = *con_cls;
    if (!req) {
        if (!(req = calloc(1, sizeof *req))) return MHD_NO;
        *con_cls = req;
        req->registry = is_registry_url(url);
        if (!req->registry && http_announced_too_large(c, MAX_BODY))
            return http_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than "
                                   "%d bytes", MAX_BODY);
        if (!req->registry) return MHD_YES;     /* the body comes next */
    }
    if (req->registry)
        return registry_answer(&s->registry, c, url, method, data, data_size,
                               &req->registry_request);
    if (*data_size) {
        http_body_append(&req->body, data, *data_size, MAX_BODY);
        *data_size = 0;
        return MHD_YES;
    }
    if (req->body.too_large)
        return http_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %d bytes",
                               MAX_BODY);
    if (!route_is_open(method, url) && !authorized(s, c))
        return http_send_error(c, MHD_HTTP_UNAUTHORIZED, "%s %s needs the server's token: send "
                               "'Authorization: Bearer TOKEN' (see `sluice serve --help`)",
                               method, url);
    return route(&s->ctx, c, method, url, &req->body);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    Request *req = *con_cls;
    if (!req) return;
    if (req->registry) registry_completed(&req->registry_request);
    http_body_free(&req->body);
    free(req);
    *con_cls = NULL;
}

/* ---- Starting ------------------------------------------------------------- */

static bool make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return true;
    fprintf(stderr, "sluice serve: cannot make %s: %s\n", path, strerror(errno));
    return false;
}

/* The executable, the console's directory, the registry's configuration
** and the token; false after saying why not. */
static bool prepare(Server *s, const ServeConfig *cfg, char *exe, size_t exe_cap)
{
    char err[512];
    bool generated;
    ssize_t n = readlink("/proc/self/exe", exe, exe_cap - 1);
    if (n <= 0) {
        fprintf(stderr, "sluice serve: cannot find its own executable: %s\n", strerror(errno));
        return false;
    }
    exe[n] = '\0';
    char exe_copy[PATH_MAX];
    snprintf(exe_copy, sizeof exe_copy, "%s", exe);
    if (cfg->web_dir) snprintf(s->web_dir, sizeof s->web_dir, "%s", cfg->web_dir);
    else snprintf(s->web_dir, sizeof s->web_dir, "%s/web/console", dirname(exe_copy));
    snprintf(s->registry_dir, sizeof s->registry_dir, "%s/registry", cfg->data_dir);
    snprintf(s->ctx.cache_dir, sizeof s->ctx.cache_dir, "%s/cache", cfg->data_dir);
    if (!make_dir(cfg->data_dir) || !make_dir(s->registry_dir)) return false;
    if (!serve_token(cfg->token, cfg->data_dir, s->token, &generated, err, sizeof err)) {
        fprintf(stderr, "sluice serve: %s\n", err);
        return false;
    }
    if (generated) printf("token: %s\n", s->token);
    s->registry = (ServerConfig){ .data_dir = s->registry_dir, .max_upload = MAX_UPLOAD,
                                  .max_unpacked = (size_t)MAX_UPLOAD * MAX_UNPACKED_FACTOR,
                                  .admin_token = s->token, .admin_name = "serve" };
    if (!registry_prepare(&s->registry, err, sizeof err)) {
        fprintf(stderr, "sluice serve: registry: %s\n", err);
        return false;
    }
    s->ctx.web_dir = s->web_dir;
    return true;
}

/* Where this server's registry is, for the pipelines and previews that
** name artifacts: SLUICE_REGISTRY_URL unless set already. Set before any
** thread starts, since other threads read the environment. */
static void point_at_registry(Server *s, const char *bound)
{
    const char *port = strrchr(bound, ':') + 1;
    bool any = !strncmp(bound, "0.0.0.0:", 8) || !strncmp(bound, "[::]:", 5);
    if (any) snprintf(s->ctx.registry_url, sizeof s->ctx.registry_url, "http://127.0.0.1:%s", port);
    else snprintf(s->ctx.registry_url, sizeof s->ctx.registry_url, "http://%s", bound);
    setenv("SLUICE_REGISTRY_URL", s->ctx.registry_url, 0);
}

static struct MHD_Daemon *start_daemon(Server *s, int fd)
{
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
        0, NULL, NULL, answer, s,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_END);
}

int serve_run(const ServeConfig *cfg)
{
    static Server s;
    char exe[PATH_MAX], bound[LISTEN_ADDRESS_MAX], err[512];
    if (!prepare(&s, cfg, exe, sizeof exe)) return 1;
    int fd = http_listen(cfg->listen, "--listen", MAX_CONNECTIONS, bound, sizeof bound, err,
                         sizeof err);
    if (fd < 0) {
        fprintf(stderr, "sluice serve: %s\n", err);
        return 1;
    }
    point_at_registry(&s, bound);
    sigset_t stop;
    http_block_stop_signals(&stop);
    s.ctx.manager = manager_open(cfg->data_dir, exe, err, sizeof err);
    if (!s.ctx.manager) {
        fprintf(stderr, "sluice serve: %s\n", err);
        close(fd);
        return 1;
    }
    s.ctx.watch = watch_new(s.ctx.manager);
    struct MHD_Daemon *d = start_daemon(&s, fd);
    if (!d) {
        fprintf(stderr, "sluice serve: cannot start the HTTP server on %s\n", bound);
        close(fd);
    } else {
        printf("listening on http://%s\n", bound);
        fflush(stdout);
        int sig;
        sigwait(&stop, &sig);
        fprintf(stderr, "sluice serve: stopping the pipelines\n");
    }
    manager_close(s.ctx.manager);
    if (d) MHD_stop_daemon(d);
    watch_free(s.ctx.watch);
    manager_free(s.ctx.manager);
    return d ? 0 : 1;
}
