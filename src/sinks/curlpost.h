/*
** curlpost.h: the libcurl handle of the sinks that POST batches (http,
** elasticsearch), set up once in start() and reused, so the connection is
** kept alive from batch to batch.
*/
#ifndef SLUICE_CURLPOST_H
#define SLUICE_CURLPOST_H

#include "../pipeline/component.h"

#include <curl/curl.h>

/* A POST handle with `headers`, a timeout, TCP keep-alive, the response
** body handed to write_fn(user) and libcurl's messages in error_buffer
** (CURL_ERROR_SIZE bytes). NULL after sl_fail when libcurl cannot start. */
CURL *sl_curl_post_handle(SlCtx *ctx, struct curl_slist *headers, int64_t timeout_ms,
                          curl_write_callback write_fn, void *user, char *error_buffer);
/* Frees a handle of sl_curl_post_handle and its share of libcurl's global
** state; NULL is nothing to free. */
void sl_curl_post_close(CURL *c);

#endif
