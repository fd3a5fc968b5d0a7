"""Fixtures for the end-to-end tests: they drive the built binary as a user would."""
import os
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(REPO, "build", "isobox")


class Isobox:
    """Runs `isobox --root ROOT ...` for one test session."""

    def __init__(self, root):
        self.root = root

    def cmd(self, *args):
        return [BINARY, "--root", self.root, *args]

    def __call__(self, *args, input=None, timeout=60, check=False):
        r = subprocess.run(self.cmd(*args), input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"isobox {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def out(self, *args, **kw):
        return self(*args, check=True, **kw).stdout


@pytest.fixture(scope="session")
def rootfs_tar(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("img") / "busybox-rootfs.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs.sh"), path], check=True)
    return path


# The isolation modes this run covers: process here; hyperv inside the test
# host, where /dev/kvm is real (tests/run.sh sets ISOBOX_TEST_MODES there).
MODES = os.environ.get("ISOBOX_TEST_MODES", "process").split(",")
# The guest kernels for hyperv mode, installed once by tests/hyperv/prepare.sh.
KERNELS = os.environ.get("ISOBOX_TEST_KERNELS", os.path.join(REPO, "build", "hyperv", "root",
                                                              "kernels"))


def new_root(prefix):
    root = tempfile.mkdtemp(prefix=prefix)
    if "hyperv" in MODES:
        assert os.path.isdir(KERNELS), f"{KERNELS} missing: run tests/hyperv/prepare.sh"
        os.symlink(KERNELS, os.path.join(root, "kernels"))
    return root


@pytest.fixture(scope="session")
def isobox(rootfs_tar):
    root = new_root("isobox-e2e-")
    ib = Isobox(root)
    ib("import", rootfs_tar, "busybox", check=True)
    yield ib
    for cid in ib("ps", "-aq").stdout.split():
        ib("rm", "-f", cid)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh(rootfs_tar):
    """An isobox with its own empty root, for tests that count things."""
    root = new_root("isobox-e2e-fresh-")
    ib = Isobox(root)
    yield ib
    for cid in ib("ps", "-aq").stdout.split():
        ib("rm", "-f", cid)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def pytest_configure(config):
    config.addinivalue_line("markers", "process_only: a process-isolation feature that "
                            "Hyper-V isolation does not have yet (see the README)")


def pytest_collection_modifyitems(config, items):
    """Outside process mode, run only the tests of container behaviour that
    both modes share: those that take the mode and are not process_only."""
    if "process" in MODES:
        return
    keep, drop = [], []
    for item in items:
        shared = "mode" in item.fixturenames and not item.get_closest_marker("process_only")
        (keep if shared else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep
