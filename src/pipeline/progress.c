/*
** progress.c: the progress bar of a batch run on a terminal. It shows how
** much of the sources' input has been read when they know their size
** (files), else how many records have been read, and the rate.
*/
#include "internal.h"

#include <stdio.h>

enum { BAR_WIDTH = 30 };

static void human(double v, char out[16])
{
    if (v >= 1e9) snprintf(out, 16, "%.1fG", v / 1e9);
    else if (v >= 1e6) snprintf(out, 16, "%.1fM", v / 1e6);
    else if (v >= 1e3) snprintf(out, 16, "%.1fk", v / 1e3);
    else snprintf(out, 16, "%.0f", v);
}

void sl_progress_draw(SlPipeline *p, int64_t started_ns, bool last)
{
    uint64_t records = 0, done = 0, total = 0;
    bool sized = true;
    for (size_t i = 0; i < p->count; i++) {
        SlCtx *ctx = p->nodes[i];
        if (ctx->kind != SL_SOURCE) continue;
        records += ctx->counters.records_out;
        done += ctx->progress_done;
        total += ctx->progress_total;
        sized = sized && ctx->progress_total > 0;
    }
    double secs = (double)(sl_now_ns() - started_ns) / 1e9;
    char count[16], rate[16];
    human((double)records, count);
    human(secs > 0 ? (double)records / secs : 0, rate);
    if (sized && total) {
        int filled = (int)((double)done / (double)total * BAR_WIDTH);
        if (filled > BAR_WIDTH) filled = BAR_WIDTH;
        fprintf(stderr, "\r[%.*s%*s] %3d%%  %s records  %s/s \033[K",
                filled, "##############################", BAR_WIDTH - filled, "",
                (int)(100.0 * (double)done / (double)total), count, rate);
    } else {
        fprintf(stderr, "\r%s records  %s/s \033[K", count, rate);
    }
    if (last) fprintf(stderr, "\n");
    fflush(stderr);
}
