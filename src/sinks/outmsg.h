/*
** outmsg.h: what the messaging sinks (mqtt, nats) share: turning a record
** into one message, that is a destination (an MQTT topic, a NATS subject)
** and a payload.
**
** The destination is a template: `sensors/{sensor}/air` takes the value of
** the record's field `sensor` (a string as it is, any other value as its
** JSON text). The payload is the record as one JSON object, or the value
** of one field (`payload_field`).
*/
#ifndef SLUICE_SINKS_OUTMSG_H
#define SLUICE_SINKS_OUTMSG_H

#include "../pipeline/component.h"
#include "../pipeline/encode.h"

enum { SL_OUTMSG_WHY_MAX = 256 };

typedef struct SlOutMsg {
    const char *destination;        /* the template */
    const char *forbidden;          /* bytes a filled-in part may not hold */
    const char *payload_field;      /* NULL: the whole record */
    SlBuf to, payload;              /* the message being built */
} SlOutMsg;

#define SL_OUTMSG_PAYLOAD_SETTING                                           \
    { .name = "payload_field", .type = SL_SET_STRING,                       \
      .doc = "Send only this field (a string as is, other values as JSON); default: the record as JSON." }

/* During init: checks the template at `node` (braces balanced, names not
** empty); false after sl_conf_error. */
bool sl_outmsg_init(SlCtx *ctx, SlOutMsg *m, const SlConf *node,
                    const char *forbidden, const char *payload_field);
/* Fills m->to and m->payload (both NUL-terminated) for record `r`; false
** with a reason if the record has no such field or a value holds a
** forbidden byte. */
bool sl_outmsg_build(SlOutMsg *m, const SlRecord *r, char why[SL_OUTMSG_WHY_MAX]);
void sl_outmsg_free(SlOutMsg *m);

#endif
