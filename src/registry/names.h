/*
** names.h: the rules for artifact names and versions, shared by the
** packager, the server, the client and the resolver so that all of them
** accept and refuse exactly the same strings.
**
** A name is 1..64 characters of [a-z0-9-], not starting with '-'. It is
** used as a path component and in URLs, so nothing else is allowed.
** A version is a semantic version 2.0 (https://semver.org):
** MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], at most 64 characters.
*/
#ifndef SLUICE_REGISTRY_NAMES_H
#define SLUICE_REGISTRY_NAMES_H

#include <stdbool.h>
#include <stddef.h>

enum { REGISTRY_NAME_MAX = 64, REGISTRY_VERSION_MAX = 64 };

/* True if name follows the rules; otherwise writes why into err. */
bool registry_name_valid(const char *name, char *err, size_t errlen);

/* True if version is a semantic version; otherwise writes why into err. */
bool registry_version_valid(const char *version, char *err, size_t errlen);

/* Semver precedence of two valid versions: <0, 0 or >0. Build metadata is
   ignored, as semver says. */
int registry_version_compare(const char *a, const char *b);

/* True if the version has a pre-release part (1.0.0-rc.1). */
bool registry_version_is_prerelease(const char *version);

/* Splits "name@version" (or "name", meaning latest) into its parts, checking
   both; version "latest" is kept as is. Returns false with err filled. */
bool registry_ref_parse(const char *ref, char name[REGISTRY_NAME_MAX + 1],
                        char version[REGISTRY_VERSION_MAX + 1], char *err,
                        size_t errlen);

#endif
