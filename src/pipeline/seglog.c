/*
** seglog.c: the segmented entry log of the disk buffer (seglog.h).
**
** The segments are kept in an array, oldest first, each with the sequence
** of its first entry (its name) and its size. The writer appends whole
** frames to the last one; the reader walks them with pread, checking each
** frame's checksum. The committed position is one small record, the
** sequence and its crc32, rewritten in place: if it is ever unreadable
** the log is read again from its oldest segment (duplicates, not loss).
*/
#include "seglog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { HEADER = 16, COMMITTED_SIZE = 12, NAME_MAX_LEN = 4096 };

typedef struct Segment {
    uint64_t first;                 /* sequence of its first entry */
    uint64_t bytes;
} Segment;

struct SlSegLog {
    char *dir;
    uint64_t segment_bytes;
    SlSegLogReport report;
    void *user;
    Segment *segs;
    size_t nsegs, cap;
    uint64_t total;                 /* bytes of all segments */
    int write_fd;                   /* the last segment, or -1 */
    int read_fd;                    /* segs[read_seg], or -1 */
    size_t read_seg;
    uint64_t read_off;
    uint64_t next_seq, committed;
    int committed_fd;
    SlBuf frame;                    /* scratch */
};

/* ---- Little-endian fields and frames ------------------------------------ */

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The checksum covers the sequence and the payload. */
static uint32_t frame_crc(const unsigned char *seq, const void *payload, size_t len)
{
    uLong crc = crc32(0L, seq, 8);
    return (uint32_t)crc32_z(crc, payload, len);
}

/* Whether a whole, valid frame starts at `off` in `buf` (n bytes). */
static bool frame_at(const unsigned char *buf, uint64_t n, uint64_t off, uint32_t *len,
                     uint64_t *seq)
{
    if (n - off < HEADER) return false;
    const unsigned char *h = buf + off;
    *len = (uint32_t)get_le(h, 4);
    if (*len > n - off - HEADER) return false;
    *seq = get_le(h + 8, 8);
    return frame_crc(h + 8, h + HEADER, *len) == (uint32_t)get_le(h + 4, 4);
}

/* The first valid frame after `off`, or n. */
static uint64_t resync(const unsigned char *buf, uint64_t n, uint64_t off)
{
    uint32_t len;
    uint64_t seq;
    for (uint64_t at = off + 1; at < n; at++)
        if (frame_at(buf, n, at, &len, &seq)) return at;
    return n;
}

uint64_t sl_seglog_entry_bytes(size_t len)
{
    return HEADER + (uint64_t)len;
}

/* ---- Files ------------------------------------------------------------- */

static void segment_path(const SlSegLog *log, uint64_t first, char *out, size_t size)
{
    snprintf(out, size, "%s/%016" PRIx64 ".seg", log->dir, first);
}

static void report(SlSegLog *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(SlSegLog *log, const char *fmt, ...)
{
    char msg[NAME_MAX_LEN + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log->report(log->user, msg);
}

static bool sync_dir(const SlSegLog *log)
{
    int fd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Reads a whole file of `size` bytes; NULL with errno. */
static unsigned char *read_all(const char *path, uint64_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) abort();
    uint64_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n <= 0) break;
        got += (uint64_t)n;
    }
    close(fd);
    if (got == size) return buf;
    free(buf);
    errno = EIO;
    return NULL;
}

/* ---- Opening ----------------------------------------------------------- */

static void add_segment(SlSegLog *log, uint64_t first, uint64_t bytes)
{
    if (log->nsegs == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 8;
        log->segs = realloc(log->segs, log->cap * sizeof *log->segs);
        if (!log->segs) abort();
    }
    log->segs[log->nsegs++] = (Segment){ first, bytes };
    log->total += bytes;
}

static int by_first(const void *a, const void *b)
{
    uint64_t x = ((const Segment *)a)->first, y = ((const Segment *)b)->first;
    return (x > y) - (x < y);
}

static bool list_segments(SlSegLog *log)
{
    DIR *d = opendir(log->dir);
    if (!d) return false;
    for (struct dirent *e; (e = readdir(d));) {
        char *end;
        unsigned long long first = strtoull(e->d_name, &end, 16);
        if (end != e->d_name + 16 || strcmp(end, ".seg")) continue;
        char path[NAME_MAX_LEN];
        struct stat st;
        segment_path(log, first, path, sizeof path);
        if (stat(path, &st) == 0) add_segment(log, first, (uint64_t)st.st_size);
    }
    closedir(d);
    if (log->nsegs) qsort(log->segs, log->nsegs, sizeof *log->segs, by_first);
    return true;
}

static void read_committed(SlSegLog *log)
{
    unsigned char rec[COMMITTED_SIZE];
    ssize_t n = pread(log->committed_fd, rec, sizeof rec, 0);
    if (n == 0) return;                             /* a new log */
    if (n == (ssize_t)sizeof rec && (uint32_t)crc32(0L, rec, 8) == (uint32_t)get_le(rec + 8, 4)) {
        log->committed = get_le(rec, 8);
        return;
    }
    report(log, "%s/committed: unreadable; every entry left is delivered again", log->dir);
}

/* Cuts a torn end off the last segment; returns the last sequence in it. */
static uint64_t recover_tail(SlSegLog *log, Segment *s)
{
    char path[NAME_MAX_LEN];
    segment_path(log, s->first, path, sizeof path);
    unsigned char *buf = read_all(path, s->bytes);
    if (!buf) return 0;
    uint64_t off = 0, good_end = 0, last = 0;
    uint32_t len;
    uint64_t seq;
    while (off < s->bytes) {
        if (frame_at(buf, s->bytes, off, &len, &seq)) {
            off += HEADER + len;
            good_end = off;
            last = seq;
        } else {
            off = resync(buf, s->bytes, off);
        }
    }
    free(buf);
    if (good_end < s->bytes && truncate(path, (off_t)good_end) == 0) {
        report(log, "%s: torn entry at byte %" PRIu64 " (%" PRIu64 " bytes): cut off",
               path, good_end, s->bytes - good_end);
        log->total -= s->bytes - good_end;
        s->bytes = good_end;
    }
    return last;
}

static bool open_files(SlSegLog *log)
{
    char path[NAME_MAX_LEN];
    if (mkdir(log->dir, 0755) != 0 && errno != EEXIST) return false;
    snprintf(path, sizeof path, "%s/committed", log->dir);
    log->committed_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->committed_fd < 0 || !list_segments(log)) return false;
    read_committed(log);
    uint64_t next = log->committed + 1;
    if (log->nsegs) {
        Segment *last = &log->segs[log->nsegs - 1];
        uint64_t last_seq = recover_tail(log, last);
        if (last_seq + 1 > next) next = last_seq + 1;
        if (last->first > next) next = last->first;
        segment_path(log, last->first, path, sizeof path);
        log->write_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (log->write_fd < 0) return false;
    }
    log->next_seq = next;
    return true;
}

SlSegLog *sl_seglog_open(const char *dir, uint64_t segment_bytes, SlSegLogReport report_fn,
                         void *user, char *why, size_t why_size)
{
    SlSegLog *log = calloc(1, sizeof *log);
    if (!log) abort();
    log->dir = strdup(dir);
    if (!log->dir) abort();
    log->segment_bytes = segment_bytes;
    log->report = report_fn;
    log->user = user;
    log->write_fd = log->read_fd = log->committed_fd = -1;
    if (open_files(log)) return log;
    snprintf(why, why_size, "%s: %s", dir, strerror(errno));
    sl_seglog_close(log);
    return NULL;
}

void sl_seglog_close(SlSegLog *log)
{
    if (!log) return;
    if (log->write_fd >= 0) close(log->write_fd);
    if (log->read_fd >= 0) close(log->read_fd);
    if (log->committed_fd >= 0) close(log->committed_fd);
    sl_buf_free(&log->frame);
    free(log->segs);
    free(log->dir);
    free(log);
}

/* ---- Writing ----------------------------------------------------------- */

static bool new_segment(SlSegLog *log)
{
    char path[NAME_MAX_LEN];
    segment_path(log, log->next_seq, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    if (log->write_fd >= 0) close(log->write_fd);
    log->write_fd = fd;
    add_segment(log, log->next_seq, 0);
    return sync_dir(log);                           /* the name is durable too */
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

bool sl_seglog_append(SlSegLog *log, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        errno = EFBIG;
        return false;
    }
    if ((log->write_fd < 0 || log->segs[log->nsegs - 1].bytes >= log->segment_bytes) &&
        !new_segment(log))
        return false;
    unsigned char header[HEADER];
    put_le(header, len, 4);
    put_le(header + 8, log->next_seq, 8);
    put_le(header + 4, frame_crc(header + 8, data, len), 4);
    log->frame.len = 0;
    sl_buf_put(&log->frame, header, sizeof header);
    sl_buf_put(&log->frame, data, len);
    Segment *s = &log->segs[log->nsegs - 1];
    if (!write_all(log->write_fd, log->frame.data, log->frame.len)) {
        int saved = errno;
        (void)ftruncate(log->write_fd, (off_t)s->bytes);   /* keep frames whole */
        errno = saved;
        return false;
    }
    s->bytes += log->frame.len;
    log->total += log->frame.len;
    log->next_seq++;
    return true;
}

bool sl_seglog_sync(SlSegLog *log)
{
    return log->write_fd < 0 || fdatasync(log->write_fd) == 0;
}

uint64_t sl_seglog_bytes(const SlSegLog *log)
{
    return log->total;
}

uint64_t sl_seglog_pending(const SlSegLog *log)
{
    return log->next_seq - 1 - log->committed;
}

/* ---- Reading ----------------------------------------------------------- */

/* Opens the segment the reader is in, or moves to the next one when it has
** read all of it; false when there is nothing more to read for now. */
static bool reader_ready(SlSegLog *log)
{
    while (log->read_seg < log->nsegs) {
        Segment *s = &log->segs[log->read_seg];
        if (log->read_off < s->bytes) {
            if (log->read_fd >= 0) return true;
            char path[NAME_MAX_LEN];
            segment_path(log, s->first, path, sizeof path);
            log->read_fd = open(path, O_RDONLY | O_CLOEXEC);
            return true;                            /* the caller sees a failure */
        }
        if (log->read_seg == log->nsegs - 1) return false;
        if (log->read_fd >= 0) close(log->read_fd);
        log->read_fd = -1;
        log->read_seg++;
        log->read_off = 0;
    }
    return false;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

/* A damaged frame at the reader's position: reported, and the reader
** moved to the next whole frame of the segment (or its end). */
static bool skip_damage(SlSegLog *log, const char *what)
{
    Segment *s = &log->segs[log->read_seg];
    char path[NAME_MAX_LEN];
    segment_path(log, s->first, path, sizeof path);
    report(log, "%s: damaged entry at byte %" PRIu64 " (%s): skipped", path, log->read_off, what);
    uint64_t rest = s->bytes - log->read_off;
    unsigned char *buf = malloc(rest);
    if (!buf) abort();
    bool ok = pread_all(log->read_fd, buf, rest, log->read_off);
    if (ok) log->read_off += resync(buf, rest, 0);
    free(buf);
    return ok;
}

int sl_seglog_next(SlSegLog *log, SlBuf *out, uint64_t *seq)
{
    while (reader_ready(log)) {
        if (log->read_fd < 0) return -1;
        Segment *s = &log->segs[log->read_seg];
        unsigned char h[HEADER];
        uint64_t left = s->bytes - log->read_off;
        if (left < HEADER) {
            if (!skip_damage(log, "cut short")) return -1;
            continue;
        }
        if (!pread_all(log->read_fd, h, HEADER, log->read_off)) return -1;
        uint32_t len = (uint32_t)get_le(h, 4);
        if (len > left - HEADER) {
            if (!skip_damage(log, "length past the end")) return -1;
            continue;
        }
        out->len = 0;
        sl_buf_reserve(out, len);
        if (!pread_all(log->read_fd, out->data, len, log->read_off + HEADER)) return -1;
        out->len = len;
        if (frame_crc(h + 8, out->data, len) != (uint32_t)get_le(h + 4, 4)) {
            if (!skip_damage(log, "bad checksum")) return -1;
            continue;
        }
        log->read_off += HEADER + len;
        *seq = get_le(h + 8, 8);
        if (*seq > log->committed) return 1;
    }
    return 0;
}

/* ---- Committing -------------------------------------------------------- */

static bool write_committed(SlSegLog *log)
{
    unsigned char rec[COMMITTED_SIZE];
    put_le(rec, log->committed, 8);
    put_le(rec + 8, (uint32_t)crc32(0L, rec, 8), 4);
    return pwrite(log->committed_fd, rec, sizeof rec, 0) == (ssize_t)sizeof rec;
}

static bool delete_oldest(SlSegLog *log)
{
    char path[NAME_MAX_LEN];
    segment_path(log, log->segs[0].first, path, sizeof path);
    if (unlink(path) != 0) return false;
    if (log->read_seg == 0) {
        if (log->read_fd >= 0) close(log->read_fd);
        log->read_fd = -1;
        log->read_off = 0;
    } else {
        log->read_seg--;
    }
    log->total -= log->segs[0].bytes;
    memmove(log->segs, log->segs + 1, (log->nsegs - 1) * sizeof *log->segs);
    log->nsegs--;
    return true;
}

bool sl_seglog_commit(SlSegLog *log, uint64_t seq)
{
    if (seq <= log->committed) return true;
    log->committed = seq;
    if (!write_committed(log)) return false;
    /* A segment is done once the next one starts after the committed entry. */
    while (log->nsegs > 1 && log->segs[1].first <= seq + 1)
        if (!delete_oldest(log)) return false;
    return true;
}
