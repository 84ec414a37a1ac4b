/*
** store.h: the registry's storage: artifact blobs on disk, addressed by
** their digest, and metadata and tokens in SQLite.
**
** Layout of the data directory:
**   DIR/registry.db            metadata (artifacts, tokens), WAL mode
**   DIR/blobs/sha256/HEX       the archives, named by their SHA-256
**   DIR/tmp/                   uploads being written (emptied at start)
**
** A version becomes visible only when its metadata row is committed, and
** the row is inserted only after its blob is durably in place, so a crash
** at any point leaves either nothing or the whole artifact. UNIQUE(name,
** version) makes versions immutable, also under concurrent publishes.
**
** A Store is one SQLite connection: use one per thread (the server opens
** one per request).
*/
#ifndef SLUICE_REGISTRY_STORE_H
#define SLUICE_REGISTRY_STORE_H

#include "artifact.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum { STORE_TOKEN_LEN = 7 + 64 + 1, /* "sluice_" + hex + NUL */
       STORE_TOKEN_NAME_MAX = 64 };

typedef enum StoreStatus {
    STORE_OK,
    STORE_EXISTS,    /* that name and version are already published */
    STORE_NOT_FOUND,
    STORE_FAILED     /* I/O or database failure; err says what */
} StoreStatus;

typedef struct Store Store;

/* Opens (creating if needed) the data directory. */
Store *store_open(const char *dir, char *err, size_t errlen);
void store_close(Store *s);

/* Removes uploads a crash left in DIR/tmp; call once at server start. */
void store_clean_tmp(const char *dir);

/* Publishes a checked artifact: stores the blob, then the metadata. */
StoreStatus store_publish(Store *s, const Artifact *a, const uint8_t *bytes,
                          size_t len, const char *publisher, json_t **meta,
                          char *err, size_t errlen);

/* {"artifacts":[{name, latest, description, language, versions}]}: every
   name with a version that is not yanked, whose name or description
   contains query (case-insensitive; NULL or "": all). */
json_t *store_search(Store *s, const char *query);

/* {"name", "versions":[metadata...]} newest first, yanked ones included
   (marked); NULL if the name has no version. */
json_t *store_versions(Store *s, const char *name);

/* The metadata of one version; version "latest" means the newest version
   that is not yanked (a release rather than a pre-release when there is
   one). NULL if there is none. */
json_t *store_metadata(Store *s, const char *name, const char *version);

StoreStatus store_yank(Store *s, const char *name, const char *version,
                       bool yanked);

/* The path of a blob, for downloads. */
void store_blob_path(const Store *s, const char *digest, char *path, size_t cap);

/* Makes a token for name; token receives it (shown once), only its hash
   is stored. */
StoreStatus store_token_add(Store *s, const char *name,
                            char token[STORE_TOKEN_LEN], char *err, size_t errlen);

/* STORE_OK with the token's name, or STORE_NOT_FOUND. */
StoreStatus store_token_check(Store *s, const char *token,
                              char name[STORE_TOKEN_NAME_MAX + 1]);

#endif
