/*
** resolve.c: references to artifacts, resolved through the registry and a
** local cache (resolve.h).
*/
#include "resolve.h"

#include "artifact.h"
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_ARCHIVE = 512 << 20, MAX_UNPACKED = 1024 << 20 };

static const char archive_file[] = "artifact.tar.gz";

typedef struct Resolution {
    const char *cache;
    char name[REGISTRY_NAME_MAX + 1];
    char version[REGISTRY_VERSION_MAX + 1];
    char digest[ARTIFACT_DIGEST_LEN];
    char *err;
    size_t errlen;
} Resolution;

static int fail(Resolution *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(Resolution *r, const char *fmt, ...)
{
    int n = snprintf(r->err, r->errlen, "artifact %s@%s: ", r->name, r->version);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->errlen) vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- The cache --------------------------------------------------------- */

static void artifact_dir(const Resolution *r, const char *digest, char *path, size_t cap)
{
    snprintf(path, cap, "%s/artifacts/%s", r->cache, digest + 7);
}

/* The digest this name@version resolved to before, or false. */
static bool cached_ref(Resolution *r, const char *version)
{
    char path[PATH_MAX], e[256];
    snprintf(path, sizeof path, "%s/refs/%s/%s", r->cache, r->name, version);
    size_t len;
    uint8_t *text = file_read_all(path, ARTIFACT_DIGEST_LEN, &len, e, sizeof e);
    bool ok = text && len == ARTIFACT_DIGEST_LEN - 1 && !strncmp((char *)text, "sha256:", 7);
    if (ok) memcpy(r->digest, text, ARTIFACT_DIGEST_LEN);
    free(text);
    return ok;
}

static bool remember_ref(Resolution *r)
{
    char dir[PATH_MAX], path[PATH_MAX + 80], e[256];
    snprintf(dir, sizeof dir, "%s/refs/%s", r->cache, r->name);
    snprintf(path, sizeof path, "%s/%s", dir, r->version);
    return file_make_dirs(dir, e, sizeof e) &&
           file_write_atomic(path, NULL, r->digest, strlen(r->digest), 0644, e, sizeof e);
}

/* The newest version of the name in the cache (for @latest offline). */
static bool newest_cached(Resolution *r)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/refs/%s", r->cache, r->name);
    DIR *d = opendir(dir);
    if (!d) return false;
    char best[REGISTRY_VERSION_MAX + 1] = "", why[128];
    struct dirent *e;
    while ((e = readdir(d)))
        if (registry_version_valid(e->d_name, why, sizeof why) &&
            (!*best || registry_version_compare(e->d_name, best) > 0))
            memcpy(best, e->d_name, strlen(e->d_name) + 1);  /* valid: it fits */
    closedir(d);
    if (!*best || !cached_ref(r, best)) return false;
    snprintf(r->version, sizeof r->version, "%s", best);
    return true;
}

/* Writes the archive and its files into a new directory, then renames it
   to its digest's name, so the cache never holds half an artifact. */
static int cache_store(Resolution *r, const Artifact *a, const uint8_t *bytes, size_t len)
{
    char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX + 80], e[PATH_MAX + 128];
    snprintf(tmp, sizeof tmp, "%s/artifacts", r->cache);
    if (!file_make_dirs(tmp, e, sizeof e)) return fail(r, "cache: %s", e);
    snprintf(tmp, sizeof tmp, "%s/artifacts/.new-XXXXXX", r->cache);
    if (!mkdtemp(tmp)) return fail(r, "cache: %s: %s", tmp, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", tmp, archive_file);
    bool ok = file_write_atomic(path, NULL, bytes, len, 0644, e, sizeof e);
    for (size_t i = 0; ok && i < a->nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, a->files[i].name);
        ok = file_write_atomic(path, NULL, a->files[i].data, a->files[i].len, 0644, e, sizeof e);
    }
    artifact_dir(r, r->digest, dir, sizeof dir);
    if (ok && rename(tmp, dir) != 0 && errno != EEXIST && errno != ENOTEMPTY) {
        snprintf(e, sizeof e, "%s: %s", dir, strerror(errno));
        ok = false;
    }
    for (size_t i = 0; i < a->nfiles + 1; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, i < a->nfiles ? a->files[i].name : archive_file);
        unlink(path);
    }
    rmdir(tmp);
    return ok ? 0 : fail(r, "cache: %s", e);
}

/* ---- Checks ------------------------------------------------------------ */

static bool trusted(const char *signer, const char *const *trusted_signers)
{
    for (; *signer && *trusted_signers; trusted_signers++)
        if (!strcmp(signer, *trusted_signers)) return true;
    return false;
}

/* Opens the archive, checks that it is what the reference asked for and,
   when required, that a trusted signer signed it. */
static Artifact *open_checked(Resolution *r, const uint8_t *bytes, size_t len,
                              const char *const *trusted_signers)
{
    char e[1024];
    Artifact *a = artifact_read(bytes, len, MAX_UNPACKED, e, sizeof e);
    if (!a) {
        fail(r, "%s", e);
        return NULL;
    }
    if (strcmp(a->manifest->name, r->name) || strcmp(a->manifest->version, r->version))
        fail(r, "the archive holds %s@%s instead", a->manifest->name, a->manifest->version);
    else if (trusted_signers && !*a->signer)
        fail(r, "not signed, and the pipeline requires a trusted signer");
    else if (trusted_signers && !trusted(a->signer, trusted_signers))
        fail(r, "signed by %s, which is not a trusted signer", a->signer);
    else
        return a;
    artifact_free(a);
    return NULL;
}

static int hand_over(Resolution *r, Artifact *a, char **module_path, Manifest **manifest)
{
    char dir[PATH_MAX], path[PATH_MAX + 80];
    artifact_dir(r, r->digest, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, a->manifest->entry);
    *module_path = strdup(path);
    if (!*module_path) return fail(r, "out of memory");
    *manifest = a->manifest;
    a->manifest = NULL;
    return 0;
}

/* ---- Resolving --------------------------------------------------------- */

/* From the cache, whose archive must still match its digest. */
static int from_cache(Resolution *r, const char *const *trusted_signers,
                      char **module_path, Manifest **manifest)
{
    char dir[PATH_MAX], path[PATH_MAX + 80], e[512], got[ARTIFACT_DIGEST_LEN];
    artifact_dir(r, r->digest, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, archive_file);
    size_t len;
    uint8_t *bytes = file_read_all(path, MAX_ARCHIVE, &len, e, sizeof e);
    if (!bytes) return fail(r, "cache: %s", e);
    artifact_digest(bytes, len, got);
    if (strcmp(got, r->digest)) {
        free(bytes);
        return fail(r, "the cached archive %s does not match its digest %s; "
                    "delete it to download it again", path, r->digest);
    }
    Artifact *a = open_checked(r, bytes, len, trusted_signers);
    free(bytes);
    if (!a) return -1;
    int rc = hand_over(r, a, module_path, manifest);
    artifact_free(a);
    return rc;
}

static int download(Resolution *r, const RegistryClientConfig *config,
                    const char *const *trusted_signers, char **module_path,
                    Manifest **manifest)
{
    uint8_t *bytes;
    size_t len;
    json_t *meta;
    char e[1024];
    if (!client_download(config, r->name, r->version, &bytes, &len, &meta, e, sizeof e))
        return fail(r, "%s", e);
    json_decref(meta);
    artifact_digest(bytes, len, r->digest);
    Artifact *a = open_checked(r, bytes, len, trusted_signers);
    int rc = -1;
    if (a && cache_store(r, a, bytes, len) == 0) {
        if (remember_ref(r)) rc = hand_over(r, a, module_path, manifest);
        else fail(r, "cannot write to the cache %s", r->cache);
    }
    free(bytes);
    artifact_free(a);
    return rc;
}

/* Asks the registry which version @latest is; false if it cannot be
   reached (err empty) or refuses (err filled). */
static bool ask_latest(Resolution *r, const RegistryClientConfig *config)
{
    char path[256], e[1024];
    snprintf(path, sizeof path, "/artifacts/%s/latest", r->name);
    json_t *doc = NULL;
    long status = client_call(config, "GET", path, NULL, 0, &doc, e, sizeof e);
    const char *version = json_string_value(json_object_get(doc, "version"));
    if (status == 200 && version && strlen(version) <= REGISTRY_VERSION_MAX)
        snprintf(r->version, sizeof r->version, "%s", version);
    else if (status) fail(r, "%s", e);
    json_decref(doc);
    return status == 200 && version;
}

int registry_resolve(const RegistryClientConfig *config, const char *ref,
                     const char *cache_dir, const char *const *trusted_signers,
                     char **module_path_out, Manifest **manifest_out,
                     char *err, size_t errlen)
{
    Resolution r = { .cache = cache_dir, .err = err, .errlen = errlen };
    *module_path_out = NULL;
    *manifest_out = NULL;
    err[0] = '\0';
    if (!registry_ref_parse(ref, r.name, r.version, err, errlen)) return -1;
    if (!sign_init()) return fail(&r, "cannot start libsodium");
    if (!strcmp(r.version, "latest")) {
        bool online = config && ask_latest(&r, config);
        if (!online && *err) return -1;
        if (!online && !newest_cached(&r))
            return fail(&r, "the registry cannot be reached%s and nothing is cached",
                        config ? "" : " (no registry configured)");
    }
    if (cached_ref(&r, r.version))
        return from_cache(&r, trusted_signers, module_path_out, manifest_out);
    if (!config)
        return fail(&r, "not in the cache %s, and no registry is configured", cache_dir);
    return download(&r, config, trusted_signers, module_path_out, manifest_out);
}
