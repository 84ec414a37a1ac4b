/*
** mqttsock.c: TCP and TLS to the broker for the mqtt source (mqttsock.h).
*/
#include "mqttsock.h"
#include "../pipeline/component.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* OpenSSL's reason for the last failure, or `fallback`. */
static void tls_why(char *why, const char *what, const char *fallback)
{
    unsigned long e = ERR_get_error();
    char text[160];
    if (e) ERR_error_string_n(e, text, sizeof text);
    snprintf(why, SL_MQTT_SOCK_WHY_MAX, "%.100s: %.150s", what, e ? text : fallback);
    ERR_clear_error();
}

bool sl_mqtt_sock_init(SlMqttSock *s, const char *ca_file, char why[SL_MQTT_SOCK_WHY_MAX])
{
    *s = (SlMqttSock){ .fd = -1 };
    if (!ca_file) return true;
    s->tls = SSL_CTX_new(TLS_client_method());
    if (!s->tls) {
        tls_why(why, "cannot make a TLS context", "unknown error");
        return false;
    }
    SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER, NULL);
    /* The output buffer may move (grow) between a write wanting to be
    ** retried and its retry. */
    SSL_CTX_set_mode(s->tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_load_verify_locations(s->tls, ca_file, NULL) != 1) {
        char what[SL_MQTT_SOCK_WHY_MAX - 64];
        snprintf(what, sizeof what, "cannot load the CA file %s", ca_file);
        tls_why(why, what, "unreadable");
        return false;
    }
    return true;
}

/* Waits until fd is ready for `events` or the deadline passes, or the wake
** fd is readable: 1 ready, 0 timed out, -1 woken. */
static int wait_ready(int fd, short events, int wake_fd, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - sl_now_ms();
        if (left <= 0) return 0;
        struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = wake_fd, .events = POLLIN } };
        int n = poll(p, wake_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR) return 0;
        if (n > 0 && (p[1].revents & POLLIN) && wake_fd >= 0) return -1;
        if (n > 0 && p[0].revents) return 1;
    }
}

static int connect_one(const struct addrinfo *ai, int wake_fd, int64_t deadline, char *why)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "socket: %s", strerror(errno));
        return -1;
    }
    int err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
        int ready = wait_ready(fd, POLLOUT, wake_fd, deadline);
        socklen_t len = sizeof err;
        if (ready <= 0) err = ready < 0 ? ECANCELED : ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err) {
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "%s", strerror(err));
        close(fd);
        return -1;
    }
    /* PUBACKs are small and the broker's in-flight window waits on them. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
    return fd;
}

static int connect_tcp(const char *host, int port, int wake_fd, int64_t deadline, char *why)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list;
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc) {
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, wake_fd, deadline, why);
    freeaddrinfo(list);
    return fd;
}

/* The broker's certificate must name `host`: as an address if it is one. */
static bool expect_name(SSL *ssl, const char *host)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    return SSL_set1_host(ssl, host) == 1 && SSL_set_tlsext_host_name(ssl, host) == 1;
}

static void handshake_why(SSL *ssl, char *why)
{
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "TLS: the broker's certificate is not trusted: %s",
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
    } else {
        tls_why(why, "TLS handshake failed", "the connection was closed");
    }
}

static bool handshake(SlMqttSock *s, const char *host, int wake_fd, int64_t deadline, char *why)
{
    ERR_clear_error();
    s->ssl = SSL_new(s->tls);
    if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1 || !expect_name(s->ssl, host)) {
        tls_why(why, "TLS set-up failed", "unknown error");
        return false;
    }
    for (;;) {
        int rc = SSL_connect(s->ssl);
        if (rc == 1) return true;
        int e = SSL_get_error(s->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            handshake_why(s->ssl, why);
            return false;
        }
        int ready = wait_ready(s->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, wake_fd, deadline);
        if (ready <= 0) {
            snprintf(why, SL_MQTT_SOCK_WHY_MAX, "TLS handshake: %s",
                     ready < 0 ? "stopped" : "timed out");
            return false;
        }
    }
}

bool sl_mqtt_sock_open(SlMqttSock *s, const char *host, int port, int timeout_ms, int wake_fd,
                       char why[SL_MQTT_SOCK_WHY_MAX])
{
    int64_t deadline = sl_now_ms() + timeout_ms;
    s->want = 0;
    s->fd = connect_tcp(host, port, wake_fd, deadline, why);
    if (s->fd < 0) return false;
    if (s->tls && !handshake(s, host, wake_fd, deadline, why)) {
        sl_mqtt_sock_close(s);
        return false;
    }
    return true;
}

/* After a TLS read or write (`own`: POLLIN or POLLOUT) that did not
** complete: 0 to retry after polling, -1 for a failure (why filled). Only
** a need for the other direction is remembered: the caller polls its own
** direction when it wants to, and must not be woken for reading while it
** deliberately does not read. */
static ssize_t tls_result(SlMqttSock *s, int rc, short own, char *why)
{
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        short need = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        s->want = need == own ? 0 : need;
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !ERR_peek_error() && !errno))
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "the broker closed the connection");
    else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error())
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "%s", strerror(errno));
    else
        tls_why(why, "TLS", "error");
    return -1;
}

/* After a plain read or write: bytes, 0 to retry later, -1 failed. */
static ssize_t plain_result(ssize_t n, bool reading, char *why)
{
    if (n > 0) return n;
    if (n == 0 && reading) {
        snprintf(why, SL_MQTT_SOCK_WHY_MAX, "the broker closed the connection");
        return -1;
    }
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    snprintf(why, SL_MQTT_SOCK_WHY_MAX, "%s", strerror(errno));
    return -1;
}

/* One TLS read or write of at most n bytes. */
static ssize_t tls_io(SlMqttSock *s, bool reading, void *buf, size_t n, char *why)
{
    ERR_clear_error();
    errno = 0;
    int chunk = n > INT32_MAX ? INT32_MAX : (int)n;
    int rc = reading ? SSL_read(s->ssl, buf, chunk) : SSL_write(s->ssl, buf, chunk);
    if (rc > 0) s->want = 0;
    return rc > 0 ? rc : tls_result(s, rc, reading ? POLLIN : POLLOUT, why);
}

ssize_t sl_mqtt_sock_read(SlMqttSock *s, void *buf, size_t n, char why[SL_MQTT_SOCK_WHY_MAX])
{
    if (!s->ssl) return plain_result(recv(s->fd, buf, n, 0), true, why);
    return tls_io(s, true, buf, n, why);
}

ssize_t sl_mqtt_sock_write(SlMqttSock *s, const void *buf, size_t n,
                           char why[SL_MQTT_SOCK_WHY_MAX])
{
    if (!s->ssl) return plain_result(send(s->fd, buf, n, MSG_NOSIGNAL), false, why);
    return tls_io(s, false, (void *)(uintptr_t)buf, n, why);    /* SSL_write only reads it */
}

short sl_mqtt_sock_events(const SlMqttSock *s, bool reading, bool writing)
{
    return (short)((reading ? POLLIN : 0) | (writing ? POLLOUT : 0) | s->want);
}

bool sl_mqtt_sock_write_all(SlMqttSock *s, const void *buf, size_t n, int timeout_ms)
{
    int64_t deadline = sl_now_ms() + timeout_ms;
    char why[SL_MQTT_SOCK_WHY_MAX];
    for (size_t done = 0; done < n;) {
        ssize_t w = sl_mqtt_sock_write(s, (const char *)buf + done, n - done, why);
        if (w < 0) return false;
        done += (size_t)w;
        if (!w && wait_ready(s->fd, sl_mqtt_sock_events(s, false, true), -1, deadline) <= 0)
            return false;
    }
    return true;
}

void sl_mqtt_sock_close(SlMqttSock *s)
{
    if (s->ssl) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    s->want = 0;
}

void sl_mqtt_sock_free(SlMqttSock *s)
{
    sl_mqtt_sock_close(s);
    SSL_CTX_free(s->tls);
    s->tls = NULL;
}
