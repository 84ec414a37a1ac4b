/*
** http.h: what Sluice's HTTP servers (the registry, the observability API,
** `sluice serve`) share on top of libmicrohttpd: JSON, text and file
** responses, JSON error documents, buffering a request body up to a
** limit, and the signals that stop a server.
** Implemented in http.c.
*/
#ifndef SLUICE_COMMON_HTTP_H
#define SLUICE_COMMON_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sends `len` bytes of `text` (malloc'd; the response takes it) with a
** Content-Type, not to be cached (every answer is computed). A 401 also
** gets `WWW-Authenticate: Bearer`. */
enum MHD_Result http_send_text(struct MHD_Connection *c, unsigned status,
                               const char *type, char *text, size_t len);

/* Sends `doc` (and drops the reference) as JSON and a newline. */
enum MHD_Result http_send_json(struct MHD_Connection *c, unsigned status, json_t *doc);

/* {"error": MESSAGE}. The message may quote a request, which need not be
** valid UTF-8 (jansson refuses that): bytes outside printable ASCII become
** '?'. */
json_t *http_error_doc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends http_error_doc(fmt, ...) with `status`. */
enum MHD_Result http_send_error(struct MHD_Connection *c, unsigned status,
                                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A 405 naming the method and the path, with `Allow: allow`. */
enum MHD_Result http_send_not_allowed(struct MHD_Connection *c, const char *method,
                                      const char *url, const char *allow);

/* The Content-Type of a front-end file, by its extension
** (application/octet-stream for one not known). */
const char *http_content_type(const char *path);

/* Sends the regular file at `path` with a Content-Type. When there is none
** (or it is not a regular file), sets *missing and queues nothing. */
enum MHD_Result http_send_file(struct MHD_Connection *c, const char *path, const char *type,
                               bool *missing);

/* Sends an endless (until `read` ends it) response of `type` produced by
** `read(cls, pos, buf, max)` in blocks of up to `block` bytes, uncached;
** `done(cls)` frees `cls`, also when the response cannot be made. */
enum MHD_Result http_send_stream(struct MHD_Connection *c, const char *type, size_t block,
                                 MHD_ContentReaderCallback read, void *cls,
                                 MHD_ContentReaderFreeCallback done);

/* Prepares a server's main thread, before any other thread exists:
** blocks SIGINT and SIGTERM (the threads started later inherit the mask,
** so only a sigwait on `stop` takes them) and ignores SIGPIPE (a client
** gone is an error to handle, not a death). */
void http_block_stop_signals(sigset_t *stop);

/* A request body as it arrives. */
typedef struct HttpBody {
    uint8_t *data;
    size_t len, cap;
    bool too_large;         /* more than the limit came; the rest was dropped */
} HttpBody;

/* Appends a piece of the body; past `max` bytes in all it sets too_large
** and drops the rest. */
void http_body_append(HttpBody *b, const char *data, size_t n, size_t max);
void http_body_free(HttpBody *b);

/* Whether the request's Content-Length announces more than `max` bytes,
** so that it can be refused before it is read. */
bool http_announced_too_large(struct MHD_Connection *c, size_t max);

#endif
