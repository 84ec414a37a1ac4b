/* misc.c: the less common WASI calls, run inside the directory granted as
   /box: positioned reads and writes, truncation, allocation, descriptor
   renumbering and flags, symbolic and hard links, timestamps, poll. Prints
   "ok WHAT" or "bad WHAT (errno)" per check. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static int bad;

static void check(int ok, const char *what)
{
    if (ok) printf("ok %s\n", what);
    else printf("bad %s (%s)\n", what, strerror(errno));
    bad += !ok;
}

static void positioned_io(void)
{
    char buf[8] = { 0 };
    int fd = open("/box/pos.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0, "open for read and write");
    check(write(fd, "abcdefgh", 8) == 8, "write");
    check(pwrite(fd, "XY", 2, 3) == 2, "pwrite at 3");
    check(pread(fd, buf, 4, 2) == 4 && !memcmp(buf, "cXYf", 4), "pread at 2");
    check(lseek(fd, 0, SEEK_CUR) == 8, "pread and pwrite keep the offset");
    check(ftruncate(fd, 5) == 0, "ftruncate");
    check(posix_fallocate(fd, 0, 100) == 0, "posix_fallocate");
    struct stat st;
    check(fstat(fd, &st) == 0 && st.st_size == 100 && S_ISREG(st.st_mode),
          "fstat sees the size");
    check(fcntl(fd, F_SETFL, O_APPEND) == 0 &&
          (fcntl(fd, F_GETFL) & O_APPEND), "fcntl sets O_APPEND");
    int other = open("/box/pos.txt", O_RDONLY);
    check(__wasi_fd_renumber((__wasi_fd_t)fd, (__wasi_fd_t)other) == 0 &&
          write(other, "!", 1) == 1 && close(fd) == -1 && errno == EBADF,
          "fd_renumber moves a descriptor");
    close(other);
}

static void links_and_times(void)
{
    char target[64] = { 0 };
    struct stat st;
    check(symlink("pos.txt", "/box/sym") == 0, "symlink");
    check(readlink("/box/sym", target, sizeof target - 1) == 7 &&
          !strcmp(target, "pos.txt"), "readlink");
    check(lstat("/box/sym", &st) == 0 && S_ISLNK(st.st_mode), "lstat");
    check(stat("/box/sym", &st) == 0 && S_ISREG(st.st_mode), "stat follows");
    check(link("/box/pos.txt", "/box/hard") == 0 &&
          stat("/box/hard", &st) == 0 && st.st_nlink == 2, "link");
    struct timespec times[2] = { { 1000000000, 0 }, { 1500000000, 5 } };
    check(utimensat(AT_FDCWD, "/box/hard", times, 0) == 0 &&
          stat("/box/pos.txt", &st) == 0 && st.st_mtim.tv_sec == 1500000000,
          "utimensat");
    check(symlink("/etc/passwd", "/box/evil") == 0, "symlink to outside");
    check(open("/box/evil", O_RDONLY) < 0 && errno == ENOTCAPABLE,
          "the outside link cannot be followed");
}

static void polling(void)
{
    struct pollfd p = { .fd = 1, .events = POLLOUT };
    check(poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT), "poll stdout");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check(poll(NULL, 0, 30) == 0, "poll with only a timeout");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000
              >= 29, "poll waits");
}

int main(void)
{
    positioned_io();
    links_and_times();
    polling();
    return bad != 0;
}
