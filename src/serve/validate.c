/*
** validate.c: a pipeline text checked as `sluice validate` checks a file
** (serve.h), for the console's editor: the same loader and checks, the
** problems as JSON with their line, column and component.
**
** The text is written to a temporary file in the pipelines' directory, so
** that relative paths in it mean what they will mean once it is saved. The
** component of a problem is the one whose entry (from its name to the next
** entry) holds the problem's line. Loads take a lock: a pipeline is built
** whole to be checked, and no component expects to be built by two threads
** at once.
*/
#include "serve.h"
#include "../pipeline/pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Where an entry of the file starts, and whose it is (NULL: not a
** component's, such as a section's key). */
typedef struct Mark {
    int line;
    const char *component;
} Mark;

static size_t collect_marks(const SlConf *root, Mark *marks, size_t max)
{
    size_t n = 0;
    for (size_t s = 0; root && root->kind == SL_CONF_MAP && s < root->count; s++) {
        const SlConf *section = root->items[s];
        if (n < max) marks[n++] = (Mark){ section->key_line, NULL };
        bool components = section->kind == SL_CONF_MAP && (!strcmp(section->key, "sources") ||
                                                           !strcmp(section->key, "transforms") ||
                                                           !strcmp(section->key, "sinks"));
        for (size_t i = 0; components && i < section->count && n < max; i++)
            marks[n++] = (Mark){ section->items[i]->key_line, section->items[i]->key };
    }
    return n;
}

/* The component whose entry holds `line`. */
static const char *component_at(const Mark *marks, size_t n, int line)
{
    const Mark *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (marks[i].line <= line && (!best || marks[i].line >= best->line)) best = &marks[i];
    return best ? best->component : NULL;
}

/* The message of a "FILE:LINE:COL: message" (or "FILE: message") entry. */
static const char *message_of(const SlDiagEntry *e, const char *path)
{
    const char *m = e->text;
    size_t n = strlen(path);
    if (!strncmp(m, path, n)) m += n;
    if (e->line > 0) {
        for (int colons = 0; *m && colons < 3; m++) colons += *m == ':';
    } else if (*m == ':') {
        m++;
    }
    return m + strspn(m, " ");
}

static json_t *problems(const SlDiag *d, const SlConf *root, const char *path)
{
    size_t max = 4096;
    Mark *marks = malloc(max * sizeof *marks);
    if (!marks) abort();
    size_t n = collect_marks(root, marks, max);
    json_t *list = json_array();
    for (size_t i = 0; i < d->count; i++) {
        const SlDiagEntry *e = &d->entries[i];
        const char *component = e->line > 0 ? component_at(marks, n, e->line) : NULL;
        json_array_append_new(list, json_pack(
            "{s:i, s:i, s:o, s:s}", "line", e->line, "column", e->col,
            "component", component ? json_string(component) : json_null(),
            "message", message_of(e, path)));
    }
    free(marks);
    return list;
}

json_t *validate_text(const char *yaml, size_t len, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.validate-XXXXXX", dir);
    pthread_mutex_lock(&lock);
    int fd = mkstemp(path);
    bool written = fd >= 0 && write(fd, yaml, len) == (ssize_t)len;
    if (fd >= 0) close(fd);
    SlDiag d = { 0 };
    SlConf *root = NULL;
    if (!written) {
        sl_diag_add(&d, path, 0, 0, "cannot write a temporary file in %s", dir);
    } else {
        SlPipeline *p = sl_pipeline_load(path, &d);
        if (p) sl_pipeline_free(p);
        SlDiag ignored = { 0 };
        root = d.count ? sl_conf_load(path, &ignored) : NULL;
        sl_diag_free(&ignored);
    }
    if (fd >= 0) unlink(path);
    pthread_mutex_unlock(&lock);
    sl_diag_sort(&d);
    json_t *list = problems(&d, root, path);
    if (root) sl_conf_free(root);
    sl_diag_free(&d);
    return list;
}
