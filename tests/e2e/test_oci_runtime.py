"""isobox-runtime: runc's command line, driven directly, by podman (conmon)
and by containerd (the runc shim), in process isolation. Each engine keeps
its state in a temporary directory of its own."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pexpect
import pytest

from cgroups import cgroup_dirs, cgroup_of, cgroup_v2, memory_limit_of
from conftest import REPO, RUN_MODE, new_root

RUNTIME = os.path.join(REPO, "build", "isobox-runtime")
# This machine's root lacks CAP_SYS_RESOURCE: podman's default rlimits fail under runc too.
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def sh(*args, timeout=60, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)


def sh_detached(*args, timeout=60):
    """For create and run --detach: the container keeps the stdio it is given,
    so it gets files, not the pipes capture_output would wait on."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        r = subprocess.run(list(args), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                           text=True, timeout=timeout)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(r.args, r.returncode, out.read(), err.read())


# Container ids end in this run's tag: a container's cgroup (isobox/<id> by
# default) and containerd's shim state (/run/containerd/runc/<ns>/<id>) are
# the host's, shared by every run at once on it.
TAG = uuid.uuid4().hex[:6]


def cid(name):
    return f"{name}-{TAG}"


# A VM's boot under the test host's TCG takes seconds: wait up to this long.
BOOT_WAIT = 180


@pytest.fixture(scope="module")
def isobox_root():
    """isobox's root for hyperv bundles (the guest kernels; EROFS disks)."""
    root = new_root("isobox-rt-")
    os.environ["ISOBOX_ROOT"] = root
    yield root
    del os.environ["ISOBOX_ROOT"]
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def rt(tmp_path, isobox_root):
    """isobox-runtime with its own --root and --log (JSON)."""
    root, log = tmp_path / "root", tmp_path / "log.json"

    def run(*args, **kw):
        detached = args[0] == "create" or (args[0] == "run" and "--detach" in args)
        return (sh_detached if detached else sh)(
            RUNTIME, "--root", str(root), "--log", str(log), "--log-format", "json", *args,
            **kw)
    run.log = log
    run.cmd = [RUNTIME, "--root", str(root), "--log", str(log), "--log-format", "json"]
    yield run
    for c in json.loads(run("list", "--format", "json").stdout or "[]"):
        run("delete", "--force", c["id"])


def wait_for(check, seconds=BOOT_WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.fixture
def bundle(tmp_path, rootfs_tar, request):
    """bundle(args, **process): a bundle of the busybox rootfs and `spec`'s config,
    in the test's isolation mode (the annotation io.isobox.isolation)."""
    mode = request.getfixturevalue("mode") if "mode" in request.fixturenames else RUN_MODE

    def make(args, **process):
        b = tmp_path / f"bundle-{len(list(tmp_path.iterdir()))}"
        (b / "rootfs").mkdir(parents=True)
        subprocess.run(["tar", "-C", str(b / "rootfs"), "-xf", rootfs_tar], check=True)
        r = sh(RUNTIME, "spec", "--bundle", str(b))
        assert r.returncode == 0, r.stderr
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"].update(terminal=False, args=args, **process)
        cfg["annotations"] = {"io.isobox.isolation": mode}
        (b / "config.json").write_text(json.dumps(cfg))
        return str(b)
    return make


def test_spec_writes_a_config_once(tmp_path):
    r = sh(RUNTIME, "spec", "--bundle", str(tmp_path))
    assert r.returncode == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["root"]["path"] == "rootfs" and cfg["process"]["args"] == ["sh"]
    r = sh(RUNTIME, "spec", "--bundle", str(tmp_path))
    assert r.returncode == 1 and "exists. Remove it first" in r.stderr


def test_features(tmp_path):
    f = json.loads(sh(RUNTIME, "features").stdout)
    assert f["ociVersionMin"] == "1.0.0" and "pid" in f["linux"]["namespaces"]
    assert f["annotations"]["io.isobox.isolation"] == "process"


def test_create_start_state_kill_delete(rt, bundle, tmp_path, mode):
    # The app says when it runs, in its kernel's uptime (a VM's: since its boot).
    b = bundle(["sh", "-c", "echo started $(cut -d' ' -f1 /proc/uptime); trap 'exit 7' TERM; "
                "while :; do sleep 0.1; done"])
    pid_file, out = tmp_path / "pid", tmp_path / "out"
    with open(out, "w") as f:
        r = subprocess.run([*rt.cmd, "create", "--bundle", b, "--pid-file", str(pid_file),
                            cid("c1")], stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                           timeout=BOOT_WAIT)
    assert r.returncode == 0, out.read_text()
    st = json.loads(rt("state", cid("c1")).stdout)
    assert st["status"] == "created" and st["id"] == cid("c1") and st["bundle"] == b
    assert st["pid"] == int(pid_file.read_text()) > 0
    assert st["rootfs"] == f"{b}/rootfs" and st["ociVersion"] and st["created"]
    # the bundle's annotations, as they are: nothing isobox added for the VM
    assert st["annotations"] == {"io.isobox.isolation": mode}
    created = time.monotonic()
    # Created: the process exists but has not run the app yet.
    time.sleep(2)
    assert out.read_text() == ""
    begin = time.monotonic()
    assert rt("start", cid("c1")).returncode == 0
    assert wait_for(lambda: out.read_text().startswith("started ")), out.read_text()
    seen = time.monotonic()
    assert out.read_text().endswith("\n") and len(out.read_text().split()) == 2, out.read_text()
    if mode == "process":
        # no boot: start only lets the waiting process go
        assert seen - begin < 10
    else:
        # create booted the VM, whose guest held the app: start only let it
        # go. Measured by the guest's own clock, however slow the boot (TCG):
        # booted by create, the guest was up for all the time since create
        # returned; booted by start, for 2 s (the sleep) less than that.
        uptime = float(out.read_text().split()[1])
        assert uptime > seen - created - 1, (uptime, seen - created)
    assert json.loads(rt("state", cid("c1")).stdout)["status"] == "running"
    assert cid("c1") in rt("list", "-q").stdout.split()
    r = rt("start", cid("c1"))
    assert r.returncode == 1 and "cannot start a container that is running" in r.stderr
    r = rt("delete", cid("c1"))
    assert r.returncode == 1 and "that is not stopped: running" in r.stderr
    assert rt("kill", cid("c1"), "TERM").returncode == 0
    assert wait_for(lambda: json.loads(rt("state", cid("c1")).stdout)["status"] == "stopped")
    st = json.loads(rt("state", cid("c1")).stdout)
    assert st["status"] == "stopped" and st["pid"] == 0
    r = rt("kill", cid("c1"), "KILL")
    assert r.returncode == 1 and "is not running" in r.stderr
    assert rt("delete", cid("c1")).returncode == 0
    r = rt("state", cid("c1"))
    assert r.returncode == 1 and f"container {cid('c1')} does not exist" in r.stderr
    # Errors reach the --log file as JSON lines in runc's shape.
    last = json.loads(rt.log.read_text().splitlines()[-1])
    assert last["level"] == "error" and last["msg"] == f"container {cid('c1')} does not exist"
    assert last["time"]


def test_kill_before_start(rt, bundle, tmp_path, mode):
    """A created container that is killed stops without running its app."""
    b = bundle(["sh", "-c", "echo started"])
    out = tmp_path / "out"
    with open(out, "w") as f:
        r = subprocess.run([*rt.cmd, "create", "--bundle", b, cid("k1")], stdin=subprocess.DEVNULL,
                           stdout=f, stderr=f, timeout=BOOT_WAIT)
    assert r.returncode == 0, out.read_text()
    assert rt("kill", cid("k1"), "TERM").returncode == 0
    assert wait_for(lambda: json.loads(rt("state", cid("k1")).stdout)["status"] == "stopped")
    r = rt("start", cid("k1"))
    assert r.returncode == 1 and "cannot start a container that is stopped" in r.stderr
    assert "started" not in out.read_text()
    assert rt("delete", cid("k1")).returncode == 0


def test_default_mounts_in_order(rt, bundle, mode):
    """config.json's mounts, with their sources, in its order: in a VM too."""
    r = rt("run", "--bundle", bundle(["cat", "/proc/self/mounts"]), cid("m1"), timeout=BOOT_WAIT)
    assert r.returncode == 0, r.stderr
    mounts = [line.split()[:3] for line in r.stdout.splitlines()]
    where = {m[1]: i for i, m in reversed(list(enumerate(mounts)))}
    order = ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]
    assert all(p in where for p in order), mounts
    assert [where[p] for p in order] == sorted(where[p] for p in order), mounts
    assert mounts[where["/dev/shm"]][0::2] == ["shm", "tmpfs"]


def test_run_in_the_foreground(rt, bundle, mode):
    r = rt("run", "--bundle", bundle(["sh", "-c", "echo out; echo err >&2; exit 3"]), cid("r1"),
           timeout=BOOT_WAIT)
    assert r.returncode == 3 and r.stdout == "out\n" and r.stderr == "err\n", r.stderr
    assert rt("list", "-q").stdout.split() == []       # run deletes it after
    r = rt("run", "--bundle", bundle(["no-such-program"]), cid("r2"), timeout=BOOT_WAIT)
    if mode == "process":    # runc's create finds it missing, before anything runs
        assert r.returncode == 1 and r.stderr == ('isobox-runtime: exec: "no-such-program": '
                                                  'executable file not found in $PATH\n')
    else:                    # in a VM the guest finds it missing: docker's 127
        assert r.returncode == 127 and r.stderr == ('isobox: exec: "no-such-program": '
                                                    'executable file not found in $PATH\n')


def test_bind_mounts_of_the_bundle(rt, bundle, mode, tmp_path):
    """config.json's binds, of a directory and of a single file, read-write
    and read-only: in a VM over virtio-fs, with the same results."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "in").write_text("from the host\n")
    (tmp_path / "one").write_text("one file\n")
    b = bundle(["sh", "-c", "cat /data/in /etc/one; echo out > /data/out; "
                            "echo x > /etc/one || echo ro-refused"])

    def binds(cfg):
        cfg["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(host),
             "options": ["rbind", "rw"]},
            {"destination": "/etc/one", "type": "bind", "source": str(tmp_path / "one"),
             "options": ["bind", "ro"]}]
    edit(b, binds)
    r = rt("run", "--bundle", b, cid("bind"), timeout=BOOT_WAIT)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from the host\none file\nro-refused\n"
    assert (host / "out").read_text() == "out\n"
    assert (tmp_path / "one").read_text() == "one file\n"


def test_bad_input(rt, bundle, tmp_path):
    b = bundle(["true"])
    r = rt("create", "--bundle", b, "../escape")
    assert r.returncode == 1 and "invalid container id" in r.stderr
    r = rt("create", "--bundle", str(tmp_path / "none"), "x")
    assert r.returncode == 1 and "bundle" in r.stderr
    assert rt("create", "--bundle", b, cid("dup")).returncode == 0
    r = rt("create", "--bundle", b, cid("dup"))
    assert r.returncode == 1 and f"container with id exists: {cid('dup')}" in r.stderr
    cfg = json.loads(open(f"{b}/config.json").read())
    cfg["process"]["terminal"] = True
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    r = rt("create", "--bundle", b, cid("tty"))
    assert r.returncode == 1 and "--console-socket" in r.stderr
    open(f"{b}/config.json", "w").write("{not json")
    r = rt("create", "--bundle", b, cid("broken"))
    assert r.returncode == 1 and "config.json" in r.stderr
    r = rt("frobnicate")
    assert r.returncode == 1 and "not an isobox-runtime command" in r.stderr
    assert rt("delete", "--force", cid("never-was")).returncode == 0
    # What a create killed midway leaves (its directory and FIFO) does not keep the id.
    root = rt.cmd[rt.cmd.index("--root") + 1]
    os.makedirs(f"{root}/{cid('half')}")
    os.mkfifo(f"{root}/{cid('half')}/exec.fifo")
    assert rt("delete", "--force", cid("half")).returncode == 0
    assert not os.path.exists(f"{root}/{cid('half')}")
    assert rt("create", "--bundle", bundle(["true"]), cid("half")).returncode == 0


def test_exec(rt, bundle, tmp_path, mode):
    b = bundle(["sleep", "300"])
    assert rt("run", "--detach", "--bundle", b, cid("e1")).returncode == 0
    # In a VM, exec works once the guest has booted.
    assert wait_for(lambda: rt("exec", cid("e1"), "true").returncode == 0)
    r = rt("exec", cid("e1"), "sh", "-c", "echo $((6*7)); exit 4")
    assert r.returncode == 4 and r.stdout == "42\n", r.stderr
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "echo $GREETING from $(pwd)"],
                                "env": ["GREETING=hello", "PATH=/bin"], "cwd": "/etc",
                                "user": {"uid": 0, "gid": 0}}))
    r = rt("exec", "--process", str(proc), cid("e1"))
    assert r.returncode == 0 and r.stdout == "hello from /etc\n", r.stderr
    r = rt("exec", cid("e1"), "no-such-program")
    if mode == "process":    # runc's: the runtime finds it missing, before anything runs
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        assert r.stderr == ('isobox-runtime: exec: "no-such-program": executable file not '
                            'found in $PATH\n')
    else:                    # in a VM the guest finds it missing: docker's 127
        assert (r.returncode, r.stdout) == (127, ""), r.stderr
        assert r.stderr == 'isobox: exec: "no-such-program": executable file not found in $PATH\n'
    assert rt("delete", "--force", cid("e1")).returncode == 0


@pytest.fixture(scope="module")
def podman(rootfs_tar, tmp_path_factory, isobox_root):
    """podman with private storage (vfs) and isobox-runtime, and the busybox image.
    conmon passes the runtime only the environment containers.conf names: so
    ISOBOX_ROOT (where the guest kernels are) is named there."""
    d = tmp_path_factory.mktemp("podman")
    conf = d / "containers.conf"
    conf.write_text('[engine]\nconmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:'
                    f'/usr/sbin:/usr/bin:/sbin:/bin", "ISOBOX_ROOT={isobox_root}"]\n')
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    base = ["podman", "--root", str(d / "root"), "--runroot", str(d / "run"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend",
            "file", "--tmpdir", str(d / "tmp")]
    assert shutil.which("podman"), "podman is missing: scripts/install-deps.sh installs it"
    r = sh(*base, "import", rootfs_tar, "localhost/busybox:latest", env=env)
    assert r.returncode == 0, r.stderr

    def run(*args, **kw):
        return sh(*base, *args, env=env, **kw)
    run.env = env
    run.base = base
    yield run
    sh(*base, "rm", "-a", "-f")


def podman_run(podman, mode, *args, **kw):
    return podman("run", "--runtime", RUNTIME, "--network", "none", *ULIMITS,
                  "--annotation", f"io.isobox.isolation={mode}", *args,
                  timeout=BOOT_WAIT, **kw)


def test_podman_run_rm_exit_code(podman, mode):
    r = podman_run(podman, mode, "--rm", "busybox", "sh", "-c", "echo hi; exit 5")
    assert r.returncode == 5 and r.stdout == "hi\n", r.stderr
    r = podman_run(podman, mode, "--rm", "busybox", "no-such-program")
    assert r.returncode == 127 and "no-such-program" in r.stderr


def test_podman_detach_exec_logs_stop(podman, mode):
    r = podman_run(podman, mode, "-d", "busybox", "sh", "-c",
                   "echo up; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert wait_for(lambda: "up" in podman("logs", cid).stdout)
    r = podman("exec", cid, "sh", "-c", "echo in-exec; exit 4")
    assert r.returncode == 4 and r.stdout == "in-exec\n"
    assert podman("stop", "-t", "10", cid).returncode == 0
    assert podman("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip() == "0"
    assert podman("logs", cid).stdout == "up\nbye\n"
    assert podman("rm", cid).returncode == 0


def podman_shell(podman, *args, **kw):
    """podman ARGS (ending in a shell) on a pty, at its first prompt."""
    cmd = [*podman.base, *args]
    c = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", timeout=BOOT_WAIT, env=podman.env,
                      **kw)
    c.expect("# ")
    return c


def shell_exit(c, code):
    c.sendline(f"exit {code}")
    c.expect(pexpect.EOF)
    c.close()
    return c.exitstatus


def test_podman_tty(podman, mode):
    c = podman_shell(podman, "run", "--rm", "-it", "--runtime", RUNTIME, "--network", "none",
                     *ULIMITS, "--annotation", f"io.isobox.isolation={mode}", "busybox", "sh")
    c.sendline("tty; echo $((6*7))")
    c.expect("/dev/pts/0")
    c.expect("42")
    assert shell_exit(c, 9) == 9


def test_podman_exec_tty(podman, mode):
    """podman exec -it: conmon's console socket gets the session's terminal."""
    name = f"pe-{mode}"
    r = podman_run(podman, mode, "-d", "--name", name, "busybox", "sleep", "300")
    assert r.returncode == 0, r.stderr
    c = podman_shell(podman, "exec", "-it", name, "sh", dimensions=(33, 101))
    c.sendline("tty; stty size; echo $((6*7))")
    c.expect("/dev/pts/")
    c.expect("33 101")
    c.expect("42")
    assert shell_exit(c, 3) == 3
    assert podman("rm", "-f", "-t", "0", name).returncode == 0


@pytest.fixture(scope="module")
def containerd(podman, tmp_path_factory, isobox_root):
    """containerd on a private socket and state dir, with the busybox image."""
    d = tmp_path_factory.mktemp("containerd")
    conf = d / "config.toml"
    conf.write_text(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
                    f'[grpc]\n  address = "{d}/containerd.sock"\n')
    assert shutil.which("containerd"), "containerd is missing: install-deps.sh installs it"
    daemon = subprocess.Popen(["containerd", "--config", str(conf)],
                              stdout=subprocess.DEVNULL, stderr=open(d / "log", "w"))
    ctr = ["ctr", "--address", f"{d}/containerd.sock"]
    for _ in range(100):
        if sh(*ctr, "version").returncode == 0:
            break
        time.sleep(0.1)
    archive = d / "busybox.tar"
    r = podman("save", "--format", "docker-archive", "-o", str(archive),
               "localhost/busybox:latest")
    assert r.returncode == 0, r.stderr
    r = sh(*ctr, "images", "import", str(archive))
    assert r.returncode == 0, r.stderr

    def run(*args, **kw):
        return sh(*ctr, *args, **kw)
    yield run
    daemon.terminate()
    daemon.wait(timeout=30)


def test_containerd_run_exec_kill(containerd, mode):
    # The runc shim's BinaryName: in hyperv mode the name that defaults to it.
    binary = RUNTIME + ("-hyperv" if mode == "hyperv" else "")
    ann = ["--runtime", "io.containerd.runc.v2", "--runc-binary", binary]
    r = containerd("run", "--rm", *ann, "localhost/busybox:latest", cid("c1"),
                   "sh", "-c", "echo hi; exit 6", timeout=BOOT_WAIT)
    assert r.returncode == 6 and r.stdout == "hi\n", r.stderr
    r = containerd("run", "-d", *ann, "localhost/busybox:latest", cid("c2"),
                   "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: containerd("task", "exec", "--exec-id", cid("probe"), cid("c2"),
                                       "true").returncode == 0)
    r = containerd("task", "exec", "--exec-id", cid("e1"), cid("c2"), "sh", "-c", "echo in; exit 3")
    assert r.returncode == 3 and r.stdout == "in\n"
    assert containerd("task", "kill", cid("c2")).returncode == 0
    assert wait_for(lambda: "STOPPED" in containerd("task", "ls").stdout)
    assert containerd("task", "rm", cid("c2")).returncode == 0
    assert containerd("container", "rm", cid("c2")).returncode == 0


def test_ps_pause_resume_update(rt, bundle, mode):
    assert rt("run", "--detach", "--bundle", bundle(["sleep", "300"]), cid("p1")).returncode == 0
    assert wait_for(lambda: rt("exec", cid("p1"), "true").returncode == 0)
    pid = json.loads(rt("state", cid("p1")).stdout)["pid"]
    assert pid in json.loads(rt("ps", "--format", "json", cid("p1")).stdout)
    table = rt("ps", cid("p1")).stdout.splitlines()
    assert table[0].split()[:2] == ["UID", "PID"] and str(pid) in " ".join(table[1:])
    assert rt("pause", cid("p1")).returncode == 0
    assert json.loads(rt("state", cid("p1")).stdout)["status"] == "paused"
    r = rt("pause", cid("p1"))
    assert r.returncode == 1 and "is paused, not running" in r.stderr
    assert rt("resume", cid("p1")).returncode == 0
    assert json.loads(rt("state", cid("p1")).stdout)["status"] == "running"
    assert rt("exec", cid("p1"), "true").returncode == 0
    r = rt("update", "--memory", "64m", "--pids-limit", "50", cid("p1"))
    if mode == "process":
        assert r.returncode == 0, r.stderr
        limits = {}
        for d in cgroup_dirs(f"isobox/{cid('p1')}"):
            for f in ("memory.limit_in_bytes", "memory.max", "pids.max"):
                if os.path.exists(f"{d}/{f}"):
                    limits[f] = open(f"{d}/{f}").read().strip()
        memory = "memory.max" if cgroup_v2() else "memory.limit_in_bytes"
        assert limits == {memory: "67108864", "pids.max": "50"}, limits
    else:                    # the guest applies them to the app's cgroup (test_runc_flags.py)
        assert r.returncode == 0, r.stderr
    assert rt("delete", "--force", cid("p1")).returncode == 0


def test_the_container_cgroup_holds_it(rt, bundle, mode):
    """The container's cgroup on the host holds its process: in a VM the VMM,
    limited to the VM's memory, the spec's limit plus the guest's overhead."""
    b = bundle(["sleep", "300"])
    cfg = json.loads(open(f"{b}/config.json").read())
    cfg["linux"]["resources"] = {"memory": {"limit": 96 << 20}}
    parent = f"isobox-test-{TAG}"
    cfg["linux"]["cgroupsPath"] = f"/{parent}/g1"
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    try:
        assert rt("run", "--detach", "--bundle", b, cid("g1")).returncode == 0
        pid = json.loads(rt("state", cid("g1")).stdout)["pid"]
        assert cgroup_dirs(f"{parent}/g1") != []
        limit = memory_limit_of(pid)
        assert cgroup_of(pid, "memory") in cgroup_dirs(f"{parent}/g1")
        # in a VM also KVM's kernel threads for it (kvm-nx-lpage-recovery)
        assert pid in json.loads(rt("ps", "--format", "json", cid("g1")).stdout)
        if mode == "process":
            assert limit == 96 << 20
        else:
            assert (96 << 20) < limit <= (96 << 20) + (256 << 20)
        assert rt("kill", "--all", cid("g1"), "KILL").returncode == 0
        assert wait_for(lambda: json.loads(rt("state", cid("g1")).stdout)["status"] == "stopped")
        assert rt("delete", cid("g1")).returncode == 0
        assert cgroup_dirs(f"{parent}/g1") == []
    finally:
        rt("delete", "--force", cid("g1"))
        for d in cgroup_dirs(f"{parent}/g1") + cgroup_dirs(parent):
            os.rmdir(d)


def test_the_isolation_policy_applies(rt, bundle, tmp_path, mode, isobox_root):
    conf = tmp_path / "isobox.conf"
    conf.write_text("default_isolation = process\n[rule tenants]\nlabel = tenant=*\n"
                    "[rule admin]\ncap_add = SYS_ADMIN\n")
    env = dict(os.environ, ISOBOX_CONFIG=str(conf))
    b = bundle(["sh", "-c", "uname -r"])
    cfg = json.loads(open(f"{b}/config.json").read())
    cfg["annotations"] = {"io.isobox.isolation": "process", "tenant": "acme"}
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    # An explicit process isolation that a rule forbids is refused, naming it.
    r = rt("run", "--bundle", b, cid("pol1"), env=env)
    assert r.returncode == 1 and 'isolation policy rule "tenants"' in r.stderr, r.stderr
    # Without the annotation the rule sends it into a VM.
    cfg["annotations"] = {"tenant": "acme"}
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    r = rt("run", "--bundle", b, cid("pol2"), env=env, timeout=BOOT_WAIT)
    # Whether the VM runs is this host's (and ISOBOX_ROOT's kernels') to say:
    # info says it, and the refusal is its reason.
    hv = json.loads(sh(os.path.join(REPO, "build", "isobox"), "--root", isobox_root,
                       "--config", str(conf), "info", "--format", "json").stdout)
    hv = hv["Isolation"]["Modes"]["hyperv"]
    if mode == "hyperv":
        assert hv["Available"] is True, hv
    if hv["Available"]:
        assert r.returncode == 0 and r.stdout.strip() != os.uname().release, r.stderr
    else:
        assert (r.returncode, r.stdout) == (1, ""), r.stderr
        assert r.stderr == f"isobox-runtime: {hv['Reason']}\n"
    # Capabilities beyond docker's default set count as added ones.
    cfg["annotations"] = {"io.isobox.isolation": "process"}
    cfg["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    open(f"{b}/config.json", "w").write(json.dumps(cfg))
    r = rt("run", "--bundle", b, cid("pol3"), env=env)
    assert r.returncode == 1 and 'isolation policy rule "admin"' in r.stderr, r.stderr


def edit(b, change):
    cfg = json.loads(open(f"{b}/config.json").read())
    change(cfg)
    open(f"{b}/config.json", "w").write(json.dumps(cfg))


def test_hooks(rt, bundle, tmp_path):
    out = tmp_path / "hooks"
    out.mkdir()

    def hook(name, code=0):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}/{name}; exit {code}"]}
    b = bundle(["true"])
    edit(b, lambda c: c.update(hooks={"createRuntime": [hook("createRuntime")],
                                      "prestart": [hook("prestart")],
                                      "poststart": [hook("poststart", 3), hook("poststart2")],
                                      "poststop": [hook("poststop")]}))
    r = rt("run", "--bundle", b, cid("k1"))
    assert r.returncode == 0, r.stderr
    # Each got the state on stdin; a failing poststart hook is a warning only.
    assert json.loads((out / "createRuntime").read_text())["status"] == "created"
    assert json.loads((out / "prestart").read_text())["id"] == cid("k1")
    # running, as start left it, even when the app (true) is gone already
    post = json.loads((out / "poststart2").read_text())
    assert post["status"] == "running" and post["pid"] > 0
    assert json.loads((out / "poststop").read_text())["status"] == "stopped"
    assert "warning: poststart hook /bin/sh failed (exit status 3)" in r.stderr
    # A failing prestart hook fails create, and leaves nothing behind.
    edit(b, lambda c: c.update(hooks={"prestart": [hook("bad", 4)]}))
    r = rt("run", "--bundle", b, cid("k2"))
    assert r.returncode == 1 and "prestart hook /bin/sh failed (exit status 4)" in r.stderr
    assert rt("list", "-q").stdout.split() == []
    edit(b, lambda c: c.update(hooks={"prestart": [{"path": "/bin/sleep", "args": ["sleep", "9"],
                                                    "timeout": 1}]}))
    r = rt("run", "--bundle", b, cid("k3"))
    assert r.returncode == 1 and "timed out after 1 s" in r.stderr


def test_linux_settings(rt, bundle, mode):
    """sysctl, oomScoreAdj, devices and additionalGids: in a VM the guest
    applies them, its kernel being the container's own."""
    b = bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj; "
                "stat -c '%t:%T %a %u:%g' /dev/sub/mine; id -G"])

    def change(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        c["process"]["oomScoreAdj"] = 500
        c["process"]["user"] = {"uid": 0, "gid": 0, "additionalGids": [5, 1234]}
        c["linux"]["devices"] = [{"path": "/dev/sub/mine", "type": "c", "major": 1,
                                  "minor": 5, "fileMode": 0o640, "uid": 7, "gid": 8}]
    edit(b, change)
    r = rt("run", "--bundle", b, cid("l1"), timeout=BOOT_WAIT)
    assert r.returncode == 0 and r.stdout.split() == ["1", "500", "1:5", "640", "7:8",
                                                      "0", "5", "1234"], r.stderr
    edit(b, lambda c: c["linux"].update(sysctl={"../../etc/passwd": "x"}))
    r = rt("run", "--bundle", b, cid("l2"))
    assert r.returncode == 1 and "linux.sysctl ../../etc/passwd" in r.stderr


def test_root_propagation(rt, bundle):
    """linux.rootfsPropagation: the container's root mount gets it (in a VM,
    the guest's root of the container)."""
    b = bundle(["awk", "$5 == \"/\"", "/proc/self/mountinfo"])
    for prop, mark in (("shared", "shared:"), ("unbindable", "unbindable"),
                       ("private", None)):
        edit(b, lambda c: c["linux"].update(rootfsPropagation=prop))
        r = rt("run", "--bundle", b, cid(f"rp-{prop}"))
        assert r.returncode == 0, r.stderr
        fields = r.stdout.split(" - ")[0].split()[6:]    # the optional fields
        assert (mark in " ".join(fields)) if mark else fields == [], r.stdout
    edit(b, lambda c: c["linux"].update(rootfsPropagation="sideways"))
    r = rt("run", "--bundle", b, cid("rp-bad"))
    assert r.returncode == 1 and "linux.rootfsPropagation" in r.stderr


def test_device_rules(rt, bundle, mode):
    """linux.resources.devices before docker's defaults, the last match deciding:
    an engine's device opens, another stays shut, the standard ones still work.
    The device is /dev/kmsg, opened for writing (no capability needed): a
    driver both the host and the guest kernel have (a guest has no tun)."""
    b = bundle(["sh", "-c", "true >/dev/kmsg-ok && echo ok; true >/dev/kmsg-no; "
                "head -c1 /dev/zero | wc -c; echo END"])
    kmsg = {"type": "c", "major": 1, "minor": 11, "fileMode": 0o666, "uid": 0, "gid": 0}

    def change(c):
        c["linux"]["devices"] = [dict(kmsg, path="/dev/kmsg-ok"), dict(kmsg, path="/dev/kmsg-no")]
        c["linux"]["resources"] = {"devices": [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rwm"},
            {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "w"}]}
    edit(b, change)
    # The last rule takes writing back: the node opens for neither path.
    r = rt("run", "--bundle", b, cid("d1"))
    assert "ok" not in r.stdout.split() and "Operation not permitted" in r.stderr, r.stderr
    assert r.stdout.split()[-2:] == ["1", "END"]
    edit(b, lambda c: c["linux"]["resources"]["devices"].pop())
    r = rt("run", "--bundle", b, cid("d2"))
    assert r.stdout.split() == ["ok", "1", "END"], r.stderr
    edit(b, lambda c: c["linux"]["resources"]["devices"].append({"allow": True, "access": "rwx"}))
    r = rt("run", "--bundle", b, cid("d3"))
    assert r.returncode == 1 and "linux.resources.devices[2]: access rwx" in r.stderr


def network_holder():
    """A process in a network namespace of its own, and that namespace's path."""
    holder = subprocess.Popen(["unshare", "-n", "sleep", "300"])
    ns = f"/proc/{holder.pid}/ns/net"
    # Until unshare has run, its namespace is ours: wait for it to differ.
    assert wait_for(lambda: os.readlink(ns) != os.readlink("/proc/self/ns/net"), 30)
    return holder, ns


def with_ns_path(kind, path):
    return lambda c: c["linux"].update(namespaces=[
        n for n in c["linux"]["namespaces"] if n["type"] != kind] + [{"type": kind, "path": path}])


def test_namespaces_by_path(rt, bundle, mode):
    """A network namespace by path: the container's own in process mode; in a
    VM the VMM's, the VM's host side (as Kata's VMM joins a pod's). Another
    host namespace by path, and a user namespace, are refused in a VM."""
    b = bundle(["true"])
    # No mount namespace of its own is refused (pivot_root would move ours);
    # a VM first refuses the host's network, IPC and UTS namespaces it lacks.
    edit(b, lambda c: c["linux"].update(namespaces=[{"type": "pid"}]))
    r = rt("run", "--bundle", b, cid("n0"))
    assert r.returncode == 1
    assert ("needs a mount namespace of its own" if mode == "process" else
            "a hyperv container runs in its own VM and cannot share the host's namespaces "
            "(--network, --pid, --ipc or --uts host)") in r.stderr, r.stderr
    holder, ns = network_holder()
    try:
        if mode == "process":
            b = bundle(["readlink", "/proc/self/ns/net"])
            edit(b, with_ns_path("network", ns))
            r = rt("run", "--bundle", b, cid("n1"))
            assert r.returncode == 0 and r.stdout.strip() == os.readlink(ns), r.stderr
            return
        b = bundle(["sleep", "300"])
        edit(b, with_ns_path("network", ns))
        r = rt("create", "--bundle", b, cid("n1"), timeout=BOOT_WAIT)
        assert r.returncode == 0, r.stderr
        vmm = json.loads(rt("state", cid("n1")).stdout)["pid"]
        assert os.readlink(f"/proc/{vmm}/ns/net") == os.readlink(ns)
        assert rt("delete", "--force", cid("n1")).returncode == 0
        edit(b, with_ns_path("ipc", f"/proc/{holder.pid}/ns/ipc"))
        r = rt("run", "--bundle", b, cid("n2"))
        assert r.returncode == 1
        assert (f"linux.namespaces: a VM cannot join the host's ipc namespace /proc/{holder.pid}"
                "/ns/ipc: hyperv isolation shares no kernel with the host; use "
                "--isolation=process") in r.stderr, r.stderr
        b = bundle(["true"])
        edit(b, lambda c: c["linux"].update(
            namespaces=c["linux"]["namespaces"] + [{"type": "user"}],
            uidMappings=[{"containerID": 0, "hostID": 1000, "size": 2000}],
            gidMappings=[{"containerID": 0, "hostID": 1000, "size": 3000}]))
        r = rt("run", "--bundle", b, cid("n3"))
        assert r.returncode == 1
        assert ("linux.namespaces: a user namespace maps host ids, and a VM's ids are its "
                "guest kernel's own: use --isolation=process") in r.stderr, r.stderr
    finally:
        holder.kill()


@pytest.mark.process_only("a user namespace maps host ids, and a VM's are its guest kernel's own: "
                          "the hyperv runtime refuses one (test_namespaces_by_path)")
def test_user_namespace(rt, bundle):
    # A user namespace: root inside is uid 1000 outside, which must be able to
    # reach the rootfs (pytest's directories are private).
    top = tempfile.mkdtemp(dir="/tmp", prefix="isobox-e2e-userns-")
    try:
        b = shutil.copytree(bundle(["sh", "-c", "id -u; cat /proc/self/uid_map"]),
                            os.path.join(top, "bundle"), symlinks=True)
        os.chmod(top, 0o755)
        os.chmod(f"{b}/rootfs", 0o755)
        for d in ("proc", "sys", "dev"):    # the namespace's root cannot make them
            os.makedirs(f"{b}/rootfs/{d}", exist_ok=True)
        edit(b, lambda c: c["linux"].update(
            namespaces=c["linux"]["namespaces"] + [{"type": "user"}],
            uidMappings=[{"containerID": 0, "hostID": 1000, "size": 2000}],
            gidMappings=[{"containerID": 0, "hostID": 1000, "size": 3000}]))
        r = rt("run", "--bundle", b, cid("n3"))
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["0", "0", "1000", "2000"]
        edit(b, lambda c: c["linux"].pop("uidMappings"))
        r = rt("run", "--bundle", b, cid("n4"))
        assert r.returncode == 1 and "needs uidMappings and gidMappings" in r.stderr
    finally:
        shutil.rmtree(top)

