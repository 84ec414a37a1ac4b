/*
** curlpost.c: the shared libcurl POST handle of the http and elasticsearch
** sinks (see curlpost.h).
*/
#include "curlpost.h"

CURL *sl_curl_post_handle(SlCtx *ctx, struct curl_slist *headers, int64_t timeout_ms,
                          curl_write_callback write_fn, void *user, char *error_buffer)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sl_fail(ctx, "cannot initialize libcurl");
        return NULL;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        curl_global_cleanup();
        sl_fail(ctx, "cannot make a libcurl handle");
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we run on worker threads */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_fn);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, user);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    return c;
}

void sl_curl_post_close(CURL *c)
{
    if (!c) return;
    curl_easy_cleanup(c);
    curl_global_cleanup(); /* pairs with the curl_global_init of the handle */
}
