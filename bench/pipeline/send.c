/*
** send.c: the benchmark's sender. Generates N CSV lines of sensor readings
** in memory first (so that generating them is not timed), connects to
** HOST:PORT over TCP, writes them in large chunks and closes.
**
**   send HOST PORT [LINES]
**
** Line i: `2026-11-24T10:00:00.000Z,sensor-1,23.4,41.2,1013.2,187.5`, with
** the time advancing by 1 ms per line, and the sensor (1..10) and readings
** cycling. Prints, on stderr, the bytes sent and its own time from connect
** to close; on stdout, the wall-clock time of the first byte sent, in
** nanoseconds since the epoch, for run.sh to time the pipeline from.
*/
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 1 << 20 };

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writes line i at p; returns its length. 64 bytes are always enough. */
static int format_line(char *p, long i)
{
    long ms = i % 1000, s = i / 1000 % 60, m = i / 60000 % 60, h = 10 + i / 3600000 % 14;
    return sprintf(p, "2026-11-24T%02ld:%02ld:%02ld.%03ldZ,sensor-%ld,%ld.%ld,%ld.%ld,%ld.%ld,%ld.%ld\n",
                   h, m, s, ms, i % 10 + 1, 18 + i % 9, i % 10, 30 + i % 31, i % 7,
                   990 + i % 41, i % 5, 150 + i % 77, i % 3);
}

static char *generate(long lines, size_t *len)
{
    char *text = malloc((size_t)lines * 64 + 1);
    if (!text) return NULL;
    size_t n = 0;
    for (long i = 0; i < lines; i++) n += (size_t)format_line(text + n, i);
    *len = n;
    return text;
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    close(fd);
    return -1;
}

static int send_all(int fd, const char *text, size_t len)
{
    for (size_t off = 0; off < len;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        ssize_t w = write(fd, text + off, n);
        if (w < 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: send HOST PORT [LINES]\n");
        return 2;
    }
    long lines = argc == 4 ? atol(argv[3]) : 2000000;
    size_t len;
    char *text = generate(lines, &len);
    if (!text) {
        fprintf(stderr, "send: out of memory\n");
        return 1;
    }
    int fd = connect_to(argv[1], atoi(argv[2]));
    if (fd < 0) {
        perror("send: connect");
        return 1;
    }
    long long first = now_ns(CLOCK_REALTIME), started = now_ns(CLOCK_MONOTONIC);
    if (send_all(fd, text, len) != 0) {
        perror("send: write");
        return 1;
    }
    close(fd);
    double seconds = (now_ns(CLOCK_MONOTONIC) - started) / 1e9;
    printf("%lld\n", first);
    fprintf(stderr, "send: %ld lines, %zu bytes in %.3f s (%.0f lines/s)\n", lines, len, seconds,
            lines / seconds);
    free(text);
    return 0;
}
