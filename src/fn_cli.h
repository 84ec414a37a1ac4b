/*
** fn_cli.h: what the `sluice fn` subcommands share: the exit statuses,
** command-line parsing of limits, reading documents, reporting structured
** errors. Implemented in cmd_fn.c.
*/
#ifndef SLUICE_FN_CLI_H
#define SLUICE_FN_CLI_H

#include "cli.h"
#include "sluice_fn_host.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FN_EXIT_FAILED = 1, /* the function failed (error, trap, limit), or a
                           test case failed */
    FN_EXIT_USAGE = CLI_EXIT_USAGE, /* bad command line, unreadable or invalid input */
    FN_EXIT_MODULE = 3  /* the module cannot be loaded or breaks the ABI */
};

/* Without --timeout, a call is stopped after this many milliseconds, so
   that a runaway function never hangs the command. */
enum { FN_DEFAULT_TIMEOUT_MS = 10000 };

/* The command line of run and test: options and positional arguments. */
typedef struct FnArgs {
    sfn_limits limits;
    const char *input;  /* --input (run only) */
    const char *config; /* --config (run only) */
    int log_level;      /* --log-level: the least level shown (0 debug ...
                           3 error, 4 none) */
    uint64_t repeat;    /* --repeat (run only; default 1) */
    bool stats;         /* --stats (run only) */
    const char *positional[2];
    int npositional;
} FnArgs;

/* Parses argv[1..argc). with_io allows the options of run alone (--input,
   --config, --repeat, --stats). Returns -1 to go on, or the exit status
   when done (--help, usage error). */
int fn_parse_args(int argc, char **argv, const char *help, bool with_io,
                  int npositional, FnArgs *args);

/* Checks that text is JSON (an object if want_object); on failure writes
   "LINE:COLUMN: why" into why[cap] and returns false. */
bool fn_json_valid(const char *text, size_t len, bool want_object, char *why,
                   size_t cap);

/* A log callback (sfn_log_fn) that passes lines at or above the level
   *user (an int, FnArgs.log_level) to sfn_log_stderr. */
void fn_log_filtered(void *user, const char *function, int level,
                     const char *text, size_t len);

/* Prints "sluice: fn NAME: KIND: MESSAGE" and returns the exit status for
   that kind of failure. */
int fn_report(const sfn_error *err);

/* A function's output as JSON text: the instance's own bytes (ABI v1), or
   the JSON made of its output batch (v2), in `owned`. */
typedef struct FnOutput {
    const uint8_t *data;
    size_t len;
    char *owned;
} FnOutput;

enum { FN_BAD_INPUT = -2 };

/* Calls the function on a JSON input document, whatever its ABI version
   (fn_batch.c). Returns 0; -1 with err filled when the call failed; or
   FN_BAD_INPUT when the input cannot be given to a v2 function (then
   err->message says why). result->owned is freed by the next call on the
   same result; free it after the last. */
int fn_call(sfn_instance *inst, const char *input, size_t len, FnOutput *result, sfn_error *err);

#endif
