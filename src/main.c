/*
** main.c: the sluice command line. Thin on purpose: it finds the subcommand
** and hands over; each command lives in its own file.
*/
#include "commands.h"

#include <stdio.h>
#include <string.h>

typedef struct Command {
    const char *group, *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} Command;

static const Command commands[] = {
    { NULL, "validate", cmd_pipeline_validate,
      "validate PIPELINE.yaml\n"
      "      check a pipeline file; report every problem with file:line:column" },
    { NULL, "run", cmd_pipeline_run,
      "run [--workers N] [--queue BATCHES] [--api HOST:PORT] [--quiet] PIPELINE.yaml\n"
      "      run a pipeline (until its inputs end, or until SIGINT/SIGTERM)" },
    { NULL, "schema", cmd_pipeline_schema,
      "schema\n"
      "      print the JSON Schema of pipeline files (for editors)" },
    { NULL, "top", cmd_top,
      "top [--api HOST:PORT] [--interval SECONDS] [--count N]\n"
      "      live per-component rates of a pipeline run with --api (docs/observability.md)" },
    { "wasm", "run", cmd_wasm_run,
      "wasm run [--dir HOST[:GUEST]]... [--env NAME=VALUE]... [--fuel N] [--timeout MS]\n"
      "         [--max-memory MIB] MODULE.wasm [ARGS...]\n"
      "      run a WASI command module" },
    { "wasm", "invoke", cmd_wasm_invoke,
      "wasm invoke [--fuel N] [--timeout MS] [--max-memory MIB] MODULE.wasm FUNCTION [ARGS...]\n"
      "      call an exported function and print its results" },
    { "wasm", "spectest", cmd_wasm_spectest,
      "wasm spectest SCRIPT.json\n"
      "      run a wast2json spec-test script" },
    { "fn", "new", cmd_fn_new,
      "fn new --lang rust|c NAME [--dir PATH]\n"
      "      create a function project that builds and passes its tests" },
    { "fn", "build", cmd_fn_build,
      "fn build [DIR]\n"
      "      build the function project in DIR (default: .) to a .wasm module" },
    { "fn", "run", cmd_fn_run,
      "fn run [OPTIONS] MODULE.wasm --input FILE|- [--config FILE]\n"
      "      call a function once and print its output" },
    { "fn", "test", cmd_fn_test,
      "fn test [OPTIONS] MODULE.wasm CASES.yaml\n"
      "      run a function on test cases and compare with the expected results" },
    { "fn", "package", cmd_fn_package,
      "fn package [DIR] [--sign KEYFILE] [-o OUT] [--module FILE] [--name NAME --version V ...]\n"
      "      package a function project as an artifact (docs/registry.md)" },
    { NULL, "keygen", cmd_keygen,
      "keygen [-o KEYFILE]\n"
      "      make an ed25519 signing key; print its public key" },
    { "artifact", "push", cmd_artifact_push,
      "artifact push ARCHIVE [--registry URL] [--token TOKEN]\n"
      "      publish an artifact to a registry" },
    { "artifact", "pull", cmd_artifact_pull,
      "artifact pull NAME[@VERSION] [-o FILE] [--registry URL]\n"
      "      download an artifact and check its digest" },
    { "artifact", "ls", cmd_artifact_ls,
      "artifact ls [QUERY] [--registry URL]\n"
      "      list or search the artifacts of a registry" },
    { "artifact", "show", cmd_artifact_show,
      "artifact show NAME[@VERSION] [--registry URL]\n"
      "      show the versions of an artifact, or one version's metadata" },
    { "artifact", "yank", cmd_artifact_yank,
      "artifact yank NAME@VERSION [--undo] [--registry URL] [--token TOKEN]\n"
      "      hide a version from ls and @latest (still downloadable exactly)" },
    { "artifact", "resolve", cmd_artifact_resolve,
      "artifact resolve NAME[@VERSION] --cache DIR [--trust KEY]... [--registry URL]\n"
      "      fetch an artifact into a local cache as pipelines do; print its module" },
    { "registry", "serve", cmd_registry_serve,
      "registry serve --data DIR [--listen HOST:PORT] [--max-upload BYTES] [--private-reads]\n"
      "      run the function registry (REST API, docs/registry.md)" },
    { NULL, "serve", cmd_serve,
      "serve [--listen HOST:PORT] [--data DIR] [--token TOKEN] [--web DIR]\n"
      "      the control plane: registry, pipelines and web console on one port (docs/console.md)" },
    { "registry", "token", cmd_registry_token,
      "registry token add NAME --data DIR\n"
      "      make a write token for a registry; print it once" },
    { "sim", "bme680", cmd_sim_bme680,
      "sim bme680 [--sensors N] [--interval SECONDS] [--duration D | --count N]\n"
      "           [--speed X | --fast] [--seed S] [--truth FILE] [--connect HOST:PORT] ...\n"
      "      simulate BME680 air-quality sensors with anomalies (docs/simulator.md)" },
    { "sim", "score", cmd_sim_score,
      "sim score --truth FILE --detected FILE [--tolerance N]\n"
      "      precision and recall of detected anomalies against the simulator's truth" },
};

static int usage(FILE *out)
{
    fprintf(out, "usage: sluice COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  sluice %s\n", commands[i].usage);
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const Command *c = &commands[i];
        if (!c->group && !strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
        if (c->group && argc >= 3 && !strcmp(argv[1], c->group) && !strcmp(argv[2], c->name))
            return c->run(argc - 2, argv + 2);
    }
    fprintf(stderr, "sluice: unknown command '%s%s%s'\n", argv[1],
            argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
    return usage(stderr);
}
