"""The fence around a container: namespaces, capabilities, seccomp, masked
paths, no leaked fds, no way back to the host's binaries. In a VM the guest
kernel is the fence; the container's capabilities, no_new_privs and seccomp
filter hold inside it too. Tests marked process_only check how the process
backend fences the host kernel (namespaces, memfd init), which a VM does not
need; each marker says why."""
import os
import shutil
import tarfile
import tempfile
import uuid

import pytest


def sh(isobox, mode, script, *flags):
    return isobox("run", "--rm", f"--isolation={mode}", *flags, "busybox", "sh", "-c", script)


def test_pid_namespace(isobox, mode):
    # In a VM too: the container has a PID namespace of its own in the guest.
    r = sh(isobox, mode, "echo $$; ps -o pid | wc -l")
    lines = r.stdout.split()
    assert lines[0] == "1"              # the app is PID 1, as in docker
    assert int(lines[1]) <= 4          # header, sh, ps, wc


def test_init_is_pid_1_with_init_flag(isobox, mode):
    assert "isobox-init" in sh(isobox, mode, "cat /proc/1/cmdline | tr '\\0' ' '",
                               "--init").stdout


@pytest.mark.process_only("compares namespaces with the host's: a VM shares no kernel, so none to compare")
def test_namespaces_differ_from_host(isobox, mode):
    for ns in ("mnt", "pid", "uts", "ipc", "net", "cgroup"):
        inside = sh(isobox, mode, f"readlink /proc/self/ns/{ns}").stdout.strip()
        assert inside and inside != os.readlink(f"/proc/self/ns/{ns}"), ns


def test_network_is_loopback_only(isobox, mode):
    out = sh(isobox, mode, "ls /sys/class/net").stdout.split()
    assert out == ["lo"]


def test_default_capabilities_are_dockers(isobox, mode):
    out = sh(isobox, mode, "grep CapEff /proc/self/status").stdout
    assert out.split()[1] == "00000000a80425fb"


def test_cap_drop_and_add(isobox, mode):
    r = sh(isobox, mode, "chown 1 /tmp", "--cap-drop", "CHOWN")
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    eff = sh(isobox, mode, "grep CapEff /proc/self/status", "--cap-add", "NET_ADMIN").stdout.split()[1]
    assert int(eff, 16) & (1 << 12)
    eff = sh(isobox, mode, "grep CapEff /proc/self/status", "--cap-drop", "ALL").stdout.split()[1]
    assert int(eff, 16) == 0


def test_unknown_capability_is_refused(isobox, mode):
    r = sh(isobox, mode, "true", "--cap-add", "CAP_NOPE")
    assert r.returncode == 125 and "CAP_NOPE" in r.stderr


def test_no_new_privs_and_seccomp(isobox, mode):
    # docker's default: no_new_privs off (test_parity_env.py), seccomp on.
    out = sh(isobox, mode, "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status").stdout.split()
    assert out == ["NoNewPrivs:", "0", "Seccomp:", "2"]


def test_seccomp_blocks_what_docker_blocks(isobox, mode):
    # unshare(CLONE_NEWUSER) is refused by docker's profile without CAP_SYS_ADMIN.
    r = sh(isobox, mode, "unshare -U true")
    assert r.returncode != 0 and "Operation not permitted" in r.stderr


def test_seccomp_unconfined(isobox, mode):
    out = sh(isobox, mode, "grep Seccomp: /proc/self/status", "--security-opt",
             "seccomp=unconfined").stdout.split()
    assert out == ["Seccomp:", "0"]


def test_seccomp_profile_file(isobox, mode, tmp_path):
    prof = tmp_path / "p.json"
    prof.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": ['
                    '{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}')
    r = sh(isobox, mode, "mkdir /tmp/x", "--security-opt", f"seccomp={prof}")
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    prof.write_text('{"defaultAction": "SCMP_ACT_FOO"}')
    r = sh(isobox, mode, "true", "--security-opt", f"seccomp={prof}")
    assert r.returncode == 125 and "SCMP_ACT_FOO" in r.stderr


def test_privileged(isobox, mode):
    out = sh(isobox, mode, "grep -E '^(CapEff|Seccomp):' /proc/self/status; mkdir -p /mnt; mount -t tmpfs t /mnt && echo mounted",
             "--privileged").stdout
    assert "Seccomp:\t0" in out and "mounted" in out


def test_masked_and_readonly_paths(isobox, mode):
    r = sh(isobox, mode, "cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname")
    assert r.stdout.split()[:2] == ["0", "0"]
    assert "Read-only file system" in r.stderr


SYS_RO = ("grep ' /sys ' /proc/self/mountinfo; "
          "echo 1000 > /sys/class/net/lo/tx_queue_len; echo rc=$?")


def sys_is_read_only(r):
    """What SYS_RO printed when /sys is a read-only mount: its mountinfo line
    has `ro` among the mount's own options, and writing an attribute that is
    writable (tx_queue_len is rw-r--r--, root's) fails with EROFS: the mount's
    flag, not a permission or sysfs's refusal to create files."""
    lines = r.stdout.splitlines()
    sys_lines = [l.split() for l in lines if len(l.split()) > 4 and l.split()[4] == "/sys"]
    assert len(sys_lines) == 1, r.stdout
    assert "ro" in sys_lines[0][5].split(","), sys_lines[0]
    assert lines[-1] == "rc=1", r.stdout
    assert r.stderr == ("sh: can't create /sys/class/net/lo/tx_queue_len: "
                        "Read-only file system\n"), r.stderr


def test_sys_is_read_only(isobox, mode):
    sys_is_read_only(sh(isobox, mode, SYS_RO))


def test_dev_has_only_the_standard_nodes(isobox, mode):
    out = sh(isobox, mode, "ls /dev").stdout.split()
    for node in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"):
        assert node in out
    for host_only in ("vda", "kvm", "mem", "sda"):
        assert host_only not in out


def test_no_fd_leaks_into_the_container(isobox, mode):
    # Open an extra fd in the caller: it must not reach the container.
    r_fd, w_fd = os.pipe()
    os.set_inheritable(w_fd, True)
    try:
        out = sh(isobox, mode, "ls /proc/self/fd").stdout.split()
    finally:
        os.close(r_fd)
        os.close(w_fd)
    # 0, 1, 2 and the fd ls itself opens for the directory.
    assert len(out) <= 4, out
    # PID 1, the app or isobox-init, has stdio (and isobox-init its own
    # signalfd), nothing of the host's, nor in a VM of the agent's.
    for flags in ([], ["--init"]):
        # Listed by a child: PID 1 may be the shell, whose own listing would
        # show the fd it reads the directory with. In the background, so that
        # the child opens the file (busybox sh redirects a foreground command
        # in itself), and not into a pipe, which the shell would hold open.
        pid1 = sh(isobox, mode, "ls -l /proc/1/fd > /tmp/fds & wait; "
                  "sed -n 's/.* \\([0-9]*\\) -> \\(.*\\)/\\1=\\2/p' /tmp/fds; true",
                  *flags).stdout.split()
        assert pid1, flags
        extra = [f for f in pid1 if f.split("=")[0] not in ("0", "1", "2")]
        assert extra == [] or (flags and all(f.endswith("anon_inode:[signalfd]") for f in extra)), pid1


@pytest.mark.process_only("the memfd isobox-init guards a host binary (CVE-2019-5736); a VM's /init is the guest's own")
def test_proc_1_exe_is_not_the_host_binary(isobox, mode):
    r = sh(isobox, mode, "readlink /proc/1/exe; echo x > /proc/1/exe && echo WROTE", "--init")
    assert "memfd:isobox-init" in r.stdout
    assert "WROTE" not in r.stdout


def test_cwd_is_inside_the_container(isobox, mode):
    r = sh(isobox, mode, "readlink /proc/self/cwd; readlink /proc/1/cwd; ls /proc/1/root/ | head -3")
    # PID 1 is the container's own in both modes (in a VM, not the agent).
    assert r.stdout.split()[:2] == ["/", "/"]


def test_hostile_mount_destination_is_refused(isobox, mode):
    r = sh(isobox, mode, "true", "--tmpfs", "/../../etc")
    assert r.returncode == 125


@pytest.fixture(scope="module")
def evil_image(isobox, rootfs_tar, tmp_path_factory):
    """The busybox image plus /evil, a symlink to /: what an image made to
    reach the host's root through a path given on the command line holds."""
    tar = tmp_path_factory.mktemp("evil") / "evil.tar"
    with tarfile.open(rootfs_tar) as src, tarfile.open(tar, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        link = tarfile.TarInfo("./evil")
        link.type, link.linkname = tarfile.SYMTYPE, "/"
        dst.addfile(link)
    name = f"evil-{uuid.uuid4().hex[:8]}"
    isobox("import", str(tar), name, check=True)
    yield name
    isobox("rmi", name)


def test_symlinked_workdir_stays_inside(isobox, mode, evil_image):
    # A directory only the host has: were /evil resolved on the host, the
    # working dir would be it, and the file made there would land on the host.
    host_only = tempfile.mkdtemp(prefix="isobox-e2e-hostonly-", dir="/tmp")
    try:
        r = isobox("run", "--rm", f"--isolation={mode}", "-w", f"/evil{host_only}", evil_image,
                   "sh", "-c", "pwd -P; touch made-here; ls /tmp", timeout=180)
        assert os.listdir(host_only) == [], "the container wrote into the host's directory"
    finally:
        shutil.rmtree(host_only)
    # As docker: /evil resolves in the container's root, so the working dir is
    # the container's own /tmp/<name>, made for the run (the image had none).
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [host_only, os.path.basename(host_only)], r.stdout


def test_device_cgroup_denies_host_devices(isobox, mode):
    # CAP_MKNOD is in docker's default set: the device rules are what stop a
    # node made inside the container from opening a host device (here kmsg);
    # in a VM the guest kernel's, whose disks and consoles the same rules keep.
    script = "mknod /tmp/kmsg c 1 11 && timeout 2 head -c 1 /tmp/kmsg | wc -c"
    r = sh(isobox, mode, script)
    assert "Operation not permitted" in r.stderr
    assert r.stdout.strip() == "0"
    assert sh(isobox, mode, script, "--privileged").stdout.strip() == "1"
    assert sh(isobox, mode, "echo hi > /dev/null && head -c 4 /dev/urandom | wc -c").stdout.strip() == "4"
