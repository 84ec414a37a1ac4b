/*
** listen.c: binding a listening TCP socket for Sluice's servers
** (listen.h), so that a bad address or a port in use is reported
** precisely before a server starts.
*/
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Splits "HOST:PORT" or "[IPV6]:PORT" into host and port; false if it has
** neither form or the port is not a number up to 65535. */
static bool split_address(const char *addr, char *host, size_t hostlen, char *port,
                          size_t portlen)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr) return false;
    const char *h = addr;
    size_t len = (size_t)(colon - addr);
    if (*addr == '[') {
        if (colon[-1] != ']' || len < 3) return false;
        h++;
        len -= 2;
    } else if (memchr(addr, ':', len)) {
        return false;               /* an IPv6 address wants brackets */
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (!plen || plen > 5 || strspn(p, "0123456789") != plen || atoi(p) > 65535) return false;
    if (len >= hostlen || plen >= portlen) return false;
    memcpy(host, h, len);
    host[len] = '\0';
    memcpy(port, p, plen + 1);
    return true;
}

static void name_address(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char host[64], port[8];
    if (getnameinfo((const struct sockaddr *)sa, sizeof *sa, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV)) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, sa->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

int http_listen(const char *addr, const char *option, int backlog, char *bound,
                size_t boundlen, char *err, size_t errlen)
{
    char host[LISTEN_ADDRESS_MAX], port[8];
    if (!split_address(addr, host, sizeof host, port, sizeof port)) {
        snprintf(err, errlen, "bad %s address '%s': write HOST:PORT or [IPV6]:PORT, "
                 "e.g. 127.0.0.1:8760", option, addr);
        return -1;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *list;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc) {
        snprintf(err, errlen, "bad %s address '%s': %s", option, addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(list->ai_family, list->ai_socktype | SOCK_CLOEXEC, list->ai_protocol);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        bind(fd, list->ai_addr, list->ai_addrlen) || listen(fd, backlog)) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(list);
        return -1;
    }
    freeaddrinfo(list);
    struct sockaddr_storage sa;
    socklen_t salen = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
        name_address(&sa, bound, boundlen);
    else
        snprintf(bound, boundlen, "%s", addr);
    return fd;
}
