/*
** config.h: a pipeline file as a tree of positioned nodes.
**
** The YAML is loaded with libyaml into SlConf nodes that remember their
** file, line and column (1-based), so every later check can say exactly
** where a problem is. ${NAME} and ${NAME:-default} in scalars are replaced
** from the environment while loading; $$ is a literal $.
**
** Problems are collected in an SlDiag rather than stopping at the first, so
** `sluice validate` reports all of them at once.
*/
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SlConfKind { SL_CONF_SCALAR, SL_CONF_SEQ, SL_CONF_MAP } SlConfKind;

typedef struct SlConf SlConf;
struct SlConf {
    SlConfKind kind;
    const char *file;
    int line, col;
    const char *text;       /* scalar: its value after ${ENV} interpolation */
    bool quoted;            /* scalar: written in quotes (so "1" is a string) */
    const char *key;        /* member of a map: its key */
    int key_line, key_col;  /* member of a map: where the key is */
    SlConf **items;         /* sequence items, or map members in file order */
    size_t count;
};

/* ---- Diagnostics ----------------------------------------------------- */
typedef struct SlDiagEntry {
    int line, col;
    char *text;             /* "file:line:col: message" */
} SlDiagEntry;

typedef struct SlDiag {
    SlDiagEntry *entries;
    size_t count, cap;
} SlDiag;

void sl_diag_add(SlDiag *d, const char *file, int line, int col,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Reports at a node; for a map member `at_key` points at its key. */
void sl_diag_at(SlDiag *d, const SlConf *node, bool at_key,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Puts the problems in file order. */
void sl_diag_sort(SlDiag *d);
/* Prints the problems in file order, one a line, to stderr. */
void sl_diag_print(SlDiag *d);
void sl_diag_free(SlDiag *d);

/* ---- Loading --------------------------------------------------------- */
/* Returns the root node, or NULL (with diagnostics) if the file cannot be
** read or is not YAML. Interpolation problems are reported but loading
** goes on. */
SlConf *sl_conf_load(const char *path, SlDiag *d);
void sl_conf_free(SlConf *root);

/* ---- Reading (after the schema check, so types are known good) ------- */
const SlConf *sl_conf_get(const SlConf *map, const char *key);
const char *sl_conf_str(const SlConf *map, const char *key, const char *def);
int64_t sl_conf_int(const SlConf *map, const char *key, int64_t def);
double sl_conf_float(const SlConf *map, const char *key, double def);
bool sl_conf_bool(const SlConf *map, const char *key, bool def);

/* Scalar parsing shared by the schema check and the readers. */
bool sl_scalar_int(const char *text, int64_t *out);
bool sl_scalar_float(const char *text, double *out);
bool sl_scalar_bool(const char *text, bool *out);
bool sl_scalar_null(const SlConf *node);

/* A scalar as a value: plain numbers, booleans and null keep their type,
** anything quoted is a string. A string points into the node's text, which
** outlives the pipeline's components. */
SlValue sl_conf_value(const SlConf *scalar);

#endif
