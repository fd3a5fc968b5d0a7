/* The hyperv backend, as the monitor sees it: like the process backend's
 * process_spawn, it starts "the container" as a child process, here a VMM
 * running the container's micro-VM. The child exits with the container's
 * status, so the monitor above stays the same for both modes. */
#ifndef ISOBOX_VM_BACKEND_H
#define ISOBOX_VM_BACKEND_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci/annotations.h"
#include "oci/spec.h"
#include "vmm/guest_config.h"
#include "util/err.h"

/* In the container's directory: the VMM's socket for `exec`. */
#define VM_EXEC_SOCKET "exec.sock"
/* In the container's directory: "1" when the app was killed for memory. */
#define VM_OOM_FILE "vm-oom-killed"

struct vm_start {
	const struct oci_spec *spec;
	int stdio[3];
	int console_sock;            /* process.terminal: a host pty's master goes here */
	const char *serial_log;      /* the guest kernel's log file */
	const char *init;            /* isobox-init: the guest's /init and agent */
	const char *exec_socket;     /* where `exec` connects, or NULL */
	const char *oom_file;        /* holds "1" when the guest's app was killed for memory */
	const struct guest_security *security;  /* the app's privileges in the guest */
	/* runc's create (isobox-runtime): the VMM boots the guest at once, the
	 * guest holds the app until `start` writes a byte into this FIFO, and
	 * the VMM writes a byte to ready_fd (-1: none) once the guest is up;
	 * NULL: the app starts at once. */
	const char *start_fifo;
	int ready_fd;
	bool outlive_parent;         /* no parent-death signal: the caller exits first */
	/* Run first in the VMM's process, e.g. to join the container's host
	 * cgroup before any of the guest's memory is touched; NULL: none. */
	int (*child_setup)(void *data, struct err *err);
	void *child_setup_data;
};

/* SIGKILL sent to a VMM ends the guest with its page cache unwritten: this
 * one, sent instead, has the guest kill its app with SIGKILL and write its
 * disks before the VM ends (rt_kill). */
#define VM_SIGNAL_KILL (SIGRTMIN + 1)

#define VM_UPPER_SIZE (1ULL << 30)     /* sparse: only what the container writes */

/* The container's writable layer: a sparse ext4 disk of its own. */
int vm_upper_create(const char *path, uint64_t size, struct err *err);

/* The VM's memory: the annotation's, else the spec's limit plus the guest's
 * overhead, else a default; in whole MiB, within the VMM's bounds. */
uint64_t vm_memory_size(const struct oci_spec *spec);
/* The VM's vCPUs: the spec's cpu quota over its period, rounded up; 1 without. */
unsigned vm_vcpus(const struct oci_spec *spec);
/* True when the spec asks for hyperv isolation. */
int vm_spec_is_hyperv(const struct oci_spec *spec);
int vm_spawn(const struct vm_start *vs, pid_t *pid, struct err *err);

#endif
