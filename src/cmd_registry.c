/*
** cmd_registry.c: `sluice registry serve` (the artifact registry's HTTP
** server) and `sluice registry token add` (write tokens). Thin: the work is
** in src/registry/ (server.c, store.c).
*/
#include "cli.h"
#include "commands.h"
#include "registry/server.h"
#include "registry/sign.h"
#include "registry/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_PORT = 8750, DEFAULT_MAX_UPLOAD = 64 << 20, MAX_UNPACKED_FACTOR = 4 };

static const char serve_help[] =
    "usage: sluice registry serve --data DIR [--listen HOST:PORT] [--max-upload BYTES]\n"
    "                             [--private-reads]\n"
    "\n"
    "Runs the function registry: the REST API of docs/registry.md under\n"
    "/api/v1, until SIGINT or SIGTERM. Metadata is kept in DIR/registry.db\n"
    "(SQLite), artifacts in DIR/blobs by digest. Publishing and yanking need a\n"
    "token (see `sluice registry token add`); reading is open unless\n"
    "--private-reads is given.\n"
    "\n"
    "options:\n"
    "  --data DIR           the data directory (created if needed)\n"
    "  --listen HOST:PORT   the IPv4 address and port (default: 127.0.0.1:8750;\n"
    "                       port 0 picks a free one); the address is printed as\n"
    "                       `listening on http://HOST:PORT`\n"
    "  --max-upload BYTES   largest accepted artifact (default: 64 MiB); larger\n"
    "                       uploads get 413. An artifact may unpack to at most\n"
    "                       4 times this size.\n"
    "  --private-reads      reading needs a token too\n"
    "  --help               show this help\n";

static const char token_help[] =
    "usage: sluice registry token add NAME --data DIR\n"
    "\n"
    "Makes a write token for the registry in DIR and prints it, once: only its\n"
    "hash is kept. NAME (1 to 64 of [a-z0-9-]) says whose token it is; the\n"
    "registry records it as the publisher of what the token publishes.\n";

static bool parse_size(const char *text, size_t *out)
{
    uint64_t v;
    if (!cli_parse_count(text, SIZE_MAX / MAX_UNPACKED_FACTOR, &v) || v == 0)
        return false;
    *out = (size_t)v;
    return true;
}

/* "HOST:PORT" into config. */
static bool parse_listen(char *text, ServerConfig *config)
{
    char *colon = strrchr(text, ':');
    if (!colon) return false;
    *colon = '\0';
    uint64_t port;
    if (!cli_parse_count(colon + 1, 65535, &port)) return false;
    config->host = text;
    config->port = (unsigned)port;
    return true;
}

int cmd_registry_serve(int argc, char **argv)
{
    ServerConfig config = { .host = "127.0.0.1", .port = DEFAULT_PORT,
                            .max_upload = DEFAULT_MAX_UPLOAD };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--help")) {
            fputs(serve_help, stdout);
            return 0;
        } else if (!strcmp(a, "--private-reads")) {
            config.private_reads = true;
        } else if (!strcmp(a, "--data") || !strcmp(a, "--listen") || !strcmp(a, "--max-upload")) {
            if (!has_value) return cli_usage_error(serve_help, "%s needs a value", a);
            char *v = argv[++i];
            if (!strcmp(a, "--data")) config.data_dir = v;
            else if (!strcmp(a, "--listen") && !parse_listen(v, &config))
                return cli_usage_error(serve_help, "bad --listen '%s': write HOST:PORT, "
                                   "such as 127.0.0.1:8750", v);
            else if (!strcmp(a, "--max-upload") && !parse_size(v, &config.max_upload))
                return cli_usage_error(serve_help, "bad number for --max-upload: '%s'", v);
        } else {
            return cli_usage_error(serve_help, "unknown argument '%s'", a);
        }
    }
    if (!config.data_dir) return cli_usage_error(serve_help, "%s", "missing --data DIR");
    if (!sign_init()) {
        fprintf(stderr, "sluice: registry serve: cannot start libsodium\n");
        return 1;
    }
    config.max_unpacked = config.max_upload * MAX_UNPACKED_FACTOR;
    return registry_serve(&config);
}

int cmd_registry_token(int argc, char **argv)
{
    const char *name = NULL, *data = NULL;
    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        fputs(token_help, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "add"))
        return cli_usage_error(token_help, "%s", "the only token command is `add`");
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (argv[i][0] != '-' && !name) name = argv[i];
        else return cli_usage_error(token_help, "unexpected argument '%s'", argv[i]);
    }
    char err[512], token[STORE_TOKEN_LEN];
    if (!name || !data) return cli_usage_error(token_help, "%s", "missing NAME or --data DIR");
    if (!registry_name_valid(name, err, sizeof err))
        return cli_usage_error(token_help, "%s", err);
    if (!sign_init()) {
        fprintf(stderr, "sluice: registry token: cannot start libsodium\n");
        return 1;
    }
    Store *s = store_open(data, err, sizeof err);
    StoreStatus status = s ? store_token_add(s, name, token, err, sizeof err) : STORE_FAILED;
    store_close(s);
    if (status != STORE_OK) {
        fprintf(stderr, "sluice: registry token add: %s\n", err);
        return 1;
    }
    printf("%s\n", token);
    fprintf(stderr, "sluice: token '%s' added; it is shown only now, keep it safe\n", name);
    return 0;
}
