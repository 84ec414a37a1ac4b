/*
** serve.h: `sluice serve`, the control plane (docs/console.md): one
** HTTP server on one port for the registry, a pipeline manager and the web
** console. What its parts share:
**
**   server.c    the daemon, requests, the token check, mounting the
**               registry, running until SIGINT/SIGTERM
**   routes.c    the /api/v1 routes of the console
**   token.c     the control plane's token
**   manager.c   pipelines: their files, desired state and child processes
**               (one `sluice run` each), restarted when they die
**   logs.c      the last lines of a child's stderr
**   watch.c     stats (with rates) and taps, from a child's own API
**   validate.c  a pipeline text checked, problems as JSON
**   preview.c   a function run once on a few records
**   files.c     the console's static files
*/
#ifndef SLUICE_SERVE_H
#define SLUICE_SERVE_H

#include "../common/http.h"
#include "../registry/server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
    SERVE_TOKEN_MAX = 128,
    SERVE_NAME_MAX = 64,            /* a pipeline name: 1-64 of [a-z0-9_-] */
    SERVE_ADDRESS_MAX = 80,
};

typedef struct ServeConfig {
    const char *listen;             /* HOST:PORT or [IPV6]:PORT; port 0: any free one */
    const char *data_dir;
    const char *token;              /* --token, or NULL */
    const char *web_dir;            /* --web, or NULL: next to the executable */
} ServeConfig;

/* Serves until SIGINT or SIGTERM, then stops every pipeline (they drain)
** and returns 0; 1 with a message on stderr if it cannot start. */
int serve_run(const ServeConfig *config);

/* ---- token.c --------------------------------------------------------- */
/* The token: `flag`, else $SLUICE_TOKEN, else DIR/token, else a new one
** stored in DIR/token (mode 0600), with *generated set. False with a
** message in err. */
bool serve_token(const char *flag, const char *data_dir, char token[SERVE_TOKEN_MAX],
                 bool *generated, char *err, size_t errlen);
/* Whether an Authorization header (or NULL) is "Bearer TOKEN" with this
** token, compared in constant time. */
bool serve_token_matches(const char *token, const char *authorization);

/* ---- manager.c ------------------------------------------------------- */
typedef struct Manager Manager;

/* What a call on a pipeline came to; MANAGER_OK or an HTTP-like failure. */
typedef enum ManagerStatus {
    MANAGER_OK, MANAGER_NOT_FOUND, MANAGER_CLOSING, MANAGER_FAILED
} ManagerStatus;

/* Opens DIR/pipelines (creating it), and starts the supervisor and the
** pipelines whose desired state is running. `exe` is the sluice binary the
** children run. NULL with a message in err. */
Manager *manager_open(const char *data_dir, const char *exe, char *err, size_t errlen);
/* Stops every child (SIGTERM: they drain) and waits for them; later
** changes are refused. The desired states stay as they were, for the next
** start. */
void manager_close(Manager *m);
/* After manager_close, once nothing uses the manager any more. */
void manager_free(Manager *m);

bool manager_name_valid(const char *name);
/* The path of a pipeline's file (it may not exist). */
void manager_path(const Manager *m, const char *name, char *out, size_t cap);
/* The directory of the pipeline files. */
const char *manager_dir(const Manager *m);

/* [{status}, ...] in name order. */
json_t *manager_list(Manager *m);
/* The status of one ({"name", "state", "pid", ...} and, with_yaml, "yaml");
** NULL if there is no such pipeline. */
json_t *manager_status(Manager *m, const char *name, bool with_yaml);
/* Saves the (valid) text atomically; redeploys a running pipeline. */
ManagerStatus manager_put(Manager *m, const char *name, const char *yaml, size_t len,
                          char *err, size_t errlen);
ManagerStatus manager_delete(Manager *m, const char *name, char *err, size_t errlen);
ManagerStatus manager_start(Manager *m, const char *name, char *err, size_t errlen);
ManagerStatus manager_stop(Manager *m, const char *name, char *err, size_t errlen);
/* A running pipeline's API address (HOST:PORT) and its child's pid; false
** when it is not running. */
bool manager_api(Manager *m, const char *name, char addr[SERVE_ADDRESS_MAX], pid_t *pid);
/* The last lines of its children's stderr; NULL if no such pipeline. */
char *manager_logs(Manager *m, const char *name, size_t *len);

/* ---- logs.c ---------------------------------------------------------- */
/* The last LOG_LINES lines written to a child's stderr. */
enum { LOG_LINES = 200, LOG_LINE_MAX = 2000 };
typedef struct LogRing {
    char *lines[LOG_LINES];
    size_t next, count;
    char partial[LOG_LINE_MAX];     /* a line not ended yet */
    size_t partial_len;
} LogRing;

/* Takes `n` bytes of output; calls `on_line` with each complete line. */
void log_ring_feed(LogRing *r, const char *data, size_t n,
                   void (*on_line)(void *user, const char *line), void *user);
/* Adds a whole line (a note of the manager's). */
void log_ring_add(LogRing *r, const char *line);
/* The lines, oldest first, each ended by a newline (malloc'd). */
char *log_ring_text(const LogRing *r, size_t *len);
void log_ring_free(LogRing *r);

/* ---- watch.c --------------------------------------------------------- */
typedef struct Watch Watch;
Watch *watch_new(Manager *m);
void watch_free(Watch *w);
/* GET .../stats: {"components": [...], "edges": [...]}, rates from the
** previous sample. */
enum MHD_Result watch_stats(Watch *w, struct MHD_Connection *c, const char *name);
/* GET .../tap: NDJSON from the child's /tap, at most `limit` records or
** 5 seconds. */
enum MHD_Result watch_tap(Watch *w, struct MHD_Connection *c, const char *name);
/* The rates, {NAME: {"in", "out", "errors"}} per second, of the components
** of /stats `now` since `before` (NULL: none yet; every rate is 0), taken
** `seconds` apart. A counter that went down (a restarted child) is 0. */
json_t *watch_rates(json_t *before, json_t *now, double seconds);

/* ---- validate.c ------------------------------------------------------ */
/* Checks a pipeline text as `sluice validate` does, as a file in `dir`
** (relative paths resolve there). Returns the problems, in file order:
** [{"line", "column", "component" (or null), "message"}]; empty when valid. */
json_t *validate_text(const char *yaml, size_t len, const char *dir);

/* ---- preview.c ------------------------------------------------------- */
/* POST /api/v1/preview, the body being `body`. `registry_url` is where
** artifacts resolve, `cache_dir` where they are kept. */
enum MHD_Result preview(struct MHD_Connection *c, const char *body, size_t len,
                        const char *registry_url, const char *cache_dir);

/* ---- files.c --------------------------------------------------------- */
/* GET / and /console/PATH from the built console in `web_dir` (the URL is
** "/", "/console" or under "/console/"). */
enum MHD_Result serve_file(struct MHD_Connection *c, const char *web_dir, const char *url);

typedef enum FileLookup { FILE_FOUND, FILE_MISSING, FILE_FORBIDDEN, FILE_NO_CONSOLE } FileLookup;
/* The file such a URL names, resolved (symbolic links and all) into
** `found`, a PATH_MAX buffer: FILE_FORBIDDEN for a path that would leave
** `web_dir`, FILE_NO_CONSOLE when `web_dir` does not exist. */
FileLookup serve_file_path(const char *web_dir, const char *url, char *found);

/* ---- routes.c -------------------------------------------------------- */
typedef struct ServeContext {
    Manager *manager;
    Watch *watch;
    const char *web_dir;
    char registry_url[SERVE_ADDRESS_MAX + 16];  /* http://HOST:PORT */
    char cache_dir[4096];
} ServeContext;

/* Whether the request changes nothing (GET, HEAD, validate, preview) and
** so needs no token. */
bool route_is_open(const char *method, const char *url);
/* Answers a complete request outside the registry. */
enum MHD_Result route(ServeContext *ctx, struct MHD_Connection *c, const char *method,
                      const char *url, const HttpBody *body);

#endif
