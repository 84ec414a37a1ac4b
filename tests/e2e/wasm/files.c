/* files.c: file-system actions for the sandbox tests, one per invocation:
     files read PATH | write PATH TEXT | append PATH TEXT | mkdir PATH |
           rm PATH | rmdir PATH | mv OLD NEW | ls DIR | size PATH |
           tail PATH N (the last N bytes, found with fseek and ftell) |
           raw-open PATH (WASI path_open on descriptor 3, no libc help)
   Failures print "error: <strerror> (errno N)" and exit 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int fail(void)
{
    printf("error: %s (errno %d)\n", strerror(errno), errno);
    return 1;
}

static int read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[256];
    size_t n;
    if (!f) return fail();
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

static int write_file(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f) return fail();
    fprintf(f, "%s\n", text);
    return fclose(f) == 0 ? 0 : fail();
}

static int list(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    if (!d) return fail();
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            printf("%s%s\n", e->d_name, e->d_type == DT_DIR ? "/" : "");
    closedir(d);
    return 0;
}

static int tail(const char *path, long n)
{
    FILE *f = fopen(path, "r");
    int c;
    if (!f) return fail();
    if (fseek(f, -n, SEEK_END) != 0) return fail();
    printf("at %ld: ", ftell(f));
    while ((c = getc(f)) != EOF) putchar(c);
    fclose(f);
    return 0;
}

/* Bypasses wasi-libc's own path checks to show the host refusing. */
static int raw_open(const char *path)
{
    __wasi_fd_t fd;
    __wasi_errno_t e = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path,
                                        0, __WASI_RIGHTS_FD_READ,
                                        0, 0, &fd);
    printf("path_open: errno %d\n", e);
    return e != 0;
}

int main(int argc, char **argv)
{
    struct stat st;
    if (argc == 3 && !strcmp(argv[1], "read")) return read_file(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "write"))
        return write_file(argv[2], argv[3], "w");
    if (argc == 4 && !strcmp(argv[1], "append"))
        return write_file(argv[2], argv[3], "a");
    if (argc == 3 && !strcmp(argv[1], "mkdir"))
        return mkdir(argv[2], 0755) == 0 ? 0 : fail();
    if (argc == 3 && !strcmp(argv[1], "rm"))
        return unlink(argv[2]) == 0 ? 0 : fail();
    if (argc == 3 && !strcmp(argv[1], "rmdir"))
        return rmdir(argv[2]) == 0 ? 0 : fail();
    if (argc == 4 && !strcmp(argv[1], "mv"))
        return rename(argv[2], argv[3]) == 0 ? 0 : fail();
    if (argc == 3 && !strcmp(argv[1], "ls")) return list(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "size")) {
        if (stat(argv[2], &st) != 0) return fail();
        printf("%lld bytes\n", (long long)st.st_size);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "tail"))
        return tail(argv[2], atol(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "raw-open")) return raw_open(argv[2]);
    fprintf(stderr, "usage: files read|write|append|mkdir|rm|rmdir|mv|ls|size|tail|raw-open ...\n");
    return 2;
}
