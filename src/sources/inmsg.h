/*
** inmsg.h: what the messaging sources (mqtt, nats) share: turning one
** received message into a record. With `format: raw` the payload becomes
** the string field `message`; with `format: json` the payload must be a
** JSON object, whose members become the fields. Where the message was
** published (its MQTT topic, its NATS subject) goes into the metadata, or
** into a field if `origin_field` is set.
*/
#ifndef SLUICE_SOURCES_INMSG_H
#define SLUICE_SOURCES_INMSG_H

#include "../pipeline/component.h"

extern const char *const sl_inmsg_formats[];

#define SL_INMSG_FORMAT_SETTING                                             \
    { .name = "format", .type = SL_SET_STRING, .def = "raw",                \
      .choices = sl_inmsg_formats,                                          \
      .doc = "raw: the payload in the field 'message'; json: the payload is an object, its members become fields." }

typedef struct SlInMsg {
    SlCtx *ctx;
    bool json;
    const char *origin_meta;        /* metadata key: "topic", "subject" */
    const char *origin_field;       /* or this field; NULL: the metadata */
} SlInMsg;

/* Adds the record for one message to `b`; a payload that is not what
** `format` says is rejected (sl_reject_text) and false returned. */
bool sl_inmsg_add(const SlInMsg *m, SlBatch *b, const char *payload, size_t len,
                  const char *origin, size_t origin_len);

#endif
