/*
** test_mqttwire.c: the mqtt source's MQTT 3.1.1 codec
** (src/sources/mqttwire.h). Client packets encode to the bytes the
** specification gives; every server packet decodes whole, from any split
** of its bytes, and not before its last byte; broken streams (long
** varints, oversize packets, QoS 2, reserved flags, fields past the end,
** packets a server does not send, random bytes) are errors, never reads
** past the buffer (run under ASan by `make asan`).
*/
#include "../../src/sources/mqttwire.h"
#include "unit.h"

#include <stdlib.h>

/* ---- Helpers ------------------------------------------------------------ */

static size_t put_varint(uint8_t *out, size_t v)
{
    size_t n = 0;
    do {
        uint8_t digit = v % 128;
        v /= 128;
        out[n++] = (uint8_t)(digit | (v ? 0x80 : 0));
    } while (v);
    return n;
}

/* A PUBLISH as a broker sends it; returns its size. */
static size_t publish_bytes(uint8_t *out, uint8_t flags, const char *topic, uint16_t id,
                            const char *payload, size_t payload_len)
{
    size_t topic_len = strlen(topic), qos = (flags >> 1) & 3;
    size_t remaining = 2 + topic_len + (qos ? 2 : 0) + payload_len;
    size_t n = 0;
    out[n++] = (uint8_t)(0x30 | flags);
    n += put_varint(out + n, remaining);
    out[n++] = (uint8_t)(topic_len >> 8);
    out[n++] = (uint8_t)topic_len;
    memcpy(out + n, topic, topic_len);
    n += topic_len;
    if (qos) {
        out[n++] = (uint8_t)(id >> 8);
        out[n++] = (uint8_t)id;
    }
    memcpy(out + n, payload, payload_len);
    return n + payload_len;
}

/* Decodes `bytes` fed whole; returns sl_mqttw_next's result. */
static int decode_one(const uint8_t *bytes, size_t n, size_t max, SlMqttwPacket *p,
                      SlMqttwDecoder *d, char *why)
{
    sl_mqttw_decoder_init(d, max);
    sl_mqttw_feed(d, bytes, n);
    return sl_mqttw_next(d, p, why);
}

static int decode_error(const uint8_t *bytes, size_t n, char *why)
{
    SlMqttwDecoder d;
    SlMqttwPacket p;
    int rc = decode_one(bytes, n, 1 << 20, &p, &d, why);
    sl_mqttw_decoder_free(&d);
    return rc;
}

/* ---- Encoders ------------------------------------------------------------ */

TEST(connect_bytes)
{
    SlBuf b = { 0 };
    CHECK(sl_mqttw_connect(&b, &(SlMqttwConnect){ .client_id = "ab", .username = "u",
                                                  .password = "pw", .keepalive_s = 300 }));
    static const uint8_t want[] = { 0x10, 21, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xc0, 0x01, 0x2c,
                                    0, 2, 'a', 'b', 0, 1, 'u', 0, 2, 'p', 'w' };
    CHECK_EQ_INT(b.len, sizeof want);
    CHECK(b.len == sizeof want && !memcmp(b.data, want, sizeof want));
    b.len = 0;
    CHECK(sl_mqttw_connect(&b, &(SlMqttwConnect){ .client_id = "c", .clean_session = true,
                                                  .keepalive_s = 5 }));
    static const uint8_t clean[] = { 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 5, 0, 1, 'c' };
    CHECK(b.len == sizeof clean && !memcmp(b.data, clean, sizeof clean));
    /* A password without a user name cannot be said in 3.1.1. */
    CHECK(!sl_mqttw_connect(&b, &(SlMqttwConnect){ .client_id = "c", .password = "p" }));
    sl_buf_free(&b);
}

/* The remaining length's varint at its boundaries, through CONNECT. */
TEST(connect_remaining_lengths)
{
    static const size_t lengths[] = { 127, 128, 16383, 16384, 70000 };
    static const uint8_t headers[][4] = { { 0x7f }, { 0x80, 0x01 }, { 0xff, 0x7f },
                                          { 0x80, 0x80, 0x01 }, { 0xf0, 0xa2, 0x04 } };
    static const size_t header_len[] = { 1, 2, 2, 3, 3 };
    for (size_t i = 0; i < 5; i++) {
        /* 10 header + "c" (3) + user "u" (3) + password (2 + len) */
        size_t pass_len = lengths[i] - 18;
        if (pass_len > 65535) {
            SlBuf b = { 0 };
            char *big = malloc(pass_len + 1);
            memset(big, 'x', pass_len);
            big[pass_len] = 0;
            CHECK(!sl_mqttw_connect(&b, &(SlMqttwConnect){ .client_id = "c", .username = "u",
                                                           .password = big }));
            free(big);
            continue;
        }
        char *pass = malloc(pass_len + 1);
        memset(pass, 'p', pass_len);
        pass[pass_len] = 0;
        SlBuf b = { 0 };
        CHECK(sl_mqttw_connect(&b, &(SlMqttwConnect){ .client_id = "c", .username = "u",
                                                      .password = pass }));
        CHECK_EQ_INT(b.len, 1 + header_len[i] + lengths[i]);
        CHECK(!memcmp(b.data + 1, headers[i], header_len[i]));
        sl_buf_free(&b);
        free(pass);
    }
}

TEST(subscribe_bytes)
{
    SlBuf b = { 0 };
    const char *filters[] = { "a/+", "#" };
    CHECK(sl_mqttw_subscribe(&b, 7, filters, 2, 1));
    static const uint8_t want[] = { 0x82, 12, 0, 7, 0, 3, 'a', '/', '+', 1, 0, 1, '#', 1 };
    CHECK(b.len == sizeof want && !memcmp(b.data, want, sizeof want));
    const char *bad[] = { "a/#/b" };
    CHECK(!sl_mqttw_subscribe(&b, 8, bad, 1, 1));
    CHECK(!sl_mqttw_subscribe(&b, 0, filters, 2, 1));   /* packet id 0 */
    CHECK(!sl_mqttw_subscribe(&b, 9, filters, 2, 2));   /* QoS 2: never asked for */
    CHECK(!sl_mqttw_subscribe(&b, 9, filters, 0, 1));
    CHECK_EQ_INT(b.len, sizeof want);                   /* refusals append nothing */
    sl_buf_free(&b);
}

TEST(small_packets_bytes)
{
    SlBuf b = { 0 };
    sl_mqttw_puback(&b, 0x1234);
    sl_mqttw_pingreq(&b);
    sl_mqttw_disconnect(&b);
    static const uint8_t want[] = { 0x40, 2, 0x12, 0x34, 0xc0, 0, 0xe0, 0 };
    CHECK(b.len == sizeof want && !memcmp(b.data, want, sizeof want));
    sl_mqttw_buf_consume(&b, 4);
    CHECK(b.len == 4 && !memcmp(b.data, want + 4, 4));
    sl_buf_free(&b);
}

/* ---- Decoding valid packets ------------------------------------------------ */

static const uint8_t connack[] = { 0x20, 2, 1, 4 };
static const uint8_t suback[] = { 0x90, 5, 0, 7, 1, 0x80, 0 };
static const uint8_t pingresp[] = { 0xd0, 0 };
static const uint8_t puback[] = { 0x40, 2, 0xab, 0xcd };
static const uint8_t unsuback[] = { 0xb0, 2, 0, 9 };

TEST(decode_control_packets)
{
    SlMqttwDecoder d;
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    CHECK_EQ_INT(decode_one(connack, sizeof connack, 64, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_CONNACK && p.session_present && p.return_code == 4);
    CHECK_EQ_INT(sl_mqttw_next(&d, &p, why), 0);
    sl_mqttw_decoder_free(&d);
    CHECK_EQ_INT(decode_one(suback, sizeof suback, 64, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_SUBACK && p.packet_id == 7 && p.ncodes == 3);
    CHECK(p.codes[0] == 1 && p.codes[1] == SL_MQTTW_SUBACK_FAILURE && p.codes[2] == 0);
    sl_mqttw_decoder_free(&d);
    CHECK_EQ_INT(decode_one(pingresp, sizeof pingresp, 64, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_PINGRESP);
    sl_mqttw_decoder_free(&d);
    CHECK_EQ_INT(decode_one(puback, sizeof puback, 64, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_PUBACK && p.packet_id == 0xabcd);
    sl_mqttw_decoder_free(&d);
    CHECK_EQ_INT(decode_one(unsuback, sizeof unsuback, 64, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_UNSUBACK && p.packet_id == 9);
    sl_mqttw_decoder_free(&d);
}

TEST(decode_publish)
{
    uint8_t bytes[256];
    SlMqttwDecoder d;
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    size_t n = publish_bytes(bytes, 0x0b, "s/1", 0x0102, "{\"n\":1}", 7); /* dup, qos 1, retain */
    CHECK_EQ_INT(decode_one(bytes, n, 1024, &p, &d, why), 1);
    CHECK(p.type == SL_MQTTW_PUBLISH && p.qos == 1 && p.dup && p.retain && p.packet_id == 0x0102);
    CHECK(p.topic_len == 3 && !memcmp(p.topic, "s/1", 3));
    CHECK(p.payload_len == 7 && !memcmp(p.payload, "{\"n\":1}", 7));
    sl_mqttw_decoder_free(&d);
    n = publish_bytes(bytes, 0, "t", 0, "", 0);         /* qos 0, empty payload */
    CHECK_EQ_INT(decode_one(bytes, n, 1024, &p, &d, why), 1);
    CHECK(p.qos == 0 && !p.dup && !p.retain && p.packet_id == 0 && p.payload_len == 0);
    CHECK(p.topic_len == 1 && p.topic[0] == 't');
    sl_mqttw_decoder_free(&d);
}

/* Several packets in one read, then one packet split over many. */
TEST(decode_stream)
{
    uint8_t bytes[512];
    size_t n = 0;
    memcpy(bytes, connack, sizeof connack);
    n += sizeof connack;
    n += publish_bytes(bytes + n, 2, "a", 1, "x", 1);
    memcpy(bytes + n, pingresp, sizeof pingresp);
    n += sizeof pingresp;
    n += publish_bytes(bytes + n, 2, "b", 2, "yy", 2);
    SlMqttwDecoder d;
    sl_mqttw_decoder_init(&d, 1024);
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    SlMqttwType want[] = { SL_MQTTW_CONNACK, SL_MQTTW_PUBLISH, SL_MQTTW_PINGRESP, SL_MQTTW_PUBLISH };
    /* Byte by byte: each packet comes out at its last byte, not before. */
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        sl_mqttw_feed(&d, bytes + i, 1);
        int rc;
        while ((rc = sl_mqttw_next(&d, &p, why)) == 1) {
            CHECK(got < 4 && p.type == want[got]);
            got++;
        }
        CHECK_EQ_INT(rc, 0);
    }
    CHECK_EQ_INT(got, 4);
    CHECK(p.packet_id == 2 && p.payload_len == 2 && !memcmp(p.payload, "yy", 2));
    sl_mqttw_decoder_free(&d);
}

/* Every prefix of every valid packet asks for more; the rest completes it. */
TEST(every_truncation)
{
    uint8_t pub[300];
    char payload[200];
    memset(payload, 'z', sizeof payload);
    size_t pub_len = publish_bytes(pub, 2, "long/topic", 77, payload, sizeof payload);
    const uint8_t *packets[] = { connack, suback, pingresp, puback, unsuback, pub };
    size_t lens[] = { sizeof connack, sizeof suback, sizeof pingresp, sizeof puback,
                      sizeof unsuback, pub_len };
    for (size_t k = 0; k < 6; k++) {
        for (size_t cut = 0; cut < lens[k]; cut++) {
            SlMqttwDecoder d;
            SlMqttwPacket p;
            char why[SL_MQTTW_WHY_MAX];
            CHECK_EQ_INT(decode_one(packets[k], cut, 1024, &p, &d, why), 0);
            sl_mqttw_feed(&d, packets[k] + cut, lens[k] - cut);
            CHECK_EQ_INT(sl_mqttw_next(&d, &p, why), 1);
            CHECK_EQ_INT(p.type, packets[k][0] >> 4);
            if (k == 5) CHECK(p.payload_len == sizeof payload && p.packet_id == 77);
            CHECK_EQ_INT(sl_mqttw_next(&d, &p, why), 0);
            sl_mqttw_decoder_free(&d);
        }
    }
}

/* A payload of 100 KB arriving in 1000-byte reads. */
TEST(big_publish_in_pieces)
{
    size_t size = 100000;
    char *payload = malloc(size);
    for (size_t i = 0; i < size; i++) payload[i] = (char)('a' + i % 26);
    uint8_t *bytes = malloc(size + 64);
    size_t n = publish_bytes(bytes, 2, "big", 5, payload, size);
    SlMqttwDecoder d;
    sl_mqttw_decoder_init(&d, 200000);
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    int rc = 0;
    for (size_t at = 0; at < n; at += 1000) {
        sl_mqttw_feed(&d, bytes + at, n - at < 1000 ? n - at : 1000);
        rc = sl_mqttw_next(&d, &p, why);
        if (at + 1000 < n) CHECK_EQ_INT(rc, 0);
    }
    CHECK_EQ_INT(rc, 1);
    CHECK(p.payload_len == size && !memcmp(p.payload, payload, size));
    sl_mqttw_decoder_free(&d);
    free(bytes);
    free(payload);
}

/* ---- Broken streams ----------------------------------------------------------- */

TEST(bad_varints)
{
    char why[SL_MQTTW_WHY_MAX];
    static const uint8_t five[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x01 };
    CHECK_EQ_INT(decode_error(five, sizeof five, why), -1);
    CHECK(strstr(why, "longer than 4 bytes") != NULL);
    /* Four continuation bytes are already wrong, whatever follows. */
    CHECK_EQ_INT(decode_error(five, 5, why), -1);
    /* Three continuation bytes: still possibly valid, so wait. */
    CHECK_EQ_INT(decode_error(five, 4, why), 0);
}

TEST(oversize_rejected_early)
{
    uint8_t head[8] = { 0x30 };
    size_t n = 1 + put_varint(head + 1, 2000);
    SlMqttwDecoder d;
    SlMqttwPacket p;
    char why[SL_MQTTW_WHY_MAX];
    /* Only the header has come: the size is known, so it is refused now. */
    CHECK_EQ_INT(decode_one(head, n, 1024, &p, &d, why), -1);
    CHECK(strstr(why, "2003 bytes, more than the maximum of 1024") != NULL);
    sl_mqttw_decoder_free(&d);
    /* The largest the four bytes can say, against the default maximum. */
    static const uint8_t huge[] = { 0x30, 0xff, 0xff, 0xff, 0x7f };
    CHECK_EQ_INT(decode_one(huge, sizeof huge, 16 << 20, &p, &d, why), -1);
    sl_mqttw_decoder_free(&d);
    /* Exactly the maximum is fine. */
    uint8_t pub[1100];
    char payload[1024];
    memset(payload, 'q', sizeof payload);
    size_t len = publish_bytes(pub, 0, "t", 0, payload, 1024 - 3 - 3);
    CHECK_EQ_INT(len, 1024);
    CHECK_EQ_INT(decode_one(pub, len, 1024, &p, &d, why), 1);
    sl_mqttw_decoder_free(&d);
    CHECK_EQ_INT(decode_one(pub, len, 1023, &p, &d, why), -1);
    sl_mqttw_decoder_free(&d);
}

TEST(publish_flags_rejected)
{
    uint8_t bytes[64];
    char why[SL_MQTTW_WHY_MAX];
    size_t n = publish_bytes(bytes, 4, "t", 1, "x", 1);     /* QoS 2 */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    CHECK(strstr(why, "QoS 2") != NULL);
    n = publish_bytes(bytes, 6, "t", 1, "x", 1);            /* QoS 3 */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    n = publish_bytes(bytes, 8, "t", 0, "x", 1);            /* DUP with QoS 0 */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    n = publish_bytes(bytes, 2, "t", 0, "x", 1);            /* packet id 0 */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    n = publish_bytes(bytes, 0, "", 0, "x", 1);             /* empty topic */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    n = publish_bytes(bytes, 0, "a/+", 0, "x", 1);          /* a wildcard */
    CHECK_EQ_INT(decode_error(bytes, n, why), -1);
    static const uint8_t nul[] = { 0x30, 6, 0, 3, 'a', 0, 'b', 'x' };   /* a NUL in the topic */
    CHECK_EQ_INT(decode_error(nul, sizeof nul, why), -1);
}

TEST(fields_past_the_end)
{
    char why[SL_MQTTW_WHY_MAX];
    static const uint8_t topic_long[] = { 0x30, 4, 0, 9, 'a', 'b' };
    CHECK_EQ_INT(decode_error(topic_long, sizeof topic_long, why), -1);
    CHECK(strstr(why, "past its end") != NULL);
    static const uint8_t no_id[] = { 0x32, 3, 0, 1, 'a' };  /* qos 1, no room for the id */
    CHECK_EQ_INT(decode_error(no_id, sizeof no_id, why), -1);
    static const uint8_t no_topic[] = { 0x30, 1, 0 };
    CHECK_EQ_INT(decode_error(no_topic, sizeof no_topic, why), -1);
    static const uint8_t empty_suback[] = { 0x90, 2, 0, 1 };
    CHECK_EQ_INT(decode_error(empty_suback, sizeof empty_suback, why), -1);
    static const uint8_t short_connack[] = { 0x20, 1, 0 };
    CHECK_EQ_INT(decode_error(short_connack, sizeof short_connack, why), -1);
    static const uint8_t long_puback[] = { 0x40, 3, 0, 1, 0 };
    CHECK_EQ_INT(decode_error(long_puback, sizeof long_puback, why), -1);
}

TEST(reserved_bits_and_codes)
{
    char why[SL_MQTTW_WHY_MAX];
    static const uint8_t flags[] = { 0x21, 2, 0, 0 };       /* CONNACK with flags */
    CHECK_EQ_INT(decode_error(flags, sizeof flags, why), -1);
    static const uint8_t ack_flags[] = { 0x20, 2, 2, 0 };   /* reserved acknowledge flag */
    CHECK_EQ_INT(decode_error(ack_flags, sizeof ack_flags, why), -1);
    static const uint8_t suback_flags[] = { 0x92, 3, 0, 1, 0 };
    CHECK_EQ_INT(decode_error(suback_flags, sizeof suback_flags, why), -1);
    static const uint8_t suback_code[] = { 0x90, 3, 0, 1, 3 };
    CHECK_EQ_INT(decode_error(suback_code, sizeof suback_code, why), -1);
    static const uint8_t ping_body[] = { 0xd0, 1, 0 };
    CHECK_EQ_INT(decode_error(ping_body, sizeof ping_body, why), -1);
}

/* What a client sends, QoS 2 packets, and the reserved types 0 and 15. */
TEST(packets_a_server_does_not_send)
{
    char why[SL_MQTTW_WHY_MAX];
    static const uint8_t types[] = { 0x00, 0x10, 0x50, 0x62, 0x70, 0x82, 0xa2, 0xc0, 0xe0, 0xf0 };
    for (size_t i = 0; i < sizeof types; i++) {
        uint8_t bytes[] = { types[i], 2, 0, 1 };
        CHECK_EQ_INT(decode_error(bytes, sizeof bytes, why), -1);
    }
    uint8_t pubrec[] = { 0x50, 2, 0, 1 };
    decode_error(pubrec, sizeof pubrec, why);
    CHECK(strstr(why, "PUBREC") != NULL);
}

/* Random bytes: any answer is fine but a crash or a read out of bounds. */
TEST(random_bytes)
{
    uint64_t state = 0x1234567;
    uint8_t bytes[64];
    int errors = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = 1 + round % 63;
        for (size_t i = 0; i < n; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            bytes[i] = (uint8_t)(state >> 56);
        }
        SlMqttwDecoder d;
        sl_mqttw_decoder_init(&d, 48);
        SlMqttwPacket p;
        char why[SL_MQTTW_WHY_MAX];
        for (size_t at = 0; at < n; at += 7) {
            sl_mqttw_feed(&d, bytes + at, n - at < 7 ? n - at : 7);
            int rc;
            while ((rc = sl_mqttw_next(&d, &p, why)) == 1)
                if (p.type == SL_MQTTW_PUBLISH) CHECK(p.topic_len + p.payload_len <= n);
            if (rc < 0) {
                errors++;
                break;
            }
        }
        sl_mqttw_decoder_free(&d);
    }
    CHECK(errors > 10000);      /* most random streams are broken */
}

/* ---- Names ------------------------------------------------------------------ */

TEST(filters)
{
    const char *good[] = { "a", "a/b", "+", "#", "a/+/c", "+/+", "a/#", "/", "a//b", "+/#", "/#" };
    const char *bad[] = { "", "a+", "a/b+", "+a", "a/#/b", "##", "a#", "#/", "a/+b/c" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(sl_mqttw_filter_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (sl_mqttw_filter_ok(bad[i])) fprintf(stderr, "accepted '%s'\n", bad[i]);
        CHECK(!sl_mqttw_filter_ok(bad[i]));
    }
}

TEST(connack_texts)
{
    CHECK(strstr(sl_mqttw_connack_text(4), "user name or password") != NULL);
    CHECK(strstr(sl_mqttw_connack_text(5), "not authorized") != NULL);
    CHECK(strstr(sl_mqttw_connack_text(2), "identifier rejected") != NULL);
    CHECK(strstr(sl_mqttw_connack_text(200), "unknown") != NULL);
}

int main(void)
{
    RUN(connect_bytes);
    RUN(connect_remaining_lengths);
    RUN(subscribe_bytes);
    RUN(small_packets_bytes);
    RUN(decode_control_packets);
    RUN(decode_publish);
    RUN(decode_stream);
    RUN(every_truncation);
    RUN(big_publish_in_pieces);
    RUN(bad_varints);
    RUN(oversize_rejected_early);
    RUN(publish_flags_rejected);
    RUN(fields_past_the_end);
    RUN(reserved_bits_and_codes);
    RUN(packets_a_server_does_not_send);
    RUN(random_bytes);
    RUN(filters);
    RUN(connack_texts);
    return unit_summary();
}
