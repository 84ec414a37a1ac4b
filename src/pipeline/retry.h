/*
** retry.h: how sinks retry a write that failed for a transient reason.
**
** Exponential backoff with "equal jitter": the wait doubles with each
** attempt up to a ceiling, and half of it is random, so that many writers
** recovering from the same outage do not retry in step.
**
** By default a sink retries until the write succeeds (`retries: -1`): while
** a server is away its batch waits, the queues before it fill and the
** sources slow down, so an outage costs time, not records. A bound on the
** retries trades that for records rejected to NAME.errors.
*/
#ifndef SLUICE_RETRY_H
#define SLUICE_RETRY_H

#include "component.h"

#include <stdint.h>

/* `retries` for "until written". */
enum { SL_RETRIES_FOREVER = -1 };

/* The settings rows (schema.h) of a sink's retries: how many, then the
** backoff's two, with its defaults as strings; sl_backoff_init takes the
** same values. */
#define SL_RETRIES_SETTING(what)                                              \
    { .name = "retries", .type = SL_SET_INT, .def = "-1", .min = -1,          \
      .max = 1000000,                                                         \
      .doc = "How many times " what " is retried before its records are "    \
             "rejected; -1 retries until it is written." }
#define SL_BACKOFF_SETTINGS(base_default, max_default)                        \
    { .name = "backoff_ms", .type = SL_SET_INT, .def = base_default,         \
      .min = 1, .max = 3600000,                                               \
      .doc = "The wait before the first retry; it doubles at each retry." },  \
    { .name = "max_backoff_ms", .type = SL_SET_INT, .def = max_default,      \
      .min = 1, .max = 3600000, .doc = "The longest wait between two retries." }

typedef struct SlBackoff {
    int64_t base_ms, max_ms;
    uint64_t jitter_state;
} SlBackoff;

void sl_backoff_init(SlBackoff *b, int64_t base_ms, int64_t max_ms);
/* The wait in ms before retry number `attempt` (0 for the first retry),
** for a caller that must be able to cut it short (a source's stop). */
int64_t sl_backoff_delay(SlBackoff *b, int64_t attempt);
/* Sleeps before retry number `attempt` (0 for the first retry). */
void sl_backoff_wait(SlBackoff *b, int64_t attempt);

/* Whether attempt number `attempt` (0 for the first) that failed may be
** followed by another, under the `retries` setting. */
bool sl_retry_left(int64_t retries, int64_t attempt);
/* Before retry number `attempt`: logs why ("WHY; retry N of M"), counts
** the retry in the component's metrics, and sleeps the backoff. */
void sl_retry_wait(SlCtx *ctx, SlBackoff *b, int64_t attempt, int64_t retries,
                   const char *why);

#endif
