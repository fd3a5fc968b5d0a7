/* What a container's cgroups say it uses, in the shape of docker's stats
 * (GET /containers/ID/stats): cpu_stats, memory_stats, pids_stats and
 * blkio_stats, from cgroup v1's cpuacct, memory, pids and blkio or v2's
 * cpu.stat, memory.*, pids.current and io.stat. A hyperv container's are
 * its VMM's: the VM's use of the host. */
#ifndef ISOBOX_CGROUP_STATS_H
#define ISOBOX_CGROUP_STATS_H

#include <jansson.h>

#include "process/cgroup.h"

/* The four objects set in out (what a file lacks is left out or 0). */
void cgroup_stats(const struct cgroup *cg, json_t *out);

#endif
