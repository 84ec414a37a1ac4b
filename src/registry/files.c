/*
** files.c: atomic writes, directory trees and bounded reads (files.h).
*/
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool fail_errno(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return false;
}

static bool write_fully(int fd, const uint8_t *data, size_t len)
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

/* The directory part of path ("." when there is none). */
static void dir_of(const char *path, char dir[PATH_MAX])
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, PATH_MAX, ".");
    else if (slash == path) snprintf(dir, PATH_MAX, "/");
    else snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
}

/* Makes the rename in dir durable. */
static bool sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

bool file_write_atomic(const char *path, const char *tmpdir, const void *data,
                       size_t len, unsigned mode, char *err, size_t errlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    dir_of(path, dir);
    if (snprintf(tmp, sizeof tmp, "%s/.sluice-tmp-XXXXXX", tmpdir ? tmpdir : dir) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return false;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) return fail_errno(err, errlen, tmp);
    bool ok = fchmod(fd, mode) == 0 && write_fully(fd, data, len) && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0) return sync_dir(dir) || fail_errno(err, errlen, dir);
    if (ok) saved = errno;
    unlink(tmp);
    errno = saved;
    return fail_errno(err, errlen, path);
}

bool file_make_dirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "%s: path too long", path);
        return false;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return fail_errno(err, errlen, buf);
        if (!saved) return true;
        *p = saved;
    }
}

uint8_t *file_read_all(const char *path, size_t max, size_t *len, char *err,
                       size_t errlen)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fail_errno(err, errlen, path);
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode)
                 ? "file too large" : "not a regular file");
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *data = malloc(size + 1);
    while (data && got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (!data || got != size) {
        if (data) fail_errno(err, errlen, path);
        else snprintf(err, errlen, "out of memory");
        free(data);
        close(fd);
        return NULL;
    }
    close(fd);
    data[size] = 0;
    *len = size;
    return data;
}
