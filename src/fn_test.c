/*
** fn_test.c: `sluice fn test MODULE.wasm CASES.yaml`, table-driven tests of
** a function.
**
** The cases file is YAML: a list of cases, or a mapping with `cases` (the
** list) and an optional `config` shared by every case. A case is a mapping:
**
**   name       what the case is called in the report (default: "case N")
**   input      the input document
**   config     the configuration for this case (default: the shared one,
**              else {})
**   output     the expected output document, or
**   error      the expected failure: a kind (trap, error, limit, abi), or a
**              mapping with `kind` and/or `message` (a substring of the
**              message)
**   tolerance  how far numbers of the output may be from those expected
**              (default 0)
**
** Documents are written in YAML (mappings, lists, plain numbers, true,
** false, null, strings), or as a string holding JSON text: `input: '[1, 2]'`.
** Outputs are compared as JSON values, not as text: key order does not
** matter, and 1 equals 1.0.
**
** A function of ABI v2 gets its input as a binary batch: the input is then
** an object of equal-length arrays, and the output is compared as the
** pipeline would see it (fn_batch.c). Each case runs in a fresh instance,
** so that cases cannot influence each other. The report is one line per case, `ok NAME` or `FAIL NAME: expected
** ..., got ...`, then `N passed, M failed`.
*/
#include "commands.h"
#include "common/yamljson.h"
#include "fn_cli.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 200, SHOWN_CHARS = 200 };

static const char test_help[] =
    "usage: sluice fn test [OPTIONS] MODULE.wasm CASES.yaml\n"
    "\n"
    "Runs a Sluice function on each case of CASES.yaml, each in a fresh\n"
    "instance, and compares the result with the expected output or error.\n"
    "Prints `ok NAME` or `FAIL NAME: expected ..., got ...` per case, then\n"
    "`N passed, M failed`.\n"
    "\n"
    "CASES.yaml is a list of cases, or a mapping with `cases` (the list) and\n"
    "a `config` for all of them. Each case has:\n"
    "  name       its name in the report\n"
    "  input      the input document (YAML, or a string of JSON text)\n"
    "  config     its configuration (default: the shared one, else {})\n"
    "  output     the expected output (compared as JSON values: key order\n"
    "             does not matter, 1 equals 1.0), or\n"
    "  error      the expected failure: a kind (error, trap, limit, abi), or\n"
    "             a mapping with `kind` and/or `message` (a substring)\n"
    "  tolerance  allowed difference between expected and actual numbers\n"
    "Example:\n"
    "  - name: doubles\n"
    "    input: {value: 21}\n"
    "    output: {value: 42}\n"
    "  - name: rejects text\n"
    "    input: {value: \"x\"}\n"
    "    error: {kind: error, message: not a number}\n"
    "\n"
    "options:\n"
    "  --fuel N            stop each call after about N instructions\n"
    "  --timeout MS        stop each call after MS milliseconds (default:\n"
    "                      10000; 0: no limit)\n"
    "  --max-memory MIB    cap on the function's memory (default: 256)\n"
    "  --max-output BYTES  cap on an output document (default: 16 MiB)\n"
    "  --log-level LEVEL   the least level of the function's log lines shown\n"
    "                      (on standard error): debug (default), info, warn,\n"
    "                      error or none\n"
    "  --help              show this help\n"
    "\n"
    "exit status:\n"
    "  0  every case passed\n"
    "  1  some case failed\n"
    "  2  bad command line, or CASES.yaml cannot be read or is malformed\n"
    "     (reported as CASES.yaml:LINE: what)\n"
    "  3  the module cannot be loaded (sluice: fn NAME: abi: MESSAGE)\n";

typedef struct Case {
    char *name;
    json_t *input, *config, *output; /* output NULL when an error is expected */
    const char *error_kind;          /* NULL: any kind */
    char *error_message;             /* NULL: any message */
    double tolerance;
} Case;

typedef struct Suite {
    const char *path;
    yaml_document_t doc;
    json_t *config; /* shared by the cases that have none */
    Case *cases;
    size_t ncases;
    char problem[512]; /* "CASES.yaml:LINE: what" once something is wrong */
} Suite;

static int problem(Suite *s, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first problem found, at the line of node at; returns -1. */
static int problem(Suite *s, const yaml_node_t *at, const char *fmt, ...)
{
    if (s->problem[0]) return -1;
    int n = snprintf(s->problem, sizeof s->problem, "%s:%zu: ", s->path,
                     at->start_mark.line + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->problem + n, sizeof s->problem - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Documents ------------------------------------------------------------ */

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* A document: a YAML mapping or list, or a scalar holding JSON text. */
static json_t *document(Suite *s, yaml_node_t *node, const char *what)
{
    if (node->type != YAML_SCALAR_NODE) {
        YamlJsonError why;
        json_t *doc = yaml_to_json(&s->doc, node, MAX_DEPTH, &why);
        if (!doc && why.message[0] && !s->problem[0])
            snprintf(s->problem, sizeof s->problem, "%s:%zu: %s", s->path,
                     why.line, why.message);
        if (!doc) problem(s, node, "%s cannot be converted to JSON", what);
        return doc;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(scalar(node), node->data.scalar.length,
                             JSON_DECODE_ANY, &jerr);
    if (!doc)
        problem(s, node, "%s is not JSON (%s); write a YAML mapping or list, "
                "or JSON text such as '\"text\"'", what, jerr.text);
    return doc;
}

/* ---- Cases ---------------------------------------------------------------- */

static int read_error(Suite *s, Case *c, yaml_node_t *node)
{
    static const char *const kinds[] = { "trap", "error", "limit", "abi", NULL };
    yaml_node_t *kind = node, *message = NULL;
    if (node->type == YAML_MAPPING_NODE) {
        kind = NULL;
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&s->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&s->doc, p->value);
            bool is_kind = k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), "kind");
            bool is_msg = k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), "message");
            if ((!is_kind && !is_msg) || v->type != YAML_SCALAR_NODE)
                return problem(s, k, "error: wants `kind` and/or `message`, "
                               "each a string");
            *(is_kind ? &kind : &message) = v;
        }
    } else if (node->type != YAML_SCALAR_NODE) {
        return problem(s, node, "error: wants a kind or a mapping with `kind` "
                       "and/or `message`");
    }
    if (kind) {
        for (int i = 0; kinds[i]; i++)
            if (!strcmp(scalar(kind), kinds[i])) c->error_kind = kinds[i];
        if (!c->error_kind)
            return problem(s, kind, "unknown error kind '%s' (trap, error, "
                           "limit or abi)", scalar(kind));
    }
    if (message && !(c->error_message = strdup(scalar(message))))
        return problem(s, message, "out of memory");
    return 0;
}

static int read_tolerance(Suite *s, Case *c, yaml_node_t *node)
{
    char *end;
    if (node->type == YAML_SCALAR_NODE) {
        c->tolerance = strtod(scalar(node), &end);
        if (*scalar(node) && !*end && c->tolerance >= 0) return 0;
    }
    return problem(s, node, "tolerance: wants a number >= 0");
}

/* Takes one key of a case mapping. */
static int read_field(Suite *s, Case *c, yaml_node_t *key, yaml_node_t *value)
{
    const char *k = key->type == YAML_SCALAR_NODE ? scalar(key) : "";
    if (!strcmp(k, "name")) {
        if (value->type != YAML_SCALAR_NODE)
            return problem(s, value, "name: wants a string");
        free(c->name);
        return (c->name = strdup(scalar(value))) ? 0 : problem(s, key, "out of memory");
    }
    if (!strcmp(k, "input")) return (c->input = document(s, value, "input")) ? 0 : -1;
    if (!strcmp(k, "output")) return (c->output = document(s, value, "output")) ? 0 : -1;
    if (!strcmp(k, "config")) {
        c->config = document(s, value, "config");
        if (c->config && !json_is_object(c->config))
            return problem(s, value, "config: wants a mapping (a JSON object)");
        return c->config ? 0 : -1;
    }
    if (!strcmp(k, "error")) return read_error(s, c, value);
    if (!strcmp(k, "tolerance")) return read_tolerance(s, c, value);
    return problem(s, key, "unknown key '%s' in a case (name, input, config, "
                   "output, error, tolerance)", k);
}

static int read_case(Suite *s, Case *c, yaml_node_t *node, size_t number)
{
    if (node->type != YAML_MAPPING_NODE)
        return problem(s, node, "case %zu: wants a mapping with input and "
                       "output or error", number);
    char default_name[32];
    snprintf(default_name, sizeof default_name, "case %zu", number);
    if (!(c->name = strdup(default_name))) return problem(s, node, "out of memory");
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++)
        if (read_field(s, c, yaml_document_get_node(&s->doc, p->key),
                       yaml_document_get_node(&s->doc, p->value)))
            return -1;
    if (!c->input) return problem(s, node, "case '%s' has no input", c->name);
    bool wants_error = c->error_kind || c->error_message;
    if (!c->output == !wants_error)
        return problem(s, node, "case '%s' needs either output or error "
                       "(with kind and/or message)", c->name);
    return 0;
}

static int read_cases(Suite *s, yaml_node_t *list)
{
    if (list->type != YAML_SEQUENCE_NODE)
        return problem(s, list, "wants a list of cases");
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0) return problem(s, list, "no cases");
    s->cases = calloc(n, sizeof *s->cases);
    if (!s->cases) return problem(s, list, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s->ncases = i + 1;
        yaml_node_t *node = yaml_document_get_node(&s->doc,
                                                   list->data.sequence.items.start[i]);
        if (read_case(s, &s->cases[i], node, i + 1)) return -1;
    }
    return 0;
}

/* The top: a list of cases, or {config, cases}. */
static int read_suite(Suite *s, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) return read_cases(s, root);
    yaml_node_t *cases = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&s->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&s->doc, p->value);
        const char *key = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
        if (!strcmp(key, "cases")) {
            cases = v;
        } else if (!strcmp(key, "config")) {
            if (!(s->config = document(s, v, "config"))) return -1;
            if (!json_is_object(s->config))
                return problem(s, v, "config: wants a mapping (a JSON object)");
        } else {
            return problem(s, k, "unknown key '%s' (a cases file has `cases` "
                           "and an optional `config`)", key);
        }
    }
    if (!cases) return problem(s, root, "no `cases` list");
    return read_cases(s, cases);
}

static int parse_yaml(Suite *s, FILE *f)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(s->problem, sizeof s->problem, "%s: out of memory", s->path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, &s->doc)) {
        const yaml_mark_t *m = parser.problem ? &parser.problem_mark
                                              : &parser.context_mark;
        snprintf(s->problem, sizeof s->problem, "%s:%zu:%zu: malformed YAML: %s%s%s",
                 s->path, m->line + 1, m->column + 1,
                 parser.problem ? parser.problem : "error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        memset(&s->doc, 0, sizeof s->doc);
        rc = -1;
    } else if (!yaml_document_get_root_node(&s->doc)) {
        snprintf(s->problem, sizeof s->problem, "%s:1: no cases (empty file)",
                 s->path);
        rc = -1;
    }
    yaml_parser_delete(&parser);
    return rc;
}

static int load_suite(Suite *s, const char *path)
{
    *s = (Suite){ .path = path };
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(s->problem, sizeof s->problem, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = parse_yaml(s, f);
    fclose(f);
    if (rc == 0) rc = read_suite(s, yaml_document_get_root_node(&s->doc));
    return rc;
}

static void free_suite(Suite *s)
{
    for (size_t i = 0; i < s->ncases; i++) {
        Case *c = &s->cases[i];
        free(c->name);
        free(c->error_message);
        json_decref(c->input);
        json_decref(c->config);
        json_decref(c->output);
    }
    free(s->cases);
    json_decref(s->config);
    yaml_document_delete(&s->doc);
}

/* ---- Running and comparing ----------------------------------------------- */

/* JSON values are the same: numbers within tolerance (1 equals 1.0), key
   order ignored. */
static bool same_json(const json_t *want, const json_t *got, double tolerance)
{
    if (json_is_number(want) && json_is_number(got)) {
        if (json_is_integer(want) && json_is_integer(got))
            return json_integer_value(want) == json_integer_value(got);
        return fabs(json_number_value(want) - json_number_value(got)) <= tolerance;
    }
    if (json_typeof(want) != json_typeof(got)) return false;
    if (json_is_array(want)) {
        if (json_array_size(want) != json_array_size(got)) return false;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!same_json(json_array_get(want, i), json_array_get(got, i), tolerance))
                return false;
        return true;
    }
    if (json_is_object(want)) {
        const char *key;
        const json_t *value;
        if (json_object_size(want) != json_object_size(got)) return false;
        json_object_foreach((json_t *)want, key, value) {
            const json_t *other = json_object_get(got, key);
            if (!other || !same_json(value, other, tolerance)) return false;
        }
        return true;
    }
    return json_equal((json_t *)want, (json_t *)got);
}

/* Compact JSON text of a document (caller frees); NULL if out of memory. */
static char *dump(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* Prints the text, cut to SHOWN_CHARS. */
static void show(const char *text)
{
    size_t len = strlen(text);
    if (len > SHOWN_CHARS) printf("%.*s...", SHOWN_CHARS, text);
    else fputs(text, stdout);
}

static void show_error(const sfn_error *err)
{
    printf("%s: ", sfn_kind_name(err->kind));
    show(err->message);
}

static bool error_matches(const Case *c, const sfn_error *err)
{
    return (!c->error_kind || !strcmp(c->error_kind, sfn_kind_name(err->kind))) &&
           (!c->error_message || strstr(err->message, c->error_message));
}

static void show_expected(const Case *c)
{
    printf("expected ");
    if (c->output) {
        char *text = dump(c->output);
        show(text ? text : "?");
        free(text);
        return;
    }
    if (c->error_kind) printf("kind %s", c->error_kind);
    else printf("an error");
    if (c->error_message) printf(" with '%s' in the message", c->error_message);
}

/* Judges one result: the call failed (err) or gave output. */
static bool judge(const Case *c, const sfn_error *err, const uint8_t *out,
                  size_t out_len)
{
    json_t *got = NULL;
    json_error_t jerr;
    bool ok;
    if (err) {
        ok = !c->output && error_matches(c, err);
    } else {
        got = json_loadb((const char *)out, out_len, JSON_DECODE_ANY, &jerr);
        ok = c->output && got && same_json(c->output, got, c->tolerance);
    }
    if (ok) {
        printf("ok %s\n", c->name);
        json_decref(got);
        return true;
    }
    printf("FAIL %s: ", c->name);
    show_expected(c);
    printf(", got ");
    if (err) {
        show_error(err);
    } else if (!got) {
        printf("output that is not JSON (%s): %.*s", jerr.text,
               (int)(out_len < SHOWN_CHARS ? out_len : SHOWN_CHARS), (const char *)out);
    } else {
        char *text = dump(got);
        show(text ? text : "?");
        free(text);
    }
    putchar('\n');
    json_decref(got);
    return false;
}

static bool run_case(const sfn_module *module, const FnArgs *a,
                     const Suite *s, const Case *c)
{
    const json_t *config = c->config ? c->config : s->config;
    char *config_text = config ? dump(config) : NULL;
    char *input_text = dump(c->input);
    bool passed = false;
    if (!input_text || (config && !config_text)) {
        printf("FAIL %s: out of host memory\n", c->name);
    } else {
        sfn_options options = sfn_default_options();
        options.limits = a->limits;
        options.log = fn_log_filtered;
        options.log_user = (void *)&a->log_level;
        options.config = config_text;
        options.config_len = config_text ? strlen(config_text) : 0;
        sfn_error err;
        FnOutput out = { 0 };
        sfn_instance *inst = sfn_instance_new(module, &options, &err);
        int rc = inst ? fn_call(inst, input_text, strlen(input_text), &out, &err) : -1;
        if (rc == FN_BAD_INPUT)
            printf("FAIL %s: the input cannot be given to the function: %s\n", c->name,
                   err.message);
        else
            passed = judge(c, rc ? &err : NULL, out.data, out.len);
        free(out.owned);
        sfn_instance_free(inst);
    }
    free(config_text);
    free(input_text);
    return passed;
}

int cmd_fn_test(int argc, char **argv)
{
    FnArgs a;
    int status = fn_parse_args(argc, argv, test_help, false, 2, &a);
    if (status >= 0) return status;
    Suite suite;
    if (load_suite(&suite, a.positional[1])) {
        fprintf(stderr, "sluice: fn test: %s\n", suite.problem);
        free_suite(&suite);
        return FN_EXIT_USAGE;
    }
    sfn_error err;
    sfn_module *module = sfn_module_load_file(a.positional[0], &err);
    if (!module) {
        free_suite(&suite);
        return fn_report(&err);
    }
    size_t passed = 0;
    for (size_t i = 0; i < suite.ncases; i++) {
        passed += run_case(module, &a, &suite, &suite.cases[i]);
        fflush(stdout);
    }
    printf("%zu passed, %zu failed\n", passed, suite.ncases - passed);
    sfn_module_free(module);
    free_suite(&suite);
    return passed == suite.ncases ? 0 : FN_EXIT_FAILED;
}
