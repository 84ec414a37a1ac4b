/*
** expr.c: parsing (recursive descent) and evaluation of conditions
** (expr.h). Literals are parsed once; evaluation allocates nothing.
*/
#include "expr.h"
#include "convert.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum Kind { LITERAL, FIELD, NOT, AND, OR, COMPARE } Kind;
typedef enum Op { EQ, NE, LT, LE, GT, GE } Op;

struct SlExpr {
    Kind kind;
    Op op;
    SlValue literal;
    char *text;                 /* a string literal's bytes, or a path */
    size_t *parts;              /* path: offsets of each part in text */
    size_t nparts;
    SlExpr *left, *right;
};

typedef struct Parser {
    const char *s;
    size_t i;
    char *error;
    size_t error_size;
    bool failed;
    int depth;
} Parser;

enum { MAX_DEPTH = 100 };

static void fail(Parser *p, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, p->error_size, fmt, ap);
    va_end(ap);
}

static SlExpr *node(Kind kind)
{
    SlExpr *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->kind = kind;
    return e;
}

static void skip_space(Parser *p)
{
    while (isspace((unsigned char)p->s[p->i])) p->i++;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Consumes `token` (a word must not run on into more word characters). */
static bool accept(Parser *p, const char *token)
{
    skip_space(p);
    size_t n = strlen(token);
    if (strncmp(p->s + p->i, token, n)) return false;
    if (is_word_char(token[0]) && is_word_char(p->s[p->i + n])) return false;
    p->i += n;
    return true;
}

static SlExpr *parse_or(Parser *p);

static SlExpr *parse_string(Parser *p)
{
    char quote = p->s[p->i++];
    size_t start = p->i;
    while (p->s[p->i] && p->s[p->i] != quote) p->i++;
    if (!p->s[p->i]) {
        fail(p, "unclosed string");
        return NULL;
    }
    SlExpr *e = node(LITERAL);
    e->text = strndup(p->s + start, p->i - start);
    if (!e->text) abort();
    e->literal = sl_str(e->text, p->i - start);
    p->i++;
    return e;
}

static SlExpr *parse_number(Parser *p)
{
    size_t start = p->i;
    if (p->s[p->i] == '-' || p->s[p->i] == '+') p->i++;
    while (isalnum((unsigned char)p->s[p->i]) || p->s[p->i] == '.' ||
           ((p->s[p->i] == '-' || p->s[p->i] == '+') && tolower((unsigned char)p->s[p->i - 1]) == 'e'))
        p->i++;
    SlExpr *e = node(LITERAL);
    const char *s = p->s + start;
    size_t len = p->i - start;
    if (sl_text_int(s, len, &e->literal.as.i)) e->literal.type = SL_INT;
    else if (sl_text_float(s, len, &e->literal.as.f)) e->literal.type = SL_FLOAT;
    else {
        p->i = start;
        fail(p, "bad number '%.*s'", (int)len, s);
    }
    return e;
}

static SlExpr *parse_path(Parser *p)
{
    SlExpr *e = node(FIELD);
    size_t start = p->i;
    for (;;) {
        if (!isalpha((unsigned char)p->s[p->i]) && p->s[p->i] != '_') {
            fail(p, "expected a field name");
            return e;
        }
        while (is_word_char(p->s[p->i])) p->i++;
        if (p->s[p->i] != '.') break;
        p->i++;
    }
    e->text = strndup(p->s + start, p->i - start);
    if (!e->text) abort();
    /* Split at the dots, in place. */
    e->parts = malloc((strlen(e->text) + 1) * sizeof *e->parts);
    if (!e->parts) abort();
    e->parts[e->nparts++] = 0;
    for (char *c = e->text; *c; c++)
        if (*c == '.') {
            *c = 0;
            e->parts[e->nparts++] = (size_t)(c + 1 - e->text);
        }
    return e;
}

static SlExpr *literal(SlValue v)
{
    SlExpr *e = node(LITERAL);
    e->literal = v;
    return e;
}

static SlExpr *parse_operand(Parser *p)
{
    skip_space(p);
    char c = p->s[p->i];
    if (accept(p, "(")) {
        if (++p->depth > MAX_DEPTH) {
            fail(p, "nested too deeply");
            return NULL;
        }
        SlExpr *e = parse_or(p);
        p->depth--;
        if (!accept(p, ")")) fail(p, "expected ')'");
        return e;
    }
    if (c == '"' || c == '\'') return parse_string(p);
    if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && isdigit((unsigned char)p->s[p->i + 1])))
        return parse_number(p);
    if (accept(p, "true")) return literal(sl_bool(true));
    if (accept(p, "false")) return literal(sl_bool(false));
    if (accept(p, "null")) return literal(sl_null());
    if (!c) {
        fail(p, "unexpected end of the condition");
        return NULL;
    }
    size_t at = p->i;
    if (accept(p, "and") || accept(p, "or") || accept(p, "not")) {
        int n = (int)(p->i - at);
        p->i = at;
        skip_space(p);
        fail(p, "expected a value, found '%.*s'", n, p->s + at);
        return NULL;
    }
    return parse_path(p);
}

static SlExpr *parse_compare(Parser *p)
{
    static const struct { const char *token; Op op; } ops[] = {
        { "==", EQ }, { "!=", NE }, { "<=", LE }, { ">=", GE }, { "<", LT }, { ">", GT },
    };
    SlExpr *left = parse_operand(p);
    if (p->failed) return left;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (!accept(p, ops[i].token)) continue;
        SlExpr *e = node(COMPARE);
        e->op = ops[i].op;
        e->left = left;
        e->right = parse_operand(p);
        return e;
    }
    return left;
}

static SlExpr *parse_not(Parser *p)
{
    skip_space(p);
    if ((p->s[p->i] == '!' && p->s[p->i + 1] != '=' && accept(p, "!")) || accept(p, "not")) {
        SlExpr *e = node(NOT);
        if (++p->depth > MAX_DEPTH) fail(p, "nested too deeply");
        else e->left = parse_not(p);
        p->depth--;
        return e;
    }
    return parse_compare(p);
}

static SlExpr *parse_binary(Parser *p, Kind kind, const char *word, const char *symbol,
                            SlExpr *(*next)(Parser *))
{
    SlExpr *left = next(p);
    while (!p->failed && (accept(p, word) || accept(p, symbol))) {
        SlExpr *e = node(kind);
        e->left = left;
        e->right = next(p);
        left = e;
    }
    return left;
}

static SlExpr *parse_and(Parser *p)
{
    return parse_binary(p, AND, "and", "&&", parse_not);
}

static SlExpr *parse_or(Parser *p)
{
    return parse_binary(p, OR, "or", "||", parse_and);
}

SlExpr *sl_expr_parse(const char *text, char *error, size_t error_size, size_t *offset)
{
    Parser p = { text, 0, error, error_size, false, 0 };
    SlExpr *e = parse_or(&p);
    skip_space(&p);
    if (!p.failed && text[p.i]) fail(&p, "unexpected '%s'", text + p.i);
    if (!p.failed) return e;
    *offset = p.i;
    sl_expr_free(e);
    return NULL;
}

void sl_expr_free(SlExpr *e)
{
    if (!e) return;
    sl_expr_free(e->left);
    sl_expr_free(e->right);
    free(e->text);
    free(e->parts);
    free(e);
}

/* ---- Evaluation ------------------------------------------------------ */

static SlValue lookup(const SlExpr *e, const SlRecord *r)
{
    const SlMap *map = &r->fields;
    for (size_t i = 0; i < e->nparts; i++) {
        const char *name = e->text + e->parts[i];
        const SlValue *v = sl_map_get(map, name, strlen(name));
        if (!v) break;
        if (i + 1 == e->nparts) return *v;
        if (v->type != SL_MAP) break;
        map = v->as.map;
    }
    return sl_null();
}

static SlValue operand(const SlExpr *e, const SlRecord *r)
{
    if (e->kind == FIELD) return lookup(e, r);
    if (e->kind == LITERAL) return e->literal;
    return sl_bool(sl_expr_true(e, r));
}

static bool numeric(const SlValue *v)
{
    return v->type == SL_INT || v->type == SL_FLOAT;
}

/* -1, 0, 1, or 2 when the two cannot be ordered. */
static int order(const SlValue *a, const SlValue *b)
{
    if (numeric(a) && numeric(b)) {
        if (a->type == SL_INT && b->type == SL_INT)
            return (a->as.i > b->as.i) - (a->as.i < b->as.i);
        double x = a->type == SL_INT ? (double)a->as.i : a->as.f;
        double y = b->type == SL_INT ? (double)b->as.i : b->as.f;
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    int64_t ns;
    if (a->type == SL_TIMESTAMP && b->type == SL_STRING && sl_parse_time(b->as.s, b->len, &ns))
        return (a->as.ns > ns) - (a->as.ns < ns);
    if (b->type == SL_TIMESTAMP && a->type == SL_STRING && sl_parse_time(a->as.s, a->len, &ns))
        return (ns > b->as.ns) - (ns < b->as.ns);
    if (a->type != b->type) return 2;
    switch ((SlType)a->type) {
    case SL_NULL: return 0;
    case SL_BOOL: return a->as.b == b->as.b ? 0 : 2;
    case SL_TIMESTAMP: return (a->as.ns > b->as.ns) - (a->as.ns < b->as.ns);
    case SL_STRING: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->as.s, b->as.s, n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return (a->len > b->len) - (a->len < b->len);
    }
    default: return 2;
    }
}

static bool compare(const SlExpr *e, const SlRecord *r)
{
    SlValue a = operand(e->left, r), b = operand(e->right, r);
    int o = order(&a, &b);
    switch (e->op) {
    case EQ: return o == 0;
    case NE: return o != 0;
    case LT: return o == -1;
    case LE: return o == -1 || o == 0;
    case GT: return o == 1;
    case GE: return o == 1 || o == 0;
    }
    return false;
}

bool sl_expr_true(const SlExpr *e, const SlRecord *r)
{
    switch (e->kind) {
    case AND: return sl_expr_true(e->left, r) && sl_expr_true(e->right, r);
    case OR: return sl_expr_true(e->left, r) || sl_expr_true(e->right, r);
    case NOT: return !sl_expr_true(e->left, r);
    case COMPARE: return compare(e, r);
    default: {
        SlValue v = operand(e, r);
        return v.type == SL_BOOL && v.as.b;
    }
    }
}
