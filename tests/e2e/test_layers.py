"""Images of many layers, made by `isobox commit`, run in both modes: what the
app sees through every layer's files, whiteouts and opaque directories; commit
of running and stopped containers; -a/-c/-m; a 20-layer image; one EROFS disk
per shared layer in hyperv mode."""
import json
import os
import tarfile
import uuid

from conftest import wait_for


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def commit(isobox, *args):
    out = isobox.out("commit", *args).strip()
    assert out.startswith("sha256:") and len(out) == 71, out
    return out


def run_once(isobox, mode, image, script):
    """Run script in a new container of image (kept, to commit it); its id."""
    cid = name("c")
    r = isobox("run", "--name", cid, f"--isolation={mode}", image, "sh", "-c", script,
               timeout=180)
    assert r.returncode == 0, r.stderr
    return cid


def layer_members(isobox, diff_id):
    """The entry names of a committed layer's tar blob (its digest is the diff id)."""
    path = os.path.join(isobox.root, "blobs", "sha256", diff_id.split(":")[1])
    with tarfile.open(path) as t:
        return sorted(m.name.rstrip("/") for m in t.getmembers())


def inspect(isobox, image):
    return json.loads(isobox.out("image", "inspect", image))[0]


def test_commit_whiteouts_and_opaque_dirs(isobox, mode):
    """busybox -> commit (a file, a dir) -> commit (a lower file deleted, a dir
    replaced) -> a 3-layer image whose app sees exactly the merged result."""
    c1 = run_once(isobox, mode, "busybox",
                  "mkdir -p /d1 /o && echo one > /d1/f1 && echo lower > /o/old && "
                  "echo keep > /keep")
    img1 = name("layers1")
    commit(isobox, c1, img1)
    c2 = run_once(isobox, mode, img1,
                  "rm /keep && rm -rf /o && mkdir /o && echo new > /o/new && echo two > /f2")
    img2 = name("layers2")
    commit(isobox, c2, img2)
    layers = inspect(isobox, img2)["RootFS"]["Layers"]
    assert len(layers) == 3
    assert layers[:2] == inspect(isobox, img1)["RootFS"]["Layers"]
    top = layer_members(isobox, layers[2])
    assert ".wh.keep" in top and "o/.wh..wh..opq" in top and "o/new" in top and "f2" in top
    assert "o/old" not in top
    assert "d1/f1" in layer_members(isobox, layers[1])
    r = isobox("run", "--rm", f"--isolation={mode}", img2, "sh", "-c",
               "ls -A /o; cat /d1/f1 /f2; test -e /keep && echo KEEP; "
               "test -x /bin/busybox && echo BUSYBOX", timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "new\none\ntwo\nBUSYBOX\n"
    for c in (c1, c2):
        isobox("rm", "-f", c)


def test_commit_running_container(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "600",
                     timeout=180).strip()
    try:
        r = isobox("exec", cid, "sh", "-c", "echo live > /live && rm /bin/true", timeout=120)
        assert r.returncode == 0, r.stderr
        img = name("running")
        commit(isobox, cid, img)               # paused meanwhile (docker's default)
        running = json.loads(isobox.out("inspect", cid))[0]["State"]["Running"]
        assert running, "commit stopped the container"
        # Resumed after: it still answers; and --pause=false commits too.
        r = isobox("exec", cid, "sh", "-c", "echo again > /again", timeout=120)
        assert r.returncode == 0, r.stderr
        unpaused = commit(isobox, "--pause=false", cid)
        assert "again" in layer_members(
            isobox, inspect(isobox, unpaused)["RootFS"]["Layers"][-1])
        r = isobox("run", "--rm", f"--isolation={mode}", img, "sh", "-c",
                   "cat /live; test -e /bin/true && echo TRUE; echo end", timeout=180)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "live\nend\n"
    finally:
        isobox("rm", "-f", cid)


def test_commit_options(isobox, mode):
    cid = run_once(isobox, mode, "busybox", "echo hello > /etc/greeting")
    img = name("opts")
    iid = commit(isobox, "-a", "Ada <ada@example.com>", "-m", "add a greeting",
                 "-c", "ENV GREETING=yes", "-c", 'CMD ["cat", "/etc/greeting"]',
                 "-c", "WORKDIR /etc", "--pause=false", cid, img)
    info = inspect(isobox, img)
    assert info["Id"] == iid
    assert info["Author"] == "Ada <ada@example.com>"
    assert info["Comment"] == "add a greeting"
    assert "GREETING=yes" in info["Config"]["Env"]
    assert info["Config"]["Cmd"] == ["cat", "/etc/greeting"]
    assert info["Config"]["WorkingDir"] == "/etc"
    cfg_path = os.path.join(isobox.root, "blobs", "sha256", iid.split(":")[1])
    with open(cfg_path) as f:
        cfg = json.load(f)
    last = cfg["history"][-1]
    assert last["author"] == "Ada <ada@example.com>"
    assert last["comment"] == "add a greeting"
    assert last["created_by"] == "sh -c echo hello > /etc/greeting"
    assert len(cfg["rootfs"]["diff_ids"]) == 2
    r = isobox("run", "--rm", f"--isolation={mode}", img, timeout=180)
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
    r = isobox("commit", "--pause=maybe", cid)
    assert r.returncode != 0 and "invalid argument" in r.stderr
    r = isobox("commit", "no-such-container")
    assert r.returncode != 0
    isobox("rm", "-f", cid)


def test_commit_created_container(isobox, mode):
    """A container that never ran has no changes: an empty layer on top."""
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "true").strip()
    try:
        img = name("created")
        commit(isobox, cid, img)
        layers = inspect(isobox, img)["RootFS"]["Layers"]
        assert len(layers) == 2
        assert layer_members(isobox, layers[1]) == []
    finally:
        isobox("rm", "-f", cid)


def test_twenty_layers(fresh, rootfs_tar, mode):
    """19 commits on busybox (built with process containers: cheap), with
    deletions low in the stack and high in it, run in the mode under test.
    In hyperv mode the bottom layers become one cached chain disk, removed
    with the image."""
    fresh("import", rootfs_tar, "busybox", check=True)
    image = "busybox"
    for i in range(1, 20):
        script = f"echo {i} > /layer{i}"
        if i == 3:
            script += " && rm /layer1"
        if i == 12:
            script += " && rm /layer9"
        cid = run_once(fresh, "process", image, script)
        image = f"deep:{i}"
        commit(fresh, cid, image)
        fresh("rm", "-f", cid)
    assert len(inspect(fresh, image)["RootFS"]["Layers"]) == 20
    r = fresh("run", "--rm", f"--isolation={mode}", image, "sh", "-c",
              "cat /layer*; echo end", timeout=300)
    assert r.returncode == 0, r.stderr
    want = sorted(str(i) for i in range(1, 20) if i not in (1, 9))
    assert sorted(r.stdout.split()[:-1]) == want and r.stdout.split()[-1] == "end"
    erofs = os.path.join(fresh.root, "erofs")
    chains = [f for f in os.listdir(erofs) if f.startswith("chain-")] \
        if os.path.isdir(erofs) else []
    if mode == "hyperv":
        assert len([f for f in chains if f.endswith(".erofs")]) == 1
        assert len([f for f in os.listdir(erofs) if f.endswith(".erofs")]) == 16
    for i in range(19, 0, -1):
        fresh("rmi", f"deep:{i}", check=True)
    left = os.listdir(erofs) if os.path.isdir(erofs) else []
    assert not [f for f in left if f.startswith("chain-")], left


def test_shared_layer_erofs_built_once(fresh, rootfs_tar, mode):
    """Two images on one base layer: in hyperv mode one EROFS disk per layer,
    the base's built once and shared; process mode builds none."""
    fresh("import", rootfs_tar, "busybox", check=True)
    images = []
    for i in range(2):
        cid = run_once(fresh, "process", "busybox", f"echo {i} > /mine")
        images.append(f"shared:{i}")
        commit(fresh, cid, images[-1])
        fresh("rm", "-f", cid)
    base = inspect(fresh, "busybox")["RootFS"]["Layers"][0].split(":")[1]
    for i, img in enumerate(images):
        r = fresh("run", "--rm", f"--isolation={mode}", img, "cat", "/mine", timeout=180)
        assert (r.returncode, r.stdout) == (0, f"{i}\n"), r.stderr
    erofs = os.path.join(fresh.root, "erofs")
    disks = sorted(os.listdir(erofs)) if os.path.isdir(erofs) else []
    if mode == "hyperv":
        assert len(disks) == 3, disks              # the base, and each image's own
        assert f"{base}.erofs" in disks
        before = os.stat(os.path.join(erofs, f"{base}.erofs")).st_ino
        r = fresh("run", "--rm", f"--isolation={mode}", images[0], "true", timeout=180)
        assert r.returncode == 0, r.stderr
        assert os.stat(os.path.join(erofs, f"{base}.erofs")).st_ino == before
    else:
        assert disks == []
    assert wait_for(lambda: fresh("ps", "-aq").stdout.strip() == "", 10)
