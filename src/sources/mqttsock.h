/*
** mqttsock.h: the mqtt source's byte stream to its broker: a non-blocking
** TCP connection, optionally under TLS (OpenSSL) with the broker's
** certificate checked against `tls_ca_file` and the broker's host name or
** address. Reads and writes never block: they say "nothing now" and which
** way the caller should poll.
*/
#ifndef SLUICE_SOURCES_MQTTSOCK_H
#define SLUICE_SOURCES_MQTTSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum { SL_MQTT_SOCK_WHY_MAX = 256 };

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

typedef struct SlMqttSock {
    int fd;                         /* -1: closed */
    SSL_CTX *tls;                   /* NULL: plain TCP; kept across connections */
    SSL *ssl;
    short want;                     /* POLLIN/POLLOUT TLS asked for */
} SlMqttSock;

/* Before connecting: plain TCP if ca_file is NULL, else a TLS context
** trusting ca_file; false (why filled) if it cannot be loaded. */
bool sl_mqtt_sock_init(SlMqttSock *s, const char *ca_file, char why[SL_MQTT_SOCK_WHY_MAX]);
/* Connects to host:port (and shakes hands) within timeout_ms; gives up
** early when `wake_fd` becomes readable. False with why filled. */
bool sl_mqtt_sock_open(SlMqttSock *s, const char *host, int port, int timeout_ms, int wake_fd,
                       char why[SL_MQTT_SOCK_WHY_MAX]);
/* > 0: bytes; 0: nothing now (poll for sl_mqtt_sock_events); -1: closed or
** failed (why filled). */
ssize_t sl_mqtt_sock_read(SlMqttSock *s, void *buf, size_t n, char why[SL_MQTT_SOCK_WHY_MAX]);
ssize_t sl_mqtt_sock_write(SlMqttSock *s, const void *buf, size_t n,
                           char why[SL_MQTT_SOCK_WHY_MAX]);
/* The poll events to wait for, given whether the caller wants to read and
** has bytes to write (TLS may need the other direction). */
short sl_mqtt_sock_events(const SlMqttSock *s, bool reading, bool writing);
/* Writes all of buf, waiting at most timeout_ms: for a last word. */
bool sl_mqtt_sock_write_all(SlMqttSock *s, const void *buf, size_t n, int timeout_ms);
void sl_mqtt_sock_close(SlMqttSock *s);
/* Closes and frees the TLS context. */
void sl_mqtt_sock_free(SlMqttSock *s);

#endif
