/*
** mqttconn.h: what the MQTT source and sink share: the broker settings,
** checked during init, and a libmosquitto client made from them (the
** sink's; the source speaks MQTT itself, see mqtt.c).
*/
#ifndef SLUICE_SOURCES_MQTTCONN_H
#define SLUICE_SOURCES_MQTTCONN_H

#include "../pipeline/component.h"

#include <mosquitto.h>

/* MQTT 3.1.1 brokers must accept client ids of up to 23 bytes; most take
** longer ones. */
enum { SL_MQTT_HOST_MAX = 256, SL_MQTT_CLIENT_ID_MAX = 128 };

#define SL_MQTT_SETTINGS                                                    \
    { .name = "broker", .type = SL_SET_STRING, .def = "127.0.0.1:1883",     \
      .doc = "The broker, HOST:PORT." },                                    \
    { .name = "qos", .type = SL_SET_INT, .def = "1", .min = 0, .max = 1,    \
      .doc = "0: at most once; 1: at least once (the broker acknowledges)." }, \
    { .name = "client_id", .type = SL_SET_STRING,                           \
      .doc = "The client identifier; default: sluice-NAME. A persistent session needs a stable one." }, \
    { .name = "clean_session", .type = SL_SET_BOOL, .def = "false",         \
      .doc = "Start without the broker's stored session (subscriptions, queued QoS 1 messages)." }, \
    { .name = "username", .type = SL_SET_STRING, .doc = "For brokers that ask for one." }, \
    { .name = "password", .type = SL_SET_STRING, .doc = "Goes with username." }, \
    { .name = "tls_ca_file", .type = SL_SET_STRING,                         \
      .doc = "Connect with TLS, trusting the certificate authorities in this PEM file." }, \
    { .name = "keepalive_s", .type = SL_SET_INT, .def = "30", .min = 5, .max = 65535, \
      .doc = "Seconds between pings when nothing else is sent." }

typedef struct SlMqttConf {
    char host[SL_MQTT_HOST_MAX];
    int port, qos, keepalive;
    char client_id[SL_MQTT_CLIENT_ID_MAX + 1];    /* NUL-terminated */
    bool clean_session;
    const char *username, *password, *tls_ca_file;
} SlMqttConf;

/* During init: reads SL_MQTT_SETTINGS; false after sl_conf_error. */
bool sl_mqtt_conf(SlCtx *ctx, const SlConf *conf, SlMqttConf *out);
/* During start: a client with the credentials and TLS of `c`, passing
** `user` to its callbacks; NULL after sl_fail. */
struct mosquitto *sl_mqtt_client(SlCtx *ctx, const SlMqttConf *c, void *user);
/* Frees the client (NULL-safe) and drops the library when the last goes. */
void sl_mqtt_free(struct mosquitto *m);

#endif
