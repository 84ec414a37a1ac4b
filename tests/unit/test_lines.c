/*
** test_lines.c: line splitting for line-oriented sources (lines.c): lines
** cut across reads, over-long lines (also across reads), CRLF, empty lines
** and a last line without a newline. The runtime calls lines.c makes are
** replaced here by stubs that record what was emitted and rejected.
*/
#include "unit.h"

#include "../../src/pipeline/lines.h"
#include "../../src/pipeline/record.h"

static char emitted[4096], rejected[4096];
static int batches;

bool sl_emit(SlCtx *ctx, SlBatch *b)
{
    (void)ctx;
    for (uint32_t i = 0; i < b->count; i++) {
        const SlValue *m = sl_get(&b->records[i], "message");
        strncat(emitted, "[", sizeof emitted - strlen(emitted) - 1);
        strncat(emitted, m->as.s, sizeof emitted - strlen(emitted) - 1);
        strncat(emitted, "]", sizeof emitted - strlen(emitted) - 1);
    }
    batches++;
    sl_batch_free(b);
    return true;
}

void sl_reject_text(SlCtx *ctx, const char *text, size_t len, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
    char piece[64];
    snprintf(piece, sizeof piece, "<%.*s>", (int)(len < 8 ? len : 8), text);
    strncat(rejected, piece, sizeof rejected - strlen(rejected) - 1);
}

bool sl_stopping(const SlCtx *ctx)
{
    (void)ctx;
    return false;
}

void sl_count_bytes_in(SlCtx *ctx, uint64_t n)
{
    (void)ctx;
    (void)n;
}

/* Feeds the pieces in turn, then ends the input. */
static void feed(size_t max_line, const char *const *pieces)
{
    SlLines l;
    emitted[0] = rejected[0] = 0;
    batches = 0;
    sl_lines_init(&l, max_line);
    for (; *pieces; pieces++) sl_lines_feed(NULL, &l, *pieces, strlen(*pieces));
    sl_lines_flush(NULL, &l, true);
    sl_lines_free(&l);
}

TEST(whole_lines)
{
    feed(100, (const char *const[]){ "a\nbb\n\nccc\r\n", NULL });
    CHECK(!strcmp(emitted, "[a][bb][ccc]"));
    CHECK(!strcmp(rejected, ""));
}

TEST(lines_cut_across_reads)
{
    feed(100, (const char *const[]){ "ab", "c\nde", "", "f", "\r", "\ng", NULL });
    CHECK(!strcmp(emitted, "[abc][def][g]"));
}

TEST(long_lines_are_rejected_and_skipped)
{
    feed(4, (const char *const[]){ "ok\n123456789\nfine\n", NULL });
    CHECK(!strcmp(emitted, "[ok][fine]"));
    CHECK(!strcmp(rejected, "<12345678>"));
}

TEST(long_lines_across_reads)
{
    feed(4, (const char *const[]){ "12", "345", "678", "9\nok", "\n", "abcdefgh", NULL });
    CHECK(!strcmp(emitted, "[ok]"));
    CHECK(!strcmp(rejected, "<12345><abcdefgh>"));
}

TEST(exactly_the_limit_passes)
{
    feed(4, (const char *const[]){ "1234\n12", "34\n1234\n", NULL });
    CHECK(!strcmp(emitted, "[1234][1234][1234]"));
    CHECK(!strcmp(rejected, ""));
}

TEST(the_cr_of_a_crlf_is_not_counted)
{
    feed(4, (const char *const[]){ "1234\r\n12", "34\r", "\n1234\r5\n", NULL });
    CHECK(!strcmp(emitted, "[1234][1234]"));
    CHECK(!strcmp(rejected, "<1234\r5>"));
}

TEST(full_batches_are_emitted)
{
    static char many[SL_BATCH_RECORDS * 2 + 10];
    for (size_t i = 0; i < SL_BATCH_RECORDS + 3; i++) memcpy(many + 2 * i, "x\n", 2);
    feed(10, (const char *const[]){ many, NULL });
    CHECK_EQ_INT(batches, 2);
}

int main(void)
{
    RUN(whole_lines);
    RUN(lines_cut_across_reads);
    RUN(long_lines_are_rejected_and_skipped);
    RUN(long_lines_across_reads);
    RUN(exactly_the_limit_passes);
    RUN(the_cr_of_a_crlf_is_not_counted);
    RUN(full_batches_are_emitted);
    return unit_summary();
}
