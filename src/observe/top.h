/*
** top.h: what `sluice top` shows (src/cmd_top.c runs it): the
** per-component numbers of a /metrics page, and the table of rates
** between two readings of it.
*/
#ifndef SLUICE_OBSERVE_TOP_H
#define SLUICE_OBSERVE_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum { SL_TOP_BUCKETS = 32 };

typedef struct SlTopRow {
    char *name, *kind;
    double in, out, errors, queue;  /* counters, and the queue gauge */
    bool has_queue;                 /* sources have none */
    bool function;                  /* has a call latency histogram */
    size_t nbuckets;
    double le[SL_TOP_BUCKETS];      /* upper bounds, ascending; the last +Inf */
    double calls[SL_TOP_BUCKETS];   /* cumulative, as the page has them */
} SlTopRow;

typedef struct SlTopReading {
    SlTopRow *rows;                 /* in the order of the page */
    size_t count;
} SlTopReading;

/* Reads a Prometheus text page. False, with the reason in `err`, if a line
** does not follow the format or no component is in it. */
bool sl_top_parse(const char *text, SlTopReading *out, char *err, size_t errlen);
void sl_top_free(SlTopReading *r);

/* Writes the table (a header and a line per component of `now`) of rates
** between `before` and `now`, taken `seconds` apart; each line ends with
** `eol`. */
void sl_top_table(FILE *out, const SlTopReading *before, const SlTopReading *now,
                  double seconds, const char *eol);

#endif
