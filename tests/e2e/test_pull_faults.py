"""Pulls that go wrong, against a real docker-registry behind FaultProxy
(tests/e2e/registry.py), which logs every request and injects the faults:
a 5xx on a blob GET is retried; a blob response cut halfway resumes with a
Range request; the registry killed mid-pull and restarted leaves either a
complete image (resumed) or a clean failure; a `kill -9` of `isobox pull`
leaves no half image, and the next pull reuses the partial blob (Range).
Two pulls of one image at once download each blob once.

Whatever happens, the store never holds an unverified blob: every file of
ROOT/blobs/sha256 but the .partial-* and .lock-* ones hashes to its name."""
import hashlib
import os
import signal
import subprocess
import threading
import time

import pytest

import oci_images as oi
from conftest import wait_for
from registry import FaultProxy

NO_VM = "pulling into the store does not depend on the isolation mode"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return oi.busybox3(str(tmp_path_factory.mktemp("oci") / "busybox3"))


def store_is_verified(isobox):
    """Every named blob in the store hashes to its name; the names of the
    partial files."""
    d = os.path.join(isobox.root, "blobs", "sha256")
    partial = []
    for name in os.listdir(d) if os.path.isdir(d) else []:
        if name.startswith(".partial-"):
            partial.append(name)
            continue
        if name.startswith(".lock-"):
            continue
        h = hashlib.sha256()
        with open(os.path.join(d, name), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        assert h.hexdigest() == name, f"unverified blob in the store: {name}"
    return partial


def images(isobox):
    """The store's images: (repository, tag, id) of each."""
    return sorted(tuple(l.split()[:3]) for l in
                  isobox.out("images", "--no-trunc").splitlines()[1:])


def blob_gets(proxy, digest):
    return [e for e in proxy.blob_log() if e["path"].endswith("/blobs/" + digest)]


def biggest_layer(layout):
    m, _ = oi.layout_manifest(layout)
    return max(m["layers"], key=lambda l: l["size"])


@pytest.mark.process_only(NO_VM)
def test_5xx_on_blob_is_retried(fresh, registry, small):
    ref_path = oi.push(small, registry, "bb3").split("/", 1)[1]
    with FaultProxy(registry) as proxy:
        proxy.fail_blob_get[1] = 503
        proxy.fail_blob_get[2] = 502
        r = fresh("pull", "-q", f"{proxy.host}/{ref_path}", timeout=120)
        assert r.returncode == 0, r.stderr
        failed = [e for e in proxy.blob_log() if e["status"] in (502, 503)]
        assert len(failed) == 2
        for e in failed:   # each failed blob was asked again, and served
            assert any(o["path"] == e["path"] and o["status"] in (200, 206)
                       for o in proxy.blob_log()), proxy.log
    store_is_verified(fresh)


def test_cut_blob_resumes_with_range(fresh, mode, registry, small):
    """A blob response dropped halfway: the next request asks for the rest
    (Range: bytes=N-), not the whole blob again; the image runs."""
    ref_path = oi.push(small, registry, "bb3").split("/", 1)[1]
    big = biggest_layer(small)
    with FaultProxy(registry) as proxy:
        proxy.cut_blob_get[big["digest"]] = 0.5
        r = fresh("pull", "-q", f"{proxy.host}/{ref_path}", timeout=120)
        assert r.returncode == 0, r.stderr
        gets = blob_gets(proxy, big["digest"])
        assert len(gets) >= 2 and gets[0]["sent"] < big["size"], gets
        resumed = [e for e in gets[1:] if e["range"]]
        assert resumed, f"no Range request after the cut: {gets}"
        start = resumed[0]["range"].removeprefix("bytes=").removesuffix("-")
        assert 0 < int(start) <= gets[0]["sent"], gets
        assert resumed[0]["status"] == 206
        r = fresh("run", "--rm", f"--isolation={mode}", f"{proxy.host}/{ref_path}", "sh", "-c",
                  oi.BUSYBOX3_CHECK, timeout=300)
        assert (r.returncode, r.stdout) == (0, oi.BUSYBOX3_EXPECT), r.stderr
    assert store_is_verified(fresh) == []


@pytest.mark.process_only(NO_VM)
def test_registry_killed_mid_pull_then_restarted(fresh, registry):
    """The registry dies with half of the image sent, and comes back 2 s
    later: the pull either resumes and completes (a runnable image) or fails
    with a message; no half image is left, nothing unverified is stored."""
    layout = oi.debian()
    ref_path = oi.push(layout, registry, "debian").split("/", 1)[1]
    total = oi.layout_size(layout)
    before = images(fresh)
    with FaultProxy(registry, rate=20 << 20) as proxy:
        killed = threading.Event()

        def on_bytes(n, sent):
            if not killed.is_set() and sum(e["sent"] for e in proxy.blob_log()) > total // 2:
                killed.set()
                registry.kill()
                threading.Timer(2.0, registry.start).start()
        proxy.on_blob_bytes = on_bytes
        r = fresh("pull", f"{proxy.host}/{ref_path}", timeout=600)
        assert killed.is_set(), "the pull ended before half the image was sent"
        wait_for(lambda: registry.proc is not None, 30)
        store_is_verified(fresh)
        if r.returncode == 0:
            assert len(images(fresh)) == len(before) + 1
            out = fresh.out("run", "--rm", "--isolation=process", f"{proxy.host}/{ref_path}",
                            "cat", "/etc/debian_version", timeout=120)
            assert out.startswith("12")
        else:
            assert r.stderr.strip(), "a failed pull says why"
            assert images(fresh) == before, "a failed pull left an image"
            # ... and a pull once the registry is back completes.
            r = fresh("pull", "-q", f"{proxy.host}/{ref_path}", timeout=600)
            assert r.returncode == 0, r.stderr
    assert store_is_verified(fresh) == []


@pytest.mark.process_only(NO_VM)
def test_kill9_of_pull_then_pull_reuses_partial(fresh, registry):
    """kill -9 of `isobox pull` mid-blob: no image, nothing unverified; the
    next pull completes and asks only for the rest of the partial blob."""
    layout = oi.debian()
    ref_path = oi.push(layout, registry, "debian").split("/", 1)[1]
    big = biggest_layer(layout)
    before = images(fresh)
    with FaultProxy(registry, rate=16 << 20) as proxy:
        ref = f"{proxy.host}/{ref_path}"
        p = subprocess.Popen(fresh.cmd("pull", ref), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            assert wait_for(lambda: any(e["sent"] > big["size"] // 3
                                        for e in blob_gets(proxy, big["digest"])), 120), \
                proxy.log
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        assert images(fresh) == before, "a killed pull left an image"
        partial = store_is_verified(fresh)
        assert ".partial-" + big["digest"].split(":")[1] in partial, partial
        first = len(proxy.log)
        proxy.rate = None
        r = fresh("pull", "-q", ref, timeout=600)
        assert r.returncode == 0, r.stderr
        again = [e for e in proxy.log[first:] if e["path"].endswith("/blobs/" + big["digest"])]
        assert again and again[0]["range"], again
        assert int(again[0]["range"].removeprefix("bytes=").removesuffix("-")) > 0, again
    assert len(images(fresh)) == len(before) + 1
    assert store_is_verified(fresh) == []


@pytest.mark.process_only(NO_VM)
def test_two_concurrent_pulls_download_each_blob_once(fresh, registry, small):
    ref_path = oi.push(small, registry, "bb3").split("/", 1)[1]
    with FaultProxy(registry, rate=4 << 20) as proxy:
        ref = f"{proxy.host}/{ref_path}"
        procs = [subprocess.Popen(fresh.cmd("pull", "-q", ref), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            assert out.strip() == ref
        m, _ = oi.layout_manifest(small)
        for layer in m["layers"]:
            gets = [e for e in blob_gets(proxy, layer["digest"]) if e["status"] == 200]
            assert len(gets) == 1, (layer["digest"], proxy.log)
    assert len(images(fresh)) == 1
    assert store_is_verified(fresh) == []
