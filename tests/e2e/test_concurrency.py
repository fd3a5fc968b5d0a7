"""Many commands at once leave nothing behind: no stray file, mount, cgroup or process."""
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from cgroups import cgroup_dirs, controllers, procs


def mounts():
    return open("/proc/self/mountinfo").read()


def running_in_its_cgroup(cid, pid):
    """A process container's cgroup, isobox/<id>, exists (memory, pids and cpu
    at least) and holds its init."""
    dirs = cgroup_dirs(f"isobox/{cid}")
    assert dirs and {"memory", "pids", "cpu"} <= controllers(dirs), dirs
    for d in dirs:
        assert pid in procs(d), d


@pytest.mark.process_only("20 VMs of 256 MiB need 6 GiB and minutes of TCG in the 2 GiB test host: time and the test host, not a VM limit; test_both_modes_side_by_side runs 3 VMs at once")
def test_20_run_d_then_rm_f_at_once(fresh, rootfs_tar, mode):
    fresh("import", rootfs_tar, "busybox", check=True)
    with ThreadPoolExecutor(20) as pool:
        runs = list(pool.map(lambda i: fresh("run", "-d", f"--isolation={mode}", "--name", f"c{i}",
                                             "busybox", "sleep", "300"), range(20)))
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs if r.returncode]
    ids = [r.stdout.strip() for r in runs]
    assert len(set(ids)) == 20
    assert len(fresh.out("ps", "-q").split()) == 20
    pids = [int(fresh.out("inspect", "-f", "{{.State.Pid}}", i).strip()) for i in ids]
    for cid, pid in zip(ids, pids):
        running_in_its_cgroup(cid, pid)
    with ThreadPoolExecutor(20) as pool:
        rms = list(pool.map(lambda i: fresh("rm", "-f", i), ids))
    assert all(r.returncode == 0 for r in rms), [r.stderr for r in rms if r.returncode]
    assert fresh.out("ps", "-aq") == ""
    assert os.listdir(os.path.join(fresh.root, "containers")) == []
    assert os.listdir(os.path.join(fresh.root, "names")) == []
    for cid in ids:
        assert cid not in mounts()
        assert cgroup_dirs(f"isobox/{cid}") == []
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert fresh.root not in out


def test_same_name_at_once_only_one_wins(fresh, rootfs_tar):
    fresh("import", rootfs_tar, "busybox", check=True)
    with ThreadPoolExecutor(8) as pool:
        rs = list(pool.map(lambda i: fresh("create", "--name", "dup", "busybox", "true"), range(8)))
    assert sum(r.returncode == 0 for r in rs) == 1
    assert all("already in use" in r.stderr for r in rs if r.returncode)
    assert len(fresh.out("ps", "-aq").split()) == 1


def test_both_modes_side_by_side(fresh, rootfs_tar, mode):
    # Containers of this run's mode and process ones, started and removed at once.
    fresh("import", rootfs_tar, "busybox", check=True)
    modes = [mode] * 3 + ["process"] * 3
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda m: fresh("run", "-d", f"--isolation={m}", "busybox",
                                             "sleep", "300", timeout=120), modes))
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs if r.returncode]
    ids = [r.stdout.strip() for r in runs]
    assert sorted(fresh.out("ps", "-q").split()) == sorted(i[:12] for i in ids)
    for cid, m in zip(ids, modes):
        assert fresh.out("inspect", "-f", "{{.HostConfig.Isolation}}", cid) == m + "\n"
        assert fresh.out("exec", cid, "hostname") == cid[:12] + "\n"
        if m == "process":    # (a VM's VMM has no cgroup of isobox/<id>: isobox run makes none)
            running_in_its_cgroup(cid, int(fresh.out("inspect", "-f", "{{.State.Pid}}", cid)))
    with ThreadPoolExecutor(6) as pool:
        rms = list(pool.map(lambda i: fresh("rm", "-f", i), ids))
    assert all(r.returncode == 0 for r in rms), [r.stderr for r in rms if r.returncode]
    assert fresh.out("ps", "-aq") == ""
    assert os.listdir(os.path.join(fresh.root, "containers")) == []
    assert [cgroup_dirs(f"isobox/{cid}") for cid in ids] == [[]] * len(ids)
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert fresh.root not in out
