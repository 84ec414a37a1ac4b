/*
** tcp.c: the `tcp` source. Listens on an address and turns every line
** that any client sends into a record (netlines.h: field `message`, metadata
** `peer` and `received_at`).
**
** One thread serves every connection with poll(): each readable socket
** gets one 256 KiB read per round, so a fast client cannot starve the
** others, and lines go straight from the shared read buffer into the
** batch. A batch is emitted when full, or as soon as no socket has data
** (so a trickle still arrives promptly). While sl_emit waits for room
** downstream nothing is read, the kernel buffers fill, and TCP flow
** control slows the clients down: nothing is dropped.
**
** On stop the source stops accepting, reads what the clients had already
** sent, counts every unterminated last line, emits, and returns.
*/
#include "../pipeline/lines.h"
#include "net.h"
#include "netlines.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    READ_BYTES = 256 * 1024,
    DRAIN_QUIET_MS = 100,   /* at stop: clients quiet this long are done */
    DRAIN_MAX_MS = 5000,    /* at stop: a client still sending is cut off */
    ACCEPT_RETRY_MS = 100,  /* out of file descriptors: wait for some to free */
    WAKE = 0, LISTENER = 1, FIRST_CLIENT = 2,   /* slots in the poll set */
};

typedef struct Client {
    SlNetStream lines;
    char peer[SL_PEER_MAX];
    size_t peer_len;
} Client;

typedef struct Tcp {
    const char *address;
    size_t max_line, max_clients;
    int64_t receive_buffer;
    SlWake wake;
    struct pollfd *polled;          /* wake, listener, then one per client */
    Client *clients;                /* clients[i] is polled[FIRST_CLIENT + i] */
    size_t nclients;
    bool refusing;                  /* logged that no client can be added */
    char *buf;
    SlNetOut out;
} Tcp;

static const SlSetting settings[] = {
    SL_NET_ADDRESS_SETTING,
    SL_LINES_SETTING,
    { .name = "max_connections", .type = SL_SET_INT, .def = "1000", .min = 1,
      .max = 100000,
      .doc = "Clients connected at once; more are accepted and closed at once." },
    SL_NET_RECEIVE_BUFFER_SETTING,
    { 0 },
};

static int init(SlCtx *ctx, const SlConf *conf)
{
    if (!sl_net_check_address(ctx, sl_conf_get(conf, "address"))) return -1;
    Tcp *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->address = sl_conf_str(conf, "address", NULL);
    t->max_line = (size_t)sl_conf_int(conf, "max_line_bytes", SL_LINES_DEFAULT_MAX);
    t->max_clients = (size_t)sl_conf_int(conf, "max_connections", 1000);
    t->receive_buffer = sl_conf_int(conf, "receive_buffer_bytes", 0);
    t->wake = SL_WAKE_CLOSED;
    sl_netout_init(&t->out, ctx, t->max_line);
    sl_set_state(ctx, t);
    return 0;
}

static int start(SlCtx *ctx)
{
    Tcp *t = sl_state(ctx);
    t->polled = calloc(FIRST_CLIENT + t->max_clients, sizeof *t->polled);
    t->clients = calloc(t->max_clients, sizeof *t->clients);
    t->buf = malloc(READ_BYTES);
    if (!t->polled || !t->clients || !t->buf) {
        sl_fail(ctx, "cannot start: out of memory");
        return -1;
    }
    return sl_net_listen(ctx, t->address, SOCK_STREAM, t->receive_buffer, &t->wake,
                         t->polled) ? 0 : -1;
}

/* ---- Clients ----------------------------------------------------------- */

static void add_client(SlCtx *ctx, Tcp *t, int fd, const struct sockaddr *sa)
{
    if (!sl_net_nonblocking(fd)) {
        close(fd);
        return;
    }
    if (t->nclients == t->max_clients) {
        if (!t->refusing)
            sl_log(ctx, "max_connections (%zu) reached: closing new connections",
                   t->max_clients);
        t->refusing = true;
        close(fd);
        return;
    }
    Client *c = &t->clients[t->nclients];
    memset(c, 0, sizeof *c);
    c->peer_len = sl_net_peer_name(sa, c->peer);
    t->polled[FIRST_CLIENT + t->nclients] = (struct pollfd){ .fd = fd, .events = POLLIN };
    t->nclients++;
}

static void accept_clients(SlCtx *ctx, Tcp *t)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept(t->polled[LISTENER].fd, (struct sockaddr *)&sa, &len);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                       errno == ENOMEM)) {
            if (!t->refusing) sl_log(ctx, "cannot accept connections: %s", strerror(errno));
            t->refusing = true;
            /* The listener stays readable: pause rather than spin. */
            poll(NULL, 0, ACCEPT_RETRY_MS);
        }
        if (fd < 0) return;
        add_client(ctx, t, fd, (struct sockaddr *)&sa);
    }
}

/* The client has gone: its last line counts, its slot goes to the last
** client. */
static void close_client(Tcp *t, size_t i)
{
    Client *c = &t->clients[i];
    sl_netout_from(&t->out, c->peer, c->peer_len, sl_net_now());
    sl_netstream_end(&c->lines, &t->out);
    sl_netstream_free(&c->lines);
    close(t->polled[FIRST_CLIENT + i].fd);
    size_t last = --t->nclients;
    if (i != last) {
        t->clients[i] = t->clients[last];
        t->polled[FIRST_CLIENT + i] = t->polled[FIRST_CLIENT + last];
    }
    t->refusing = false;
}

/* One read from client i; a client that has gone is closed. */
static void read_client(SlCtx *ctx, Tcp *t, size_t i)
{
    ssize_t n = read(t->polled[FIRST_CLIENT + i].fd, t->buf, READ_BYTES);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        close_client(t, i);
        return;
    }
    Client *c = &t->clients[i];
    sl_count_bytes_in(ctx, (uint64_t)n);
    sl_netout_from(&t->out, c->peer, c->peer_len, sl_net_now());
    sl_netstream_feed(&c->lines, &t->out, t->buf, (size_t)n);
}

static void read_ready_clients(SlCtx *ctx, Tcp *t)
{
    /* Backwards, so closing (which moves the last client into the slot)
    ** never skips a client. */
    for (size_t i = t->nclients; i-- > 0;)
        if (t->polled[FIRST_CLIENT + i].revents) read_client(ctx, t, i);
}

/* Stopping: reads what the clients had sent. Data a client sent just
** before closing may still be on its way through the kernel, so reading
** goes on until the clients have been quiet for a moment (or, for clients
** that never stop sending, until a deadline); then the rest are closed,
** each last line counting. */
static void drain_clients(SlCtx *ctx, Tcp *t)
{
    int64_t deadline = sl_net_now() + (int64_t)DRAIN_MAX_MS * 1000000;
    while (t->nclients && sl_net_now() < deadline) {
        if (poll(t->polled + FIRST_CLIENT, t->nclients, DRAIN_QUIET_MS) <= 0) break;
        read_ready_clients(ctx, t);
    }
    while (t->nclients) close_client(t, t->nclients - 1);
}

/* ---- Running ----------------------------------------------------------- */

static void run(SlCtx *ctx)
{
    Tcp *t = sl_state(ctx);
    while (sl_net_wait(ctx, &t->out, t->polled, FIRST_CLIENT + t->nclients)) {
        read_ready_clients(ctx, t);     /* first: a client that left frees its slot */
        if (t->polled[LISTENER].revents) accept_clients(ctx, t);
    }
    /* Connections the kernel has completed have sent data that counts. */
    accept_clients(ctx, t);
    close(t->polled[LISTENER].fd);
    t->polled[LISTENER].fd = -1;
    drain_clients(ctx, t);
    sl_netout_flush(&t->out);
}

static void stop(SlCtx *ctx)
{
    Tcp *t = sl_state(ctx);
    sl_wake_signal(&t->wake);
}

static void destroy(void *state)
{
    Tcp *t = state;
    if (!t) return;
    for (size_t i = 0; i < t->nclients; i++) {
        sl_netstream_free(&t->clients[i].lines);
        close(t->polled[FIRST_CLIENT + i].fd);
    }
    if (t->polled && t->polled[LISTENER].fd >= 0) close(t->polled[LISTENER].fd);
    sl_netout_discard(&t->out);
    sl_wake_close(&t->wake);
    free(t->polled);
    free(t->clients);
    free(t->buf);
    free(t);
}

const SlComponentType sl_source_tcp = {
    .name = "tcp",
    .kind = SL_SOURCE,
    .doc = "Receives newline-delimited text from many TCP clients; one record per line.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .stop = stop,
    .destroy = destroy,
};
