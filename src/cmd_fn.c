/*
** cmd_fn.c: `sluice fn run`, and what the `sluice fn` commands share
** (fn_cli.h): option parsing, reading documents, reporting errors.
**
** run loads a function module (libsluice-fn), gives it the configuration,
** calls it once on the input document and prints the output document on
** standard output. Every failure is one line on standard error,
** `sluice: fn NAME: KIND: MESSAGE`, and an exit status by kind (see
** run_help). The other commands are in fn_test.c (test) and fn_new.c (new,
** build).
*/
#include "cli.h"
#include "commands.h"
#include "fn_cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAGES_PER_MIB = 16, MAX_MEMORY_MIB = 4096 };

static const char run_help[] =
    "usage: sluice fn run [OPTIONS] MODULE.wasm --input FILE|- [--config FILE]\n"
    "\n"
    "Runs a Sluice function (ABI v1 or v2, docs/abi.md) once: gives it the\n"
    "configuration, calls it on the input document and prints the output\n"
    "document on standard output. Input, configuration and output are JSON.\n"
    "The function's logs and WASI output go to standard error.\n"
    "\n"
    "options:\n"
    "  --input FILE        the input document; - reads standard input\n"
    "  --config FILE       the configuration, a JSON object (default: {})\n"
    "  --fuel N            stop the call after about N instructions\n"
    "                      (default: no limit)\n"
    "  --timeout MS        stop the call after MS milliseconds (default:\n"
    "                      10000; 0: no limit)\n"
    "  --max-memory MIB    cap on the function's memory (default: 256)\n"
    "  --max-output BYTES  cap on the output document (default: 16 MiB)\n"
    "  --log-level LEVEL   the least level of the function's log lines shown:\n"
    "                      debug (default), info, warn, error or none\n"
    "  --repeat N          call the function N times on the input, in one\n"
    "                      instance, and print the last output (for soak\n"
    "                      tests and timing)\n"
    "  --stats             print on standard error what the calls cost:\n"
    "                      calls, fuel, restarts, guest memory in bytes\n"
    "  --help              show this help\n"
    "\n"
    "exit status:\n"
    "  0  the output was printed\n"
    "  1  the function failed: error (it reported one), trap, or limit (fuel,\n"
    "     time, memory, output size)\n"
    "  2  bad command line, or the input or configuration cannot be read or\n"
    "     is not JSON\n"
    "  3  the module cannot be loaded or breaks the ABI (abi)\n"
    "Failures are reported on standard error as\n"
    "`sluice: fn NAME: KIND: MESSAGE`, KIND being error, trap, limit or abi.\n";

/* ---- Shared: command line ------------------------------------------------ */

/* The options that take a value; those from OPT_INPUT on are run's only. */
enum { OPT_FUEL, OPT_TIMEOUT, OPT_MAX_MEMORY, OPT_MAX_OUTPUT, OPT_LOG_LEVEL,
       OPT_INPUT, OPT_CONFIG, OPT_REPEAT, NOPTS };
static const char *const option_names[NOPTS] = {
    "--fuel", "--timeout", "--max-memory", "--max-output", "--log-level",
    "--input", "--config", "--repeat"
};

/* A level by name; "none" is above all of them. */
static bool set_log_level(FnArgs *a, const char *value)
{
    int level = 0;
    while (sfn_level_name(level) && strcmp(value, sfn_level_name(level))) level++;
    a->log_level = level;
    return sfn_level_name(level) || !strcmp(value, "none");
}

static bool set_option(FnArgs *a, int opt, const char *value)
{
    uint64_t n;
    switch (opt) {
    case OPT_INPUT: a->input = value; return true;
    case OPT_CONFIG: a->config = value; return true;
    case OPT_LOG_LEVEL: return set_log_level(a, value);
    case OPT_REPEAT: return cli_parse_count(value, UINT64_MAX, &a->repeat) && a->repeat;
    case OPT_FUEL: return cli_parse_count(value, UINT64_MAX, &a->limits.fuel);
    case OPT_TIMEOUT:
        return cli_parse_count(value, UINT64_MAX / 1000000u, &a->limits.timeout_ms);
    case OPT_MAX_MEMORY:
        if (!cli_parse_count(value, MAX_MEMORY_MIB, &n) || n == 0) return false;
        a->limits.max_memory_pages = (uint32_t)(n * PAGES_PER_MIB);
        return true;
    default:
        if (!cli_parse_count(value, SIZE_MAX, &n) || n == 0) return false;
        a->limits.max_output = (size_t)n;
        return true;
    }
}

/* The option at argv[*i] (`--name VALUE` or `--name=VALUE`); moves *i past
   its value. Returns -1 to go on, or the exit status of a usage error. */
static int take_option(int argc, char **argv, int *i, const char *help,
                       bool with_io, FnArgs *a)
{
    int nopts = with_io ? NOPTS : OPT_INPUT;
    for (int k = 0; k < nopts; k++) {
        char *value;
        if (!cli_option(argc, argv, i, option_names[k], &value)) continue;
        if (!value)
            return cli_usage_error(help, "%s needs a value", option_names[k]);
        if (set_option(a, k, value)) return -1;
        return cli_usage_error(help, "bad value '%s' for %s", value,
                              option_names[k]);
    }
    return cli_usage_error(help, "unknown option '%s'", argv[*i]);
}

int fn_parse_args(int argc, char **argv, const char *help, bool with_io,
                  int npositional, FnArgs *a)
{
    *a = (FnArgs){ .limits = sfn_default_options().limits, .repeat = 1 };
    a->limits.timeout_ms = FN_DEFAULT_TIMEOUT_MS;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && (!strcmp(arg, "--help") || !strcmp(arg, "-h"))) {
            fputs(help, stdout);
            return 0;
        }
        if (!options_done && !strcmp(arg, "--")) {
            options_done = true;
        } else if (!options_done && with_io && !strcmp(arg, "--stats")) {
            a->stats = true;
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            int status = take_option(argc, argv, &i, help, with_io, a);
            if (status >= 0) return status;
        } else if (a->npositional < npositional) {
            a->positional[a->npositional++] = arg;
        } else {
            return cli_usage_error(help, "unexpected argument '%s'", arg);
        }
    }
    if (a->npositional < npositional)
        return cli_usage_error(help, "missing %s", a->npositional == 0
                              ? "MODULE.wasm" : "CASES.yaml");
    return -1;
}

/* ---- Shared: documents and errors ---------------------------------------- */

bool fn_json_valid(const char *text, size_t len, bool want_object, char *why,
                   size_t cap)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        snprintf(why, cap, "%d:%d: not valid JSON: %s", jerr.line, jerr.column,
                 jerr.text);
        return false;
    }
    bool ok = !want_object || json_is_object(doc);
    if (!ok) snprintf(why, cap, "1:1: not a JSON object");
    json_decref(doc);
    return ok;
}

void fn_log_filtered(void *user, const char *function, int level,
                     const char *text, size_t len)
{
    if (level >= *(const int *)user) sfn_log_stderr(NULL, function, level, text, len);
}

int fn_report(const sfn_error *err)
{
    fprintf(stderr, "sluice: fn %s: %s: %s\n", err->function,
            sfn_kind_name(err->kind), err->message);
    return err->kind == SFN_ABI ? FN_EXIT_MODULE : FN_EXIT_FAILED;
}

/* ---- run ------------------------------------------------------------------ */

/* Reads a JSON document named on the command line; NULL after reporting. */
static char *read_document(const char *path, bool want_object, size_t *len)
{
    char *text = cli_read_file(path, SIZE_MAX, len);
    if (!text) {
        fprintf(stderr, "sluice: fn run: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char why[300];
    if (!fn_json_valid(text, *len, want_object, why, sizeof why)) {
        fprintf(stderr, "sluice: fn run: %s:%s\n",
                strcmp(path, "-") ? path : "<stdin>", why);
        free(text);
        return NULL;
    }
    return text;
}

static void print_stats(const sfn_module *module, const sfn_instance *inst)
{
    sfn_stats st = sfn_instance_stats(inst);
    fprintf(stderr, "sluice: fn %s: stats: calls %llu, failed %llu, fuel last "
            "%llu, fuel total %llu, restarts %llu, guest memory %llu bytes\n",
            sfn_module_name(module), (unsigned long long)st.calls,
            (unsigned long long)st.failures, (unsigned long long)st.fuel_last,
            (unsigned long long)st.fuel_total, (unsigned long long)st.restarts,
            (unsigned long long)sfn_instance_memory_size(inst));
}

/* Prints an output that is JSON; returns the exit status. */
static int print_output(sfn_error *err, const uint8_t *out, size_t len)
{
    char why[300];
    if (!fn_json_valid((const char *)out, len, false, why, sizeof why)) {
        err->kind = SFN_ABI;
        snprintf(err->message, sizeof err->message, "the output is not JSON: "
                 "at %s", why);
        return fn_report(err);
    }
    fwrite(out, 1, len, stdout);
    if (len == 0 || out[len - 1] != '\n') putchar('\n');
    return 0;
}

/* Calls the function (repeat times) and prints its last output; returns
   the exit status. */
static int run_calls(const sfn_module *module, const sfn_options *options,
                     const FnArgs *a, const char *input, size_t input_len)
{
    sfn_error err;
    sfn_instance *inst = sfn_instance_new(module, options, &err);
    if (!inst) return fn_report(&err);
    FnOutput out = { 0 };
    int rc = 0;
    for (uint64_t i = 0; i < a->repeat && rc == 0; i++)
        rc = fn_call(inst, input, input_len, &out, &err);
    int status = rc == FN_BAD_INPUT ? FN_EXIT_USAGE : rc ? fn_report(&err)
                                                         : print_output(&err, out.data, out.len);
    if (rc == FN_BAD_INPUT)
        fprintf(stderr, "sluice: fn run: %s: %s\n", strcmp(a->input, "-") ? a->input : "<stdin>",
                err.message);
    free(out.owned);
    if (a->stats) print_stats(module, inst);
    sfn_instance_free(inst);
    return status;
}

int cmd_fn_run(int argc, char **argv)
{
    FnArgs a;
    int status = fn_parse_args(argc, argv, run_help, true, 1, &a);
    if (status >= 0) return status;
    if (!a.input) return cli_usage_error(run_help, "missing --input FILE");
    sfn_error err;
    sfn_module *module = sfn_module_load_file(a.positional[0], &err);
    if (!module) return fn_report(&err);

    size_t input_len = 0, config_len = 0;
    char *input = read_document(a.input, false, &input_len);
    char *config = a.config && input
                       ? read_document(a.config, true, &config_len) : NULL;
    status = FN_EXIT_USAGE;
    if (input && (config || !a.config)) {
        sfn_options options = sfn_default_options();
        options.limits = a.limits;
        options.config = config;
        options.config_len = config_len;
        options.log = fn_log_filtered;
        options.log_user = &a.log_level;
        status = run_calls(module, &options, &a, input, input_len);
    }
    free(input);
    free(config);
    sfn_module_free(module);
    return status;
}
