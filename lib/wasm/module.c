/*
** module.c: loading and freeing modules, and the introspection of their
** imports and exports.
**
** Loading is a pipeline: copy the bytes (names and bodies point into the
** copy, so the caller may free its buffer), decode every section
** (decode.c), then validate and compile each function body (compile.c).
** A loaded module is never written again, which is what lets many threads
** instantiate it at once.
*/
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Immediates and memory accesses copy little-endian bytes straight into
   host integers; a big-endian host would need byte swaps everywhere. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "libsluice-wasm requires a little-endian host");

void sw_module_free(sw_module *m)
{
    if (!m) return;
    /* a failed decode may leave the counts ahead of the arrays */
    uint32_t defined = m->funcs && m->nfuncs > m->nimported_funcs
                           ? m->nfuncs - m->nimported_funcs : 0;
    for (uint32_t i = 0; i < defined; i++)
        if (m->funcs[i].code) code_free(m->funcs[i].code);
    module_release(m);
    free(m->bytes);
    free(m);
}

static int compile_all(sw_module *m, sw_error *err)
{
    for (uint32_t i = 0; i < m->nfuncs - m->nimported_funcs; i++)
        if (compile_function(m, i, err) != 0) return -1;
    return 0;
}

sw_module *sw_module_load(const uint8_t *bytes, size_t len, sw_error *err)
{
    sw_error local;
    if (!err) err = &local;
    memset(err, 0, sizeof *err);
    if (!bytes && len > 0) {
        sw_fail(err, SW_ERR_ARG, 0, "module bytes are NULL");
        return NULL;
    }
    sw_module *m = calloc(1, sizeof *m);
    if (m) m->bytes = malloc(len ? len : 1);
    if (!m || !m->bytes) {
        free(m);
        sw_fail(err, SW_ERR_NOMEM, 0, "out of memory loading a module of %zu bytes", len);
        return NULL;
    }
    if (len) memcpy(m->bytes, bytes, len);
    m->len = len;
    if (decode_module(m, err) != 0 || compile_all(m, err) != 0) {
        sw_module_free(m);
        return NULL;
    }
    return m;
}

sw_name sw_name_of(const char *cstring)
{
    return (sw_name){ cstring, cstring ? strlen(cstring) : 0 };
}

static sw_name public_name(Name n)
{
    return (sw_name){ n.ptr, n.len };
}

size_t sw_module_import_count(const sw_module *m)
{
    return m->nimports;
}

sw_import_desc sw_module_import(const sw_module *m, size_t i)
{
    if (i >= m->nimports) return (sw_import_desc){ { NULL, 0 }, { NULL, 0 }, 0 };
    const Import *im = &m->imports[i];
    return (sw_import_desc){ public_name(im->module), public_name(im->name),
                             (sw_externkind)im->kind };
}

size_t sw_module_export_count(const sw_module *m)
{
    return m->nexports;
}

sw_export_desc sw_module_export(const sw_module *m, size_t i)
{
    if (i >= m->nexports) return (sw_export_desc){ { NULL, 0 }, 0 };
    const Export *ex = &m->exports[i];
    return (sw_export_desc){ public_name(ex->name), (sw_externkind)ex->kind };
}
