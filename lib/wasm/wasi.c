/*
** wasi.c: WASI preview 1 ("wasi_snapshot_preview1") on the public engine API.
**
** Every import is one host function: a trampoline (wasi_call) reads the
** caller's memory and hands the raw argument slots to the implementation,
** which returns a WASI errno that becomes the i32 result. Guest pointers are
** never trusted: each one is checked against the memory's current size
** before use (ERRNO_FAULT otherwise). The memory cannot move while a host
** function runs, since only the guest can grow it.
**
** Descriptors. The guest's descriptors index a table of host descriptors:
** 0-2 borrow the embedder's standard streams, then come the granted
** directories (preopens), then whatever the guest opens.
**
** Sandbox. A guest path is resolved by the kernel with openat2() and
** RESOLVE_BENEATH relative to a directory descriptor the guest holds, so
** neither "..", an absolute path nor a symbolic link can lead outside it.
** Calls that act on a name rather than open it (mkdir, unlink, rename, ...)
** first open the name's parent the same way and then act on the last
** component alone, which those calls never follow. Where openat2() is missing
** (Linux < 5.6), a component-by-component walk that refuses symbolic links
** takes its place.
*/
#define _GNU_SOURCE /* O_PATH, AT_EMPTY_PATH, openat2 */
#include "sluice_wasi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- WASI constants (witx: wasi_snapshot_preview1) -------------------- */

enum {
    E_SUCCESS = 0, E_2BIG = 1, E_ACCES = 2, E_AGAIN = 6, E_BADF = 8,
    E_BUSY = 10, E_DQUOT = 19, E_EXIST = 20, E_FAULT = 21, E_FBIG = 22,
    E_INTR = 27, E_INVAL = 28, E_IO = 29, E_ISDIR = 31, E_LOOP = 32,
    E_MFILE = 33, E_MLINK = 34, E_NAMETOOLONG = 37, E_NFILE = 41,
    E_NODEV = 43, E_NOENT = 44, E_NOMEM = 48, E_NOSPC = 51, E_NOSYS = 52,
    E_NOTDIR = 54, E_NOTEMPTY = 55, E_NOTSUP = 58, E_NOTTY = 59, E_NXIO = 60,
    E_OVERFLOW = 61, E_PERM = 63, E_PIPE = 64, E_RANGE = 68, E_ROFS = 69,
    E_SPIPE = 70, E_TIMEDOUT = 73, E_TXTBSY = 74, E_XDEV = 75,
    E_NOTCAPABLE = 76
};

enum {
    FT_UNKNOWN = 0, FT_BLOCK_DEVICE = 1, FT_CHARACTER_DEVICE = 2,
    FT_DIRECTORY = 3, FT_REGULAR_FILE = 4, FT_SOCKET_STREAM = 6,
    FT_SYMBOLIC_LINK = 7
};

enum { FDFLAG_APPEND = 1, FDFLAG_DSYNC = 2, FDFLAG_NONBLOCK = 4,
       FDFLAG_RSYNC = 8, FDFLAG_SYNC = 16 };
enum { OFLAG_CREAT = 1, OFLAG_DIRECTORY = 2, OFLAG_EXCL = 4, OFLAG_TRUNC = 8 };
enum { LOOKUP_SYMLINK_FOLLOW = 1 };
enum { WHENCE_CUR = 1 };
enum { ADVICE_NOREUSE = 5 }; /* the last of the six kinds of advice */
enum { FST_ATIM = 1, FST_ATIM_NOW = 2, FST_MTIM = 4, FST_MTIM_NOW = 8 };
enum { EVENT_CLOCK = 0, EVENT_FD_READ = 1, EVENT_FD_WRITE = 2 };
enum { SUBCLOCK_ABSTIME = 1 };

#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_SEEK (1ull << 2)
#define RIGHT_FD_TELL (1ull << 5)
#define RIGHT_FD_WRITE (1ull << 6)
#define RIGHTS_ALL ((1ull << 30) - 1)

/* Sizes of the structures the guest hands over or receives. */
enum { IOVEC_SIZE = 8, FILESTAT_SIZE = 64, FDSTAT_SIZE = 24, PRESTAT_SIZE = 8,
       DIRENT_SIZE = 24, SUBSCRIPTION_SIZE = 48, EVENT_SIZE = 32 };

/* Enough for any real program; bounds what a guest can make us hold. */
enum { MAX_FDS = 4096, MAX_IOVS = 64 };

/* ---- Context ------------------------------------------------------------ */

typedef struct Fd {
    int host;         /* -1: free slot */
    bool owned;       /* opened here, so closed here */
    uint8_t filetype;
    char *preopen;    /* guest name of a granted directory, else NULL */
    DIR *dir;         /* fd_readdir's stream, made on first use */
} Fd;

/* What an implementation sees of its caller. */
typedef struct Guest {
    uint8_t *mem;
    uint64_t size;
    /* The store's time limit per call. A sleep longer than that would
       outlast the deadline, which the engine checks only in guest code. */
    uint64_t max_sleep_ns;
} Guest;

typedef uint16_t WasiImpl(sw_wasi *w, const Guest *g, const sw_slot *a);

typedef struct WasiFunc {
    const char *name;
    const char *params; /* one letter a parameter: i (i32), I (i64) */
    WasiImpl *impl;     /* NULL for proc_exit, which returns nothing */
} WasiFunc;

typedef struct Binding {
    sw_wasi *wasi;
    const WasiFunc *def;
    sw_valtype params[9], result;
    sw_functype type;
} Binding;

struct sw_wasi {
    char *args, *env;          /* NUL-terminated strings, back to back */
    size_t args_size, env_size;
    uint32_t argc, envc;
    Fd *fds;
    uint32_t nfds;
    Binding *bindings;
    sw_import *imports;
};

/* ---- Guest memory --------------------------------------------------------- */

/* The guest bytes [ptr, ptr + len), or NULL if any of them is outside. */
static uint8_t *guest_ptr(const Guest *g, uint32_t ptr, uint64_t len)
{
    if (!g->mem || len > g->size || ptr > g->size - len) return NULL;
    return g->mem + ptr;
}

/* WebAssembly memory is little-endian whatever the host is. */
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint16_t store_u32(const Guest *g, uint32_t ptr, uint32_t v)
{
    uint8_t *p = guest_ptr(g, ptr, 4);
    if (!p) return E_FAULT;
    put_u32(p, v);
    return E_SUCCESS;
}

static uint16_t store_u64(const Guest *g, uint32_t ptr, uint64_t v)
{
    uint8_t *p = guest_ptr(g, ptr, 8);
    if (!p) return E_FAULT;
    put_u64(p, v);
    return E_SUCCESS;
}

/* Copies a guest path into buf as a C string. Absolute paths are refused
   here: a guest path is always relative to a directory it holds. */
static uint16_t read_path(const Guest *g, uint32_t ptr, uint32_t len,
                          char buf[static PATH_MAX])
{
    const uint8_t *p = guest_ptr(g, ptr, len);
    if (!p) return E_FAULT;
    if (len >= PATH_MAX) return E_NAMETOOLONG;
    if (memchr(p, '\0', len)) return E_INVAL;
    if (len > 0 && p[0] == '/') return E_NOTCAPABLE;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return E_SUCCESS;
}

/* ---- Host errors and metadata -------------------------------------------- */

static const struct { int host; uint16_t wasi; } errno_map[] = {
    { E2BIG, E_2BIG }, { EACCES, E_ACCES }, { EAGAIN, E_AGAIN },
    { EBADF, E_BADF }, { EBUSY, E_BUSY }, { EDQUOT, E_DQUOT },
    { EEXIST, E_EXIST }, { EFAULT, E_FAULT }, { EFBIG, E_FBIG },
    { EINTR, E_INTR }, { EINVAL, E_INVAL }, { EIO, E_IO },
    { EISDIR, E_ISDIR }, { ELOOP, E_LOOP }, { EMFILE, E_MFILE },
    { EMLINK, E_MLINK }, { ENAMETOOLONG, E_NAMETOOLONG },
    { ENFILE, E_NFILE }, { ENODEV, E_NODEV }, { ENOENT, E_NOENT },
    { ENOMEM, E_NOMEM }, { ENOSPC, E_NOSPC }, { ENOSYS, E_NOSYS },
    { ENOTDIR, E_NOTDIR }, { ENOTEMPTY, E_NOTEMPTY }, { ENOTSUP, E_NOTSUP },
    { ENOTTY, E_NOTTY }, { ENXIO, E_NXIO }, { EOVERFLOW, E_OVERFLOW },
    { EPERM, E_PERM }, { EPIPE, E_PIPE }, { ERANGE, E_RANGE },
    { EROFS, E_ROFS }, { ESPIPE, E_SPIPE }, { ETIMEDOUT, E_TIMEDOUT },
    { ETXTBSY, E_TXTBSY }, { EXDEV, E_XDEV },
};

static uint16_t wasi_errno(int host)
{
    for (size_t i = 0; i < sizeof errno_map / sizeof errno_map[0]; i++)
        if (errno_map[i].host == host) return errno_map[i].wasi;
    return E_IO;
}

static uint8_t filetype_of_mode(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return FT_REGULAR_FILE;
    case S_IFDIR: return FT_DIRECTORY;
    case S_IFCHR: return FT_CHARACTER_DEVICE;
    case S_IFBLK: return FT_BLOCK_DEVICE;
    case S_IFLNK: return FT_SYMBOLIC_LINK;
    case S_IFSOCK: return FT_SOCKET_STREAM;
    default: return FT_UNKNOWN;
    }
}

static uint8_t filetype_of_dirent(unsigned char d_type)
{
    switch (d_type) {
    case DT_REG: return FT_REGULAR_FILE;
    case DT_DIR: return FT_DIRECTORY;
    case DT_CHR: return FT_CHARACTER_DEVICE;
    case DT_BLK: return FT_BLOCK_DEVICE;
    case DT_LNK: return FT_SYMBOLIC_LINK;
    case DT_SOCK: return FT_SOCKET_STREAM;
    default: return FT_UNKNOWN;
    }
}

static uint64_t nanoseconds(struct timespec ts)
{
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec timespec_of(uint64_t ns)
{
    return (struct timespec){ (time_t)(ns / 1000000000u),
                              (long)(ns % 1000000000u) };
}

static void put_filestat(uint8_t *out, const struct stat *st)
{
    memset(out, 0, FILESTAT_SIZE);
    put_u64(out, (uint64_t)st->st_dev);
    put_u64(out + 8, (uint64_t)st->st_ino);
    out[16] = filetype_of_mode(st->st_mode);
    put_u64(out + 24, (uint64_t)st->st_nlink);
    put_u64(out + 32, (uint64_t)st->st_size);
    put_u64(out + 40, nanoseconds(st->st_atim));
    put_u64(out + 48, nanoseconds(st->st_mtim));
    put_u64(out + 56, nanoseconds(st->st_ctim));
}

/* ---- Descriptor table ------------------------------------------------- */

static Fd *fd_get(sw_wasi *w, uint32_t fd)
{
    return fd < w->nfds && w->fds[fd].host >= 0 ? &w->fds[fd] : NULL;
}

/* The descriptor if it is a directory; *err says why not otherwise. */
static Fd *dir_get(sw_wasi *w, uint32_t fd, uint16_t *err)
{
    Fd *f = fd_get(w, fd);
    *err = !f ? E_BADF : f->filetype != FT_DIRECTORY ? E_NOTDIR : E_SUCCESS;
    return *err ? NULL : f;
}

static void fd_release(Fd *f)
{
    if (f->dir) closedir(f->dir);
    if (f->owned) close(f->host);
    free(f->preopen);
    *f = (Fd){ .host = -1 };
}

/* Enters a host descriptor in the lowest free slot above the standard
   streams, as POSIX would. Returns the guest number, or -1 (the host
   descriptor is then closed). */
static int64_t fd_insert(sw_wasi *w, int host, uint8_t filetype,
                         char *preopen)
{
    uint32_t i = 3;
    while (i < w->nfds && w->fds[i].host >= 0) i++;
    if (i == w->nfds) {
        uint32_t n = w->nfds * 2;
        Fd *grown = n <= MAX_FDS ? realloc(w->fds, n * sizeof *grown) : NULL;
        if (!grown) {
            close(host);
            free(preopen);
            return -1;
        }
        for (uint32_t j = w->nfds; j < n; j++) grown[j] = (Fd){ .host = -1 };
        w->fds = grown;
        w->nfds = n;
    }
    w->fds[i] = (Fd){ .host = host, .owned = true, .filetype = filetype,
                      .preopen = preopen };
    return i;
}

/* ---- Arguments and environment -------------------------------------------- */

/* Packs strings back to back, each NUL-terminated, as args_get expects. */
static char *pack_strings(const char *const *strings, size_t n, size_t *size)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(strings[i]) + 1;
    char *buf = malloc(total ? total : 1);
    if (!buf) return NULL;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(strings[i]) + 1;
        memcpy(buf + at, strings[i], len);
        at += len;
    }
    *size = total;
    return buf;
}

/* Writes the pointer array and the strings themselves into the guest. */
static uint16_t put_strings(const Guest *g, uint32_t array_ptr,
                            uint32_t buf_ptr, const char *strings,
                            uint32_t count, size_t size)
{
    uint8_t *array = guest_ptr(g, array_ptr, (uint64_t)count * 4);
    uint8_t *buf = guest_ptr(g, buf_ptr, size);
    if (!array || !buf) return E_FAULT;
    memmove(buf, strings, size);
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        put_u32(array + 4 * i, buf_ptr + (uint32_t)at);
        at += strlen(strings + at) + 1;
    }
    return E_SUCCESS;
}

static uint16_t put_sizes(const Guest *g, uint32_t count_ptr,
                          uint32_t size_ptr, uint32_t count, size_t size)
{
    if (!guest_ptr(g, count_ptr, 4) || !guest_ptr(g, size_ptr, 4))
        return E_FAULT;
    store_u32(g, count_ptr, count);
    return store_u32(g, size_ptr, (uint32_t)size);
}

static uint16_t args_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return put_strings(g, (uint32_t)a[0], (uint32_t)a[1], w->args, w->argc,
                       w->args_size);
}

static uint16_t args_sizes_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return put_sizes(g, (uint32_t)a[0], (uint32_t)a[1], w->argc,
                     w->args_size);
}

static uint16_t environ_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return put_strings(g, (uint32_t)a[0], (uint32_t)a[1], w->env, w->envc,
                       w->env_size);
}

static uint16_t environ_sizes_get(sw_wasi *w, const Guest *g,
                                  const sw_slot *a)
{
    return put_sizes(g, (uint32_t)a[0], (uint32_t)a[1], w->envc, w->env_size);
}

/* ---- Clocks, randomness, scheduling ------------------------------------- */

static bool host_clock(uint32_t id, clockid_t *out)
{
    static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC,
                                        CLOCK_PROCESS_CPUTIME_ID,
                                        CLOCK_THREAD_CPUTIME_ID };
    if (id >= sizeof clocks / sizeof clocks[0]) return false;
    *out = clocks[id];
    return true;
}

static uint16_t clock_res_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w;
    clockid_t clock;
    struct timespec res;
    if (!host_clock((uint32_t)a[0], &clock)) return E_INVAL;
    if (clock_getres(clock, &res) != 0) return wasi_errno(errno);
    return store_u64(g, (uint32_t)a[1], nanoseconds(res));
}

static uint16_t clock_time_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w;
    clockid_t clock;
    struct timespec now;
    if (!host_clock((uint32_t)a[0], &clock)) return E_INVAL;
    if (clock_gettime(clock, &now) != 0) return wasi_errno(errno);
    return store_u64(g, (uint32_t)a[2], nanoseconds(now));
}

static uint16_t random_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w;
    uint8_t *buf = guest_ptr(g, (uint32_t)a[0], (uint32_t)a[1]);
    size_t left = (uint32_t)a[1];
    if (!buf) return E_FAULT;
    while (left > 0) {
        ssize_t n = getrandom(buf, left, 0);
        if (n < 0 && errno != EINTR) return wasi_errno(errno);
        if (n > 0) {
            buf += n;
            left -= (size_t)n;
        }
    }
    return E_SUCCESS;
}

static uint16_t wasi_sched_yield(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w, (void)g, (void)a;
    sched_yield();
    return E_SUCCESS;
}

/* How long a clock subscription wants to wait from now, in nanoseconds. */
static uint16_t clock_wait(const uint8_t *sub, uint64_t *wait)
{
    clockid_t clock;
    struct timespec now;
    uint64_t timeout = get_u64(sub + 24);
    if (!host_clock(get_u32(sub + 16), &clock)) return E_INVAL;
    if (!((sub[40] | sub[41] << 8) & SUBCLOCK_ABSTIME)) {
        *wait = timeout;
        return E_SUCCESS;
    }
    if (clock_gettime(clock, &now) != 0) return wasi_errno(errno);
    *wait = timeout > nanoseconds(now) ? timeout - nanoseconds(now) : 0;
    return E_SUCCESS;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec left = timespec_of(ns);
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {}
}

/* A minimal poll: descriptors are always reported ready, and clocks are
   honoured by sleeping until the earliest one fires (unless a descriptor
   made the wait unnecessary). */
static uint16_t poll_oneoff(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w;
    uint32_t nsubs = (uint32_t)a[2];
    const uint8_t *subs = guest_ptr(g, (uint32_t)a[0],
                                    (uint64_t)nsubs * SUBSCRIPTION_SIZE);
    uint8_t *events = guest_ptr(g, (uint32_t)a[1],
                                (uint64_t)nsubs * EVENT_SIZE);
    if (!subs || !events || !guest_ptr(g, (uint32_t)a[3], 4)) return E_FAULT;
    if (nsubs == 0) return E_INVAL;

    uint64_t soonest = UINT64_MAX, wait = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *sub = subs + (size_t)i * SUBSCRIPTION_SIZE;
        if (sub[8] > EVENT_FD_WRITE) return E_INVAL;
        if (sub[8] != EVENT_CLOCK) soonest = 0;
        else if (clock_wait(sub, &wait) == E_SUCCESS && wait < soonest)
            soonest = wait;
    }
    if (soonest > 0 && soonest != UINT64_MAX)
        sleep_ns(soonest < g->max_sleep_ns ? soonest : g->max_sleep_ns);

    uint32_t nevents = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
        const uint8_t *sub = subs + (size_t)i * SUBSCRIPTION_SIZE;
        uint16_t error = E_SUCCESS;
        if (sub[8] == EVENT_CLOCK) {
            error = clock_wait(sub, &wait);
            if (error == E_SUCCESS && wait > soonest) continue;
        }
        uint8_t *ev = events + (size_t)nevents++ * EVENT_SIZE;
        memset(ev, 0, EVENT_SIZE);
        put_u64(ev, get_u64(sub));
        put_u16(ev + 8, error);
        ev[10] = sub[8];
    }
    return store_u32(g, (uint32_t)a[3], nevents);
}

/* ---- Descriptors: data ------------------------------------------------ */

/* Turns the guest's iovec array into host iovecs into its memory. Beyond
   MAX_IOVS pieces the transfer is short, which the ABI allows. */
static uint16_t gather_iovs(const Guest *g, uint32_t ptr, uint32_t count,
                            struct iovec *iov, int *n)
{
    const uint8_t *vec = guest_ptr(g, ptr, (uint64_t)count * IOVEC_SIZE);
    if (!vec) return E_FAULT;
    *n = count < MAX_IOVS ? (int)count : MAX_IOVS;
    for (int i = 0; i < *n; i++) {
        uint32_t len = get_u32(vec + IOVEC_SIZE * i + 4);
        uint8_t *buf = guest_ptr(g, get_u32(vec + IOVEC_SIZE * i), len);
        if (!buf) return E_FAULT;
        iov[i] = (struct iovec){ buf, len };
    }
    return E_SUCCESS;
}

typedef enum { XFER_READ, XFER_WRITE, XFER_PREAD, XFER_PWRITE } Transfer;

/* fd_read, fd_write, fd_pread, fd_pwrite: (fd, iovs, count[, offset],
   result pointer). */
static uint16_t transfer(sw_wasi *w, const Guest *g, const sw_slot *a,
                         Transfer kind)
{
    bool positioned = kind == XFER_PREAD || kind == XFER_PWRITE;
    uint32_t result_ptr = (uint32_t)a[positioned ? 4 : 3];
    off_t offset = positioned ? (off_t)a[3] : 0;
    struct iovec iov[MAX_IOVS];
    int n;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint16_t err = gather_iovs(g, (uint32_t)a[1], (uint32_t)a[2], iov, &n);
    if (err) return err;
    if (!guest_ptr(g, result_ptr, 4)) return E_FAULT;
    if (!f) return E_BADF;
    if (positioned && offset < 0) return E_INVAL;
    ssize_t done;
    do {
        switch (kind) {
        case XFER_READ: done = readv(f->host, iov, n); break;
        case XFER_WRITE: done = writev(f->host, iov, n); break;
        case XFER_PREAD: done = preadv(f->host, iov, n, offset); break;
        default: done = pwritev(f->host, iov, n, offset); break;
        }
    } while (done < 0 && errno == EINTR);
    if (done < 0) return wasi_errno(errno);
    return store_u32(g, result_ptr, (uint32_t)done);
}

static uint16_t fd_read(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return transfer(w, g, a, XFER_READ);
}

static uint16_t fd_write(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return transfer(w, g, a, XFER_WRITE);
}

static uint16_t fd_pread(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return transfer(w, g, a, XFER_PREAD);
}

static uint16_t fd_pwrite(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return transfer(w, g, a, XFER_PWRITE);
}

/* fd_seek and fd_tell. */
static uint16_t seek(sw_wasi *w, const Guest *g, uint32_t fd, int64_t offset,
                     uint32_t whence, uint32_t result_ptr)
{
    static const int whences[] = { SEEK_SET, SEEK_CUR, SEEK_END };
    Fd *f = fd_get(w, fd);
    if (!guest_ptr(g, result_ptr, 8)) return E_FAULT;
    if (!f) return E_BADF;
    if (whence >= sizeof whences / sizeof whences[0]) return E_INVAL;
    off_t pos = lseek(f->host, (off_t)offset, whences[whence]);
    if (pos < 0) return wasi_errno(errno);
    return store_u64(g, result_ptr, (uint64_t)pos);
}

static uint16_t fd_seek(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return seek(w, g, (uint32_t)a[0], (int64_t)a[1], (uint32_t)a[2],
                (uint32_t)a[3]);
}

static uint16_t fd_tell(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return seek(w, g, (uint32_t)a[0], 0, WHENCE_CUR, (uint32_t)a[1]);
}

static uint16_t fd_sync_with(sw_wasi *w, uint32_t fd, int (*sync)(int))
{
    Fd *f = fd_get(w, fd);
    if (!f) return E_BADF;
    return sync(f->host) == 0 ? E_SUCCESS : wasi_errno(errno);
}

static uint16_t fd_sync(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    return fd_sync_with(w, (uint32_t)a[0], fsync);
}

static uint16_t fd_datasync(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    return fd_sync_with(w, (uint32_t)a[0], fdatasync);
}

static uint16_t fd_advise(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    if (!f) return E_BADF;
    if ((uint32_t)a[3] > ADVICE_NOREUSE) return E_INVAL;
    /* Advice is a hint: a host that ignores it is still correct. */
    return E_SUCCESS;
}

static uint16_t fd_allocate(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    if (!f) return E_BADF;
    if ((int64_t)a[1] < 0 || (int64_t)a[2] <= 0) return E_INVAL;
    int rc = posix_fallocate(f->host, (off_t)a[1], (off_t)a[2]);
    return rc == 0 ? E_SUCCESS : wasi_errno(rc);
}

/* ---- Descriptors: state and metadata -------------------------------------- */

static uint16_t fd_close(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    if (!f) return E_BADF;
    fd_release(f);
    return E_SUCCESS;
}

static uint16_t fd_renumber(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)g;
    Fd *from = fd_get(w, (uint32_t)a[0]), *to = fd_get(w, (uint32_t)a[1]);
    if (!from || !to) return E_BADF;
    if (from != to) {
        fd_release(to);
        *to = *from;
        *from = (Fd){ .host = -1 };
    }
    return E_SUCCESS;
}

static uint16_t fd_fdstat_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint8_t *out = guest_ptr(g, (uint32_t)a[1], FDSTAT_SIZE);
    struct stat st;
    if (!out) return E_FAULT;
    if (!f) return E_BADF;
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0 || fstat(f->host, &st) != 0) return wasi_errno(errno);
    uint16_t flags = (fl & O_APPEND ? FDFLAG_APPEND : 0) |
                     (fl & O_NONBLOCK ? FDFLAG_NONBLOCK : 0);
    if ((fl & O_SYNC) == O_SYNC) flags |= FDFLAG_SYNC;
    else if (fl & O_DSYNC) flags |= FDFLAG_DSYNC;
    /* wasi-libc's isatty() looks for a character device that cannot seek. */
    uint64_t rights = RIGHTS_ALL;
    if (isatty(f->host)) rights &= ~(RIGHT_FD_SEEK | RIGHT_FD_TELL);
    memset(out, 0, FDSTAT_SIZE);
    out[0] = filetype_of_mode(st.st_mode);
    put_u16(out + 2, flags);
    put_u64(out + 8, rights);
    put_u64(out + 16, RIGHTS_ALL);
    return E_SUCCESS;
}

static uint16_t fd_fdstat_set_flags(sw_wasi *w, const Guest *g,
                                    const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint32_t flags = (uint32_t)a[1];
    if (!f) return E_BADF;
    /* Linux changes only these two after open. */
    if (flags & ~(uint32_t)(FDFLAG_APPEND | FDFLAG_NONBLOCK)) return E_NOTSUP;
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0) return wasi_errno(errno);
    fl &= ~(O_APPEND | O_NONBLOCK);
    fl |= (flags & FDFLAG_APPEND ? O_APPEND : 0) |
          (flags & FDFLAG_NONBLOCK ? O_NONBLOCK : 0);
    return fcntl(f->host, F_SETFL, fl) == 0 ? E_SUCCESS : wasi_errno(errno);
}

/* Rights are not tracked: the sandbox is the set of directories. Dropping
   rights is therefore accepted and has no effect. */
static uint16_t fd_fdstat_set_rights(sw_wasi *w, const Guest *g,
                                     const sw_slot *a)
{
    (void)g;
    return fd_get(w, (uint32_t)a[0]) ? E_SUCCESS : E_BADF;
}

static uint16_t fd_filestat_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint8_t *out = guest_ptr(g, (uint32_t)a[1], FILESTAT_SIZE);
    struct stat st;
    if (!out) return E_FAULT;
    if (!f) return E_BADF;
    if (fstat(f->host, &st) != 0) return wasi_errno(errno);
    put_filestat(out, &st);
    return E_SUCCESS;
}

static uint16_t fd_filestat_set_size(sw_wasi *w, const Guest *g,
                                     const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    if (!f) return E_BADF;
    if ((int64_t)a[1] < 0) return E_INVAL;
    return ftruncate(f->host, (off_t)a[1]) == 0 ? E_SUCCESS
                                                 : wasi_errno(errno);
}

/* The utimensat() times for WASI's (atim, mtim, fst_flags). */
static uint16_t set_times_spec(uint64_t atim, uint64_t mtim, uint32_t flags,
                               struct timespec ts[2])
{
    if ((flags & FST_ATIM && flags & FST_ATIM_NOW) ||
        (flags & FST_MTIM && flags & FST_MTIM_NOW))
        return E_INVAL;
    ts[0] = flags & FST_ATIM_NOW ? (struct timespec){ 0, UTIME_NOW }
          : flags & FST_ATIM     ? timespec_of(atim)
                                 : (struct timespec){ 0, UTIME_OMIT };
    ts[1] = flags & FST_MTIM_NOW ? (struct timespec){ 0, UTIME_NOW }
          : flags & FST_MTIM     ? timespec_of(mtim)
                                 : (struct timespec){ 0, UTIME_OMIT };
    return E_SUCCESS;
}

static uint16_t fd_filestat_set_times(sw_wasi *w, const Guest *g,
                                      const sw_slot *a)
{
    (void)g;
    Fd *f = fd_get(w, (uint32_t)a[0]);
    struct timespec ts[2];
    if (!f) return E_BADF;
    uint16_t err = set_times_spec(a[1], a[2], (uint32_t)a[3], ts);
    if (err) return err;
    return futimens(f->host, ts) == 0 ? E_SUCCESS : wasi_errno(errno);
}

static uint16_t fd_prestat_get(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint8_t *out = guest_ptr(g, (uint32_t)a[1], PRESTAT_SIZE);
    if (!out) return E_FAULT;
    if (!f || !f->preopen) return E_BADF;
    memset(out, 0, PRESTAT_SIZE); /* tag 0: a directory */
    put_u32(out + 4, (uint32_t)strlen(f->preopen));
    return E_SUCCESS;
}

static uint16_t fd_prestat_dir_name(sw_wasi *w, const Guest *g,
                                    const sw_slot *a)
{
    Fd *f = fd_get(w, (uint32_t)a[0]);
    uint32_t len = (uint32_t)a[2];
    uint8_t *out = guest_ptr(g, (uint32_t)a[1], len);
    if (!out) return E_FAULT;
    if (!f || !f->preopen) return E_BADF;
    if (len < strlen(f->preopen)) return E_NAMETOOLONG;
    memcpy(out, f->preopen, strlen(f->preopen));
    return E_SUCCESS;
}

/* ---- Paths -------------------------------------------------------------- */

/* Opens the last component for walk_beneath without following a link. An
   O_PATH open would give the link itself, which is what the caller asked
   for only if it said O_NOFOLLOW. */
static int open_last(int dirfd, const char *name, int flags, mode_t mode)
{
    struct stat st;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW, mode);
    if (fd < 0 || flags & O_NOFOLLOW || fstat(fd, &st) != 0 ||
        !S_ISLNK(st.st_mode))
        return fd;
    close(fd);
    errno = ELOOP;
    return -1;
}

/* Follows path beneath dirfd one component at a time, for kernels without
   openat2(). Symbolic links are refused rather than followed, and ".." may
   not climb above dirfd. */
static int walk_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    enum { MAX_DEPTH = 256 };
    int stack[MAX_DEPTH], depth = 0, fd = -1;
    char name[PATH_MAX];
    const char *p = path;
    if (!*path) {
        errno = ENOENT;
        return -1;
    }
    for (;;) {
        size_t len = strcspn(p, "/");
        const char *next = p + len + strspn(p + len, "/");
        int cur = depth ? stack[depth - 1] : dirfd;
        bool last = *next == '\0';
        memcpy(name, p, len);
        name[len] = '\0';
        if (!strcmp(name, "..")) {
            if (depth == 0) { errno = EXDEV; break; }
            close(stack[--depth]);
            strcpy(name, ".");
            cur = depth ? stack[depth - 1] : dirfd;
        }
        if (last) {
            fd = open_last(cur, len ? name : ".", flags, mode);
            break;
        }
        if (depth == MAX_DEPTH) { errno = ENAMETOOLONG; break; }
        if (strcmp(name, ".") && len) {
            int sub = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                                        O_CLOEXEC);
            if (sub < 0) break;
            stack[depth++] = sub;
        }
        p = next;
    }
    int saved = errno;
    while (depth > 0) close(stack[--depth]);
    errno = saved;
    return fd;
}

/* Opens path beneath the directory dirfd: the one place where a guest path
   meets the host file system. Returns a host descriptor, or -1 with *err
   (ERRNO_NOTCAPABLE for an attempt to leave the directory). */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode,
                        uint16_t *err)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = flags & O_CREAT ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd < 0 && errno == ENOSYS)
        fd = walk_beneath(dirfd, path, flags | O_CLOEXEC, mode);
    if (fd < 0) *err = errno == EXDEV ? E_NOTCAPABLE : wasi_errno(errno);
    return (int)fd;
}

/* A path split into the directory holding its last component (opened
   beneath the guest's directory) and that component, for the calls that
   act on a name without opening it. */
typedef struct Parent {
    int fd;
    bool owned;
    const char *name;
} Parent;

static uint16_t open_parent(int dirfd, char *path, Parent *p)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') path[--len] = '\0';
    char *slash = strrchr(path, '/');
    *p = (Parent){ .fd = dirfd, .name = slash ? slash + 1 : path };
    if (!strcmp(p->name, ".") || !strcmp(p->name, "..")) return E_INVAL;
    if (!slash) return E_SUCCESS;
    *slash = '\0';
    uint16_t err;
    p->fd = open_beneath(dirfd, path, O_PATH | O_DIRECTORY, 0, &err);
    p->owned = true;
    return p->fd < 0 ? err : E_SUCCESS;
}

static void close_parent(Parent *p)
{
    if (p->owned && p->fd >= 0) close(p->fd);
}

/* Reads the guest path (ptr, len) into buf and opens its parent beneath
   the guest's directory descriptor dir. */
static uint16_t resolve_parent(sw_wasi *w, const Guest *g, uint32_t dir,
                               uint32_t ptr, uint32_t len,
                               char buf[static PATH_MAX], Parent *p)
{
    uint16_t err;
    Fd *d = dir_get(w, dir, &err);
    *p = (Parent){ .fd = -1 };
    if (!d) return err;
    err = read_path(g, ptr, len, buf);
    if (err) return err;
    return open_parent(d->host, buf, p);
}

static uint16_t path_open(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    uint32_t dirflags = (uint32_t)a[1], oflags = (uint32_t)a[4];
    uint32_t fdflags = (uint32_t)a[7], fd_ptr = (uint32_t)a[8];
    uint64_t rights = a[5];
    char path[PATH_MAX];
    uint16_t err;
    Fd *d = dir_get(w, (uint32_t)a[0], &err);
    if (!d) return err;
    if ((err = read_path(g, (uint32_t)a[2], (uint32_t)a[3], path))) return err;
    if (!guest_ptr(g, fd_ptr, 4)) return E_FAULT;

    bool reads = rights & RIGHT_FD_READ, writes = rights & RIGHT_FD_WRITE;
    int flags = writes ? (reads ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & OFLAG_DIRECTORY) flags = O_RDONLY | O_DIRECTORY;
    flags |= (oflags & OFLAG_CREAT ? O_CREAT : 0) |
             (oflags & OFLAG_EXCL ? O_EXCL : 0) |
             (oflags & OFLAG_TRUNC ? O_TRUNC : 0) |
             (fdflags & FDFLAG_APPEND ? O_APPEND : 0) |
             (fdflags & FDFLAG_DSYNC ? O_DSYNC : 0) |
             (fdflags & FDFLAG_NONBLOCK ? O_NONBLOCK : 0) |
             (fdflags & FDFLAG_RSYNC ? O_RSYNC : 0) |
             (fdflags & FDFLAG_SYNC ? O_SYNC : 0) |
             (dirflags & LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW);
    int host = open_beneath(d->host, path, flags, 0666, &err);
    if (host < 0) return err;
    struct stat st;
    if (fstat(host, &st) != 0) {
        err = wasi_errno(errno);
        close(host);
        return err;
    }
    int64_t fd = fd_insert(w, host, filetype_of_mode(st.st_mode), NULL);
    if (fd < 0) return E_MFILE;
    return store_u32(g, fd_ptr, (uint32_t)fd);
}

static uint16_t path_filestat_get(sw_wasi *w, const Guest *g,
                                  const sw_slot *a)
{
    bool follow = (uint32_t)a[1] & LOOKUP_SYMLINK_FOLLOW;
    uint8_t *out = guest_ptr(g, (uint32_t)a[4], FILESTAT_SIZE);
    char path[PATH_MAX];
    struct stat st;
    uint16_t err;
    Fd *d = dir_get(w, (uint32_t)a[0], &err);
    if (!d) return err;
    if ((err = read_path(g, (uint32_t)a[2], (uint32_t)a[3], path))) return err;
    if (!out) return E_FAULT;
    int fd = open_beneath(d->host, path, O_PATH | (follow ? 0 : O_NOFOLLOW),
                          0, &err);
    if (fd < 0) return err;
    err = fstat(fd, &st) == 0 ? E_SUCCESS : wasi_errno(errno);
    close(fd);
    if (!err) put_filestat(out, &st);
    return err;
}

static uint16_t path_filestat_set_times(sw_wasi *w, const Guest *g,
                                        const sw_slot *a)
{
    bool follow = (uint32_t)a[1] & LOOKUP_SYMLINK_FOLLOW;
    char path[PATH_MAX];
    struct timespec ts[2];
    uint16_t err;
    Fd *d = dir_get(w, (uint32_t)a[0], &err);
    if (!d) return err;
    if ((err = read_path(g, (uint32_t)a[2], (uint32_t)a[3], path))) return err;
    if ((err = set_times_spec(a[4], a[5], (uint32_t)a[6], ts))) return err;
    int fd = open_beneath(d->host, path, O_PATH | (follow ? 0 : O_NOFOLLOW),
                          0, &err);
    if (fd < 0) return err;
    err = utimensat(fd, "", ts, AT_EMPTY_PATH) == 0 ? E_SUCCESS
                                                    : wasi_errno(errno);
    close(fd);
    return err;
}

typedef enum { NAME_MKDIR, NAME_UNLINK, NAME_RMDIR } NameOp;

/* path_create_directory, path_unlink_file, path_remove_directory. */
static uint16_t act_on_name(sw_wasi *w, const Guest *g, const sw_slot *a,
                            NameOp op)
{
    char path[PATH_MAX];
    Parent p;
    uint16_t err = resolve_parent(w, g, (uint32_t)a[0], (uint32_t)a[1],
                                  (uint32_t)a[2], path, &p);
    if (!err) {
        int rc = op == NAME_MKDIR  ? mkdirat(p.fd, p.name, 0777)
               : op == NAME_UNLINK ? unlinkat(p.fd, p.name, 0)
                                   : unlinkat(p.fd, p.name, AT_REMOVEDIR);
        err = rc == 0 ? E_SUCCESS : wasi_errno(errno);
    }
    close_parent(&p);
    return err;
}

static uint16_t path_create_directory(sw_wasi *w, const Guest *g,
                                      const sw_slot *a)
{
    return act_on_name(w, g, a, NAME_MKDIR);
}

static uint16_t path_unlink_file(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return act_on_name(w, g, a, NAME_UNLINK);
}

static uint16_t path_remove_directory(sw_wasi *w, const Guest *g,
                                      const sw_slot *a)
{
    return act_on_name(w, g, a, NAME_RMDIR);
}

typedef enum { PAIR_RENAME, PAIR_LINK } PairOp;

/* path_rename (fd, old, fd, new) and path_link (fd, flags, old, fd, new). */
static uint16_t act_on_pair(sw_wasi *w, const Guest *g, const sw_slot *a,
                            PairOp op)
{
    const sw_slot link_from[3] = { a[0], a[2], a[3] };
    const sw_slot *from = op == PAIR_LINK ? link_from : a;
    const sw_slot *to = op == PAIR_LINK ? a + 4 : a + 3;
    char old_path[PATH_MAX], new_path[PATH_MAX];
    Parent old_p = { .fd = -1 }, new_p = { .fd = -1 };
    /* Following a link could give the guest a hard link to a file it cannot
       see; only the link itself may be linked. */
    if (op == PAIR_LINK && (uint32_t)a[1] & LOOKUP_SYMLINK_FOLLOW)
        return E_NOTSUP;
    uint16_t err = resolve_parent(w, g, (uint32_t)from[0], (uint32_t)from[1],
                                  (uint32_t)from[2], old_path, &old_p);
    if (!err)
        err = resolve_parent(w, g, (uint32_t)to[0], (uint32_t)to[1],
                             (uint32_t)to[2], new_path, &new_p);
    if (!err) {
        int rc = op == PAIR_RENAME
                     ? renameat(old_p.fd, old_p.name, new_p.fd, new_p.name)
                     : linkat(old_p.fd, old_p.name, new_p.fd, new_p.name, 0);
        err = rc == 0 ? E_SUCCESS : wasi_errno(errno);
    }
    close_parent(&old_p);
    close_parent(&new_p);
    return err;
}

static uint16_t path_rename(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return act_on_pair(w, g, a, PAIR_RENAME);
}

static uint16_t path_link(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    return act_on_pair(w, g, a, PAIR_LINK);
}

/* The link's text is not checked: following it later is what the sandbox
   guards. */
static uint16_t path_symlink(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    uint32_t target_len = (uint32_t)a[1];
    const uint8_t *target = guest_ptr(g, (uint32_t)a[0], target_len);
    char target_buf[PATH_MAX], path[PATH_MAX];
    Parent p;
    if (!target) return E_FAULT;
    if (target_len >= PATH_MAX) return E_NAMETOOLONG;
    if (memchr(target, '\0', target_len)) return E_INVAL;
    memcpy(target_buf, target, target_len);
    target_buf[target_len] = '\0';
    uint16_t err = resolve_parent(w, g, (uint32_t)a[2], (uint32_t)a[3],
                                  (uint32_t)a[4], path, &p);
    if (!err)
        err = symlinkat(target_buf, p.fd, p.name) == 0 ? E_SUCCESS
                                                       : wasi_errno(errno);
    close_parent(&p);
    return err;
}

static uint16_t path_readlink(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    uint32_t buf_len = (uint32_t)a[4];
    uint8_t *buf = guest_ptr(g, (uint32_t)a[3], buf_len);
    char path[PATH_MAX];
    Parent p;
    if (!buf || !guest_ptr(g, (uint32_t)a[5], 4)) return E_FAULT;
    uint16_t err = resolve_parent(w, g, (uint32_t)a[0], (uint32_t)a[1],
                                  (uint32_t)a[2], path, &p);
    if (!err) {
        ssize_t n = readlinkat(p.fd, p.name, (char *)buf, buf_len);
        err = n < 0 ? wasi_errno(errno) : store_u32(g, (uint32_t)a[5],
                                                    (uint32_t)n);
    }
    close_parent(&p);
    return err;
}

/* ---- Directory listing ---------------------------------------------------- */

static size_t copy_some(uint8_t *dst, size_t room, const void *src,
                        size_t len)
{
    size_t n = len < room ? len : room;
    memcpy(dst, src, n);
    return n;
}

static uint16_t dir_stream(Fd *f)
{
    if (f->dir) return E_SUCCESS;
    int copy = dup(f->host);
    if (copy < 0) return wasi_errno(errno);
    f->dir = fdopendir(copy);
    if (!f->dir) {
        uint16_t err = wasi_errno(errno);
        close(copy);
        return err;
    }
    return E_SUCCESS;
}

/* Fills the buffer with entries from the cookie on, the last one possibly
   cut short: a full buffer tells the guest to ask again with a bigger one.
   Cookies are telldir() positions. */
static uint16_t fd_readdir(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    uint32_t len = (uint32_t)a[2], used_ptr = (uint32_t)a[4];
    uint64_t cookie = a[3];
    uint8_t *buf = guest_ptr(g, (uint32_t)a[1], len);
    uint16_t err;
    Fd *f = dir_get(w, (uint32_t)a[0], &err);
    if (!buf || !guest_ptr(g, used_ptr, 4)) return E_FAULT;
    if (!f) return err;
    if ((err = dir_stream(f))) return err;
    if (cookie == 0) rewinddir(f->dir);
    else if (cookie <= LONG_MAX) seekdir(f->dir, (long)cookie);
    else return E_INVAL;

    size_t used = 0;
    while (used < len) {
        errno = 0;
        struct dirent *de = readdir(f->dir);
        if (!de) {
            if (errno) return wasi_errno(errno);
            break;
        }
        uint8_t head[DIRENT_SIZE] = { 0 };
        size_t name_len = strlen(de->d_name);
        put_u64(head, (uint64_t)telldir(f->dir));
        put_u64(head + 8, (uint64_t)de->d_ino);
        put_u32(head + 16, (uint32_t)name_len);
        head[20] = filetype_of_dirent(de->d_type);
        used += copy_some(buf + used, len - used, head, sizeof head);
        used += copy_some(buf + used, len - used, de->d_name, name_len);
    }
    return store_u32(g, used_ptr, (uint32_t)used);
}

/* ---- The import table ------------------------------------------------------ */

static uint16_t nosys(sw_wasi *w, const Guest *g, const sw_slot *a)
{
    (void)w, (void)g, (void)a;
    return E_NOSYS;
}

static const WasiFunc wasi_funcs[] = {
    { "args_get", "ii", args_get },
    { "args_sizes_get", "ii", args_sizes_get },
    { "environ_get", "ii", environ_get },
    { "environ_sizes_get", "ii", environ_sizes_get },
    { "clock_res_get", "ii", clock_res_get },
    { "clock_time_get", "iIi", clock_time_get },
    { "fd_advise", "iIIi", fd_advise },
    { "fd_allocate", "iII", fd_allocate },
    { "fd_close", "i", fd_close },
    { "fd_datasync", "i", fd_datasync },
    { "fd_fdstat_get", "ii", fd_fdstat_get },
    { "fd_fdstat_set_flags", "ii", fd_fdstat_set_flags },
    { "fd_fdstat_set_rights", "iII", fd_fdstat_set_rights },
    { "fd_filestat_get", "ii", fd_filestat_get },
    { "fd_filestat_set_size", "iI", fd_filestat_set_size },
    { "fd_filestat_set_times", "iIIi", fd_filestat_set_times },
    { "fd_pread", "iiiIi", fd_pread },
    { "fd_prestat_get", "ii", fd_prestat_get },
    { "fd_prestat_dir_name", "iii", fd_prestat_dir_name },
    { "fd_pwrite", "iiiIi", fd_pwrite },
    { "fd_read", "iiii", fd_read },
    { "fd_readdir", "iiiIi", fd_readdir },
    { "fd_renumber", "ii", fd_renumber },
    { "fd_seek", "iIii", fd_seek },
    { "fd_sync", "i", fd_sync },
    { "fd_tell", "ii", fd_tell },
    { "fd_write", "iiii", fd_write },
    { "path_create_directory", "iii", path_create_directory },
    { "path_filestat_get", "iiiii", path_filestat_get },
    { "path_filestat_set_times", "iiiiIIi", path_filestat_set_times },
    { "path_link", "iiiiiii", path_link },
    { "path_open", "iiiiiIIii", path_open },
    { "path_readlink", "iiiiii", path_readlink },
    { "path_remove_directory", "iii", path_remove_directory },
    { "path_rename", "iiiiii", path_rename },
    { "path_symlink", "iiiii", path_symlink },
    { "path_unlink_file", "iii", path_unlink_file },
    { "poll_oneoff", "iiii", poll_oneoff },
    { "proc_exit", "i", NULL },
    { "proc_raise", "i", nosys },
    { "sched_yield", "", wasi_sched_yield },
    { "random_get", "ii", random_get },
    { "sock_accept", "iii", nosys },
    { "sock_recv", "iiiiii", nosys },
    { "sock_send", "iiiii", nosys },
    { "sock_shutdown", "ii", nosys },
};

enum { NFUNCS = sizeof wasi_funcs / sizeof wasi_funcs[0] };

static Guest guest_of(sw_caller *caller)
{
    sw_memory *mem = sw_caller_memory(caller);
    uint64_t timeout = sw_store_limits(sw_caller_store(caller))->timeout_ns;
    Guest g = { .max_sleep_ns = timeout ? timeout : UINT64_MAX };
    if (mem) {
        g.mem = sw_memory_data(mem);
        g.size = sw_memory_size(mem);
    }
    return g;
}

static int wasi_call(sw_caller *caller, void *user, const sw_slot *args,
                     sw_slot *results)
{
    const Binding *b = user;
    Guest g = guest_of(caller);
    results[0] = b->def->impl(b->wasi, &g, args);
    return 0;
}

static int wasi_proc_exit(sw_caller *caller, void *user, const sw_slot *args,
                          sw_slot *results)
{
    (void)user, (void)results;
    return sw_caller_exit(caller, (int)(uint32_t)args[0]);
}

static void bind_func(Binding *b, sw_wasi *w, const WasiFunc *def)
{
    uint32_t n = (uint32_t)strlen(def->params);
    b->wasi = w;
    b->def = def;
    for (uint32_t i = 0; i < n; i++)
        b->params[i] = def->params[i] == 'I' ? SW_I64 : SW_I32;
    b->result = SW_I32;
    b->type = (sw_functype){ .nparams = n, .nresults = def->impl ? 1 : 0,
                             .params = b->params, .results = &b->result };
}

/* ---- Public API ---------------------------------------------------------- */

void sw_wasi_config_init(sw_wasi_config *cfg)
{
    *cfg = (sw_wasi_config){ .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 };
}

static sw_wasi *fail(sw_wasi *w, sw_error *err, sw_errkind kind,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sw_wasi *fail(sw_wasi *w, sw_error *err, sw_errkind kind,
                     const char *fmt, ...)
{
    va_list ap;
    *err = (sw_error){ .kind = kind };
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    sw_wasi_free(w);
    return NULL;
}

static sw_wasi *grant_dir(sw_wasi *w, const sw_wasi_dir *dir, sw_error *err)
{
    int host = open(dir->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0)
        return fail(w, err, SW_ERR_ARG, "cannot open directory '%s': %s",
                    dir->host_path, strerror(errno));
    char *name = strdup(dir->guest_path);
    if (!name || fd_insert(w, host, FT_DIRECTORY, name) < 0) {
        if (!name) close(host);
        return fail(w, err, SW_ERR_NOMEM, "out of memory");
    }
    return w;
}

/* A first descriptor table: the borrowed standard streams, room for more. */
static Fd *stdio_table(const sw_wasi_config *cfg, uint32_t *nfds)
{
    const int stdio[3] = { cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd };
    Fd *fds = malloc(8 * sizeof *fds);
    if (!fds) return NULL;
    for (uint32_t i = 0; i < 8; i++) {
        struct stat st;
        bool open = i < 3 && stdio[i] >= 0 && fstat(stdio[i], &st) == 0;
        fds[i] = open ? (Fd){ .host = stdio[i],
                              .filetype = filetype_of_mode(st.st_mode) }
                      : (Fd){ .host = -1 };
    }
    *nfds = 8;
    return fds;
}

sw_wasi *sw_wasi_new(const sw_wasi_config *cfg, sw_error *err)
{
    sw_wasi *w = calloc(1, sizeof *w);
    if (!w) return fail(NULL, err, SW_ERR_NOMEM, "out of memory");
    if (cfg->argc > UINT32_MAX / 4 || cfg->envc > UINT32_MAX / 4)
        return fail(w, err, SW_ERR_ARG, "too many arguments");
    w->argc = (uint32_t)cfg->argc;
    w->envc = (uint32_t)cfg->envc;
    w->args = pack_strings(cfg->argv, cfg->argc, &w->args_size);
    w->env = pack_strings(cfg->environ, cfg->envc, &w->env_size);
    w->fds = stdio_table(cfg, &w->nfds);
    w->bindings = malloc(NFUNCS * sizeof *w->bindings);
    w->imports = malloc(NFUNCS * sizeof *w->imports);
    if (!w->args || !w->env || !w->fds || !w->bindings || !w->imports)
        return fail(w, err, SW_ERR_NOMEM, "out of memory");
    if (w->args_size > UINT32_MAX || w->env_size > UINT32_MAX)
        return fail(w, err, SW_ERR_ARG, "arguments too long");

    for (size_t i = 0; i < cfg->ndirs; i++)
        if (!grant_dir(w, &cfg->dirs[i], err)) return NULL;
    for (size_t i = 0; i < NFUNCS; i++) bind_func(&w->bindings[i], w, &wasi_funcs[i]);
    *err = (sw_error){ .kind = SW_OK };
    return w;
}

void sw_wasi_free(sw_wasi *w)
{
    if (!w) return;
    for (uint32_t i = 0; w->fds && i < w->nfds; i++)
        if (w->fds[i].host >= 0) fd_release(&w->fds[i]);
    free(w->fds);
    free(w->args);
    free(w->env);
    free(w->bindings);
    free(w->imports);
    free(w);
}

size_t sw_wasi_imports(sw_wasi *w, sw_store *store, const sw_import **imports)
{
    *imports = NULL;
    for (size_t i = 0; i < NFUNCS; i++) {
        Binding *b = &w->bindings[i];
        sw_func *f = sw_func_new_host(store, &b->type,
                                      b->def->impl ? wasi_call
                                                   : wasi_proc_exit,
                                      b);
        if (!f) return 0;
        w->imports[i] = (sw_import){
            .module = SW_NAME("wasi_snapshot_preview1"),
            .name = sw_name_of(b->def->name),
            .value = { .kind = SW_EXTERN_FUNC, .of.func = f },
        };
    }
    *imports = w->imports;
    return NFUNCS;
}

int sw_wasi_run(sw_wasi *w, sw_store *store, sw_instance *inst, sw_error *err)
{
    /* The store is implied by the instance; taking it keeps the lifecycle
       calls (imports, instantiate, run) uniform for embedders. */
    (void)w, (void)store;
    sw_func *start = sw_instance_func(inst, "_start");
    if (!start) {
        *err = (sw_error){ .kind = SW_ERR_LINK };
        snprintf(err->message, sizeof err->message,
                 "the module exports no '_start' function");
        return -1;
    }
    if (sw_call(start, NULL, 0, NULL, 0, err) == 0) return 0;
    if (err->kind == SW_ERR_EXIT)
        return (int)((unsigned)err->exit_code & 0xffu);
    return -1;
}
