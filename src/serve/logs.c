/*
** logs.c: the last lines a pipeline's children wrote to stderr (serve.h),
** kept in a ring so that a chatty child costs bounded memory. A line
** longer than LOG_LINE_MAX is cut there.
*/
#include "serve.h"

#include <stdlib.h>
#include <string.h>

void log_ring_add(LogRing *r, const char *line)
{
    char *copy = strdup(line);
    if (!copy) abort();
    free(r->lines[r->next]);
    r->lines[r->next] = copy;
    r->next = (r->next + 1) % LOG_LINES;
    if (r->count < LOG_LINES) r->count++;
}

/* Ends the partial line: into the ring, and to the caller. */
static void end_line(LogRing *r, void (*on_line)(void *, const char *), void *user)
{
    r->partial[r->partial_len] = '\0';
    log_ring_add(r, r->partial);
    if (on_line) on_line(user, r->partial);
    r->partial_len = 0;
}

void log_ring_feed(LogRing *r, const char *data, size_t n,
                   void (*on_line)(void *user, const char *line), void *user)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') end_line(r, on_line, user);
        else if (data[i] != '\r' && r->partial_len < LOG_LINE_MAX - 1)
            r->partial[r->partial_len++] = data[i];
    }
}

char *log_ring_text(const LogRing *r, size_t *len)
{
    size_t first = (r->next + LOG_LINES - r->count) % LOG_LINES, total = 0;
    for (size_t i = 0; i < r->count; i++) total += strlen(r->lines[(first + i) % LOG_LINES]) + 1;
    char *text = malloc(total + 1), *p = text;
    if (!text) abort();
    for (size_t i = 0; i < r->count; i++) {
        const char *line = r->lines[(first + i) % LOG_LINES];
        size_t n = strlen(line);
        memcpy(p, line, n);
        p[n] = '\n';
        p += n + 1;
    }
    *p = '\0';
    *len = total;
    return text;
}

void log_ring_free(LogRing *r)
{
    for (size_t i = 0; i < LOG_LINES; i++) free(r->lines[i]);
    memset(r, 0, sizeof *r);
}
