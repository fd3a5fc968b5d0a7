"""isobox against real peers, on loopback only: Debian's docker-registry in
its three modes (plain HTTP, TLS with htpasswd Basic auth, Bearer tokens),
skopeo and podman reading what isobox pushed and saved, isobox loading what
podman saved. Images come from tests/e2e/oci_images.py, pushed by skopeo.
Docker's behaviour is the reference: `pull` prints the reference with -q,
`login -u U --password-stdin HOST` prints "Login Succeeded" and stores
base64(U:P) under auths[HOST] in $DOCKER_CONFIG/config.json, `logout HOST`
removes it."""
import base64
import gzip
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import oci_images as oi
from registry import PASSWORD, USER, Podman

NO_VM = "the registry protocol and the store do not depend on the isolation mode"


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    """$DOCKER_CONFIG of this test: login never writes the machine's."""
    d = tmp_path / "docker-config"
    d.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The layouts of the small test images, built once per module."""
    d = tmp_path_factory.mktemp("oci")
    return {
        "busybox3": oi.busybox3(str(d / "busybox3")),
        # podman's docker-archive cannot hold zstd layers.
        "busybox3gz": oi.busybox3(str(d / "busybox3gz"), compressions=("gzip", "gzip", "none")),
        "multiarch": oi.multiarch(str(d / "multiarch")),
    }


@pytest.fixture
def podman(tmp_path):
    # podman refuses a runroot path of over 50 characters.
    p = Podman(tempfile.mkdtemp(prefix="isobox-podman-"))
    yield p
    p.close()


def login(isobox, reg):
    return isobox("login", "-u", reg.user, "--password-stdin", reg.host,
                  input=reg.password + "\n")


def run_check(isobox, mode, ref):
    r = isobox("run", "--rm", f"--isolation={mode}", ref, "sh", "-c", oi.BUSYBOX3_CHECK,
               timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == oi.BUSYBOX3_EXPECT


def image_ids(isobox):
    return set(isobox.out("images", "-q", "--no-trunc").split())


@pytest.mark.parametrize("regmode", ["plain", "tls", "token"])
def test_pull_and_run_from_each_registry_mode(fresh, mode, registry_factory, images, regmode):
    """A 3-layer image (gzip, zstd, plain tar; a whiteout and an opaque dir)
    pulled from each kind of registry runs with its layers merged as the OCI
    layer spec says."""
    reg = registry_factory(regmode)
    ref = oi.push(images["busybox3"], reg, "bb3")
    if regmode != "plain":
        r = fresh("pull", ref, timeout=120)
        assert r.returncode != 0, "pulled from an auth registry without credentials"
        assert not image_ids(fresh)
        r = login(fresh, reg)
        assert r.returncode == 0, r.stderr
        assert "Login Succeeded" in r.stdout
    r = fresh("pull", "-q", ref, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ref
    _, digest = reg.manifest("bb3", "latest")
    inspect = json.loads(fresh.out("image", "inspect", ref))[0]
    assert f"{reg.host}/bb3@{digest}" in inspect["RepoDigests"]
    assert len(inspect["RootFS"]["Layers"]) == 3
    run_check(fresh, mode, ref)
    if regmode == "token":
        reqs = reg.token_server.requests
        assert any(q["user"] == USER and "repository:bb3:pull" in q["scopes"] for q in reqs), reqs
        # Tokens are cached per scope: not one request per blob.
        assert len([q for q in reqs if "repository:bb3:pull" in q["scopes"]]) <= 2, reqs


@pytest.mark.process_only(NO_VM)
def test_login_logout_docker_config(fresh, tls_registry, images, docker_config):
    """login checks the credentials against the registry and stores them as
    docker does; a wrong password is refused and stores nothing; logout
    removes them, and a pull then fails again."""
    reg = tls_registry
    ref = oi.push(images["busybox3gz"], reg, "bb")
    r = fresh("login", "-u", reg.user, "--password-stdin", reg.host, input="wrong\n")
    assert r.returncode != 0
    cfg = docker_config / "config.json"
    assert not cfg.exists() or reg.host not in json.load(open(cfg)).get("auths", {})
    r = login(fresh, reg)
    assert r.returncode == 0, r.stderr
    auths = json.load(open(cfg))["auths"]
    assert base64.b64decode(auths[reg.host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    assert os.stat(cfg).st_mode & 0o077 == 0
    fresh("pull", "-q", ref, timeout=120, check=True)
    r = fresh("logout", reg.host)
    assert r.returncode == 0, r.stderr
    assert reg.host not in json.load(open(cfg)).get("auths", {})
    fresh("rmi", ref, check=True)
    assert fresh("pull", ref, timeout=120).returncode != 0


@pytest.mark.process_only(NO_VM)
def test_token_anonymous_pull(fresh, registry_factory, images):
    """A token registry that grants anonymous pulls: isobox pulls without
    login, asking the token service without credentials."""
    reg = registry_factory("token", anonymous_pull=True)
    ref = oi.push(images["busybox3gz"], reg, "anon")
    before = len(reg.token_server.requests)
    r = fresh("pull", "-q", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    reqs = reg.token_server.requests[before:]
    assert reqs and all(q["user"] is None for q in reqs), reqs
    assert any("repository:anon:pull" in q["scopes"] for q in reqs), reqs


def test_pull_index_selects_platform(fresh, mode, registry, images):
    """An index of linux/amd64 and linux/arm64: linux/amd64 by default,
    --platform picks the other."""
    ref = oi.push(images["multiarch"], registry, "multi")
    fresh("pull", "-q", ref, timeout=120, check=True)
    r = fresh("run", "--rm", f"--isolation={mode}", ref, "cat", "/arch", timeout=300)
    assert (r.returncode, r.stdout) == (0, "amd64\n"), r.stderr
    fresh("pull", "-q", "--platform", "linux/arm64", ref, timeout=120, check=True)
    inspect = json.loads(fresh.out("image", "inspect", ref))[0]
    assert inspect["Architecture"] == "arm64"


def test_debian_userland(fresh, mode, registry):
    """Debian minbase in 3 layers, pulled, runs apt-get and has its
    os-release."""
    ref = oi.push(oi.debian(), registry, "debian", tag="bookworm")
    r = fresh("pull", "-q", ref, timeout=600)
    assert r.returncode == 0, r.stderr
    r = fresh("run", "--rm", f"--isolation={mode}", ref, "sh", "-c",
              "apt-get --version | head -n 1; cat /etc/os-release", timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("apt 2."), r.stdout
    assert "VERSION_CODENAME=bookworm" in r.stdout


def skopeo_to_oci(reg, ref, out):
    # --preserve-digests: else skopeo compresses plain-tar layers for oci:.
    args = ["skopeo", "copy", "--quiet", "--preserve-digests", *reg.skopeo_args("src"),
            f"docker://{ref}",
            f"oci:{out}:x"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return oi.layout_manifest(out, "x")[0]


def skopeo_inspect(reg, ref):
    r = subprocess.run(["skopeo", "inspect", *reg.skopeo_args(), f"docker://{ref}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.process_only(NO_VM)
def test_push_read_back_by_skopeo(fresh, registry, images, tmp_path, rootfs_tar):
    """What isobox pulled, and what it imported, pushed under a new name:
    skopeo reads both back, the pulled image's layers unchanged."""
    src = oi.push(images["busybox3"], registry, "bb3")
    fresh("pull", "-q", src, timeout=120, check=True)
    dst = f"{registry.host}/copied/bb3:v1"
    fresh("tag", src, dst, check=True)
    r = fresh("push", dst, timeout=300)
    assert r.returncode == 0, r.stderr
    orig, _ = oi.layout_manifest(images["busybox3"])
    info = skopeo_inspect(registry, dst)
    assert info["Layers"] == [l["digest"] for l in orig["layers"]]
    got = skopeo_to_oci(registry, dst, str(tmp_path / "back"))
    assert [l["digest"] for l in got["layers"]] == [l["digest"] for l in orig["layers"]]
    assert got["config"]["digest"] == orig["config"]["digest"]
    # An imported image (one layer isobox made) pushed, read back whole.
    imported = f"{registry.host}/imported:latest"
    fresh("import", rootfs_tar, imported, check=True)
    r = fresh("push", imported, timeout=300)
    assert r.returncode == 0, r.stderr
    out = str(tmp_path / "imported")
    got = skopeo_to_oci(registry, imported, out)
    config = json.load(open(os.path.join(out, "blobs", "sha256",
                                         got["config"]["digest"].split(":")[1])))
    assert len(got["layers"]) == len(config["rootfs"]["diff_ids"]) == 1
    local = json.loads(fresh.out("image", "inspect", imported))[0]
    assert config["rootfs"]["diff_ids"] == local["RootFS"]["Layers"]


@pytest.mark.process_only(NO_VM)
def test_push_to_tls_registry_after_login(fresh, tls_registry, rootfs_tar):
    """A push to a registry behind TLS and Basic auth, after login; the
    manifest goes last, so the registry names a complete image."""
    reg = tls_registry
    ref = f"{reg.host}/pushed:1"
    fresh("import", rootfs_tar, ref, check=True)
    assert fresh("push", ref, timeout=120).returncode != 0   # no credentials yet
    login(fresh, reg)
    r = fresh("push", ref, timeout=300)
    assert r.returncode == 0, r.stderr
    manifest, digest = reg.manifest("pushed", "1")
    assert digest in r.stdout
    assert {l["digest"] for l in manifest["layers"]} <= reg.blob_files()
    assert skopeo_inspect(reg, ref)["Digest"] == digest


@pytest.mark.process_only("podman runs its own containers (runc), on this host")
def test_podman_pulls_what_isobox_pushed(fresh, registry, images, podman):
    src = oi.push(images["busybox3gz"], registry, "bb3")
    fresh("pull", "-q", src, timeout=120, check=True)
    dst = f"{registry.host}/frompush/bb3:latest"
    fresh("tag", src, dst, check=True)
    fresh("push", dst, timeout=300, check=True)
    podman("pull", "-q", *registry.podman_args(), dst)
    r = podman(*Podman.RUN, dst, "sh", "-c", oi.BUSYBOX3_CHECK)
    assert r.stdout == oi.BUSYBOX3_EXPECT


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "docker-archive.gz"])
def test_load_what_podman_saved(fresh, mode, registry, images, podman, tmp_path, fmt):
    """isobox load reads podman save's docker-archive and oci-archive, plain
    or gzip-compressed, and the image runs."""
    ref = oi.push(images["busybox3gz"], registry, "saved")
    podman("pull", "-q", *registry.podman_args(), ref)
    archive = str(tmp_path / "saved.tar")
    podman("save", "--format", fmt.split(".")[0], "-o", archive, ref)
    if fmt.endswith(".gz"):
        with open(archive, "rb") as f, gzip.open(archive + ".gz", "wb") as g:
            shutil.copyfileobj(f, g)
        archive += ".gz"
    r = fresh("load", "-i", archive, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Loaded image"), r.stdout
    # "Loaded image: NAME" (or "Loaded image ID: sha256:..." for an unnamed one).
    name = r.stdout.strip().splitlines()[-1].split(": ", 1)[1]
    if not fmt.startswith("oci"):
        assert r.stdout.strip() == f"Loaded image: {ref}"
    run_check(fresh, mode, name)


@pytest.mark.process_only("podman runs its own containers (runc), on this host")
def test_save_read_by_skopeo_and_podman(fresh, registry, images, podman, tmp_path):
    """isobox save writes docker's archive: skopeo and podman read it."""
    ref = oi.push(images["busybox3gz"], registry, "tosave")
    fresh("pull", "-q", ref, timeout=120, check=True)
    archive = str(tmp_path / "isobox-save.tar")
    fresh("save", "-o", archive, ref, timeout=120, check=True)
    r = subprocess.run(["skopeo", "inspect", f"docker-archive:{archive}"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    orig, _ = oi.layout_manifest(images["busybox3gz"])
    config = json.load(open(os.path.join(images["busybox3gz"], "blobs", "sha256",
                                         orig["config"]["digest"].split(":")[1])))
    # docker-archive layers are the uncompressed tars: their digests are the diff_ids.
    assert json.loads(r.stdout)["Layers"] == config["rootfs"]["diff_ids"]
    podman("load", "-q", "-i", archive)
    r = podman(*Podman.RUN, ref, "sh", "-c", oi.BUSYBOX3_CHECK)
    assert r.stdout == oi.BUSYBOX3_EXPECT
