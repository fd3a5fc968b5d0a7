"""Where a container's cgroup is on the host, for cgroup v1, v2 and hybrid
hosts: the tests look for it there, so that it is found, or its absence is a
finding, whichever hierarchy the host mounts."""
import glob
import os


def cgroup_v2():
    """Whether /sys/fs/cgroup is the unified (v2) hierarchy itself."""
    for line in open("/proc/self/mounts"):
        f = line.split()
        if f[1] == "/sys/fs/cgroup":
            return f[2] == "cgroup2"
    return False


def cgroup_dirs(path):
    """The directories of cgroup PATH (e.g. isobox/<id>): on v2 the one at
    /sys/fs/cgroup/PATH; on v1 and hybrid hosts one per hierarchy,
    /sys/fs/cgroup/<controllers>/PATH (a hybrid host's unified/ too)."""
    path = path.strip("/")
    if cgroup_v2():
        d = f"/sys/fs/cgroup/{path}"
        return [d] if os.path.isdir(d) else []
    return sorted(d for d in glob.glob(f"/sys/fs/cgroup/*/{path}") if os.path.isdir(d))


def controllers(dirs):
    """The controllers the cgroup dirs give (v1: each hierarchy's names; v2:
    cgroup.controllers of the one dir)."""
    if cgroup_v2():
        return set().union(*(open(f"{d}/cgroup.controllers").read().split() for d in dirs))
    return set().union(*(d.split("/")[4].split(",") for d in dirs))


def procs(d):
    return [int(p) for p in open(f"{d}/cgroup.procs").read().split()]


def cgroup_of(pid, controller="memory"):
    """The directory of the cgroup that holds pid: its one on a v2 host, else
    the one in controller's hierarchy."""
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        num, ctrls, path = line.split(":", 2)
        if cgroup_v2() and num == "0":
            return "/sys/fs/cgroup" + path
        if not cgroup_v2() and controller in ctrls.split(","):
            return f"/sys/fs/cgroup/{controller}" + path
    raise AssertionError(f"{pid} is in no {controller} cgroup")


def memory_limit_of(pid):
    """The memory limit of pid's cgroup in bytes, None when there is none."""
    d = cgroup_of(pid, "memory")
    v = open(f"{d}/memory.max" if cgroup_v2() else f"{d}/memory.limit_in_bytes").read().strip()
    return None if v == "max" or int(v) >= 1 << 62 else int(v)
