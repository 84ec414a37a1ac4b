/*
** test_fn.c: unit tests of libsluice-fn (include/sluice_fn_host.h) through
** its API: the million-call soak test (guest memory must not move), the
** configuration, recovery after a trap, limits, threads sharing a module,
** logging, and load-time refusals.
**
** The guests are the WAT files of tests/e2e/fn, compiled with wat2wasm into
** a temporary directory; run from the top of the tree (as `make unit` does).
*/
#include "sluice_fn_host.h"
#include "unit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Under AddressSanitizer every call costs ten times more: the soak test
   then makes fewer calls, still far more than any leak needs to show. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
enum { SOAK_CALLS = 100000 };
#else
enum { SOAK_CALLS = 1000000 };
#endif

static char tmpdir[] = "/tmp/sluice-test-fn-XXXXXX";

/* Compiles tests/e2e/fn/NAME.wat and loads it; NULL on failure. */
static sfn_module *load(const char *name, sfn_error *err)
{
    char cmd[512], path[256];
    snprintf(path, sizeof path, "%s/%s.wasm", tmpdir, name);
    snprintf(cmd, sizeof cmd, "wat2wasm tests/e2e/fn/%s.wat -o %s", name, path);
    if (access(path, F_OK) != 0 && system(cmd) != 0) {
        fprintf(stderr, "cannot run: %s\n", cmd);
        return NULL;
    }
    return sfn_module_load_file(path, err);
}

typedef struct LogCount {
    int lines, level;
    char function[64];
} LogCount;

static void count_log(void *user, const char *function, int level,
                      const char *text, size_t len)
{
    LogCount *c = user;
    (void)text;
    (void)len;
    c->lines++;
    c->level = level;
    snprintf(c->function, sizeof c->function, "%s", function);
}

static bool output_is(const uint8_t *out, size_t len, const char *want)
{
    return len == strlen(want) && !memcmp(out, want, len);
}

TEST(soak_memory_is_stable)
{
    sfn_error err;
    sfn_module *m = load("echo", &err);
    CHECK(m != NULL);
    if (!m) return;
    LogCount logs = { 0 };
    sfn_options opt = sfn_default_options();
    opt.log = count_log;
    opt.log_user = &logs;
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    CHECK(in != NULL);
    uint64_t size_at_1000 = 0;
    int wrong = 0;
    char input[64];
    for (int i = 1; in && i <= SOAK_CALLS; i++) {
        int n = snprintf(input, sizeof input, "[%d]", i);
        const uint8_t *out;
        size_t len;
        if (sfn_call(in, (const uint8_t *)input, (size_t)n, &out, &len, &err) != 0 ||
            len != (size_t)n + 22) {
            wrong++;
            break;
        }
        if (i == 1000) size_at_1000 = sfn_instance_memory_size(in);
    }
    CHECK_EQ_INT(wrong, 0);
    if (in) {
        CHECK(size_at_1000 > 0);
        CHECK_EQ_INT(sfn_instance_memory_size(in), size_at_1000);
        sfn_stats st = sfn_instance_stats(in);
        CHECK_EQ_INT(st.calls, SOAK_CALLS);
        CHECK_EQ_INT(st.failures, 0);
        CHECK(st.fuel_total >= st.fuel_last * SOAK_CALLS / 2);
        CHECK_EQ_INT(logs.lines, SOAK_CALLS);
    }
    sfn_instance_free(in);
    sfn_module_free(m);
}

TEST(config_reaches_init)
{
    sfn_error err;
    sfn_module *m = load("echo", &err);
    if (!m) { CHECK(m != NULL); return; }
    sfn_options opt = sfn_default_options();
    opt.config = "{\"k\":\"v\"}";
    opt.config_len = strlen(opt.config);
    opt.log = count_log;
    opt.log_user = &(LogCount){ 0 };
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    const uint8_t *out = NULL;
    size_t len = 0;
    CHECK(in && sfn_call(in, (const uint8_t *)"1", 1, &out, &len, &err) == 0);
    CHECK(output_is(out, len, "{\"input\":1,\"config\":{\"k\":\"v\"}}"));
    sfn_instance_free(in);

    opt.config = "[]";
    opt.config_len = 2;
    in = sfn_instance_new(m, &opt, &err);
    CHECK(in == NULL);
    CHECK_EQ_INT(err.kind, SFN_ERROR);
    CHECK(!strcmp(err.function, "echo"));
    CHECK(strstr(err.message, "config: the configuration must be a JSON object"));
    sfn_module_free(m);
}

TEST(guest_errors_and_logs)
{
    sfn_error err;
    sfn_module *m = load("echo", &err);
    if (!m) { CHECK(m != NULL); return; }
    LogCount logs = { 0 };
    sfn_options opt = sfn_default_options();
    opt.log = count_log;
    opt.log_user = &logs;
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    const uint8_t *out;
    size_t len;
    CHECK(in && sfn_call(in, (const uint8_t *)"", 0, &out, &len, &err) == -1);
    CHECK_EQ_INT(err.kind, SFN_ERROR);
    CHECK(!strcmp(err.message, "input: empty input"));
    CHECK(in && sfn_call(in, (const uint8_t *)"2", 1, &out, &len, &err) == 0);
    CHECK_EQ_INT(logs.lines, 1);
    CHECK_EQ_INT(logs.level, 0);
    CHECK(!strcmp(logs.function, "echo"));
    sfn_instance_free(in);
    sfn_module_free(m);
}

TEST(output_cap)
{
    sfn_error err;
    sfn_module *m = load("echo", &err);
    if (!m) { CHECK(m != NULL); return; }
    sfn_options opt = sfn_default_options();
    opt.limits.max_output = 30;
    opt.log = count_log;
    opt.log_user = &(LogCount){ 0 };
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    const uint8_t *out;
    size_t len;
    CHECK(in && sfn_call(in, (const uint8_t *)"1", 1, &out, &len, &err) == 0);
    CHECK(in && sfn_call(in, (const uint8_t *)"[1,2,3,4,5,6,7]", 15, &out,
                         &len, &err) == -1);
    CHECK_EQ_INT(err.kind, SFN_LIMIT);
    CHECK(strstr(err.message, "exceeds the cap of 30 bytes"));
    /* The output import trapped: the next call gets a fresh instance. */
    CHECK(in && sfn_call(in, (const uint8_t *)"2", 1, &out, &len, &err) == 0);
    CHECK(in && sfn_instance_stats(in).restarts == 1);
    sfn_instance_free(in);
    sfn_module_free(m);
}

TEST(trap_then_fresh_instance)
{
    sfn_error err;
    sfn_module *m = load("trap", &err);
    sfn_instance *in = m ? sfn_instance_new(m, NULL, &err) : NULL;
    CHECK(in != NULL);
    if (!in) { sfn_module_free(m); return; }
    const uint8_t *out;
    size_t len;
    for (int i = 0; i < 3; i++) {
        CHECK(sfn_call(in, (const uint8_t *)"{}", 2, &out, &len, &err) == -1);
        CHECK_EQ_INT(err.kind, SFN_TRAP);
        CHECK(!strcmp(err.message, "unreachable (in sluice_execute)"));
        CHECK_EQ_INT(sfn_instance_memory_size(in), 0);
    }
    sfn_stats st = sfn_instance_stats(in);
    CHECK_EQ_INT(st.calls, 3);
    CHECK_EQ_INT(st.failures, 3);
    CHECK_EQ_INT(st.restarts, 2);
    sfn_instance_free(in);
    sfn_module_free(m);
}

TEST(fuel_and_deadline)
{
    sfn_error err;
    sfn_module *m = load("spin", &err);
    if (!m) { CHECK(m != NULL); return; }
    sfn_options opt = sfn_default_options();
    opt.limits.fuel = 100000;
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    const uint8_t *out;
    size_t len;
    CHECK(in && sfn_call(in, (const uint8_t *)"1", 1, &out, &len, &err) == -1);
    CHECK_EQ_INT(err.kind, SFN_LIMIT);
    CHECK(strstr(err.message, "out of fuel (100000 instructions)"));
    CHECK(in && sfn_instance_stats(in).fuel_last >= 100000);
    sfn_instance_free(in);

    opt.limits.fuel = 0;
    opt.limits.timeout_ms = 50;
    in = sfn_instance_new(m, &opt, &err);
    CHECK(in && sfn_call(in, (const uint8_t *)"1", 1, &out, &len, &err) == -1);
    CHECK_EQ_INT(err.kind, SFN_LIMIT);
    CHECK(strstr(err.message, "deadline of 50 ms"));
    sfn_instance_free(in);
    sfn_module_free(m);
}

TEST(memory_cap)
{
    sfn_error err;
    sfn_module *m = load("bomb", &err);
    if (!m) { CHECK(m != NULL); return; }
    sfn_options opt = sfn_default_options();
    opt.limits.max_memory_pages = 32;
    sfn_instance *in = sfn_instance_new(m, &opt, &err);
    const uint8_t *out;
    size_t len;
    CHECK(in && sfn_call(in, (const uint8_t *)"1", 1, &out, &len, &err) == -1);
    CHECK_EQ_INT(err.kind, SFN_ERROR);
    CHECK(in && sfn_instance_memory_size(in) == 32 * 65536);
    sfn_instance_free(in);
    sfn_module_free(m);
}

typedef struct Worker {
    const sfn_module *module;
    int ok;
} Worker;

static void *work(void *arg)
{
    Worker *w = arg;
    sfn_error err;
    sfn_options opt = sfn_default_options();
    opt.log = count_log;
    opt.log_user = &(LogCount){ 0 };
    sfn_instance *in = sfn_instance_new(w->module, &opt, &err);
    const uint8_t *out;
    size_t len;
    for (int i = 0; in && i < 10000; i++)
        w->ok += sfn_call(in, (const uint8_t *)"[7]", 3, &out, &len, &err) == 0 &&
                 output_is(out, len, "{\"input\":[7],\"config\":{}}");
    sfn_instance_free(in);
    return NULL;
}

TEST(threads_share_a_module)
{
    sfn_error err;
    sfn_module *m = load("echo", &err);
    if (!m) { CHECK(m != NULL); return; }
    pthread_t threads[4];
    Worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (Worker){ m, 0 };
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_EQ_INT(workers[i].ok, 10000);
    }
    sfn_module_free(m);
}

TEST(refused_at_load)
{
    sfn_error err;
    static const uint8_t not_wasm[] = "{\"json\": true}";
    CHECK(sfn_module_load("junk", not_wasm, sizeof not_wasm, &err) == NULL);
    CHECK_EQ_INT(err.kind, SFN_ABI);
    CHECK(!strcmp(err.function, "junk"));
    CHECK(strstr(err.message, "not a valid WebAssembly module: at byte 0"));

    CHECK(load("noexec", &err) == NULL);
    CHECK_EQ_INT(err.kind, SFN_ABI);
    CHECK(strstr(err.message, "missing export 'sluice_execute'"));

    CHECK(load("badimport", &err) == NULL);
    CHECK(strstr(err.message, "\"env\".\"get_secret\""));

    CHECK(sfn_module_load_file("/no/such/file.wasm", &err) == NULL);
    CHECK(!strcmp(err.function, "file"));
    CHECK(strstr(err.message, "No such file or directory"));
}

TEST(refused_at_instantiation)
{
    sfn_error err;
    sfn_module *m = load("v3", &err);
    CHECK(m && sfn_instance_new(m, NULL, &err) == NULL);
    CHECK_EQ_INT(err.kind, SFN_ABI);
    CHECK(strstr(err.message, "ABI version 3"));
    sfn_module_free(m);

    m = load("badsig", &err);
    CHECK(m && sfn_instance_new(m, NULL, &err) == NULL);
    CHECK(strstr(err.message, "(i64, i64) -> i32; the ABI wants (i32, i32) -> i32"));
    sfn_module_free(m);

    m = load("bigmem", &err);
    CHECK(m && sfn_instance_new(m, NULL, &err) == NULL);
    CHECK_EQ_INT(err.kind, SFN_LIMIT);
    sfn_module_free(m);
}

TEST(contract_breaches_in_calls)
{
    static const struct { const char *guest, *message; sfn_kind kind; } cases[] = {
        { "twice", "sluice_output called twice", SFN_ABI },
        { "silent", "returned 0 without calling sluice_output", SFN_ABI },
        { "badstatus", "returned 7", SFN_ABI },
        { "badptr", "sluice_output: bytes 65000..66000 lie outside", SFN_ABI },
        { "badlog", "sluice_log: bytes 16..4294967311", SFN_ABI },
        { "fails", "bad_input: field 'x' is missing", SFN_ERROR },
        { "huge", "output of 17825792 bytes exceeds the cap", SFN_LIMIT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sfn_error err;
        sfn_module *m = load(cases[i].guest, &err);
        sfn_instance *in = m ? sfn_instance_new(m, NULL, &err) : NULL;
        const uint8_t *out;
        size_t len;
        CHECK(in && sfn_call(in, (const uint8_t *)"{}", 2, &out, &len, &err) == -1);
        if (err.kind != cases[i].kind || !strstr(err.message, cases[i].message)) {
            fprintf(stderr, "%s: got %s: %s\n", cases[i].guest,
                    sfn_kind_name(err.kind), err.message);
            CHECK(!"the expected error");
        }
        sfn_instance_free(in);
        sfn_module_free(m);
    }
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(soak_memory_is_stable);
    RUN(config_reaches_init);
    RUN(guest_errors_and_logs);
    RUN(output_cap);
    RUN(trap_then_fresh_instance);
    RUN(fuel_and_deadline);
    RUN(memory_cap);
    RUN(threads_share_a_module);
    RUN(refused_at_load);
    RUN(refused_at_instantiation);
    RUN(contract_breaches_in_calls);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return unit_summary();
}
