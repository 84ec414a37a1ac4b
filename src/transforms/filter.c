/*
** filter.c: the `filter` transform: keeps the records for which a
** condition holds (the language is in expr.h) and drops the others; or,
** with `rejected: errors`, sends the others to NAME.errors.
*/
#include "../pipeline/component.h"
#include "../pipeline/expr.h"

#include <stdlib.h>
#include <string.h>

static const char *const rejected_choices[] = { "drop", "errors", NULL };

static const SlSetting settings[] = {
    { .name = "condition", .type = SL_SET_STRING, .required = true,
      .doc = "Records for which this holds pass, e.g. temperature > 25 and sensor != \"s1\"." },
    { .name = "rejected", .type = SL_SET_STRING, .def = "drop", .choices = rejected_choices,
      .doc = "What becomes of the others: drop, or errors (to NAME.errors)." },
    { 0 },
};

typedef struct Filter {
    SlExpr *condition;
    bool to_errors;
} Filter;

static void destroy(void *state)
{
    Filter *f = state;
    sl_expr_free(f->condition);
    free(f);
}

static int init(SlCtx *ctx, const SlConf *conf)
{
    Filter *f = calloc(1, sizeof *f);
    if (!f) return -1;
    sl_set_state(ctx, f);
    const SlConf *condition = sl_conf_get(conf, "condition");
    char error[256];
    size_t offset = 0;
    f->condition = sl_expr_parse(condition->text, error, sizeof error, &offset);
    if (!f->condition) {
        /* Point at the very character when the condition is on one line. */
        SlConf at = *condition;
        if (!strchr(condition->text, '\n')) at.col += (int)offset + condition->quoted;
        sl_conf_error(ctx, &at, "bad condition: %s", error);
        return -1;
    }
    f->to_errors = !strcmp(sl_conf_str(conf, "rejected", "drop"), "errors");
    return 0;
}

static void process(SlCtx *ctx, SlBatch *b)
{
    const Filter *f = sl_state(ctx);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        if (sl_expr_true(f->condition, &b->records[i])) b->records[kept++] = b->records[i];
        else if (f->to_errors) sl_reject(ctx, b, i, "the condition does not hold");
    }
    b->count = kept;
    sl_emit(ctx, b);
}

const SlComponentType sl_transform_filter = {
    .name = "filter",
    .kind = SL_TRANSFORM,
    .doc = "Keeps the records for which a condition holds.",
    .settings = settings,
    .init = init,
    .process = process,
    .destroy = destroy,
};
