/*
** test_seglog.c: the disk buffer's storage: the segment log
** (src/pipeline/seglog.h) and the packed batches it holds
** (src/pipeline/pack.h). Appended entries come back in order across
** reopening until committed; a torn end is cut off and a flipped byte
** skipped, both reported with the file and offset; committed segments are
** deleted, which is what frees room under the byte bound.
*/
#include "../../src/pipeline/pack.h"
#include "../../src/pipeline/seglog.h"
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct Reports {
    int count;
    char last[512];
} Reports;

static void on_report(void *user, const char *message)
{
    Reports *r = user;
    r->count++;
    snprintf(r->last, sizeof r->last, "%s", message);
}

static char dir[64];

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sluice-seglog-XXXXXX");
    if (!mkdtemp(dir)) abort();
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static int segment_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".seg") != NULL;
    if (d) closedir(d);
    return n;
}

static SlSegLog *open_log(uint64_t segment_bytes, Reports *reports)
{
    char why[256];
    SlSegLog *log = sl_seglog_open(dir, segment_bytes, on_report, reports, why, sizeof why);
    if (!log) fprintf(stderr, "open: %s\n", why);
    return log;
}

static void append_text(SlSegLog *log, const char *text)
{
    CHECK(sl_seglog_append(log, text, strlen(text)));
}

/* The next entry's text ("" when none). */
static const char *next_text(SlSegLog *log, uint64_t *seq)
{
    static SlBuf out;
    static char text[256];
    text[0] = 0;
    if (sl_seglog_next(log, &out, seq) == 1)
        snprintf(text, sizeof text, "%.*s", (int)out.len, out.data);
    return text;
}

TEST(entries_come_back_in_order_until_committed)
{
    fresh_dir();
    Reports reports = { 0 };
    SlSegLog *log = open_log(1 << 20, &reports);
    append_text(log, "one");
    append_text(log, "two");
    append_text(log, "three");
    uint64_t seq = 0;
    CHECK(!strcmp(next_text(log, &seq), "one"));
    CHECK_EQ_INT(seq, 1);
    CHECK(sl_seglog_commit(log, seq));
    CHECK(!strcmp(next_text(log, &seq), "two"));
    sl_seglog_close(log);                 /* "two" read, not committed */

    log = open_log(1 << 20, &reports);
    CHECK(!strcmp(next_text(log, &seq), "two"));
    CHECK(!strcmp(next_text(log, &seq), "three"));
    CHECK_EQ_INT(seq, 3);
    CHECK(!strcmp(next_text(log, &seq), ""));
    CHECK(sl_seglog_commit(log, 3));
    CHECK_EQ_INT(sl_seglog_pending(log), 0);
    append_text(log, "four");             /* numbering goes on */
    CHECK(!strcmp(next_text(log, &seq), "four"));
    CHECK_EQ_INT(seq, 4);
    sl_seglog_close(log);
    CHECK_EQ_INT(reports.count, 0);
    remove_dir();
}

static const char *only_segment(char *path, size_t size)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".seg")) snprintf(path, size, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    return path;
}

TEST(a_torn_end_is_cut_off_and_reported)
{
    fresh_dir();
    Reports reports = { 0 };
    SlSegLog *log = open_log(1 << 20, &reports);
    append_text(log, "kept-1");
    append_text(log, "kept-2");
    append_text(log, "torn-entry");
    sl_seglog_close(log);
    char path[512];
    struct stat st;
    stat(only_segment(path, sizeof path), &st);
    CHECK(truncate(path, st.st_size - 4) == 0);   /* killed mid-write */

    log = open_log(1 << 20, &reports);
    CHECK_EQ_INT(reports.count, 1);
    CHECK(strstr(reports.last, path) && strstr(reports.last, "torn entry at byte 44"));
    uint64_t seq;
    CHECK(!strcmp(next_text(log, &seq), "kept-1"));
    CHECK(!strcmp(next_text(log, &seq), "kept-2"));
    CHECK(!strcmp(next_text(log, &seq), ""));
    append_text(log, "after");            /* appends go on after the cut */
    CHECK(!strcmp(next_text(log, &seq), "after"));
    sl_seglog_close(log);
    remove_dir();
}

TEST(a_flipped_byte_skips_one_entry_only)
{
    fresh_dir();
    Reports reports = { 0 };
    SlSegLog *log = open_log(1 << 20, &reports);
    append_text(log, "first");
    append_text(log, "second");
    append_text(log, "third");
    sl_seglog_close(log);
    char path[512];
    FILE *f = fopen(only_segment(path, sizeof path), "r+");
    fseek(f, 21 + 16 + 2, SEEK_SET);      /* inside "second" */
    fputc('X', f);
    fclose(f);

    log = open_log(1 << 20, &reports);
    uint64_t seq;
    CHECK(!strcmp(next_text(log, &seq), "first"));
    CHECK(!strcmp(next_text(log, &seq), "third"));
    CHECK_EQ_INT(seq, 3);
    CHECK_EQ_INT(reports.count, 1);
    CHECK(strstr(reports.last, path) && strstr(reports.last, "at byte 21 (bad checksum)"));
    sl_seglog_close(log);
    remove_dir();
}

TEST(committed_segments_are_deleted_freeing_bytes)
{
    fresh_dir();
    Reports reports = { 0 };
    SlSegLog *log = open_log(64, &reports);        /* about two entries each */
    char text[40];
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "entry-%02d-padding", i);
        append_text(log, text);
    }
    CHECK_EQ_INT(segment_files(), 5);
    uint64_t full = sl_seglog_bytes(log);
    CHECK_EQ_INT(full, 10 * sl_seglog_entry_bytes(strlen(text)));
    uint64_t seq = 0;
    for (int i = 0; i < 7; i++) next_text(log, &seq);
    CHECK(!strcmp(next_text(log, &seq), "entry-07-padding"));
    CHECK(sl_seglog_commit(log, seq));
    CHECK_EQ_INT(segment_files(), 1);              /* entries 9 and 10 */
    CHECK(sl_seglog_bytes(log) < full);
    CHECK_EQ_INT(sl_seglog_pending(log), 2);
    sl_seglog_close(log);

    log = open_log(64, &reports);
    CHECK(!strcmp(next_text(log, &seq), "entry-08-padding"));
    CHECK_EQ_INT(seq, 9);
    sl_seglog_close(log);
    CHECK_EQ_INT(reports.count, 0);
    remove_dir();
}

TEST(a_packed_batch_keeps_types_and_metadata)
{
    SlBatch *b = sl_batch_new();
    SlRecord *r = sl_batch_add(b);
    *sl_set(b, r, "n") = sl_int(-42);
    *sl_set(b, r, "x") = sl_float(0.1);
    *sl_set(b, r, "at") = sl_time(1764000000123456789);
    *sl_set(b, r, "ok") = sl_bool(true);
    *sl_set(b, r, "none") = sl_null();
    *sl_set(b, r, "s") = sl_str("h\0i", 3);
    SlValue list = sl_array(b, 2);
    list.as.items[0] = sl_str("a", 1);
    list.as.items[1] = sl_map(b);
    *sl_map_set(b, list.as.items[1].as.map, "k", 1) = sl_int(7);
    *sl_set(b, r, "list") = list;
    *sl_map_set(b, &r->meta, "topic", 5) = sl_str("t/1", 3);
    sl_batch_add(b);                                /* an empty record */
    SlBuf packed = { 0 };
    sl_pack_batch(&packed, b);

    SlBatch *u = sl_unpack_batch(packed.data, packed.len);
    CHECK(u != NULL);
    if (u) {
        CHECK_EQ_INT(u->count, 2);
        SlRecord *x = &u->records[0];
        CHECK(sl_get(x, "n")->type == SL_INT && sl_get(x, "n")->as.i == -42);
        CHECK(sl_get(x, "x")->type == SL_FLOAT && sl_get(x, "x")->as.f == 0.1);
        CHECK(sl_get(x, "at")->type == SL_TIMESTAMP && sl_get(x, "at")->as.ns == 1764000000123456789);
        CHECK(sl_get(x, "ok")->type == SL_BOOL && sl_get(x, "ok")->as.b);
        CHECK(sl_get(x, "none")->type == SL_NULL);
        CHECK(sl_get(x, "s")->len == 3 && !memcmp(sl_get(x, "s")->as.s, "h\0i", 3));
        SlValue *l = sl_get(x, "list");
        CHECK(l->type == SL_ARRAY && l->len == 2 && l->as.items[1].type == SL_MAP);
        CHECK(sl_map_get(l->as.items[1].as.map, "k", 1)->as.i == 7);
        CHECK(sl_map_get(&x->meta, "topic", 5)->len == 3);
        CHECK_EQ_INT(u->records[1].fields.count, 0);
    }
    for (size_t cut = 0; cut < packed.len; cut++) { /* damage never reads past the end */
        SlBatch *bad = sl_unpack_batch(packed.data, cut);
        CHECK(bad == NULL);
        sl_batch_free(bad);
    }
    sl_batch_free(u);
    sl_batch_free(b);
    sl_buf_free(&packed);
}

int main(void)
{
    RUN(entries_come_back_in_order_until_committed);
    RUN(a_torn_end_is_cut_off_and_reported);
    RUN(a_flipped_byte_skips_one_entry_only);
    RUN(committed_segments_are_deleted_freeing_bytes);
    RUN(a_packed_batch_keeps_types_and_metadata);
    return unit_summary();
}
