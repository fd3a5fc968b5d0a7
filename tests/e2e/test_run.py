"""isobox run: output, exit codes and the flags of docker run."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import Isobox, image_with_appended


def run(isobox, mode, *args, **kw):
    return isobox("run", "--rm", f"--isolation={mode}", *args, **kw)


def ignoring_what_a_background_job_ignores():
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def test_the_app_starts_with_default_signals(isobox, mode):
    """What its launcher ignored (a shell's background job: SIGINT and SIGQUIT;
    nohup: SIGHUP) the app does not: else its trap of INT would never run."""
    r = subprocess.run(isobox.cmd("run", "--rm", f"--isolation={mode}", "busybox", "grep",
                                  "SigIgn", "/proc/self/status"),
                       preexec_fn=ignoring_what_a_background_job_ignores, capture_output=True,
                       text=True, timeout=300)
    # signals 1-31; glibc keeps 32 and 33 (SIGRTMIN's) to itself, unresettable
    label, mask = r.stdout.split()
    assert label == "SigIgn:" and int(mask, 16) & 0x7fffffff == 0, r.stdout + r.stderr


def test_echo(isobox, mode):
    r = run(isobox, mode, "busybox", "echo", "hello")
    assert r.returncode == 0
    assert r.stdout == "hello\n"


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_code_is_the_apps(isobox, mode, code):
    assert run(isobox, mode, "busybox", "sh", "-c", f"exit {code}").returncode == code


def test_command_not_found_is_127(isobox, mode):
    r = run(isobox, mode, "busybox", "no-such-command")
    assert r.returncode == 127
    assert 'executable file not found in $PATH' in r.stderr


def test_not_executable_is_126(isobox, mode):
    r = run(isobox, mode, "busybox", "/etc/passwd")
    assert r.returncode == 126
    assert "permission denied" in r.stderr.lower()


def test_killed_by_signal_is_128_plus_n(isobox, mode):
    # With --init the app is not PID 1, and its own signal ends it.
    assert run(isobox, mode, "--init", "busybox", "sh", "-c", "kill -9 $$").returncode == 137
    assert run(isobox, mode, "--init", "busybox", "sh", "-c", "kill -15 $$").returncode == 143
    # Without, the app is PID 1, which the kernel guards from its own
    # namespace: docker's container goes on (and exits 0) too.
    assert run(isobox, mode, "busybox", "sh", "-c", "kill -9 $$").returncode == 0
    # From outside, SIGKILL ends it: 137.
    cid = isobox("run", "-d", f"--isolation={mode}", "busybox", "sleep", "300").stdout.strip()
    try:
        assert isobox("kill", cid).returncode == 0
        assert isobox("wait", cid, timeout=120).stdout.strip() == "137"
    finally:
        isobox("rm", "-f", cid)


def test_unknown_image_is_125(isobox, mode):
    # --pull never: nothing is pulled from Docker Hub in a test.
    r = run(isobox, mode, "--pull", "never", "no-such-image", "true")
    assert r.returncode == 125
    assert "no-such-image" in r.stderr and "not found" in r.stderr


def test_bad_flag_is_125(isobox):
    r = isobox("run", "--no-such-flag", "busybox", "true")
    assert r.returncode == 125


def test_stdout_and_stderr_are_separate(isobox, mode):
    r = run(isobox, mode, "busybox", "sh", "-c", "echo out; echo err >&2")
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"


def test_stdin_with_i(isobox, mode):
    r = run(isobox, mode, "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert r.stdout == "SHOUT\n"


def test_no_stdin_without_i(isobox, mode):
    r = run(isobox, mode, "busybox", "cat", input="ignored\n")
    assert r.returncode == 0 and r.stdout == ""


def test_env_and_env_file(isobox, mode, tmp_path):
    f = tmp_path / "env"
    f.write_text("# comment\nFROM_FILE=yes\n\nOTHER=2\n")
    os.environ["ISOBOX_TEST_PASS"] = "passed-through"
    r = run(isobox, mode, "-e", "A=1", "-e", "ISOBOX_TEST_PASS", "--env-file", str(f),
            "busybox", "sh", "-c", 'echo "$A $FROM_FILE $OTHER $ISOBOX_TEST_PASS"')
    assert r.stdout == "1 yes 2 passed-through\n"


def test_default_env_has_path_and_hostname(isobox, mode):
    r = run(isobox, mode, "--hostname", "box1", "busybox", "sh", "-c", 'echo "$PATH $HOSTNAME"; hostname')
    assert r.stdout.split("\n")[0].startswith("/usr/local/sbin:")
    assert r.stdout.split("\n")[0].endswith(" box1")
    assert r.stdout.split("\n")[1] == "box1"


def test_workdir_is_created(isobox, mode):
    assert run(isobox, mode, "-w", "/a/b", "busybox", "pwd").stdout == "/a/b\n"


def test_relative_workdir_is_refused(isobox, mode):
    r = run(isobox, mode, "-w", "rel", "busybox", "pwd")
    assert r.returncode == 125 and "absolute" in r.stderr


@pytest.fixture(scope="module")
def groups_image(isobox, rootfs_tar, tmp_path_factory):
    """The busybox image with members in /etc/group: daemon is in staff (50)
    and audio (29), nobody in staff; tty (5) has no members."""
    tar = tmp_path_factory.mktemp("groups") / "groups.tar"
    extra = {"./etc/group": "audio:x:29:daemon\nstaff:x:50:nobody,daemon\n"}
    name = image_with_appended(isobox, rootfs_tar, tar, extra, "groups")
    yield name
    isobox("rmi", name)


# `id`'s whole line (busybox's lists getgroups(), the supplementary groups
# only) and /proc/self/status's Groups: line (the kernel's: "Groups:\t", each
# group followed by a space), as docker (20.10.24, runc) gives them: the
# primary group, then the groups /etc/group lists the user in; USER:GROUP
# gives GROUP alone.
@pytest.mark.parametrize("user,want_id,want_groups", [
    ("root", "uid=0(root) gid=0(root) groups=0(root)", "Groups:\t0 "),
    ("nobody", "uid=65534(nobody) gid=65534(nogroup) groups=50(staff),65534(nogroup)",
     "Groups:\t50 65534 "),
    ("1000", "uid=1000 gid=0(root) groups=0(root)", "Groups:\t0 "),
    ("1000:1000", "uid=1000 gid=1000 groups=1000", "Groups:\t1000 "),
    ("daemon", "uid=1(daemon) gid=1(daemon) groups=1(daemon),29(audio),50(staff)",
     "Groups:\t1 29 50 "),
    ("daemon:tty", "uid=1(daemon) gid=5(tty) groups=5(tty)", "Groups:\t5 "),
    ("1:5", "uid=1(daemon) gid=5(tty) groups=5(tty)", "Groups:\t5 "),
])
def test_user(isobox, mode, groups_image, user, want_id, want_groups):
    r = run(isobox, mode, "-u", user, groups_image, "sh", "-c",
            "id; grep ^Groups: /proc/self/status", timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n") == [want_id, want_groups, ""], r.stdout


def test_unknown_user_is_refused(isobox, mode):
    r = run(isobox, mode, "-u", "nosuchuser", "busybox", "id")
    assert r.returncode == 125
    assert "unable to find user nosuchuser" in r.stderr


def test_entrypoint(isobox, mode):
    r = run(isobox, mode, "--entrypoint", "echo", "busybox", "from", "entrypoint")
    assert r.stdout == "from entrypoint\n"


def test_read_only_rootfs(isobox, mode):
    r = run(isobox, mode, "--read-only", "busybox", "sh", "-c", "touch /x; echo $?")
    assert r.stdout.strip() != "0"
    assert "Read-only file system" in r.stderr


def test_tmpfs(isobox, mode):
    r = run(isobox, mode, "--read-only", "--tmpfs", "/scratch:size=1m", "busybox",
            "sh", "-c", "touch /scratch/x && grep /scratch /proc/mounts")
    assert r.returncode == 0
    assert "tmpfs" in r.stdout and "size=1024k" in r.stdout


def test_label_shows_in_inspect(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "--label", "tier=web", "busybox", "true").strip()
    assert isobox.out("inspect", "-f", "{{.Config.Labels.tier}}", cid) == "web\n"
    isobox("rm", cid, check=True)


KVM_MISSING = ("Hyper-V isolation needs /dev/kvm, and this host has none (no hardware "
               "virtualization, or the kvm module is not loaded): run the container with "
               "--isolation=process")
PVM = ("this host's /dev/kvm is PVM (kvm_pvm), which boots only guest kernels built with "
       "CONFIG_PVM_GUEST, and Debian ships none: add one with 'isobox kernel install --path "
       "FILE', or run the container with --isolation=process")
NO_KERNEL = "no guest kernel is installed for Hyper-V isolation: run 'isobox kernel install'"


def test_hyperv_without_kvm_or_kernel_is_refused_in_one_clear_line(rootfs_tar):
    # A root of its own with no guest kernel: no host can run hyperv there.
    # Which refusal depends on the host (info says which, and the refusal is
    # the same line): no /dev/kvm, a PVM one, or (a host that runs VMs) the
    # missing kernel.
    root = tempfile.mkdtemp(prefix="isobox-e2e-nokernel-")
    try:
        ib = Isobox(root)
        ib("import", rootfs_tar, "busybox", check=True)
        hv = json.loads(ib.out("info", "--format", "json"))["Isolation"]["Modes"]["hyperv"]
        assert hv["Available"] is False, hv
        if not os.path.exists("/dev/kvm"):
            assert hv["Reason"] == KVM_MISSING
        else:
            assert hv["Reason"] in (PVM, NO_KERNEL)
            pvm = os.path.exists("/sys/module/kvm_pvm")
            assert hv["Reason"] == (PVM if pvm else NO_KERNEL), hv
        for iso in ("hyperv", "vm", "HyperV"):
            r = ib("run", "--rm", f"--isolation={iso}", "busybox", "true")
            assert (r.returncode, r.stdout, r.stderr) == (125, "", f"isobox: {hv['Reason']}\n")
        assert ib("ps", "-aq").stdout == ""
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_bad_isolation_value_lists_valid_ones(isobox):
    r = isobox("run", "--rm", "--isolation=bogus", "busybox", "true")
    assert r.returncode == 125
    assert "process" in r.stderr and "hyperv" in r.stderr


def test_isolation_is_case_insensitive_and_recorded(isobox):
    cid = isobox.out("create", "--isolation=Process", "busybox", "true").strip()
    assert isobox.out("inspect", "-f", "{{.HostConfig.Isolation}}", cid) == "process\n"
    isobox("rm", cid, check=True)


def test_rm_removes_the_container(isobox, mode):
    before = isobox.out("ps", "-aq")
    run(isobox, mode, "busybox", "true")
    assert isobox.out("ps", "-aq") == before


def test_changes_survive_stop_and_start(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "sh", "-c",
                     "echo x >> /data; wc -l < /data").strip()
    isobox("start", "-a", cid, check=True)
    assert isobox.out("start", "-a", cid).strip() == "2"
    isobox("rm", cid, check=True)


def test_signals_to_an_attached_run_reach_the_app(isobox, mode):
    # docker's sig-proxy: SIGTERM to the CLI of an attached run goes to the app.
    import signal
    import subprocess
    import time
    p = subprocess.Popen(isobox.cmd("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
                                    'trap "echo got-term; exit 4" TERM; echo ready; '
                                    'while true; do sleep 0.1; done'),
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    assert out == "got-term\n"
    assert p.returncode == 4


GATED = "echo up {0}; while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3"


def run_detached(isobox, mode, *flags, word):
    """run -d: it prints the id alone, at once, and the container runs."""
    r = isobox("run", "-d", *flags, f"--isolation={mode}", "busybox", "sh", "-c",
               GATED.format(word), timeout=180)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    cid = r.stdout.strip()
    assert r.stdout == cid + "\n" and len(cid) == 64 and int(cid, 16) >= 0, r.stdout
    assert isobox.out("inspect", "-f", "{{.State.Status}}", cid) == "running\n"
    end = time.monotonic() + 120
    while isobox.out("logs", cid) != f"up {word}\n" and time.monotonic() < end:
        time.sleep(0.1)
    assert isobox.out("logs", cid) == f"up {word}\n"
    return cid


def test_run_detached_with_rm_and_name_reuse(isobox, mode):
    # Without --rm: wait gives the app's exit code, and the container stays.
    cid = run_detached(isobox, mode, word="kept")
    waiter = subprocess.Popen(isobox.cmd("wait", cid), stdout=subprocess.PIPE, text=True)
    # Detached: the app's exit ends the container, and in a VM the guest with
    # it, which may come before an attached exec's own status could.
    isobox("exec", "-d", cid, "touch", "/tmp/go", check=True)
    assert waiter.communicate(timeout=60)[0] == "3\n"
    assert isobox.out("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid) == \
        "exited 3\n"
    isobox("rm", cid, check=True)
    # With --rm and a name: the exit removes it, which frees the name.
    name = f"reuse-{uuid.uuid4().hex[:8]}"
    for word in ("first", "second"):
        cid = run_detached(isobox, mode, "--rm", "--name", name, word=word)
        assert isobox.out("inspect", "-f", "{{.Id}}", name) == cid + "\n"
        isobox("exec", "-d", cid, "touch", "/tmp/go", check=True)
        end = time.monotonic() + 60
        while isobox("inspect", cid).returncode == 0 and time.monotonic() < end:
            time.sleep(0.1)
        r = isobox("inspect", name)
        assert (r.returncode, r.stdout) == (1, "[]\n"), r.stderr
