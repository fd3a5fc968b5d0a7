/* The process-isolation backend: a container is a process tree in new
 * namespaces, a cgroup, an overlay rootfs entered with pivot_root, reduced
 * capabilities and a seccomp filter. PID 1 inside is the app itself, or
 * isobox-init with --init (docker's tini). */
#ifndef ISOBOX_PROCESS_H
#define ISOBOX_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci/spec.h"
#include "process/cgroup.h"
#include "process/seccomp.h"
#include "util/err.h"

struct process_start {
	const char *bundle;          /* directory holding config.json and rootfs */
	const struct oci_spec *spec;
	int stdio[3];                /* become the container's fds 0, 1 and 2 */
	int console_sock;            /* process.terminal: the pty master is sent here */
	int init_fd;                 /* isobox-init (process_init_open), or -1: exec
				      * spec->args as PID 1 itself, as runc does */
	const struct seccomp_prog *seccomp;  /* compiled linux.seccomp, or NULL */
	/* runc's create: an O_PATH fd of a FIFO the child opens for writing
	 * right before exec, so it waits there until `start` reads it; -1 none.
	 * process_spawn returns once the child waits. */
	int start_fifo;
	bool outlive_parent;         /* no parent-death signal (the caller exits first) */
	int preserve_fds;            /* the caller's fds 3..3+N-1 stay open in the container */
};

/* Start the container's PID 1 inside cg (already created); *pid is its host pid. */
int process_spawn(const struct process_start *ps, const struct cgroup *cg, pid_t *pid,
		  struct err *err);

/* Run spec's process (args, env, cwd, user, capabilities, seccomp) inside the
 * running container whose PID 1 is init_pid. *pid is the new process; the
 * caller waits for it. An executable that cannot be found fails with
 * err->kind ERR_NOTFOUND (127) or ERR_NOEXEC (126), as docker exec does.
 * With spec->terminal the pty is made inside the container and its master
 * sent to console_sock, as runc's --console-socket. */
int process_exec(pid_t init_pid, const struct cgroup *cg, const struct oci_spec *spec,
		 const struct seccomp_prog *seccomp, const int stdio[3], int console_sock,
		 pid_t *pid, struct err *err);
/* The same, the caller's fds 3..3+preserve-1 passed on (runc's exec --preserve-fds). */
int process_exec_fds(pid_t init_pid, const struct cgroup *cg, const struct oci_spec *spec,
		     const struct seccomp_prog *seccomp, const int stdio[3], int console_sock,
		     int preserve, pid_t *pid, struct err *err);

/* A sealed in-memory copy of isobox-init: the container can see it as
 * /proc/1/exe but never write the host's binary through it (CVE-2019-5736). */
int process_init_open(const char *path, struct err *err);

#endif
