/*
** parse_regex.c: the `parse_regex` transform. A PCRE2 pattern, compiled
** once with JIT, is matched against one string field of each record; every
** named capture that took part in the match becomes a field, cast on the way
** if `types` says so. A record the pattern does not match, or whose capture
** cannot be cast, goes to the error output with the reason.
**
** Captures are slices of the parsed string, which lives as long as the
** batch, so a match copies nothing but the field names (once per batch).
** The compiled pattern is only read while matching, so batches are parsed
** in parallel, each call with its own match data.
*/
#define PCRE2_CODE_UNIT_WIDTH 8

#include "../pipeline/component.h"
#include "../pipeline/convert.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Capture {
    const char *name;       /* points into the compiled pattern's name table */
    size_t name_len;
    uint32_t group;
    SlType type;            /* SL_STRING: kept as captured */
} Capture;

typedef struct ParseRegex {
    pcre2_code *code;
    const char *field;
    Capture *captures;
    uint32_t ncaptures;
} ParseRegex;

/* ---- Settings ---------------------------------------------------------- */

static const SlSetting type_setting = {
    .name = "type", .type = SL_SET_STRING, .choices = sl_type_choices,
    .doc = "The type to cast the capture to.",
};

static const SlSetting settings[] = {
    { .name = "pattern", .type = SL_SET_STRING, .required = true,
      .doc = "A PCRE2 pattern; each named capture (?<name>...) becomes a field." },
    { .name = "field", .type = SL_SET_STRING, .def = "message",
      .doc = "The string field to parse." },
    { .name = "types", .type = SL_SET_MAP, .item = &type_setting,
      .doc = "Casts of captures, by name: string, int, float, bool or timestamp." },
    { 0 },
};

/* ---- Init: compile and list the named captures ------------------------- */

static pcre2_code *compile(SlCtx *ctx, const SlConf *node)
{
    int err;
    PCRE2_SIZE offset;
    /* Invalid UTF-8 in a subject then just fails to match where it sits,
    ** instead of failing the whole match. */
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)node->text, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &offset, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        sl_conf_error(ctx, node, "invalid pattern: %s at offset %zu", (char *)msg,
                      (size_t)offset);
        return NULL;
    }
    /* Without JIT (an unsupported CPU) pcre2_match interprets: slower, same
    ** results, so a JIT failure is not an error. */
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

static int by_group(const void *a, const void *b)
{
    const Capture *x = a, *y = b;
    return (x->group > y->group) - (x->group < y->group);
}

/* The name table: entries of `size` bytes, a 2-byte group number (big
** endian) then the NUL-terminated name, sorted by name. The captures are
** kept in the pattern's order, which becomes the order of the fields. */
static int list_captures(SlCtx *ctx, ParseRegex *p, const SlConf *pattern)
{
    uint32_t count, size;
    PCRE2_SPTR table;
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(p->code, PCRE2_INFO_NAMETABLE, &table);
    if (count == 0) {
        sl_conf_error(ctx, pattern, "the pattern has no named capture (?<name>...)");
        return -1;
    }
    p->captures = calloc(count, sizeof *p->captures);
    if (!p->captures) abort();
    p->ncaptures = count;
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR entry = table + (size_t)i * size;
        Capture *c = &p->captures[i];
        c->group = (uint32_t)entry[0] << 8 | entry[1];
        c->name = (const char *)entry + 2;
        c->name_len = strlen(c->name);
        c->type = SL_STRING;
    }
    qsort(p->captures, count, sizeof *p->captures, by_group);
    return 0;
}

/* Every capture with a duplicated name (?J) gets the same type. */
static int read_types(SlCtx *ctx, ParseRegex *p, const SlConf *types)
{
    for (size_t i = 0; types && i < types->count; i++) {
        const SlConf *item = types->items[i];
        bool found = false;
        for (uint32_t k = 0; k < p->ncaptures; k++) {
            if (strcmp(p->captures[k].name, item->key)) continue;
            sl_type_parse(item->text, &p->captures[k].type);
            found = true;
        }
        if (!found) {
            sl_conf_error(ctx, item, "'%s' is not a named capture of the pattern", item->key);
            return -1;
        }
    }
    return 0;
}

static void destroy(void *state)
{
    ParseRegex *p = state;
    if (!p) return;
    pcre2_code_free(p->code);
    free(p->captures);
    free(p);
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    ParseRegex *p = calloc(1, sizeof *p);
    if (!p) abort();
    sl_set_state(ctx, p);
    const SlConf *pattern = sl_conf_get(conf, "pattern");
    p->field = sl_conf_str(conf, "field", "message");
    p->code = compile(ctx, pattern);
    if (!p->code || list_captures(ctx, p, pattern) < 0) return -1;
    return read_types(ctx, p, sl_conf_get(conf, "types"));
}

/* ---- Matching ---------------------------------------------------------- */

/* Per-batch scratch: the field names (copied into the batch so that no
** record points at the pattern, which dies with this instance), and the
** values of one match, kept aside until every cast has succeeded. */
typedef struct Scratch {
    const ParseRegex *regex;
    const char **names;
    SlValue *values;
    bool *set;
    pcre2_match_data *md;
} Scratch;

static Scratch scratch_for(const ParseRegex *p, SlBatch *b)
{
    Scratch s = {
        .regex = p,
        .names = sl_alloc(b, p->ncaptures * sizeof *s.names),
        .values = sl_alloc(b, p->ncaptures * sizeof *s.values),
        .set = sl_alloc(b, p->ncaptures * sizeof *s.set),
        .md = pcre2_match_data_create_from_pattern(p->code, NULL),
    };
    if (!s.md) abort();
    for (uint32_t i = 0; i < p->ncaptures; i++)
        s.names[i] = sl_copy_str(b, p->captures[i].name, p->captures[i].name_len);
    return s;
}

/* Matches the subject and casts the captures into the scratch. */
static bool match(const ParseRegex *p, SlBatch *b, const SlValue *v, Scratch *s, char *why,
                  size_t size)
{
    const char *subject = v->len ? v->as.s : "";
    int rc = pcre2_match(p->code, (PCRE2_SPTR)subject, v->len, 0, 0, s->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return snprintf(why, size, "no match"), false;
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return snprintf(why, size, "match failed: %s", (char *)msg), false;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    uint32_t pairs = pcre2_get_ovector_count(s->md);
    for (uint32_t k = 0; k < p->ncaptures; k++) {
        const Capture *c = &p->captures[k];
        s->set[k] = c->group < pairs && ov[2 * c->group] != PCRE2_UNSET;
        if (!s->set[k]) continue;
        size_t start = ov[2 * c->group], len = ov[2 * c->group + 1] - start;
        const char *problem;
        SlValue text = sl_str(subject + start, len);
        if (!sl_convert(b, &text, c->type, &s->values[k], &problem))
            return snprintf(why, size, "capture '%s': '%.*s' %s %s", c->name,
                            (int)(len > 40 ? 40 : len), subject + start, problem,
                            sl_type_name(c->type)), false;
    }
    return true;
}

/* Parses one record (an SlRecordFn on the batch's scratch), leaving it
** unchanged when it fails, for the error output. */
static const char *parse_one(void *scratch, SlBatch *b, SlRecord *r, char *why, size_t size)
{
    Scratch *s = scratch;
    const ParseRegex *p = s->regex;
    const SlValue *v = sl_get(r, p->field);
    if (!v) return snprintf(why, size, "no field '%s'", p->field), why;
    if (v->type != SL_STRING)
        return snprintf(why, size, "field '%s' is %s, not a string", p->field,
                        sl_type_name(v->type)), why;
    if (!match(p, b, v, s, why, size)) return why;
    for (uint32_t k = 0; k < p->ncaptures; k++)
        if (s->set[k])
            *sl_map_set(b, &r->fields, s->names[k], p->captures[k].name_len) = s->values[k];
    return NULL;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    const ParseRegex *p = sl_state(ctx);
    Scratch s = scratch_for(p, b);
    sl_keep_valid(ctx, b, parse_one, &s);
    pcre2_match_data_free(s.md);
    sl_emit(ctx, b);
}

const SlComponentType sl_transform_parse_regex = {
    .name = "parse_regex",
    .kind = SL_TRANSFORM,
    .doc = "Parses a string field with a PCRE2 regular expression; named captures become fields.",
    .settings = settings,
    .flags = SL_PARALLEL,
    .init = init,
    .process = process,
    .destroy = destroy,
};
