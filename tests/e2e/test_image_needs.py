"""What an image needs of its kernel (os.version, os.features, the label
org.isobox.kernel, os and architecture), checked against the host's kernel in
process mode and against the guest kernels in hyperv mode."""
import json
import os
import re
import uuid

import pytest


def host_version():
    """The host's upstream kernel version, as isobox reads it (Debian's
    /proc/version names it; its release "6.1.0-50" hides the patch level)."""
    banner = open("/proc/version").read()
    m = re.search(r" Debian (\d+)\.(\d+)\.(\d+)", banner) or \
        re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", os.uname().release)
    return tuple(int(x or 0) for x in m.groups())


def dotted(v):
    return ".".join(map(str, v))


def guest_kernels(isobox):
    """[(name, version tuple, has config)] from `kernel ls`, newest first."""
    lines = isobox.out("kernel", "ls").splitlines()
    assert lines[0].split()[:3] == ["NAME", "VERSION", "CONFIG"]
    rows = [line.split() for line in lines[1:]]
    return [(r[0], tuple(int(x) for x in r[1].split(".")), r[2] == "yes") for r in rows]


def image(isobox, rootfs_tar, *changes):
    """A busybox image with --change instructions, under a fresh name."""
    name = f"needs-{uuid.uuid4().hex[:8]}"
    args = []
    for c in changes:
        args += ["--change", c]
    isobox("import", *args, rootfs_tar, name, check=True)
    return name


def run(isobox, *args):
    return isobox("run", "--rm", *args, timeout=180)


def test_a_newer_kernel_than_the_host_is_refused_in_process_mode(isobox, rootfs_tar, mode):
    host = host_version()
    if mode == "hyperv":
        # The guest kernel is newer than the test host's (scripts/testhost/prepare.sh).
        name, guest, _ = guest_kernels(isobox)[0]
        assert guest > host, f"guest kernel {dotted(guest)} is not newer than the host's " \
            f"{dotted(host)}: the test host must boot an older kernel than the guest's"
        need = dotted(guest)
    else:
        need = f"{host[0]}.{host[1] + 2}"
    img = image(isobox, rootfs_tar, f"OS.VERSION {need}")
    r = run(isobox, "--isolation=process", img, "true")
    assert r.returncode == 125, r.stdout + r.stderr
    assert (f"image {img}:latest needs kernel {need} (os.version); this host runs "
            f"{dotted(host)}") in r.stderr
    assert "run it with --isolation=hyperv, which boots a guest kernel that meets it" in r.stderr
    # The host's default does not get around it either.
    r = isobox("--default-isolation", "process", "run", "--rm", img, "true")
    assert r.returncode == 125 and "needs kernel" in r.stderr
    if mode == "hyperv":
        r = run(isobox, "--isolation=hyperv", img, "uname", "-r")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == name
        # auto sees that only a VM can run it.
        cid = isobox.out("create", "--isolation=auto", img, "true").strip()
        d = json.loads(isobox.out("inspect", "-f", "{{json .IsolationDecision}}", cid))
        isobox("rm", cid, check=True)
        assert d["Mode"] == "hyperv" and d["Requested"] == "auto"
        assert d["Reason"].startswith("the host's kernel cannot run it: image")
        assert d["Kernel"]["Name"] == name and d["ImageNeeds"] == f"kernel >= {need}"
    # An image that needs no more than the host has runs in process mode.
    ok = image(isobox, rootfs_tar, f"OS.VERSION {host[0]}.{host[1]}")
    r = run(isobox, "--isolation=process", ok, "true")
    assert r.returncode == 0, r.stderr


def test_no_guest_kernel_newer_than_any_installed(isobox, rootfs_tar, mode):
    img = image(isobox, rootfs_tar, "OS.VERSION 99.0")
    r = run(isobox, f"--isolation={mode}", img, "true")
    assert r.returncode == 125
    if mode == "hyperv":
        assert f"no installed guest kernel meets image {img}:latest: it needs kernel 99.0 " \
            "(os.version), and guest kernel " in r.stderr
        assert "isobox kernel install" in r.stderr
    else:
        assert "needs kernel 99.0 (os.version); this host runs" in r.stderr


def test_kernel_features(isobox, rootfs_tar, mode):
    # A feature no kernel has is refused by name, in both modes.
    img = image(isobox, rootfs_tar, "OS.FEATURES CONFIG_ISOBOX_NO_SUCH_OPTION")
    r = run(isobox, f"--isolation={mode}", img, "true")
    assert r.returncode == 125
    assert "needs CONFIG_ISOBOX_NO_SUCH_OPTION (os.features)" in r.stderr
    # A name outside the short list and not a CONFIG_ option is an error in the image.
    bad = image(isobox, rootfs_tar, "OS.FEATURES teleportation")
    r = run(isobox, f"--isolation={mode}", bad, "true")
    assert r.returncode == 125 and "teleportation" in r.stderr and "io_uring" in r.stderr
    if mode == "hyperv":
        # Debian's cloud kernel has io_uring and user namespaces: its config says so.
        assert guest_kernels(isobox)[0][2], "the guest kernel was installed without its config"
        good = image(isobox, rootfs_tar, "OS.FEATURES io_uring user_namespaces CONFIG_EROFS_FS")
        r = run(isobox, "--isolation=hyperv", good, "true")
        assert r.returncode == 0, r.stderr


def test_kernel_series_label(isobox, rootfs_tar, mode):
    host = host_version()
    series = image(isobox, rootfs_tar, f"LABEL org.isobox.kernel={host[0]}.{host[1]}")
    other = image(isobox, rootfs_tar, f"LABEL org.isobox.kernel={host[0]}.{host[1] + 1}")
    if mode == "process":
        assert run(isobox, "--isolation=process", series, "true").returncode == 0
    r = run(isobox, f"--isolation={mode}", other, "true")
    assert r.returncode == 125
    assert f"needs the {host[0]}.{host[1] + 1} kernel series (org.isobox.kernel)" in r.stderr
    bad = image(isobox, rootfs_tar, "LABEL org.isobox.kernel=6.1.5")
    r = run(isobox, f"--isolation={mode}", bad, "true")
    assert r.returncode == 125 and "is a kernel series such as" in r.stderr


@pytest.mark.parametrize("change,words", [
    ("OS windows", "is a windows image, and isobox runs Linux containers only"),
    ("ARCH arm64/v8", "is built for linux/arm64/v8, and this host is linux/amd64"),
])
def test_other_platforms_are_refused_in_both_modes(isobox, rootfs_tar, mode, change, words):
    img = image(isobox, rootfs_tar, change)
    for isolation in (mode, "auto"):
        r = run(isobox, f"--isolation={isolation}", img, "true")
        assert r.returncode == 125 and words in r.stderr, r.stderr
    # policy explain says the same, without running anything.
    r = isobox("policy", "explain", img)
    assert r.returncode == 125 and words in r.stderr


def test_choosing_the_guest_kernel(isobox, rootfs_tar, mode):
    r = run(isobox, "--isolation=process", "--kernel", "6.1", "busybox", "true")
    assert r.returncode == 125
    assert "--kernel chooses the guest kernel of hyperv isolation" in r.stderr
    r = run(isobox, f"--isolation={mode}", "--kernel", "0.1", "busybox", "true")
    assert r.returncode == 125
    if mode == "hyperv":
        assert "guest kernel 0.1 is not installed" in r.stderr
        name, version, _ = guest_kernels(isobox)[0]
        for want in (name, dotted(version), dotted(version[:2])):
            r = run(isobox, "--isolation=hyperv", "--kernel", want, "busybox", "uname", "-r")
            assert r.returncode == 0 and r.stdout.strip() == name, r.stderr
        img = image(isobox, rootfs_tar, "OS.VERSION 99.1")
        r = run(isobox, "--isolation=hyperv", "--kernel", name, img, "true")
        assert r.returncode == 125
        assert f"needs kernel 99.1 (os.version); guest kernel {name} runs" in r.stderr
