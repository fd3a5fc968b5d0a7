"""save, load, tag, history and image prune, against docker's formats and peers:
the reference dockerd 20.10 (on a private socket, in its own network and mount
namespaces), podman and skopeo. Archives the peers write are cached under
build/test-archives, so the hyperv run (in the test host) loads the same ones."""
import gzip
import hashlib
import io
import json
import os
import pty
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

from conftest import REPO, wait_for

CACHE = os.path.join(REPO, "build", "test-archives")


# ---- building archives with tarfile ----

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(entries):
    """entries: (name, kind, arg): file (bytes), dir, symlink (target), whiteout."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "file":
                info.size = len(arg)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(arg))
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, arg
                t.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, arg
                t.addfile(info)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


LAYER_MEDIA = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
               None: "application/vnd.oci.image.layer.v1.tar"}


class Archive:
    """An image archive being built: members by name, in order."""

    def __init__(self):
        self.members = []   # (TarInfo, bytes or None)

    def add(self, name, data=b"", kind="file", target=None):
        info = tarfile.TarInfo(name)
        if kind == "file":
            info.size = len(data)
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, target
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, target
        self.members.append((info, data if kind == "file" else None))

    def blob(self, data):
        name = "blobs/sha256/" + sha(data)[7:]
        if all(info.name != name for info, _ in self.members):
            self.add(name, data)
        return {"digest": sha(data), "size": len(data)}

    def write(self, path, compression=None):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for info, data in self.members:
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        with open(path, "wb") as f:
            f.write(compress(buf.getvalue(), compression))
        return path


def oci_image(archive, layers, ref="multi:1", history=None, diff_ids=None, cmd=None):
    """Add an image to an OCI archive. layers: (tar bytes, compression). Returns
    (config digest, manifest descriptor)."""
    descs, ids = [], []
    for data, how in layers:
        d = archive.blob(compress(data, how))
        d["mediaType"] = LAYER_MEDIA[how]
        descs.append(d)
        ids.append(sha(data))
    config = {"architecture": "amd64", "os": "linux",
              "created": "2026-01-02T03:04:05Z",
              "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids or ids},
              "history": history or [{"created": "2026-01-02T03:04:05Z",
                                      "created_by": f"layer {i}"} for i in range(len(layers))]}
    cfg = json.dumps(config).encode()
    cdesc = archive.blob(cfg)
    cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": cdesc, "layers": descs}).encode()
    mdesc = archive.blob(manifest)
    mdesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    if ref:
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": ref}
    return sha(cfg), mdesc


def oci_finish(archive, descs):
    archive.add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    archive.add("index.json", json.dumps({"schemaVersion": 2, "manifests": descs}).encode())


def busybox_layer(rootfs_tar):
    with open(rootfs_tar, "rb") as f:
        return f.read()


def multi_layer_archive(rootfs_tar, path, ref="multi:1"):
    """busybox (gzip), then files (zstd), then whiteouts and an opaque dir (plain)."""
    l2 = tar_of([("etc/", "dir", None), ("etc/motd", "file", b"second layer\n"),
                 ("etc/gone", "file", b"to be deleted\n"), ("opt/", "dir", None),
                 ("opt/d/", "dir", None), ("opt/d/a", "file", b"a"),
                 ("opt/d/b", "file", b"b")])
    l3 = tar_of([("etc/", "dir", None), ("etc/.wh.gone", "file", b""),
                 ("opt/", "dir", None), ("opt/d/", "dir", None),
                 ("opt/d/.wh..wh..opq", "file", b""), ("opt/d/c", "file", b"c")])
    history = [{"created": "2026-01-02T03:04:05Z", "created_by": "ADD rootfs.tar /"},
               {"created": "2026-01-02T03:04:06Z", "created_by": "ENV PATH=/bin",
                "empty_layer": True},
               {"created": "2026-01-02T03:04:07Z",
                "created_by": "/bin/sh -c echo second layer > /etc/motd && mkdir -p /opt/d "
                              "&& touch /opt/d/a /opt/d/b /etc/gone"},
               {"created": "2026-01-02T03:04:08Z", "created_by": "RUN rm /etc/gone",
                "comment": "third"}]
    a = Archive()
    cfg, desc = oci_image(a, [(busybox_layer(rootfs_tar), "gzip"), (l2, "zstd"), (l3, None)],
                          ref=ref, history=history)
    oci_finish(a, [desc])
    a.write(path)
    return cfg


# ---- peers: the reference dockerd, podman, skopeo ----

def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is missing: run scripts/install-deps.sh"
    return path


class RefDocker:
    """dockerd 20.10 on a private socket, data root and network namespace."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="isobox-refd-")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.log = open(os.path.join(self.dir, "log"), "w")
        tool("dockerd")
        self.proc = subprocess.Popen(
            ["unshare", "-n", "-m", "sh", "-c",
             f"ip link set lo up; exec dockerd --data-root {self.dir}/data "
             f"--exec-root {self.dir}/exec -H unix://{self.sock} --pidfile {self.dir}/pid "
             "--bridge=none --iptables=false --ip6tables=false"],
            stdout=self.log, stderr=self.log)
        if not wait_for(lambda: self("version").returncode == 0, 60, 0.5):
            self.stop()
            raise AssertionError("the reference dockerd did not start: " +
                                 open(os.path.join(self.dir, "log")).read()[-2000:])

    def __call__(self, *args, check=False, input=None):
        env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}")
        r = subprocess.run([tool("docker"), *args], env=env, capture_output=True,
                           input=input, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {r.stderr.decode()}")
        return r

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def refdocker():
    d = RefDocker()
    try:
        yield d
    finally:
        d.stop()


class Podman:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="isobox-podman-")

    def __call__(self, *args):
        return subprocess.run(
            [tool("podman"), "--root", f"{self.dir}/s", "--runroot", f"{self.dir}/r",
             "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", *args],
            capture_output=True, text=True, timeout=300, check=True)


def cached(name, build):
    """build(path) once; later runs (the hyperv one included) reuse the file."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        build(tmp)
        os.rename(tmp, path)
    return path


@pytest.fixture(scope="module")
def docker_legacy_tar(request, rootfs_tar):
    def build(path):
        d = request.getfixturevalue("refdocker")
        d("import", "-m", "from dockerd", "-c", 'CMD ["sh"]', rootfs_tar, "refbb:20",
          check=True)
        d("save", "-o", path, "refbb:20", check=True)
    return cached("dockerd-20.10-save.tar", build)


@pytest.fixture(scope="module")
def podman_archives(rootfs_tar):
    def build_one(fmt):
        def build(path):
            p = Podman()
            try:
                p("import", rootfs_tar, "localhost/pbb:1")
                p("save", "--format", fmt, "-o", path, "localhost/pbb:1")
            finally:
                shutil.rmtree(p.dir, ignore_errors=True)
        return build
    return {fmt: cached(f"podman-{fmt}.tar", build_one(fmt))
            for fmt in ("docker-archive", "oci-archive")}


@pytest.fixture(scope="module")
def skopeo_archive(docker_legacy_tar):
    def build(path):
        subprocess.run([tool("skopeo"), "copy", "-q", "--dest-compress-format", "zstd",
                        f"docker-archive:{docker_legacy_tar}", f"oci-archive:{path}:skbb:2"],
                       check=True, capture_output=True, timeout=300)
    return cached("skopeo-oci-zstd.tar", build)


# ---- helpers ----

def inspect(ib, ref):
    return json.loads(ib.out("image", "inspect", ref))[0]


def snapshot(root):
    """What a failed load must not change: every file of the store, and index.json."""
    files = []
    for dirpath, dirs, names in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel.startswith(("containers", "kernels", "cache")):
            continue
        files += [os.path.join(rel, n) for n in names + dirs if not n.endswith(".lock")
                  and not n.startswith(".lock-")]
    index = os.path.join(root, "index.json")
    return sorted(files), open(index).read() if os.path.exists(index) else None


def run_echo(ib, mode, ref, *cmd):
    r = ib("run", "--rm", f"--isolation={mode}", ref, *cmd, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


# ---- round trips and peers ----

def test_save_rmi_load_round_trip(fresh, rootfs_tar, tmp_path, mode):
    fresh("import", "-m", "round trip", rootfs_tar, "rt:1", check=True)
    fresh("tag", "rt:1", "rt:2", check=True)
    before = inspect(fresh, "rt:1")
    out = tmp_path / "rt.tar"
    fresh("save", "-o", str(out), "rt", check=True)
    with tarfile.open(out) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
        index = json.load(t.extractfile("index.json"))
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(names)
    assert manifest[0]["Config"] == "blobs/sha256/" + before["Id"][7:]
    assert sorted(manifest[0]["RepoTags"]) == ["rt:1", "rt:2"]
    assert all(l.startswith("blobs/sha256/") and l in names for l in manifest[0]["Layers"])
    assert sorted(d["annotations"]["io.containerd.image.name"] for d in index["manifests"]) \
        == ["docker.io/library/rt:1", "docker.io/library/rt:2"]
    r = fresh("rmi", "rt:1", "rt:2")
    assert r.returncode == 0 and "Deleted: " + before["Id"] in r.stdout
    assert not os.listdir(os.path.join(fresh.root, "blobs", "sha256"))
    r = fresh("load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["Loaded image: rt:1", "Loaded image: rt:2"]
    after = inspect(fresh, "rt:1")
    assert after["Id"] == before["Id"]
    assert sorted(after["RepoTags"]) == ["rt:1", "rt:2"]
    assert after["RootFS"] == before["RootFS"] and after["Size"] == before["Size"]
    assert run_echo(fresh, mode, "rt:2", "cat", "/etc/group").startswith("root:x:0:")


def test_load_compressed_from_stdin(fresh, rootfs_tar, tmp_path):
    fresh("import", rootfs_tar, "cz:1", check=True)
    r = subprocess.run(fresh.cmd("save", "cz:1"), capture_output=True, check=True)
    plain = r.stdout
    fresh("rmi", "cz:1", check=True)
    for prog in (["gzip", "-c"], ["xz", "-c"], ["zstd", "-q", "-c"], ["bzip2", "-c"], None):
        data = plain if prog is None else subprocess.run(prog, input=plain, check=True,
                                                         capture_output=True).stdout
        r = subprocess.run(fresh.cmd("load"), input=data, capture_output=True)
        assert (r.returncode, r.stdout) == (0, b"Loaded image: cz:1\n"), (prog, r.stderr)
        fresh("rmi", "cz:1", check=True)


def test_load_dockerd_save(fresh, docker_legacy_tar, mode):
    """docker 20.10's layout: <id>/layer.tar, <id>.json, manifest.json."""
    with tarfile.open(docker_legacy_tar) as t:
        assert any(n.endswith("/layer.tar") for n in t.getnames())
        config = json.load(t.extractfile(json.load(t.extractfile("manifest.json"))[0]["Config"]))
    r = fresh("load", "-i", docker_legacy_tar)
    assert (r.returncode, r.stdout) == (0, "Loaded image: refbb:20\n"), r.stderr
    img = inspect(fresh, "refbb:20")
    assert img["RootFS"]["Layers"] == config["rootfs"]["diff_ids"]
    assert img["Comment"] == "from dockerd"
    assert run_echo(fresh, mode, "refbb:20", "echo", "from", "docker") == "from docker\n"


@pytest.mark.process_only("the reference dockerd runs beside the test, not in a VM")
def test_dockerd_loads_isobox_save(fresh, rootfs_tar, refdocker, tmp_path):
    fresh("import", "-c", 'CMD ["echo", "hi"]', rootfs_tar, "fromisobox:1", check=True)
    multi_layer_archive(rootfs_tar, str(tmp_path / "m.tar"), ref="frommulti:1")
    fresh("load", "-i", str(tmp_path / "m.tar"), check=True)
    out = str(tmp_path / "x.tar")
    fresh("save", "-o", out, "fromisobox:1", "frommulti:1", check=True)
    r = refdocker("load", "-i", out)
    assert r.returncode == 0 and b"Loaded image: fromisobox:1" in r.stdout, r.stderr
    assert b"Loaded image: frommulti:1" in r.stdout
    for ref in ("fromisobox:1", "frommulti:1"):
        r = refdocker("image", "inspect", "--format", "{{.Id}}", ref, check=True)
        assert r.stdout.decode().strip() == inspect(fresh, ref)["Id"]
    # docker's history of it is isobox's, column for column.
    theirs = refdocker("history", "frommulti:1", check=True).stdout.decode()
    assert theirs == fresh.out("history", "frommulti:1")
    r = refdocker("run", "--rm", "--network", "none", "frommulti:1", "sh", "-c",
                  "cat /etc/motd; ls /opt/d; test -e /etc/gone || echo gone", check=True)
    assert r.stdout == b"second layer\nc\ngone\n"


def test_save_decompresses_layers(fresh, rootfs_tar, tmp_path):
    """As docker save: each layer a plain tar named by its diff id, even when
    the store holds it gzip'ed or zstd'ed; the image loads back the same."""
    multi_layer_archive(rootfs_tar, str(tmp_path / "m.tar"))
    fresh("load", "-i", str(tmp_path / "m.tar"), check=True)
    img = inspect(fresh, "multi:1")
    out = str(tmp_path / "s.tar")
    fresh("save", "-o", out, "multi:1", check=True)
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))[0]
        index = json.load(t.extractfile("index.json"))
        assert manifest["Layers"] == ["blobs/sha256/" + d[7:] for d in img["RootFS"]["Layers"]]
        for name in manifest["Layers"]:
            assert sha(t.extractfile(name).read())[7:] == name.split("/")[-1]
        oci = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        assert [l["mediaType"] for l in oci["layers"]] == [LAYER_MEDIA[None]] * 3
        assert [l["digest"] for l in oci["layers"]] == img["RootFS"]["Layers"]
    fresh("rmi", "multi:1", check=True)
    r = fresh("load", "-i", out)
    assert (r.returncode, r.stdout) == (0, "Loaded image: multi:1\n"), r.stderr
    assert inspect(fresh, "multi:1")["Id"] == img["Id"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_load_podman_save(fresh, podman_archives, fmt, mode):
    r = fresh("load", "-i", podman_archives[fmt])
    assert (r.returncode, r.stdout) == (0, "Loaded image: localhost/pbb:1\n"), r.stderr
    assert run_echo(fresh, mode, "localhost/pbb:1", "echo", fmt) == fmt + "\n"


def test_load_skopeo_oci_archive(fresh, skopeo_archive, mode):
    """skopeo copy docker-archive:... oci-archive:...:skbb:2, zstd layers."""
    r = fresh("load", "-q", "-i", skopeo_archive)
    assert (r.returncode, r.stdout) == (0, "Loaded image: skbb:2\n"), r.stderr
    assert run_echo(fresh, mode, "skbb:2", "cat", "/etc/passwd").startswith("root:x:0:0:")


def test_load_multi_layer_oci(fresh, rootfs_tar, tmp_path):
    """gzip, zstd and plain layers, whiteouts and an opaque directory; the
    container runs in process isolation (multi-layer images in VMs are built
    on another branch)."""
    path = str(tmp_path / "multi.tar")
    cfg = multi_layer_archive(rootfs_tar, path)
    r = fresh("load", "-i", path)
    assert (r.returncode, r.stdout) == (0, "Loaded image: multi:1\n"), r.stderr
    img = inspect(fresh, "multi:1")
    assert img["Id"] == cfg and len(img["RootFS"]["Layers"]) == 3
    out = run_echo(fresh, "process", "multi:1", "sh", "-c",
                   "cat /etc/motd; ls /opt/d; test -e /etc/gone || echo gone")
    assert out == "second layer\nc\ngone\n"
    # An untagged second load of the same image changes nothing.
    r = fresh("load", "-i", path)
    assert r.stdout == "Loaded image: multi:1\n"
    assert fresh.out("images", "-q") == cfg[7:19] + "\n"


def test_load_oci_index_platforms(fresh, rootfs_tar, tmp_path):
    """A nested index with arm64 and amd64 entries: the amd64 one is loaded."""
    a = Archive()
    layer = busybox_layer(rootfs_tar)
    arm_cfg, arm = oci_image(a, [(layer, "gzip")], ref=None, cmd=["arm"])
    amd_cfg, amd = oci_image(a, [(layer, "gzip")], ref=None, cmd=["amd"])
    arm["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    amd["platform"] = {"os": "linux", "architecture": "amd64"}
    inner = json.dumps({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [arm, amd]}).encode()
    d = a.blob(inner)
    d["mediaType"] = "application/vnd.oci.image.index.v1+json"
    d["annotations"] = {"io.containerd.image.name": "docker.io/library/plat:1"}
    oci_finish(a, [d])
    r = fresh("load", "-i", a.write(str(tmp_path / "idx.tar"), "gzip"))
    assert (r.returncode, r.stdout) == (0, "Loaded image: plat:1\n"), r.stderr
    assert inspect(fresh, "plat:1")["Id"] == amd_cfg


def test_load_untagged_prints_id(fresh, rootfs_tar, tmp_path):
    a = Archive()
    cfg, desc = oci_image(a, [(busybox_layer(rootfs_tar), None)], ref="latest")
    oci_finish(a, [desc])
    r = fresh("load", "-i", a.write(str(tmp_path / "u.tar")))
    assert (r.returncode, r.stdout) == (0, f"Loaded image ID: {cfg}\n"), r.stderr
    assert fresh.out("images", "--format", "json").count('"Repository":"<none>"') == 1


# ---- hostile archives: refused, the store unchanged ----

def hostile_cases(rootfs_tar):
    layer = busybox_layer(rootfs_tar)
    small = tar_of([("hello", "file", b"hi")])
    cases = {}

    def oci(name, mutate=None, layers=None, **kw):
        a = Archive()
        cfg, desc = oci_image(a, layers or [(small, "gzip")], **kw)
        oci_finish(a, [desc])
        if mutate:
            mutate(a, desc)
        cases[name] = a

    oci("dotdot member", lambda a, d: a.add("../escape", b"x"))
    oci("absolute member", lambda a, d: a.add("/tmp/isobox-escape", b"x"))
    oci("symlink among blobs", lambda a, d: a.add("blobs/sha256/" + "0" * 64,
                                                  kind="symlink", target="/etc/passwd"))
    oci("hardlink", lambda a, d: a.add("blobs/sha256/" + "1" * 64, kind="hardlink",
                                       target="oci-layout"))

    def drop(a, d):
        a.members = [m for m in a.members if m[0].name != "blobs/sha256/" + d["digest"][7:]]
    oci("manifest missing", drop)

    def corrupt_layer(a, d):
        info, data = a.members[0]
        a.members[0] = (info, data[:-1] + bytes([data[-1] ^ 1]))
    oci("digest mismatch", corrupt_layer)
    oci("diff id mismatch", layers=[(small, "zstd")], diff_ids=[sha(b"not this layer")])
    oci("traversal in a layer", layers=[(layer, "gzip"),
                                        (tar_of([("../../escape", "file", b"x")]), "gzip")])

    nested = Archive()
    _, d = oci_image(nested, [(small, "gzip")], ref=None)
    for _ in range(6):
        inner = json.dumps({"schemaVersion": 2, "manifests": [d]}).encode()
        d = nested.blob(inner)
        d["mediaType"] = "application/vnd.oci.image.index.v1+json"
    oci_finish(nested, [d])
    cases["indexes nested too deep"] = nested

    big = Archive()
    big.add("manifest.json", b"[" + b" " * (5 << 20) + b"]")
    cases["oversized manifest.json"] = big

    legacy = Archive()
    legacy.add("abc/layer.tar", kind="symlink", target="/etc/passwd")
    legacy.add("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["x:1"],
                                             "Layers": ["abc/layer.tar"]}]).encode())
    cases["legacy link out"] = legacy
    return cases


def test_hostile_archives_refused(fresh, rootfs_tar, tmp_path):
    fresh("import", rootfs_tar, "keep:1", check=True)
    before = snapshot(fresh.root)
    for name, archive in hostile_cases(rootfs_tar).items():
        path = archive.write(str(tmp_path / "h.tar"))
        r = fresh("load", "-i", path)
        assert r.returncode == 125 and r.stdout == "", (name, r.stdout, r.stderr)
        assert "isobox: " in r.stderr, name
        assert snapshot(fresh.root) == before, name
        assert not os.path.exists("/tmp/isobox-escape") and \
            not os.path.exists(os.path.join(fresh.root, "..", "escape")), name
    assert fresh.out("images", "-q").strip() == inspect(fresh, "keep:1")["Id"][7:19]


def test_hostile_messages(fresh, rootfs_tar, tmp_path):
    cases = hostile_cases(rootfs_tar)
    want = {"dotdot member": "points outside the archive",
            "symlink among blobs": "links are not allowed",
            "hardlink": "links are not allowed",
            "manifest missing": "is missing",
            "digest mismatch": "failed verification",
            "diff id mismatch": "failed verification: its content hashes to sha256:",
            "traversal in a layer": "outside the layer",
            "oversized manifest.json": "too large",
            "indexes nested too deep": "nested more than"}
    for name, text in want.items():
        r = fresh("load", "-i", cases[name].write(str(tmp_path / "h.tar")))
        assert text in r.stderr, (name, r.stderr)


def test_load_refuses_terminal_and_garbage(fresh, tmp_path):
    (tmp_path / "junk").write_bytes(b"not an archive at all" * 100)
    r = fresh("load", "-i", str(tmp_path / "junk"))
    assert r.returncode == 125 and "invalid image archive" in r.stderr
    r = subprocess.run(fresh.cmd("load"), input=b"", capture_output=True)
    assert r.returncode == 125 and b"empty" in r.stderr
    primary, secondary = pty.openpty()
    try:
        r = subprocess.run(fresh.cmd("load"), stdin=secondary, capture_output=True, timeout=30)
    finally:
        os.close(primary)
        os.close(secondary)
    assert r.returncode == 1
    assert b"requested load from stdin, but stdin is empty" in r.stderr


def test_save_refuses_terminal(isobox):
    primary, secondary = pty.openpty()
    try:
        r = subprocess.run(isobox.cmd("save", "busybox"), stdout=secondary,
                           stderr=subprocess.PIPE, timeout=30)
    finally:
        os.close(primary)
        os.close(secondary)
    assert r.returncode == 1
    assert b"cowardly refusing to save to a terminal. Use the -o flag or redirect" in r.stderr
    r = isobox("save", "-o", "/nonexistent-dir/x.tar", "busybox")
    assert r.returncode == 125 and "/nonexistent-dir/x.tar" in r.stderr
    r = isobox("save", "nosuchimage:1")
    assert r.returncode == 125 and "not found" in r.stderr


# ---- tag, history, prune ----

def test_tag(fresh, rootfs_tar):
    fresh("import", rootfs_tar, "src:1", check=True)
    assert fresh("tag", "src:1", "reg.example:5000/team/dst:2").returncode == 0
    assert fresh("image", "tag", "src:1", "dst").returncode == 0
    img = inspect(fresh, "reg.example:5000/team/dst:2")
    assert sorted(img["RepoTags"]) == ["dst:latest", "reg.example:5000/team/dst:2", "src:1"]
    assert fresh.out("images", "-q") == img["Id"][7:19] + "\n"
    r = fresh("tag", "missing:1", "x:1")
    assert r.returncode == 125 and "missing:1" in r.stderr
    r = fresh("tag", "src:1", "Bad:Name")
    assert r.returncode == 125 and "invalid reference format" in r.stderr
    r = fresh("tag", "src:1")
    assert r.returncode == 125 and "requires exactly 2 arguments" in r.stderr
    # A tag moves: the image it leaves keeps its other names.
    fresh("import", rootfs_tar, "other:1", check=True)
    fresh("tag", "other:1", "src:1", check=True)
    assert inspect(fresh, "src:1")["Id"] == inspect(fresh, "other:1")["Id"]
    assert "src:1" not in inspect(fresh, "reg.example:5000/team/dst:2")["RepoTags"]


def test_history(fresh, rootfs_tar, tmp_path):
    fresh("import", "-m", "hello msg", rootfs_tar, "h:1", check=True)
    img = inspect(fresh, "h:1")
    lines = fresh.out("history", "h:1").splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert lines[1].startswith(img["Id"][7:19] + "   ") and lines[1].endswith("hello msg")
    assert "1.98MB" in lines[1] or "MB" in lines[1]
    assert fresh.out("history", "-q", "h:1") == img["Id"][7:19] + "\n"
    assert fresh.out("history", "-q", "--no-trunc", "h:1") == img["Id"] + "\n"
    raw = fresh.out("image", "history", "--human=false", "h:1").splitlines()
    assert raw[0].split()[:3] == ["IMAGE", "CREATED", "AT"]
    assert f" {img['Size']} " in raw[1]
    # Many steps: newest first, <missing> below the top, empty steps 0B,
    # CREATED BY cut at 45 columns unless --no-trunc.
    multi_layer_archive(rootfs_tar, str(tmp_path / "m.tar"), ref="hist:1")
    fresh("load", "-i", str(tmp_path / "m.tar"), check=True)
    rows = fresh.out("history", "hist:1").splitlines()[1:]
    assert len(rows) == 4
    assert rows[0].split()[0] == inspect(fresh, "hist:1")["Id"][7:19]
    assert all(r.startswith("<missing>") for r in rows[1:])
    assert "RUN rm /etc/gone" in rows[0] and rows[0].endswith("third")
    assert "   /bin/sh -c echo second layer > /etc/motd && …   29B   " in rows[1]
    assert "ENV PATH=/bin" in rows[2] and " 0B " in rows[2]
    full = fresh.out("history", "--no-trunc", "hist:1")
    assert "&& touch /opt/d/a /opt/d/b /etc/gone" in full
    assert fresh.out("history", "-q", "hist:1").splitlines()[1:] == ["<missing>"] * 3
    r = fresh("history", "nope:1")
    assert r.returncode == 125 and "not found" in r.stderr


def test_image_prune(fresh, rootfs_tar, tmp_path):
    fresh("import", rootfs_tar, "kept:1", check=True)
    dangling = fresh.out("import", "-m", "dangling", rootfs_tar).strip()
    own = tmp_path / "own.tar"
    own.write_bytes(tar_of([("bin/", "dir", None), ("bin/own", "file", b"hello")]))
    unused = fresh.out("import", str(own), "unused:1").strip()
    used = fresh.out("import", "-c", "ENV Y=1", rootfs_tar, "used:1").strip()
    fresh("create", "--name", f"user-{uuid.uuid4().hex[:6]}", "used:1", "true", check=True)
    # Without -f it asks; anything but y leaves everything.
    r = fresh("image", "prune", input="n\n")
    assert r.returncode == 0
    assert r.stdout == ("WARNING! This will remove all dangling images.\n"
                        "Are you sure you want to continue? [y/N] ")
    assert dangling[7:19] in fresh.out("images", "-q")
    r = fresh("image", "prune", input="y\n")
    assert r.returncode == 0
    assert f"Deleted Images:\ndeleted: {dangling}\n" in r.stdout
    assert r.stdout.endswith("\nTotal reclaimed space: 0B\n")  # its layer is shared
    assert dangling[7:19] not in fresh.out("images", "-q")
    r = fresh("image", "prune", "-f")
    assert r.stdout == "Total reclaimed space: 0B\n"
    r = fresh("image", "prune", "-a", input="N\n")
    assert "all images without at least one container associated to them" in r.stdout
    r = fresh("image", "prune", "-a", "-f")
    assert r.returncode == 0
    assert "untagged: kept:1\n" in r.stdout and "untagged: unused:1\n" in r.stdout
    assert f"deleted: {unused}\n" in r.stdout and used not in r.stdout
    assert "untagged: used:1" not in r.stdout
    # The layers kept:1 shares with used:1 stay; unused:1's own goes.
    assert r.stdout.endswith("\n\nTotal reclaimed space: 5B\n")
    assert fresh.out("images", "-q").strip() == used[7:19]


def test_digest_reference(fresh, skopeo_archive, mode):
    """NAME@sha256:<manifest digest> names the image whose manifest that is."""
    fresh("load", "-i", skopeo_archive, check=True)
    with open(os.path.join(fresh.root, "index.json")) as f:
        manifest = json.load(f)["manifests"][0]["digest"]
    ref = f"skbb@{manifest}"
    assert inspect(fresh, ref)["Id"] == inspect(fresh, "skbb:2")["Id"]
    assert run_echo(fresh, mode, ref, "echo", "by digest") == "by digest\n"
    r = fresh("image", "inspect", f"other@{manifest}")
    assert r.returncode == 125 and "not found" in r.stderr
    r = fresh("image", "inspect", "skbb@sha256:1234")
    assert r.returncode == 125 and "invalid reference format" in r.stderr
    r = fresh("rmi", ref)
    assert r.returncode == 0 and "Untagged: skbb:2" in r.stdout
    assert fresh.out("images", "-q") == ""


def test_load_moves_a_name(fresh, rootfs_tar, tmp_path):
    """As docker: a loaded name that another image had moves, and load says so;
    a staging directory a killed load left behind is cleaned up."""
    old = fresh.out("import", rootfs_tar, "moved:1").strip()
    path = str(tmp_path / "m.tar")
    cfg = multi_layer_archive(rootfs_tar, path, ref="moved:1")
    stale = os.path.join(fresh.root, ".load-stale1")
    os.makedirs(os.path.join(stale, "x"))
    r = fresh("load", "-i", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"The image moved:1 already exists, renaming the old one with ID {old} "
                        "to empty string\nLoaded image: moved:1\n")
    assert inspect(fresh, "moved:1")["Id"] == cfg
    assert inspect(fresh, old)["RepoTags"] == []
    assert not os.path.exists(stale)
    assert not [n for n in os.listdir(fresh.root) if n.startswith(".load-")]


@pytest.mark.process_only("podman and skopeo read the archive beside the test, not in a VM")
def test_podman_and_skopeo_read_isobox_save(fresh, rootfs_tar, tmp_path):
    img = fresh.out("import", rootfs_tar, "topodman:1").strip()
    out = str(tmp_path / "p.tar")
    fresh("save", "-o", out, "topodman:1", check=True)
    p = Podman()
    try:
        r = p("load", "-i", out)
        assert "Loaded image: docker.io/library/topodman:1" in r.stdout
        assert p("image", "inspect", "--format", "{{.Id}}", "topodman:1").stdout.strip() \
            == img[7:]
    finally:
        shutil.rmtree(p.dir, ignore_errors=True)
    r = subprocess.run([tool("skopeo"), "inspect", "--config", f"oci-archive:{out}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rootfs"]["diff_ids"] == inspect(fresh, "topodman:1")["RootFS"]["Layers"]


def test_one_image_two_manifests_removed_whole(fresh, podman_archives):
    """The same image from a docker and an OCI archive (two manifests, a plain
    and a gzip layer blob): one image, and rmi leaves no blob or layer behind."""
    for fmt in ("docker-archive", "oci-archive"):
        fresh("load", "-i", podman_archives[fmt], check=True)
    assert len(fresh.out("images", "-q").split()) == 1
    r = fresh("rmi", "localhost/pbb:1")
    assert r.returncode == 0 and "Deleted: sha256:" in r.stdout, r.stderr
    assert os.listdir(os.path.join(fresh.root, "blobs", "sha256")) == []
    assert [n for n in os.listdir(os.path.join(fresh.root, "layers"))
            if not n.startswith(".lock")] == []
