/*
** yamljson.h: turning a libyaml document into JSON (jansson) following
** YAML's core schema: plain scalars may be numbers, booleans or null;
** quoted ones are strings. Used for manifest.yaml (src/registry) and the
** test cases of `sluice fn test`. Implemented in yamljson.c.
*/
#ifndef SLUICE_YAMLJSON_H
#define SLUICE_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>
#include <yaml.h>

/* Where and why a conversion failed. */
typedef struct YamlJsonError {
    size_t line;       /* of the node at fault, from 1 */
    char message[128]; /* empty when out of memory */
} YamlJsonError;

/* The JSON value of node (of doc) and everything under it; NULL with *err
   filled on a key that is not a scalar, an empty node, nesting deeper than
   max_depth, or lack of memory. */
json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *node, int max_depth,
                     YamlJsonError *err);

#endif
