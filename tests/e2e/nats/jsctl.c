/*
** jsctl.c: the JetStream chores of tests/e2e/nats.sh, where Debian has no
** `nats` command line tool:
**
**   jsctl URL create STREAM SUBJECT      a file-backed stream on SUBJECT
**   jsctl URL publish SUBJECT FIRST LAST {"n":I} for I in FIRST..LAST, each acked
**   jsctl URL count STREAM               how many messages the stream holds
**   jsctl URL pending STREAM DURABLE     a consumer's unacknowledged + undelivered
**   jsctl URL explicit STREAM DURABLE    a durable pull consumer with explicit acks,
**                                        as older sluice versions made them
**   jsctl URL kv BUCKET                  "KEY VALUE" for each live key of a KeyValue bucket
**   jsctl URL left STREAM GROUP N        pending of the consumers GROUP-0..GROUP-(N-1) together
*/
#include <nats/nats.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(natsStatus s, const char *what)
{
    if (s == NATS_OK) return;
    fprintf(stderr, "jsctl: %s: %s\n", what, natsStatus_GetText(s));
    exit(1);
}

static int create(jsCtx *js, const char *stream, const char *subject)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream;
    cfg.Subjects = (const char *[]){ subject };
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo *info = NULL;
    check(js_AddStream(&info, js, &cfg, NULL, NULL), "create the stream");
    jsStreamInfo_Destroy(info);
    return 0;
}

static int publish(jsCtx *js, const char *subject, long first, long last)
{
    for (long i = first; i <= last; i++) {
        char data[64];
        int len = snprintf(data, sizeof data, "{\"n\":%ld}", i);
        jsPubAck *ack = NULL;
        check(js_Publish(&ack, js, subject, data, len, NULL, NULL), "publish");
        jsPubAck_Destroy(ack);
    }
    return 0;
}

static int count(jsCtx *js, const char *stream)
{
    jsStreamInfo *info = NULL;
    check(js_GetStreamInfo(&info, js, stream, NULL, NULL), "stream info");
    printf("%llu\n", (unsigned long long)info->State.Msgs);
    jsStreamInfo_Destroy(info);
    return 0;
}

static int pending(jsCtx *js, const char *stream, const char *durable)
{
    jsConsumerInfo *info = NULL;
    check(js_GetConsumerInfo(&info, js, stream, durable, NULL, NULL), "consumer info");
    printf("%llu\n", (unsigned long long)(info->NumAckPending + info->NumPending));
    jsConsumerInfo_Destroy(info);
    return 0;
}

static int explicit_consumer(jsCtx *js, const char *stream, const char *durable)
{
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo *info = NULL;
    check(js_AddConsumer(&info, js, stream, &cc, NULL, NULL), "add consumer");
    jsConsumerInfo_Destroy(info);
    return 0;
}

static int left(jsCtx *js, const char *stream, const char *group, int partitions)
{
    unsigned long long sum = 0;
    for (int p = 0; p < partitions; p++) {
        char durable[256];
        snprintf(durable, sizeof durable, "%s-%d", group, p);
        jsConsumerInfo *info = NULL;
        check(js_GetConsumerInfo(&info, js, stream, durable, NULL, NULL), "consumer info");
        sum += info->NumAckPending + info->NumPending;
        jsConsumerInfo_Destroy(info);
    }
    printf("%llu\n", sum);
    return 0;
}

static int kv(jsCtx *js, const char *bucket)
{
    kvStore *store = NULL;
    check(js_KeyValue(&store, js, bucket), "open the bucket");
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.IgnoreDeletes = true;
    kvWatcher *w = NULL;
    check(kvStore_WatchAll(&w, store, &o), "watch the bucket");
    for (;;) {     /* the current values, then a NULL entry */
        kvEntry *e = NULL;
        check(kvWatcher_Next(&e, w, 5000), "read the bucket");
        if (!e) break;
        printf("%s %s\n", kvEntry_Key(e), kvEntry_ValueString(e));
        kvEntry_Destroy(e);
    }
    kvWatcher_Destroy(w);
    kvStore_Destroy(store);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: jsctl URL create|publish|count|pending|explicit|kv|left ARGS...\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    check(natsConnection_ConnectTo(&nc, argv[1]), "connect");
    check(natsConnection_JetStream(&js, nc, NULL), "jetstream");
    const char *cmd = argv[2];
    int rc = 2;
    if (!strcmp(cmd, "create") && argc == 5) rc = create(js, argv[3], argv[4]);
    else if (!strcmp(cmd, "publish") && argc == 6)
        rc = publish(js, argv[3], atol(argv[4]), atol(argv[5]));
    else if (!strcmp(cmd, "count") && argc == 4) rc = count(js, argv[3]);
    else if (!strcmp(cmd, "pending") && argc == 5) rc = pending(js, argv[3], argv[4]);
    else if (!strcmp(cmd, "explicit") && argc == 5) rc = explicit_consumer(js, argv[3], argv[4]);
    else if (!strcmp(cmd, "kv") && argc == 4) rc = kv(js, argv[3]);
    else if (!strcmp(cmd, "left") && argc == 6) rc = left(js, argv[3], argv[4], atoi(argv[5]));
    else fprintf(stderr, "jsctl: bad command\n");
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return rc;
}
