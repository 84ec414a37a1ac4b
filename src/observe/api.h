/*
** api.h: the observability API of a running pipeline, served over HTTP by
** `sluice run --api ADDR` (docs/observability.md):
**   GET /health                   200 while running, 503 while draining
**   GET /metrics                  Prometheus text exposition format 0.0.4
**   GET /stats                    the same numbers as JSON
**   GET /tap?component=NAME       a live NDJSON sample of what NAME emits
*/
#ifndef SLUICE_OBSERVE_API_H
#define SLUICE_OBSERVE_API_H

#include "../pipeline/pipeline.h"

typedef struct SlApi SlApi;

/* Binds `addr` (HOST:PORT or [IPV6]:PORT; port 0 picks a free one) and
** serves `p` from threads of its own, which never receive SIGINT/SIGTERM
** (the pipeline's supervisor does). Call before sl_pipeline_run, so that a
** bad address fails before anything runs. On failure returns NULL with a
** message in `err`. */
SlApi *sl_api_start(SlPipeline *p, const char *addr, char *err, size_t errlen);
/* The address actually bound, as HOST:PORT ([IPV6]:PORT). */
const char *sl_api_address(const SlApi *api);
/* Ends open tap streams (after sending what they hold), closes every
** connection and frees the API. Call after the pipeline has drained. */
void sl_api_stop(SlApi *api);

#endif
