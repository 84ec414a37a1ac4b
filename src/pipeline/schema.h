/*
** schema.h: the settings each component type accepts, as data.
**
** A component type lists its settings in a table of SlSetting terminated by
** an entry with a NULL name. The same table checks a pipeline file (unknown
** keys, wrong types, missing required settings, values outside a choice
** list), documents the component, and can be exported as JSON Schema for
** an editor. The keys every component has (type, inputs) are added by the
** graph and must not be listed.
*/
#ifndef SLUICE_SCHEMA_H
#define SLUICE_SCHEMA_H

#include "config.h"

typedef enum SlSettingType {
    SL_SET_STRING,          /* any scalar, read as text */
    SL_SET_SCALAR,          /* any scalar, keeping its YAML type (1, true, "x") */
    SL_SET_INT,             /* integer scalar; min/max when max > min */
    SL_SET_FLOAT,           /* number */
    SL_SET_BOOL,            /* true/false/yes/no/on/off */
    SL_SET_LIST,            /* sequence of `item` */
    SL_SET_MAP,             /* map with free keys, values of `item` */
    SL_SET_OBJECT,          /* map with the keys listed in `fields` */
    SL_SET_ANY,             /* anything (passed through, e.g. function config) */
} SlSettingType;

typedef struct SlSetting SlSetting;
struct SlSetting {
    const char *name;
    SlSettingType type;
    bool required;
    const char *def;                /* default, as written in docs */
    const char *doc;                /* one sentence */
    const char *const *choices;     /* STRING: allowed values, NULL-ended */
    int64_t min, max;               /* INT: bounds, when max > min */
    const SlSetting *item;          /* LIST, MAP: what each item is */
    const SlSetting *fields;        /* OBJECT: its keys, NULL-name ended */
};

/* Checks `node` (a component's map, minus the common keys `skip`) against
** `settings`, adding every problem to `d`. Returns the number of problems. */
int sl_schema_check(const SlSetting *settings, const SlConf *node,
                    const char *const *skip, SlDiag *d);

#endif
