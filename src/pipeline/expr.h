/*
** expr.h: conditions on record fields, as written in a pipeline file:
**
**     temperature > 25 and sensor != "sensor-3"
**     not (status == "ok" || retries >= 3) && user.country == 'FR'
**
** Operands: field paths (a.b.c through maps), numbers, 'strings' or
** "strings", true, false, null, and parentheses. Comparisons: == != < <=
** > >=. Logic: and/&&, or/||, not/!. A bare operand is true only if it is
** the boolean true. Numbers compare as numbers whatever their type; a
** timestamp compares with a string written as RFC 3339; a missing field
** is null; values of different types are never equal nor ordered.
*/
#ifndef SLUICE_EXPR_H
#define SLUICE_EXPR_H

#include "record.h"

typedef struct SlExpr SlExpr;

/* Returns NULL on a syntax error, with a message and the byte offset. */
SlExpr *sl_expr_parse(const char *text, char *error, size_t error_size, size_t *offset);
bool sl_expr_true(const SlExpr *e, const SlRecord *r);
void sl_expr_free(SlExpr *e);

#endif
