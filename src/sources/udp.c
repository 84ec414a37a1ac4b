/*
** udp.c: the `udp` source. Each datagram received on an address becomes
** one record per line in it (`framing: lines`, the default) or one record
** (`framing: datagram`), with the metadata `peer` and `received_at`
** (netlines.h). A datagram over max_datagram_bytes is rejected whole, with
** its size.
**
** UDP has no flow control: while sl_emit waits for room downstream the
** kernel's receive buffer fills and the kernel drops what does not fit.
** `receive_buffer_bytes` enlarges that buffer to ride out bursts.
*/
#include "net.h"
#include "netlines.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    WAKE = 0, SOCKET = 1,           /* slots in the poll set */
    ROUND = 1024,                   /* datagrams read before looking at the wake pipe */
    DRAIN_ROUNDS = 64,              /* at stop: what had arrived, within reason */
};

typedef struct Udp {
    const char *address;
    size_t max_datagram;
    int64_t receive_buffer;
    bool by_line;
    SlWake wake;
    struct pollfd polled[2];
    char *buf;
    SlNetStream lines;
    struct sockaddr_storage last_from;  /* whose name `peer` holds */
    socklen_t last_from_len;
    char peer[SL_PEER_MAX];
    size_t peer_len;
    SlNetOut out;
} Udp;

static const char *const framings[] = { "lines", "datagram", NULL };

static const SlSetting settings[] = {
    SL_NET_ADDRESS_SETTING,
    { .name = "framing", .type = SL_SET_STRING, .def = "lines", .choices = framings,
      .doc = "lines: a record per line of a datagram; datagram: a record per datagram." },
    { .name = "max_datagram_bytes", .type = SL_SET_INT, .def = "65535", .min = 16,
      .max = 65535, .doc = "Larger datagrams are rejected to NAME.errors." },
    SL_NET_RECEIVE_BUFFER_SETTING,
    { 0 },
};

static int init(SlCtx *ctx, const SlConf *conf)
{
    if (!sl_net_check_address(ctx, sl_conf_get(conf, "address"))) return -1;
    Udp *u = calloc(1, sizeof *u);
    if (!u) return -1;
    u->address = sl_conf_str(conf, "address", NULL);
    u->max_datagram = (size_t)sl_conf_int(conf, "max_datagram_bytes", 65535);
    u->receive_buffer = sl_conf_int(conf, "receive_buffer_bytes", 0);
    u->by_line = !strcmp(sl_conf_str(conf, "framing", "lines"), "lines");
    u->wake = SL_WAKE_CLOSED;
    u->polled[WAKE].fd = u->polled[SOCKET].fd = -1;
    sl_netout_init(&u->out, ctx, u->max_datagram);
    sl_set_state(ctx, u);
    return 0;
}

static int start(SlCtx *ctx)
{
    Udp *u = sl_state(ctx);
    u->buf = malloc(u->max_datagram);
    if (!u->buf) {
        sl_fail(ctx, "cannot start: out of memory");
        return -1;
    }
    return sl_net_listen(ctx, u->address, SOCK_DGRAM, u->receive_buffer, &u->wake,
                         u->polled) ? 0 : -1;
}

/* Names the sender, reusing the name while datagrams keep coming from the
** same one. */
static void note_sender(Udp *u, const struct sockaddr_storage *from, socklen_t len)
{
    if (len != u->last_from_len || memcmp(from, &u->last_from, len) != 0) {
        memcpy(&u->last_from, from, len);
        u->last_from_len = len;
        u->peer_len = sl_net_peer_name((const struct sockaddr *)from, u->peer);
    }
    sl_netout_from(&u->out, u->peer, u->peer_len, sl_net_now());
}

static void take_datagram(SlCtx *ctx, Udp *u, size_t size)
{
    sl_count_bytes_in(ctx, size);
    if (size > u->max_datagram) {
        /* Rejected here: the line splitter would take it for a long line. */
        char why[SL_WHY_MAX];
        snprintf(why, sizeof why, "datagram of %zu bytes over max_datagram_bytes (%zu)",
                 size, u->max_datagram);
        sl_netout_reject(&u->out, u->buf, u->max_datagram, why);
    } else if (u->by_line) {
        sl_netstream_feed(&u->lines, &u->out, u->buf, size);
        sl_netstream_end(&u->lines, &u->out);
    } else {
        sl_netout_add(&u->out, u->buf, size);
    }
}

/* Reads the datagrams waiting, up to a round; false when none was there. */
static bool read_round(SlCtx *ctx, Udp *u)
{
    for (int i = 0; i < ROUND; i++) {
        struct sockaddr_storage from;
        socklen_t len = sizeof from;
        /* MSG_TRUNC: the datagram's real size even when it did not fit. */
        ssize_t n = recvfrom(u->polled[SOCKET].fd, u->buf, u->max_datagram, MSG_TRUNC,
                             (struct sockaddr *)&from, &len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sl_log(ctx, "recvfrom: %s", strerror(errno));
            return i > 0;
        }
        note_sender(u, &from, len);
        take_datagram(ctx, u, (size_t)n);
    }
    return true;
}

static void run(SlCtx *ctx)
{
    Udp *u = sl_state(ctx);
    while (sl_net_wait(ctx, &u->out, u->polled, 2)) read_round(ctx, u);
    /* What the kernel had already received when the stop came is kept. */
    for (int round = 0; round < DRAIN_ROUNDS && read_round(ctx, u); round++) {}
    sl_netout_flush(&u->out);
}

static void stop(SlCtx *ctx)
{
    Udp *u = sl_state(ctx);
    sl_wake_signal(&u->wake);
}

static void destroy(void *state)
{
    Udp *u = state;
    if (!u) return;
    if (u->polled[SOCKET].fd >= 0) close(u->polled[SOCKET].fd);
    sl_wake_close(&u->wake);
    sl_netstream_free(&u->lines);
    sl_netout_discard(&u->out);
    free(u->buf);
    free(u);
}

const SlComponentType sl_source_udp = {
    .name = "udp",
    .kind = SL_SOURCE,
    .doc = "Receives UDP datagrams; one record per line of each datagram, or per datagram.",
    .settings = settings,
    .init = init,
    .start = start,
    .run = run,
    .stop = stop,
    .destroy = destroy,
};
