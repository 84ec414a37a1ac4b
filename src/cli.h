/*
** cli.h: helpers every `sluice` subcommand shares to read its command line
** and its input files: reporting a usage error with the command's help,
** taking an option's value from argv, parsing a count within bounds and
** reading a whole file with a size cap. Implemented in cli.c.
*/
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The exit status of every usage error: a bad command line. */
enum { CLI_EXIT_USAGE = 2 };

/* Prints "sluice: MESSAGE" and the usage line (the first line of help) on
   standard error; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *help, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether argv[*i] is option `name`, given as `name VALUE` or
   `name=VALUE`. If so, *value is its value (NULL when argv ends before
   it) and *i is moved past it. */
bool cli_option(int argc, char **argv, int *i, const char *name,
                char **value);

/* Parses text, decimal digits only, as a number no greater than max. */
bool cli_parse_count(const char *text, uint64_t max, uint64_t *out);

/* The whole content of a file ("-": standard input), NUL-terminated, in
   *len bytes; NULL with errno set on failure (EFBIG beyond max bytes: the
   path may name an endless stream such as a device). */
char *cli_read_file(const char *path, size_t max, size_t *len);

#endif
