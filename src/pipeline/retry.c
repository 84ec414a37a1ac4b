/*
** retry.c: exponential backoff with jitter for sinks (see retry.h).
*/
#include "retry.h"

#include <time.h>

void sl_backoff_init(SlBackoff *b, int64_t base_ms, int64_t max_ms)
{
    b->base_ms = base_ms;
    b->max_ms = max_ms;
    b->jitter_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)b;
}

/* Splitmix64: a cheap generator, only to spread retries. */
static uint64_t next_random(SlBackoff *b)
{
    uint64_t z = (b->jitter_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int64_t sl_backoff_delay(SlBackoff *b, int64_t attempt)
{
    int64_t delay = b->base_ms;
    for (int64_t i = 0; i < attempt && delay < b->max_ms; i++) delay *= 2;
    if (delay > b->max_ms) delay = b->max_ms;
    return delay / 2 + (int64_t)(next_random(b) % (uint64_t)(delay / 2 + 1));
}

void sl_backoff_wait(SlBackoff *b, int64_t attempt)
{
    int64_t ms = sl_backoff_delay(b, attempt);
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    nanosleep(&t, NULL);
}

bool sl_retry_left(int64_t retries, int64_t attempt)
{
    return retries == SL_RETRIES_FOREVER || attempt < retries;
}

void sl_retry_wait(SlCtx *ctx, SlBackoff *b, int64_t attempt, int64_t retries,
                   const char *why)
{
    if (retries == SL_RETRIES_FOREVER)
        sl_log(ctx, "%s; retry %lld", why, (long long)attempt + 1);
    else
        sl_log(ctx, "%s; retry %lld of %lld", why, (long long)attempt + 1, (long long)retries);
    sl_count_retry(ctx);
    sl_backoff_wait(b, attempt);
}
