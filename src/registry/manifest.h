/*
** manifest.h: manifest.yaml, the description of an artifact: what the
** function is (name, version, description, language, license, authors),
** how to run it (ABI version, entry module, default configuration, limits)
** and, optionally, the JSON Schemas of its input and output.
**
** The manifest is parsed into JSON (jansson) and checked strictly: unknown
** keys are refused, so that a typo never passes silently. docs/registry.md
** lists the fields.
*/
#ifndef SLUICE_REGISTRY_MANIFEST_H
#define SLUICE_REGISTRY_MANIFEST_H

#include "names.h"

#include <jansson.h>
#include <stddef.h>

enum { MANIFEST_MAX_BYTES = 64 * 1024 };

typedef struct Manifest {
    char name[REGISTRY_NAME_MAX + 1];
    char version[REGISTRY_VERSION_MAX + 1];
    const char *description; /* "" when absent; these point into doc */
    const char *language;    /* "" when absent */
    const char *license;     /* "" when absent */
    const char *entry;       /* the module's file name in the archive */
    int abi;
    json_t *doc;             /* the whole manifest, as JSON */
} Manifest;

/* Parses and checks manifest text. Returns NULL with a message such as
   "manifest.yaml:3: version: invalid version '1.2'..." in err. */
Manifest *manifest_parse(const char *text, size_t len, char *err, size_t errlen);

/* Checks a manifest given as a JSON object (takes a reference to doc). */
Manifest *manifest_from_json(json_t *doc, char *err, size_t errlen);

/* The manifest as YAML text (JSON flow style, which YAML reads), ending
   with a newline; malloc'd. */
char *manifest_to_text(const Manifest *m);

void manifest_free(Manifest *m);

#endif
