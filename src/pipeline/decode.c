/*
** decode.c: JSON text to values (decode.h), through jansson.
*/
#include "decode.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static SlValue convert(SlBatch *b, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        SlValue v = sl_map(b);
        const char *key;
        json_t *member;
        json_object_foreach(j, key, member) {
            size_t len = strlen(key);
            *sl_map_set(b, v.as.map, sl_copy_str(b, key, len), len) = convert(b, member);
        }
        return v;
    }
    case JSON_ARRAY: {
        SlValue v = sl_array(b, (uint32_t)json_array_size(j));
        for (uint32_t i = 0; i < v.len; i++) v.as.items[i] = convert(b, json_array_get(j, i));
        return v;
    }
    case JSON_STRING: {
        size_t len = json_string_length(j);
        return sl_str(sl_copy_str(b, json_string_value(j), len), len);
    }
    case JSON_INTEGER: return sl_int(json_integer_value(j));
    case JSON_REAL: return sl_float(json_real_value(j));
    case JSON_TRUE: return sl_bool(true);
    case JSON_FALSE: return sl_bool(false);
    default: return sl_null();
    }
}

bool sl_json_decode(SlBatch *b, const char *text, size_t len, SlValue *out,
                    char *why, size_t why_size)
{
    json_error_t error;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (!j) {
        snprintf(why, why_size, "not JSON: %s at character %d", error.text, error.position);
        return false;
    }
    *out = convert(b, j);
    json_decref(j);
    return true;
}

void sl_map_merge(SlBatch *b, SlMap *m, const SlValue *map)
{
    const SlMap *from = map->as.map;
    for (uint32_t i = 0; i < from->count; i++)
        *sl_map_set(b, m, from->fields[i].name, from->fields[i].name_len) = from->fields[i].value;
}
