/*
** artifact.c: writing and reading artifact archives (artifact.h) with
** libarchive, and their digests and signatures with libsodium.
*/
#include "artifact.h"

#include "sluice_fn_host.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { READ_CHUNK = 64 * 1024 };

static const char manifest_name[] = "manifest.yaml";
static const char signature_name[] = "signature";
static const char signature_tag[] = "ed25519 ";
static const char payload_header[] = "sluice-artifact-signature-v1\n";

/* "ed25519 PUBLIC_HEX SIGNATURE_HEX\n" and its NUL. */
enum { SIGNATURE_TEXT = sizeof signature_tag + 2 * SIGN_PUBLIC_BYTES + 1 + 2 * SIGN_BYTES + 2 };

void artifact_digest(const uint8_t *bytes, size_t len,
                     char digest[ARTIFACT_DIGEST_LEN])
{
    uint8_t hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, bytes, len);
    memcpy(digest, "sha256:", 7);
    sodium_bin2hex(digest + 7, ARTIFACT_DIGEST_LEN - 7, hash, sizeof hash);
}

/* ---- Signatures -------------------------------------------------------- */

/* What a signature covers: a header, then "SHA256HEX NAME\n" for every file
   but the signature, in archive order. The manifest names the function and
   its version, so the signature binds them to the module. */
static char *signed_payload(const ArtifactFile *files, size_t nfiles, size_t *len)
{
    size_t cap = sizeof payload_header + nfiles * (64 + 1 + 72 + 1);
    char *p = malloc(cap);
    if (!p) return NULL;
    size_t n = (size_t)snprintf(p, cap, "%s", payload_header);
    for (size_t i = 0; i < nfiles; i++) {
        if (!strcmp(files[i].name, signature_name)) continue;
        char digest[ARTIFACT_DIGEST_LEN];
        artifact_digest(files[i].data, files[i].len, digest);
        n += (size_t)snprintf(p + n, cap - n, "%s %s\n", digest + 7, files[i].name);
    }
    *len = n;
    return p;
}

bool artifact_signature_check(Artifact *a, const ArtifactFile *sig,
                              char *err, size_t errlen)
{
    const char *text = (const char *)sig->data;
    size_t tag = sizeof signature_tag - 1, pub = 2 * SIGN_PUBLIC_BYTES;
    uint8_t public_key[SIGN_PUBLIC_BYTES], signature[SIGN_BYTES];
    size_t len = sig->len;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    bool ok = len == tag + pub + 1 + 2 * SIGN_BYTES &&
              !memcmp(text, signature_tag, tag) && text[tag + pub] == ' ' &&
              sign_unhex(text + tag, pub, public_key, sizeof public_key) &&
              sign_unhex(text + tag + pub + 1, 2 * SIGN_BYTES, signature, sizeof signature);
    if (!ok) {
        snprintf(err, errlen, "the signature file is malformed (expected "
                 "'ed25519 PUBLIC_KEY_HEX SIGNATURE_HEX')");
        return false;
    }
    size_t plen;
    char *payload = signed_payload(a->files, a->nfiles, &plen);
    if (!payload) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    ok = sign_verify(public_key, signature, (const uint8_t *)payload, plen);
    free(payload);
    if (!ok) {
        snprintf(err, errlen, "the signature does not match the contents: the "
                 "artifact was modified after it was signed");
        return false;
    }
    sign_public_hex(public_key, a->signer);
    return true;
}

/* ---- Reading ----------------------------------------------------------- */

static const ArtifactFile *find_file(const Artifact *a, const char *name)
{
    for (size_t i = 0; i < a->nfiles; i++)
        if (!strcmp(a->files[i].name, name)) return &a->files[i];
    return NULL;
}

static bool is_wasm_name(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && !strcmp(name + len - 5, ".wasm");
}

/* A name this format knows, as a plain top-level file name. */
static bool known_name(const char *name)
{
    static const char *const names[] = { "manifest.yaml", "README.md",
                                         "tests.yaml", "signature" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return true;
    return is_wasm_name(name) && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == strlen(name);
}

static bool entry_acceptable(Artifact *a, struct archive_entry *e, char *err,
                             size_t errlen)
{
    const char *name = archive_entry_pathname(e);
    if (!name || !*name) {
        snprintf(err, errlen, "corrupt archive: an entry has no name");
        return false;
    }
    if (name[0] == '/' || strstr(name, "..") || strchr(name, '/') || strchr(name, '\\')) {
        snprintf(err, errlen, "archive entry '%.100s': paths are not allowed, "
                 "only plain file names", name);
        return false;
    }
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
        snprintf(err, errlen, "archive entry '%.100s': only regular files are "
                 "allowed (no directories or links)", name);
        return false;
    }
    if (!known_name(name) || strlen(name) >= sizeof a->files[0].name) {
        snprintf(err, errlen, "archive entry '%.100s': unknown file (allowed: "
                 "manifest.yaml, the entry module, README.md, tests.yaml, "
                 "signature)", name);
        return false;
    }
    if (find_file(a, name)) {
        snprintf(err, errlen, "archive entry '%.100s' appears twice", name);
        return false;
    }
    return true;
}

/* Reads the current entry's data into file, refusing more than cap bytes
   (counted as decompressed, whatever the header claims). */
static bool read_entry(struct archive *ar, ArtifactFile *file, size_t cap,
                       char *err, size_t errlen)
{
    size_t size = 0, alloc = 0;
    uint8_t *data = NULL;
    for (;;) {
        if (alloc - size < READ_CHUNK) {
            size_t want = alloc ? alloc * 2 : READ_CHUNK;
            uint8_t *grown = realloc(data, want);
            if (!grown) {
                free(data);
                snprintf(err, errlen, "out of memory");
                return false;
            }
            data = grown;
            alloc = want;
        }
        la_ssize_t n = archive_read_data(ar, data + size, alloc - size);
        if (n < 0) {
            free(data);
            snprintf(err, errlen, "corrupt archive: %s", archive_error_string(ar));
            return false;
        }
        if (n == 0) break;
        size += (size_t)n;
        if (size > cap) {
            free(data);
            snprintf(err, errlen, "archive entry '%s' is too large once "
                     "unpacked (limit %zu bytes)", file->name, cap);
            return false;
        }
    }
    file->data = data;
    file->len = size;
    return true;
}

static bool read_entries(Artifact *a, struct archive *ar, size_t max_unpacked,
                         char *err, size_t errlen)
{
    size_t total = 0;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
        if (a->nfiles == ARTIFACT_MAX_FILES) {
            snprintf(err, errlen, "the archive has too many files");
            return false;
        }
        if (!entry_acceptable(a, e, err, errlen)) return false;
        ArtifactFile *f = &a->files[a->nfiles];
        snprintf(f->name, sizeof f->name, "%s", archive_entry_pathname(e));
        size_t cap = is_wasm_name(f->name) ? max_unpacked - total
                                           : ARTIFACT_MAX_SMALL_FILE;
        if (!read_entry(ar, f, cap, err, errlen)) return false;
        a->nfiles++;
        total += f->len;
        if (total > max_unpacked) {
            snprintf(err, errlen, "the archive is too large once unpacked "
                     "(limit %zu bytes)", max_unpacked);
            return false;
        }
    }
    if (r != ARCHIVE_EOF) {
        snprintf(err, errlen, "corrupt archive: %s", archive_error_string(ar));
        return false;
    }
    return true;
}

/* The manifest, the module it names, no other module, the signature. */
static bool contents_valid(Artifact *a, char *err, size_t errlen)
{
    const ArtifactFile *mf = find_file(a, manifest_name);
    if (!mf) {
        snprintf(err, errlen, "the archive has no manifest.yaml");
        return false;
    }
    a->manifest = manifest_parse((const char *)mf->data, mf->len, err, errlen);
    if (!a->manifest) return false;
    a->module = find_file(a, a->manifest->entry);
    if (!a->module) {
        snprintf(err, errlen, "the archive lacks the entry module '%s' named "
                 "by manifest.yaml", a->manifest->entry);
        return false;
    }
    for (size_t i = 0; i < a->nfiles; i++)
        if (is_wasm_name(a->files[i].name) && &a->files[i] != a->module) {
            snprintf(err, errlen, "archive entry '%s': only the entry module "
                     "'%s' may be in the archive", a->files[i].name,
                     a->manifest->entry);
            return false;
        }
    const ArtifactFile *sig = find_file(a, signature_name);
    return !sig || artifact_signature_check(a, sig, err, errlen);
}

Artifact *artifact_read(const uint8_t *bytes, size_t len, size_t max_unpacked,
                        char *err, size_t errlen)
{
    Artifact *a = calloc(1, sizeof *a);
    struct archive *ar = archive_read_new();
    if (!a || !ar) {
        snprintf(err, errlen, "out of memory");
        free(a);
        archive_read_free(ar);
        return NULL;
    }
    archive_read_support_filter_gzip(ar);
    archive_read_support_format_tar(ar);
    bool ok = archive_read_open_memory(ar, bytes, len) == ARCHIVE_OK;
    if (!ok)
        snprintf(err, errlen, "corrupt archive: %s (an artifact is a .tar.gz "
                 "made by `sluice fn package`)", archive_error_string(ar));
    ok = ok && read_entries(a, ar, max_unpacked, err, errlen) &&
         contents_valid(a, err, errlen);
    archive_read_free(ar);
    if (!ok) {
        artifact_free(a);
        return NULL;
    }
    return a;
}

bool artifact_check_module(const Artifact *a, char *err, size_t errlen)
{
    sfn_error ferr;
    sfn_module *m = sfn_module_load(a->manifest->name, a->module->data,
                                    a->module->len, &ferr);
    if (!m) {
        snprintf(err, errlen, "module %s: %s", a->module->name, ferr.message);
        return false;
    }
    sfn_module_free(m);
    return true;
}

void artifact_free(Artifact *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->nfiles; i++) free(a->files[i].data);
    manifest_free(a->manifest);
    free(a);
}

/* ---- Writing ----------------------------------------------------------- */

typedef struct Buffer {
    uint8_t *data;
    size_t len, cap;
} Buffer;

static la_ssize_t buffer_write(struct archive *ar, void *user, const void *data,
                               size_t n)
{
    Buffer *b = user;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap - b->len < n) cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            archive_set_error(ar, ENOMEM, "out of memory");
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return (la_ssize_t)n;
}

/* One file with fixed owner, mode and time, so that packaging the same
   files twice gives the same bytes. */
static bool add_file(struct archive *ar, const ArtifactFile *f)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) return false;
    archive_entry_set_pathname(e, f->name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)f->len);
    archive_entry_set_mtime(e, 0, 0);
    bool ok = archive_write_header(ar, e) == ARCHIVE_OK &&
              (f->len == 0 || archive_write_data(ar, f->data, f->len) == (la_ssize_t)f->len);
    archive_entry_free(e);
    return ok;
}

static bool add_signature(ArtifactFile *files, size_t *nfiles, const SignKey *key,
                          char text[SIGNATURE_TEXT])
{
    size_t plen;
    char *payload = signed_payload(files, *nfiles, &plen);
    if (!payload) return false;
    uint8_t sig[SIGN_BYTES];
    sign_message(key, (const uint8_t *)payload, plen, sig);
    free(payload);
    char pub[SIGN_PUBLIC_HEX], sighex[2 * SIGN_BYTES + 1];
    sign_public_hex(key->public_key, pub);
    sodium_bin2hex(sighex, sizeof sighex, sig, sizeof sig);
    int n = snprintf(text, SIGNATURE_TEXT, "%s%s %s\n", signature_tag, pub, sighex);
    ArtifactFile *f = &files[(*nfiles)++];
    snprintf(f->name, sizeof f->name, "%s", signature_name);
    f->data = (uint8_t *)text;
    f->len = (size_t)n;
    return true;
}

bool artifact_write(const Manifest *manifest, const ArtifactFile *module,
                    const ArtifactFile *readme, const ArtifactFile *tests,
                    const SignKey *key, uint8_t **out, size_t *outlen,
                    char *err, size_t errlen)
{
    char *mtext = manifest_to_text(manifest);
    char sigtext[SIGNATURE_TEXT];
    ArtifactFile files[ARTIFACT_MAX_FILES];
    size_t n = 0;
    files[n] = (ArtifactFile){ .data = (uint8_t *)mtext, .len = mtext ? strlen(mtext) : 0 };
    snprintf(files[n++].name, sizeof files[0].name, "%s", manifest_name);
    files[n++] = *module;
    if (readme) files[n++] = *readme;
    if (tests) files[n++] = *tests;
    Buffer buf = { 0 };
    struct archive *ar = archive_write_new();
    bool ok = mtext && ar && (!key || add_signature(files, &n, key, sigtext)) &&
              archive_write_set_format_pax_restricted(ar) == ARCHIVE_OK &&
              archive_write_add_filter_gzip(ar) == ARCHIVE_OK &&
              archive_write_set_filter_option(ar, "gzip", "timestamp", NULL) == ARCHIVE_OK &&
              archive_write_set_bytes_in_last_block(ar, 1) == ARCHIVE_OK &&
              archive_write_open(ar, &buf, NULL, buffer_write, NULL) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i++) ok = add_file(ar, &files[i]);
    ok = ok && archive_write_close(ar) == ARCHIVE_OK;
    if (!ok) {
        snprintf(err, errlen, "cannot write the archive: %s",
                 ar && archive_error_string(ar) ? archive_error_string(ar) : "out of memory");
        free(buf.data);
    } else {
        *out = buf.data;
        *outlen = buf.len;
    }
    archive_write_free(ar);
    free(mtext);
    return ok;
}
