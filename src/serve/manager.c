/*
** manager.c: the pipelines of `sluice serve` (serve.h).
**
** A pipeline is a file, DATA/pipelines/NAME.yaml, and a desired state,
** NAME.state ("running" or "stopped"), so that a restarted server starts
** again what was running. A running pipeline is a child process,
** `sluice run --api 127.0.0.1:0 FILE`: a crash takes down that pipeline
** only. The child is in a process group of its own, so a Ctrl-C meant for
** the server does not reach it; the server stops it with one SIGTERM, on
** which it drains (nothing accepted is lost).
**
** One supervisor thread reads the children's stderr (kept for /logs; the
** line "sluice: api listening on http://ADDR" says the child is up and
** where its API is), reaps them, and restarts those that died on their
** own after 1 s, doubling to 30 s while they keep dying. A child that
** ends by itself with status 0 (a batch pipeline) is simply stopped.
**
** `lock` guards the table and the children; the requests that change
** pipelines also take `ops`, one at a time, so that a stop waiting for a
** drain cannot see its pipeline deleted under it.
*/
#include "serve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum {
    POLL_MS = 200,
    FIRST_BACKOFF_S = 1,
    MAX_BACKOFF_S = 30,
    DRAIN_TIMEOUT_S = 60,           /* then SIGKILL */
    READ_CHUNK = 64 * 1024,
};

static const char api_line[] = "sluice: api listening on http://";

typedef enum State { STOPPED, STARTING, RUNNING, FAILED } State;
static const char *const state_names[] = { "stopped", "starting", "running", "failed" };

typedef struct Pipeline {
    char name[SERVE_NAME_MAX + 1];
    State state;
    bool want_running;              /* the desired state, kept in NAME.state */
    bool stopping;                  /* we sent SIGTERM: the exit is no failure */
    pid_t pid;                      /* the child; 0: none */
    int log_fd;                     /* the read end of its stderr; -1: none */
    time_t started_at;
    int64_t started_ns;
    int exit_status;                /* of the last child; -1: none yet */
    unsigned restarts, backoff_s;
    int64_t restart_at_ns;
    char error[512];
    char last_line[256];            /* the child's last line, to explain a failure */
    char api[SERVE_ADDRESS_MAX];
    LogRing logs;
} Pipeline;

struct Manager {
    char dir[4096];
    char exe[4096];
    pthread_mutex_t lock, ops;
    pthread_cond_t changed;         /* a child exited */
    Pipeline **items;               /* sorted by name */
    size_t count, cap;
    bool closing, done;
    int wake[2];                    /* wakes the supervisor's poll */
    pthread_t supervisor;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool manager_name_valid(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= SERVE_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

void manager_path(const Manager *m, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.yaml", m->dir, name);
}

const char *manager_dir(const Manager *m)
{
    return m->dir;
}

/* ---- The table --------------------------------------------------------- */

static Pipeline *find(const Manager *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (!strcmp(m->items[i]->name, name)) return m->items[i];
    return NULL;
}

static Pipeline *add(Manager *m, const char *name)
{
    Pipeline *p = calloc(1, sizeof *p);
    if (!p) abort();
    snprintf(p->name, sizeof p->name, "%s", name);
    p->log_fd = -1;
    p->exit_status = -1;
    p->backoff_s = FIRST_BACKOFF_S;
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->items = realloc(m->items, m->cap * sizeof *m->items);
        if (!m->items) abort();
    }
    size_t at = 0;
    while (at < m->count && strcmp(m->items[at]->name, name) < 0) at++;
    memmove(m->items + at + 1, m->items + at, (m->count - at) * sizeof *m->items);
    m->items[at] = p;
    m->count++;
    return p;
}

static void drop(Manager *m, Pipeline *p)
{
    size_t at = 0;
    while (m->items[at] != p) at++;
    memmove(m->items + at, m->items + at + 1, (m->count - at - 1) * sizeof *m->items);
    m->count--;
    log_ring_free(&p->logs);
    free(p);
}

/* ---- Files ------------------------------------------------------------- */

/* Writes `path` whole or not at all: a temporary file renamed over it. */
static bool write_atomically(const char *path, const char *text, size_t len, char *err,
                             size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = false;
    if (ok && rename(tmp, path) != 0) ok = false;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return ok;
}

static void state_path(const Manager *m, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.state", m->dir, name);
}

static void save_desired(const Manager *m, const Pipeline *p)
{
    char path[4200], err[256];
    state_path(m, p->name, path, sizeof path);
    const char *text = p->want_running ? "running\n" : "stopped\n";
    if (!write_atomically(path, text, strlen(text), err, sizeof err))
        fprintf(stderr, "sluice serve: %s\n", err);
}

static bool wants_running(const Manager *m, const char *name)
{
    char path[4200], text[16] = "";
    state_path(m, name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool running = fgets(text, sizeof text, f) && !strcmp(text, "running\n");
    fclose(f);
    return running;
}

/* ---- Children ---------------------------------------------------------- */

static void note(Pipeline *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(Pipeline *p, const char *fmt, ...)
{
    char line[600];
    int n = snprintf(line, sizeof line, "sluice serve: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    log_ring_add(&p->logs, line);
}

static void wake_supervisor(Manager *m)
{
    ssize_t n = write(m->wake[1], "", 1);
    (void)n;    /* a full pipe already wakes it */
}

/* Schedules the next try of a pipeline that failed. */
static void fail(Pipeline *p)
{
    p->state = FAILED;
    p->restart_at_ns = now_ns() + (int64_t)p->backoff_s * 1000000000;
    p->backoff_s = p->backoff_s * 2 > MAX_BACKOFF_S ? MAX_BACKOFF_S : p->backoff_s * 2;
}

/* `sluice run --api 127.0.0.1:0 FILE` with its stdout and stderr on a pipe,
** default signal handling and a process group of its own. */
static int spawn_child(const Manager *m, const char *file, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    char arg0[] = "sluice", run[] = "run", api[] = "--api", addr[] = "127.0.0.1:0";
    char *argv[] = { arg0, run, api, addr, (char *)file, NULL };
    int rc = posix_spawn(pid, m->exe, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* A pipe whose ends children do not inherit. Made with the lock held (or
** before any thread), since children are only spawned with the lock held:
** none can be spawned between pipe() and fcntl(). */
static int cloexec_pipe(int fds[2])
{
    if (pipe(fds) != 0) return errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

/* Starts the child of `p` (lock held); on failure `p` is failed. */
static void start_child(Manager *m, Pipeline *p)
{
    char file[4200];
    manager_path(m, p->name, file, sizeof file);
    int fds[2];
    int rc = cloexec_pipe(fds);
    if (!rc) {
        rc = spawn_child(m, file, fds[1], &p->pid);
        close(fds[1]);
        if (rc) close(fds[0]);
    }
    p->api[0] = p->last_line[0] = '\0';
    if (rc) {
        p->pid = 0;
        snprintf(p->error, sizeof p->error, "cannot start %.300s: %s", m->exe, strerror(rc));
        note(p, "%s", p->error);
        fail(p);
        return;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    p->log_fd = fds[0];
    p->state = STARTING;
    p->started_at = time(NULL);
    p->started_ns = now_ns();
    note(p, "started pid %d", (int)p->pid);
    wake_supervisor(m);
}

static void on_line(void *user, const char *line)
{
    Pipeline *p = user;
    if (!strncmp(line, api_line, sizeof api_line - 1)) {
        snprintf(p->api, sizeof p->api, "%s", line + sizeof api_line - 1);
        if (p->state == STARTING) p->state = RUNNING;
    }
    snprintf(p->last_line, sizeof p->last_line, "%s", line);
}

/* Reads what the child wrote, until nothing more is there. */
static void read_output(Pipeline *p)
{
    char buf[READ_CHUNK];
    ssize_t n;
    while (p->log_fd >= 0 && (n = read(p->log_fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        log_ring_feed(&p->logs, buf, (size_t)n, on_line, p);
    }
}

/* The child of `p` has ended with wait status `ws`. */
static void ended(Manager *m, Pipeline *p, int ws)
{
    read_output(p);
    close(p->log_fd);
    p->log_fd = -1;
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (WIFEXITED(ws)) note(p, "pid %d exited with status %d", (int)p->pid, code);
    else note(p, "pid %d was killed by signal %d", (int)p->pid, WTERMSIG(ws));
    p->exit_status = code;
    p->pid = 0;
    p->api[0] = '\0';
    if (p->stopping || m->closing) {
        p->state = STOPPED;
    } else if (code == 0) {             /* a batch pipeline is done */
        p->state = STOPPED;
        p->want_running = false;
        save_desired(m, p);
    } else {
        if (now_ns() - p->started_ns > (int64_t)MAX_BACKOFF_S * 1000000000)
            p->backoff_s = FIRST_BACKOFF_S;     /* it had been up for a while */
        if (WIFEXITED(ws)) snprintf(p->error, sizeof p->error, "exited with status %d%s%s",
                                    code, *p->last_line ? ": " : "", p->last_line);
        else snprintf(p->error, sizeof p->error, "killed by signal %d", WTERMSIG(ws));
        fail(p);
    }
    p->stopping = false;
    pthread_cond_broadcast(&m->changed);
}

static void reap(Manager *m)
{
    for (size_t i = 0; i < m->count; i++) {
        Pipeline *p = m->items[i];
        int ws;
        if (p->pid > 0 && waitpid(p->pid, &ws, WNOHANG) == p->pid) ended(m, p, ws);
    }
}

static void restart_due(Manager *m)
{
    int64_t now = now_ns();
    for (size_t i = 0; i < m->count; i++) {
        Pipeline *p = m->items[i];
        if (p->state == FAILED && p->want_running && !p->pid && !m->closing &&
            now >= p->restart_at_ns) {
            p->restarts++;
            start_child(m, p);
        }
    }
}

/* Waits (unlocked) for output from the children or a wake-up, then reads
** the output of those that wrote. */
static void poll_outputs(Manager *m)
{
    struct pollfd fds[1 + m->count];
    size_t n = 0;
    fds[n++] = (struct pollfd){ .fd = m->wake[0], .events = POLLIN };
    for (size_t i = 0; i < m->count; i++)
        if (m->items[i]->log_fd >= 0)
            fds[n++] = (struct pollfd){ .fd = m->items[i]->log_fd, .events = POLLIN };
    pthread_mutex_unlock(&m->lock);
    poll(fds, n, POLL_MS);
    pthread_mutex_lock(&m->lock);
    char drain[64];
    while (read(m->wake[0], drain, sizeof drain) > 0) continue;
    for (size_t i = 0; i < m->count; i++) read_output(m->items[i]);
}

static void *supervise(void *arg)
{
    Manager *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->done) {
        poll_outputs(m);
        reap(m);
        restart_due(m);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* Waits (lock held) until `p` has no child, SIGKILLing it after the
** drain timeout. */
static void wait_ended(Manager *m, Pipeline *p)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += DRAIN_TIMEOUT_S;
    while (p->pid > 0)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &deadline) == ETIMEDOUT && p->pid > 0) {
            note(p, "pid %d did not drain in %d s: killed", (int)p->pid, DRAIN_TIMEOUT_S);
            kill(p->pid, SIGKILL);
            deadline.tv_sec += DRAIN_TIMEOUT_S;
        }
}

/* Stops the child of `p`, if any, and waits for its drain (lock held). */
static void stop_child(Manager *m, Pipeline *p)
{
    if (p->pid > 0) {
        p->stopping = true;
        kill(p->pid, SIGTERM);
        note(p, "asked pid %d to stop", (int)p->pid);
        wait_ended(m, p);
    }
    if (p->state == FAILED) p->state = STOPPED;
}

/* ---- Opening and closing ----------------------------------------------- */

static void load_existing(Manager *m)
{
    DIR *d = opendir(m->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char name[SERVE_NAME_MAX + 8];
        size_t n = strlen(e->d_name);
        if (n < 6 || n - 5 > SERVE_NAME_MAX || strcmp(e->d_name + n - 5, ".yaml")) continue;
        snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
        if (manager_name_valid(name)) add(m, name)->want_running = wants_running(m, name);
    }
    if (d) closedir(d);
    for (size_t i = 0; i < m->count; i++)
        if (m->items[i]->want_running) start_child(m, m->items[i]);
}

Manager *manager_open(const char *data_dir, const char *exe, char *err, size_t errlen)
{
    Manager *m = calloc(1, sizeof *m);
    if (!m) abort();
    snprintf(m->dir, sizeof m->dir, "%s/pipelines", data_dir);
    snprintf(m->exe, sizeof m->exe, "%s", exe);
    if (mkdir(m->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot make %s: %s", m->dir, strerror(errno));
        free(m);
        return NULL;
    }
    if (cloexec_pipe(m->wake) != 0 || fcntl(m->wake[0], F_SETFL, O_NONBLOCK) ||
        fcntl(m->wake[1], F_SETFL, O_NONBLOCK)) {
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
        free(m);
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->ops, NULL);
    pthread_mutex_lock(&m->lock);
    load_existing(m);
    pthread_mutex_unlock(&m->lock);
    if (pthread_create(&m->supervisor, NULL, supervise, m) != 0) abort();
    return m;
}

void manager_close(Manager *m)
{
    pthread_mutex_lock(&m->ops);
    pthread_mutex_lock(&m->lock);
    m->closing = true;
    for (size_t i = 0; i < m->count; i++)
        if (m->items[i]->pid > 0) {
            note(m->items[i], "the server is stopping");
            kill(m->items[i]->pid, SIGTERM);
        }
    for (size_t i = 0; i < m->count; i++) wait_ended(m, m->items[i]);
    m->done = true;
    pthread_mutex_unlock(&m->lock);
    wake_supervisor(m);
    pthread_join(m->supervisor, NULL);
    pthread_mutex_unlock(&m->ops);
}

void manager_free(Manager *m)
{
    while (m->count) drop(m, m->items[0]);
    free(m->items);
    close(m->wake[0]);
    close(m->wake[1]);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->ops);
    free(m);
}

/* ---- Status ------------------------------------------------------------ */

static json_t *or_null(json_t *value, bool present)
{
    if (present) return value;
    json_decref(value);
    return json_null();
}

static json_t *status_json(const Pipeline *p)
{
    char started[32] = "";
    struct tm tm;
    if (p->pid && gmtime_r(&p->started_at, &tm)) strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:o, s:o}",
                     "name", p->name, "state", state_names[p->state],
                     "desired_state", p->want_running ? "running" : "stopped",
                     "pid", or_null(json_integer(p->pid), p->pid > 0),
                     "started_at", or_null(json_string(started), *started),
                     "exit_status", or_null(json_integer(p->exit_status), p->exit_status >= 0),
                     "restarts", (int)p->restarts,
                     "error", or_null(json_string(p->error), *p->error),
                     "api", or_null(json_string(p->api), *p->api));
}

json_t *manager_list(Manager *m)
{
    json_t *list = json_array();
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->count; i++) json_array_append_new(list, status_json(m->items[i]));
    pthread_mutex_unlock(&m->lock);
    return list;
}

static json_t *file_text(const Manager *m, const char *name)
{
    char path[4200];
    manager_path(m, name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = f ? getdelim(&text, &cap, '\0', f) : -1;
    json_t *s = n >= 0 ? json_stringn(text, (size_t)n) : NULL;
    free(text);
    if (f) fclose(f);
    return s ? s : json_string("");
}

json_t *manager_status(Manager *m, const char *name, bool with_yaml)
{
    pthread_mutex_lock(&m->lock);
    Pipeline *p = find(m, name);
    json_t *status = p ? status_json(p) : NULL;
    if (p && with_yaml) json_object_set_new(status, "yaml", file_text(m, name));
    pthread_mutex_unlock(&m->lock);
    return status;
}

bool manager_api(Manager *m, const char *name, char addr[SERVE_ADDRESS_MAX], pid_t *pid)
{
    pthread_mutex_lock(&m->lock);
    Pipeline *p = find(m, name);
    bool up = p && p->state == RUNNING && *p->api;
    if (up) {
        snprintf(addr, SERVE_ADDRESS_MAX, "%s", p->api);
        *pid = p->pid;
    }
    pthread_mutex_unlock(&m->lock);
    return up;
}

char *manager_logs(Manager *m, const char *name, size_t *len)
{
    pthread_mutex_lock(&m->lock);
    Pipeline *p = find(m, name);
    char *text = p ? log_ring_text(&p->logs, len) : NULL;
    pthread_mutex_unlock(&m->lock);
    return text;
}

/* ---- Changes ----------------------------------------------------------- */

/* Takes both locks and finds the pipeline; MANAGER_OK with *out set, or
** the failure (with both locks released). */
static ManagerStatus begin(Manager *m, const char *name, bool create, Pipeline **out,
                           char *err, size_t errlen)
{
    pthread_mutex_lock(&m->ops);
    pthread_mutex_lock(&m->lock);
    *out = find(m, name);
    ManagerStatus status = MANAGER_OK;
    if (m->closing) {
        snprintf(err, errlen, "the server is shutting down");
        status = MANAGER_CLOSING;
    } else if (!*out && !create) {
        snprintf(err, errlen, "no pipeline named '%s'", name);
        status = MANAGER_NOT_FOUND;
    }
    if (status != MANAGER_OK) {
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&m->ops);
    }
    return status;
}

static void end(Manager *m)
{
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&m->ops);
}

ManagerStatus manager_put(Manager *m, const char *name, const char *yaml, size_t len,
                          char *err, size_t errlen)
{
    Pipeline *p;
    ManagerStatus status = begin(m, name, true, &p, err, errlen);
    if (status != MANAGER_OK) return status;
    char path[4200];
    manager_path(m, name, path, sizeof path);
    if (!write_atomically(path, yaml, len, err, errlen)) {
        end(m);
        return MANAGER_FAILED;
    }
    if (!p) {
        p = add(m, name);
        save_desired(m, p);
    } else if (p->pid > 0) {
        note(p, "redeploying");
        p->error[0] = '\0';
        stop_child(m, p);
        start_child(m, p);
    } else if (p->state == FAILED) {
        p->restart_at_ns = 0;       /* try the new version at once */
    }
    end(m);
    return MANAGER_OK;
}

ManagerStatus manager_delete(Manager *m, const char *name, char *err, size_t errlen)
{
    Pipeline *p;
    ManagerStatus status = begin(m, name, false, &p, err, errlen);
    if (status != MANAGER_OK) return status;
    p->want_running = false;
    stop_child(m, p);
    char path[4200];
    manager_path(m, name, path, sizeof path);
    unlink(path);
    state_path(m, name, path, sizeof path);
    unlink(path);
    drop(m, p);
    end(m);
    return MANAGER_OK;
}

ManagerStatus manager_start(Manager *m, const char *name, char *err, size_t errlen)
{
    Pipeline *p;
    ManagerStatus status = begin(m, name, false, &p, err, errlen);
    if (status != MANAGER_OK) return status;
    p->want_running = true;
    save_desired(m, p);
    if (!p->pid) {
        p->backoff_s = FIRST_BACKOFF_S;
        p->error[0] = '\0';
        start_child(m, p);
    }
    end(m);
    return MANAGER_OK;
}

ManagerStatus manager_stop(Manager *m, const char *name, char *err, size_t errlen)
{
    Pipeline *p;
    ManagerStatus status = begin(m, name, false, &p, err, errlen);
    if (status != MANAGER_OK) return status;
    p->want_running = false;
    save_desired(m, p);
    stop_child(m, p);
    end(m);
    return MANAGER_OK;
}
