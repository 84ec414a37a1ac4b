/*
** retry.h: how sinks wait between attempts to write a batch.
**
** Exponential backoff with "equal jitter": the wait doubles with each
** attempt up to a ceiling, and half of it is random, so that many writers
** recovering from the same outage do not retry in step.
*/
#ifndef SLUICE_RETRY_H
#define SLUICE_RETRY_H

#include <stdint.h>

/* The two settings rows (schema.h) of a sink's backoff, with its defaults
** as strings; sl_backoff_init takes the same values. */
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
/* Sleeps before retry number `attempt` (0 for the first retry). */
void sl_backoff_wait(SlBackoff *b, int64_t attempt);

#endif
