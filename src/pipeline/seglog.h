/*
** seglog.h: an append-only log of entries on disk, in segment files, with
** one reader that confirms what it has handled: the storage of a sink's
** disk buffer (diskbuffer.h).
**
** An entry is framed as
**     length (u32) | crc32 of sequence and payload (u32) | sequence (u64) | payload
** (little-endian) and appended to the newest segment, DIR/<first seq>.seg
** in hex; a segment that has grown past `segment_bytes` is closed and a new
** one begun. The reader gets the entries in order; once it confirms
** (commits) entry N, the position is kept in DIR/committed, and segments
** whose entries are all committed are deleted. Reopening resumes after the
** committed position: what was appended but not committed is read again.
**
** Damage is reported through `report` with the file and byte offset and
** skipped: a frame whose checksum does not match (a flipped bit) is passed
** over and reading goes on at the next whole frame; a partial frame at the
** end of the last segment (a torn write, the process killed mid-append) is
** cut off when the log is opened. Each report is one entry lost.
**
** Not thread-safe: the caller serialises every call (diskbuffer.c holds a
** lock).
*/
#ifndef SLUICE_SEGLOG_H
#define SLUICE_SEGLOG_H

#include "encode.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SlSegLog SlSegLog;

typedef void (*SlSegLogReport)(void *user, const char *message);

/* Opens (creating) the log in `dir`; NULL with a reason in `why`. */
SlSegLog *sl_seglog_open(const char *dir, uint64_t segment_bytes,
                         SlSegLogReport report, void *user, char *why, size_t why_size);
void sl_seglog_close(SlSegLog *log);

/* Appends one entry (not synced: see sl_seglog_sync); false with errno. */
bool sl_seglog_append(SlSegLog *log, const void *data, size_t len);
/* Forces what was appended to the disk; false with errno. */
bool sl_seglog_sync(SlSegLog *log);
/* Bytes of the segment files, the framing included. */
uint64_t sl_seglog_bytes(const SlSegLog *log);
/* What an entry of `len` payload bytes adds to sl_seglog_bytes. */
uint64_t sl_seglog_entry_bytes(size_t len);

/* The next entry not yet read: 1 (payload in `out`, replacing its
** content, and its sequence in `seq`), 0 if there is none for now, or -1
** on a read error (errno). */
int sl_seglog_next(SlSegLog *log, SlBuf *out, uint64_t *seq);
/* Every entry up to `seq` is handled: keeps the position, deletes the
** segments left behind. False with errno if that could not be written. */
bool sl_seglog_commit(SlSegLog *log, uint64_t seq);
/* Entries appended and not yet committed. */
uint64_t sl_seglog_pending(const SlSegLog *log);

#endif
