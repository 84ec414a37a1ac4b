/*
** mqttconn.c: MQTT broker settings and clients (mqttconn.h).
*/
#include "mqttconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libmosquitto's init and cleanup are global: count the clients. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static int lib_users;

static bool read_broker(SlCtx *ctx, const SlConf *node, SlMqttConf *out)
{
    const char *text = node->text;
    const char *colon = strrchr(text, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    size_t host_len = colon ? (size_t)(colon - text) : 0;
    if (!colon || !host_len || host_len >= SL_MQTT_HOST_MAX || end == colon + 1 || *end ||
        port < 1 || port > 65535) {
        sl_conf_error(ctx, node, "the broker must be HOST:PORT, not '%s'", text);
        return false;
    }
    memcpy(out->host, text, host_len);
    out->host[host_len] = 0;
    out->port = (int)port;
    return true;
}

bool sl_mqtt_conf(SlCtx *ctx, const SlConf *conf, SlMqttConf *out)
{
    memset(out, 0, sizeof *out);
    const SlConf *broker = sl_conf_get(conf, "broker");
    bool ok = true;
    if (broker) {
        ok = read_broker(ctx, broker, out);
    } else {
        snprintf(out->host, sizeof out->host, "127.0.0.1");
        out->port = 1883;
    }
    out->qos = (int)sl_conf_int(conf, "qos", 1);
    out->keepalive = (int)sl_conf_int(conf, "keepalive_s", 30);
    out->clean_session = sl_conf_bool(conf, "clean_session", false);
    out->username = sl_conf_str(conf, "username", NULL);
    out->password = sl_conf_str(conf, "password", NULL);
    out->tls_ca_file = sl_conf_str(conf, "tls_ca_file", NULL);
    if (out->tls_ca_file) out->tls_ca_file = sl_path(ctx, out->tls_ca_file);
    if (out->tls_ca_file && access(out->tls_ca_file, R_OK) != 0) {
        sl_conf_error(ctx, sl_conf_get(conf, "tls_ca_file"), "cannot read %s: %s",
                      out->tls_ca_file, strerror(errno));
        ok = false;
    }
    const char *id = sl_conf_str(conf, "client_id", NULL);
    if (id && (!*id || strlen(id) > SL_MQTT_CLIENT_ID_MAX)) {
        sl_conf_error(ctx, sl_conf_get(conf, "client_id"),
                      "a client_id has 1 to %d bytes", SL_MQTT_CLIENT_ID_MAX);
        return false;
    }
    /* A default id must stay the same across restarts, for the session;
    ** component names are short enough not to be cut. */
    snprintf(out->client_id, sizeof out->client_id, "%s%s", id ? "" : "sluice-",
             id ? id : sl_name(ctx));
    if (out->password && !out->username) {
        sl_conf_error(ctx, sl_conf_get(conf, "password"), "a password needs a username");
        return false;
    }
    return ok;
}

static void lib_hold(void)
{
    pthread_mutex_lock(&lib_lock);
    if (lib_users++ == 0) mosquitto_lib_init();
    pthread_mutex_unlock(&lib_lock);
}

static void lib_release(void)
{
    pthread_mutex_lock(&lib_lock);
    if (--lib_users == 0) mosquitto_lib_cleanup();
    pthread_mutex_unlock(&lib_lock);
}

static bool configure(SlCtx *ctx, struct mosquitto *m, const SlMqttConf *c)
{
    int rc = MOSQ_ERR_SUCCESS;
    if (c->username) rc = mosquitto_username_pw_set(m, c->username, c->password);
    if (rc == MOSQ_ERR_SUCCESS && c->tls_ca_file)
        rc = mosquitto_tls_set(m, c->tls_ca_file, NULL, NULL, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS) return true;
    sl_fail(ctx, "cannot set up the MQTT client: %s", mosquitto_strerror(rc));
    return false;
}

struct mosquitto *sl_mqtt_client(SlCtx *ctx, const SlMqttConf *c, void *user)
{
    lib_hold();
    struct mosquitto *m = mosquitto_new(c->client_id, c->clean_session, user);
    if (!m) {
        lib_release();
        sl_fail(ctx, "cannot make an MQTT client");
        return NULL;
    }
    if (!configure(ctx, m, c)) {
        sl_mqtt_free(m);
        return NULL;
    }
    return m;
}

void sl_mqtt_free(struct mosquitto *m)
{
    if (!m) return;
    mosquitto_destroy(m);
    lib_release();
}
