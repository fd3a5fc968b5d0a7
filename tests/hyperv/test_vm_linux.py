"""A Linux guest under isobox-vmm, end to end: the guest kernel boots, the
agent mounts the container's EROFS root, runs the command with its stdio on
virtio consoles, and the VMM exits with the command's status."""
import os
import subprocess

from conftest import VMM, artifact


def test_echo(vm):
    r = vm("echo", "hello from the guest")
    assert r.returncode == 0, r.stderr + r.serial[-2000:]
    assert r.stdout == "hello from the guest\n"


def test_exit_status_and_streams(vm):
    r = vm("sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n"), r.serial[-2000:]


def test_environment_workdir_user_hostname(vm):
    r = vm("sh", "-c", 'echo "$GREETING $(pwd) $(id -u):$(id -g) $(hostname)"',
           opts=("--env", "GREETING=hi", "--workdir", "/tmp", "--user", "65534:65534",
                 "--hostname", "guestbox"))
    assert r.stdout == "hi /tmp 65534:65534 guestbox\n", r.stderr + r.serial[-2000:]


def test_stdin_reaches_the_guest(vm):
    r = vm("sh", "-c", "read line; echo got:$line", input="piped\n")
    assert r.stdout == "got:piped\n", r.stderr + r.serial[-2000:]


def test_own_kernel(vm):
    r = vm("uname", "-r")
    assert r.stdout.strip().endswith("cloud-amd64")
    assert r.stdout.strip() != os.uname().release


def test_root_is_the_image_with_a_writable_layer(vm):
    r = vm("sh", "-c", "ls /bin/busybox && touch /new && echo ok && grep ' / ' /proc/mounts")
    assert "ok" in r.stdout and "overlay" in r.stdout, r.stderr


def test_command_not_found_is_127(vm):
    r = vm("no-such-command")
    assert r.returncode == 127
    assert r.stderr == 'isobox: exec: "no-such-command": executable file not found in $PATH\n'


def test_bare_guest_reports_its_status(kernel):
    r = subprocess.run([VMM, "boot", "--kernel", kernel, "--initrd", artifact("exit7.cpio"),
                        "--cmdline", "console=ttyS0 quiet reboot=k panic=-1", "--timeout", "120000"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 7, r.stderr[-2000:]


def test_uncompressed_vmlinux_boots_through_pvh(kernel):
    # The kernel store keeps this one: the 32-bit PVH entry needs flat 4 GiB
    # segments (a 1 MiB code limit was a triple fault at the first jump).
    r = subprocess.run([VMM, "boot", "--kernel", artifact("vmlinux"), "--initrd",
                        artifact("exit7.cpio"), "--cmdline", "console=ttyS0 quiet reboot=k panic=-1",
                        "--timeout", "120000"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 7, r.stderr[-2000:]


def test_guest_that_never_reports_times_out(kernel, tmp_path):
    r = subprocess.run([VMM, "boot", "--kernel", kernel, "--cmdline", "console=ttyS0 quiet",
                        "--timeout", "3000"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 125
    assert "did not finish within 3000 ms" in r.stderr


def test_kernel_panic_is_reported(kernel):
    # No initramfs and no root: the kernel panics, reboots (panic=-1, reboot=k).
    r = subprocess.run([VMM, "boot", "--kernel", kernel, "--cmdline",
                        "console=ttyS0 quiet panic=-1 reboot=k", "--timeout", "120000"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 125
    # reboot=k: the keyboard controller's reset line, which the VMM reports
    # as a reset, not a power-off (that is ACPI's, the agent's normal end)
    assert r.stderr.splitlines()[-1] == ("isobox-vmm: the guest reset before reporting an exit "
                                         "status (a kernel panic?): see its kernel log"), \
        r.stderr[-2000:]


def test_corrupt_kernel_and_missing_files(kernel, tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(os.urandom(8192))
    for args in (["--kernel", str(bad)], ["--kernel", str(tmp_path / "missing")],
                 ["--kernel", kernel, "--initrd", str(tmp_path / "missing")]):
        r = subprocess.run([VMM, "boot", *args, "--timeout", "5000"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 125 and r.stderr.startswith("isobox-vmm: "), args
