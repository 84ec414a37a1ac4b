/*
** files.c: the web console's static files (serve.h): GET / is its
** index.html, GET /console/PATH the file PATH of the built console
** (web/build.sh). A path may not leave the console's directory: segments
** that are empty, "." or ".." (libmicrohttpd has already decoded %2e%2e)
** or start with "." are refused, and the file found must still be inside
** the directory once symbolic links are resolved.
*/
#include "serve.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char console_prefix[] = "/console/";

/* Whether every segment of `rel` is a plain name. */
static bool safe_path(const char *rel)
{
    if (strchr(rel, '\\')) return false;
    for (const char *s = rel; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || s[0] == '.') return false;
        s += n + (s[n] == '/');
    }
    return true;
}

static enum MHD_Result page(struct MHD_Connection *c, unsigned status, const char *title,
                            const char *detail)
{
    enum { PAGE_MAX = 1024 };
    char *html = malloc(PAGE_MAX);
    if (!html) return MHD_NO;
    int n = snprintf(html, PAGE_MAX, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                     "<title>%s</title></head>\n<body><h1>%s</h1><p>%s</p></body></html>\n",
                     title, title, detail);
    return http_send_text(c, status, "text/html; charset=utf-8", html,
                          n < PAGE_MAX ? (size_t)n : PAGE_MAX - 1);
}

static enum MHD_Result forbidden(struct MHD_Connection *c)
{
    return page(c, MHD_HTTP_FORBIDDEN, "Forbidden", "That path leads out of the console.");
}

static enum MHD_Result not_found(struct MHD_Connection *c)
{
    return page(c, MHD_HTTP_NOT_FOUND, "Not found", "There is no such file in the console.");
}

FileLookup serve_file_path(const char *web_dir, const char *url, char *found)
{
    char root[PATH_MAX], rel[PATH_MAX], wanted[2 * PATH_MAX];
    if (!realpath(web_dir, root)) return FILE_NO_CONSOLE;
    const char *path = strncmp(url, console_prefix, sizeof console_prefix - 1)
                           ? "" : url + sizeof console_prefix - 1;
    bool directory = !*path || path[strlen(path) - 1] == '/';
    if (snprintf(rel, sizeof rel, "%s%s", path, directory ? "index.html" : "") >= (int)sizeof rel ||
        !safe_path(rel))
        return FILE_FORBIDDEN;
    snprintf(wanted, sizeof wanted, "%s/%s", root, rel);
    if (!realpath(wanted, found)) return FILE_MISSING;
    size_t n = strlen(root);
    return strncmp(found, root, n) || found[n] != '/' ? FILE_FORBIDDEN : FILE_FOUND;
}

enum MHD_Result serve_file(struct MHD_Connection *c, const char *web_dir, const char *url)
{
    char found[PATH_MAX];
    bool missing;
    switch (serve_file_path(web_dir, url, found)) {
    case FILE_NO_CONSOLE:
        return page(c, MHD_HTTP_NOT_FOUND, "The console is not built",
                    "Build it with <code>make web</code> (web/build.sh), or point "
                    "<code>sluice serve --web DIR</code> at a built console. The API is "
                    "under <code>/api/v1</code>.");
    case FILE_FORBIDDEN:
        return forbidden(c);
    case FILE_MISSING:
        return not_found(c);
    case FILE_FOUND:
        break;
    }
    enum MHD_Result ret = http_send_file(c, found, http_content_type(found), &missing);
    return missing ? not_found(c) : ret;
}
