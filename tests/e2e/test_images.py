"""The image store through the CLI: import, images, rmi, image inspect, hostile tarballs."""
import gzip
import io
import json
import os
import subprocess
import tarfile
import uuid

import pytest


def tar_bytes(entries):
    """entries: (name, kind, data_or_target) with kind file|dir|symlink|hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, arg in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(arg)
                t.addfile(info, io.BytesIO(arg))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE}[kind]
            if kind == "dir":
                info.mode = 0o755
            else:
                info.linkname = arg
            t.addfile(info)
    return buf.getvalue()


def store_files(root):
    """Every blob and every unpacked layer (or temp dir) the store holds."""
    found = []
    for dirpath, dirs, files in os.walk(os.path.join(root, "blobs")):
        found += [os.path.join(dirpath, f) for f in files]
    layers = os.path.join(root, "layers")
    if os.path.isdir(layers):
        found += [os.path.join(layers, d) for d in os.listdir(layers)]
    return sorted(found)


def test_import_prints_id_and_lists(fresh, rootfs_tar):
    r = fresh("import", rootfs_tar, "imp:one")
    assert r.returncode == 0 and r.stdout.startswith("sha256:") and len(r.stdout.strip()) == 71
    table = fresh.out("images")
    assert table.split("\n")[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert "imp" in table and "one" in table
    assert fresh.out("images", "-q").strip() == r.stdout.strip()[7:19]
    row = json.loads(fresh.out("images", "--format", "json").splitlines()[0])
    assert row["Repository"] == "imp" and row["Tag"] == "one"


@pytest.mark.parametrize("compress", ["gzip", "xz", "zstd"])
def test_import_compressed_gives_the_same_layer(fresh, rootfs_tar, compress, tmp_path):
    fresh("import", rootfs_tar, "plain", check=True)
    out = tmp_path / ("r.tar." + compress)
    with open(out, "wb") as f:
        subprocess.run([compress, "-c", rootfs_tar], stdout=f, check=True)
    fresh("import", str(out), "packed", check=True)
    layers = lambda ref: json.loads(fresh.out("image", "inspect", ref))[0]["RootFS"]["Layers"]
    assert layers("plain") == layers("packed")


def test_import_from_stdin(fresh, rootfs_tar):
    with open(rootfs_tar, "rb") as f:
        r = subprocess.run(fresh.cmd("import", "-", "stdin:latest"), stdin=f, capture_output=True)
    assert r.returncode == 0
    assert fresh("run", "--rm", "stdin", "true").returncode == 0


def test_import_change(fresh, rootfs_tar):
    fresh("import", "-c", 'CMD ["echo", "from", "cmd"]', "-c", 'ENV GREETING="hi there"',
          "-c", "WORKDIR /srv", "-c", "USER nobody", "-c", "LABEL team=core", rootfs_tar,
          "changed", check=True)
    assert fresh.out("run", "--rm", "changed") == "from cmd\n"
    assert fresh.out("run", "--rm", "changed", "sh", "-c", 'echo "$GREETING"; pwd; id -u') == \
        "hi there\n/srv\n65534\n"
    [obj] = json.loads(fresh.out("image", "inspect", "changed"))
    assert obj["Config"]["Labels"] == {"team": "core"}
    r = fresh("import", "-c", "FROBNICATE x", rootfs_tar, "bad")
    assert r.returncode == 125 and "FROBNICATE" in r.stderr


def test_image_without_cmd_needs_one(fresh, rootfs_tar):
    fresh("import", rootfs_tar, "nocmd", check=True)
    r = fresh("run", "--rm", "nocmd")
    assert r.returncode == 125 and "no command" in r.stderr


def test_rmi_refused_while_in_use(fresh, rootfs_tar):
    fresh("import", rootfs_tar, "used", check=True)
    cid = fresh.out("create", "used", "true").strip()
    r = fresh("rmi", "used")
    assert r.returncode != 0 and "container" in r.stderr
    assert "used" in fresh.out("images")
    fresh("rm", cid, check=True)
    r = fresh("rmi", "used")
    assert r.returncode == 0 and "Untagged: used:latest" in r.stdout and "Deleted: sha256:" in r.stdout
    assert fresh.out("images", "-q") == ""
    assert store_files(fresh.root) == []


def test_rmi_of_one_of_several_tags_while_in_use(fresh, rootfs_tar):
    """docker's rule: a tag that is not the image's last reference is
    untagged even while a container uses the image; the last one is refused."""
    fresh("import", rootfs_tar, "used", check=True)
    fresh("tag", "used", "other:v1", check=True)
    cid = fresh.out("create", "used", "true").strip()
    r = fresh("rmi", "other:v1")
    assert (r.returncode, r.stdout) == (0, "Untagged: other:v1\n"), r.stderr
    r = fresh("rmi", "used")
    assert r.returncode != 0 and "conflict: unable to remove repository reference" in r.stderr
    assert "used" in fresh.out("images")
    fresh("rm", cid, check=True)


def test_rmi_f_keeps_running_container_working(fresh, rootfs_tar):
    fresh("import", rootfs_tar, "forced", check=True)
    cid = fresh.out("create", "forced", "echo", "still-here").strip()
    assert fresh("rmi", "-f", "forced").returncode == 0
    assert fresh.out("start", "-a", cid) == "still-here\n"
    fresh("rm", cid, check=True)


def test_unknown_image_commands(fresh):
    missing = ("isobox: image nope:latest not found: run 'isobox images' to list images, or "
               "'isobox import' to add one\n")
    # --pull never: a missing image is otherwise pulled, from Docker Hub for a
    # bare name, and tests send nothing off the machine (test_pull.py covers
    # the pull of a missing image from a loopback registry).
    for cmd in (["rmi", "nope"], ["run", "--pull", "never", "nope", "true"],
                ["create", "--pull", "never", "nope", "true"]):
        r = fresh(*cmd)
        assert (r.returncode, r.stdout, r.stderr) == (125, "", missing), cmd
    r = fresh("image", "inspect", "nope")
    assert (r.returncode, r.stdout, r.stderr) == (125, "[]\n", missing)


def test_bad_references_are_refused(fresh, rootfs_tar):
    for ref in ("UPPER", "a..b", "x:", ":tag", "a b"):
        r = fresh("import", rootfs_tar, ref)
        assert r.returncode == 125, ref


# The names they would make on the host are this run's own (TAG): two runs
# at once must not see each other's, nor a leftover of an earlier one.
TAG = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
ESCAPES = [f"/abs-escaped-{TAG}", f"/tmp/escaped-via-link-{TAG}", f"/tmp/escaped-via-dir-{TAG}"]
HOSTILE = {
    "dotdot": [("../escaped", "file", b"x")],
    "absolute": [(f"/abs-escaped-{TAG}", "file", b"x")],
    "nested-dotdot": [("a/../../escaped", "file", b"x")],
    "symlink-then-write": [("link", "symlink", "/"),
                           (f"link/tmp/escaped-via-link-{TAG}", "file", b"x")],
    "symlink-dir-escape": [("d", "symlink", "../../../../../../tmp"),
                           (f"d/escaped-via-dir-{TAG}", "file", b"x")],
    "hardlink-out": [("h", "hardlink", "../../../../etc/passwd")],
    "hardlink-abs": [("h", "hardlink", "/etc/passwd")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tarballs_are_refused(fresh, tmp_path, case):
    path = tmp_path / "evil.tar"
    path.write_bytes(tar_bytes([("ok", "dir", None)] + HOSTILE[case]))
    passwd = open("/etc/passwd", "rb").read()
    try:
        r = fresh("import", str(path), "evil")
        assert r.returncode == 125, case
        assert r.stderr.startswith("isobox: ") and "\n" == r.stderr[-1] and r.stderr.count("\n") == 1
        assert fresh.out("images", "-q") == ""
        assert store_files(fresh.root) == []
        assert [p for p in ESCAPES if os.path.lexists(p)] == []
        assert not os.path.exists(os.path.join(fresh.root, "escaped"))
        assert open("/etc/passwd", "rb").read() == passwd
    finally:
        for p in ESCAPES:
            if os.path.lexists(p):
                os.unlink(p)


def test_corrupt_and_truncated_tarballs(fresh, rootfs_tar, tmp_path):
    data = open(rootfs_tar, "rb").read()
    cases = {"truncated.tar.gz": gzip.compress(data)[:len(data) // 10],
             "garbage.tar": os.urandom(4096), "empty.tar": b""}
    for name, blob in cases.items():
        p = tmp_path / name
        p.write_bytes(blob)
        r = fresh("import", str(p), "corrupt")
        assert r.returncode == 125, name
        assert r.stderr.strip(), name
    assert fresh.out("images", "-q") == ""
    r = fresh("import", str(tmp_path / "missing.tar"), "x")
    assert r.returncode == 125 and "missing.tar" in r.stderr


def test_import_on_a_full_disk_leaves_nothing(rootfs_tar, tmp_path):
    import conftest
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)], check=True)
    try:
        ib = conftest.Isobox(str(mnt / "root"))
        r = ib("import", rootfs_tar, "big")
        assert r.returncode == 125
        assert "No space left on device" in r.stderr or "no space" in r.stderr.lower()
        assert ib.out("images", "-q") == ""
        assert store_files(ib.root) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_whiteouts_become_overlay_whiteouts(fresh, rootfs_tar, tmp_path):
    fresh("import", rootfs_tar, "base", check=True)
    p = tmp_path / "wh.tar"
    p.write_bytes(tar_bytes([("etc", "dir", None), ("etc/.wh.gone", "file", b""),
                             ("opq", "dir", None), ("opq/.wh..wh..opq", "file", b"")]))
    fresh("import", str(p), "wh", check=True)
    [obj] = json.loads(fresh.out("image", "inspect", "wh"))
    layer = os.path.join(fresh.root, "layers", obj["RootFS"]["Layers"][0].split(":")[1])
    st = os.lstat(os.path.join(layer, "etc", "gone"))
    import stat
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(os.path.join(layer, "opq"), "trusted.overlay.opaque") == b"y"
