/*
** files.h: the file operations the registry needs to never show a partial
** file: atomic writes (temporary file, fsync, rename, fsync of the
** directory) and creating directory trees.
*/
#ifndef SLUICE_REGISTRY_FILES_H
#define SLUICE_REGISTRY_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes data to path so that path holds either its old content or all of
   data, even if the process dies meanwhile. The temporary file is made in
   tmpdir (NULL: path's own directory), which must be on the same file
   system. mode is the new file's permission bits. */
bool file_write_atomic(const char *path, const char *tmpdir, const void *data,
                       size_t len, unsigned mode, char *err, size_t errlen);

/* mkdir -p, with mode 0755 for the directories it makes. */
bool file_make_dirs(const char *path, char *err, size_t errlen);

/* The whole file if it is at most max bytes; NULL with err filled. */
uint8_t *file_read_all(const char *path, size_t max, size_t *len, char *err,
                       size_t errlen);

#endif
