/*
** resolve.h: turning a pipeline's `artifact: NAME@VERSION` into a module
** file on disk, for the function node.
**
** registry_resolve asks the registry which artifact the reference means,
** downloads it unless it is cached, checks its digest (and its signer when
** trusted signers are required), and keeps it under cache_dir:
**
**   CACHE/artifacts/HEX/         one artifact, named by its digest: the
**                                archive (artifact.tar.gz) and its files
**   CACHE/refs/NAME/VERSION      the digest NAME@VERSION resolved to
**
** So a restart works offline: an exact version is served from the cache
** without asking the registry (versions are immutable), and @latest falls
** back to the newest cached version when the registry cannot be reached.
** Every use re-checks the cached archive against its digest.
*/
#ifndef SLUICE_REGISTRY_RESOLVE_H
#define SLUICE_REGISTRY_RESOLVE_H

#include "client.h"
#include "manifest.h"

#include <stddef.h>

/* ref is "name@1.2.0", "name@latest" or "name". config may be NULL to stay
   offline. trusted_signers is a NULL-terminated list of public keys (hex,
   as printed by `sluice keygen`), or NULL to accept unsigned artifacts (a
   signature that does not match is refused either way).
   On success returns 0 with *module_path_out (malloc'd) naming the module
   file in the cache and *manifest_out the manifest (manifest_free).
   On failure returns -1 with a message in err. */
int registry_resolve(const RegistryClientConfig *config, const char *ref,
                     const char *cache_dir, const char *const *trusted_signers,
                     char **module_path_out, Manifest **manifest_out,
                     char *err, size_t errlen);

#endif
