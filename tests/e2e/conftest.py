"""Fixtures for the end-to-end tests: they drive the built binary as a user would."""
import atexit
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

from isobox_report import deselect

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(REPO, "build", "isobox")


class Isobox:
    """Runs `isobox --root ROOT --config CONFIG ...` for one test session: the
    harness's own config, so the machine's /etc/isobox/isobox.conf and chassis
    cannot change a test's mode (a test's own --config comes later and wins)."""

    def __init__(self, root):
        self.root = root

    def cmd(self, *args):
        return [BINARY, "--root", self.root, "--config", CONFIG, *args]

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
# The mode of the tests that do not take `mode`: hyperv in the hyperv run, so
# that every test not marked process_only runs in a VM there.
RUN_MODE = "hyperv" if "hyperv" in MODES else "process"
# The harness's host config: the run's mode is the default, whatever the
# machine's /etc/isobox/isobox.conf or chassis says. isobox-runtime, podman's
# and containerd's runtime read it from $ISOBOX_CONFIG.
CONFIG = os.path.join(tempfile.mkdtemp(prefix="isobox-e2e-conf-"), "isobox.conf")
with open(CONFIG, "w") as f:
    f.write(f"default_isolation = {RUN_MODE}\nchassis_type_file = /nonexistent\n")
os.environ["ISOBOX_CONFIG"] = CONFIG
# A container that names no network gets docker's default, the bridge: not in
# the host's own network namespace. Tests that build networks do so in a
# namespace of their own (tests/e2e/netns.py) and drop this for their commands.
os.environ["ISOBOX_DEFAULT_NETWORK"] = "none"
atexit.register(shutil.rmtree, os.path.dirname(CONFIG), ignore_errors=True)
# The guest kernels for hyperv mode, installed once by tests/hyperv/prepare.sh.
KERNELS = os.environ.get("ISOBOX_TEST_KERNELS", os.path.join(REPO, "build", "hyperv", "root",
                                                              "kernels"))


def wait_for(check, seconds=120, interval=0.1):
    """Poll check until it holds or seconds pass; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


def image_with_appended(isobox, rootfs_tar, tar, extra, prefix):
    """Import the busybox rootfs with text appended to some of its files
    ({"./etc/group": "..."}) as a new image; its name."""
    with tarfile.open(rootfs_tar) as src, tarfile.open(tar, "w") as dst:
        for m in src.getmembers():
            if m.name in extra:
                data = (src.extractfile(m).read().decode() + extra[m.name]).encode()
                m.size = len(data)
                dst.addfile(m, io.BytesIO(data))
            else:
                dst.addfile(m, src.extractfile(m) if m.isfile() else None)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    isobox("import", str(tar), name, check=True)
    return name


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


@pytest.fixture
def api(isobox, tmp_path):
    """`isobox serve` on the session's store (tests/e2e/api_client.py)."""
    from api_client import service
    with service(isobox, tmp_path) as request:
        yield request


@pytest.fixture
def fresh_api(fresh, rootfs_tar, tmp_path):
    """`isobox serve` on a store of its own holding busybox, for tests that
    prune or count images: fresh_api.isobox is its isobox."""
    from api_client import service
    fresh("import", rootfs_tar, "busybox", check=True)
    with service(fresh, tmp_path) as request:
        request.isobox = fresh
        yield request


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def kvm_runs_firmware():
    """Whether this machine's /dev/kvm runs a guest: a few bytes of real-mode
    firmware that write 0 to the debug-exit port (PVM runs them too)."""
    if not os.path.exists("/dev/kvm"):
        return False, "this host has no /dev/kvm"
    with tempfile.NamedTemporaryFile(suffix=".bin") as fw:
        img = bytearray(b"\xf4" * 65536)
        img[-16:-11] = bytes([0xb0, 0, 0xe6, 0xf4, 0xf4])   # mov al,0; out 0xf4,al; hlt
        fw.write(img)
        fw.flush()
        try:
            r = subprocess.run([os.path.join(REPO, "build", "isobox-vmm"), "firmware", fw.name],
                               capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return False, "this host's /dev/kvm did not run a firmware guest in 30 s"
    if r.returncode != 0:
        return False, f"this host's /dev/kvm cannot run a guest ({r.stderr.strip()})"
    return True, ""


def pytest_configure(config):
    config.addinivalue_line("markers", "process_only(reason): what a VM cannot do, and why; "
                            "the hyperv run leaves it out, saying why")
    config.addinivalue_line("markers", "needs_kvm: runs a guest on /dev/kvm: on this host when "
                            "its /dev/kvm can, else in the test host's hyperv run")
    config.addinivalue_line("markers", "hyperv_only(reason): a hyperv container's own "
                            "behaviour, without the mode fixture: the hyperv run only")


def shard_costs():
    """tests/e2e/hyperv-costs.txt: {nodeid: seconds}, the default and the
    VMM's tests' head start of shard 1."""
    costs = {}
    with open(os.path.join(os.path.dirname(__file__), "hyperv-costs.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                a, b = line.split(maxsplit=1)
                if a in ("DEFAULT", "VMM"):
                    costs[a] = float(b)
                else:
                    costs[b.strip()] = float(a)
    return costs


def deal_shards(items, n, costs):
    """The shard of each item: the longest first to the least loaded shard
    (shard 1 starts with the VMM's tests), so the shards end together."""
    load = [costs["VMM"]] + [0.0] * (n - 1)
    shard_of = {}
    for item in sorted(items, key=lambda i: -costs.get(i.nodeid, costs["DEFAULT"])):
        k = min(range(n), key=lambda j: (load[j], j))
        load[k] += costs.get(item.nodeid, costs["DEFAULT"])
        shard_of[item.nodeid] = k + 1
    return shard_of


def take_shard(config, items):
    """ISOBOX_TEST_SHARD=K/N (tests/run.sh, one test host per shard): keep
    shard K's tests, dealt by their cost, so that N test hosts, one per core,
    share the hyperv run; the others are left out with that reason."""
    shard = os.environ.get("ISOBOX_TEST_SHARD", "")
    if not shard:
        return
    try:
        k, n = (int(x) for x in shard.split("/"))
    except ValueError:
        raise pytest.UsageError(f"ISOBOX_TEST_SHARD={shard!r}: want K/N, as 1/2")
    if not 1 <= k <= n:
        raise pytest.UsageError(f"ISOBOX_TEST_SHARD={shard!r}: K must be 1 to N")
    shard_of = deal_shards(items, n, shard_costs())
    others = [item for item in items if shard_of[item.nodeid] != k]
    deselect(config, others, f"shard {k}/{n}: the run's other shards run them")
    items[:] = [item for item in items if shard_of[item.nodeid] == k]


def pytest_collection_modifyitems(config, items):
    """The hyperv run runs every test not marked process_only (the tests that
    do not take `mode` get hyperv as the default, RUN_MODE); the process run
    runs the needs_kvm tests only where this host's /dev/kvm runs a guest."""
    for item in items:
        marker = item.get_closest_marker("process_only")
        if marker and not (marker.args and isinstance(marker.args[0], str) and marker.args[0]):
            raise pytest.UsageError(f"{item.nodeid}: process_only needs a reason: "
                                    "@pytest.mark.process_only(\"why a VM cannot\")")
    if RUN_MODE == "hyperv":
        reasons = {}
        for item in items:
            marker = item.get_closest_marker("process_only")
            if marker:
                reasons.setdefault(marker.args[0], []).append(item)
        for reason, left in reasons.items():
            deselect(config, left, f"process_only: {reason}")
        items[:] = [i for i in items if not i.get_closest_marker("process_only")]
        take_shard(config, items)
        return
    hv = {}
    for item in items:
        marker = item.get_closest_marker("hyperv_only")
        if marker:
            hv.setdefault(marker.args[0], []).append(item)
    for reason, left in hv.items():
        deselect(config, left, f"hyperv_only: {reason}: the hyperv run covers them")
    items[:] = [i for i in items if not i.get_closest_marker("hyperv_only")]
    kvm = [i for i in items if i.get_closest_marker("needs_kvm")]
    if kvm:
        runs, why = kvm_runs_firmware()
        if not runs:
            deselect(config, kvm, f"needs_kvm: {why}: they run in the test host (hyperv run)")
            items[:] = [i for i in items if not i.get_closest_marker("needs_kvm")]


# Registries on loopback (tests/e2e/registry.py): each fixture starts
# docker-registry on 127.0.0.1 and a free port, waits for /v2/, and stops it
# (and removes what it made, the certs.d dir of the tls mode included) after
# the test.
@pytest.fixture
def registry_factory(tmp_path):
    """make(mode="plain"|"tls"|"token", **kw): a started Registry; all of
    them are stopped after the test."""
    from registry import Registry
    made = []

    def make(mode="plain", **kw):
        reg = Registry(str(tmp_path / f"registry-{mode}-{len(made)}"), mode, **kw)
        made.append(reg)
        return reg.start()
    yield make
    for reg in made:
        reg.close()


@pytest.fixture
def registry(registry_factory):
    """A plain-HTTP registry."""
    return registry_factory("plain")


@pytest.fixture
def tls_registry(registry_factory):
    """HTTPS (a test CA, trusted in /etc/docker/certs.d/127.0.0.1:PORT/) with
    htpasswd Basic auth for registry.USER / registry.PASSWORD."""
    return registry_factory("tls")


@pytest.fixture
def token_registry(registry_factory):
    """Bearer token auth; .token_server.requests counts token requests."""
    return registry_factory("token")


@pytest.fixture
def fault_proxy(registry):
    """A logging, fault-injecting reverse proxy in front of `registry`."""
    from registry import FaultProxy
    with FaultProxy(registry) as proxy:
        yield proxy
