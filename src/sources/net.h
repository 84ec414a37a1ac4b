/*
** net.h: what the network sources (tcp, udp, http) share about sockets:
** checking and binding a listen address, naming a peer, the poll loop, and
** the wake pipe that lets stop() interrupt a run() sleeping in poll().
*/
#ifndef SLUICE_SOURCES_NET_H
#define SLUICE_SOURCES_NET_H

#include "netlines.h"

#include <poll.h>
#include <sys/socket.h>

/* "255.255.255.255:65535" and "[ffff:...:ffff]:65535" fit. */
enum { SL_PEER_MAX = 64 };

typedef struct SlWake SlWake;

/* Settings the network sources share. */
#define SL_NET_ADDRESS_SETTING                                              \
    { .name = "address", .type = SL_SET_STRING, .required = true,           \
      .doc = "Where to listen: HOST:PORT, [IPV6]:PORT or :PORT for every interface." }
#define SL_NET_RECEIVE_BUFFER_SETTING                                       \
    { .name = "receive_buffer_bytes", .type = SL_SET_INT, .def = "0", .min = 0, \
      .max = 1 << 30,                                                       \
      .doc = "The socket's receive buffer (SO_RCVBUF); 0 keeps the system's default." }

/* During init: checks that `node` (the `address` setting) has the form
** HOST:PORT or [IPV6]:PORT; reports a problem with sl_conf_error. */
bool sl_net_check_address(SlCtx *ctx, const SlConf *node);
/* During start: a non-blocking socket of `socktype` (SOCK_STREAM: listening)
** bound to `address`; -1 after sl_fail. */
int sl_net_bind(SlCtx *ctx, const char *address, int socktype);
/* During start: opens `wake` as polled[0] and binds `address` as polled[1]
** (both polled for POLLIN), with SO_RCVBUF set unless `receive_buffer` is 0.
** polled[1].fd stays -1 on failure; false after sl_fail. */
bool sl_net_listen(SlCtx *ctx, const char *address, int socktype, int64_t receive_buffer,
                   SlWake *wake, struct pollfd polled[2]);
/* Writes "IP:PORT" (IPv6 in brackets) of `sa`; returns its length. */
size_t sl_net_peer_name(const struct sockaddr *sa, char out[SL_PEER_MAX]);
/* Sets SO_RCVBUF of `fd` (inherited by accepted sockets) unless `bytes` is
** 0; a refusal is logged, not fatal. */
void sl_net_receive_buffer(SlCtx *ctx, int fd, int64_t bytes);
/* Makes `fd` non-blocking; false on failure. */
bool sl_net_nonblocking(int fd);
/* Wall-clock nanoseconds, for the `received_at` metadata. */
int64_t sl_net_now(void);

/* The loop of a polling source: waits until one of `polled` is ready,
** emitting the partial batch of `out` whenever nothing is (so a trickle
** still arrives promptly). polled[0] must be the wake pipe. Returns false
** when the source should stop: woken, the pipeline stopping, or poll
** failing (after sl_fail). */
bool sl_net_wait(SlCtx *ctx, SlNetOut *out, struct pollfd *polled, size_t n);

/* A pipe whose read end becomes readable once stop() signals it. */
struct SlWake {
    int fds[2];
};

/* The value of a wake pipe not open (yet, or any more). */
#define SL_WAKE_CLOSED ((SlWake){ { -1, -1 } })

bool sl_wake_open(SlWake *w);
void sl_wake_signal(SlWake *w);     /* thread-safe, idempotent */
int sl_wake_fd(const SlWake *w);    /* to poll for POLLIN */
void sl_wake_close(SlWake *w);

#endif
