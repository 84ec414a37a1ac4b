/*
** sluice_wasi.h: WASI preview 1 ("wasi_snapshot_preview1") for libsluice-wasm.
**
** Built only on the public engine API (sluice_wasm.h), so it doubles as an
** example of embedding. An sw_wasi is what one guest program sees of the
** world: its arguments, its environment, its three standard streams and the
** host directories granted to it (preopens). Nothing else of the host file
** system is reachable: paths resolve beneath a granted directory and may
** neither be absolute nor climb out of it, whether with ".." or through a
** symbolic link. Such attempts fail with ERRNO_NOTCAPABLE in the guest.
**
** Every preview 1 function is importable. Those without a meaning here
** (sockets, proc_raise) return ERRNO_NOSYS, so that any module built by
** wasi-libc links.
**
** Typical use (error handling elided):
**
**   sw_wasi_config cfg;
**   sw_wasi_config_init(&cfg);
**   cfg.argc = 2; cfg.argv = (const char *[]){ "prog", "input.csv" };
**   cfg.ndirs = 1; cfg.dirs = &(sw_wasi_dir){ "/srv/data", "/data" };
**   sw_wasi *wasi = sw_wasi_new(&cfg, &err);
**   const sw_import *imports;
**   size_t n = sw_wasi_imports(wasi, store, &imports);
**   sw_instance *inst = sw_instantiate(store, module, imports, n, &err);
**   int status = sw_wasi_run(wasi, store, inst, &err);
**   sw_wasi_free(wasi);      (after the store: its functions point here)
**
** Threads: an sw_wasi belongs to the thread that uses its store.
*/
#ifndef SLUICE_WASI_H
#define SLUICE_WASI_H

#include "sluice_wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_wasi sw_wasi;

/* A host directory granted to the guest, and the name the guest knows it
   by (an absolute path such as "/data", or "." for relative paths). */
typedef struct sw_wasi_dir {
    const char *host_path;
    const char *guest_path;
} sw_wasi_dir;

typedef struct sw_wasi_config {
    size_t argc;
    const char *const *argv;    /* argv[0] is the program's name */
    size_t envc;
    const char *const *environ; /* "NAME=VALUE" strings */
    size_t ndirs;
    const sw_wasi_dir *dirs;
    /* Host descriptors behind the guest's 0, 1 and 2 (-1: closed). They are
       borrowed: the guest closing one never closes the host's. */
    int stdin_fd, stdout_fd, stderr_fd;
} sw_wasi_config;

/* No arguments, no environment, no directories, the host's stdio. */
void sw_wasi_config_init(sw_wasi_config *cfg);

/* Copies everything cfg points to and opens the granted directories.
   Returns NULL with err filled (SW_ERR_ARG naming the directory that cannot
   be opened, or SW_ERR_NOMEM). */
sw_wasi *sw_wasi_new(const sw_wasi_config *cfg, sw_error *err);
/* Closes every descriptor the guest opened. Free the stores that hold its
   imports first, or at least never call them again. */
void sw_wasi_free(sw_wasi *wasi);

/* Creates the WASI host functions in store and points *imports at an array
   of them, for sw_instantiate. The array belongs to wasi and stays valid
   until the next call or sw_wasi_free. Returns the count, or 0 with
   *imports NULL if memory ran out. */
size_t sw_wasi_imports(sw_wasi *wasi, sw_store *store,
                       const sw_import **imports);

/* Calls the instance's exported `_start`. Returns the guest's exit status:
   0 when _start returns, else the low 8 bits of the proc_exit code, as a
   POSIX process would report them (err->exit_code keeps all of it).
   Returns -1 with err filled if there is no _start or the guest trapped. */
int sw_wasi_run(sw_wasi *wasi, sw_store *store, sw_instance *inst,
                sw_error *err);

#ifdef __cplusplus
}
#endif
#endif
