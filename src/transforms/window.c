/*
** window.c: window management for the `function` transform (window.h):
** reading the `window` setting, grouping records by key, and opening and
** closing count, duration and event-time windows.
**
** Keys live in a table (an array of Key plus an open-addressing index of
** positions). A key whose windows are all closed stays in the table until
** room is needed: then the idle keys are swept out at once, so a key that
** comes back often does not pay for a removal and re-insertion each time.
**
** Kept batches (window.h) are a list in arrival order that holds one
** reference to each: a batch whose count is down to that one is in no
** window any more. Windows in arrival order release the batches in that
** order too, so the list is taken from its head.
*/
#include "window.h"
#include "../pipeline/ack.h"
#include "../pipeline/encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_MAX_KEYS = 10000 };

/* Durations and event times are kept within these bounds (73 and 146
** years from 1970), so window arithmetic never overflows. */
#define MAX_DURATION_NS ((int64_t)1 << 61)
#define MAX_EVENT_NS ((int64_t)1 << 62)

/* ---- The `window` setting -------------------------------------------- */

/* "500ms", "10s", "5m", "1h" (also "0s") to nanoseconds. */
static bool parse_duration(const char *text, int64_t *ns)
{
    static const struct { const char *unit; int64_t ns; } units[] = {
        { "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 }, { "h", 3600000000000 },
    };
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || n < 0 || text[0] == '+' || text[0] == ' ') return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit)) {
            if (n > MAX_DURATION_NS / units[i].ns) return false;
            *ns = n * units[i].ns;
            return true;
        }
    return false;
}

/* Reads duration `key` of `map` (absent: def); 0 on success. */
static int read_duration(SlCtx *ctx, const SlConf *map, const char *key, int64_t def,
                         bool positive, int64_t *ns)
{
    const SlConf *node = sl_conf_get(map, key);
    *ns = def;
    if (!node || sl_scalar_null(node)) return 0;
    if (!parse_duration(node->text, ns) || (positive && *ns == 0)) {
        sl_conf_error(ctx, node, "'%s' must be a %sduration like 500ms, 10s, 5m or 1h, not '%s'",
                      key, positive ? "positive " : "", node->text);
        return -1;
    }
    return 0;
}

static int read_event_time(SlCtx *ctx, const SlConf *et, WindowSpec *out)
{
    out->kind = WINDOW_EVENT_TIME;
    out->time_field = sl_conf_str(et, "field", NULL);
    if (read_duration(ctx, et, "size", 0, true, &out->size_ns) ||
        read_duration(ctx, et, "slide", out->size_ns, true, &out->slide_ns) ||
        read_duration(ctx, et, "allowed_lateness", 0, false, &out->lateness_ns))
        return -1;
    if (out->slide_ns > out->size_ns) {
        sl_conf_error(ctx, sl_conf_get(et, "slide"),
                      "'slide' must not be longer than 'size' (records would fall between windows)");
        return -1;
    }
    return 0;
}

int window_spec_read(SlCtx *ctx, const SlConf *node, WindowSpec *out)
{
    *out = (WindowSpec){ .kind = WINDOW_COUNT, .count = 1, .max_keys = DEFAULT_MAX_KEYS };
    if (!node || sl_scalar_null(node)) return 0;
    const SlConf *count = sl_conf_get(node, "count");
    const SlConf *duration = sl_conf_get(node, "duration");
    const SlConf *event_time = sl_conf_get(node, "event_time");
    if ((count != NULL) + (duration != NULL) + (event_time != NULL) > 1) {
        sl_conf_error(ctx, node, "a window is one of 'count', 'duration' or 'event_time', not several");
        return -1;
    }
    out->key_field = sl_conf_str(node, "key", NULL);
    out->max_keys = (uint32_t)sl_conf_int(node, "max_keys", DEFAULT_MAX_KEYS);
    if (count) out->count = (uint32_t)sl_conf_int(node, "count", 1);
    if (duration) {
        out->kind = WINDOW_DURATION;
        return read_duration(ctx, node, "duration", 0, true, &out->duration_ns);
    }
    return event_time ? read_event_time(ctx, event_time, out) : 0;
}

/* ---- Windows and segments -------------------------------------------- */

static void window_add_ref(Window *w, Segment *s, uint32_t index)
{
    if (w->count == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->refs = realloc(w->refs, w->cap * sizeof *w->refs);
        if (!w->refs) abort();
    }
    w->refs[w->count++] = (WindowRef){ s, index };
    s->refs++;
}

static void segment_release(Segment *s)
{
    if (--s->refs) return;
    sl_batch_free(s->batch);
    free(s);
}

void window_release(Window *w)
{
    for (uint32_t i = 0; i < w->count; i++) segment_release(w->refs[i].segment);
    free(w->refs);
    *w = (Window){ 0 };
}

/* ---- Keys ------------------------------------------------------------ */

typedef struct Key {
    char *text;                     /* the key value as JSON */
    size_t len;
    uint64_t hash;
    Window open;                    /* count and duration windows */
    Window *panes;                  /* event time: open windows by start */
    uint32_t npanes, panes_cap;
} Key;

struct Windows {
    WindowSpec spec;
    Key *keys;
    uint32_t nkeys, keys_cap;
    uint32_t *index;                /* position + 1, or 0 for a free slot */
    uint32_t index_cap;             /* a power of two, >= 2 * keys_cap */
    Window *ready;
    size_t nready, ready_cap;
    int64_t max_event_ns;           /* latest event time seen */
    bool seen_event;
    SlBuf key_text;                 /* scratch */
    bool keep_batches;
    Segment *kept, *kept_last;      /* oldest first */
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211u;
    return h;
}

static void index_rebuild(Windows *ws)
{
    uint32_t cap = 16;
    while (cap < 2 * ws->nkeys + 2) cap *= 2;
    free(ws->index);
    ws->index = calloc(cap, sizeof *ws->index);
    if (!ws->index) abort();
    ws->index_cap = cap;
    for (uint32_t k = 0; k < ws->nkeys; k++) {
        uint32_t slot = (uint32_t)ws->keys[k].hash & (cap - 1);
        while (ws->index[slot]) slot = (slot + 1) & (cap - 1);
        ws->index[slot] = k + 1;
    }
}

static bool key_idle(const Key *k)
{
    return k->open.count == 0 && k->npanes == 0;
}

static void key_free(Key *k)
{
    window_release(&k->open);
    for (uint32_t i = 0; i < k->npanes; i++) window_release(&k->panes[i]);
    free(k->panes);
    free(k->text);
}

/* Removes the keys that hold no open window. */
static void sweep_idle_keys(Windows *ws)
{
    uint32_t kept = 0;
    for (uint32_t k = 0; k < ws->nkeys; k++) {
        if (key_idle(&ws->keys[k])) key_free(&ws->keys[k]);
        else ws->keys[kept++] = ws->keys[k];
    }
    ws->nkeys = kept;
    index_rebuild(ws);
}

static Key *key_insert(Windows *ws, const char *text, size_t len, uint64_t hash)
{
    if (ws->nkeys == ws->keys_cap) {
        ws->keys_cap = ws->keys_cap ? ws->keys_cap * 2 : 16;
        ws->keys = realloc(ws->keys, ws->keys_cap * sizeof *ws->keys);
        if (!ws->keys) abort();
    }
    Key *k = &ws->keys[ws->nkeys++];
    *k = (Key){ .text = malloc(len + 1), .len = len, .hash = hash };
    if (!k->text) abort();
    memcpy(k->text, text, len);
    if (2 * ws->nkeys + 2 > ws->index_cap) index_rebuild(ws);
    else {
        uint32_t slot = (uint32_t)hash & (ws->index_cap - 1);
        while (ws->index[slot]) slot = (slot + 1) & (ws->index_cap - 1);
        ws->index[slot] = ws->nkeys;
    }
    return k;
}

/* The key of a record (its key field as JSON; null when absent), found or
** added; NULL when adding would pass max_keys. */
static Key *key_of(Windows *ws, const SlRecord *r)
{
    if (!ws->spec.key_field) return &ws->keys[0];
    const SlValue *v = sl_get(r, ws->spec.key_field);
    SlValue null = sl_null();
    ws->key_text.len = 0;
    sl_json_value(&ws->key_text, v ? v : &null);
    const char *text = ws->key_text.data;
    size_t len = ws->key_text.len;
    uint64_t hash = hash_bytes(text, len);
    for (uint32_t slot = (uint32_t)hash & (ws->index_cap - 1); ws->index[slot];
         slot = (slot + 1) & (ws->index_cap - 1)) {
        Key *k = &ws->keys[ws->index[slot] - 1];
        if (k->hash == hash && k->len == len && !memcmp(k->text, text, len)) return k;
    }
    if (ws->nkeys >= ws->spec.max_keys) sweep_idle_keys(ws);
    if (ws->nkeys >= ws->spec.max_keys) return NULL;
    return key_insert(ws, text, len, hash);
}

/* ---- Closing --------------------------------------------------------- */

/* Moves a window to the ready list; `w` is left empty. */
static void close_window(Windows *ws, Window *w)
{
    if (!w->count) return;
    if (ws->nready == ws->ready_cap) {
        ws->ready_cap = ws->ready_cap ? ws->ready_cap * 2 : 16;
        ws->ready = realloc(ws->ready, ws->ready_cap * sizeof *ws->ready);
        if (!ws->ready) abort();
    }
    ws->ready[ws->nready++] = *w;
    *w = (Window){ 0 };
}

/* Closes the first n panes of a key. */
static void close_panes(Windows *ws, Key *k, uint32_t n)
{
    if (!n) return;
    for (uint32_t i = 0; i < n; i++) close_window(ws, &k->panes[i]);
    memmove(k->panes, k->panes + n, (k->npanes - n) * sizeof *k->panes);
    k->npanes -= n;
}

static int64_t watermark(const Windows *ws)
{
    if (!ws->seen_event) return INT64_MIN;
    int64_t t = ws->max_event_ns;
    return t < INT64_MIN + ws->spec.lateness_ns ? INT64_MIN : t - ws->spec.lateness_ns;
}

static void close_passed_panes(Windows *ws)
{
    int64_t mark = watermark(ws);
    for (uint32_t k = 0; k < ws->nkeys; k++) {
        Key *key = &ws->keys[k];
        uint32_t n = 0;
        while (n < key->npanes && key->panes[n].end <= mark) n++;
        close_panes(ws, key, n);
    }
}

void windows_expire(Windows *ws, int64_t now_ns)
{
    if (ws->spec.kind != WINDOW_DURATION) return;
    for (uint32_t k = 0; k < ws->nkeys; k++) {
        Window *w = &ws->keys[k].open;
        if (w->count && now_ns - w->opened_ns >= ws->spec.duration_ns) close_window(ws, w);
    }
}

void windows_close_all(Windows *ws)
{
    for (uint32_t k = 0; k < ws->nkeys; k++) {
        close_window(ws, &ws->keys[k].open);
        close_panes(ws, &ws->keys[k], ws->keys[k].npanes);
    }
}

/* ---- Adding ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The pane of `key` starting at `start`, made if needed (kept by start). */
static Window *pane_at(Key *key, int64_t start, int64_t size)
{
    uint32_t i = key->npanes;
    while (i > 0 && key->panes[i - 1].start > start) i--;
    if (i > 0 && key->panes[i - 1].start == start) return &key->panes[i - 1];
    if (key->npanes == key->panes_cap) {
        key->panes_cap = key->panes_cap ? key->panes_cap * 2 : 4;
        key->panes = realloc(key->panes, key->panes_cap * sizeof *key->panes);
        if (!key->panes) abort();
    }
    memmove(key->panes + i + 1, key->panes + i, (key->npanes - i) * sizeof *key->panes);
    key->npanes++;
    key->panes[i] = (Window){ .start = start, .end = start + size };
    return &key->panes[i];
}

static bool event_time_of(const Windows *ws, const SlRecord *r, int64_t *ns)
{
    const SlValue *v = sl_get(r, ws->spec.time_field);
    if (v && v->type == SL_TIMESTAMP) *ns = v->as.ns;
    else if (!v || v->type != SL_STRING || !sl_parse_time(v->as.s, v->len, ns)) return false;
    return *ns > -MAX_EVENT_NS && *ns < MAX_EVENT_NS;
}

/* Puts a record in every still-open window that covers its event time;
** returns the reason when there is none. */
static const char *add_by_event_time(Windows *ws, Key *key, Segment *s, uint32_t i,
                                     char *why, size_t size)
{
    int64_t t;
    if (!event_time_of(ws, &s->batch->records[i], &t)) {
        snprintf(why, size, "no timestamp in field '%s'", ws->spec.time_field);
        return why;
    }
    int64_t mark = watermark(ws);
    int64_t size_ns = ws->spec.size_ns, slide = ws->spec.slide_ns;
    bool placed = false;
    for (int64_t start = floor_div(t, slide) * slide; start > t - size_ns; start -= slide) {
        if (start + size_ns <= mark) break;
        window_add_ref(pane_at(key, start, size_ns), s, i);
        placed = true;
    }
    if (!ws->seen_event || t > ws->max_event_ns) ws->max_event_ns = t;
    ws->seen_event = true;
    if (placed) return NULL;
    char at[40], wm[40];
    at[sl_format_time(t, at)] = 0;
    wm[sl_format_time(mark, wm)] = 0;
    snprintf(why, size, "late: event time %s is behind the watermark %s", at, wm);
    return why;
}

static const char *add_one(Windows *ws, Segment *s, uint32_t i, int64_t now_ns,
                           char *why, size_t size)
{
    Key *key = key_of(ws, &s->batch->records[i]);
    if (!key) {
        snprintf(why, size, "too many open keys (max_keys %u): key %.*s", ws->spec.max_keys,
                 (int)(ws->key_text.len > 200 ? 200 : ws->key_text.len), ws->key_text.data);
        return why;
    }
    if (ws->spec.kind == WINDOW_EVENT_TIME) return add_by_event_time(ws, key, s, i, why, size);
    if (!key->open.count) key->open.opened_ns = now_ns;
    window_add_ref(&key->open, s, i);
    if (ws->spec.kind == WINDOW_COUNT && key->open.count >= ws->spec.count)
        close_window(ws, &key->open);
    return NULL;
}

static void keep_segment(Windows *ws, Segment *s)
{
    s->refs++;
    if (ws->kept_last) ws->kept_last->next = s;
    else ws->kept = s;
    ws->kept_last = s;
}

void windows_add(Windows *ws, SlCtx *ctx, SlBatch *batch, int64_t now_ns)
{
    Segment *s = malloc(sizeof *s);
    if (!s) abort();
    *s = (Segment){ .batch = batch, .refs = 1 };   /* held while adding */
    if (ws->keep_batches) keep_segment(ws, s);
    for (uint32_t i = 0; i < batch->count; i++) {
        char why[300];
        const char *reason = add_one(ws, s, i, now_ns, why, sizeof why);
        if (reason) sl_reject(ctx, batch, i, "%s", reason);
    }
    if (ws->spec.kind == WINDOW_EVENT_TIME) close_passed_panes(ws);
    else windows_expire(ws, now_ns);
    segment_release(s);
}

/* ---- The set of windows ---------------------------------------------- */

bool window_spec_in_order(const WindowSpec *spec)
{
    return !spec->key_field && spec->kind != WINDOW_EVENT_TIME;
}

Windows *windows_new(const WindowSpec *spec, bool keep_batches)
{
    Windows *ws = calloc(1, sizeof *ws);
    if (!ws) abort();
    ws->spec = *spec;
    ws->keep_batches = keep_batches && window_spec_in_order(spec);
    index_rebuild(ws);
    if (!spec->key_field) key_insert(ws, "", 0, 0);  /* the one key */
    return ws;
}

Window *windows_ready(Windows *ws, size_t *count)
{
    *count = ws->nready;
    return ws->ready;
}

void windows_release_ready(Windows *ws)
{
    for (size_t i = 0; i < ws->nready; i++) window_release(&ws->ready[i]);
    ws->nready = 0;
}

SlBatch *windows_take_batch(Windows *ws)
{
    Segment *s = ws->kept;
    if (!s || s->refs > 1) return NULL;
    ws->kept = s->next;
    if (!ws->kept) ws->kept_last = NULL;
    SlBatch *b = s->batch;
    if (s->skip) {
        b->count -= s->skip;
        memmove(b->records, b->records + s->skip, b->count * sizeof *b->records);
    }
    free(s);
    return b;
}

/* Batches still kept at the end were never emitted: their records are not
** written, so their sources must not hear that they were (ack.h). */
static void free_kept(Windows *ws)
{
    while (ws->kept) {
        Segment *s = ws->kept;
        ws->kept = s->next;
        sl_ack_abandon(s->batch->ack);
        segment_release(s);
    }
}

void windows_free(Windows *ws)
{
    if (!ws) return;
    windows_release_ready(ws);
    for (uint32_t k = 0; k < ws->nkeys; k++) key_free(&ws->keys[k]);
    free_kept(ws);
    free(ws->keys);
    free(ws->index);
    free(ws->ready);
    sl_buf_free(&ws->key_text);
    free(ws);
}
