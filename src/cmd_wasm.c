/*
** cmd_wasm.c: `sluice wasm run` and `sluice wasm invoke`.
**
** run     loads a WASI command module, grants it what the command line
**         allows (arguments, --env variables, --dir directories, the
**         standard streams) and calls its _start.
** invoke  calls one exported function with arguments parsed from the
**         command line by the function's parameter types, and prints each
**         result on its own line. WASI imports are available with the same
**         sandbox as run (no directories, no environment).
**
** Both use only the public headers, sluice_wasm.h and sluice_wasi.h.
** Failures are reported as `sluice: MODULE: message` on standard error, and
** the exit status says what kind of failure it was (see EXIT_* below, and
** --help).
*/
#include "cli.h"
#include "commands.h"
#include "sluice_wasi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    EXIT_HOST_ERROR = 1, /* unreadable, malformed, invalid or unlinkable */
    /* 2 is CLI_EXIT_USAGE, a bad command line */
    EXIT_TRAP = 134      /* as a crash (SIGABRT) would: never a guest status */
};

/* Large enough for real programs, small enough that a runaway memory.grow
   loop is refused long before it threatens the host. */
enum { DEFAULT_MAX_MEMORY_MIB = 1024, PAGES_PER_MIB = 16 };

static const char run_help[] =
    "usage: sluice wasm run [OPTIONS] MODULE.wasm [ARGS...]\n"
    "\n"
    "Runs a WASI (preview 1) command module, such as a C program built with\n"
    "clang --target=wasm32-wasi, by calling its _start. The guest gets ARGS\n"
    "(argv[0] is MODULE.wasm), the --env variables and the standard streams;\n"
    "it sees no other environment variable and no file outside the --dir\n"
    "directories.\n"
    "\n"
    "options:\n"
    "  --dir HOST[:GUEST]  grant the host directory HOST, which the guest sees\n"
    "                      as GUEST (default: HOST); repeatable\n"
    "  --env NAME=VALUE    set an environment variable; repeatable\n"
    "  --fuel N            stop the guest after about N instructions\n"
    "  --timeout MS        stop the guest after MS milliseconds\n"
    "  --max-memory MIB    cap on linear memory (default 1024 MiB)\n"
    "  --help              show this help\n"
    "\n"
    "exit status:\n"
    "  the guest's own exit status (0 when main returns 0), except:\n"
    "  1    the module cannot be read, loaded or linked\n"
    "  2    bad command line\n"
    "  134  the guest trapped, ran out of fuel or passed its timeout\n"
    "Errors are reported on standard error as `sluice: MODULE: message`.\n";

static const char invoke_help[] =
    "usage: sluice wasm invoke [OPTIONS] MODULE.wasm FUNCTION [ARGS...]\n"
    "\n"
    "Instantiates MODULE.wasm, calls its exported FUNCTION and prints each\n"
    "result on its own line. Each argument is parsed according to the\n"
    "function's parameter type:\n"
    "  i32, i64   decimal or 0x hexadecimal, optionally negative\n"
    "  f32, f64   decimal or hexadecimal floating point, nan, inf, -inf\n"
    "  refs       null\n"
    "Results print as signed decimal (i32, i64), %.9g (f32) or %.17g (f64).\n"
    "WASI imports are available (no directories, no environment).\n"
    "\n"
    "options:\n"
    "  --fuel N            stop after about N instructions\n"
    "  --timeout MS        stop after MS milliseconds\n"
    "  --max-memory MIB    cap on linear memory (default 1024 MiB)\n"
    "  --help              show this help\n"
    "\n"
    "exit status:\n"
    "  0    the call returned\n"
    "  1    the module cannot be read, loaded or linked, or FUNCTION or an\n"
    "       argument is wrong\n"
    "  2    bad command line\n"
    "  134  the function trapped, ran out of fuel or passed its timeout\n"
    "  N    the function called WASI proc_exit(N)\n";

typedef struct Options {
    sw_limits limits;
    sw_wasi_dir *dirs;
    size_t ndirs;
    const char **env;
    size_t nenv;
    int next; /* index in argv of MODULE.wasm */
} Options;

static void options_free(Options *o)
{
    free(o->dirs);
    free(o->env);
}

/* Reports running out of memory, for the module at path if known. */
static int out_of_memory(const char *path)
{
    fprintf(stderr, "sluice: %s%sout of memory\n", path ? path : "",
            path ? ": " : "");
    return EXIT_HOST_ERROR;
}

static bool add_dir(Options *o, char *spec)
{
    sw_wasi_dir *grown = realloc(o->dirs, (o->ndirs + 1) * sizeof *grown);
    if (!grown) return false;
    o->dirs = grown;
    /* Kept as given on the command line: HOST[:GUEST] is split in place. */
    char *colon = strchr(spec, ':');
    if (colon) *colon = '\0';
    o->dirs[o->ndirs++] = (sw_wasi_dir){ spec, colon ? colon + 1 : spec };
    return true;
}

static bool add_env(Options *o, const char *assignment)
{
    const char **grown = realloc(o->env, (o->nenv + 1) * sizeof *grown);
    if (!grown) return false;
    o->env = grown;
    o->env[o->nenv++] = assignment;
    return true;
}

/* The options with a value; run takes them all, invoke the first three. */
enum { OPT_FUEL, OPT_TIMEOUT, OPT_MAX_MEMORY, OPT_DIR, OPT_ENV, NOPTS };
static const char *const option_names[NOPTS] = {
    "--fuel", "--timeout", "--max-memory", "--dir", "--env"
};

/* Sets the limit of option k (OPT_FUEL, OPT_TIMEOUT or OPT_MAX_MEMORY);
   false if value is not a number in range. */
static bool set_limit(Options *o, int k, const char *value)
{
    uint64_t n;
    if (!cli_parse_count(value, UINT64_MAX, &n) || n == 0) return false;
    switch (k) {
    case OPT_FUEL:
        o->limits.fuel = n;
        return true;
    case OPT_TIMEOUT:
        if (n > UINT64_MAX / 1000000u) return false;
        o->limits.timeout_ns = n * 1000000u;
        return true;
    default:
        if (n > 4096) return false; /* 4 GiB, all a 32-bit memory holds */
        o->limits.max_memory_pages = (uint32_t)n * PAGES_PER_MIB;
        return true;
    }
}

/* Takes in the option at argv[*i] (moving *i past its value). Returns -1
   to go on, or the exit status after an error. */
static int parse_option(int argc, char **argv, int *i, bool for_run,
                        Options *o)
{
    const char *help = for_run ? run_help : invoke_help;
    int nopts = for_run ? NOPTS : OPT_DIR;
    for (int k = 0; k < nopts; k++) {
        char *value;
        if (!cli_option(argc, argv, i, option_names[k], &value)) continue;
        if (!value)
            return cli_usage_error(help, "%s needs a value", option_names[k]);
        switch (k) {
        case OPT_DIR: {
            const char *colon = strchr(value, ':');
            if (!*value || colon == value || (colon && !colon[1]))
                return cli_usage_error(help, "--dir wants HOST[:GUEST], not '%s'",
                                   value);
            return add_dir(o, value) ? -1 : out_of_memory(NULL);
        }
        case OPT_ENV:
            if (!strchr(value, '=') || value[0] == '=')
                return cli_usage_error(help, "--env wants NAME=VALUE, not '%s'",
                                   value);
            return add_env(o, value) ? -1 : out_of_memory(NULL);
        default:
            if (set_limit(o, k, value)) return -1;
            return cli_usage_error(help, "bad number for %s", option_names[k]);
        }
    }
    return cli_usage_error(help, "unknown option '%s'", argv[*i]);
}

/* Parses the options before MODULE.wasm. Returns -1 to go on, or the exit
   status when done (after --help, or a usage error). */
static int parse_options(int argc, char **argv, bool for_run, Options *o)
{
    const char *help = for_run ? run_help : invoke_help;
    *o = (Options){ .limits.max_memory_pages =
                        DEFAULT_MAX_MEMORY_MIB * PAGES_PER_MIB };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 0;
        }
        int status = parse_option(argc, argv, &i, for_run, o);
        if (status >= 0) return status;
    }
    if (i >= argc) return cli_usage_error(help, "%s", "missing MODULE.wasm");
    o->next = i;
    return -1;
}

/* ---- Loading and reporting --------------------------------------------- */

/* Beyond this a module is refused rather than read: the path may name an
   endless stream such as a device. */
enum { MAX_MODULE_BYTES = 256 << 20 };

/* Prints err for the module at path and returns the matching exit status. */
static int report(const char *path, const sw_error *err)
{
    switch (err->kind) {
    case SW_ERR_MALFORMED:
    case SW_ERR_INVALID:
        fprintf(stderr, "sluice: %s: at byte %zu: %s\n", path, err->offset,
                err->message);
        return EXIT_HOST_ERROR;
    case SW_ERR_TRAP:
        fprintf(stderr, "sluice: %s: trap: %s\n", path, err->message);
        return EXIT_TRAP;
    case SW_ERR_EXIT:
        return err->exit_code;
    default:
        fprintf(stderr, "sluice: %s: %s\n", path, err->message);
        return EXIT_HOST_ERROR;
    }
}

/* A module instantiated with WASI in a store of its own. */
typedef struct Session {
    const char *path;
    sw_module *module;
    sw_store *store;
    sw_wasi *wasi;
    sw_instance *inst;
} Session;

static void session_close(Session *s)
{
    sw_store_free(s->store);
    sw_wasi_free(s->wasi);
    sw_module_free(s->module);
}

/* Returns -1 when the instance is ready, else the exit status (after
   reporting). */
static int session_open(Session *s, const char *path, const Options *o,
                        const sw_wasi_config *cfg)
{
    sw_error err = { 0 };
    size_t len;
    *s = (Session){ .path = path };
    uint8_t *bytes = (uint8_t *)cli_read_file(path, MAX_MODULE_BYTES, &len);
    if (!bytes) {
        fprintf(stderr, "sluice: %s: %s\n", path, strerror(errno));
        return EXIT_HOST_ERROR;
    }
    s->module = sw_module_load(bytes, len, &err);
    free(bytes);
    if (!s->module) return report(path, &err);

    s->store = sw_store_new(&o->limits);
    s->wasi = sw_wasi_new(cfg, &err);
    if (!s->store) return out_of_memory(path);
    if (!s->wasi) return report(path, &err);
    const sw_import *imports;
    size_t nimports = sw_wasi_imports(s->wasi, s->store, &imports);
    if (!imports) return out_of_memory(path);
    s->inst = sw_instantiate(s->store, s->module, imports, nimports, &err);
    return s->inst ? -1 : report(path, &err);
}

/* ---- run ----------------------------------------------------------------- */

int cmd_wasm_run(int argc, char **argv)
{
    Options o;
    Session s;
    int status = parse_options(argc, argv, true, &o);
    if (status >= 0) {
        options_free(&o);
        return status;
    }
    sw_wasi_config cfg;
    sw_wasi_config_init(&cfg);
    cfg.argc = (size_t)(argc - o.next);
    cfg.argv = (const char *const *)argv + o.next;
    cfg.envc = o.nenv;
    cfg.environ = o.env;
    cfg.ndirs = o.ndirs;
    cfg.dirs = o.dirs;
    status = session_open(&s, argv[o.next], &o, &cfg);
    if (status < 0) {
        sw_error err = { 0 };
        status = sw_wasi_run(s.wasi, s.store, s.inst, &err);
        if (status < 0) status = report(s.path, &err);
    }
    session_close(&s);
    options_free(&o);
    return status;
}

/* ---- invoke -------------------------------------------------------------- */

static const char *type_name(sw_valtype t)
{
    switch (t) {
    case SW_I32: return "i32";
    case SW_I64: return "i64";
    case SW_F32: return "f32";
    case SW_F64: return "f64";
    case SW_FUNCREF: return "funcref";
    default: return "externref";
    }
}

/* Integers: decimal or 0x hex, signed or (up to the width) unsigned. */
static bool parse_int(const char *text, uint64_t max_unsigned,
                      int64_t min_signed, uint64_t *out)
{
    const char *digits = text + (*text == '-' || *text == '+');
    int base = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')
                   ? 16 : 10;
    char *end;
    if (!*digits || *digits == '-' || *digits == '+') return false;
    errno = 0;
    if (*text == '-') {
        long long v = strtoll(text, &end, base);
        if (errno || *end || v < min_signed) return false;
        *out = (uint64_t)v;
    } else {
        unsigned long long v = strtoull(text, &end, base);
        if (errno || *end || v > max_unsigned) return false;
        *out = v;
    }
    return true;
}

static bool parse_value(const char *text, sw_valtype type, sw_value *out)
{
    uint64_t bits;
    char *end;
    out->type = type;
    switch (type) {
    case SW_I32:
        if (!parse_int(text, UINT32_MAX, INT32_MIN, &bits)) return false;
        out->of.i32 = (int32_t)(uint32_t)bits;
        return true;
    case SW_I64:
        if (!parse_int(text, UINT64_MAX, INT64_MIN, &bits)) return false;
        out->of.i64 = (int64_t)bits;
        return true;
    case SW_F32:
        out->of.f32 = strtof(text, &end);
        return *text && !*end;
    case SW_F64:
        out->of.f64 = strtod(text, &end);
        return *text && !*end;
    default:
        out->of.ref = NULL;
        return !strcmp(text, "null");
    }
}

static void print_value(const sw_value *v)
{
    switch (v->type) {
    case SW_I32: printf("%" PRId32 "\n", v->of.i32); break;
    case SW_I64: printf("%" PRId64 "\n", v->of.i64); break;
    case SW_F32: printf("%.9g\n", (double)v->of.f32); break;
    case SW_F64: printf("%.17g\n", v->of.f64); break;
    default: printf("%s\n", v->of.ref ? "<ref>" : "null"); break;
    }
}

/* "no exported function 'f'; exported functions: a, b" */
static int no_such_function(const Session *s, const char *name)
{
    const char *sep = "; exported functions: ";
    fprintf(stderr, "sluice: %s: no exported function '%s'", s->path, name);
    for (size_t i = 0; i < sw_module_export_count(s->module); i++) {
        sw_export_desc e = sw_module_export(s->module, i);
        if (e.kind != SW_EXTERN_FUNC) continue;
        fprintf(stderr, "%s%.*s", sep, (int)e.name.len, e.name.ptr);
        sep = ", ";
    }
    fprintf(stderr, "%s\n", *sep == ',' ? "" : " (the module exports none)");
    return EXIT_HOST_ERROR;
}

static int wrong_arguments(const Session *s, const char *name,
                           const sw_functype *type, int given)
{
    fprintf(stderr, "sluice: %s: %s takes %" PRIu32 " argument%s (", s->path,
            name, type->nparams, type->nparams == 1 ? "" : "s");
    for (uint32_t i = 0; i < type->nparams; i++)
        fprintf(stderr, "%s%s", i ? " " : "", type_name(type->params[i]));
    fprintf(stderr, "), got %d\n", given);
    return EXIT_HOST_ERROR;
}

/* Parses the arguments, calls and prints; returns the exit status. */
static int invoke(const Session *s, const char *name, int argc, char **argv)
{
    sw_extern ext;
    if (!sw_instance_export(s->inst, sw_name_of(name), &ext) ||
        ext.kind != SW_EXTERN_FUNC)
        return no_such_function(s, name);
    const sw_functype *type = sw_func_type(ext.of.func);
    if ((uint32_t)argc != type->nparams)
        return wrong_arguments(s, name, type, argc);

    sw_value *args = calloc(type->nparams + 1, sizeof *args);
    sw_value *results = calloc(type->nresults + 1, sizeof *results);
    int status = 0;
    for (uint32_t i = 0; args && i < type->nparams && !status; i++) {
        if (!parse_value(argv[i], type->params[i], &args[i])) {
            fprintf(stderr, "sluice: %s: argument %" PRIu32 " of %s: '%s' "
                    "is not a valid %s\n", s->path, i + 1, name, argv[i],
                    type_name(type->params[i]));
            status = EXIT_HOST_ERROR;
        }
    }
    if (!args || !results) status = out_of_memory(s->path);
    if (!status) {
        sw_error err = { 0 };
        if (sw_call(ext.of.func, args, type->nparams, results,
                    type->nresults, &err) != 0)
            status = report(s->path, &err);
        for (uint32_t i = 0; !status && i < type->nresults; i++)
            print_value(&results[i]);
    }
    free(args);
    free(results);
    return status;
}

int cmd_wasm_invoke(int argc, char **argv)
{
    Options o;
    Session s;
    int status = parse_options(argc, argv, false, &o);
    if (status >= 0) {
        options_free(&o);
        return status;
    }
    if (o.next + 1 >= argc) {
        options_free(&o);
        return cli_usage_error(invoke_help, "%s", "missing FUNCTION");
    }
    sw_wasi_config cfg;
    sw_wasi_config_init(&cfg);
    cfg.argc = 1;
    cfg.argv = (const char *const *)argv + o.next;
    status = session_open(&s, argv[o.next], &o, &cfg);
    if (status < 0)
        status = invoke(&s, argv[o.next + 1], argc - o.next - 2,
                        argv + o.next + 2);
    session_close(&s);
    options_free(&o);
    return status;
}
