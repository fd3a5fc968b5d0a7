/* The VMM's own seccomp filter: once a VM is set up (memory, devices, images,
 * vCPU, timer), its threads need only a few dozen system calls to run it. The
 * filter allows those and kills the whole process on anything else, so a
 * guest that takes over a VMM thread cannot open files, exec, make sockets or
 * processes, or map executable memory. */
#ifndef ISOBOX_VMM_SECCOMP_H
#define ISOBOX_VMM_SECCOMP_H

#include "util/err.h"

/* Install the filter on every thread of the calling process; threads created
 * afterwards inherit it. Call after the last setup step and before the vCPU
 * thread starts. Irreversible. */
int vmm_seccomp_install(struct err *err);

#endif
