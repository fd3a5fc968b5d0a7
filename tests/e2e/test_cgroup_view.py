"""The container's own cgroup at /sys/fs/cgroup, as docker shows it: apps that
size themselves from it (JVMs, Go's automaxprocs, .NET) read their limits
there. Process mode on this hybrid (v1) host gets docker's tmpfs of v1
hierarchies; on a v2 host (the test host) the container's cgroup2; a VM the
guest kernel's cgroup2 of the app. Read-only, in a cgroup namespace, and
read-write with --privileged, as docker has them."""
import pytest

from cgroups import cgroup_v2
from conftest import MODES

# Every isolation this run can give: the hyperv run (in the test host, a
# cgroup v2 host) runs process containers too, so the v2 view of the process
# backend is tested there, and the v1/hybrid one on this host.
ISOLATIONS = MODES + [m for m in ("process",) if m not in MODES]

# What the app reads, whichever layout it has (v1 files first, then v2's).
READ = """
v1=; [ -d /sys/fs/cgroup/memory ] && v1=1
if [ -n "$v1" ]; then echo "layout: v1"; else echo "layout: v2"; fi
if [ -n "$v1" ]; then
  echo "memory: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  echo "cpu: $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "pids: $(cat /sys/fs/cgroup/pids/pids.max)"
else
  echo "memory: $(cat /sys/fs/cgroup/memory.max)"
  echo "cpu: $(cat /sys/fs/cgroup/cpu.max)"
  echo "pids: $(cat /sys/fs/cgroup/pids.max)"
fi
"""


def run(isobox, iso, *args, script):
    r = isobox("run", "--rm", f"--isolation={iso}", *args, "busybox", "sh", "-c", script,
               timeout=240)
    assert r.returncode == 0, r.stderr
    return dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)


def expected_layout(iso):
    return "v2" if iso == "hyperv" or cgroup_v2() else "v1"


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_app_reads_its_limits(isobox, iso):
    got = run(isobox, iso, "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", script=READ)
    assert got["layout"] == expected_layout(iso)
    assert got["memory"] == "67108864"
    assert got["cpu"] == "50000 100000"
    assert got["pids"] == "50"


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_no_limits_read_as_docker_shows_them(isobox, iso):
    got = run(isobox, iso, script=READ)
    if got["layout"] == "v1":
        assert got["cpu"] == "-1 100000"
        assert got["pids"] == "max"
    else:
        assert got["memory"] == "max"
        assert got["cpu"] == "max 100000"
        assert got["pids"] == "max"


WRITE = """
v1=; [ -d /sys/fs/cgroup/memory ] && v1=1
f=/sys/fs/cgroup/pids.max; [ -n "$v1" ] && f=/sys/fs/cgroup/pids/pids.max
if echo 7 > $f 2>/dev/null; then echo "write: ok"; else echo "write: refused"; fi
echo "pids: $(cat $f)"
d=/sys/fs/cgroup/child; [ -n "$v1" ] && d=/sys/fs/cgroup/memory/child
if mkdir $d 2>/dev/null; then echo "mkdir: ok"; else echo "mkdir: refused"; fi
echo "mount: $(awk '$5 == "/sys/fs/cgroup" || $5 == "/sys/fs/cgroup/memory" {print $6}' \
  /proc/self/mountinfo | tail -n 1 | cut -d, -f1)"
"""


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_view_is_read_only(isobox, iso):
    got = run(isobox, iso, "--pids-limit", "50", script=WRITE)
    assert got["write"] == "refused"
    assert got["pids"] == "50"
    assert got["mkdir"] == "refused"
    assert got["mount"] == "ro"


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_privileged_view_is_writable(isobox, iso):
    # docker clears "ro" of the cgroup mount for --privileged (moby's WithMounts).
    got = run(isobox, iso, "--privileged", "--pids-limit", "50", script=WRITE)
    assert got["mount"] == "rw"
    assert got["write"] == "ok"
    assert got["pids"] == "7"


ONLY_OWN = """
echo "cgroup: $(cut -d: -f3 /proc/self/cgroup | sort -u | tr '\\n' ' ')"
echo "subdirs: $(find /sys/fs/cgroup/ -mindepth 1 -type d | \
  grep -v -E '^/sys/fs/cgroup/[^/]+$' | wc -l)"
v1=; [ -d /sys/fs/cgroup/memory ] && v1=1
echo "dirs: $(find /sys/fs/cgroup/ -mindepth 1 -maxdepth 1 -type d | sort | tr '\\n' ' ')"
p=/sys/fs/cgroup/cgroup.procs; [ -n "$v1" ] && p=/sys/fs/cgroup/memory/cgroup.procs
echo "procs: $(wc -l < $p)"
"""


@pytest.mark.parametrize("iso", ISOLATIONS)
def test_only_its_own_cgroup_is_visible(isobox, iso):
    got = run(isobox, iso, script=ONLY_OWN)
    # A cgroup namespace: every hierarchy's path is the namespace's root.
    assert got["cgroup"].split() == ["/"]
    # Nothing below the container's cgroup (no other container's, no host's).
    assert got["subdirs"] == "0"
    # Its processes only: sh and what runs the pipeline, not the host's.
    assert 1 <= int(got["procs"]) <= 5
    if expected_layout(iso) == "v1":
        # docker's set on this host: each of the host's v1 hierarchies under
        # /sys/fs/cgroup (not the hybrid host's unified one).
        names = got["dirs"].split()
        for want in ("memory", "cpu", "pids", "devices", "freezer"):
            assert f"/sys/fs/cgroup/{want}" in names
        assert "/sys/fs/cgroup/unified" not in names
    else:
        assert got["dirs"] == ""
