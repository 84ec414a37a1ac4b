/*
** spectest.c: `sluice wasm spectest SCRIPT.json` runs a WebAssembly spec-test
** script converted by wast2json (wabt 1.0.32) against libsluice-wasm, through
** its public API only.
**
** Every command of the script is one test: it passes, fails (a line naming
** the script's source line, what happened and what was expected) or is
** skipped (text-format modules, which a binary engine never sees). The last
** line is "N passed, M failed[, K skipped]"; the exit status is 0 iff nothing
** failed, 2 if the script itself cannot be read.
**
** All modules share one store, so registered instances can share functions,
** tables, memories and globals, as the linking tests require.
*/
#include "commands.h"
#include "spectest_values.h"

#include "sluice_wasm.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Turns an engine hang into one failed command instead of a killed run. */
#define CALL_TIMEOUT_NS 10000000000ull

/* The functions of the "spectest" host module; they print nothing. */
static const sw_valtype I32[] = { SW_I32 }, I64[] = { SW_I64 }, F32[] = { SW_F32 },
                        F64[] = { SW_F64 }, I32_F32[] = { SW_I32, SW_F32 },
                        F64_F64[] = { SW_F64, SW_F64 };

static const struct {
    const char *name;
    sw_functype type;
} spectest_prints[] = {
    { "print", { 0, 0, NULL, NULL } },
    { "print_i32", { 1, 0, I32, NULL } },
    { "print_i64", { 1, 0, I64, NULL } },
    { "print_f32", { 1, 0, F32, NULL } },
    { "print_f64", { 1, 0, F64, NULL } },
    { "print_i32_f32", { 2, 0, I32_F32, NULL } },
    { "print_f64_f64", { 2, 0, F64_F64, NULL } },
};

/* The print functions, 4 globals, a table and a memory. */
#define SPECTEST_EXPORTS (sizeof spectest_prints / sizeof spectest_prints[0] + 6)

/* A script name bound to an instance; NULL when its module failed. */
typedef struct Binding {
    sw_name name;
    sw_instance *inst;
} Binding;

typedef struct Bindings {
    Binding *at;
    size_t count, cap;
} Bindings;

typedef struct HostExport {
    sw_name name;
    sw_extern value;
} HostExport;

typedef struct Runner {
    const char *script; /* source file name, for messages */
    char *dir;          /* where the script's .wasm files are */
    long line;          /* of the command being run */
    const char *command;
    sw_store *store;
    sw_instance *current; /* NULL when the last module command failed */
    Bindings named;       /* module ids ("$M1") */
    Bindings registered;  /* names given by register commands */
    sw_module **modules;  /* all loaded; freed last, after the store */
    size_t nmodules, modules_cap;
    HostExport spectest[SPECTEST_EXPORTS];
    size_t nspectest;
    unsigned passed, failed, skipped;
} Runner;

/* The outcome of an invoke or get action. */
typedef struct Action {
    Text desc; /* printable form of the action, for messages */
    SpecValue *results;
    size_t nresults;
    sw_error err;
} Action;

/* ---- Small helpers ---------------------------------------------------- */

static void out_of_memory(void)
{
    fprintf(stderr, "sluice wasm spectest: out of memory\n");
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) out_of_memory();
    return p;
}

/* Makes room for one more item in a growing array. */
static void *grow(void *items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap) return items;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = realloc(items, n * size);
    if (!p) out_of_memory();
    *cap = n;
    return p;
}

static bool name_eq(sw_name a, sw_name b)
{
    return a.len == b.len && (a.len == 0 || !memcmp(a.ptr, b.ptr, a.len));
}

/* A JSON string as a name; it may hold NUL bytes (names.wast). */
static sw_name json_name(const json_t *json)
{
    return (sw_name){ json_string_value(json), json_string_length(json) };
}

/* The engine's answer is untrusted: make sure its message is a C string. */
static void seal(sw_error *err)
{
    err->message[sizeof err->message - 1] = '\0';
}

static void runner_error(sw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void runner_error(sw_error *err, const char *fmt, ...)
{
    va_list ap;
    *err = (sw_error){ .kind = SW_ERR_ARG };
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static void format_error(Text *t, const sw_error *err)
{
    switch (err->kind) {
    case SW_ERR_MALFORMED: text_add(t, "malformed at byte %zu: ", err->offset); break;
    case SW_ERR_INVALID: text_add(t, "invalid at byte %zu: ", err->offset); break;
    case SW_ERR_LINK: text_add(t, "link error: "); break;
    case SW_ERR_TRAP: text_add(t, "trap: "); break;
    case SW_ERR_EXIT: text_add(t, "exit %d: ", err->exit_code); break;
    case SW_ERR_NOMEM: text_add(t, "out of memory: "); break;
    case SW_ERR_ARG: text_add(t, "error: "); break;
    case SW_OK: text_add(t, "no error: "); break;
    }
    text_add(t, "%s", err->message);
}

/* ---- Reporting -------------------------------------------------------- */

static void pass(Runner *r)
{
    r->passed++;
}

static void print_line(const Runner *r, const char *label, const char *fmt, va_list ap)
{
    printf("%s:%ld: %s: ", r->script, r->line, label);
    vprintf(fmt, ap);
    printf("\n");
}

static void fail(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(Runner *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(r, r->command, fmt, ap);
    va_end(ap);
    r->failed++;
}

/* A difference worth seeing that does not fail the test. */
static void note(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(Runner *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(r, "note", fmt, ap);
    va_end(ap);
}

/* ---- The "spectest" host module ---------------------------------------- */

static int spectest_print(sw_caller *caller, void *user, const sw_slot *args,
                          sw_slot *results)
{
    (void)caller, (void)user, (void)args, (void)results;
    return 0;
}

/* Objects the engine failed to create are left out: importing them is then
   a link error, reported where it happens. */
static void add_spectest(Runner *r, const char *name, sw_externkind kind, void *object)
{
    if (!object) return;
    HostExport *e = &r->spectest[r->nspectest++];
    e->name = sw_name_of(name);
    e->value.kind = kind;
    switch (kind) {
    case SW_EXTERN_FUNC: e->value.of.func = object; break;
    case SW_EXTERN_TABLE: e->value.of.table = object; break;
    case SW_EXTERN_MEMORY: e->value.of.memory = object; break;
    case SW_EXTERN_GLOBAL: e->value.of.global = object; break;
    }
}

static sw_slot f32_slot(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static sw_slot f64_slot(double d)
{
    sw_slot bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static void create_spectest(Runner *r)
{
    sw_store *s = r->store;
    for (size_t i = 0; i < sizeof spectest_prints / sizeof spectest_prints[0]; i++)
        add_spectest(r, spectest_prints[i].name, SW_EXTERN_FUNC,
                     sw_func_new_host(s, &spectest_prints[i].type, spectest_print, NULL));
    add_spectest(r, "global_i32", SW_EXTERN_GLOBAL, sw_global_new(s, SW_I32, false, 666));
    add_spectest(r, "global_i64", SW_EXTERN_GLOBAL, sw_global_new(s, SW_I64, false, 666));
    add_spectest(r, "global_f32", SW_EXTERN_GLOBAL,
                 sw_global_new(s, SW_F32, false, f32_slot(666.6f)));
    add_spectest(r, "global_f64", SW_EXTERN_GLOBAL,
                 sw_global_new(s, SW_F64, false, f64_slot(666.6)));
    add_spectest(r, "table", SW_EXTERN_TABLE, sw_table_new(s, SW_FUNCREF, 10, 20, NULL));
    add_spectest(r, "memory", SW_EXTERN_MEMORY, sw_memory_new(s, 1, 2));
}

/* ---- Modules and names -------------------------------------------------- */

static void bind(Bindings *b, sw_name name, sw_instance *inst)
{
    b->at = grow(b->at, &b->cap, b->count, sizeof *b->at);
    b->at[b->count++] = (Binding){ name, inst };
}

/* The newest binding wins: scripts reuse names. */
static const Binding *lookup(const Bindings *b, sw_name name)
{
    for (size_t i = b->count; i-- > 0;)
        if (name_eq(b->at[i].name, name)) return &b->at[i];
    return NULL;
}

static bool resolve_import(const Runner *r, const sw_import_desc *desc, sw_extern *out)
{
    const Binding *b = lookup(&r->registered, desc->module);
    if (b) return b->inst && sw_instance_export(b->inst, desc->name, out);
    if (!name_eq(desc->module, SW_NAME("spectest"))) return false;
    for (size_t i = 0; i < r->nspectest; i++)
        if (name_eq(r->spectest[i].name, desc->name)) {
            *out = r->spectest[i].value;
            return true;
        }
    return false;
}

/* Imports that cannot be found are left out so the engine reports them. */
static sw_instance *instantiate(Runner *r, const sw_module *m, sw_error *err)
{
    size_t n = sw_module_import_count(m), found = 0;
    sw_import *imports = xcalloc(n, sizeof *imports);
    for (size_t i = 0; i < n; i++) {
        sw_import_desc desc = sw_module_import(m, i);
        if (resolve_import(r, &desc, &imports[found].value)) {
            imports[found].module = desc.module;
            imports[found].name = desc.name;
            found++;
        }
    }
    *err = (sw_error){ 0 };
    sw_instance *inst = sw_instantiate(r->store, m, imports, found, err);
    seal(err);
    free(imports);
    return inst;
}

static uint8_t *read_file(const char *path, size_t *len, sw_error *err)
{
    long size = -1;
    uint8_t *bytes = NULL;
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
        bytes = xcalloc((size_t)size, 1);
        *len = (size_t)size;
        if (fread(bytes, 1, *len, f) != *len) {
            free(bytes);
            bytes = NULL;
        }
    }
    if (!bytes) runner_error(err, "cannot read %s: %s", path, strerror(errno ? errno : EIO));
    if (f) fclose(f);
    return bytes;
}

/* Loads the command's .wasm file. Kept until the end: instances may use it. */
static sw_module *load_module(Runner *r, const json_t *cmd, sw_error *err)
{
    const char *file = json_string_value(json_object_get(cmd, "filename"));
    if (!file) {
        runner_error(err, "command has no module file");
        return NULL;
    }
    size_t path_len = strlen(r->dir) + strlen(file) + 2, len;
    char *path = xcalloc(path_len, 1);
    snprintf(path, path_len, "%s/%s", r->dir, file);
    uint8_t *bytes = read_file(path, &len, err);
    free(path);
    if (!bytes) return NULL;
    *err = (sw_error){ 0 };
    sw_module *m = sw_module_load(bytes, len, err);
    seal(err);
    free(bytes);
    if (m) {
        r->modules = grow(r->modules, &r->modules_cap, r->nmodules, sizeof *r->modules);
        r->modules[r->nmodules++] = m;
    }
    return m;
}

/* The instance a command refers to: by its "name", else the current one. */
static sw_instance *target(const Runner *r, const json_t *cmd, const char *key, sw_error *err)
{
    const json_t *name = json_object_get(cmd, key);
    if (!name) {
        if (!r->current) runner_error(err, "no module (the last module command failed)");
        return r->current;
    }
    const Binding *b = lookup(&r->named, json_name(name));
    if (!b) runner_error(err, "unknown module %s", json_string_value(name));
    else if (!b->inst) runner_error(err, "module %s failed to instantiate", json_string_value(name));
    return b ? b->inst : NULL;
}

/* ---- Actions ------------------------------------------------------------ */

static void describe_action(Action *a, const json_t *action, const char *kind)
{
    const json_t *module = json_object_get(action, "module");
    if (!strcmp(kind, "get")) text_add(&a->desc, "get ");
    if (json_is_string(module)) text_add(&a->desc, "%s.", json_string_value(module));
    text_add_name(&a->desc, json_name(json_object_get(action, "field")));
}

static int get_global(Action *a, const sw_instance *inst, sw_name field)
{
    sw_extern ext;
    if (!sw_instance_export(inst, field, &ext) || ext.kind != SW_EXTERN_GLOBAL || !ext.of.global) {
        runner_error(&a->err, "no exported global by that name");
        return -1;
    }
    const sw_global *g = ext.of.global;
    a->results = xcalloc(1, sizeof *a->results);
    a->results[0] = spec_value_of_slot(sw_global_type(g), sw_global_get(g));
    a->nresults = 1;
    return 0;
}

/* Parses the arguments and adds them to the description. */
static sw_value *parse_args(Action *a, const json_t *args, size_t *nargs)
{
    Text why = { 0 };
    *nargs = json_array_size(args);
    sw_value *values = xcalloc(*nargs, sizeof *values);
    text_add(&a->desc, "(");
    for (size_t i = 0; i < *nargs; i++) {
        SpecValue v;
        if (spec_value_parse(json_array_get(args, i), &v, &why) ||
            spec_value_to_arg(&v, &values[i], &why)) {
            runner_error(&a->err, "argument %zu: %s", i + 1, why.buf);
            text_add(&a->desc, "...)");
            free(values);
            return NULL;
        }
        text_add(&a->desc, "%s", i ? ", " : "");
        spec_value_format(&a->desc, &v);
    }
    text_add(&a->desc, ")");
    return values;
}

static int call_func(Action *a, sw_func *f, const sw_value *args, size_t nargs)
{
    const sw_functype *type = sw_func_type(f);
    if (!type) {
        runner_error(&a->err, "the engine gave no type for the function");
        return -1;
    }
    sw_value *results = xcalloc(type->nresults, sizeof *results);
    for (uint32_t i = 0; i < type->nresults; i++) results[i].type = type->results[i];
    int rc = sw_call(f, args, nargs, results, type->nresults, &a->err);
    seal(&a->err);
    if (rc == 0) {
        a->results = xcalloc(type->nresults, sizeof *a->results);
        a->nresults = type->nresults;
        for (uint32_t i = 0; i < type->nresults; i++) a->results[i] = spec_value_of(&results[i]);
    }
    free(results);
    return rc == 0 ? 0 : -1;
}

static int invoke(Action *a, const sw_instance *inst, sw_name field, const sw_value *args,
                  size_t nargs)
{
    sw_extern ext;
    if (!sw_instance_export(inst, field, &ext) || ext.kind != SW_EXTERN_FUNC || !ext.of.func) {
        runner_error(&a->err, "no exported function by that name");
        return -1;
    }
    return call_func(a, ext.of.func, args, nargs);
}

/* Runs an invoke or get action. Returns 0, or -1 with a->err filled. */
static int run_action(Runner *r, const json_t *action, Action *a)
{
    const char *kind = json_string_value(json_object_get(action, "type"));
    const json_t *field = json_object_get(action, "field");
    *a = (Action){ .err = { .kind = SW_OK } };
    if (!kind || !json_is_string(field) || (strcmp(kind, "invoke") && strcmp(kind, "get"))) {
        text_add(&a->desc, "action");
        runner_error(&a->err, "malformed action (needs type invoke or get, and a field)");
        return -1;
    }
    describe_action(a, action, kind);
    if (!strcmp(kind, "get")) {
        sw_instance *inst = target(r, action, "module", &a->err);
        return inst ? get_global(a, inst, json_name(field)) : -1;
    }
    size_t nargs;
    sw_value *args = parse_args(a, json_object_get(action, "args"), &nargs);
    if (!args) return -1;
    sw_instance *inst = target(r, action, "module", &a->err);
    int rc = inst ? invoke(a, inst, json_name(field), args, nargs) : -1;
    free(args);
    return rc;
}

static void free_action(Action *a)
{
    free(a->results);
    a->results = NULL;
}

/* ---- Commands ----------------------------------------------------------- */

static void run_module(Runner *r, const json_t *cmd)
{
    sw_error err;
    Text why = { 0 };
    sw_module *m = load_module(r, cmd, &err);
    sw_instance *inst = m ? instantiate(r, m, &err) : NULL;
    const json_t *name = json_object_get(cmd, "name");
    if (json_is_string(name)) bind(&r->named, json_name(name), inst);
    r->current = inst;
    if (inst) {
        pass(r);
    } else {
        format_error(&why, &err);
        fail(r, "%s: %s", m ? "instantiation failed" : "load failed", why.buf);
    }
}

static void run_register(Runner *r, const json_t *cmd)
{
    sw_error err;
    const json_t *as = json_object_get(cmd, "as");
    sw_instance *inst = target(r, cmd, "name", &err);
    if (!json_is_string(as)) {
        fail(r, "register without an \"as\" name");
    } else if (!inst) {
        fail(r, "%s", err.message);
    } else {
        bind(&r->registered, json_name(as), inst);
        pass(r);
    }
}

static void run_plain_action(Runner *r, const json_t *cmd)
{
    Action a;
    Text why = { 0 };
    if (run_action(r, json_object_get(cmd, "action"), &a) == 0) {
        pass(r);
    } else {
        format_error(&why, &a.err);
        fail(r, "%s failed: %s", a.desc.buf, why.buf);
    }
    free_action(&a);
}

static int parse_expected(const json_t *json, SpecValue **out, size_t *n, Text *why)
{
    *n = json_array_size(json);
    *out = xcalloc(*n, sizeof **out);
    for (size_t i = 0; i < *n; i++)
        if (spec_value_parse(json_array_get(json, i), &(*out)[i], why)) return -1;
    return 0;
}

static bool results_match(const SpecValue *expected, size_t nexpected, const Action *a)
{
    if (nexpected != a->nresults) return false;
    for (size_t i = 0; i < nexpected; i++)
        if (!spec_value_matches(&expected[i], &a->results[i])) return false;
    return true;
}

static void run_assert_return(Runner *r, const json_t *cmd)
{
    SpecValue *expected;
    size_t nexpected;
    Action a;
    Text why = { 0 }, want = { 0 };
    if (parse_expected(json_object_get(cmd, "expected"), &expected, &nexpected, &why)) {
        fail(r, "bad expected value: %s", why.buf);
        free(expected);
        return;
    }
    spec_values_format(&want, expected, nexpected);
    if (run_action(r, json_object_get(cmd, "action"), &a)) {
        format_error(&why, &a.err);
        fail(r, "%s failed with %s, expected %s", a.desc.buf, why.buf, want.buf);
    } else if (!results_match(expected, nexpected, &a)) {
        spec_values_format(&why, a.results, a.nresults);
        fail(r, "%s returned %s, expected %s", a.desc.buf, why.buf, want.buf);
    } else {
        pass(r);
    }
    free_action(&a);
    free(expected);
}

/* Spec runners accept a message that starts with the expected text. */
static bool trap_text_matches(const sw_error *err, const char *text)
{
    const char *name = sw_trap_message(err->trap);
    size_t n = strlen(text);
    return !strncmp(err->message, text, n) || (name && !strncmp(name, text, n));
}

/* Judges the error of something that should have trapped. */
static void expect_trap(Runner *r, const char *what, const sw_error *err, const char *text)
{
    Text why = { 0 };
    format_error(&why, err);
    if (err->kind != SW_ERR_TRAP) {
        fail(r, "%s failed with %s, expected trap \"%s\"", what, why.buf, text);
        return;
    }
    if (!trap_text_matches(err, text))
        note(r, "%s trapped with \"%s\", expected \"%s\"", what, err->message, text);
    pass(r);
}

static void trap_module(Runner *r, const json_t *cmd, const char *text)
{
    sw_error err;
    Text why = { 0 };
    sw_module *m = load_module(r, cmd, &err);
    if (!m) {
        format_error(&why, &err);
        fail(r, "load failed: %s", why.buf);
    } else if (instantiate(r, m, &err)) {
        fail(r, "module instantiated, expected trap \"%s\"", text);
    } else {
        expect_trap(r, "instantiation", &err, text);
    }
}

static void trap_action(Runner *r, const json_t *cmd, const char *text)
{
    Action a;
    Text got = { 0 };
    if (run_action(r, json_object_get(cmd, "action"), &a) == 0) {
        spec_values_format(&got, a.results, a.nresults);
        fail(r, "%s returned %s, expected trap \"%s\"", a.desc.buf, got.buf, text);
    } else {
        expect_trap(r, a.desc.buf, &a.err, text);
    }
    free_action(&a);
}

static const char *expected_text(const json_t *cmd)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    return text ? text : "";
}

/* assert_trap on an action, or on a module's instantiation (start function,
   segment initialisation): assert_uninstantiable uses the same check. */
static void run_assert_trap(Runner *r, const json_t *cmd)
{
    if (json_object_get(cmd, "action")) trap_action(r, cmd, expected_text(cmd));
    else trap_module(r, cmd, expected_text(cmd));
}

static void run_assert_exhaustion(Runner *r, const json_t *cmd)
{
    Action a;
    Text got = { 0 };
    if (run_action(r, json_object_get(cmd, "action"), &a) == 0) {
        spec_values_format(&got, a.results, a.nresults);
        fail(r, "%s returned %s, expected stack exhaustion", a.desc.buf, got.buf);
    } else if (a.err.kind != SW_ERR_TRAP || a.err.trap != SW_TRAP_STACK_EXHAUSTED) {
        format_error(&got, &a.err);
        fail(r, "%s failed with %s, expected stack exhaustion", a.desc.buf, got.buf);
    } else {
        pass(r);
    }
    free_action(&a);
}

/* assert_invalid and assert_malformed: the module must not load. A load
   error of the other of the two kinds passes with a note. */
static void expect_load_error(Runner *r, const json_t *cmd, sw_errkind want)
{
    sw_error err;
    Text why = { 0 };
    const char *what = want == SW_ERR_INVALID ? "invalid" : "malformed";
    if (load_module(r, cmd, &err)) {
        fail(r, "module loaded, expected %s: \"%s\"", what, expected_text(cmd));
        return;
    }
    format_error(&why, &err);
    if (err.kind != SW_ERR_INVALID && err.kind != SW_ERR_MALFORMED) {
        fail(r, "load failed with %s, expected %s: \"%s\"", why.buf, what,
             expected_text(cmd));
        return;
    }
    if (err.kind != want)
        note(r, "%s, expected %s: \"%s\"", why.buf, what, expected_text(cmd));
    pass(r);
}

static void run_assert_invalid(Runner *r, const json_t *cmd)
{
    expect_load_error(r, cmd, SW_ERR_INVALID);
}

static void run_assert_malformed(Runner *r, const json_t *cmd)
{
    expect_load_error(r, cmd, SW_ERR_MALFORMED);
}

static void run_assert_unlinkable(Runner *r, const json_t *cmd)
{
    sw_error err;
    Text why = { 0 };
    const char *text = expected_text(cmd);
    sw_module *m = load_module(r, cmd, &err);
    if (m && instantiate(r, m, &err)) {
        fail(r, "module instantiated, expected link error \"%s\"", text);
    } else if (m && err.kind == SW_ERR_LINK) {
        pass(r);
    } else {
        format_error(&why, &err);
        fail(r, "%s failed with %s, expected link error \"%s\"",
             m ? "instantiation" : "load", why.buf, text);
    }
}

static const struct {
    const char *type;
    void (*run)(Runner *r, const json_t *cmd);
} command_types[] = {
    { "module", run_module },
    { "register", run_register },
    { "action", run_plain_action },
    { "assert_return", run_assert_return },
    { "assert_trap", run_assert_trap },
    { "assert_uninstantiable", run_assert_trap },
    { "assert_exhaustion", run_assert_exhaustion },
    { "assert_invalid", run_assert_invalid },
    { "assert_malformed", run_assert_malformed },
    { "assert_unlinkable", run_assert_unlinkable },
};

static void run_command(Runner *r, const json_t *cmd)
{
    const char *type = json_string_value(json_object_get(cmd, "type"));
    const char *module_type = json_string_value(json_object_get(cmd, "module_type"));
    r->line = (long)json_integer_value(json_object_get(cmd, "line"));
    r->command = type ? type : "command";
    if (module_type && !strcmp(module_type, "text")) {
        r->skipped++;
        return;
    }
    for (size_t i = 0; type && i < sizeof command_types / sizeof command_types[0]; i++)
        if (!strcmp(type, command_types[i].type)) {
            command_types[i].run(r, cmd);
            return;
        }
    fail(r, "unknown command type");
}

/* ---- The command ---------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static char *dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    char *dir = xcalloc(len + 1, 1);
    memcpy(dir, slash ? path : ".", len);
    return dir;
}

static int runner_init(Runner *r, const char *script_path, const json_t *root)
{
    const char *source = json_string_value(json_object_get(root, "source_filename"));
    sw_limits limits = { .timeout_ns = CALL_TIMEOUT_NS };
    *r = (Runner){ .script = base_name(source ? source : script_path) };
    r->store = sw_store_new(&limits);
    if (!r->store) return -1;
    r->dir = dir_name(script_path);
    create_spectest(r);
    return 0;
}

static void runner_free(Runner *r)
{
    sw_store_free(r->store);
    for (size_t i = 0; i < r->nmodules; i++) sw_module_free(r->modules[i]);
    free(r->modules);
    free(r->named.at);
    free(r->registered.at);
    free(r->dir);
}

static int run_script(const char *path, const json_t *root)
{
    const json_t *commands = json_object_get(root, "commands");
    Runner r;
    if (!json_is_array(commands)) {
        fprintf(stderr, "sluice wasm spectest: %s: no \"commands\" array\n", path);
        return 2;
    }
    if (runner_init(&r, path, root)) {
        fprintf(stderr, "sluice wasm spectest: cannot create a store\n");
        return 2;
    }
    for (size_t i = 0; i < json_array_size(commands); i++)
        run_command(&r, json_array_get(commands, i));
    printf("%u passed, %u failed", r.passed, r.failed);
    if (r.skipped) printf(", %u skipped", r.skipped);
    printf("\n");
    runner_free(&r);
    return r.failed ? 1 : 0;
}

int cmd_wasm_spectest(int argc, char **argv)
{
    json_error_t jerr;
    if (argc != 2) {
        fprintf(stderr, "usage: sluice wasm spectest SCRIPT.json\n");
        return 2;
    }
    json_t *root = json_load_file(argv[1], JSON_ALLOW_NUL, &jerr);
    if (!root && jerr.line < 0) { /* not a syntax error: jansson names the file */
        fprintf(stderr, "sluice wasm spectest: %s\n", jerr.text);
        return 2;
    }
    if (!root) {
        fprintf(stderr, "sluice wasm spectest: %s:%d:%d: %s\n", argv[1], jerr.line,
                jerr.column, jerr.text);
        return 2;
    }
    /* Line-buffered, so the failures before an engine crash are not lost. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    int status = run_script(argv[1], root);
    json_decref(root);
    return status;
}
