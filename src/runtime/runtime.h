/* The runtime: starts a container's monitor and talks to it. Below it sit the
 * backends (process today; hyperv next), chosen by the bundle's isolation. The
 * engine above knows a container only by its directory (the OCI bundle). */
#ifndef ISOBOX_RUNTIME_H
#define ISOBOX_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

enum rt_status { RT_CREATED, RT_RUNNING, RT_EXITED };

/* What the monitor records in DIR/state.json. */
struct rt_state {
	enum rt_status status;
	pid_t pid;                        /* the container's PID 1 on the host */
	pid_t monitor_pid;
	int exit_code;
	bool oom_killed;
	char started_at[40];              /* RFC 3339, "" when never started */
	char finished_at[40];
	char error[512];
};

const char *rt_status_name(enum rt_status s);

/* Read the state; a container whose monitor is gone (killed, or the host
 * rebooted) is reported, and recorded, as exited. */
int rt_state_read(const char *dir, struct rt_state *st, struct err *err);
/* Pause (or resume) a running container for a moment, as docker's commit
 * does: vm, its VMM is stopped; else its cgroup is frozen. */
int rt_pause(const char *dir, bool vm, bool pause, struct err *err);
int rt_state_write(const char *dir, const struct rt_state *st, struct err *err);
/* flock() the container directory (op as flock's); returns the fd or -1.
 * The monitor holds LOCK_EX for its whole life. */
int rt_lock_dir(const char *dir, int op);

/* Called by the monitor after the container exited and was recorded, before
 * an attached caller is told (a --rm container is gone from listings by then).
 * It may return a directory (malloc'ed) that the monitor deletes after telling
 * the caller, so slow deletion does not delay it. */
typedef char *(*rt_exit_hook)(const char *dir, void *data);
/* Called by the monitor once the container exited, before the exit is
 * recorded (so whoever waits for the record sees what this did first:
 * docker's die event comes before a stop's). */
typedef void (*rt_died_hook)(const char *dir, int exit_code, bool oom_killed, void *data);

struct rt_start {
	const char *id;
	const char *dir;                  /* the bundle: config.json, rootfs/ */
	const char *cache_dir;            /* compiled seccomp filters, shared */
	bool tty;                         /* process.terminal */
	bool attach;                      /* the caller's stdio is attached */
	bool interactive;                 /* forward the caller's stdin */
	rt_exit_hook on_exit;
	rt_died_hook on_died;
	void *on_exit_data;                /* both hooks' */
};

/* Start the container under a new monitor process that outlives the caller.
 * With attach, the caller's stdio is relayed until the container exits and
 * *exit_code is its status; otherwise returns once the container runs. */
int rt_start(const struct rt_start *rs, int *exit_code, struct err *err);

/* Send a signal to the container's PID 1 (it forwards to the app). */
int rt_kill(const char *dir, int sig, struct err *err);
/* Block until the monitor has recorded the exit; *exit_code is the status. */
int rt_wait(const char *dir, int *exit_code, struct err *err);
/* Wait up to timeout seconds; returns 1 when exited, 0 on timeout. */
int rt_wait_timeout(const char *dir, int timeout_ms, struct err *err);

/* Run a process in a running container; args/env/cwd/user override the
 * container's process. Attached: relays stdio and returns the exit code. */
struct rt_exec {
	const char *dir;
	const char *cache_dir;
	const char *const *args;
	const char *const *env;           /* added to the container's env */
	const char *cwd;                  /* NULL: the container's */
	const char *user;                 /* "uid[:gid]" already resolved, or NULL; in a VM
					   * "user[:group]" the guest looks up */
	const unsigned *gids;             /* with user: its supplementary groups (not in a
					   * VM, whose guest finds them); the container's
					   * --group-add ones are added to them */
	size_t n_gids;
	bool tty, interactive, detach;
	bool tool;                        /* args is a guest tool (guest/cp_tool.h), run as
					   * root: a VM's only */
};
int rt_exec(const struct rt_exec *re, int *exit_code, struct err *err);

/* Remove the backend's leftovers of a stopped container (cgroups). */
int rt_cleanup(const char *id, struct err *err);

/* What the engine needs of the hyperv backend: whether the host's /dev/kvm is
 * PVM (kvm_pvm), which boots only kernels built with CONFIG_PVM_GUEST, and a
 * hyperv container's writable disk, made at path before its bundle names it. */
int rt_hyperv_host_check(struct err *err);      /* this host can run VMs at all */
bool rt_hyperv_host_is_pvm(void);
int rt_hyperv_upper_create(const char *path, struct err *err);
/* An ext4 disk image of size bytes (sparse) at path: a block volume. */
int rt_hyperv_disk_create(const char *path, long long size, struct err *err);

/* Where isobox-init is: $ISOBOX_INIT, beside this binary, or ../libexec/isobox. */
int rt_init_path(char *buf, size_t len, struct err *err);

#endif
