"""Test images written as OCI image layouts by Python alone (tarfile, json,
hashlib; the `zstd` command for zstd layers), so no network is needed, and
pushed into a test registry with skopeo.

- busybox3(dir): busybox in 3 layers (gzip, zstd, plain tar); layer 2 adds
  files and a dir, layer 3 deletes a file of layer 1 (.wh.NAME) and makes a
  dir of layer 1 opaque (.wh..wh..opq) with new content. BUSYBOX3_CHECK is a
  shell line that prints BUSYBOX3_EXPECT in a container of it.
- multiarch(dir): an index with linux/amd64 and linux/arm64 images; each has
  /arch holding its architecture's name (both carry the amd64 busybox, so
  either runs here).
- debian(dir): Debian bookworm minbase (debootstrap, cached under
  build/debian-minbase/) in 3 layers: usr/, etc/+var/, the rest.
- pullbench(dir): Debian's 3 layers and 3 layers of incompressible random
  data, ~150 MB in all, cached under build/pullbench-image/.

Each builder returns the layout's directory (tag TAG = "latest" unless told)
with a description of what it wrote. push(layout, registry, name) copies one
into a registry (tests/e2e/registry.py) with skopeo.

Run as a script to build the cached images ahead of time (the test host sees
build/ read-only): `python3 tests/e2e/oci_images.py debian pullbench`."""
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build")
DEBIAN_CACHE = os.path.join(BUILD, "debian-minbase")
PULLBENCH_CACHE = os.path.join(BUILD, "pullbench-image")

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MTIME = 1700000000

# What a container of busybox3 prints for BUSYBOX3_CHECK: layer 2's file and
# dir, layer 1's deleted file gone, the opaque dir holding only layer 3's file.
BUSYBOX3_CHECK = ("cat /layer2/hello; ls /layer2/dir; "
                  "test -e /etc/deleted && echo deleted-present || echo deleted-gone; "
                  "ls -A /opq; cat /opq/new; cat /etc/kept")
BUSYBOX3_EXPECT = "from layer 2\ninside\ndeleted-gone\nnew\nlayer 3\nkept\n"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Layout:
    """An OCI image layout being written: blobs, then index.json."""

    def __init__(self, path):
        self.path = path
        self.manifests = []
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob_path(self, digest):
        return os.path.join(self.path, "blobs", "sha256", digest.split(":", 1)[1])

    def add_bytes(self, data, media_type):
        hexd = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", hexd), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + hexd, "size": len(data)}

    def add_json(self, obj, media_type):
        return self.add_bytes(json.dumps(obj, sort_keys=True).encode(), media_type)

    def add_layer(self, tar_path, compression="gzip"):
        """A layer from an uncompressed tar file: its descriptor, with the
        diff_id (the tar's digest) under "diff_id" (not written out)."""
        diff_id = "sha256:" + sha256_file(tar_path)
        tmp = os.path.join(self.path, "blobs", "sha256", ".tmp-layer")
        if compression == "gzip":
            with open(tar_path, "rb") as src, open(tmp, "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        elif compression == "zstd":
            subprocess.run(["zstd", "-q", "-f", "-3", tar_path, "-o", tmp], check=True)
        else:
            shutil.copyfile(tar_path, tmp)
        hexd = sha256_file(tmp)
        os.replace(tmp, os.path.join(self.path, "blobs", "sha256", hexd))
        return {"mediaType": MT_LAYER[compression], "digest": "sha256:" + hexd,
                "size": os.path.getsize(self.blob_path("sha256:" + hexd)), "diff_id": diff_id}

    def add_image(self, layers, arch="amd64", cmd=("sh",), tag=None, history=None):
        """A config and manifest over layers (descriptors from add_layer);
        the manifest's descriptor, named TAG in index.json when tag is set."""
        config = {
            "architecture": arch, "os": "linux", "created": "2023-11-14T22:13:20Z",
            "config": {"Env": [PATH_ENV], "Cmd": list(cmd)},
            "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]},
            "history": history or [{"created": "2023-11-14T22:13:20Z",
                                    "created_by": f"oci_images.py layer {i + 1}"}
                                   for i in range(len(layers))],
        }
        cdesc = self.add_json(config, MT_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
                    "layers": [{k: v for k, v in l.items() if k != "diff_id"} for l in layers]}
        mdesc = self.add_json(manifest, MT_MANIFEST)
        mdesc["platform"] = {"architecture": arch, "os": "linux"}
        if tag:
            self.name(mdesc, tag)
        return mdesc

    def add_index(self, manifests, tag=None):
        idesc = self.add_json({"schemaVersion": 2, "mediaType": MT_INDEX,
                               "manifests": manifests}, MT_INDEX)
        if tag:
            self.name(idesc, tag)
        return idesc

    def name(self, desc, tag):
        d = {k: v for k, v in desc.items() if k != "platform"}
        d["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.manifests.append(d)
        self.write_index()

    def write_index(self):
        tmp = os.path.join(self.path, "index.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": MT_INDEX,
                       "manifests": self.manifests}, f)
        os.replace(tmp, os.path.join(self.path, "index.json"))


def _info(name, kind=tarfile.REGTYPE, mode=0o644, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.mtime, ti.linkname = kind, mode, size, MTIME, linkname
    ti.uid = ti.gid = 0
    return ti


class TarWriter:
    """A tar of explicit entries: dirs, files, symlinks, whiteouts."""

    def __init__(self, path):
        self.tar = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)

    def dir(self, name, mode=0o755):
        self.tar.addfile(_info(name, tarfile.DIRTYPE, mode))

    def file(self, name, data, mode=0o644):
        data = data.encode() if isinstance(data, str) else data
        self.tar.addfile(_info(name, size=len(data), mode=mode), io.BytesIO(data))

    def symlink(self, name, target):
        self.tar.addfile(_info(name, tarfile.SYMTYPE, 0o777, linkname=target))

    def whiteout(self, dirname, name):
        self.file(f"{dirname}/.wh.{name}", b"")

    def opaque(self, dirname):
        self.file(f"{dirname}/.wh..wh..opq", b"")

    def close(self):
        self.tar.close()


def busybox_rootfs(path):
    """The busybox rootfs tar (scripts/make-busybox-rootfs.sh) at path."""
    if not os.path.exists(path):
        subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs.sh"), path + ".tmp"],
                       check=True)
        os.replace(path + ".tmp", path)
    return path


def _busybox_base(work, extra):
    """Layer 1: the busybox rootfs plus extra(TarWriter) entries."""
    rootfs = busybox_rootfs(os.path.join(work, "busybox-rootfs.tar"))
    out = os.path.join(work, "layer1.tar")
    with tarfile.open(rootfs) as src:
        w = TarWriter(out)
        for m in src.getmembers():
            w.tar.addfile(m, src.extractfile(m) if m.isfile() else None)
        extra(w)
        w.close()
    return out


def busybox3(path, tag="latest", compressions=("gzip", "zstd", "none")):
    """busybox in 3 layers, with whiteouts and an opaque dir (see the module's
    doc); the layout's path."""
    lay = Layout(path)
    with tempfile.TemporaryDirectory() as work:
        def base(w):
            w.file("./etc/deleted", "layer 1, deleted by layer 3\n")
            w.file("./etc/kept", "kept\n")
            w.dir("./opq")
            w.file("./opq/old", "layer 1\n")
            w.dir("./opq/olddir")
            w.file("./opq/olddir/f", "layer 1\n")
        l1 = lay.add_layer(_busybox_base(work, base), compressions[0])
        t2 = os.path.join(work, "layer2.tar")
        w = TarWriter(t2)
        w.dir("./layer2")
        w.file("./layer2/hello", "from layer 2\n")
        w.dir("./layer2/dir")
        w.file("./layer2/dir/inside", "")
        w.close()
        l2 = lay.add_layer(t2, compressions[1])
        t3 = os.path.join(work, "layer3.tar")
        w = TarWriter(t3)
        w.dir("./etc")
        w.whiteout("./etc", "deleted")
        w.dir("./opq")
        w.opaque("./opq")
        w.file("./opq/new", "layer 3\n")
        w.close()
        l3 = lay.add_layer(t3, compressions[2])
    lay.add_image([l1, l2, l3], tag=tag)
    return path


def multiarch(path, tag="latest"):
    """An index of linux/amd64 and linux/arm64 images, each with /arch naming
    its architecture (`cat /arch`); the layout's path."""
    lay = Layout(path)
    manifests = []
    with tempfile.TemporaryDirectory() as work:
        base = lay.add_layer(_busybox_base(work, lambda w: None), "gzip")
        for arch in ("amd64", "arm64"):
            t = os.path.join(work, f"{arch}.tar")
            w = TarWriter(t)
            w.file("./arch", arch + "\n")
            w.close()
            manifests.append(lay.add_image([base, lay.add_layer(t, "gzip")], arch=arch))
    lay.add_index(manifests, tag=tag)
    return path


def apt_mirror():
    """The Debian mirror apt uses here (deb822 or one-line sources)."""
    srcs = []
    for d in ("/etc/apt/sources.list.d",):
        if os.path.isdir(d):
            srcs += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    srcs.append("/etc/apt/sources.list")
    for src in srcs:
        try:
            text = open(src).read()
        except OSError:
            continue
        for stanza in text.split("\n\n"):
            fields = dict(l.split(":", 1) for l in stanza.splitlines()
                          if ":" in l and not l.startswith("#") and not l.startswith(" "))
            uris = fields.get("URIs", "").split()
            if uris and "bookworm" in fields.get("Suites", "").split():
                return uris[0]
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "bookworm" in parts:
                return next(p for p in parts[1:] if "://" in p)
    return "http://deb.debian.org/debian"


@contextlib.contextmanager
def _locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def debian_rootfs():
    """build/debian-minbase/rootfs: debootstrap's minbase bookworm, built once
    (into a temporary dir renamed when done, under a lock, so an interrupted
    or concurrent build leaves nothing half made)."""
    rootfs = os.path.join(DEBIAN_CACHE, "rootfs")
    if os.path.isfile(os.path.join(rootfs, "etc", "os-release")):
        return rootfs
    with _locked(os.path.join(DEBIAN_CACHE, ".rootfs.lock")):
        if os.path.isfile(os.path.join(rootfs, "etc", "os-release")):
            return rootfs
        tmp = os.path.join(DEBIAN_CACHE, "rootfs.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(rootfs, ignore_errors=True)
        r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", tmp, apt_mirror()],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"debootstrap failed ({r.returncode}): {r.stderr[-2000:]}"
                               f"{r.stdout[-2000:]}")
        # Its apt lists and package cache are not part of the image.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in os.listdir(os.path.join(tmp, sub)):
                p = os.path.join(tmp, sub, f)
                if os.path.isfile(p) and not f.startswith("lock"):
                    os.unlink(p)
        os.rename(tmp, rootfs)
    return rootfs


# The 3 layers Debian is split into: top-level names per layer.
DEBIAN_SPLIT = (("usr",), ("etc", "var"), None)   # None: every other name


def _debian_tar(rootfs, names, out):
    """A tar of rootfs's top-level entries in names (None: the others);
    /dev, /proc, /sys, /run and /tmp empty."""
    everything = sorted(os.listdir(rootfs))
    taken = {n for group in DEBIAN_SPLIT if group for n in group}
    chosen = [n for n in everything if (n in names if names else n not in taken)]

    def filt(ti):
        ti.uname = ti.gname = ""
        parts = ti.name.split("/")
        if len(parts) > 2 and parts[1] in ("dev", "proc", "sys", "run", "tmp"):
            return None
        if not (ti.isfile() or ti.isdir() or ti.issym() or ti.islnk()):
            return None
        return ti
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for n in chosen:
            tar.add(os.path.join(rootfs, n), arcname="./" + n, filter=filt)
    return out


def _cached_layout(cache, build, recipe):
    """cache/oci, made by build(path) once per recipe (a string naming what
    it holds, kept in cache/oci/recipe): into cache/oci.tmp, renamed when
    done, under a lock."""
    out = os.path.join(cache, "oci")

    def current():
        try:
            return open(os.path.join(out, "recipe")).read() == recipe
        except OSError:
            return False
    if current():
        return out
    with _locked(os.path.join(cache, ".oci.lock")):
        if current():
            return out
        tmp = out + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for stale in os.listdir(cache):     # work dirs of an interrupted build
            if stale.startswith("tmp"):
                shutil.rmtree(os.path.join(cache, stale), ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        build(tmp)
        with open(os.path.join(tmp, "recipe"), "w") as f:
            f.write(recipe)
        os.rename(tmp, out)
    return out


def _debian_layers(lay, work):
    rootfs = debian_rootfs()
    return [lay.add_layer(_debian_tar(rootfs, names, os.path.join(work, f"debian{i}.tar")),
                          "gzip")
            for i, names in enumerate(DEBIAN_SPLIT)]


def debian(path=None, tag="latest"):
    """Debian bookworm minbase in 3 gzip layers (usr/; etc/ and var/; the
    rest), cached as build/debian-minbase/oci; copied to path when given.
    Its layout's path."""
    def build(out):
        lay = Layout(out)
        with tempfile.TemporaryDirectory(dir=DEBIAN_CACHE) as work:
            lay.add_image(_debian_layers(lay, work), cmd=("bash",), tag=tag)
    src = _cached_layout(DEBIAN_CACHE, build, f"debian {DEBIAN_SPLIT} {tag}")
    if path is None:
        return src
    shutil.copytree(src, path)
    return path


def _random_tar(out, name, size, seed):
    """A tar holding one file of size pseudo-random (incompressible) bytes."""
    rnd = random.Random(seed)
    with tarfile.open(out, "w") as tar:
        ti = _info(name, size=size)

        class Src(io.RawIOBase):
            left = size

            def readable(self):
                return True

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = rnd.randbytes(n)
                self.left -= n
                return n
        tar.addfile(ti, io.BufferedReader(Src(), 1 << 20))
    return out


PULLBENCH_RANDOM_MB = (48, 32, 24)


def pullbench(path=None, tag="latest"):
    """The pull benchmark's image: Debian's 3 layers and 3 of random data,
    ~155 MB of gzip blobs in 6 layers, cached as build/pullbench-image/oci."""
    def build(out):
        lay = Layout(out)
        os.makedirs(PULLBENCH_CACHE, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=PULLBENCH_CACHE) as work:
            layers = _debian_layers(lay, work)
            for i, mb in enumerate(PULLBENCH_RANDOM_MB):
                t = _random_tar(os.path.join(work, f"random{i}.tar"), f"./data/random{i}",
                                mb << 20, seed=i)
                layers.append(lay.add_layer(t, "gzip"))
            lay.add_image(layers, cmd=("bash",), tag=tag)
    src = _cached_layout(PULLBENCH_CACHE, build,
                         f"pullbench {DEBIAN_SPLIT} {PULLBENCH_RANDOM_MB} {tag}")
    if path is None:
        return src
    shutil.copytree(src, path)
    return path


def layout_manifest(layout, tag="latest"):
    """The manifest (or index) JSON a layout names tag, with its descriptor."""
    index = json.load(open(os.path.join(layout, "index.json")))
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            blob = os.path.join(layout, "blobs", "sha256", d["digest"].split(":", 1)[1])
            return json.load(open(blob)), d
    raise KeyError(tag)


def layout_size(layout, tag="latest"):
    """The bytes of the config and layers of a layout's image."""
    m, _ = layout_manifest(layout, tag)
    return m["config"]["size"] + sum(l["size"] for l in m["layers"])


def push(layout, registry, name, tag="latest", src_tag="latest", creds=None):
    """skopeo copy oci:LAYOUT:SRC_TAG docker://REGISTRY/NAME:TAG (the
    builders tag "latest"), every
    platform of an index, digests kept; registry is a registry.Registry (or
    a proxy in front of one), creds "user:pass" (default: the registry's)."""
    args = ["skopeo", "copy", "--quiet", "--all", "--preserve-digests"]
    args += registry.skopeo_args("dest", creds)
    args += [f"oci:{layout}:{src_tag}", f"docker://{registry.host}/{name}:{tag}"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return f"{registry.host}/{name}:{tag}"


BUILDERS = {"busybox3": busybox3, "multiarch": multiarch, "debian": debian,
            "pullbench": pullbench}

if __name__ == "__main__":
    for what in sys.argv[1:] or ["debian", "pullbench"]:
        if what in ("debian", "pullbench"):
            print(BUILDERS[what]())
        else:
            print(BUILDERS[what](tempfile.mkdtemp(prefix=f"oci-{what}-")))
