"""Fixtures for the tests that run inside the test host (real nested KVM):
the guest kernel, the agent initramfs and the busybox EROFS image, built by
`make check-hyperv` before the test host starts (tests/hyperv/prepare.sh)."""
import glob
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMM = os.path.join(REPO, "build", "isobox-vmm")
ART = os.path.join(REPO, "build", "hyperv")


def artifact(name):
    path = os.path.join(ART, name)
    assert os.path.exists(path), f"{path} missing: run make check-hyperv"
    return path


@pytest.fixture(scope="session")
def kernel():
    assert os.path.exists("/dev/kvm"), "the hyperv tests need /dev/kvm: run them in the test host"
    return artifact("vmlinuz")


@pytest.fixture(scope="session")
def vm(kernel, tmp_path_factory):
    """vm(*cmd, **opts) runs a command in a fresh VM; returns CompletedProcess."""
    serial = str(tmp_path_factory.mktemp("serial") / "serial.log")

    def run(*cmd, input=None, timeout=180, opts=(), rootfs=None, initrd=None):
        argv = [VMM, "run", "--kernel", kernel, "--initrd", initrd or artifact("agent.cpio"),
                "--rootfs", rootfs or artifact("busybox.erofs"), "--serial", serial,
                "--timeout", "120000", *opts, "--", *cmd]
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        r.serial = open(serial).read() if os.path.exists(serial) else ""
        return r
    return run
