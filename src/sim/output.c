/*
** output.c: the simulator's output (see output.h).
**
** In TCP mode lines are queued and sent in blocks: at each flush (before
** the simulator sleeps, or when the queue is full). A connection that
** breaks is reopened and the send resumes at the start of the line it broke
** in, so the receiver never sees half a line followed by a whole one; lines
** the kernel had already accepted for the broken connection may be lost.
*/
#include "output.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
    QUEUE_BYTES = 64 * 1024,
    BACKOFF_FIRST_MS = 50,
    BACKOFF_MAX_MS = 1000,
    GIVE_UP_MS = 60 * 1000,   /* no receiver for this long: end the run */
    SEND_TIMEOUT_S = 10,      /* a receiver this stuck counts as gone */
};

bool sim_output_file(SimOutput *o, const char *path, const char *header)
{
    *o = (SimOutput){ .fd = -1, .header = header };
    if (!strcmp(path, "-")) {
        o->file = stdout;
    } else if (!(o->file = fopen(path, "w"))) {
        fprintf(stderr, "sluice sim: cannot create %s: %s\n", path, strerror(errno));
        return false;
    }
    o->own_file = o->file != stdout;
    return !header || fputs(header, o->file) >= 0;
}

bool sim_split_address(const char *address, char host[256], char port[16])
{
    const char *colon = strrchr(address, ':');
    if (!colon) return false;
    const char *host_start = address, *host_end = colon;
    if (address[0] == '[' && colon > address + 1 && colon[-1] == ']') {
        host_start++;
        host_end--;
    }
    size_t host_len = (size_t)(host_end - host_start), port_len = strlen(colon + 1);
    if (host_len == 0 || host_len >= 256 || port_len == 0 || port_len >= 16) return false;
    memcpy(host, host_start, host_len);
    host[host_len] = 0;
    memcpy(port, colon + 1, port_len + 1);
    return true;
}

bool sim_output_tcp(SimOutput *o, const char *address, const char *header,
                    const volatile sig_atomic_t *stop)
{
    *o = (SimOutput){ .fd = -1, .header = header, .stop = stop };
    if (!sim_split_address(address, o->host, o->port)) {
        fprintf(stderr, "sluice sim: --connect wants HOST:PORT or [IPV6]:PORT, not '%s'\n", address);
        return false;
    }
    o->cap = QUEUE_BYTES;
    if (!(o->buf = malloc(o->cap))) {
        fprintf(stderr, "sluice sim: out of memory\n");
        return false;
    }
    return true;
}

/* One attempt to connect; the socket, or -1 with errno set. */
static int try_connect(const SimOutput *o)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list;
    int rc = getaddrinfo(o->host, o->port, &hints, &list);
    if (rc != 0) {
        errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return -1;
    }
    int fd = -1, saved = ECONNREFUSED;
    for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) errno = saved;
    else setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ .tv_sec = SEND_TIMEOUT_S },
                    sizeof(struct timeval));
    return fd;
}

/* Sleeps ms milliseconds, or less if a signal comes. */
static void nap(long ms)
{
    struct timespec t = { ms / 1000, ms % 1000 * 1000000L };
    nanosleep(&t, NULL);
}

/* Sends all of data[0..len), retrying short sends; false on error (errno). */
static bool send_all(int fd, const char *data, size_t len, size_t *sent)
{
    *sent = 0;
    while (*sent < len) {
        ssize_t n = send(fd, data + *sent, len - *sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        *sent += (size_t)n;
    }
    return true;
}

/* Connects, waiting with growing pauses while the receiver is not up, and
   sends the header. False on giving up (after a message) or on *stop. */
static bool connect_with_backoff(SimOutput *o)
{
    long waited = 0, pause = BACKOFF_FIRST_MS;
    bool told = false;
    for (;;) {
        if (*o->stop) return false;
        o->fd = try_connect(o);
        size_t sent;
        if (o->fd >= 0 && (!o->header || send_all(o->fd, o->header, strlen(o->header), &sent)))
            return true;
        int err = errno;
        if (o->fd >= 0) close(o->fd);
        o->fd = -1;
        if (waited >= GIVE_UP_MS) {
            fprintf(stderr, "sluice sim: cannot connect to %s:%s: %s (gave up after %d s)\n",
                    o->host, o->port, strerror(err), GIVE_UP_MS / 1000);
            return false;
        }
        if (!told)
            fprintf(stderr, "sluice sim: waiting for %s:%s (%s)\n", o->host, o->port, strerror(err));
        told = true;
        nap(pause);
        waited += pause;
        pause = pause * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pause * 2;
    }
}

/* The start of the line that byte `at` of the queue belongs to. */
static size_t line_start(const SimOutput *o, size_t at)
{
    while (at > 0 && o->buf[at - 1] != '\n') at--;
    return at;
}

static bool flush_tcp(SimOutput *o)
{
    while (o->len > 0) {
        if (o->fd < 0 && !connect_with_backoff(o)) return false;
        size_t sent;
        if (send_all(o->fd, o->buf, o->len, &sent)) {
            o->len = 0;
            break;
        }
        fprintf(stderr, "sluice sim: connection to %s:%s lost (%s); reconnecting\n", o->host,
                o->port, strerror(errno));
        close(o->fd);
        o->fd = -1;
        size_t keep = line_start(o, sent);
        memmove(o->buf, o->buf + keep, o->len - keep);
        o->len -= keep;
    }
    return true;
}

bool sim_output_flush(SimOutput *o)
{
    if (!o->file) return flush_tcp(o);
    if (fflush(o->file) == 0) return true;
    fprintf(stderr, "sluice sim: cannot write the output: %s\n", strerror(errno));
    return false;
}

bool sim_output_line(SimOutput *o, const char *line, size_t len)
{
    if (o->file) {
        if (fwrite(line, 1, len, o->file) == len) return true;
        fprintf(stderr, "sluice sim: cannot write the output: %s\n", strerror(errno));
        return false;
    }
    if (o->len + len > o->cap && !flush_tcp(o)) return false;
    memcpy(o->buf + o->len, line, len);   /* a line is far shorter than the queue */
    o->len += len;
    return true;
}

bool sim_output_close(SimOutput *o)
{
    bool ok = sim_output_flush(o);
    if (!ok && o->stop && *o->stop) {
        /* Stopped while no receiver was there: not a failure of the run. */
        fprintf(stderr, "sluice sim: stopped with %zu bytes not sent\n", o->len);
        ok = true;
    }
    if (o->own_file && fclose(o->file) != 0 && ok) {
        fprintf(stderr, "sluice sim: cannot write the output: %s\n", strerror(errno));
        ok = false;
    }
    if (o->fd >= 0) close(o->fd);
    free(o->buf);
    *o = (SimOutput){ .fd = -1 };
    return ok;
}
