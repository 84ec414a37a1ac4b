/*
** outmsg.c: a record to a destination and a payload, for the messaging
** sinks (outmsg.h).
*/
#include "outmsg.h"

#include <stdio.h>
#include <string.h>

bool sl_outmsg_init(SlCtx *ctx, SlOutMsg *m, const SlConf *node,
                    const char *forbidden, const char *payload_field)
{
    m->destination = node->text;
    m->forbidden = forbidden;
    m->payload_field = payload_field;
    for (const char *c = node->text; *c; c++) {
        if (*c == '}') {
            sl_conf_error(ctx, node, "'}' without '{' in '%s'", node->text);
            return false;
        }
        if (*c != '{') continue;
        const char *end = strchr(c, '}');
        if (!end || end == c + 1 || memchr(c + 1, '{', (size_t)(end - c - 1))) {
            sl_conf_error(ctx, node, "'{' must be followed by a field name and '}' in '%s'",
                          node->text);
            return false;
        }
        c = end;
    }
    return true;
}

/* A value as text: strings as they are, anything else as JSON. */
static void put_text(SlBuf *b, const SlValue *v)
{
    if (v->type == SL_STRING) sl_buf_put(b, v->as.s, v->len);
    else sl_json_value(b, v);
}

/* A NUL byte, or one of `set`, among the `len` bytes at `s`. */
static bool holds_any(const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || strchr(set, s[i])) return true;
    return false;
}

static bool fill_destination(SlOutMsg *m, const SlRecord *r, char *why)
{
    m->to.len = 0;
    for (const char *c = m->destination; *c; c++) {
        if (*c != '{') {
            sl_buf_putc(&m->to, *c);
            continue;
        }
        const char *end = strchr(c, '}');
        size_t name_len = (size_t)(end - c - 1);
        const SlValue *v = sl_map_get(&r->fields, c + 1, name_len);
        if (!v) {
            snprintf(why, SL_OUTMSG_WHY_MAX, "no field '%.*s' for the destination '%s'",
                     (int)name_len, c + 1, m->destination);
            return false;
        }
        size_t from = m->to.len;
        put_text(&m->to, v);
        size_t part = m->to.len - from;
        if (!part || holds_any(m->to.data + from, part, m->forbidden)) {
            snprintf(why, SL_OUTMSG_WHY_MAX, "field '%.*s' is empty or holds one of \"%s\": "
                     "not usable in the destination", (int)name_len, c + 1, m->forbidden);
            return false;
        }
        c = end;
    }
    sl_buf_putc(&m->to, 0);
    return true;
}

static bool fill_payload(SlOutMsg *m, const SlRecord *r, char *why)
{
    m->payload.len = 0;
    if (!m->payload_field) {
        sl_json_record(&m->payload, r);
        m->payload.len--;   /* a message is one object, not a line */
    } else {
        const SlValue *v = sl_get(r, m->payload_field);
        if (!v) {
            snprintf(why, SL_OUTMSG_WHY_MAX, "no field '%s' for the payload", m->payload_field);
            return false;
        }
        put_text(&m->payload, v);
    }
    sl_buf_putc(&m->payload, 0);
    m->payload.len--;
    return true;
}

bool sl_outmsg_build(SlOutMsg *m, const SlRecord *r, char why[SL_OUTMSG_WHY_MAX])
{
    return fill_destination(m, r, why) && fill_payload(m, r, why);
}

void sl_outmsg_free(SlOutMsg *m)
{
    sl_buf_free(&m->to);
    sl_buf_free(&m->payload);
}
