/*
** test_serve.c: the parts of `sluice serve` (src/serve) that need no
** network: the token (kept with mode 0600, compared in constant time),
** pipeline names, the rates of the stats, the ring of log lines, the
** console's files refusing paths that leave their directory, validation
** as the editor shows it, and the pipelines' files and desired states.
** tests/e2e/serve.sh covers the server itself.
*/
#define _XOPEN_SOURCE 700           /* nftw */
#include "unit.h"

#include "../../src/serve/serve.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX], err[512];

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-serve-XXXXXX");
    if (!mkdtemp(dir)) abort();
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_dir(void)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The number of entries of `path` but "." and "..". */
static int entries(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

/* Writes `text` to DIR/NAME. */
static void put_file(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* ---- The token ----------------------------------------------------------- */

TEST(the_token_must_match_whole_after_bearer)
{
    const char *token = "s3cret-token";
    CHECK(serve_token_matches(token, "Bearer s3cret-token"));
    CHECK(!serve_token_matches(token, NULL));
    CHECK(!serve_token_matches(token, ""));
    CHECK(!serve_token_matches(token, "Bearer "));
    CHECK(!serve_token_matches(token, "Bearer s3cret-toke"));       /* a prefix */
    CHECK(!serve_token_matches(token, "Bearer s3cret-token2"));     /* longer */
    CHECK(!serve_token_matches(token, "Bearer s3cret-tokeN"));
    CHECK(!serve_token_matches(token, "Basic s3cret-token"));
    CHECK(!serve_token_matches(token, "s3cret-token"));
    CHECK(!serve_token_matches(token, "Bearer  s3cret-token"));
}

TEST(a_new_token_is_kept_with_mode_0600_and_found_again)
{
    fresh_dir();
    unsetenv("SLUICE_TOKEN");
    char token[SERVE_TOKEN_MAX], again[SERVE_TOKEN_MAX], path[PATH_MAX + 16];
    bool generated = false;
    CHECK(serve_token(NULL, dir, token, &generated, err, sizeof err));
    CHECK(generated);
    CHECK_EQ_INT(strlen(token), 64);
    CHECK_EQ_INT(strspn(token, "0123456789abcdef"), 64);
    snprintf(path, sizeof path, "%s/token", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(serve_token(NULL, dir, again, &generated, err, sizeof err));
    CHECK(!generated);
    CHECK(!strcmp(token, again));
    remove_dir();
}

TEST(the_flag_wins_over_the_environment_which_wins_over_the_file)
{
    fresh_dir();
    put_file("token", "from-the-file\n");
    char token[SERVE_TOKEN_MAX];
    bool generated = true;
    setenv("SLUICE_TOKEN", "from-the-environment", 1);
    CHECK(serve_token("from-the-flag", dir, token, &generated, err, sizeof err));
    CHECK(!strcmp(token, "from-the-flag") && !generated);
    CHECK(serve_token(NULL, dir, token, &generated, err, sizeof err));
    CHECK(!strcmp(token, "from-the-environment"));
    unsetenv("SLUICE_TOKEN");
    CHECK(serve_token(NULL, dir, token, &generated, err, sizeof err));
    CHECK(!strcmp(token, "from-the-file"));
    remove_dir();
}

TEST(empty_blank_or_overlong_tokens_are_refused)
{
    fresh_dir();
    unsetenv("SLUICE_TOKEN");
    char token[SERVE_TOKEN_MAX], long_token[SERVE_TOKEN_MAX + 1];
    bool generated;
    memset(long_token, 'x', SERVE_TOKEN_MAX);
    long_token[SERVE_TOKEN_MAX] = '\0';
    CHECK(!serve_token("", dir, token, &generated, err, sizeof err));
    CHECK(!serve_token("  \t", dir, token, &generated, err, sizeof err));
    CHECK(!serve_token(long_token, dir, token, &generated, err, sizeof err));
    long_token[SERVE_TOKEN_MAX - 1] = '\0';
    CHECK(serve_token(long_token, dir, token, &generated, err, sizeof err));
    put_file("token", "\n");
    CHECK(!serve_token(NULL, dir, token, &generated, err, sizeof err));
    CHECK(strstr(err, "no token in it") != NULL);
    remove_dir();
}

/* ---- Names and rates ----------------------------------------------------- */

TEST(pipeline_names_are_1_to_64_of_lowercase_digits_underscore_dash)
{
    CHECK(manager_name_valid("sensors"));
    CHECK(manager_name_valid("a"));
    CHECK(manager_name_valid("air_quality-2"));
    CHECK(!manager_name_valid(""));
    CHECK(!manager_name_valid("Sensors"));
    CHECK(!manager_name_valid("a.b"));
    CHECK(!manager_name_valid("a/b"));
    CHECK(!manager_name_valid(".."));
    CHECK(!manager_name_valid("a b"));
    char name[SERVE_NAME_MAX + 2];
    memset(name, 'n', SERVE_NAME_MAX);
    name[SERVE_NAME_MAX] = '\0';
    CHECK(manager_name_valid(name));
    strcat(name, "n");
    CHECK(!manager_name_valid(name));
}

static double rate_of(json_t *rates, const char *name, const char *which)
{
    return json_real_value(json_object_get(json_object_get(rates, name), which));
}

TEST(rates_are_counter_differences_per_second)
{
    json_t *before = json_loads("[{\"name\":\"gen\",\"records_in\":0,\"records_out\":100,"
                                "\"errors\":0},{\"name\":\"out\",\"records_in\":90,"
                                "\"records_out\":90,\"errors\":4}]", 0, NULL);
    json_t *now = json_loads("[{\"name\":\"gen\",\"records_in\":0,\"records_out\":300,"
                             "\"errors\":0},{\"name\":\"out\",\"records_in\":290,"
                             "\"records_out\":290,\"errors\":10},{\"name\":\"new\","
                             "\"records_in\":50,\"records_out\":50,\"errors\":0},"
                             "{\"records_in\":1}]", 0, NULL);
    json_t *rates = watch_rates(before, now, 2.0);
    CHECK(rate_of(rates, "gen", "out") == 100.0);
    CHECK(rate_of(rates, "gen", "in") == 0.0);
    CHECK(rate_of(rates, "out", "in") == 100.0);
    CHECK(rate_of(rates, "out", "errors") == 3.0);
    CHECK(json_object_get(rates, "new") && rate_of(rates, "new", "in") == 0.0);
    CHECK_EQ_INT(json_object_size(rates), 3);      /* the one without a name is left out */
    json_decref(rates);

    rates = watch_rates(NULL, now, 2.0);            /* a first sample */
    CHECK(json_object_get(rates, "gen") && rate_of(rates, "gen", "out") == 0.0);
    json_decref(rates);
    rates = watch_rates(now, before, 2.0);          /* counters that went down */
    CHECK(rate_of(rates, "gen", "out") == 0.0 && rate_of(rates, "out", "errors") == 0.0);
    json_decref(rates);
    rates = watch_rates(before, now, 0.0);
    CHECK(rate_of(rates, "gen", "out") == 0.0);
    json_decref(rates);
    json_decref(before);
    json_decref(now);
}

/* ---- The log ring -------------------------------------------------------- */

static int lines_seen;
static char last_seen[LOG_LINE_MAX];

static void count_line(void *user, const char *line)
{
    (void)user;
    lines_seen++;
    snprintf(last_seen, sizeof last_seen, "%s", line);
}

TEST(the_log_ring_joins_pieces_into_lines_and_keeps_the_last_ones)
{
    LogRing r = { 0 };
    size_t len;
    char *text = log_ring_text(&r, &len);
    CHECK(len == 0 && !strcmp(text, ""));
    free(text);

    lines_seen = 0;
    log_ring_feed(&r, "sta", 3, count_line, NULL);
    CHECK_EQ_INT(lines_seen, 0);                    /* not a line yet */
    log_ring_feed(&r, "rted\r\nsecond\nthi", 16, count_line, NULL);
    CHECK_EQ_INT(lines_seen, 2);
    CHECK(!strcmp(last_seen, "second"));
    log_ring_add(&r, "a note");
    text = log_ring_text(&r, &len);
    CHECK(!strcmp(text, "started\nsecond\na note\n") && len == strlen(text));
    free(text);

    for (int i = 0; i < LOG_LINES + 50; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\n", i);
        log_ring_feed(&r, line, (size_t)n, NULL, NULL);
    }
    text = log_ring_text(&r, &len);
    size_t count = 0;
    for (const char *p = text; *p; p++) count += *p == '\n';
    CHECK_EQ_INT(count, LOG_LINES);
    /* "thi" was ended by the first of the loop's lines, and has scrolled away. */
    CHECK(!strncmp(text, "line 50\n", 8));
    CHECK(strstr(text, "line 249\n") && !strstr(text, "line 49\n") && !strstr(text, "thi"));
    free(text);
    log_ring_free(&r);
}

TEST(a_long_log_line_is_cut)
{
    LogRing r = { 0 };
    size_t n = 3 * LOG_LINE_MAX, len;
    char *data = malloc(n + 1);
    if (!data) abort();
    memset(data, 'x', n);
    data[n] = '\n';
    log_ring_feed(&r, data, n + 1, NULL, NULL);
    char *text = log_ring_text(&r, &len);
    CHECK_EQ_INT(len, LOG_LINE_MAX);                /* LOG_LINE_MAX - 1 bytes and a newline */
    CHECK_EQ_INT(strspn(text, "x"), LOG_LINE_MAX - 1);
    free(text);
    free(data);
    log_ring_free(&r);
}

/* ---- The console's files ------------------------------------------------- */

/* What serve_file_path makes of `url`, and whether it found DIR/`want`. */
static FileLookup lookup(const char *url, const char *want)
{
    char found[PATH_MAX], root[PATH_MAX], expected[2 * PATH_MAX];
    FileLookup result = serve_file_path(dir, url, found);
    if (result == FILE_FOUND && want) {
        if (!realpath(dir, root)) abort();
        snprintf(expected, sizeof expected, "%s/%s", root, want);
        if (strcmp(found, expected)) {
            fprintf(stderr, "%s: found %s, wanted %s\n", url, found, expected);
            return FILE_MISSING;
        }
    }
    return result;
}

TEST(console_files_resolve_inside_their_directory_only)
{
    fresh_dir();
    char outside[PATH_MAX + 16], link[PATH_MAX + 16];
    put_file("index.html", "<!doctype html>");
    put_file("console.js", "");
    put_file(".hidden", "");
    put_file("secret", "");
    snprintf(outside, sizeof outside, "%s/sub", dir);
    if (mkdir(outside, 0755) != 0) abort();
    put_file("sub/index.html", "");
    put_file("sub/app.css", "");
    snprintf(link, sizeof link, "%s/sub/up", dir);
    if (symlink("/etc/hostname", link) != 0) abort();
    snprintf(link, sizeof link, "%s/sub/js", dir);
    if (symlink("../console.js", link) != 0) abort();

    CHECK_EQ_INT(lookup("/", "index.html"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console", "index.html"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console/", "index.html"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console/console.js", "console.js"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console/sub/", "sub/index.html"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console/sub/app.css", "sub/app.css"), FILE_FOUND);
    CHECK_EQ_INT(lookup("/console/sub/js", "console.js"), FILE_FOUND);  /* a link inside */
    CHECK_EQ_INT(lookup("/console/missing.js", NULL), FILE_MISSING);

    CHECK_EQ_INT(lookup("/console/../secret", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console/sub/../secret", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console/./console.js", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console//console.js", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console/.hidden", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console/sub\\..\\secret", NULL), FILE_FORBIDDEN);
    CHECK_EQ_INT(lookup("/console/sub/up", NULL), FILE_FORBIDDEN);      /* a link out */

    char found[PATH_MAX];
    CHECK_EQ_INT(serve_file_path("/nonexistent/console", "/", found), FILE_NO_CONSOLE);
    remove_dir();
}

/* ---- Validation and the pipelines' files --------------------------------- */

static const char valid[] =
    "sources:\n"
    "  gen: {type: generate, count: 10}\n"
    "sinks:\n"
    "  out: {type: file, inputs: [gen], path: out.ndjson}\n";

/* Whether a problem of validate_text is at LINE:COLUMN in `component`,
** its message starting with `message` (the file's path left out). */
static bool problem_is(json_t *e, int line, int column, const char *component,
                       const char *message)
{
    const char *its_component = json_string_value(json_object_get(e, "component"));
    const char *its_message = json_string_value(json_object_get(e, "message"));
    return json_integer_value(json_object_get(e, "line")) == line &&
           json_integer_value(json_object_get(e, "column")) == column && its_component &&
           !strcmp(its_component, component) && its_message &&
           !strncmp(its_message, message, strlen(message));
}

TEST(validation_gives_each_problem_its_line_and_component)
{
    fresh_dir();
    json_t *errors = validate_text(valid, strlen(valid), dir);
    CHECK(json_is_array(errors) && json_array_size(errors) == 0);
    json_decref(errors);

    static const char bad[] =
        "sources:\n"
        "  gen: {type: generate, count: 10}\n"
        "sinks:\n"
        "  out:\n"
        "    type: file\n"
        "    inputs: [ghost]\n"
        "    path: out.ndjson\n";
    errors = validate_text(bad, strlen(bad), dir);
    CHECK_EQ_INT(json_array_size(errors), 2);       /* in file order */
    CHECK(problem_is(json_array_get(errors, 0), 2, 3, "gen", "nothing reads from 'gen'"));
    CHECK(problem_is(json_array_get(errors, 1), 6, 14, "out", "unknown input 'ghost'"));
    json_decref(errors);

    CHECK_EQ_INT(entries(dir), 0);                  /* the temporary file is gone */
    remove_dir();
}

/* The text of DIR/pipelines/NAME (at most 255 bytes), "" if none. */
static const char *pipeline_file(const char *name)
{
    static char text[256];
    char path[PATH_MAX + 96];
    snprintf(path, sizeof path, "%s/pipelines/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    return text;
}

TEST(pipelines_are_saved_listed_and_deleted_with_their_desired_state)
{
    fresh_dir();
    /* No pipeline is started here: the executable is never run. */
    Manager *m = manager_open(dir, "/nonexistent/sluice", err, sizeof err);
    CHECK(m != NULL);
    if (!m) return;
    CHECK_EQ_INT(manager_put(m, "zeta", valid, strlen(valid), err, sizeof err), MANAGER_OK);
    CHECK_EQ_INT(manager_put(m, "alpha", valid, strlen(valid), err, sizeof err), MANAGER_OK);
    CHECK(!strcmp(pipeline_file("alpha.yaml"), valid));
    CHECK(!strcmp(pipeline_file("alpha.state"), "stopped\n"));

    json_t *list = manager_list(m);
    CHECK_EQ_INT(json_array_size(list), 2);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(list, 0), "name")), "alpha"));
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(list, 0), "state")), "stopped"));
    CHECK(json_is_null(json_object_get(json_array_get(list, 0), "pid")));
    json_decref(list);

    json_t *status = manager_status(m, "zeta", true);
    CHECK(status && !strcmp(json_string_value(json_object_get(status, "yaml")), valid));
    json_decref(status);
    CHECK(manager_status(m, "nobody", false) == NULL);
    CHECK(manager_logs(m, "nobody", &(size_t){ 0 }) == NULL);
    CHECK_EQ_INT(manager_stop(m, "nobody", err, sizeof err), MANAGER_NOT_FOUND);

    CHECK_EQ_INT(manager_delete(m, "zeta", err, sizeof err), MANAGER_OK);
    CHECK(!strcmp(pipeline_file("zeta.yaml"), "") && !strcmp(pipeline_file("zeta.state"), ""));
    CHECK_EQ_INT(manager_delete(m, "zeta", err, sizeof err), MANAGER_NOT_FOUND);
    manager_close(m);
    CHECK_EQ_INT(manager_put(m, "late", valid, strlen(valid), err, sizeof err), MANAGER_CLOSING);
    manager_free(m);

    m = manager_open(dir, "/nonexistent/sluice", err, sizeof err);    /* found again */
    list = m ? manager_list(m) : NULL;
    CHECK_EQ_INT(json_array_size(list), 1);
    json_decref(list);
    if (m) {
        manager_close(m);
        manager_free(m);
    }
    remove_dir();
}

int main(void)
{
    RUN(the_token_must_match_whole_after_bearer);
    RUN(a_new_token_is_kept_with_mode_0600_and_found_again);
    RUN(the_flag_wins_over_the_environment_which_wins_over_the_file);
    RUN(empty_blank_or_overlong_tokens_are_refused);
    RUN(pipeline_names_are_1_to_64_of_lowercase_digits_underscore_dash);
    RUN(rates_are_counter_differences_per_second);
    RUN(the_log_ring_joins_pieces_into_lines_and_keeps_the_last_ones);
    RUN(a_long_log_line_is_cut);
    RUN(console_files_resolve_inside_their_directory_only);
    RUN(validation_gives_each_problem_its_line_and_component);
    RUN(pipelines_are_saved_listed_and_deleted_with_their_desired_state);
    return unit_summary();
}
