/*
** observe.h: what the parts of the observability API share: the metrics
** page and its JSON twin (metrics.c) and tap streams (tap.c), all served
** by api.c.
*/
#ifndef SLUICE_OBSERVE_H
#define SLUICE_OBSERVE_H

#include "../pipeline/encode.h"
#include "../pipeline/pipeline.h"

#include <jansson.h>
#include <sys/types.h>

/* ---- metrics.c --------------------------------------------------------- */
/* Appends every metric of `p` to `out` in the Prometheus text format. */
void sl_metrics_render(SlPipeline *p, double uptime_seconds, SlBuf *out);
/* The same numbers as JSON, for /stats: {"status", "uptime_seconds",
** "components": [{"name", "kind", "type", "records_in", ...}]}. */
json_t *sl_stats_json(SlPipeline *p, double uptime_seconds);

/* ---- tap.c --------------------------------------------------------------- */
/* The tap streams of one pipeline. A component is tapped in the pipeline
** only while at least one stream reads it, so untapped components cost
** nothing. The pipeline never waits for a stream: records that arrive
** while a stream has SL_TAP_PENDING_MAX bytes unsent are left out of it. */
enum { SL_TAP_PENDING_MAX = 1 << 20 };

typedef struct SlTaps SlTaps;
typedef struct SlTapStream SlTapStream;

SlTaps *sl_taps_new(SlPipeline *p);
/* Ends every stream: a read returns what is left, then the end. Waits up
** to `grace_ms` for the streams to be closed. */
void sl_taps_close(SlTaps *t, int grace_ms);
/* Every stream must have been closed. */
void sl_taps_free(SlTaps *t);

/* Starts a stream of what `component` emits, ending after `limit` records
** (0: no limit) or at `deadline_ns` on the CLOCK_MONOTONIC clock (0: none).
** NULL if there is no such component. */
SlTapStream *sl_tap_open(SlTaps *t, const char *component, uint64_t limit,
                         int64_t deadline_ns);
/* Copies up to `max` bytes of NDJSON to `buf`, waiting a little for some:
** returns the count, 0 if nothing came yet, or -1 at the end. One reader
** per stream. */
ssize_t sl_tap_read(SlTapStream *s, char *buf, size_t max);
void sl_tap_close(SlTapStream *s);

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t sl_observe_now_ns(void);

#endif
