"""README claims about images, end to end: a bzip2 rootfs, every `import -c`
instruction, docker's long forms (`image import|ls|rm`), `images --no-trunc`,
`version`, and one unpacked layer and one EROFS disk shared by two images of
the same tarball."""
import json
import os
import re
import subprocess

import pytest

HEX64 = re.compile(r"^sha256:[0-9a-f]{64}$")


def layer_dirs(root):
    d = os.path.join(root, "layers")
    return sorted(x for x in os.listdir(d) if not x.startswith(".")) if os.path.isdir(d) else []


def erofs_disks(root):
    d = os.path.join(root, "erofs")
    return sorted(x for x in os.listdir(d)
                  if x.endswith(".erofs") and not x.startswith(".")) if os.path.isdir(d) else []


def test_import_bzip2_gives_the_same_layer_and_runs(fresh, rootfs_tar, tmp_path, mode):
    fresh("import", rootfs_tar, "plain", check=True)
    packed = tmp_path / "rootfs.tar.bz2"
    with open(packed, "wb") as f:
        subprocess.run(["bzip2", "-c", rootfs_tar], stdout=f, check=True)
    with open(packed, "rb") as f:
        assert f.read(3) == b"BZh"
    r = fresh("import", str(packed), "bz")
    assert r.returncode == 0, r.stderr
    assert HEX64.match(r.stdout.strip())
    layers = lambda ref: json.loads(fresh.out("image", "inspect", ref))[0]["RootFS"]["Layers"]
    assert layers("bz") == layers("plain")
    assert len(layer_dirs(fresh.root)) == 1
    r = fresh("run", "--rm", f"--isolation={mode}", "bz", "sh", "-c",
              "cat /etc/os-release >/dev/null 2>&1; busybox | head -n 1", timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("BusyBox v")


CHANGES = [
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["echo \\"$GREETING\\" \\"$(pwd)\\" \\"$(id -u):$(id -g)\\" $0"]',
    'ENV GREETING="hello claims" OTHER=2',
    "WORKDIR /srv/app",
    "USER 1234:5678",
    'LABEL team=core "org.example.tier"="gold"',
    "EXPOSE 80/udp 8000-8001",
    "STOPSIGNAL SIGUSR1",
    'VOLUME ["/data", "/cache"]',
    "OS linux",
    "ARCH amd64/v2",
    "OS.VERSION 3.10",
    "OS.FEATURES seccomp",
]


def test_every_import_change_is_in_inspect_and_in_the_run(fresh, rootfs_tar, mode):
    args = []
    for c in CHANGES:
        args += ["-c", c]
    iid = fresh.out("import", *args, "-m", "all the changes", rootfs_tar, "changes:all").strip()
    [img] = json.loads(fresh.out("image", "inspect", "changes:all"))
    cfg = img["Config"]
    assert img["Id"] == iid and img["RepoTags"] == ["changes:all"]
    assert img["Comment"] == "all the changes"
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Cmd"] == ['echo "$GREETING" "$(pwd)" "$(id -u):$(id -g)" $0']
    assert cfg["Env"][1:] == ["GREETING=hello claims", "OTHER=2"]
    assert cfg["Env"][0].startswith("PATH=")
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "1234:5678"
    assert cfg["Labels"] == {"team": "core", "org.example.tier": "gold"}
    assert cfg["ExposedPorts"] == {"80/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert cfg["StopSignal"] == "SIGUSR1"
    assert cfg["Volumes"] == {"/data": {}, "/cache": {}}
    assert img["Os"] == "linux" and img["Architecture"] == "amd64"
    assert img["Variant"] == "v2"
    assert img["OsVersion"] == "3.10"
    assert img["OsFeatures"] == ["seccomp"]
    # The run: ENTRYPOINT + CMD, with ENV, WORKDIR and USER applied (in a VM by the agent).
    # Without OS.FEATURES: whether the host kernel has seccomp is known only
    # where its build config is readable (test_image_needs.py covers that).
    runnable = [a for c in CHANGES if not c.startswith("OS.FEATURES") for a in ("-c", c)]
    fresh.out("import", *runnable, rootfs_tar, "changes:run")
    r = fresh("run", "--rm", f"--isolation={mode}", "changes:run", timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello claims /srv/app 1234:5678 /bin/sh\n"
    # A bad value of each isobox instruction is refused, naming the instruction.
    for bad, word in (("ARCH a/b/c", "ARCH"), ("OS.VERSION six", "OS.VERSION"),
                      ("OS.FEATURES ", "OS.FEATURES"), ("OS two words", "OS"),
                      ("STOPSIGNAL SIGNOPE", "STOPSIGNAL"), ("EXPOSE 70000", "EXPOSE")):
        r = fresh("import", "-c", bad, rootfs_tar, "changes:bad")
        assert r.returncode == 125 and f"--change '{bad}'" in r.stderr and word in r.stderr, \
            (bad, r.stderr)
    # names only: an image ID's hex may hold "bad" (it did once, 0611f54fbad0)
    names = fresh.out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert "changes:bad" not in names and not any("bad" in n for n in names), names


def test_version(fresh):
    r = fresh("version")
    assert r.returncode == 0 and r.stderr == ""
    assert re.fullmatch(r"isobox version \d+\.\d+\.\d+\n", r.stdout), r.stdout
    assert fresh.out("--version") == r.stdout


def test_image_long_forms_and_no_trunc(fresh, rootfs_tar):
    r = fresh("image", "import", "-c", "CMD echo long", rootfs_tar, "long:v1")
    assert r.returncode == 0, r.stderr
    iid = r.stdout.strip()
    assert HEX64.match(iid)
    table = fresh.out("image", "ls").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:3] == ["long", "v1", iid[7:19]]
    assert fresh.out("images") == fresh.out("image", "ls")
    # --no-trunc: the full id, as docker prints it (sha256:<64 hex>), in every form.
    full = fresh.out("images", "--no-trunc").splitlines()
    assert full[1].split()[:3] == ["long", "v1", iid]
    assert fresh.out("image", "ls", "--no-trunc").splitlines()[1].split()[2] == iid
    assert fresh.out("images", "-q", "--no-trunc") == iid + "\n"
    assert fresh.out("images", "-q") == iid[7:19] + "\n"
    row = json.loads(fresh.out("images", "--no-trunc", "--format", "json"))
    assert row["ID"] == iid and row["Repository"] == "long" and row["Tag"] == "v1"
    assert json.loads(fresh.out("images", "--format", "json"))["ID"] == iid[7:19]
    assert [json.loads(fresh.out("image", "inspect", "long:v1"))[0]["Id"]] == [iid]
    # image rm: docker's report; the layer goes with the last image of it.
    [diff_id] = json.loads(fresh.out("image", "inspect", "long:v1"))[0]["RootFS"]["Layers"]
    r = fresh("image", "rm", "long:v1")
    assert (r.returncode, r.stdout) == (0, f"Untagged: long:v1\nDeleted: {iid}\n"
                                           f"Deleted: {diff_id}\n"), r.stderr
    assert fresh.out("image", "ls", "-q") == ""
    assert layer_dirs(fresh.root) == []
    r = fresh("image", "rm", "long:v1")
    assert r.returncode == 125
    assert r.stderr == ("isobox: image long:v1 not found: run 'isobox images' to list images, "
                        "or 'isobox import' to add one\n")


def test_two_images_of_one_tarball_share_layer_and_vm_disk(fresh, rootfs_tar, mode):
    a = fresh.out("import", rootfs_tar, "share-a").strip()
    b = fresh.out("import", rootfs_tar, "share-b:v2").strip()
    assert a != b
    assert len(layer_dirs(fresh.root)) == 1
    # create makes each container's disks (a VM's EROFS image) and boots nothing.
    c1 = fresh.out("create", f"--isolation={mode}", "share-a", "true").strip()
    c2 = fresh.out("create", f"--isolation={mode}", "share-b:v2", "true").strip()
    [layer] = layer_dirs(fresh.root)
    if mode == "hyperv":
        assert erofs_disks(fresh.root) == [layer + ".erofs"]
    else:
        assert erofs_disks(fresh.root) == []
    fresh("rm", c1, c2, check=True)
    # Removing one image keeps the shared layer (and disk): the other still runs.
    r = fresh("rmi", "share-a")
    assert (r.returncode, r.stdout) == (0, f"Untagged: share-a:latest\nDeleted: {a}\n")
    assert layer_dirs(fresh.root) == [layer]
    assert erofs_disks(fresh.root) == ([layer + ".erofs"] if mode == "hyperv" else [])
    r = fresh("run", "--rm", f"--isolation={mode}", "share-b:v2", "sh", "-c",
              "echo alive; ls /bin/busybox", timeout=180)
    assert (r.returncode, r.stdout) == (0, "alive\n/bin/busybox\n"), r.stderr
    # The last image of the layer takes the layer and its disk with it.
    r = fresh("rmi", "share-b:v2")
    assert r.returncode == 0 and f"Deleted: sha256:{layer}\n" in r.stdout
    assert layer_dirs(fresh.root) == [] and erofs_disks(fresh.root) == []
