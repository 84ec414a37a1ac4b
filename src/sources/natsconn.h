/*
** natsconn.h: what the NATS source and sink share: the `url` setting, a
** JetStream connection that reconnects by itself, forever, after a loss
** (the messages in flight meanwhile are retried by the components), and
** the partitioning of a stream's subject (docs/scaling.md).
*/
#ifndef SLUICE_SOURCES_NATSCONN_H
#define SLUICE_SOURCES_NATSCONN_H

#include "../pipeline/component.h"

#include <nats/nats.h>

#define SL_NATS_URL_SETTING                                                 \
    { .name = "url", .type = SL_SET_STRING, .def = "nats://127.0.0.1:4222", \
      .doc = "The NATS server, or several separated by commas." }

/* During start: connects and makes the JetStream context (`opts` may be
** NULL); false after sl_fail. */
bool sl_nats_open(SlCtx *ctx, const char *url, jsOptions *opts,
                  natsConnection **nc, jsCtx **js);
/* Sends what is buffered (acknowledgements) and closes; NULL-safe. */
void sl_nats_close(natsConnection *nc, jsCtx *js);
/* A status as text, with the library's detail when it has one. */
void sl_nats_describe(natsStatus s, char *out, size_t size);

/* Partitioned subjects: the records of one key go to partition
** FNV-1a-64(key text) mod `partitions`, published on "SUBJECT.<p>". The
** sink and every worker must agree on both, on every machine: the hash is
** fixed here, once, and never depends on the platform. */
enum { SL_NATS_MAX_PARTITIONS = 4096 };
uint32_t sl_nats_partition(const char *key, size_t len, uint32_t partitions);

#endif
