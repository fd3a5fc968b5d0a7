/* Pausing an `isobox run` container for a moment (commit): a VM by stopping
 * its VMM, as isobox-runtime's pause does; a process container by its
 * cgroup's freezer, as docker's pause. */
#include "runtime/runtime.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>

#include "process/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"

int rt_pause(const char *dir, bool vm, bool pause, struct err *err)
{
	_cleanup_free_ char *dircopy = xstrdup(dir);
	struct rt_state st;
	struct cgroup cg;
	int r;

	if (rt_state_read(dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING)
		return err_set(err, "is not running");
	if (vm) {
		if (st.pid <= 0 || kill(st.pid, pause ? SIGSTOP : SIGCONT) < 0)
			return err_sys(err, errno, "%s the VM", pause ? "stop" : "continue");
		return 0;
	}
	cgroup_open(basename(dircopy), &cg);
	r = cgroup_freeze(&cg, pause, err);
	cgroup_free(&cg);
	return r;
}
