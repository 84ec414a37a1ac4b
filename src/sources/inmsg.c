/*
** inmsg.c: one received message to one record, for the messaging sources
** (inmsg.h).
*/
#include "inmsg.h"
#include "../pipeline/decode.h"

#include <string.h>

const char *const sl_inmsg_formats[] = { "raw", "json", NULL };

enum { WHY_MAX = 256, SAMPLE_MAX = 256 };

/* Decodes a JSON object payload into the record's fields. */
static bool add_json(const SlInMsg *m, SlBatch *b, SlRecord *r, const char *payload,
                     size_t len)
{
    char why[WHY_MAX];
    SlValue v;
    if (!sl_json_decode(b, payload, len, &v, why, sizeof why)) {
        sl_reject_text(m->ctx, payload, len < SAMPLE_MAX ? len : SAMPLE_MAX, "%s", why);
        return false;
    }
    if (v.type != SL_MAP) {
        sl_reject_text(m->ctx, payload, len < SAMPLE_MAX ? len : SAMPLE_MAX,
                       "the payload is JSON but not an object (a %s)", sl_type_name(v.type));
        return false;
    }
    sl_map_merge(b, &r->fields, &v);
    return true;
}

bool sl_inmsg_add(const SlInMsg *m, SlBatch *b, const char *payload, size_t len,
                  const char *origin, size_t origin_len)
{
    uint32_t before = b->count;
    SlRecord *r = sl_batch_add(b);
    if (m->json && !add_json(m, b, r, payload, len)) {
        b->count = before;      /* the record was never filled */
        return false;
    }
    if (!m->json) *sl_set(b, r, "message") = sl_str(sl_copy_str(b, payload, len), len);
    SlValue where = sl_str(sl_copy_str(b, origin, origin_len), origin_len);
    if (m->origin_field)
        *sl_set(b, r, m->origin_field) = where;
    else
        *sl_map_set(b, &r->meta, m->origin_meta, strlen(m->origin_meta)) = where;
    b->bytes += len;
    return true;
}
