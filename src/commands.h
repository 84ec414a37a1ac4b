/*
** commands.h: the subcommands of the sluice binary. Each takes the argument
** vector after its own name (argv[0] is the subcommand) and returns the
** process exit status.
*/
#ifndef SLUICE_COMMANDS_H
#define SLUICE_COMMANDS_H

int cmd_wasm_run(int argc, char **argv);      /* cmd_wasm.c */
int cmd_wasm_invoke(int argc, char **argv);   /* cmd_wasm.c */
int cmd_wasm_spectest(int argc, char **argv); /* spectest.c */
int cmd_fn_new(int argc, char **argv);        /* fn_new.c */
int cmd_fn_build(int argc, char **argv);      /* fn_new.c */
int cmd_fn_run(int argc, char **argv);        /* cmd_fn.c */
int cmd_fn_test(int argc, char **argv);       /* fn_test.c */

int cmd_fn_package(int argc, char **argv);       /* cmd_artifact.c */
int cmd_keygen(int argc, char **argv);           /* cmd_artifact.c */
int cmd_artifact_push(int argc, char **argv);    /* cmd_artifact.c */
int cmd_artifact_pull(int argc, char **argv);    /* cmd_artifact.c */
int cmd_artifact_ls(int argc, char **argv);      /* cmd_artifact.c */
int cmd_artifact_show(int argc, char **argv);    /* cmd_artifact.c */
int cmd_artifact_yank(int argc, char **argv);    /* cmd_artifact.c */
int cmd_artifact_resolve(int argc, char **argv); /* cmd_artifact.c */
int cmd_registry_serve(int argc, char **argv);   /* cmd_registry.c */
int cmd_registry_token(int argc, char **argv);   /* cmd_registry.c */
int cmd_serve(int argc, char **argv);            /* cmd_serve.c */

int cmd_pipeline_validate(int argc, char **argv); /* cmd_pipeline.c */
int cmd_pipeline_run(int argc, char **argv);      /* cmd_pipeline.c */
int cmd_pipeline_schema(int argc, char **argv);   /* cmd_pipeline.c */
int cmd_top(int argc, char **argv);               /* cmd_top.c */

int cmd_sim_bme680(int argc, char **argv); /* cmd_sim.c */
int cmd_sim_score(int argc, char **argv);  /* cmd_sim.c */

#endif
