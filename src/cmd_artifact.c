/*
** cmd_artifact.c: the command line of function artifacts: `sluice fn
** package` (make one), `sluice keygen` (a signing key) and `sluice artifact
** push|pull|ls|show|yank|resolve` (talk to a registry). Thin: the work is
** in src/registry/.
**
** Exit statuses: 0 done; 1 refused or failed (the registry's message is
** shown); 2 bad command line.
*/
#include "cli.h"
#include "commands.h"
#include "registry/artifact.h"
#include "registry/client.h"
#include "registry/files.h"
#include "registry/resolve.h"
#include "registry/sign.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_LIST = 16, MAX_MODULE = 256 << 20, MAX_ARCHIVE = 512 << 20,
       MAX_UNPACKED = 1024 << 20 };

/* ---- Command line ------------------------------------------------------ */

typedef struct Args {
    const char *registry, *token, *output, *sign, *cache, *module;
    const char *name, *version, *description, *language, *license;
    const char *authors[MAX_LIST + 1], *trust[MAX_LIST + 1];
    int nauthors, ntrust;
    bool undo;
    const char *pos[2];
    int npos;
} Args;

static const struct { const char *flag; size_t offset; } value_options[] = {
    { "--registry", offsetof(Args, registry) },
    { "--token", offsetof(Args, token) },
    { "-o", offsetof(Args, output) },
    { "--sign", offsetof(Args, sign) },
    { "--cache", offsetof(Args, cache) },
    { "--module", offsetof(Args, module) },
    { "--name", offsetof(Args, name) },
    { "--version", offsetof(Args, version) },
    { "--description", offsetof(Args, description) },
    { "--language", offsetof(Args, language) },
    { "--license", offsetof(Args, license) },
};

/* The option's place in args, or NULL. */
static const char **value_slot(Args *args, const char *flag)
{
    for (size_t i = 0; i < sizeof value_options / sizeof value_options[0]; i++)
        if (!strcmp(flag, value_options[i].flag))
            return (const char **)((char *)args + value_options[i].offset);
    return NULL;
}

static bool allowed(const char *flag, const char *allowed_flags)
{
    size_t n = strlen(flag);
    for (const char *p = allowed_flags; (p = strstr(p, flag)); p += n)
        if ((p == allowed_flags || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return true;
    return false;
}

static bool append(const char **list, int *n, const char *value)
{
    if (*n == MAX_LIST) return false;
    list[(*n)++] = value;
    list[*n] = NULL;
    return true;
}

/* Parses argv[1..argc) allowing the flags listed in allowed_flags and up
   to max_pos positional arguments. Returns -1 to go on, or the exit status
   (--help, usage error). */
static int parse_args(int argc, char **argv, const char *help,
                      const char *allowed_flags, int max_pos, Args *args)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (a[0] != '-' || !a[1]) {
            if (args->npos == max_pos) return cli_usage_error(help, "unexpected argument '%s'", a);
            args->pos[args->npos++] = a;
            continue;
        }
        if (!allowed(a, allowed_flags)) return cli_usage_error(help, "unknown option '%s'", a);
        if (!strcmp(a, "--undo")) {
            args->undo = true;
            continue;
        }
        if (i + 1 == argc) return cli_usage_error(help, "%s needs a value", a);
        const char *v = argv[++i];
        const char **slot = value_slot(args, a);
        bool ok = slot ? (*slot = v, true)
                : !strcmp(a, "--author") ? append(args->authors, &args->nauthors, v)
                                         : append(args->trust, &args->ntrust, v);
        if (!ok) return cli_usage_error(help, "too many %s options", a);
    }
    return -1;
}

static int failure(const char *command, const char *message)
{
    fprintf(stderr, "sluice: %s: %s\n", command, message);
    return 1;
}

static bool client_config(const Args *args, RegistryClientConfig *config, char *err, size_t errlen)
{
    memset(config, 0, sizeof *config);
    return client_config_load(config, args->registry, args->token, err, errlen);
}

/* ---- sluice keygen ----------------------------------------------------- */

static const char keygen_help[] =
    "usage: sluice keygen [-o KEYFILE]\n"
    "\n"
    "Makes an ed25519 signing key for `sluice fn package --sign KEYFILE`.\n"
    "The secret key goes to KEYFILE (default: sluice.key; it must not exist,\n"
    "and is made readable by you only); the public key is printed on standard\n"
    "output: it is the signer's identity that registries record and that\n"
    "pipelines list as trusted signers.\n";

int cmd_keygen(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, keygen_help, "-o", 0, &args);
    if (rc >= 0) return rc;
    char err[512], pub[SIGN_PUBLIC_HEX];
    SignKey key;
    if (!sign_init()) return failure("keygen", "cannot start libsodium");
    if (!sign_keygen(args.output ? args.output : "sluice.key", &key, err, sizeof err))
        return failure("keygen", err);
    sign_public_hex(key.public_key, pub);
    printf("%s\n", pub);
    return 0;
}

/* ---- sluice fn package ------------------------------------------------- */

static const char package_help[] =
    "usage: sluice fn package [DIR] [--sign KEYFILE] [-o OUT] [--module FILE]\n"
    "                         [--name NAME --version VERSION [--description TEXT]\n"
    "                          [--language LANG] [--license ID] [--author WHO]...]\n"
    "\n"
    "Packages the function project in DIR (default: .) as an artifact, a\n"
    "gzip-compressed tar archive (docs/registry.md): DIR/manifest.yaml, the\n"
    "module it names as `entry` (DIR/ENTRY, or --module FILE), and when they\n"
    "exist DIR/README.md and the test cases DIR/tests.yaml (or DIR/cases.yaml).\n"
    "Without DIR/manifest.yaml, one is made from --name, --version and the\n"
    "others, and written to DIR. The module is checked against the function\n"
    "ABI first. Prints the artifact's digest, which identifies it.\n"
    "\n"
    "options:\n"
    "  --sign KEYFILE   sign with this key (see `sluice keygen`)\n"
    "  -o OUT           the archive to write (default: NAME-VERSION.tar.gz)\n"
    "  --module FILE    the module, when it is not DIR/ENTRY\n"
    "  --name, --version, --description, --language, --license, --author\n"
    "                   the manifest's fields, to make DIR/manifest.yaml\n";

/* The manifest given on the command line. */
static Manifest *manifest_from_args(const Args *args, const char *entry, char *err, size_t errlen)
{
    json_t *authors = json_array();
    for (int i = 0; i < args->nauthors; i++) json_array_append_new(authors, json_string(args->authors[i]));
    json_t *doc = json_pack("{s:s?, s:s?, s:s, s:s, s:i, s:s, s:s, s:{}, s:o}",
                            "name", args->name, "version", args->version,
                            "description", args->description ? args->description : "",
                            "language", args->language ? args->language : "",
                            "abi", 1, "entry", entry,
                            "license", args->license ? args->license : "",
                            "config", "authors", authors);
    Manifest *m = doc ? manifest_from_json(doc, err, errlen) : NULL;
    if (!doc) snprintf(err, errlen, "out of memory");
    json_decref(doc);
    return m;
}

static bool manifest_flags_given(const Args *args)
{
    return args->name || args->version || args->description || args->language ||
           args->license || args->nauthors;
}

/* DIR/manifest.yaml, or a new one made from the flags and written there. */
static Manifest *project_manifest(const char *dir, const Args *args, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/manifest.yaml", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "the project's path is too long");
        return NULL;
    }
    if (access(path, F_OK) == 0) {
        if (manifest_flags_given(args)) {
            snprintf(err, errlen, "%s exists: edit it rather than giving manifest "
                     "fields as options", path);
            return NULL;
        }
        size_t len;
        uint8_t *text = file_read_all(path, MANIFEST_MAX_BYTES, &len, err, errlen);
        Manifest *m = text ? manifest_parse((char *)text, len, err, errlen) : NULL;
        free(text);
        return m;
    }
    if (!args->name || !args->version || !args->module) {
        snprintf(err, errlen, "%s does not exist: write it, or give --name, "
                 "--version and --module to make it", path);
        return NULL;
    }
    const char *base = strrchr(args->module, '/');
    Manifest *m = manifest_from_args(args, base ? base + 1 : args->module, err, errlen);
    char *out = m ? manifest_to_text(m) : NULL;
    bool ok = out && file_write_atomic(path, NULL, out, strlen(out), 0644, err, errlen);
    free(out);
    if (ok) fprintf(stderr, "sluice: wrote %s\n", path);
    if (!ok) manifest_free(m);
    return ok ? m : NULL;
}

/* Reads an optional file of the project into f; false only on errors. */
static bool optional_file(const char *dir, const char *name, const char *as,
                          ArtifactFile *f, bool *present, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *present = false;
    if (access(path, F_OK) != 0) return true;
    f->data = file_read_all(path, ARTIFACT_MAX_SMALL_FILE, &f->len, err, errlen);
    snprintf(f->name, sizeof f->name, "%s", as);
    return *present = f->data != NULL;
}

/* Builds the archive, reads it back and checks it all, then writes it. */
static int package(const Manifest *m, ArtifactFile *files[3], const SignKey *key,
                   const char *output)
{
    char err[1024], out[PATH_MAX], digest[ARTIFACT_DIGEST_LEN];
    uint8_t *bytes = NULL;
    size_t len = 0;
    Artifact *a = NULL;
    bool ok = artifact_write(m, files[0], files[1], files[2], key, &bytes, &len, err, sizeof err) &&
              (a = artifact_read(bytes, len, MAX_UNPACKED, err, sizeof err)) &&
              artifact_check_module(a, err, sizeof err);
    if (ok) {
        if (output) snprintf(out, sizeof out, "%s", output);
        else snprintf(out, sizeof out, "%s-%s.tar.gz", m->name, m->version);
        ok = file_write_atomic(out, NULL, bytes, len, 0644, err, sizeof err);
    }
    if (ok) {
        artifact_digest(bytes, len, digest);
        printf("%s\n", digest);
        fprintf(stderr, "sluice: packaged %s@%s into %s%s%s\n", m->name, m->version, out,
                *a->signer ? ", signed by " : "", a->signer);
    }
    artifact_free(a);
    free(bytes);
    return ok ? 0 : failure("fn package", err);
}

int cmd_fn_package(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, package_help, "--sign -o --module --name --version "
                        "--description --language --license --author", 1, &args);
    if (rc >= 0) return rc;
    const char *dir = args.npos ? args.pos[0] : ".";
    char err[PATH_MAX + 256], path[PATH_MAX];    /* messages name paths */
    SignKey key;
    if (!sign_init()) return failure("fn package", "cannot start libsodium");
    if (args.sign && !sign_key_load(args.sign, &key, err, sizeof err)) return failure("fn package", err);
    Manifest *m = project_manifest(dir, &args, err, sizeof err);
    if (!m) return failure("fn package", err);
    ArtifactFile module = { 0 }, readme = { 0 }, tests = { 0 };
    bool has_readme = false, has_tests = false;
    if (args.module) snprintf(path, sizeof path, "%s", args.module);
    else snprintf(path, sizeof path, "%s/%s", dir, m->entry);
    snprintf(module.name, sizeof module.name, "%s", m->entry);
    module.data = file_read_all(path, MAX_MODULE, &module.len, err, sizeof err);
    bool ok = module.data && optional_file(dir, "README.md", "README.md", &readme, &has_readme, err, sizeof err) &&
              optional_file(dir, "tests.yaml", "tests.yaml", &tests, &has_tests, err, sizeof err) &&
              (has_tests || optional_file(dir, "cases.yaml", "tests.yaml", &tests, &has_tests, err, sizeof err));
    ArtifactFile *files[3] = { &module, has_readme ? &readme : NULL, has_tests ? &tests : NULL };
    rc = ok ? package(m, files, args.sign ? &key : NULL, args.output) : failure("fn package", err);
    free(module.data);
    free(readme.data);
    free(tests.data);
    manifest_free(m);
    return rc;
}

/* ---- sluice artifact push|pull|ls|show|yank|resolve -------------------- */

#define REGISTRY_OPTIONS \
    "  --registry URL   the registry (default: $SLUICE_REGISTRY_URL, or `url:` in\n" \
    "                   ~/.config/sluice/registry.yaml or $SLUICE_REGISTRY_CONFIG)\n" \
    "  --token TOKEN    the token (default: $SLUICE_REGISTRY_TOKEN, or\n" \
    "                   `token:` in the config file)\n"

static const char push_help[] =
    "usage: sluice artifact push ARCHIVE [--registry URL] [--token TOKEN]\n"
    "\n"
    "Publishes an artifact made by `sluice fn package`. Versions are immutable:\n"
    "publishing a version again is refused (409).\n\noptions:\n" REGISTRY_OPTIONS;

static const char pull_help[] =
    "usage: sluice artifact pull NAME[@VERSION] [-o FILE] [--registry URL] [--token TOKEN]\n"
    "\n"
    "Downloads an artifact (VERSION: a version or latest, the default) and checks\n"
    "its digest against the registry's. Writes FILE (default:\n"
    "NAME-VERSION.tar.gz) and prints the digest. A yanked version can still be\n"
    "pulled by its exact version.\n\noptions:\n" REGISTRY_OPTIONS;

static const char ls_help[] =
    "usage: sluice artifact ls [QUERY] [--registry URL] [--token TOKEN]\n"
    "\n"
    "Lists the artifacts whose name or description contains QUERY (all without\n"
    "it), with their latest version; yanked versions are not counted.\n"
    "\noptions:\n" REGISTRY_OPTIONS;

static const char show_help[] =
    "usage: sluice artifact show NAME[@VERSION] [--registry URL] [--token TOKEN]\n"
    "\n"
    "Shows every version of NAME (yanked ones marked), or the metadata and\n"
    "manifest of one version, as JSON.\n\noptions:\n" REGISTRY_OPTIONS;

static const char yank_help[] =
    "usage: sluice artifact yank NAME@VERSION [--undo] [--registry URL] [--token TOKEN]\n"
    "\n"
    "Yanks a version: it leaves `ls` and @latest, but stays downloadable by its\n"
    "exact version, so that pipelines pinned to it keep working. --undo\n"
    "brings it back.\n\noptions:\n" REGISTRY_OPTIONS;

static const char resolve_help[] =
    "usage: sluice artifact resolve NAME[@VERSION] --cache DIR [--trust PUBLIC_KEY]...\n"
    "                               [--registry URL] [--token TOKEN]\n"
    "\n"
    "Resolves a reference as a pipeline's `artifact:` does: downloads the\n"
    "artifact into the cache DIR unless it is there, checks its digest and,\n"
    "with --trust, that one of those public keys signed it; prints the path of\n"
    "its module. Works offline from the cache.\n\noptions:\n"
    "  --cache DIR      the local cache\n"
    "  --trust KEY      a trusted signer's public key (repeatable); without it\n"
    "                   unsigned artifacts are accepted\n" REGISTRY_OPTIONS;

static void print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) printf("%s\n", text);
    free(text);
}

int cmd_artifact_push(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, push_help, "--registry --token", 1, &args);
    if (rc >= 0) return rc;
    if (!args.npos) return cli_usage_error(push_help, "%s", "missing ARCHIVE");
    char err[1024];
    RegistryClientConfig config;
    if (!client_config(&args, &config, err, sizeof err)) return failure("artifact push", err);
    size_t len;
    uint8_t *bytes = file_read_all(args.pos[0], MAX_ARCHIVE, &len, err, sizeof err);
    if (!bytes) return failure("artifact push", err);
    json_t *doc = NULL;
    long status = client_call(&config, "POST", "/artifacts", bytes, len, &doc, err, sizeof err);
    free(bytes);
    if (status == 201)
        fprintf(stderr, "sluice: published %s@%s\n",
                json_string_value(json_object_get(doc, "name")),
                json_string_value(json_object_get(doc, "version")));
    if (status == 201) printf("%s\n", json_string_value(json_object_get(doc, "digest")));
    json_decref(doc);
    return status == 201 ? 0 : failure("artifact push", err);
}

int cmd_artifact_pull(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, pull_help, "--registry --token -o", 1, &args);
    if (rc >= 0) return rc;
    char err[1024], name[REGISTRY_NAME_MAX + 1], version[REGISTRY_VERSION_MAX + 1], out[PATH_MAX];
    if (!args.npos) return cli_usage_error(pull_help, "%s", "missing NAME[@VERSION]");
    if (!registry_ref_parse(args.pos[0], name, version, err, sizeof err))
        return cli_usage_error(pull_help, "%s", err);
    RegistryClientConfig config;
    uint8_t *bytes;
    size_t len;
    json_t *meta;
    if (!sign_init()) return failure("artifact pull", "cannot start libsodium");
    if (!client_config(&args, &config, err, sizeof err) ||
        !client_download(&config, name, version, &bytes, &len, &meta, err, sizeof err))
        return failure("artifact pull", err);
    const char *exact = json_string_value(json_object_get(meta, "version"));
    if (args.output) snprintf(out, sizeof out, "%s", args.output);
    else snprintf(out, sizeof out, "%s-%s.tar.gz", name, exact);
    bool ok = file_write_atomic(out, NULL, bytes, len, 0644, err, sizeof err);
    if (ok) {
        printf("%s\n", json_string_value(json_object_get(meta, "digest")));
        fprintf(stderr, "sluice: pulled %s@%s into %s (digest verified)%s\n", name, exact, out,
                json_is_true(json_object_get(meta, "yanked")) ? "; this version is yanked" : "");
    }
    free(bytes);
    json_decref(meta);
    return ok ? 0 : failure("artifact pull", err);
}

int cmd_artifact_ls(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, ls_help, "--registry --token", 1, &args);
    if (rc >= 0) return rc;
    char err[1024];
    RegistryClientConfig config;
    json_t *doc = NULL;
    if (!client_config(&args, &config, err, sizeof err) ||
        client_search(&config, args.npos ? args.pos[0] : NULL, &doc, err, sizeof err) != 200) {
        json_decref(doc);
        return failure("artifact ls", err);
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "artifacts"), i, a)
        printf("%-32s %-16s %s\n", json_string_value(json_object_get(a, "name")),
               json_string_value(json_object_get(a, "latest")),
               json_string_value(json_object_get(a, "description")));
    json_decref(doc);
    return 0;
}

/* GET of NAME or NAME/VERSION (show), or POST of NAME/VERSION/ACTION. */
static int name_request(int argc, char **argv, const char *help, const char *command,
                        bool need_version)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, help, need_version ? "--registry --token --undo"
                                                       : "--registry --token", 1, &args);
    if (rc >= 0) return rc;
    char err[1024], name[REGISTRY_NAME_MAX + 1], version[REGISTRY_VERSION_MAX + 1], path[256];
    if (!args.npos) return cli_usage_error(help, "%s", "missing NAME[@VERSION]");
    if (!registry_ref_parse(args.pos[0], name, version, err, sizeof err))
        return cli_usage_error(help, "%s", err);
    bool exact = strchr(args.pos[0], '@') != NULL;
    if (need_version && (!exact || !strcmp(version, "latest")))
        return cli_usage_error(help, "%s", "yank needs NAME@VERSION with an exact version");
    if (need_version)
        snprintf(path, sizeof path, "/artifacts/%s/%s/%s", name, version, args.undo ? "unyank" : "yank");
    else if (exact) snprintf(path, sizeof path, "/artifacts/%s/%s", name, version);
    else snprintf(path, sizeof path, "/artifacts/%s", name);
    RegistryClientConfig config;
    json_t *doc = NULL;
    if (!client_config(&args, &config, err, sizeof err)) return failure(command, err);
    long status = client_call(&config, need_version ? "POST" : "GET", path, NULL, 0, &doc,
                              err, sizeof err);
    if (status == 200 && need_version)
        fprintf(stderr, "sluice: %s@%s is %s\n", name, version, args.undo ? "back" : "yanked");
    else if (status == 200) print_json(doc);
    json_decref(doc);
    return status == 200 ? 0 : failure(command, err);
}

int cmd_artifact_show(int argc, char **argv)
{
    return name_request(argc, argv, show_help, "artifact show", false);
}

int cmd_artifact_yank(int argc, char **argv)
{
    return name_request(argc, argv, yank_help, "artifact yank", true);
}

int cmd_artifact_resolve(int argc, char **argv)
{
    Args args = { 0 };
    int rc = parse_args(argc, argv, resolve_help, "--registry --token --cache --trust", 1, &args);
    if (rc >= 0) return rc;
    if (!args.npos || !args.cache)
        return cli_usage_error(resolve_help, "%s", "missing NAME[@VERSION] or --cache DIR");
    char err[1024];
    RegistryClientConfig config;
    bool online = client_config(&args, &config, err, sizeof err);
    char *module;
    Manifest *manifest;
    if (registry_resolve(online ? &config : NULL, args.pos[0], args.cache,
                         args.ntrust ? args.trust : NULL, &module, &manifest, err, sizeof err))
        return failure("artifact resolve", err);
    printf("%s\n", module);
    fprintf(stderr, "sluice: %s@%s\n", manifest->name, manifest->version);
    free(module);
    manifest_free(manifest);
    return 0;
}
