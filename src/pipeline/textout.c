/*
** textout.c: NDJSON or CSV text for the stdout and file sinks (textout.h).
*/
#include "textout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const sl_textout_formats[] = { "ndjson", "csv", NULL };

static void add_column(SlTextOut *t, const char *name, size_t len)
{
    t->columns = realloc(t->columns, (t->ncolumns + 1) * sizeof *t->columns);
    char *copy = malloc(len + 1);
    if (!t->columns || !copy) abort();
    memcpy(copy, name, len);
    copy[len] = 0;
    t->columns[t->ncolumns++] = copy;
}

int sl_textout_init(SlCtx *ctx, SlTextOut *t, const SlConf *conf)
{
    memset(t, 0, sizeof *t);
    t->csv = !strcmp(sl_conf_str(conf, "format", "ndjson"), "csv");
    t->header = sl_conf_bool(conf, "header", true);
    const char *delimiter = sl_conf_str(conf, "delimiter", ",");
    if (strlen(delimiter) != 1 || delimiter[0] == '"' || delimiter[0] == '\n') {
        sl_conf_error(ctx, sl_conf_get(conf, "delimiter"),
                      "'delimiter' must be one character other than a quote or a newline");
        return -1;
    }
    t->delimiter = delimiter[0];
    const SlConf *columns = sl_conf_get(conf, "columns");
    for (size_t i = 0; columns && i < columns->count; i++)
        add_column(t, columns->items[i]->text, strlen(columns->items[i]->text));
    return 0;
}

static void csv_line(SlTextOut *t, const SlRecord *r)
{
    for (size_t c = 0; c < t->ncolumns; c++) {
        if (c) sl_buf_putc(&t->buf, t->delimiter);
        const SlValue *v = sl_get(r, t->columns[c]);
        if (v) sl_csv_value(&t->buf, v, t->delimiter);
    }
    sl_buf_putc(&t->buf, '\n');
}

static void csv_header(SlTextOut *t, const SlRecord *first)
{
    if (!t->ncolumns)
        for (uint32_t i = 0; i < first->fields.count; i++)
            add_column(t, first->fields.fields[i].name, first->fields.fields[i].name_len);
    if (t->header) {
        for (size_t c = 0; c < t->ncolumns; c++) {
            if (c) sl_buf_putc(&t->buf, t->delimiter);
            SlValue name = sl_str(t->columns[c], strlen(t->columns[c]));
            sl_csv_value(&t->buf, &name, t->delimiter);
        }
        sl_buf_putc(&t->buf, '\n');
    }
    t->header_written = true;
}

void sl_textout_encode(SlTextOut *t, const SlBatch *b)
{
    for (uint32_t i = 0; i < b->count; i++) {
        if (!t->csv) {
            sl_json_record(&t->buf, &b->records[i]);
            continue;
        }
        if (!t->header_written) csv_header(t, &b->records[i]);
        csv_line(t, &b->records[i]);
    }
}

void sl_textout_free(SlTextOut *t)
{
    for (size_t i = 0; i < t->ncolumns; i++) free(t->columns[i]);
    free(t->columns);
    sl_buf_free(&t->buf);
}

bool sl_write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}
