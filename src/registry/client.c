/*
** client.c: the registry's HTTP client over libcurl (client.h).
*/
#include "client.h"

#include "artifact.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_JSON_RESPONSE = 16 << 20, MAX_DOWNLOAD = 512 << 20, DEFAULT_TIMEOUT_S = 60 };

/* ---- Configuration ----------------------------------------------------- */

static void set_field(char *field, size_t cap, const char *value)
{
    if (!*field && value && *value) snprintf(field, cap, "%s", value);
}

/* Reads `url:` and `token:` lines of the config file, if there is one. */
static void read_config_file(RegistryClientConfig *config)
{
    char path[1024];
    const char *explicit_path = getenv("SLUICE_REGISTRY_CONFIG");
    const char *home = getenv("HOME");
    if (explicit_path) snprintf(path, sizeof path, "%s", explicit_path);
    else if (home) snprintf(path, sizeof path, "%s/.config/sluice/registry.yaml", home);
    else return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *colon = strchr(line, ':');
        if (!colon || line[0] == '#') continue;
        *colon = '\0';
        const char *value = colon + 1 + strspn(colon + 1, " \t");
        if (!strcmp(line, "url")) set_field(config->url, sizeof config->url, value);
        else if (!strcmp(line, "token")) set_field(config->token, sizeof config->token, value);
    }
    fclose(f);
}

bool client_config_load(RegistryClientConfig *config, const char *url_flag,
                        const char *token_flag, char *err, size_t errlen)
{
    set_field(config->url, sizeof config->url, url_flag);
    set_field(config->token, sizeof config->token, token_flag);
    set_field(config->url, sizeof config->url, getenv("SLUICE_REGISTRY_URL"));
    set_field(config->token, sizeof config->token, getenv("SLUICE_REGISTRY_TOKEN"));
    read_config_file(config);
    size_t len = strlen(config->url);
    while (len && config->url[len - 1] == '/') config->url[--len] = '\0';
    if (!len) {
        snprintf(err, errlen, "no registry URL: give --registry URL, set "
                 "SLUICE_REGISTRY_URL, or write `url: URL` in "
                 "~/.config/sluice/registry.yaml");
        return false;
    }
    return true;
}

/* ---- Requests ---------------------------------------------------------- */

typedef struct Body {
    uint8_t *data;
    size_t len, cap, max;
    bool too_large;
} Body;

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
    Body *b = user;
    size_t bytes = size * n;
    if (bytes > b->max - b->len) {
        b->too_large = true;
        return 0;
    }
    if (b->cap - b->len < bytes + 1) {
        size_t cap = b->cap ? b->cap : 1 << 14;
        while (cap - b->len < bytes + 1) cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, bytes);
    b->len += bytes;
    b->data[b->len] = '\0';
    return bytes;
}

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void ensure_curl(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
}

/* One HTTP exchange; returns the status (0: no answer, err filled). */
static long exchange(const RegistryClientConfig *config, const char *method,
                     const char *path, const uint8_t *body, size_t len,
                     Body *out, char *err, size_t errlen)
{
    ensure_curl();
    char url[CLIENT_URL_MAX + 512], auth[CLIENT_TOKEN_MAX + 32];
    snprintf(url, sizeof url, "%s/api/v1%s", config->url, path);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (!curl) {
        snprintf(err, errlen, "cannot start libcurl");
        return 0;
    }
    if (*config->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", config->token);
        headers = curl_slist_append(headers, auth);
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, config->timeout_s ? config->timeout_s : DEFAULT_TIMEOUT_S);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
    }
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else if (out->too_large)
        snprintf(err, errlen, "the registry's answer is larger than %zu bytes", out->max);
    else
        snprintf(err, errlen, "cannot reach the registry at %s: %s", config->url,
                 curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return status;
}

long client_call(const RegistryClientConfig *config, const char *method,
                 const char *path, const uint8_t *body, size_t len,
                 json_t **doc, char *err, size_t errlen)
{
    Body out = { .max = MAX_JSON_RESPONSE };
    long status = exchange(config, method, path, body, len, &out, err, errlen);
    json_t *parsed = out.data ? json_loadb((const char *)out.data, out.len, 0, NULL) : NULL;
    free(out.data);
    if (status >= 400) {
        const char *message = json_string_value(json_object_get(parsed, "error"));
        snprintf(err, errlen, "%s (HTTP %ld)", message ? message : "the registry refused", status);
    } else if (status && !parsed) {
        snprintf(err, errlen, "the registry's answer is not JSON (HTTP %ld)", status);
        status = 0;
    }
    if (doc) *doc = parsed;
    else json_decref(parsed);
    return status;
}

long client_search(const RegistryClientConfig *config, const char *query,
                   json_t **doc, char *err, size_t errlen)
{
    if (!query || !*query) return client_call(config, "GET", "/artifacts", NULL, 0, doc, err, errlen);
    ensure_curl();
    char *escaped = curl_easy_escape(NULL, query, 0);
    if (!escaped) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof path, "/artifacts?q=%.900s", escaped);
    curl_free(escaped);
    return client_call(config, "GET", path, NULL, 0, doc, err, errlen);
}

bool client_download(const RegistryClientConfig *config, const char *name,
                     const char *version, uint8_t **bytes, size_t *len,
                     json_t **meta, char *err, size_t errlen)
{
    char path[256];
    snprintf(path, sizeof path, "/artifacts/%s/%s", name, version);
    json_t *doc = NULL;
    long status = client_call(config, "GET", path, NULL, 0, &doc, err, errlen);
    const char *digest = json_string_value(json_object_get(doc, "digest"));
    const char *exact = json_string_value(json_object_get(doc, "version"));
    if (status != 200 || !digest || !exact) {
        if (status == 200) snprintf(err, errlen, "the registry's metadata lacks a digest");
        json_decref(doc);
        return false;
    }
    snprintf(path, sizeof path, "/artifacts/%s/%s/download", name, exact);
    Body out = { .max = MAX_DOWNLOAD };
    status = exchange(config, "GET", path, NULL, 0, &out, err, errlen);
    char got[ARTIFACT_DIGEST_LEN];
    if (status == 200) artifact_digest(out.data, out.len, got);
    bool ok = status == 200 && !strcmp(got, digest);
    if (status && status != 200)
        snprintf(err, errlen, "cannot download %s@%s (HTTP %ld)", name, exact, status);
    else if (status && !ok)
        snprintf(err, errlen, "%s@%s: the download's digest %s differs from the "
                 "registry's %s; refusing it", name, exact, got, digest);
    if (!ok) {
        free(out.data);
        json_decref(doc);
        return false;
    }
    *bytes = out.data ? out.data : calloc(1, 1);
    *len = out.len;
    *meta = doc;
    return true;
}
