/*
** components.c: the registry of component types. To add a component, define
** its `const SlComponentType` in its own file (src/sources, src/transforms,
** src/sinks) and add one line to each list below.
*/
#include "component.h"

#include <string.h>

extern const SlComponentType sl_source_generate, sl_source_file, sl_source_stdin;
extern const SlComponentType sl_source_tcp, sl_source_udp, sl_source_http;
extern const SlComponentType sl_transform_parse_csv, sl_transform_parse_json,
    sl_transform_fields, sl_transform_filter;
extern const SlComponentType sl_transform_parse_regex;
extern const SlComponentType sl_transform_function;
extern const SlComponentType sl_sink_sqlite, sl_sink_http;
extern const SlComponentType sl_sink_stdout, sl_sink_file;
extern const SlComponentType sl_source_mqtt, sl_sink_mqtt, sl_source_nats, sl_sink_nats;
extern const SlComponentType sl_sink_elasticsearch, sl_sink_postgres;
extern const SlComponentType sl_sink_dashboard;

static const SlComponentType *const registry[] = {
    &sl_source_generate,
    &sl_source_file,
    &sl_source_stdin,
    &sl_source_tcp,
    &sl_source_udp,
    &sl_source_http,
    &sl_transform_parse_csv,
    &sl_transform_parse_json,
    &sl_transform_fields,
    &sl_transform_filter,
    &sl_transform_parse_regex,
    &sl_transform_function,
    &sl_sink_stdout,
    &sl_sink_file,
    &sl_sink_sqlite,
    &sl_sink_http,
    &sl_source_mqtt,
    &sl_source_nats,
    &sl_sink_mqtt,
    &sl_sink_nats,
    &sl_sink_elasticsearch,
    &sl_sink_postgres,
    &sl_sink_dashboard,
    NULL,
};

const SlComponentType *sl_component_find(const char *name, SlKind kind)
{
    for (const SlComponentType *const *t = registry; *t; t++)
        if ((*t)->kind == kind && !strcmp((*t)->name, name)) return *t;
    return NULL;
}

const SlComponentType *const *sl_component_all(void)
{
    return registry;
}
