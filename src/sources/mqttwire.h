/*
** mqttwire.h: the MQTT 3.1.1 packets the mqtt source exchanges with a
** broker, as bytes: encoders for what a subscribing client sends (CONNECT,
** SUBSCRIBE, PUBACK, PINGREQ, DISCONNECT) and an incremental decoder for
** what a broker sends it (CONNACK, SUBACK, PUBLISH, PUBACK, UNSUBACK,
** PINGRESP). No sockets here, so every byte sequence can be tested.
**
** It exists because the source must send each PUBACK itself, late (once the
** records are written), which the packaged client libraries cannot do; see
** mqtt.c.
**
** The decoder never trusts the broker: a remaining length longer than four
** bytes, a packet larger than the decoder's maximum, flags the protocol
** reserves, QoS 2, a packet a server must not send, or fields running past
** the packet's end are errors with a message, never a read past the bytes
** given.
*/
#ifndef SLUICE_SOURCES_MQTTWIRE_H
#define SLUICE_SOURCES_MQTTWIRE_H

#include "../pipeline/encode.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest remaining length four varint bytes can say (spec 2.2.3). */
enum { SL_MQTTW_REMAINING_MAX = 268435455, SL_MQTTW_WHY_MAX = 160 };

typedef enum SlMqttwType {
    SL_MQTTW_CONNACK = 2, SL_MQTTW_PUBLISH = 3, SL_MQTTW_PUBACK = 4,
    SL_MQTTW_SUBACK = 9, SL_MQTTW_UNSUBACK = 11, SL_MQTTW_PINGRESP = 13,
} SlMqttwType;

/* SUBACK's code for a refused filter. */
enum { SL_MQTTW_SUBACK_FAILURE = 0x80 };

/* One decoded packet. Pointers are into the decoder's buffer: valid until
** the next call of sl_mqttw_feed or sl_mqttw_next. */
typedef struct SlMqttwPacket {
    SlMqttwType type;
    uint16_t packet_id;             /* PUBLISH (qos 1), PUBACK, SUBACK, UNSUBACK */
    /* CONNACK */
    bool session_present;
    uint8_t return_code;
    /* SUBACK: one code per filter, in the SUBSCRIBE's order */
    const uint8_t *codes;
    size_t ncodes;
    /* PUBLISH */
    uint8_t qos;
    bool dup, retain;
    const char *topic;              /* not NUL-terminated */
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
} SlMqttwPacket;

typedef struct SlMqttwDecoder {
    SlBuf in;                  /* unread bytes: in.data[start .. in.len) */
    size_t start;
    size_t consumed;                /* the packet last returned, freed at the next call */
    size_t max_packet;              /* fixed header included */
} SlMqttwDecoder;

/* What CONNECT says. Strings are NUL-terminated; username and password
** may be NULL. */
typedef struct SlMqttwConnect {
    const char *client_id, *username, *password;
    bool clean_session;
    uint16_t keepalive_s;
} SlMqttwConnect;

/* ---- Decoding ---------------------------------------------------------- */
void sl_mqttw_decoder_init(SlMqttwDecoder *d, size_t max_packet);
void sl_mqttw_decoder_free(SlMqttwDecoder *d);
/* Forgets buffered bytes (a new connection). */
void sl_mqttw_decoder_reset(SlMqttwDecoder *d);
/* Appends bytes read from the broker. */
void sl_mqttw_feed(SlMqttwDecoder *d, const void *bytes, size_t n);
/* 1: a packet in *p; 0: more bytes needed; -1: the stream is broken (why
** says how) and the connection must be closed. */
int sl_mqttw_next(SlMqttwDecoder *d, SlMqttwPacket *p, char why[SL_MQTTW_WHY_MAX]);

/* ---- Encoding: each appends one packet, false if it cannot be said ------ */
bool sl_mqttw_connect(SlBuf *out, const SlMqttwConnect *c);
bool sl_mqttw_subscribe(SlBuf *out, uint16_t packet_id, const char *const *filters,
                        size_t nfilters, uint8_t qos);
void sl_mqttw_puback(SlBuf *out, uint16_t packet_id);
void sl_mqttw_pingreq(SlBuf *out);
void sl_mqttw_disconnect(SlBuf *out);

/* Drops the first n bytes (sent); frees nothing. */
void sl_mqttw_buf_consume(SlBuf *b, size_t n);

/* ---- Names ------------------------------------------------------------- */
/* Whether `f` is a valid subscription filter: 1 to 65535 bytes, no NUL,
** '+' alone in its level, '#' alone in the last level. */
bool sl_mqttw_filter_ok(const char *f);
/* What a CONNACK return code means, for the log. */
const char *sl_mqttw_connack_text(uint8_t code);

#endif
