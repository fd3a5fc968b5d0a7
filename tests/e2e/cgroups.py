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
