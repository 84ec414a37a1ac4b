/*
** net.c: listen addresses, peer names and the wake pipe of the network
** sources. Addresses are HOST:PORT, [IPV6]:PORT or :PORT (every
** interface); HOST may be a name, resolved when the source starts.
*/
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { HOST_MAX = 256, PORT_MAX = 6, LISTEN_BACKLOG = 1024 };

/* Splits `address` into host (brackets removed; "" for every interface)
** and a decimal port of 0..65535. */
static bool split_address(const char *address, char host[HOST_MAX], char port[PORT_MAX])
{
    const char *colon = strrchr(address, ':');
    if (!colon) return false;
    const char *h = address;
    size_t hlen = (size_t)(colon - address);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen)) {
        return false;               /* an IPv6 address needs its brackets */
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (hlen >= HOST_MAX || plen == 0 || plen >= PORT_MAX) return false;
    if (strspn(p, "0123456789") != plen || atoi(p) > 65535) return false;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    memcpy(port, p, plen + 1);
    return true;
}

bool sl_net_check_address(SlCtx *ctx, const SlConf *node)
{
    char host[HOST_MAX], port[PORT_MAX];
    if (split_address(node->text, host, port)) return true;
    sl_conf_error(ctx, node, "bad address '%s': use HOST:PORT, [IPV6]:PORT or :PORT "
                  "(port 0 to 65535)", node->text);
    return false;
}

void sl_net_receive_buffer(SlCtx *ctx, int fd, int64_t bytes)
{
    int size = (int)bytes;
    if (size && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0)
        sl_log(ctx, "cannot set receive_buffer_bytes: %s", strerror(errno));
}

bool sl_net_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

static int bind_one(const struct addrinfo *ai, int socktype)
{
    int fd = socket(ai->ai_family, socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    /* A restarted sluice must not wait for old connections' TIME_WAIT. */
    if (socktype == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    bool ok = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
              (socktype != SOCK_STREAM || listen(fd, LISTEN_BACKLOG) == 0) &&
              sl_net_nonblocking(fd);
    if (ok) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int sl_net_bind(SlCtx *ctx, const char *address, int socktype)
{
    char host[HOST_MAX], port[PORT_MAX];
    if (!split_address(address, host, port)) {
        sl_fail(ctx, "bad address '%s'", address);
        return -1;
    }
    struct addrinfo hints = {
        .ai_socktype = socktype,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    };
    struct addrinfo *list;
    int rc = getaddrinfo(*host ? host : NULL, port, &hints, &list);
    if (rc != 0) {
        sl_fail(ctx, "cannot resolve '%s': %s", address, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next)
        fd = bind_one(ai, socktype);
    if (fd < 0) sl_fail(ctx, "cannot listen on %s: %s", address, strerror(errno));
    freeaddrinfo(list);
    return fd;
}

bool sl_net_listen(SlCtx *ctx, const char *address, int socktype, int64_t receive_buffer,
                   SlWake *wake, struct pollfd polled[2])
{
    polled[1] = (struct pollfd){ .fd = -1, .events = POLLIN };
    if (!sl_wake_open(wake)) {
        sl_fail(ctx, "cannot start: %s", strerror(errno));
        return false;
    }
    polled[0] = (struct pollfd){ .fd = sl_wake_fd(wake), .events = POLLIN };
    polled[1].fd = sl_net_bind(ctx, address, socktype);
    if (polled[1].fd < 0) return false;
    sl_net_receive_buffer(ctx, polled[1].fd, receive_buffer);
    return true;
}

size_t sl_net_peer_name(const struct sockaddr *sa, char out[SL_PEER_MAX])
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    int n;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        n = snprintf(out, SL_PEER_MAX, "[%s]:%u", ip, port);
    } else {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        if (sa->sa_family == AF_INET) {
            inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
            port = ntohs(in4->sin_port);
        }
        n = snprintf(out, SL_PEER_MAX, "%s:%u", ip, port);
    }
    return n < 0 ? 0 : (size_t)n < SL_PEER_MAX ? (size_t)n : SL_PEER_MAX - 1;
}

int64_t sl_net_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool sl_net_wait(SlCtx *ctx, SlNetOut *out, struct pollfd *polled, size_t n)
{
    while (!out->stopping && !sl_stopping(ctx)) {
        /* With records waiting, only look: if nothing is ready, emit them. */
        int ready = poll(polled, (nfds_t)n, out->batch ? 0 : -1);
        if (ready < 0 && errno != EINTR) {
            sl_fail(ctx, "poll: %s", strerror(errno));
            return false;
        }
        if (ready == 0) sl_netout_flush(out);
        if (ready > 0) return !polled[0].revents;
    }
    return false;
}

/* ---- The wake pipe ----------------------------------------------------- */

bool sl_wake_open(SlWake *w)
{
    if (pipe(w->fds) != 0) {
        w->fds[0] = w->fds[1] = -1;
        return false;
    }
    for (int i = 0; i < 2; i++) fcntl(w->fds[i], F_SETFD, FD_CLOEXEC);
    /* A full pipe already wakes the reader: the writer must never block. */
    sl_net_nonblocking(w->fds[1]);
    return true;
}

void sl_wake_signal(SlWake *w)
{
    if (w->fds[1] < 0) return;
    ssize_t n = write(w->fds[1], "", 1);
    (void)n;                        /* EAGAIN: a wake-up is already pending */
}

int sl_wake_fd(const SlWake *w)
{
    return w->fds[0];
}

void sl_wake_close(SlWake *w)
{
    for (int i = 0; i < 2; i++) {
        if (w->fds[i] >= 0) close(w->fds[i]);
        w->fds[i] = -1;
    }
}
