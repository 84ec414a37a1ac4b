/*
** http.c: responses and request bodies for Sluice's libmicrohttpd servers
** (http.h).
*/
#include "http.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FIRST_BODY_CAP = 1 << 16 };

enum MHD_Result http_send_text(struct MHD_Connection *c, unsigned status,
                               const char *type, char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"sluice\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* `doc` as compact JSON and a newline, in malloc'd memory; NULL when out
** of memory. */
static char *json_line(json_t *doc, size_t *len)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!text) return NULL;
    *len = strlen(text);
    char *line = realloc(text, *len + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    memcpy(line + (*len)++, "\n", 2);
    return line;
}

enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    size_t len = 0;
    char *line = doc ? json_line(doc, &len) : NULL;
    json_decref(doc);
    if (!line) return MHD_NO;
    return http_send_text(c, status, "application/json", line, len);
}

static json_t *verror_doc(const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof message, fmt, ap);
    for (char *m = message; *m; m++)
        if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f) *m = '?';
    return json_pack("{s:s}", "error", message);
}

json_t *http_error_doc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *doc = verror_doc(fmt, ap);
    va_end(ap);
    return doc;
}

enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *doc = verror_doc(fmt, ap);
    va_end(ap);
    return http_send_json(c, status, doc);
}

enum MHD_Result http_send_not_allowed(struct MHD_Connection *c, const char *method,
                                      const char *url, const char *allow)
{
    size_t len = 0;
    json_t *doc = http_error_doc("%s is not allowed on %s: use %s", method, url, allow);
    char *line = json_line(doc, &len);
    json_decref(doc);
    struct MHD_Response *r = line ? MHD_create_response_from_buffer(
                                        len, line, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(line);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return ret;
}

static const struct {
    const char *extension, *type;
} file_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".map", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".ico", "image/x-icon" },
    { ".woff2", "font/woff2" },
    { ".wasm", "application/wasm" },
    { ".txt", "text/plain; charset=utf-8" },
};

const char *http_content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof file_types / sizeof file_types[0]; i++)
        if (!strcmp(dot, file_types[i].extension)) return file_types[i].type;
    return "application/octet-stream";
}

enum MHD_Result http_send_file(struct MHD_Connection *c, const char *path, const char *type,
                               bool *missing)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *missing = fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
    if (*missing) {
        if (fd >= 0) close(fd);
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

void http_block_stop_signals(sigset_t *stop)
{
    sigemptyset(stop);
    sigaddset(stop, SIGINT);
    sigaddset(stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void http_body_append(HttpBody *b, const char *data, size_t n, size_t max)
{
    if (b->too_large || n > max - b->len) {
        b->too_large = true;
        return;
    }
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : FIRST_BODY_CAP;
        while (cap - b->len < n) cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data) abort();
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

void http_body_free(HttpBody *b)
{
    free(b->data);
    *b = (HttpBody){ 0 };
}

bool http_announced_too_large(struct MHD_Connection *c, size_t max)
{
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    return length && strtoull(length, NULL, 10) > max;
}

enum MHD_Result http_send_stream(struct MHD_Connection *c, const char *type, size_t block,
                                 MHD_ContentReaderCallback read, void *cls,
                                 MHD_ContentReaderFreeCallback done)
{
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, block, read,
                                                               cls, done);
    if (!r) {
        done(cls);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
