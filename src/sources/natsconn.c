/*
** natsconn.c: JetStream connections for the NATS source and sink
** (natsconn.h).
*/
#include "natsconn.h"

#include <stdio.h>

enum { CONNECT_TIMEOUT_MS = 5000, RECONNECT_WAIT_MS = 500, CLOSE_FLUSH_MS = 2000 };

void sl_nats_describe(natsStatus s, char *out, size_t size)
{
    natsStatus last;
    const char *detail = nats_GetLastError(&last);
    if (detail && *detail && last == s)
        snprintf(out, size, "%s", detail);
    else
        snprintf(out, size, "%s", natsStatus_GetText(s));
}

static natsStatus set_options(natsOptions *o, const char *url, const char *name)
{
    natsStatus s = natsOptions_SetURL(o, url);
    if (s == NATS_OK) s = natsOptions_SetName(o, name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, CONNECT_TIMEOUT_MS);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, RECONNECT_WAIT_MS);
    return s;
}

bool sl_nats_open(SlCtx *ctx, const char *url, jsOptions *opts,
                  natsConnection **nc, jsCtx **js)
{
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = set_options(o, url, sl_name(ctx));
    if (s == NATS_OK) s = natsConnection_Connect(nc, o);
    if (s == NATS_OK) s = natsConnection_JetStream(js, *nc, opts);
    natsOptions_Destroy(o);
    if (s == NATS_OK) return true;
    char why[256];
    sl_nats_describe(s, why, sizeof why);
    sl_fail(ctx, "cannot connect to NATS at %s: %s", url, why);
    return false;
}

uint32_t sl_nats_partition(const char *key, size_t len, uint32_t partitions)
{
    uint64_t hash = 0xcbf29ce484222325u;     /* the FNV-1a 64 offset basis */
    for (size_t i = 0; i < len; i++) {
        hash ^= (unsigned char)key[i];
        hash *= 0x100000001b3u;             /* the FNV-1a 64 prime */
    }
    return (uint32_t)(hash % partitions);
}

void sl_nats_close(natsConnection *nc, jsCtx *js)
{
    jsCtx_Destroy(js);
    if (!nc) return;
    natsConnection_FlushTimeout(nc, CLOSE_FLUSH_MS);
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
}
