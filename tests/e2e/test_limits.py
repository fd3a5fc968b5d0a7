"""Resource limits: memory (OOM kill is 137 and OOMKilled), pids, cpus, ulimits."""
import json
import os

import pytest

from cgroups import cgroup_of, cgroup_v2, memory_limit_of



def test_memory_hog_is_oom_killed(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "-m", "16m", "busybox", "sh", "-c",
                     'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived').strip()
    r = isobox("start", "-a", cid, timeout=120)
    assert r.returncode == 137
    assert "survived" not in r.stdout
    [obj] = json.loads(isobox.out("inspect", cid))
    assert obj["State"]["OOMKilled"] is True
    assert obj["State"]["ExitCode"] == 137
    assert obj["HostConfig"]["Memory"] == 16 * 1024 * 1024
    isobox("rm", cid, check=True)


def test_within_memory_limit_runs(isobox, mode):
    r = isobox("run", "--rm", f"--isolation={mode}", "-m", "64m", "busybox", "sh", "-c",
               'x=$(head -c 1000000 /dev/zero | tr "\\0" a); echo ok')
    assert r.stdout == "ok\n"


FORKS = "i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); echo $i; done; kill $(jobs -p)"


def test_fork_bomb_stops_at_pids_limit(isobox, mode):
    r = isobox("run", "--rm", f"--isolation={mode}", "--pids-limit", "20", "busybox", "sh",
               "-c", FORKS)
    assert r.returncode != 0
    assert "can't fork" in r.stderr
    assert int(r.stdout.split()[-1]) < 20
    # The same without the limit forks all 50: the limit is what stopped it.
    r = isobox("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c", FORKS)
    assert r.stdout.split()[-1] == "50"


def test_cpus_gives_the_vm_its_vcpus(isobox, mode):
    # In a VM --cpus is its processor count (rounded up), as Windows does.
    r = isobox("run", "--rm", f"--isolation={mode}", "--cpus", "2", "busybox", "nproc")
    assert r.returncode == 0, r.stderr
    if mode == "hyperv":
        assert r.stdout == "2\n"
        # The VMM gets half a CPU on the host too: its boot takes twice as long.
        assert isobox.out("run", "--rm", f"--isolation={mode}", "--cpus", "0.5", "busybox",
                          "nproc", timeout=240) == "1\n"
    else:
        assert int(r.stdout) == os.cpu_count()


def container_cgroups(cid):
    """The directories isobox makes for a container: /sys/fs/cgroup/isobox/<id>
    on v2, /sys/fs/cgroup/<controller>/isobox/<id> for each controller on v1."""
    if cgroup_v2():
        return [f"/sys/fs/cgroup/isobox/{cid}"]
    return [f"/sys/fs/cgroup/{ctrl}/isobox/{cid}" for ctrl in ("memory", "pids", "cpu")]


def container_pid(isobox, cid):
    """The container's init, or its VMM in hyperv mode."""
    [obj] = json.loads(isobox.out("inspect", cid))
    assert obj["State"]["Running"] and obj["State"]["Pid"] > 0
    return obj["State"]["Pid"]


def test_cpus_sets_quota(isobox, mode):
    # In hyperv mode the VMM is held to the quota on the host: --cpus 0.5 is
    # half a CPU for the whole VM, not the whole vCPU it gets.
    cid = isobox.out("run", "-d", f"--isolation={mode}", "--cpus", "0.5", "busybox", "sleep", "30").strip()
    pid = container_pid(isobox, cid)
    d = cgroup_of(pid, "cpu")
    assert d == ("/sys/fs/cgroup" if cgroup_v2() else "/sys/fs/cgroup/cpu") + f"/isobox/{cid}"
    quota = open(f"{d}/cpu.max").read().split()[0] if cgroup_v2() else \
        open(f"{d}/cpu.cfs_quota_us").read().strip()
    assert quota == "50000"
    isobox("rm", "-f", cid, check=True)


def test_memory_is_bounded_on_the_host(isobox, mode):
    # The cgroup that holds the container's pid bounds its memory on the host:
    # in hyperv mode that pid is the VMM, bounded to the whole VM: its memory
    # (the limit plus the guest's 64 MiB, at least 128 MiB, else 256 MiB)
    # and the VMM's own 64 MiB, with or without -m.
    MiB = 1 << 20
    for flags, process_limit, vm_limit in ((["-m", "32m"], 32 * MiB, (128 + 64) * MiB),
                                           (["-m", "200m"], 200 * MiB, (264 + 64) * MiB),
                                           ([], None, (256 + 64) * MiB)):
        cid = isobox.out("run", "-d", f"--isolation={mode}", *flags, "busybox", "sleep",
                         "30").strip()
        limit = memory_limit_of(container_pid(isobox, cid))
        assert limit == (vm_limit if mode == "hyperv" else process_limit), flags
        isobox("rm", "-f", cid, check=True)


def test_ulimit(isobox, mode):
    r = isobox("run", "--rm", f"--isolation={mode}", "--ulimit", "nofile=512:1024", "busybox",
               "sh", "-c", "ulimit -n; ulimit -Hn")
    assert r.stdout.split() == ["512", "1024"]


def test_bad_limits_are_refused(isobox):
    for flags in (["-m", "lots"], ["-m", "1k"], ["--cpus", "-1"], ["--pids-limit", "x"],
                  ["--ulimit", "nofile"], ["--ulimit", "bogus=1"], ["--ulimit", "nofile=10:5"]):
        r = isobox("run", "--rm", *flags, "busybox", "true")
        assert r.returncode == 125, flags
        assert r.stderr.strip(), flags


def test_cgroups_are_removed_after_exit(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "-m", "32m", "busybox", "sleep",
                     "2").strip()
    # It was made (where this host's layout puts it) and holds the container ...
    for d in container_cgroups(cid):
        assert os.path.isdir(d), d
    assert cgroup_of(container_pid(isobox, cid), "memory") == container_cgroups(cid)[0]
    isobox("wait", cid, check=True, timeout=120)
    # ... and is gone once it exits.
    for d in container_cgroups(cid):
        assert not os.path.exists(d), d
    isobox("rm", cid, check=True)
