/* The docker-like command line: one file per command family. Each command
 * returns the process exit code; only this layer prints errors. */
#ifndef ISOBOX_CLI_H
#define ISOBOX_CLI_H

#include <stdio.h>

#include "util/err.h"

struct cli {
	const char *root;      /* state directory, default /var/lib/isobox */
	const char *argv0;     /* path this binary was started as */
	const char *config;    /* --config FILE, or NULL */
	const char *default_isolation;  /* --default-isolation, or NULL */
};

struct host_config;
/* The host's configuration (--config, $ISOBOX_CONFIG, /etc/isobox/isobox.conf). */
int cli_host_config(const struct cli *cli, struct host_config *c, struct err *err);

/* Print "isobox: <msg>" to stderr and return the exit code for the error. */
int cli_fail(const struct err *err);
/* Print a usage error for a command ("isobox run: ...") and return 125. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct run_opts;
/* run's flags and IMAGE [COMMAND...]: 0, or an exit code (a message printed)
 * for a bad command line, or -1 for --help (printed). */
int cli_run_opts_parse(const char *cmd, int argc, char **argv, struct run_opts *o);

int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_pull(struct cli *cli, int argc, char **argv);
/* Pull ref (platform may be NULL) with docker's progress, Digest and Status
 * lines on out (NULL: silent). run and create use it for a missing image. */
int cli_pull(struct cli *cli, const char *ref, const char *platform, FILE *out,
	     struct err *err);
int cmd_commit(struct cli *cli, int argc, char **argv);
int cmd_images(struct cli *cli, int argc, char **argv);
int cmd_rmi(struct cli *cli, int argc, char **argv);
int cmd_image(struct cli *cli, int argc, char **argv);   /* image inspect|ls|rm|import|... */
int cmd_tag(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_save(struct cli *cli, int argc, char **argv);
int cmd_load(struct cli *cli, int argc, char **argv);
/* The same under `image` (cmd names the command in messages), and image prune. */
int image_cmd_tag(struct cli *cli, const char *cmd, int argc, char **argv);
int image_cmd_history(struct cli *cli, const char *cmd, int argc, char **argv);
int image_cmd_save(struct cli *cli, const char *cmd, int argc, char **argv);
int image_cmd_load(struct cli *cli, const char *cmd, int argc, char **argv);
int image_cmd_prune(struct cli *cli, const char *cmd, int argc, char **argv);

int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_create(struct cli *cli, int argc, char **argv);
int cmd_start(struct cli *cli, int argc, char **argv);
int cmd_stop(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_restart(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_inspect(struct cli *cli, int argc, char **argv);
int cmd_wait(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);    /* the Docker Engine API */
int cmd_kernel(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);     /* policy explain */
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);
int cmd_push(struct cli *cli, int argc, char **argv);
int cmd_network(struct cli *cli, int argc, char **argv);
int cmd_cp(struct cli *cli, int argc, char **argv);       /* cp CONTAINER:SRC DEST, SRC CONTAINER:DEST */
int cmd_volume(struct cli *cli, int argc, char **argv);   /* volume create|ls|... */
int cmd_port(struct cli *cli, int argc, char **argv);     /* port CONTAINER [PORT] */
int cmd_rename(struct cli *cli, int argc, char **argv);   /* rename CONTAINER NEW_NAME */
int cmd_top(struct cli *cli, int argc, char **argv);      /* top CONTAINER [ps OPTIONS] */

/* isobox-runtime: runc's command line (runtime_cli.c). */
int runtime_main(int argc, char **argv);


#endif
