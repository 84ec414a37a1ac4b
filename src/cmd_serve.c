/*
** cmd_serve.c: `sluice serve`, the control plane: the registry, the
** pipeline manager and the web console on one port. Thin: the work is in
** src/serve/ (docs/console.md).
*/
#include "cli.h"
#include "commands.h"
#include "registry/sign.h"
#include "serve/serve.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: sluice serve [--listen HOST:PORT] [--data DIR] [--token TOKEN] [--web DIR]\n"
    "\n"
    "Runs the control plane until SIGINT or SIGTERM, on one port:\n"
    "  /                      the web console\n"
    "  /api/v1/artifacts      the function registry (docs/registry.md)\n"
    "  /api/v1/pipelines      pipelines: stored, started, stopped, watched\n"
    "  /api/v1/components, /api/v1/validate, /api/v1/preview\n"
    "(docs/console.md). Each running pipeline is a child process, `sluice run\n"
    "--api 127.0.0.1:PORT`, restarted if it dies; on SIGINT or SIGTERM every\n"
    "pipeline is stopped (it drains) before the server exits, and the pipelines\n"
    "that were running start again with the next `sluice serve`.\n"
    "\n"
    "Reading is open; changing anything (POST, PUT, DELETE) needs the token,\n"
    "sent as `Authorization: Bearer TOKEN` (validate and preview need none).\n"
    "The token is also a write token of the registry.\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT   where to listen (default: 127.0.0.1:7700; port 0\n"
    "                       picks a free one); printed as\n"
    "                       `listening on http://HOST:PORT` once accepting\n"
    "  --data DIR           the data directory (default: ./sluice-data):\n"
    "                       pipelines/ (NAME.yaml, NAME.state), registry/,\n"
    "                       cache/ (artifacts), token\n"
    "  --token TOKEN        the token; without it $SLUICE_TOKEN, else the one\n"
    "                       kept in DIR/token, else a new one is made, kept\n"
    "                       there (mode 0600) and printed as `token: TOKEN`\n"
    "  --web DIR            the built console (default: web/console next to\n"
    "                       the sluice executable, as `make web` builds it)\n"
    "  --help               show this help\n";

int cmd_serve(int argc, char **argv)
{
    ServeConfig config = { .listen = "127.0.0.1:7700", .data_dir = "sluice-data" };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char *value = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 0;
        } else if (cli_option(argc, argv, &i, "--listen", &value)) {
            config.listen = value;
        } else if (cli_option(argc, argv, &i, "--data", &value)) {
            config.data_dir = value;
        } else if (cli_option(argc, argv, &i, "--token", &value)) {
            config.token = value;
        } else if (cli_option(argc, argv, &i, "--web", &value)) {
            config.web_dir = value;
        } else {
            return cli_usage_error(help, "unknown argument '%s'", arg);
        }
        if (!value) return cli_usage_error(help, "%s needs a value", arg);
    }
    if (!sign_init()) {
        fprintf(stderr, "sluice serve: cannot start libsodium\n");
        return 1;
    }
    return serve_run(&config);
}
