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


@pytest.fixture(scope="session")
def isobox(rootfs_tar):
    root = tempfile.mkdtemp(prefix="isobox-e2e-")
    ib = Isobox(root)
    ib("import", rootfs_tar, "busybox", check=True)
    yield ib
    for cid in ib("ps", "-aq").stdout.split():
        ib("rm", "-f", cid)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh(rootfs_tar):
    """An isobox with its own empty root, for tests that count things."""
    root = tempfile.mkdtemp(prefix="isobox-e2e-fresh-")
    ib = Isobox(root)
    yield ib
    for cid in ib("ps", "-aq").stdout.split():
        ib("rm", "-f", cid)
    shutil.rmtree(root, ignore_errors=True)


# Every test of container behaviour runs in each isolation mode this version has.
MODES = ["process"]


@pytest.fixture(params=MODES)
def mode(request):
    return request.param
