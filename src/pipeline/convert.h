/*
** convert.h: converting values between types, for typed CSV columns and the
** `fields` transform's casts. Text is read strictly: "12x" is not an int.
*/
#ifndef SLUICE_CONVERT_H
#define SLUICE_CONVERT_H

#include "record.h"

/* The type names used in settings: string, int, float, bool, timestamp.
** Returns false for anything else. */
bool sl_type_parse(const char *name, SlType *out);
extern const char *const sl_type_choices[];  /* for SlSetting.choices */

bool sl_text_int(const char *s, size_t len, int64_t *out);
bool sl_text_float(const char *s, size_t len, double *out);
bool sl_text_bool(const char *s, size_t len, bool *out);

/* Converts `v` to type `to` (strings are copied into `b` when needed).
** On failure returns false and leaves `why` short text for a reason. */
bool sl_convert(SlBatch *b, const SlValue *v, SlType to, SlValue *out, const char **why);

#endif
