/*
** fn_new.c: `sluice fn new` (a new function project from the templates
** below) and `sluice fn build` (building such a project to a .wasm module).
**
** The templates are part of the binary, so that it works alone; the SDKs
** are not: a project refers to them where they are found, $SLUICE_SDK or
** the `sdk` directory next to the binary's directory (build/sluice ->
** sdk/). A Rust project depends on the Rust SDK by path and builds offline
** against the Rust crates packaged by Debian; a C project gets a copy of
** the C SDK's header, so that it builds on its own.
**
** In the templates, @NAME@ stands for the function's name and @SDK@ for the
** absolute path of the SDK directory.
*/
#include "commands.h"
#include "fn_cli.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_NAME = 64 };

static const char new_help[] =
    "usage: sluice fn new --lang rust|c NAME [--dir PATH]\n"
    "\n"
    "Creates a Sluice function project in PATH (default: ./NAME): an example\n"
    "function that scales a number by a factor from its configuration, and\n"
    "cases.yaml, its tests. Then:\n"
    "  sluice fn build PATH\n"
    "  sluice fn test PATH/NAME.wasm PATH/cases.yaml        (C)\n"
    "  sluice fn test PATH/target/wasm32-unknown-unknown/release/NAME.wasm \\\n"
    "      PATH/cases.yaml                                  (Rust)\n"
    "\n"
    "NAME: a lower-case letter, then lower-case letters, digits, - or _.\n"
    "The SDK is looked up in $SLUICE_SDK, else in the sdk directory beside\n"
    "the directory of the sluice binary.\n"
    "\n"
    "exit status: 0 created; 1 cannot create (PATH exists, no SDK...);\n"
    "2 bad command line.\n";

static const char build_help[] =
    "usage: sluice fn build [DIR]\n"
    "\n"
    "Builds the function project in DIR (default: .) and prints the path of\n"
    "the .wasm module on standard output.\n"
    "  Rust (DIR/Cargo.toml): RUSTC=/usr/bin/rustc /usr/bin/cargo build\n"
    "      --release --target wasm32-unknown-unknown --offline\n"
    "  C (DIR/*.c): clang-19 --target=wasm32-wasi --sysroot=/usr -O2\n"
    "      -mexec-model=reactor -o DIR/NAME.wasm DIR/*.c, NAME being the\n"
    "      directory's name ($CC replaces clang-19)\n"
    "\n"
    "exit status: 0 built; 1 the build failed or DIR is no function\n"
    "project; 2 bad command line.\n";

/* ---- Templates ------------------------------------------------------------ */

typedef struct Template {
    const char *path; /* in the project; @NAME@ is replaced here too */
    const char *text;
} Template;

static const char cases_yaml[] =
    "# Test cases for @NAME@: sluice fn test MODULE.wasm cases.yaml\n"
    "- name: doubles by default\n"
    "  input: {value: 21}\n"
    "  output: {value: 42}\n"
    "- name: factor from the configuration\n"
    "  config: {factor: 0.5}\n"
    "  input: {value: 3}\n"
    "  output: {value: 1.5}\n"
    "- name: a value that is not a number is an error\n"
    "  input: {value: \"many\"}\n"
    "  error: error\n"
    "- name: a factor that is not a number is refused\n"
    "  config: {factor: \"big\"}\n"
    "  input: {value: 1}\n"
    "  error: error\n";

static const Template rust_templates[] = {
    { "Cargo.toml",
      "[package]\n"
      "name = \"@NAME@\"\n"
      "version = \"0.1.0\"\n"
      "edition = \"2021\"\n"
      "rust-version = \"1.63\"\n"
      "publish = false\n"
      "\n"
      "[lib]\n"
      "crate-type = [\"cdylib\"]\n"
      "\n"
      "[dependencies]\n"
      "serde = { version = \"1\", features = [\"derive\"] }\n"
      "sluice-fn = { path = \"@SDK@/rust\" }\n"
      "\n"
      "[profile.release]\n"
      "lto = true\n"
      "opt-level = \"s\"\n"
      "panic = \"abort\"\n" },
    { ".cargo/config.toml",
      "# Build offline against the Rust crates packaged by Debian (librust-*-dev).\n"
      "[source.crates-io]\n"
      "replace-with = \"debian-packages\"\n"
      "\n"
      "[source.debian-packages]\n"
      "directory = \"/usr/share/cargo/registry\"\n" },
    { ".gitignore", "/target/\n/Cargo.lock\n" },
    { "src/lib.rs",
      "//! @NAME@: a Sluice function. It multiplies the `value` of its input by\n"
      "//! the `factor` of its configuration (default 2):\n"
      "//! {\"value\": 21} -> {\"value\": 42}.\n"
      "//!\n"
      "//! Build: sluice fn build (or cargo build --release --target\n"
      "//! wasm32-unknown-unknown). Test: sluice fn test\n"
      "//! target/wasm32-unknown-unknown/release/@NAME@.wasm cases.yaml\n"
      "\n"
      "use serde::{Deserialize, Serialize};\n"
      "use sluice_fn::*;\n"
      "\n"
      "/// The node's configuration; `{}` when the pipeline gives none.\n"
      "#[derive(Deserialize)]\n"
      "#[serde(default)]\n"
      "pub struct Config {\n"
      "    factor: f64,\n"
      "}\n"
      "\n"
      "impl Default for Config {\n"
      "    fn default() -> Self {\n"
      "        Config { factor: 2.0 }\n"
      "    }\n"
      "}\n"
      "\n"
      "#[derive(Deserialize)]\n"
      "pub struct InputValue {\n"
      "    value: f64,\n"
      "}\n"
      "\n"
      "#[derive(Serialize)]\n"
      "pub struct OutputValue {\n"
      "    value: f64,\n"
      "}\n"
      "\n"
      "pub struct Scale {\n"
      "    factor: f64,\n"
      "}\n"
      "\n"
      "impl Scale {\n"
      "    pub fn new(config: Config) -> Result<Scale, Box<Error>> {\n"
      "        if !config.factor.is_finite() {\n"
      "            return Err(Box::new(Error::with_kind(\"invalid_config\", \"factor must be finite\")));\n"
      "        }\n"
      "        Ok(Scale { factor: config.factor })\n"
      "    }\n"
      "}\n"
      "\n"
      "impl Function<'_, InputValue, OutputValue> for Scale {\n"
      "    fn execute(&self, input: InputValue) -> Result<Box<OutputValue>, Box<Error>> {\n"
      "        debug!(\"scaling {} by {}\", input.value, self.factor);\n"
      "        Ok(Box::new(OutputValue { value: input.value * self.factor }))\n"
      "    }\n"
      "}\n"
      "\n"
      "register!(Scale, Scale::new);\n" },
    { "cases.yaml", cases_yaml },
};

static const Template c_templates[] = {
    { "@NAME@.c",
      "/*\n"
      "** @NAME@.c: a Sluice function. It multiplies the `value` of its input\n"
      "** by the `factor` of its configuration (default 2):\n"
      "** {\"value\": 21} -> {\"value\": 42}.\n"
      "**\n"
      "** Build: sluice fn build. Test: sluice fn test @NAME@.wasm cases.yaml\n"
      "** The SDK, sluice_fn.h, is documented at its top.\n"
      "*/\n"
      "#include \"sluice_fn.h\"\n"
      "\n"
      "static double factor = 2.0;\n"
      "\n"
      "static int init(const sl_json *config)\n"
      "{\n"
      "    const sl_json *f = sl_get(config, \"factor\");\n"
      "    if (f && f->type != SL_NUMBER)\n"
      "        return sl_fail(\"invalid_config\", \"factor must be a number\");\n"
      "    if (f) factor = f->number;\n"
      "    return SL_OK;\n"
      "}\n"
      "\n"
      "static int execute(const sl_json *input, sl_writer *out)\n"
      "{\n"
      "    const sl_json *value = sl_get(input, \"value\");\n"
      "    if (!value || value->type != SL_NUMBER)\n"
      "        return sl_fail(\"invalid_input\", \"value must be a number\");\n"
      "    sl_debug(\"scaling %g by %g\", value->number, factor);\n"
      "    sl_write_object_begin(out);\n"
      "    sl_write_key(out, \"value\");\n"
      "    sl_write_number(out, value->number * factor);\n"
      "    sl_write_object_end(out);\n"
      "    return SL_OK;\n"
      "}\n"
      "\n"
      "SLUICE_FUNCTION(execute, init)\n" },
    { "cases.yaml", cases_yaml },
};

/* ---- new ------------------------------------------------------------------ */

static bool valid_name(const char *name)
{
    if (strlen(name) > MAX_NAME || !islower((unsigned char)name[0])) return false;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            *p != '-' && *p != '_')
            return false;
    return true;
}

/* The SDK directory, absolute, into sdk[PATH_MAX]; false if not found. */
static bool find_sdk(char *sdk)
{
    const char *env = getenv("SLUICE_SDK");
    if (env && *env) return realpath(env, sdk) != NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return false;
    snprintf(slash, sizeof exe - (size_t)(slash - exe), "/../sdk");
    return realpath(exe, sdk) != NULL;
}

/* text with @NAME@ and @SDK@ replaced (caller frees), or NULL. */
static char *expand(const char *text, const char *name, const char *sdk)
{
    size_t cap = strlen(text) + 1, n = 0;
    for (const char *p = text; (p = strchr(p, '@')); p++)
        cap += strlen(name) + strlen(sdk);
    char *out = malloc(cap);
    for (const char *p = text; out && *p;) {
        if (!strncmp(p, "@NAME@", 6)) {
            n += (size_t)sprintf(out + n, "%s", name);
            p += 6;
        } else if (!strncmp(p, "@SDK@", 5)) {
            n += (size_t)sprintf(out + n, "%s", sdk);
            p += 5;
        } else {
            out[n++] = *p++;
        }
    }
    if (out) out[n] = '\0';
    return out;
}

/* Creates dir/path (and its parent directories) holding text. */
static int write_file(const char *dir, const char *path, const char *text)
{
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%s/%s", dir, path) >= (int)sizeof full) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = full + strlen(dir) + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        int rc = mkdir(full, 0777);
        *slash = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    FILE *f = fopen(full, "wx");
    if (!f) return -1;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static bool exists(const char *dir, const char *file)
{
    char path[PATH_MAX];
    return snprintf(path, sizeof path, "%s/%s", dir, file) < (int)sizeof path &&
           access(path, F_OK) == 0;
}

/* Copies the C SDK's header into the project. */
static int copy_header(const char *sdk, const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/c/sluice_fn.h", sdk) >= (int)sizeof path) return -1;
    size_t len;
    char *text = cli_read_file(path, SIZE_MAX, &len);
    if (!text) return -1;
    int rc = write_file(dir, "sluice_fn.h", text);
    free(text);
    return rc;
}

static int create_project(const char *lang, const char *name, const char *dir,
                          const char *sdk)
{
    bool rust = !strcmp(lang, "rust");
    const Template *t = rust ? rust_templates : c_templates;
    size_t n = rust ? sizeof rust_templates / sizeof *t
                    : sizeof c_templates / sizeof *t;
    const char *sdk_file = rust ? "rust/Cargo.toml" : "c/sluice_fn.h";
    if (!exists(sdk, sdk_file)) {
        fprintf(stderr, "sluice: fn new: the SDK in %s has no %s; set "
                "SLUICE_SDK to the sdk directory of Sluice\n", sdk, sdk_file);
        return 1;
    }
    if (mkdir(dir, 0777) != 0) {
        fprintf(stderr, "sluice: fn new: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char *path = expand(t[i].path, name, sdk);
        char *text = expand(t[i].text, name, sdk);
        int rc = path && text ? write_file(dir, path, text) : (errno = ENOMEM, -1);
        if (rc != 0)
            fprintf(stderr, "sluice: fn new: cannot write %s/%s: %s\n", dir,
                    path ? path : t[i].path, strerror(errno));
        free(path);
        free(text);
        if (rc != 0) return 1;
    }
    if (!rust && copy_header(sdk, dir) != 0) {
        fprintf(stderr, "sluice: fn new: cannot copy %s/c/sluice_fn.h: %s\n",
                sdk, strerror(errno));
        return 1;
    }
    printf("created %s (%s function %s); next: sluice fn build %s\n", dir,
           rust ? "Rust" : "C", name, dir);
    return 0;
}

int cmd_fn_new(int argc, char **argv)
{
    const char *lang = NULL, *name = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--lang") ? &lang
                            : !strcmp(argv[i], "--dir") ? &dir : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(new_help, stdout);
            return 0;
        }
        if (slot && i + 1 >= argc)
            return cli_usage_error(new_help, "%s needs a value", argv[i]);
        if (slot) *slot = argv[++i];
        else if (argv[i][0] == '-')
            return cli_usage_error(new_help, "unknown option '%s'", argv[i]);
        else if (!name) name = argv[i];
        else return cli_usage_error(new_help, "unexpected argument '%s'", argv[i]);
    }
    if (!lang || (strcmp(lang, "rust") && strcmp(lang, "c")))
        return cli_usage_error(new_help, "--lang wants rust or c");
    if (!name) return cli_usage_error(new_help, "missing NAME");
    if (!valid_name(name))
        return cli_usage_error(new_help, "bad NAME '%s'", name);
    char sdk[PATH_MAX];
    if (!find_sdk(sdk)) {
        fprintf(stderr, "sluice: fn new: cannot find the SDK directory; set "
                "SLUICE_SDK to the sdk directory of Sluice\n");
        return 1;
    }
    return create_project(lang, name, dir ? dir : name, sdk);
}

/* ---- build ---------------------------------------------------------------- */

/* Runs argv in dir with RUSTC set as the build needs; returns its exit
   status, or 1 if it could not start. */
static int run_tool(const char *dir, char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        if (access("/usr/bin/rustc", X_OK) == 0) setenv("RUSTC", "/usr/bin/rustc", 1);
        dup2(2, 1); /* the tool's chatter is not our output */
        execvp(argv[0], argv);
        fprintf(stderr, "sluice: fn build: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "sluice: fn build: cannot run %s: %s\n", argv[0], strerror(errno));
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* The name of the .wasm Cargo makes: the [lib] name, else the [package]
   name with '-' as '_'. Reads the simple `name = "..."` lines that
   `fn new` writes and cargo new would. */
static bool crate_wasm_name(const char *dir, char *name, size_t cap)
{
    char path[PATH_MAX], line[512], section[32] = "";
    FILE *f = snprintf(path, sizeof path, "%s/Cargo.toml", dir) < (int)sizeof path
                  ? fopen(path, "r") : NULL;
    bool found = false, from_lib = false;
    while (f && fgets(line, sizeof line, f)) {
        char value[256];
        if (sscanf(line, " [%31[^]]]", section) == 1) continue;
        bool lib = !strcmp(section, "lib");
        if ((lib || (!strcmp(section, "package") && !from_lib)) &&
            sscanf(line, " name = \"%255[^\"]\"", value) == 1) {
            snprintf(name, cap, "%s", value);
            found = true;
            from_lib = lib;
        }
    }
    if (f) fclose(f);
    for (char *p = name; found && *p; p++)
        if (*p == '-') *p = '_';
    return found;
}

/* Prints where Cargo put the module ($CARGO_TARGET_DIR, else DIR/target). */
static int print_cargo_output(const char *dir)
{
    char name[256], path[PATH_MAX];
    const char *target = getenv("CARGO_TARGET_DIR");
    if (!crate_wasm_name(dir, name, sizeof name)) {
        fprintf(stderr, "sluice: fn build: no package name in %s/Cargo.toml\n", dir);
        return 1;
    }
    int n = target && *target == '/'
                ? snprintf(path, sizeof path, "%s/wasm32-unknown-unknown/release/%s.wasm",
                           target, name)
                : snprintf(path, sizeof path, "%s/%s/wasm32-unknown-unknown/release/%s.wasm",
                           dir, target && *target ? target : "target", name);
    if (n >= (int)sizeof path) {
        fprintf(stderr, "sluice: fn build: the module's path is too long\n");
        return 1;
    }
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "sluice: fn build: cargo made no %s (is the crate a "
                "cdylib?)\n", path);
        return 1;
    }
    printf("%s\n", path);
    return 0;
}

static int build_rust(const char *dir)
{
    char *argv[] = { access("/usr/bin/cargo", X_OK) == 0 ? "/usr/bin/cargo" : "cargo",
                     "build", "--release", "--target", "wasm32-unknown-unknown",
                     "--offline", NULL };
    int status = run_tool(dir, argv);
    if (status != 0) {
        fprintf(stderr, "sluice: fn build: cargo failed (exit status %d)\n", status);
        return 1;
    }
    return print_cargo_output(dir);
}

/* The C sources of dir, as a NULL-terminated argv tail (caller frees). */
static char **c_sources(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **list = NULL;
    *n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c")) continue;
        char **grown = realloc(list, (*n + 2) * sizeof *list);
        if (!grown || !(grown[*n] = strdup(e->d_name))) {
            free(grown ? grown : list);
            list = NULL;
            break;
        }
        list = grown;
        list[++*n] = NULL;
    }
    if (d) closedir(d);
    return list;
}

static int build_c(const char *dir, const char *name)
{
    size_t nsources;
    char **sources = c_sources(dir, &nsources);
    if (!sources) {
        fprintf(stderr, "sluice: fn build: %s holds no Cargo.toml and no .c "
                "file: not a function project\n", dir);
        return 1;
    }
    char output[PATH_MAX];
    snprintf(output, sizeof output, "%s.wasm", name);
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "clang-19";
    const char *head[] = { cc, "--target=wasm32-wasi", "--sysroot=/usr", "-O2",
                           "-mexec-model=reactor", "-Wall", "-o", output };
    size_t nhead = sizeof head / sizeof head[0];
    char **argv = calloc(nhead + nsources + 1, sizeof *argv);
    int status = 1;
    if (argv) {
        memcpy(argv, head, sizeof head);
        memcpy(argv + nhead, sources, nsources * sizeof *argv);
        status = run_tool(dir, argv);
        if (status != 0)
            fprintf(stderr, "sluice: fn build: %s failed (exit status %d)\n",
                    cc, status);
        else
            printf("%s/%s\n", dir, output);
    }
    for (size_t i = 0; i < nsources; i++) free(sources[i]);
    free(sources);
    free(argv);
    return status ? 1 : 0;
}

int cmd_fn_build(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(build_help, stdout);
        return 0;
    }
    if (argc > 2) return cli_usage_error(build_help, "unexpected argument '%s'", argv[2]);
    if (argc > 1 && argv[1][0] == '-')
        return cli_usage_error(build_help, "unknown option '%s'", argv[1]);
    const char *dir = argc > 1 ? argv[1] : ".";
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        fprintf(stderr, "sluice: fn build: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (exists(real, "Cargo.toml")) return build_rust(real);
    return build_c(real, strrchr(real, '/')[1] ? strrchr(real, '/') + 1 : "function");
}
