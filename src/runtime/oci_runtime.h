/* runc's container lifecycle over an OCI bundle, for engines that drive a
 * runtime binary (containerd's runc shim, podman's conmon): create leaves the
 * container's process waiting at its exec FIFO, start releases it, and the
 * caller (the shim, a subreaper) is its parent and reaps it. State lives in
 * ROOT/<id>/state.json. No monitor: the process is the container; in hyperv
 * mode it is the VMM, which waits at the FIFO before it boots the guest,
 * forwards signals into it and exits with the app's status. */
#ifndef ISOBOX_OCI_RUNTIME_H
#define ISOBOX_OCI_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "util/err.h"

/* Hyper-V isolation: what the VM boots. */
struct ocirt_vm {
	const char *kernel, *initrd;
	const char *rootfs;             /* the bundle's rootfs as an EROFS disk */
};

struct ocirt_create {
	const char *root;               /* state directory, e.g. /run/isobox-runtime */
	const char *id;
	const char *bundle;             /* holds config.json */
	const char *pid_file;           /* NULL: none */
	const char *console_socket;     /* NULL: none; needed for process.terminal */
	/* systemd's socket activation, as runc and crun pass it on: fds
	 * 3..3+N-1, and LISTEN_FDS=N, LISTEN_PID=1 in the app's env; 0: none. */
	int listen_fds;
	int preserve_fds;               /* more fds after those (process isolation) */
	const struct ocirt_vm *vm;      /* NULL: process isolation */
};

int ocirt_create(const struct ocirt_create *c, pid_t *pid, struct err *err);
int ocirt_start(const char *root, const char *id, struct err *err);
/* The OCI state: ociVersion, id, status (created|running|stopped), pid,
 * bundle, annotations, and runc's rootfs, created, owner. */
int ocirt_state(const char *root, const char *id, json_t **out, struct err *err);
/* Every container's state, by id. */
int ocirt_list(const char *root, json_t **out, struct err *err);
/* all: every process in the container's cgroup, not only its PID 1. */
int ocirt_kill(const char *root, const char *id, int sig, bool all, struct err *err);
/* force: kill a running container first. */
int ocirt_delete(const char *root, const char *id, bool force, struct err *err);

/* pause: freeze a running container (a VM: stop its VMM); else thaw it. */
int ocirt_pause(const char *root, const char *id, bool pause, struct err *err);
/* The host pids of the container's processes (a VM: its VMM), as a JSON array. */
int ocirt_pids(const char *root, const char *id, json_t **out, struct err *err);
/* runc's update: merge resources (a linux.resources object) into the
 * container's, apply them to its cgroup (in a VM, to the app's cgroup in the
 * guest) and keep them in its state, where the next update starts from. */
int ocirt_update(const char *root, const char *id, json_t *resources, struct err *err);

/* Run a process in the container: process is an OCI process object (exec
 * --process, taken as it is, as runc does), or NULL to take the container's
 * with args and runc's overrides below. Detached, returns once it runs; else
 * waits and *exit_code is its status. */
struct ocirt_exec {
	const char *root, *id;
	json_t *process;
	const char *const *args;
	bool tty, detach;
	const char *pid_file, *console_socket;
	int preserve_fds;               /* fds 3..3+N-1 go to the process (not into a VM) */
	const char *cwd;                /* --cwd, or NULL */
	const char *const *env;         /* --env KEY=VALUE, NULL-terminated: set or replace */
	const char *user;               /* --user "UID[:GID]", decimal, or NULL */
	const unsigned *gids;           /* --additional-gids, added */
	size_t n_gids;
	const char *const *caps;        /* --cap CAP_X: added to every set but inheritable */
	bool no_new_privs;
};
int ocirt_exec(const struct ocirt_exec *e, int *exit_code, struct err *err);

#endif
