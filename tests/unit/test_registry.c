/*
** test_registry.c: the parts of the function registry that need no server:
** names and semantic versions, manifests, and the artifact format (writing,
** reading back, signatures, and the defences of the reader), through the
** registry's headers and libsluice.a; tests/e2e/registry.sh covers the
** server, client and resolver.
*/
#include "unit.h"

#include "../../src/registry/artifact.h"
#include "../../src/registry/files.h"
#include "../../src/registry/manifest.h"
#include "../../src/registry/names.h"
#include "../../src/registry/sign.h"

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

/* A valid ABI v1 module: memory and the four required functions. */
static const uint8_t guest[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    /* types: () -> i32, (i32) -> i32, (i32 i32) -> (), (i32 i32) -> i32 */
    0x01, 0x15, 0x04, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f,
    0x60, 0x02, 0x7f, 0x7f, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,
    0x03, 0x05, 0x04, 0x00, 0x01, 0x02, 0x03,             /* functions */
    0x05, 0x03, 0x01, 0x00, 0x01,                         /* memory 1 */
    0x07, 0x4d, 0x05,                                     /* exports */
    0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
    0x12, 's', 'l', 'u', 'i', 'c', 'e', '_', 'a', 'b', 'i', '_', 'v', 'e',
    'r', 's', 'i', 'o', 'n', 0x00, 0x00,
    0x0c, 's', 'l', 'u', 'i', 'c', 'e', '_', 'a', 'l', 'l', 'o', 'c', 0x00, 0x01,
    0x0b, 's', 'l', 'u', 'i', 'c', 'e', '_', 'f', 'r', 'e', 'e', 0x00, 0x02,
    0x0e, 's', 'l', 'u', 'i', 'c', 'e', '_', 'e', 'x', 'e', 'c', 'u', 't', 'e',
    0x00, 0x03,
    0x0a, 0x13, 0x04,                                     /* code */
    0x04, 0x00, 0x41, 0x01, 0x0b, 0x04, 0x00, 0x41, 0x00, 0x0b,
    0x02, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x00, 0x0b,
};

static const char manifest_text[] =
    "name: demo\nversion: 1.2.0\nabi: 1\nentry: demo.wasm\n"
    "description: a demo\nauthors: [Ada]\nconfig: {factor: 2}\n"
    "limits: {fuel: 1000}\n";

static char err[1024];

TEST(names)
{
    CHECK(registry_name_valid("anomaly-detection", err, sizeof err));
    CHECK(registry_name_valid("a", err, sizeof err));
    CHECK(!registry_name_valid("", err, sizeof err));
    CHECK(!registry_name_valid("-x", err, sizeof err));
    CHECK(!registry_name_valid("Upper", err, sizeof err));
    CHECK(!registry_name_valid("a/b", err, sizeof err));
    CHECK(!registry_name_valid("..", err, sizeof err));
    CHECK(!registry_name_valid("a_b", err, sizeof err));
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    CHECK(!registry_name_valid(long_name, err, sizeof err));
    long_name[64] = '\0';
    CHECK(registry_name_valid(long_name, err, sizeof err));
}

TEST(versions)
{
    static const char *const good[] = { "0.0.0", "1.2.3", "10.20.30", "1.0.0-rc.1",
                                        "1.0.0-alpha-a.b-c", "1.0.0+build.5",
                                        "1.0.0-0.3.7+x" };
    static const char *const bad[] = { "1.0", "1", "01.0.0", "1.0.0-", "1.0.0+",
                                       "1.0.0-01", "1.0.0-a..b", "1.0.0 ", "v1.0.0",
                                       "1.0.0/x", "1.0.0-a_b", "" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(registry_version_valid(good[i], err, sizeof err));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!registry_version_valid(bad[i], err, sizeof err));
}

TEST(version_order)
{
    /* The order of semver.org's example, then numeric, not textual, parts. */
    static const char *const order[] = { "1.0.0-alpha", "1.0.0-alpha.1",
        "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
        "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0" };
    size_t n = sizeof order / sizeof *order;
    for (size_t i = 0; i + 1 < n; i++) {
        CHECK(registry_version_compare(order[i], order[i + 1]) < 0);
        CHECK(registry_version_compare(order[i + 1], order[i]) > 0);
    }
    CHECK_EQ_INT(registry_version_compare("1.0.0+a", "1.0.0+b"), 0);
    CHECK(registry_version_is_prerelease("1.0.0-rc.1"));
    CHECK(!registry_version_is_prerelease("1.0.0+rc-1"));
}

TEST(refs)
{
    char name[REGISTRY_NAME_MAX + 1], version[REGISTRY_VERSION_MAX + 1];
    CHECK(registry_ref_parse("x@1.2.0", name, version, err, sizeof err));
    CHECK(!strcmp(name, "x") && !strcmp(version, "1.2.0"));
    CHECK(registry_ref_parse("x", name, version, err, sizeof err));
    CHECK(!strcmp(version, "latest"));
    CHECK(registry_ref_parse("x@latest", name, version, err, sizeof err));
    CHECK(!registry_ref_parse("x@", name, version, err, sizeof err));
    CHECK(!registry_ref_parse("@1.0.0", name, version, err, sizeof err));
    CHECK(!registry_ref_parse("../x@1.0.0", name, version, err, sizeof err));
}

TEST(manifests)
{
    Manifest *m = manifest_parse(manifest_text, strlen(manifest_text), err, sizeof err);
    CHECK(m != NULL);
    if (!m) return;
    CHECK(!strcmp(m->name, "demo") && !strcmp(m->version, "1.2.0"));
    CHECK(!strcmp(m->entry, "demo.wasm") && !strcmp(m->description, "a demo"));
    CHECK(!strcmp(m->language, "") && m->abi == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(m->doc, "config"), "factor")) == 2);
    char *text = manifest_to_text(m);
    Manifest *again = text ? manifest_parse(text, strlen(text), err, sizeof err) : NULL;
    CHECK(again && json_equal(again->doc, m->doc));
    manifest_free(again);
    free(text);
    manifest_free(m);
}

/* The message manifest_parse gives for text, or "" if it accepts it. */
static const char *manifest_error(const char *text)
{
    Manifest *m = manifest_parse(text, strlen(text), err, sizeof err);
    if (m) err[0] = '\0';
    manifest_free(m);
    return err;
}

TEST(manifest_errors)
{
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 1\n"), "missing field 'entry'"));
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 2\nentry: m.wasm\n"), "'abi' must be 1"));
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 1\nentry: ../m.wasm\n"), "plain file name"));
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 1\nentry: m.wasm\nextra: 1\n"),
                 "unknown field 'extra'"));
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 1\nentry: m.wasm\nlimits: {fuel: -1}\n"),
                 "non-negative"));
    CHECK(strstr(manifest_error("name: x\nversion: 1.0.0\nabi: 1\nentry: m.wasm\nauthors: Ada\n"),
                 "list of strings"));
    CHECK(strstr(manifest_error("name: [x\n"), "manifest.yaml: line"));
    CHECK(strstr(manifest_error("- a\n- b\n"), "must be a YAML mapping"));
    CHECK(!*manifest_error(manifest_text));
}

/* An archive of the demo manifest and the guest, signed with key if any. */
static uint8_t *demo_archive(const SignKey *key, size_t *len)
{
    Manifest *m = manifest_parse(manifest_text, strlen(manifest_text), err, sizeof err);
    ArtifactFile module = { .name = "demo.wasm", .data = (uint8_t *)guest, .len = sizeof guest };
    ArtifactFile readme = { .name = "README.md", .data = (uint8_t *)"# demo\n", .len = 7 };
    uint8_t *bytes = NULL;
    CHECK(m && artifact_write(m, &module, &readme, NULL, key, &bytes, len, err, sizeof err));
    manifest_free(m);
    return bytes;
}

TEST(round_trip)
{
    size_t len;
    uint8_t *bytes = demo_archive(NULL, &len);
    Artifact *a = bytes ? artifact_read(bytes, len, 1 << 20, err, sizeof err) : NULL;
    CHECK(a != NULL);
    if (a) {
        CHECK_EQ_INT(a->nfiles, 3);
        CHECK(a->module && a->module->len == sizeof guest);
        CHECK(!strcmp(a->signer, ""));
        CHECK(artifact_check_module(a, err, sizeof err));
    }
    artifact_free(a);
    size_t len2;
    uint8_t *bytes2 = demo_archive(NULL, &len2);
    CHECK(bytes2 && len2 == len && !memcmp(bytes, bytes2, len));
    char digest[ARTIFACT_DIGEST_LEN];
    artifact_digest(bytes, len, digest);
    CHECK(!strncmp(digest, "sha256:", 7) && strlen(digest) == 71);
    free(bytes);
    free(bytes2);
}

TEST(signatures)
{
    SignKey key;
    crypto_sign_keypair(key.public_key, key.secret);
    char pub[SIGN_PUBLIC_HEX];
    sign_public_hex(key.public_key, pub);
    size_t len;
    uint8_t *bytes = demo_archive(&key, &len);
    Artifact *a = bytes ? artifact_read(bytes, len, 1 << 20, err, sizeof err) : NULL;
    CHECK(a && !strcmp(a->signer, pub));
    if (a) {
        /* Any change to a signed file breaks the signature. */
        ArtifactFile *module = (ArtifactFile *)a->module;
        module->data[module->len - 1] ^= 1;
        ArtifactFile *sig = NULL;
        for (size_t i = 0; i < a->nfiles; i++)
            if (!strcmp(a->files[i].name, "signature")) sig = &a->files[i];
        CHECK(sig && !artifact_signature_check(a, sig, err, sizeof err));
        CHECK(strstr(err, "modified after it was signed") != NULL);
    }
    artifact_free(a);
    free(bytes);
}

/* A tar.gz of the given entries (name, type, content) made with libarchive,
   of at most 64 KiB: enough for these small or highly compressible files. */
static uint8_t *raw_archive(const char *const *names, const mode_t *types,
                            const char *const *contents, size_t n, size_t *len)
{
    size_t cap = 1 << 16;
    uint8_t *data = malloc(cap);
    struct archive *ar = archive_write_new();
    archive_write_set_format_pax_restricted(ar);
    archive_write_add_filter_gzip(ar);
    archive_write_open_memory(ar, data, cap, len);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, types[i]);
        archive_entry_set_perm(e, 0644);
        if (types[i] == AE_IFLNK) archive_entry_set_symlink(e, contents[i]);
        else archive_entry_set_size(e, (la_int64_t)strlen(contents[i]));
        archive_write_header(ar, e);
        if (types[i] == AE_IFREG) archive_write_data(ar, contents[i], strlen(contents[i]));
        archive_entry_free(e);
    }
    archive_write_close(ar);
    archive_write_free(ar);
    return data;
}

/* The message artifact_read gives for one extra entry beside a manifest. */
static const char *read_error(const char *name, mode_t type, const char *content)
{
    const char *names[] = { "manifest.yaml", name };
    const mode_t types[] = { AE_IFREG, type };
    const char *contents[] = { manifest_text, content };
    size_t len;
    uint8_t *bytes = raw_archive(names, types, contents, 2, &len);
    Artifact *a = artifact_read(bytes, len, 1 << 20, err, sizeof err);
    if (a) err[0] = '\0';
    artifact_free(a);
    free(bytes);
    return err;
}

TEST(reader_defences)
{
    CHECK(strstr(read_error("../demo.wasm", AE_IFREG, "x"), "paths are not allowed"));
    CHECK(strstr(read_error("/demo.wasm", AE_IFREG, "x"), "paths are not allowed"));
    CHECK(strstr(read_error("sub/demo.wasm", AE_IFREG, "x"), "paths are not allowed"));
    CHECK(strstr(read_error("demo.wasm", AE_IFLNK, "/etc/passwd"), "only regular files"));
    CHECK(strstr(read_error("demo.wasm", AE_IFDIR, ""), "archive entry 'demo.wasm"));
    CHECK(strstr(read_error("notes.txt", AE_IFREG, "x"), "unknown file"));
    CHECK(strstr(read_error("manifest.yaml", AE_IFREG, "x"), "appears twice"));
    CHECK(strstr(read_error("other.wasm", AE_IFREG, "x"), "lacks the entry module"));
    CHECK(strstr(read_error("signature", AE_IFREG, "nonsense"), "lacks the entry module"));
    /* Reading checks the format; judging the module is artifact_check_module's. */
    CHECK(!*read_error("demo.wasm", AE_IFREG, "\1"));
    uint8_t junk[64] = { 0x1f, 0x8b, 8 };
    CHECK(!artifact_read(junk, sizeof junk, 1 << 20, err, sizeof err));
    CHECK(strstr(err, "corrupt archive") != NULL);
    CHECK(!artifact_read(junk, 0, 1 << 20, err, sizeof err));
}

TEST(unpacked_limit)
{
    size_t big = 4 << 20;
    char *zeros = malloc(big + 1);
    if (!zeros) return;
    memset(zeros, '0', big);
    zeros[big] = '\0';
    const char *names[] = { "manifest.yaml", "demo.wasm" };
    const mode_t types[] = { AE_IFREG, AE_IFREG };
    const char *contents[] = { manifest_text, zeros };
    size_t len;
    uint8_t *bytes = raw_archive(names, types, contents, 2, &len);
    CHECK(len < big / 100); /* a small archive... */
    CHECK(!artifact_read(bytes, len, 1 << 20, err, sizeof err)); /* ...that unpacks big */
    CHECK(strstr(err, "too large once unpacked") != NULL);
    free(bytes);
    free(zeros);
}

/* Every truncation and every corrupted byte of a signed archive is either
   read or refused with a message: never a crash (run under ASan in CI). */
TEST(damaged_archives)
{
    SignKey key;
    crypto_sign_keypair(key.public_key, key.secret);
    size_t len;
    uint8_t *bytes = demo_archive(&key, &len);
    uint8_t *copy = bytes ? malloc(len) : NULL;
    if (!copy) {
        free(bytes);
        return;
    }
    for (size_t cut = 0; cut < len; cut++) {
        Artifact *a = artifact_read(bytes, cut, 1 << 20, err, sizeof err);
        CHECK(a || *err);
        artifact_free(a);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bytes, len);
        copy[i] ^= (uint8_t)(0x5a + i);
        err[0] = '\0';
        Artifact *a = artifact_read(copy, len, 1 << 20, err, sizeof err);
        CHECK(a || *err);
        artifact_free(a);
    }
    free(copy);
    free(bytes);
}

int main(void)
{
    if (!sign_init()) return 1;
    RUN(names);
    RUN(versions);
    RUN(version_order);
    RUN(refs);
    RUN(manifests);
    RUN(manifest_errors);
    RUN(round_trip);
    RUN(signatures);
    RUN(reader_defences);
    RUN(unpacked_limit);
    RUN(damaged_archives);
    return unit_summary();
}
