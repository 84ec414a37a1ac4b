/*
** artifact.h: the artifact format. An artifact is one gzip-compressed tar
** archive holding, as plain files at its top level and nothing else:
**
**   manifest.yaml   the manifest (manifest.h); required
**   ENTRY.wasm      the module named by the manifest's `entry`; required
**   README.md       optional documentation
**   tests.yaml      optional test cases (the format of `sluice fn test`)
**   signature       optional: "ed25519 PUBLIC_HEX SIGNATURE_HEX", a
**                   signature of every other file (artifact_signed_payload)
**
** The SHA-256 of the archive's bytes, written "sha256:HEX", identifies it.
** Reading is defensive: directories, links, paths, duplicates, unknown
** names and oversized contents (counted while decompressing, so a small
** archive cannot expand without bound) are refused.
*/
#ifndef SLUICE_REGISTRY_ARTIFACT_H
#define SLUICE_REGISTRY_ARTIFACT_H

#include "manifest.h"
#include "sign.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    ARTIFACT_MAX_FILES = 5,
    ARTIFACT_DIGEST_LEN = 7 + 64 + 1, /* "sha256:" + hex + NUL */
    ARTIFACT_MAX_SMALL_FILE = 1 << 20 /* any file but the module */
};

typedef struct ArtifactFile {
    char name[72];
    uint8_t *data;
    size_t len;
} ArtifactFile;

typedef struct Artifact {
    Manifest *manifest;
    ArtifactFile files[ARTIFACT_MAX_FILES]; /* in archive order */
    size_t nfiles;
    const ArtifactFile *module;
    char signer[SIGN_PUBLIC_HEX]; /* public key of a valid signature, or "" */
} Artifact;

/* "sha256:HEX" of the bytes. */
void artifact_digest(const uint8_t *bytes, size_t len,
                     char digest[ARTIFACT_DIGEST_LEN]);

/* Opens an archive held in memory: checks its entries, the manifest and
   the signature if there is one (a signature that does not match is an
   error). max_unpacked bounds the total size of the files. Does not
   validate the module (see artifact_check_module). */
Artifact *artifact_read(const uint8_t *bytes, size_t len, size_t max_unpacked,
                        char *err, size_t errlen);

/* Checks sig, the archive's signature file, against the files of a and
   sets a->signer; false with a message if it does not match (a file was
   modified after it was signed). artifact_read calls it. */
bool artifact_signature_check(Artifact *a, const ArtifactFile *sig,
                              char *err, size_t errlen);

/* Loads the module with the engine and checks its ABI exports and
   imports; the message names the problem (and its byte offset for a
   malformed or invalid module). */
bool artifact_check_module(const Artifact *a, char *err, size_t errlen);

/* Builds an archive from the manifest, the module and the optional README
   and tests (NULL: absent), signed with key unless it is NULL. */
bool artifact_write(const Manifest *manifest, const ArtifactFile *module,
                    const ArtifactFile *readme, const ArtifactFile *tests,
                    const SignKey *key, uint8_t **out, size_t *outlen,
                    char *err, size_t errlen);

void artifact_free(Artifact *a);

#endif
