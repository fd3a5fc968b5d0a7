/* docker cp in a running hyperv container: one of the guest's cp tools
 * (guest/cp_tool.h) in an exec session of its VM, in a child process whose
 * stdin and stdout are the caller's pipes. */
#ifndef ISOBOX_VM_CP_H
#define ISOBOX_VM_CP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/container.h"
#include "util/err.h"

struct vm_cp_job {
	pid_t pid;
	int err_fd;        /* what the tool (or the exec) said on stderr */
	int child_close;   /* the caller's end of a pipe the child must not hold, or -1 */
};

/* c is a hyperv container whose VM runs: its files are the guest's. */
bool vm_cp_applies(const struct container *c);

/* Start argv (a cp tool's) in c's VM: its stdin from in_fd (-1: empty), its
 * stdout to out_fd; both are the child's, the caller closes its own. */
int vm_cp_start(const struct container *c, const char *const *argv, int in_fd, int out_fd,
		struct vm_cp_job *job, struct err *err);
/* Wait for it: 0, or -1 with its exit code in *code and the first line of
 * its stderr in err. */
int vm_cp_wait(struct vm_cp_job *job, int *code, struct err *err);

#endif
