"""isobox-runtime takes runc 1.1's flags: exec's (--cwd, -e, -u, -g, --cap,
--no-new-privs, -d, --pid-file, -p, --preserve-fds), update's (every limit,
applied to the live cgroup, in a VM to the app's cgroup in the guest, and
kept for the next update), create's and run's (--preserve-fds, LISTEN_FDS,
a working directory made when missing) and spec --rootless. Each in both
isolation modes where a VM can have it, and refused in one clear line where
it cannot."""
import json
import os
import subprocess
import tempfile
import time

import pytest

from cgroups import cgroup_v2
from test_oci_runtime import (BOOT_WAIT, RUNTIME, bundle, cid, isobox_root, rt,  # noqa: F401
                              sh, wait_for)


def running(rt, bundle, name, args=("sleep", "300"), **process):
    """A running container of a bundle whose root any user may enter."""
    b = bundle(list(args), **process)
    os.chmod(f"{b}/rootfs", 0o755)
    r = rt("run", "--detach", "--bundle", b, cid(name))
    assert r.returncode == 0, r.stderr
    # In a VM, exec works once the guest has booted.
    assert wait_for(lambda: rt("exec", cid(name), "true").returncode == 0)
    return b


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].split()
    raise AssertionError(f"no {field} in {text!r}")


def test_exec_cwd_env(rt, bundle, mode):
    running(rt, bundle, "x1")
    r = rt("exec", "--cwd", "/etc", "-e", "FOO=bar", "--env", "PATH=/bin:/sbin", cid("x1"),
           "sh", "-c", "pwd; echo $FOO; env | grep ^PATH=")
    assert r.returncode == 0, r.stderr
    # -e replaces a variable the process had, as runc's does: one PATH
    assert r.stdout == "/etc\nbar\nPATH=/bin:/sbin\n"
    # without the flags, the container's own
    r = rt("exec", cid("x1"), "sh", "-c", "pwd; echo ${FOO:-unset}")
    assert (r.returncode, r.stdout) == (0, "/\nunset\n"), r.stderr
    # with -p the process comes from the file, and the flags do not apply (runc's)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as p:
        json.dump({"args": ["sh", "-c", "pwd; echo ${FOO:-unset}"], "cwd": "/",
                   "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}, p)
        p.flush()
        r = rt("exec", "-p", p.name, "--cwd", "/etc", "-e", "FOO=bar", cid("x1"), "ignored")
        assert (r.returncode, r.stdout) == (0, "/\nunset\n"), r.stderr
    r = rt("exec", "--cwd", "etc", cid("x1"), "true")
    assert r.returncode == 1 and "--cwd etc: an absolute path" in r.stderr


def test_exec_user_groups(rt, bundle, mode):
    running(rt, bundle, "x2")
    r = rt("exec", "-u", "1000:1001", "--additional-gids", "2000", "-g", "2001", cid("x2"),
           "sh", "-c", "id -u; id -g; cat /proc/self/status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["1000", "1001"], r.stdout
    assert {"2000", "2001"} <= set(status_field(r.stdout, "Groups")), r.stdout
    # a uid alone keeps the process's gid (the bundle's, 0)
    r = rt("exec", "--user", "1000", cid("x2"), "sh", "-c", "id -u; id -g")
    assert (r.returncode, r.stdout) == (0, "1000\n0\n"), r.stderr
    r = rt("exec", "-u", "bob", cid("x2"), "true")
    assert r.returncode == 1 and "--user takes UID[:GID]" in r.stderr


def test_exec_cap_no_new_privs(rt, bundle, mode):
    # the bundle's process without no_new_privs, so that the flag shows
    running(rt, bundle, "x3", noNewPrivileges=False)
    net_raw = 1 << 13
    r = rt("exec", cid("x3"), "cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    assert not int(status_field(r.stdout, "CapEff")[0], 16) & net_raw
    assert status_field(r.stdout, "NoNewPrivs") == ["0"]
    r = rt("exec", "--cap", "CAP_NET_RAW", "--no-new-privs", cid("x3"), "cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    # (not ambient: without the inheritable set the kernel drops it, as runc's does)
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status_field(r.stdout, field)[0], 16) & net_raw, (field, r.stdout)
    assert status_field(r.stdout, "NoNewPrivs") == ["1"]


def test_exec_detach_pid_file(rt, bundle, tmp_path, mode):
    running(rt, bundle, "x4")
    pid_file = tmp_path / "exec.pid"
    begin = time.monotonic()
    r = rt("exec", "-d", "--pid-file", str(pid_file), cid("x4"), "sh", "-c",
           "sleep 2; touch /dev/shm/done")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - begin < 30
    assert int(pid_file.read_text()) > 0
    assert wait_for(lambda: rt("exec", cid("x4"), "test", "-e", "/dev/shm/done").returncode == 0,
                    seconds=60)


def test_exec_preserve_fds(rt, bundle, tmp_path, mode):
    running(rt, bundle, "x5")
    (tmp_path / "three").write_text("fd three\n")
    (tmp_path / "four").write_text("fd four\n")

    def run(*args):
        return subprocess.run(
            ["sh", "-c", 'exec "$@" 3<"$T3" 4<"$T4"', "sh", *rt.cmd, *args],
            env=dict(os.environ, T3=str(tmp_path / "three"), T4=str(tmp_path / "four")),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BOOT_WAIT)
    r = run("exec", "--preserve-fds", "1", cid("x5"), "sh", "-c",
            "cat <&3; cat <&4 2>/dev/null || echo no fd four")
    if mode == "process":
        assert (r.returncode, r.stdout) == (0, "fd three\nno fd four\n"), r.stderr
    else:
        assert r.returncode == 1
        assert "--preserve-fds 1" in r.stderr and "runs in a VM" in r.stderr, r.stderr
    # without the flag no fd of the caller's is the process's
    r = run("exec", cid("x5"), "sh", "-c", "cat <&3 2>/dev/null || echo no fd three")
    assert (r.returncode, r.stdout) == (0, "no fd three\n"), r.stderr
    r = rt("exec", "--preserve-fds", "-1", cid("x5"), "true")
    assert r.returncode == 1 and "a number of fds" in r.stderr


def test_exec_help():
    out = sh(RUNTIME, "exec", "--help").stdout
    for flag in ("--cwd", "--env", "--user", "--additional-gids", "--cap", "--no-new-privs",
                 "--tty", "--detach", "--pid-file", "--process", "--preserve-fds",
                 "--console-socket"):
        assert flag in out, flag


def cgroup_file(name, controller, file):
    """A file of the container's cgroup on the host (v1: controller's hierarchy)."""
    path = f"isobox/{cid(name)}"
    d = f"/sys/fs/cgroup/{path}" if cgroup_v2() else f"/sys/fs/cgroup/{controller}/{path}"
    return open(f"{d}/{file}").read().strip()


@pytest.mark.process_only("the host's cgroup files of a process container; the VM's limits "
                          "are checked inside its guest by test_update_in_a_vm")
def test_update_process(rt, bundle):
    running(rt, bundle, "u1")
    r = rt("update", "--memory", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
           "--cpu-share", "512", "--cpu-quota", "50000", "--cpu-period", "100000",
           "--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "50", cid("u1"))
    assert r.returncode == 0, r.stderr
    if cgroup_v2():
        assert cgroup_file("u1", "", "memory.max") == str(64 << 20)
        assert cgroup_file("u1", "", "memory.swap.max") == str(64 << 20)
        assert cgroup_file("u1", "", "memory.low") == str(32 << 20)
        assert cgroup_file("u1", "", "cpu.max") == "50000 100000"
        assert cgroup_file("u1", "", "cpuset.cpus") == "0"
    else:
        assert cgroup_file("u1", "memory", "memory.limit_in_bytes") == str(64 << 20)
        assert cgroup_file("u1", "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
        assert cgroup_file("u1", "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
        assert cgroup_file("u1", "cpu", "cpu.shares") == "512"
        assert cgroup_file("u1", "cpu", "cpu.cfs_quota_us") == "50000"
        # a container created without cpuset limits joins a cpuset cgroup
        assert cgroup_file("u1", "cpuset", "cpuset.cpus") == "0"
        pid = json.loads(rt("state", cid("u1")).stdout)["pid"]
        assert f"cpuset:/isobox/{cid('u1')}" in open(f"/proc/{pid}/cgroup").read()
        r = rt("update", "--cpu-rt-period", "900000", cid("u1"))
        assert r.returncode == 0, r.stderr
        assert cgroup_file("u1", "cpu", "cpu.rt_period_us") == "900000"
    assert cgroup_file("u1", "pids", "pids.max") == "50"
    # the next update starts from this one's: raising memory raises swap first
    r = rt("update", "--memory", "96m", "--memory-swap", "192m", cid("u1"))
    assert r.returncode == 0, r.stderr
    r = rt("update", "--pids-limit", "60", cid("u1"))
    assert r.returncode == 0, r.stderr
    memory = ("", "memory.max") if cgroup_v2() else ("memory", "memory.limit_in_bytes")
    assert cgroup_file("u1", *memory) == str(96 << 20)
    assert cgroup_file("u1", "pids", "pids.max") == "60"
    # -r: linux.resources as JSON, from stdin
    r = rt("update", "-r", "-", cid("u1"), input=json.dumps({"pids": {"limit": 70}}))
    assert r.returncode == 0, r.stderr
    assert cgroup_file("u1", "pids", "pids.max") == "70"
    r = rt("update", "--pids-limit", "-1", cid("u1"))
    assert cgroup_file("u1", "pids", "pids.max") == "max"
    # the limit holds inside: a fork beyond it fails
    rt("update", "--pids-limit", "3", cid("u1"))
    r = rt("exec", cid("u1"), "sh", "-c", "sleep 5 & sleep 5 & sleep 5 & wait")
    assert r.returncode != 0 and "fork" in r.stderr.lower(), (r.returncode, r.stderr)
    r = rt("update", "--memory", "32m", "--memory-swap", "16m", cid("u1"))
    assert r.returncode == 1 and "memory+swap 16777216: it must be at least" in r.stderr
    r = rt("update", "--memory", "lots", cid("u1"))
    assert r.returncode == 1 and "memory.limit lots" in r.stderr


def test_update_in_a_vm(rt, bundle, mode):
    """Both modes: the limits hold for the container's processes (in a VM, the
    app's cgroup in its guest); what a VM cannot honour is refused."""
    running(rt, bundle, "u2")
    r = rt("update", "--memory", "64m", "--pids-limit", "3", "--cpu-quota", "50000",
           "--cpu-period", "100000", "--cpu-share", "512", "--cpuset-cpus", "0", cid("u2"))
    assert r.returncode == 0, r.stderr
    r = rt("exec", cid("u2"), "sh", "-c", "sleep 5 & sleep 5 & sleep 5 & wait")
    assert r.returncode != 0 and "fork" in r.stderr.lower(), (r.returncode, r.stderr)
    # kept: a later update of another limit leaves this one
    r = rt("update", "--memory", "48m", cid("u2"))
    assert r.returncode == 0, r.stderr
    r = rt("exec", cid("u2"), "sh", "-c", "sleep 5 & sleep 5 & sleep 5 & wait")
    assert r.returncode != 0 and "fork" in r.stderr.lower(), (r.returncode, r.stderr)
    r = rt("update", "--pids-limit", "100", cid("u2"))
    assert r.returncode == 0, r.stderr
    r = rt("exec", cid("u2"), "sh", "-c", "sleep 1 & sleep 1 & sleep 1 & wait")
    assert r.returncode == 0, r.stderr
    if mode == "hyperv":
        r = rt("update", "--memory", "100g", cid("u2"))
        assert r.returncode == 1 and "memory 107374182400 bytes is above the VM's RAM" in r.stderr
        r = rt("update", "--cpuset-cpus", "0-7", cid("u2"))
        assert r.returncode == 1 and "CPU 7 is beyond the VM's 1 vCPU" in r.stderr, r.stderr
        r = rt("update", "--cpu-rt-runtime", "1000", cid("u2"))
        assert r.returncode == 1 and "realtimeRuntime 1000: a VM's guest" in r.stderr
        r = rt("update", "--blkio-weight", "500", cid("u2"))
        assert r.returncode == 1 and "blockIO.weight 500" in r.stderr
        # a refused update leaves the limits as they were
        r = rt("exec", cid("u2"), "sh", "-c", "sleep 1 & sleep 1 & sleep 1 & wait")
        assert r.returncode == 0, r.stderr


def test_update_help():
    out = sh(RUNTIME, "update", "--help").stdout
    for flag in ("--memory", "--memory-swap", "--memory-reservation", "--kernel-memory",
                 "--cpu-share", "--cpu-quota", "--cpu-period", "--cpu-rt-period",
                 "--cpu-rt-runtime", "--cpuset-cpus", "--cpuset-mems", "--pids-limit",
                 "--blkio-weight", "--resources"):
        assert flag in out, flag


def test_missing_cwd_is_created(rt, bundle, mode):
    """As runc does, even under a read-only root (the spec's default)."""
    b = bundle(["pwd"], cwd="/new/work/dir")
    assert json.load(open(f"{b}/config.json"))["root"]["readonly"] is True
    r = rt("run", "--bundle", b, cid("w1"), timeout=BOOT_WAIT)
    assert (r.returncode, r.stdout) == (0, "/new/work/dir\n"), r.stderr


def test_preserve_fds_and_listen_fds(rt, bundle, tmp_path, mode):
    """systemd's socket activation as runc passes it: LISTEN_FDS fds first,
    then --preserve-fds more; LISTEN_PID is the app's own pid, 1."""
    b = bundle(["sh", "-c", "echo pid $$; env | grep ^LISTEN_ | sort; cat <&3; cat <&4; "
                "cat <&5 2>/dev/null || echo no fd five"])
    (tmp_path / "three").write_text("socket\n")
    (tmp_path / "four").write_text("preserved\n")
    r = subprocess.run(
        ["sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=$$ exec "$@" 3<"$T3" 4<"$T4" 5<"$T4"', "sh",
         *rt.cmd, "run", "--preserve-fds", "1", "--bundle", b, cid("l1")],
        env=dict(os.environ, T3=str(tmp_path / "three"), T4=str(tmp_path / "four")),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BOOT_WAIT)
    if mode == "process":
        assert r.returncode == 0, r.stderr
        assert r.stdout == ("pid 1\nLISTEN_FDS=1\nLISTEN_PID=1\nsocket\npreserved\n"
                            "no fd five\n"), r.stdout
    else:
        assert r.returncode == 1
        assert "LISTEN_FDS 1: hyperv isolation cannot pass the host's fds" in r.stderr, r.stderr
        r = subprocess.run([*rt.cmd, "run", "--preserve-fds", "2", "--bundle", b, cid("l2")],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=BOOT_WAIT)
        assert r.returncode == 1
        assert "--preserve-fds 2: hyperv isolation cannot pass" in r.stderr, r.stderr
    # LISTEN_FDS meant for another process (its LISTEN_PID) is not ours to pass
    r = subprocess.run(
        ["sh", "-c", 'LISTEN_FDS=1 LISTEN_PID=1 exec "$@" 3<"$T3"', "sh", *rt.cmd, "run",
         "--bundle", bundle(["sh", "-c", "env | grep -c ^LISTEN_ || true"]), cid("l3")],
        env=dict(os.environ, T3=str(tmp_path / "three")), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=BOOT_WAIT)
    assert (r.returncode, r.stdout) == (0, "0\n"), r.stderr


def test_create_help():
    for cmd in ("create", "run"):
        out = sh(RUNTIME, cmd, "--help").stdout
        for flag in ("--bundle", "--pid-file", "--console-socket", "--preserve-fds",
                     "LISTEN_FDS"):
            assert flag in out, (cmd, flag)
    assert "--detach" in sh(RUNTIME, "run", "--help").stdout


def test_spec_rootless(tmp_path):
    r = sh(RUNTIME, "spec", "--rootless", "--bundle", str(tmp_path))
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "config.json").read_text())
    linux = cfg["linux"]
    types = [n["type"] for n in linux["namespaces"]]
    assert "user" in types and "network" not in types and "mount" in types
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    assert "resources" not in linux
    sys_mount = next(m for m in cfg["mounts"] if m["destination"] == "/sys")
    assert sys_mount["source"] == "/sys" and "rbind" in sys_mount["options"]
    assert not any(o.startswith("gid=") for m in cfg["mounts"] for o in m.get("options", []))
    # as runc's own, where runc is here
    if os.path.exists("/usr/bin/runc"):
        d = tmp_path / "runc"
        d.mkdir()
        subprocess.run(["/usr/bin/runc", "spec", "--rootless"], cwd=d, check=True)
        theirs = json.loads((d / "config.json").read_text())["linux"]
        assert linux["uidMappings"] == theirs["uidMappings"]
        assert linux["gidMappings"] == theirs["gidMappings"]
        assert ({n["type"] for n in theirs["namespaces"]} - {"cgroup"} ==
                set(types) - {"cgroup"})


def test_run_a_rootless_bundle(rt, bundle, tmp_path, mode):
    b = bundle(["sh", "-c", "id -u; readlink /proc/self/ns/user"])
    os.remove(f"{b}/config.json")
    r = sh(RUNTIME, "spec", "--rootless", "--bundle", b)
    assert r.returncode == 0, r.stderr
    cfg = json.loads(open(f"{b}/config.json").read())
    cfg["process"].update(terminal=False, args=["sh", "-c", "id -u; readlink /proc/self/ns/user"])
    cfg["annotations"] = {"io.isobox.isolation": mode}
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    r = rt("run", "--bundle", b, cid("r1"), timeout=BOOT_WAIT)
    if mode == "process":
        assert r.returncode == 0, r.stderr
        uid, ns = r.stdout.split()
        assert uid == "0" and ns != os.readlink("/proc/self/ns/user"), r.stdout
    else:
        # refused in one line: the rootless spec shares the host's network
        # namespace and asks for a user namespace, neither of which a VM has
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert ("user namespace" in r.stderr or
                "cannot share the host's namespaces" in r.stderr), r.stderr
