/*
** graph.c: from a pipeline file to a checked graph of component instances.
** Every problem is reported (not just the first): unknown sections and
** keys, wrong types, unknown component types, components under the wrong
** section, missing or unknown inputs, cycles, outputs that feed nothing,
** and whatever the components' own init finds.
*/
#include "ack.h"
#include "diskbuffer.h"
#include "internal.h"

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const common_keys[] = { "type", "inputs", NULL };
static const char *const sink_keys[] = { "type", "inputs", "buffer", NULL };

static const struct {
    const char *key;
    SlKind kind;
} sections[] = {
    { "sources", SL_SOURCE }, { "transforms", SL_TRANSFORM }, { "sinks", SL_SINK },
};

static const char *kind_name(SlKind k)
{
    return k == SL_SOURCE ? "source" : k == SL_TRANSFORM ? "transform" : "sink";
}

static SlCtx *find_node(const SlPipeline *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->count; i++)
        if (strlen(p->nodes[i]->name) == len && !memcmp(p->nodes[i]->name, name, len))
            return p->nodes[i];
    return NULL;
}

static bool valid_name(const char *name)
{
    if (!*name) return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') return false;
    return true;
}

/* ---- Components ------------------------------------------------------ */

static bool check_inputs_shape(const SlConf *member, SlKind kind, SlDiag *d)
{
    const SlConf *inputs = sl_conf_get(member, "inputs");
    if (kind == SL_SOURCE) {
        if (!inputs) return true;
        sl_diag_at(d, inputs, true, "a source takes no 'inputs'");
        return false;
    }
    if (!inputs) {
        sl_diag_at(d, member, true, "'%s' has no 'inputs': a %s needs at least one",
                   member->key, kind_name(kind));
        return false;
    }
    if (inputs->kind != SL_CONF_SEQ || inputs->count == 0) {
        sl_diag_at(d, inputs, false, "'inputs' must be a non-empty list of component names");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < inputs->count; i++) {
        if (inputs->items[i]->kind != SL_CONF_SCALAR) {
            sl_diag_at(d, inputs->items[i], false, "an input must be a component name");
            ok = false;
        }
    }
    return ok;
}

static const SlComponentType *check_type(const SlConf *member, SlKind kind, SlDiag *d)
{
    const SlConf *type = sl_conf_get(member, "type");
    if (!type) {
        sl_diag_at(d, member, true, "'%s' has no 'type'", member->key);
        return NULL;
    }
    if (type->kind != SL_CONF_SCALAR) {
        sl_diag_at(d, type, false, "'type' must be a component type name");
        return NULL;
    }
    const SlComponentType *t = sl_component_find(type->text, kind);
    if (t) return t;
    for (SlKind other = SL_SOURCE; other <= SL_SINK; other++) {
        if (other != kind && sl_component_find(type->text, other)) {
            sl_diag_at(d, type, false, "'%s' is a %s, not a %s: move it under '%ss'",
                       type->text, kind_name(other), kind_name(kind), kind_name(other));
            return NULL;
        }
    }
    char known[1024] = "";
    for (const SlComponentType *const *c = sl_component_all(); *c; c++) {
        if ((*c)->kind != kind) continue;
        strncat(known, *known ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, (*c)->name, sizeof known - strlen(known) - 1);
    }
    sl_diag_at(d, type, false, "unknown %s type '%s' (known: %s)", kind_name(kind),
               type->text, known);
    return NULL;
}

/* A sink's `buffer` (diskbuffer.h); returns the number of problems. */
static int add_buffer(SlCtx *ctx, const SlConf *node, SlDiag *d)
{
    if (!node || sl_scalar_null(node)) return 0;
    int problems = sl_schema_check(sl_buffer_setting.fields, node, NULL, d);
    if (!problems) ctx->buffer = sl_diskbuffer_new(ctx, node, d);
    return problems || !ctx->buffer;
}

static void add_node(SlPipeline *p, const SlConf *member, SlKind kind, SlDiag *d)
{
    if (!valid_name(member->key))
        sl_diag_at(d, member, true, "bad component name '%s': use letters, digits, '_' and '-'",
                   member->key);
    else if (find_node(p, member->key, strlen(member->key)))
        sl_diag_at(d, member, true, "a component named '%s' already exists", member->key);
    SlCtx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) abort();
    ctx->pipeline = p;
    ctx->name = strdup(member->key);
    ctx->kind = kind;
    ctx->conf = member;
    p->nodes = realloc(p->nodes, (p->count + 1) * sizeof *p->nodes);
    if (!p->nodes) abort();
    p->nodes[p->count++] = ctx;
    if (member->kind != SL_CONF_MAP) {
        sl_diag_at(d, member, false, "component '%s' must be a map with a 'type'", member->key);
        return;
    }
    bool inputs_ok = check_inputs_shape(member, kind, d);
    const SlComponentType *t = check_type(member, kind, d);
    const char *const *skip = kind == SL_SINK ? sink_keys : common_keys;
    int problems = t ? sl_schema_check(t->settings, member, skip, d) : 1;
    if (kind == SL_SINK) problems += add_buffer(ctx, sl_conf_get(member, "buffer"), d);
    if (t && !problems && inputs_ok) ctx->type = t;
}

static void add_section(SlPipeline *p, const SlConf *section, SlKind kind, SlDiag *d)
{
    if (section->kind != SL_CONF_MAP) {
        if (!sl_scalar_null(section))
            sl_diag_at(d, section, false, "'%s' must be a map of named components", section->key);
        return;
    }
    for (size_t i = 0; i < section->count; i++) add_node(p, section->items[i], kind, d);
}

static void add_sections(SlPipeline *p, SlDiag *d)
{
    bool have[3] = { false, false, false };
    for (size_t i = 0; i < p->root->count; i++) {
        const SlConf *member = p->root->items[i];
        size_t s = 0;
        while (s < 3 && strcmp(sections[s].key, member->key)) s++;
        if (s == 3) {
            sl_diag_at(d, member, true, "unknown key '%s' (expected sources, transforms, sinks)",
                       member->key);
            continue;
        }
        have[s] = member->kind == SL_CONF_MAP && member->count > 0;
        add_section(p, member, sections[s].kind, d);
    }
    if (!have[0]) sl_diag_at(d, p->root, false, "the pipeline has no sources");
    if (!have[2]) sl_diag_at(d, p->root, false, "the pipeline has no sinks");
}

/* ---- Edges ----------------------------------------------------------- */

static void add_consumer(SlCtx *from, int port, SlCtx *to)
{
    SlCtx ***list = &from->consumers[port];
    *list = realloc(*list, (from->nconsumers[port] + 1) * sizeof **list);
    if (!*list) abort();
    (*list)[from->nconsumers[port]++] = to;
}

static void resolve_input(SlPipeline *p, SlCtx *ctx, const SlConf *item, SlDiag *d)
{
    const char *name = item->text;
    size_t len = strlen(name);
    int port = PORT_MAIN;
    SlCtx *from = find_node(p, name, len);
    if (!from && len > 7 && !strcmp(name + len - 7, ".errors")) {
        from = find_node(p, name, len - 7);
        port = PORT_ERRORS;
    }
    if (!from) {
        sl_diag_at(d, item, false, "unknown input '%s': no component has that name", name);
        return;
    }
    if (port == PORT_MAIN && from->kind == SL_SINK) {
        sl_diag_at(d, item, false, "'%s' is a sink: it has no output to read", name);
        return;
    }
    for (size_t i = 0; i < ctx->ninputs; i++) {
        if (ctx->inputs[i].from == from && ctx->inputs[i].port == port) {
            sl_diag_at(d, item, false, "input '%s' is listed twice", name);
            return;
        }
    }
    ctx->inputs = realloc(ctx->inputs, (ctx->ninputs + 1) * sizeof *ctx->inputs);
    if (!ctx->inputs) abort();
    ctx->inputs[ctx->ninputs++] = (Input){ from, port, item };
    add_consumer(from, port, ctx);
}

static void resolve_inputs(SlPipeline *p, SlDiag *d)
{
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        const SlConf *inputs = sl_conf_get(ctx->conf, "inputs");
        if (!inputs || inputs->kind != SL_CONF_SEQ) continue;
        for (size_t k = 0; k < inputs->count; k++)
            if (inputs->items[k]->kind == SL_CONF_SCALAR)
                resolve_input(p, ctx, inputs->items[k], d);
    }
}

/* ---- Cycles and order ------------------------------------------------ */

enum { WHITE, GREY, BLACK };

typedef struct Walk {
    SlPipeline *p;
    int *color;
    SlCtx **path;
    size_t depth;
    SlDiag *d;
} Walk;

static size_t index_of(const SlPipeline *p, const SlCtx *ctx)
{
    size_t i = 0;
    while (p->nodes[i] != ctx) i++;
    return i;
}

/* The walk goes from consumers to their inputs; print the cycle the way
** the data flows, from the input that closes it. */
static void report_cycle(Walk *w, const Input *back)
{
    char text[1024] = "";
    size_t start = 0;
    while (w->path[start] != back->from) start++;
    strncat(text, back->from->name, sizeof text - strlen(text) - 1);
    for (size_t i = w->depth; i-- > start;) {
        strncat(text, " -> ", sizeof text - strlen(text) - 1);
        strncat(text, w->path[i]->name, sizeof text - strlen(text) - 1);
    }
    sl_diag_at(w->d, back->at, false, "cycle: %s", text);
}

/* Depth-first along inputs (from a consumer to what it reads). */
static bool visit(Walk *w, SlCtx *ctx)
{
    size_t i = index_of(w->p, ctx);
    w->color[i] = GREY;
    w->path[w->depth++] = ctx;
    bool ok = true;
    for (size_t k = 0; k < ctx->ninputs && ok; k++) {
        const Input *in = &ctx->inputs[k];
        int c = w->color[index_of(w->p, in->from)];
        if (c == GREY) {
            report_cycle(w, in);
            ok = false;
        } else if (c == WHITE) {
            ok = visit(w, in->from);
        }
    }
    w->depth--;
    w->color[i] = BLACK;
    return ok;
}

static bool check_cycles(SlPipeline *p, SlDiag *d)
{
    Walk w = { p, calloc(p->count, sizeof(int)), calloc(p->count, sizeof(SlCtx *)), 0, d };
    if (!w.color || !w.path) abort();
    bool ok = true;
    for (size_t i = 0; i < p->count && ok; i++)
        if (w.color[i] == WHITE) ok = visit(&w, p->nodes[i]);
    free(w.color);
    free(w.path);
    return ok;
}

/* Kahn's algorithm: sources first, sinks last. */
static void sort_topologically(SlPipeline *p)
{
    SlCtx **sorted = malloc(p->count * sizeof *sorted);
    size_t *waiting = malloc(p->count * sizeof *waiting);
    if (!sorted || !waiting) abort();
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++) {
        waiting[i] = p->nodes[i]->ninputs;
        if (!waiting[i]) sorted[n++] = p->nodes[i];
    }
    for (size_t done = 0; done < n; done++) {
        SlCtx *ctx = sorted[done];
        for (int port = 0; port < PORTS; port++)
            for (size_t k = 0; k < ctx->nconsumers[port]; k++) {
                size_t j = index_of(p, ctx->consumers[port][k]);
                if (--waiting[j] == 0) sorted[n++] = p->nodes[j];
            }
    }
    free(waiting);
    for (size_t i = 0; i < n; i++) sorted[i]->order = i;
    free(p->nodes);
    p->nodes = sorted;
}

static void check_outputs_used(SlPipeline *p, SlDiag *d)
{
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (ctx->kind != SL_SINK && !ctx->nconsumers[PORT_MAIN])
            sl_diag_at(d, ctx->conf, true, "nothing reads from '%s': list it in the "
                       "'inputs' of a transform or sink", ctx->name);
    }
}

/* ---- Instances ------------------------------------------------------- */

void sl_conf_error(SlCtx *ctx, const SlConf *node, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->diag)
        sl_diag_at(ctx->diag, node, false, "%s: %s", ctx->name, msg);
    else
        sl_log(ctx, "%s", msg);
}

static void init_nodes(SlPipeline *p, SlDiag *d)
{
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (!ctx->type) continue;
        ctx->diag = d;
        size_t before = d->count;
        if (ctx->type->init(ctx, ctx->conf) == 0)
            ctx->initialized = true;
        else if (d->count == before)
            sl_diag_at(d, ctx->conf, true, "%s: cannot be set up", ctx->name);
        if (!ctx->initialized && ctx->type->destroy && ctx->state) {
            ctx->type->destroy(ctx->state);
            ctx->state = NULL;
        }
        ctx->diag = NULL;
    }
}

static SlPipeline *pipeline_new(SlConf *root, const char *path)
{
    SlPipeline *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->root = root;
    char *copy = strdup(path);
    if (!copy) abort();
    p->dir = strdup(dirname(copy));
    free(copy);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_mutex_init(&p->tap_lock, NULL);
    return p;
}

SlPipeline *sl_pipeline_load(const char *path, SlDiag *d)
{
    SlConf *root = sl_conf_load(path, d);
    if (!root) return NULL;
    SlPipeline *p = pipeline_new(root, path);
    if (root->kind != SL_CONF_MAP) {
        sl_diag_at(d, root, false, "a pipeline is a map with sources, transforms and sinks");
        sl_pipeline_free(p);
        return NULL;
    }
    add_sections(p, d);
    resolve_inputs(p, d);
    if (check_cycles(p, d)) {
        sort_topologically(p);
        check_outputs_used(p, d);
    }
    init_nodes(p, d);
    if (d->count) {
        sl_pipeline_free(p);
        return NULL;
    }
    return p;
}

bool sl_pipeline_finite(const SlPipeline *p)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->nodes[i]->kind == SL_SOURCE && !p->nodes[i]->finite) return false;
    return true;
}

size_t sl_pipeline_count(const SlPipeline *p)
{
    return p->count;
}

static void node_free(SlCtx *ctx)
{
    sl_diskbuffer_free(ctx->buffer);    /* its feeder calls the sink */
    if (ctx->initialized && ctx->type->destroy) ctx->type->destroy(ctx->state);
    for (SlBatch *b; (b = sl_queue_pop(&ctx->queue));) {
        sl_ack_abandon(b->ack);     /* never written */
        sl_batch_free(b);
    }
    free(ctx->queue.items);
    for (size_t i = 0; i < ctx->npaths; i++) free(ctx->paths[i]);
    free(ctx->paths);
    free(ctx->inputs);
    for (int port = 0; port < PORTS; port++) free(ctx->consumers[port]);
    free(ctx->name);
    free(ctx);
}

void sl_pipeline_free(SlPipeline *p)
{
    if (!p) return;
    /* Sinks first: the batches they still hold tell their sources
    ** (ack.h) while the sources can still hear it. */
    for (size_t i = p->count; i-- > 0;) node_free(p->nodes[i]);
    free(p->nodes);
    sl_conf_free(p->root);
    free(p->dir);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_mutex_destroy(&p->tap_lock);
    free(p);
}
