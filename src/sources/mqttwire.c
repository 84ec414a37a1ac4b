/*
** mqttwire.c: MQTT 3.1.1 packets to and from bytes (mqttwire.h). Section
** numbers are those of the OASIS MQTT 3.1.1 specification.
*/
#include "mqttwire.h"
#include "../pipeline/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CONNECT = 1, SUBSCRIBE = 8, PINGREQ = 12, DISCONNECT = 14,
    PUBREC = 5, PUBREL = 6, PUBCOMP = 7,
    STRING_MAX = 65535, VARINT_MAX_BYTES = 4, PROTOCOL_LEVEL_311 = 4,
};

/* ---- Output buffer ------------------------------------------------------ */

static void put(SlBuf *b, const void *bytes, size_t n)
{
    sl_buf_put(b, bytes, n);
}

static void put_byte(SlBuf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_u16(SlBuf *b, uint16_t v)
{
    put(b, (uint8_t[]){ (uint8_t)(v >> 8), (uint8_t)v }, 2);
}

static void put_string(SlBuf *b, const char *s, size_t len)
{
    put_u16(b, (uint16_t)len);
    put(b, s, len);
}

/* The fixed header: type and flags, then the remaining length (2.2.3). */
static void put_header(SlBuf *b, uint8_t type_and_flags, size_t remaining)
{
    put_byte(b, type_and_flags);
    do {
        uint8_t digit = remaining % 128;
        remaining /= 128;
        put_byte(b, (uint8_t)(digit | (remaining ? 0x80 : 0)));
    } while (remaining);
}

void sl_mqttw_buf_consume(SlBuf *b, size_t n)
{
    if (n > b->len) n = b->len;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}


/* ---- Encoders ----------------------------------------------------------- */

static bool string_fits(const char *s)
{
    return !s || strlen(s) <= STRING_MAX;
}

/* 3.1: variable header (protocol name, level, flags, keepalive), then the
** payload: client id, username, password. */
bool sl_mqttw_connect(SlBuf *out, const SlMqttwConnect *c)
{
    if (!c->client_id || !string_fits(c->client_id) || !string_fits(c->username) ||
        !string_fits(c->password) || (c->password && !c->username))
        return false;
    size_t id = strlen(c->client_id);
    size_t user = c->username ? strlen(c->username) : 0;
    size_t pass = c->password ? strlen(c->password) : 0;
    size_t remaining = 10 + 2 + id + (c->username ? 2 + user : 0) + (c->password ? 2 + pass : 0);
    uint8_t flags = (uint8_t)((c->username ? 0x80 : 0) | (c->password ? 0x40 : 0) |
                              (c->clean_session ? 0x02 : 0));
    put_header(out, CONNECT << 4, remaining);
    put_string(out, "MQTT", 4);
    put_byte(out, PROTOCOL_LEVEL_311);
    put_byte(out, flags);
    put_u16(out, c->keepalive_s);
    put_string(out, c->client_id, id);
    if (c->username) put_string(out, c->username, user);
    if (c->password) put_string(out, c->password, pass);
    return true;
}

/* 3.8: flags 0010 are required; each filter is followed by its QoS. */
bool sl_mqttw_subscribe(SlBuf *out, uint16_t packet_id, const char *const *filters,
                        size_t nfilters, uint8_t qos)
{
    if (!packet_id || !nfilters || qos > 1) return false;
    size_t remaining = 2;
    for (size_t i = 0; i < nfilters; i++) {
        if (!sl_mqttw_filter_ok(filters[i])) return false;
        remaining += 2 + strlen(filters[i]) + 1;
    }
    if (remaining > SL_MQTTW_REMAINING_MAX) return false;
    put_header(out, SUBSCRIBE << 4 | 0x2, remaining);
    put_u16(out, packet_id);
    for (size_t i = 0; i < nfilters; i++) {
        put_string(out, filters[i], strlen(filters[i]));
        put_byte(out, qos);
    }
    return true;
}

void sl_mqttw_puback(SlBuf *out, uint16_t packet_id)
{
    put_header(out, SL_MQTTW_PUBACK << 4, 2);
    put_u16(out, packet_id);
}

void sl_mqttw_pingreq(SlBuf *out)
{
    put_header(out, PINGREQ << 4, 0);
}

void sl_mqttw_disconnect(SlBuf *out)
{
    put_header(out, DISCONNECT << 4, 0);
}

/* ---- Names -------------------------------------------------------------- */

/* 4.7.1: wildcards fill a whole level; '#' only as the last. */
bool sl_mqttw_filter_ok(const char *f)
{
    size_t len = strlen(f);
    if (!len || len > STRING_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        bool starts_level = i == 0 || f[i - 1] == '/';
        bool ends_level = i + 1 == len || f[i + 1] == '/';
        if (f[i] == '+' && !(starts_level && ends_level)) return false;
        if (f[i] == '#' && !(starts_level && i + 1 == len)) return false;
    }
    return true;
}

const char *sl_mqttw_connack_text(uint8_t code)
{
    static const char *const texts[] = {
        "accepted",
        "unacceptable protocol version (the broker does not speak MQTT 3.1.1)",
        "identifier rejected (the broker refuses this client_id)",
        "server unavailable",
        "bad user name or password",
        "not authorized",
    };
    return code < sizeof texts / sizeof *texts ? texts[code] : "an unknown refusal code";
}

/* ---- Decoder ------------------------------------------------------------ */

void sl_mqttw_decoder_init(SlMqttwDecoder *d, size_t max_packet)
{
    *d = (SlMqttwDecoder){ .max_packet = max_packet };
}

void sl_mqttw_decoder_free(SlMqttwDecoder *d)
{
    sl_buf_free(&d->in);
    *d = (SlMqttwDecoder){ .max_packet = d->max_packet };
}

void sl_mqttw_decoder_reset(SlMqttwDecoder *d)
{
    d->start = d->in.len = d->consumed = 0;
}

/* Frees the packet last returned, and moves what is unread to the front
** when that makes room. */
static void release(SlMqttwDecoder *d)
{
    d->start += d->consumed;
    d->consumed = 0;
    if (d->start == d->in.len) d->start = d->in.len = 0;
}

void sl_mqttw_feed(SlMqttwDecoder *d, const void *bytes, size_t n)
{
    release(d);
    if (!n) return;
    if (d->start && d->in.len + n > d->in.cap) {
        sl_mqttw_buf_consume(&d->in, d->start);
        d->start = 0;
    }
    put(&d->in, bytes, n);
}

/* Reads the remaining length after the first byte: 1 done (*header is the
** fixed header's size), 0 more bytes needed, -1 more than four bytes. */
static int read_remaining(const uint8_t *p, size_t avail, size_t *remaining, size_t *header)
{
    size_t value = 0, scale = 1;
    for (size_t i = 1; i <= VARINT_MAX_BYTES; i++) {
        if (i >= avail) return 0;
        value += (size_t)(p[i] & 0x7f) * scale;
        scale *= 128;
        if (!(p[i] & 0x80)) {
            *remaining = value;
            *header = i + 1;
            return 1;
        }
    }
    return -1;
}

static int fail(char *why, const char *fmt, const char *what)
{
    snprintf(why, SL_MQTTW_WHY_MAX, fmt, what);
    return -1;
}

/* A packet that is exactly a packet id (PUBACK, UNSUBACK). */
static int decode_id_only(const uint8_t *v, size_t n, SlMqttwPacket *p, char *why)
{
    if (n != 2) return fail(why, "a malformed %s (its length is not 2)",
                            p->type == SL_MQTTW_PUBACK ? "PUBACK" : "UNSUBACK");
    p->packet_id = (uint16_t)(v[0] << 8 | v[1]);
    return 1;
}

/* 3.2: acknowledge flags (bits 7-1 reserved), return code. */
static int decode_connack(const uint8_t *v, size_t n, SlMqttwPacket *p, char *why)
{
    if (n != 2) return fail(why, "a malformed %s (its length is not 2)", "CONNACK");
    if (v[0] & 0xfe) return fail(why, "a malformed %s (reserved flags set)", "CONNACK");
    p->session_present = v[0] & 1;
    p->return_code = v[1];
    return 1;
}

/* 3.9: packet id, then one return code per filter: 0, 1, 2 or 0x80. */
static int decode_suback(const uint8_t *v, size_t n, SlMqttwPacket *p, char *why)
{
    if (n < 3) return fail(why, "a malformed %s (no return code)", "SUBACK");
    p->packet_id = (uint16_t)(v[0] << 8 | v[1]);
    p->codes = v + 2;
    p->ncodes = n - 2;
    for (size_t i = 0; i < p->ncodes; i++)
        if (p->codes[i] > 2 && p->codes[i] != SL_MQTTW_SUBACK_FAILURE)
            return fail(why, "a malformed %s (a return code is not 0, 1, 2 or 0x80)", "SUBACK");
    return 1;
}

/* 3.3: topic name, packet id when qos > 0, then the payload. */
static int decode_publish(uint8_t flags, const uint8_t *v, size_t n, SlMqttwPacket *p,
                          char *why)
{
    p->qos = (flags >> 1) & 3;
    p->dup = flags & 8;
    p->retain = flags & 1;
    if (p->qos == 3) return fail(why, "a malformed %s (QoS 3)", "PUBLISH");
    if (p->qos == 2)
        return fail(why, "a %s with QoS 2, which was never asked for", "PUBLISH");
    if (p->dup && !p->qos) return fail(why, "a malformed %s (DUP set with QoS 0)", "PUBLISH");
    if (n < 2) return fail(why, "a malformed %s (no topic)", "PUBLISH");
    size_t topic_len = (size_t)(v[0] << 8 | v[1]);
    size_t header = 2 + topic_len + (p->qos ? 2 : 0);
    if (header > n) return fail(why, "a malformed %s (its topic runs past its end)", "PUBLISH");
    p->topic = (const char *)v + 2;
    p->topic_len = topic_len;
    if (!topic_len || memchr(p->topic, 0, topic_len) || memchr(p->topic, '+', topic_len) ||
        memchr(p->topic, '#', topic_len))
        return fail(why, "a malformed %s (an empty topic, or one with NUL, + or #)", "PUBLISH");
    if (p->qos) {
        p->packet_id = (uint16_t)(v[2 + topic_len] << 8 | v[3 + topic_len]);
        if (!p->packet_id) return fail(why, "a malformed %s (packet id 0)", "PUBLISH");
    }
    p->payload = v + header;
    p->payload_len = n - header;
    return 1;
}

/* 2.2.2: only PUBLISH has flags; every other packet a server sends has 0. */
static int decode_body(uint8_t first, const uint8_t *v, size_t n, SlMqttwPacket *p, char *why)
{
    uint8_t type = first >> 4, flags = first & 0x0f;
    *p = (SlMqttwPacket){ .type = (SlMqttwType)type };
    if (type == SL_MQTTW_PUBLISH) return decode_publish(flags, v, n, p, why);
    if (type == PUBREC || type == PUBREL || type == PUBCOMP)
        return fail(why, "a QoS 2 packet (type %s), which was never asked for",
                    type == PUBREC ? "PUBREC" : type == PUBREL ? "PUBREL" : "PUBCOMP");
    bool known = type == SL_MQTTW_CONNACK || type == SL_MQTTW_PUBACK ||
                 type == SL_MQTTW_SUBACK || type == SL_MQTTW_UNSUBACK || type == SL_MQTTW_PINGRESP;
    if (!known) {
        char num[8];
        snprintf(num, sizeof num, "%u", type);
        return fail(why, "a packet of type %s, which a server does not send", num);
    }
    if (flags) return fail(why, "reserved flags set in a packet of type %s",
                           type == SL_MQTTW_SUBACK ? "SUBACK" : "CONNACK/PUBACK/UNSUBACK/PINGRESP");
    switch (type) {
    case SL_MQTTW_CONNACK: return decode_connack(v, n, p, why);
    case SL_MQTTW_SUBACK: return decode_suback(v, n, p, why);
    case SL_MQTTW_PINGRESP: return n ? fail(why, "a malformed %s (not empty)", "PINGRESP") : 1;
    default: return decode_id_only(v, n, p, why);
    }
}

int sl_mqttw_next(SlMqttwDecoder *d, SlMqttwPacket *p, char why[SL_MQTTW_WHY_MAX])
{
    release(d);
    size_t avail = d->in.len - d->start, remaining = 0, header = 0;
    if (!avail) return 0;
    const uint8_t *at = (const uint8_t *)d->in.data + d->start;
    int got = read_remaining(at, avail, &remaining, &header);
    if (got < 0) return fail(why, "%s", "a remaining length longer than 4 bytes");
    if (!got) return 0;
    if (header + remaining > d->max_packet) {
        snprintf(why, SL_MQTTW_WHY_MAX, "a packet of %zu bytes, more than the maximum of %zu",
                 header + remaining, d->max_packet);
        return -1;
    }
    if (avail - header < remaining) return 0;
    if (decode_body(at[0], at + header, remaining, p, why) < 0) return -1;
    d->consumed = header + remaining;
    return 1;
}
