"""Volumes (issue 15): the volume commands, -v/--mount/--volumes-from, and
the Mounts of inspect, in docker's shapes (dockerd 20.10 as the reference)."""
import json
import os
import re
import time

import pytest

NAME_ERR = ('Error response from daemon: create {0}: "{0}" includes invalid characters for a '
            'local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended '
            'to pass a host directory, use absolute path\n')


def volumes(ib):
    return ib.out("volume", "ls", "-q").split()


# ---- the volume commands ------------------------------------------------------------

def test_volume_create_named_and_inspect(fresh):
    assert fresh.out("volume", "create", "--label", "a=b", "--label", "c=d", "data1") == "data1\n"
    [v] = json.loads(fresh.out("volume", "inspect", "data1"))
    assert sorted(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                         "Scope"]
    assert v["Name"] == "data1" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"a": "b", "c": "d"} and v["Options"] is None
    assert v["Mountpoint"] == os.path.join(fresh.root, "volumes", "data1", "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"])
    # again: no error, the volume unchanged (docker's)
    assert fresh.out("volume", "create", "--label", "x=y", "data1") == "data1\n"
    assert json.loads(fresh.out("volume", "inspect", "data1"))[0]["Labels"] == {"a": "b",
                                                                                "c": "d"}
    assert fresh.out("volume", "inspect", "-f", "{{.Name}} {{.Driver}}",
                     "data1") == "data1 local\n"


def test_volume_create_anonymous_is_64_hex(fresh):
    name = fresh.out("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", name)
    [v] = json.loads(fresh.out("volume", "inspect", name))
    assert v["Labels"] is None and v["Name"] == name


@pytest.mark.parametrize("bad", ["a/b", "a:b", "-x", ".hidden", "../up", "x y"])
def test_volume_bad_name_refused(fresh, bad):
    r = fresh("volume", "create", "--", bad)
    assert r.returncode == 1 and r.stderr == NAME_ERR.format(bad), r.stderr
    assert volumes(fresh) == []
    assert not os.path.exists(os.path.join(fresh.root, "up"))


def test_volume_too_short_and_driver(fresh):
    r = fresh("volume", "create", "x")
    assert r.returncode == 1
    assert r.stderr == ("Error response from daemon: create x: volume name is too short, "
                        "names should be at least two alphanumeric characters\n")
    r = fresh("volume", "create", "-d", "foo", "zz")
    assert r.returncode == 1 and 'plugin "foo" not found' in r.stderr
    r = fresh("volume", "create", "aa", "bb")
    assert r.returncode == 125 and "requires at most 1 argument" in r.stderr
    assert volumes(fresh) == []


def test_volume_ls_formats(fresh):
    anon = fresh.out("volume", "create").strip()
    fresh.out("volume", "create", "--label", "k=v", "--label", "k2=v2", "named")
    assert fresh.out("volume", "ls") == (f"DRIVER    VOLUME NAME\nlocal     {anon}\n"
                                         "local     named\n")
    assert fresh.out("volume", "ls", "-q") == f"{anon}\nnamed\n"
    assert fresh.out("volume", "ls", "--format",
                     "{{.Name}}|{{.Driver}}|{{.Labels}}|{{.Scope}}") == (
        f"{anon}|local||local\nnamed|local|k=v,k2=v2|local\n")
    rows = [json.loads(line) for line in fresh.out("volume", "ls", "--format",
                                                   "json").splitlines()]
    assert rows[1] == {"Availability": "N/A", "Driver": "local", "Group": "N/A",
                       "Labels": "k=v,k2=v2", "Links": "N/A",
                       "Mountpoint": os.path.join(fresh.root, "volumes", "named", "_data"),
                       "Name": "named", "Scope": "local", "Size": "N/A", "Status": "N/A"}


def test_volume_inspect_and_rm_missing(fresh):
    r = fresh("volume", "inspect", "nosuch")
    assert r.returncode == 1 and r.stdout == "[]\n"
    assert r.stderr == "Error response from daemon: get nosuch: no such volume\n"
    r = fresh("volume", "rm", "nosuch")
    assert r.returncode == 1
    assert r.stderr == "Error response from daemon: get nosuch: no such volume\n"
    r = fresh("volume", "rm", "-f", "nosuch")
    assert r.returncode == 0 and r.stdout == "nosuch\n"


def test_volume_rm_and_prune(fresh):
    for n in ("v1", "v2", "v3"):
        fresh.out("volume", "create", n)
    open(os.path.join(fresh.root, "volumes", "v1", "_data", "f"), "w").close()
    assert fresh.out("volume", "rm", "v1", "v2") == "v1\nv2\n"
    assert volumes(fresh) == ["v3"]
    assert not os.path.exists(os.path.join(fresh.root, "volumes", "v1"))
    # prune asks first; no keeps everything
    r = fresh("volume", "prune", input="n\n")
    assert r.returncode == 0 and "Are you sure you want to continue? [y/N]" in r.stdout
    assert volumes(fresh) == ["v3"]
    assert fresh.out("volume", "prune", "-f") == "Deleted Volumes:\nv3\n\nTotal reclaimed space: 0B\n"
    assert volumes(fresh) == []
    assert fresh.out("volume", "prune", "-f") == "Total reclaimed space: 0B\n"


# ---- -v, --mount, --volumes-from -----------------------------------------------------

def run(ib, mode, *args):
    return ib("run", "--rm", f"--isolation={mode}", *args, timeout=300)


def anon_count(ib):
    return sum(1 for n in volumes(ib) if re.fullmatch(r"[0-9a-f]{64}", n))


def test_named_volume_outlives_its_container(fresh, rootfs_tar, mode):
    fresh.out("import", rootfs_tar, "busybox")
    r = run(fresh, mode, "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert r.returncode == 0, r.stderr
    assert volumes(fresh) == ["keep"]          # -v NAME: made when missing
    r = run(fresh, mode, "-v", "keep:/other", "busybox", "cat", "/other/f")
    assert r.returncode == 0 and r.stdout == "kept\n", r.stderr
    with open(os.path.join(fresh.root, "volumes", "keep", "_data", "f")) as f:
        assert f.read() == "kept\n"


def test_bind_rw_ro_and_missing_host_dir(isobox, mode, tmp_path):
    host = tmp_path / "made" / "by" / "v"
    r = run(isobox, mode, "-v", f"{host}:/h", "busybox", "sh", "-c", "echo w > /h/f")
    assert r.returncode == 0, r.stderr
    assert (host / "f").read_text() == "w\n"     # docker makes the missing directory
    r = run(isobox, mode, "-v", f"{host}:/h:ro", "busybox", "sh", "-c",
            "cat /h/f; echo x > /h/g")
    assert r.returncode != 0 and r.stdout == "w\n"
    assert "Read-only file system" in r.stderr
    assert not (host / "g").exists()
    r = run(isobox, mode, "--mount", f"type=bind,source={host},target=/m,readonly",
            "busybox", "sh", "-c", "cat /m/f; touch /m/g")
    assert r.returncode != 0 and r.stdout == "w\n" and not (host / "g").exists()
    # a single file
    (tmp_path / "one").write_text("file\n")
    r = run(isobox, mode, "-v", f"{tmp_path}/one:/etc/one:ro", "busybox", "cat", "/etc/one")
    assert r.returncode == 0 and r.stdout == "file\n", r.stderr


def test_named_volume_ro_refuses_writes(fresh, rootfs_tar, mode):
    fresh.out("import", rootfs_tar, "busybox")
    fresh.out("volume", "create", "rov")
    r = run(fresh, mode, "-v", "rov:/d:ro", "busybox", "sh", "-c", "echo x > /d/f")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = run(fresh, mode, "--mount", "source=rov,target=/d,readonly", "busybox", "touch", "/d/f")
    assert r.returncode != 0
    assert os.listdir(os.path.join(fresh.root, "volumes", "rov", "_data")) == []


def test_anonymous_volume_and_rm(fresh, rootfs_tar, mode):
    fresh.out("import", rootfs_tar, "busybox")
    r = run(fresh, mode, "-v", "/scratch", "busybox", "sh", "-c", "touch /scratch/f")
    assert r.returncode == 0, r.stderr
    assert anon_count(fresh) == 0                 # run --rm took it along
    cid = fresh.out("create", f"--isolation={mode}", "-v", "/scratch", "-v", "named:/n",
                    "busybox", "true").strip()
    assert anon_count(fresh) == 1
    [c] = json.loads(fresh.out("inspect", cid))
    assert c["Config"]["Volumes"] == {"/scratch": {}}
    assert c["HostConfig"]["Binds"] == ["named:/n"]
    fresh.out("rm", "-v", cid)
    assert volumes(fresh) == ["named"]            # rm -v: anonymous ones only
    cid = fresh.out("create", f"--isolation={mode}", "-v", "/scratch", "busybox",
                    "true").strip()
    fresh.out("rm", cid)
    assert anon_count(fresh) == 1                 # rm without -v keeps it


def test_volume_rm_refused_while_used(fresh, rootfs_tar, mode):
    fresh.out("import", rootfs_tar, "busybox")
    cid = fresh.out("create", f"--isolation={mode}", "-v", "busy:/b", "busybox",
                    "true").strip()
    for args in (["rm", "busy"], ["rm", "-f", "busy"]):
        r = fresh("volume", *args)
        assert r.returncode == 1
        assert r.stderr == (f"Error response from daemon: remove busy: volume is in use - "
                            f"[{cid}]\n")
    fresh.out("volume", "prune", "-f")
    assert volumes(fresh) == ["busy"]
    fresh.out("rm", cid)
    assert fresh.out("volume", "rm", "busy") == "busy\n"


def test_inspect_mounts_docker_shape(fresh, rootfs_tar, mode, tmp_path):
    fresh.out("import", rootfs_tar, "busybox")
    src = str(tmp_path)
    cid = fresh.out("create", f"--isolation={mode}", "-v", "mv:/data", "-v", f"{src}:/h:ro",
                    "-v", "/anon", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m",
                    "--mount", f"type=bind,src={src},dst=/b,bind-propagation=rslave",
                    "--mount", "type=volume,source=mv2,target=/m,readonly",
                    "busybox", "true").strip()
    [c] = json.loads(fresh.out("inspect", cid))
    anon = [m["Name"] for m in c["Mounts"] if m["Destination"] == "/anon"][0]
    vol = os.path.join(fresh.root, "volumes")
    assert c["Mounts"] == [
        {"Type": "volume", "Name": "mv", "Source": f"{vol}/mv/_data", "Destination": "/data",
         "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""},
        {"Type": "bind", "Source": src, "Destination": "/h", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True,
         "Propagation": ""},
        {"Type": "bind", "Source": src, "Destination": "/b", "Mode": "", "RW": True,
         "Propagation": "rslave"},
        {"Type": "volume", "Name": "mv2", "Source": f"{vol}/mv2/_data", "Destination": "/m",
         "Driver": "local", "Mode": "z", "RW": False, "Propagation": ""},
        {"Type": "volume", "Name": anon, "Source": f"{vol}/{anon}/_data",
         "Destination": "/anon", "Driver": "local", "Mode": "", "RW": True,
         "Propagation": ""},
    ]
    assert c["HostConfig"]["Binds"] == ["mv:/data", f"{src}:/h:ro"]
    assert c["HostConfig"]["Mounts"] == [
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}},
        {"Type": "bind", "Source": src, "Target": "/b",
         "BindOptions": {"Propagation": "rslave"}},
        {"Type": "volume", "Source": "mv2", "Target": "/m", "ReadOnly": True}]
    assert c["Config"]["Volumes"] == {"/anon": {}}
    r = fresh("start", "-a", cid, timeout=300)
    assert r.returncode == 0, r.stderr


def test_tmpfs_mount_size(isobox, mode):
    r = run(isobox, mode, "--mount", "type=tmpfs,destination=/t,tmpfs-size=2m", "busybox",
            "sh", "-c", "grep ' /t ' /proc/mounts")
    assert r.returncode == 0 and "tmpfs" in r.stdout and "size=2048k" in r.stdout, r.stdout


def test_volumes_from(fresh, rootfs_tar, mode, tmp_path):
    fresh.out("import", rootfs_tar, "busybox")
    fresh.out("create", f"--isolation={mode}", "--name", "src", "-v", "shared:/s",
              "-v", f"{tmp_path}:/h", "busybox", "true")
    r = run(fresh, mode, "--volumes-from", "src", "busybox", "sh", "-c",
            "echo a > /s/f && echo b > /h/f")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "f").read_text() == "b\n"
    r = run(fresh, mode, "--volumes-from", "src:ro", "busybox", "sh", "-c",
            "cat /s/f; touch /s/g")
    assert r.returncode != 0 and r.stdout == "a\n"
    cid = fresh.out("create", f"--isolation={mode}", "--volumes-from", "src:ro", "busybox",
                    "true").strip()
    [c] = json.loads(fresh.out("inspect", cid))
    assert c["HostConfig"]["VolumesFrom"] == ["src:ro"]
    assert {(m["Destination"], m["RW"], m["Mode"]) for m in c["Mounts"]} == {
        ("/s", False, ""), ("/h", False, "")}
    r = fresh("create", "--volumes-from", "nosuch", "busybox", "true")
    assert r.returncode == 125 and "No such container: nosuch" in r.stderr


def test_copy_up_and_image_volumes(fresh, rootfs_tar, mode):
    fresh.out("import", "-c", "VOLUME /etc", rootfs_tar, "bbvol")
    fresh.out("import", rootfs_tar, "busybox")
    # a new named volume gets the image's content at its path
    r = run(fresh, mode, "-v", "etcvol:/etc", "busybox", "cat", "/etc/passwd")
    assert r.returncode == 0 and "root:" in r.stdout, r.stderr
    assert "root:" in open(os.path.join(fresh.root, "volumes", "etcvol", "_data",
                                        "passwd")).read()
    # an existing non-empty one does not
    os.remove(os.path.join(fresh.root, "volumes", "etcvol", "_data", "passwd"))
    r = run(fresh, mode, "-v", "etcvol:/etc", "busybox", "ls", "/etc/passwd")
    assert r.returncode != 0
    # nocopy
    r = run(fresh, mode, "--mount", "source=empty,target=/etc,volume-nocopy", "busybox",
            "ls", "/etc")
    assert os.listdir(os.path.join(fresh.root, "volumes", "empty", "_data")) == []
    # an image VOLUME becomes an anonymous volume, filled
    cid = fresh.out("create", f"--isolation={mode}", "bbvol", "cat", "/etc/passwd").strip()
    [c] = json.loads(fresh.out("inspect", cid))
    [m] = c["Mounts"]
    assert m["Type"] == "volume" and m["Destination"] == "/etc" and len(m["Name"]) == 64
    assert c["Config"]["Volumes"] == {"/etc": {}}
    r = fresh("start", "-a", cid, timeout=300)
    assert r.returncode == 0 and "root:" in r.stdout
    fresh.out("rm", "-v", cid)
    assert anon_count(fresh) == 0


BAD = [
    (["-v", "rel:data"], "invalid volume specification: 'rel:data': invalid mount config for "
     "type \"volume\": invalid mount path: 'data' mount path must be absolute"),
    (["-v", "/tmp:rel"], "invalid mount path: 'rel' mount path must be absolute"),
    (["-v", "relonly"], "invalid mount path: 'relonly' mount path must be absolute"),
    (["-v", "a/b:/x"], '"a/b" includes invalid characters for a local volume name'),
    (["-v", "/x:/y:bogus"], "invalid mode: bogus"),
    (["-v", "/a:/b:/c:/d"], "invalid spec: /a:/b:/c:/d: too many colons"),
    (["-v", ""], "invalid empty volume spec"),
    (["-v", "/x:/"], "destination can't be '/'"),
    (["-v", "vv:/d", "-v", "/tmp:/d"], "Duplicate mount point: /d"),
    (["--mount", "type=foo,target=/x"], 'invalid mount config for type "foo": mount type '
     'unknown'),
    (["--mount", "source=/x"], "target is required"),
    (["--mount", "type=bind,target=/x"], "field Source must not be empty"),
    (["--mount", "type=bind,source=/nonexistent-isobox,target=/x"],
     "bind source path does not exist: /nonexistent-isobox"),
    (["--mount", "type=tmpfs,source=x,target=/x"], "field Source must not be specified"),
    (["--mount", "type=volume,target=/x,bind-propagation=rslave"],
     "field BindOptions must not be specified"),
    (["--mount", "type=volume,target=/x,bogus=1"], "unexpected key 'bogus'"),
]


@pytest.mark.parametrize("args,msg", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_mounts_refused(fresh, rootfs_tar, args, msg):
    fresh.out("import", rootfs_tar, "busybox")
    r = fresh("create", *args, "busybox", "true")
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    assert fresh.out("ps", "-aq") == ""
    assert volumes(fresh) == []
    assert not os.path.exists("/nonexistent-isobox")


def test_failed_create_leaves_no_anonymous_volume(fresh, rootfs_tar, mode):
    fresh.out("import", rootfs_tar, "busybox")
    # the --mount volume is made before the bind's missing source fails the create
    r = fresh("create", f"--isolation={mode}", "--mount", "type=volume,target=/a",
              "--mount", "type=bind,source=/nonexistent-isobox,target=/b", "busybox", "true")
    assert r.returncode == 125 and "bind source path does not exist" in r.stderr, r.stderr
    assert fresh.out("ps", "-aq") == ""
    assert anon_count(fresh) == 0
    # an image VOLUME's anonymous volume too, when a later -v fails
    fresh.out("import", "-c", "VOLUME /etc", rootfs_tar, "bbvol")
    fresh.out("volume", "create", "named1")
    r = fresh("create", f"--isolation={mode}", "-v", "named1:/n", "-v", "/proc/1/nope-isobox:/b",
              "bbvol", "true")
    assert r.returncode == 125, r.stderr
    assert anon_count(fresh) == 0 and volumes(fresh) == ["named1"]


def test_mount_flags_win_over_volumes_from_and_image_volumes(fresh, rootfs_tar, mode, tmp_path):
    # dockerd 20.10: "Duplicate mount point" is only between -v/--mount; a
    # --volumes-from or image VOLUME at the same path gives way, no error.
    fresh.out("import", rootfs_tar, "busybox")
    fresh.out("import", "-c", "VOLUME /data", rootfs_tar, "bbvol")
    fresh.out("create", f"--isolation={mode}", "--name", "src", "-v", "/data", "busybox",
              "true")
    for args, want in ((["-v", "xx:/data", "--volumes-from", "src", "busybox"], "xx"),
                       (["--mount", "source=yy,target=/data", "--volumes-from", "src",
                         "busybox"], "yy"),
                       (["-v", "zz:/data", "bbvol"], "zz")):
        cid = fresh.out("create", f"--isolation={mode}", *args, "true").strip()
        [c] = json.loads(fresh.out("inspect", cid))
        assert [(m["Name"], m["Destination"]) for m in c["Mounts"]] == [(want, "/data")]
    cid = fresh.out("create", f"--isolation={mode}", "-v", f"{tmp_path}:/data",
                    "--volumes-from", "src", "busybox", "true").strip()
    [c] = json.loads(fresh.out("inspect", cid))
    assert [(m["Type"], m["Source"]) for m in c["Mounts"]] == [("bind", str(tmp_path))]


# ---- hyperv: both modes on one volume, and a hostile guest against its share ---------


def wait_until(check, seconds=10):
    """check() until it returns a true value (the guest caches entries and
    attributes for 1 s), or the last value."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


@pytest.mark.needs_kvm
def test_process_and_hyperv_containers_share_one_volume(fresh, rootfs_tar):
    """New files, renames, fsync'd data, mode and owner changes, each way,
    while both containers run."""
    fresh.out("import", rootfs_tar, "busybox")
    ids = {m: fresh.out("run", "-d", f"--isolation={m}", "-v", "both:/s", "busybox", "sleep",
                        "600").strip() for m in ("process", "hyperv")}

    def sh(m, script):
        return fresh("exec", ids[m], "sh", "-c", script, timeout=120)

    for writer, reader in (("hyperv", "process"), ("process", "hyperv")):
        d = f"/s/{writer}"
        r = sh(writer, f"mkdir {d} && echo new > {d}/a && "
                       f"echo synced | dd of={d}/f conv=fsync 2>/dev/null && "
                       f"mv {d}/a {d}/b && chmod 640 {d}/b && chown 1000:50 {d}/b")
        assert r.returncode == 0, r.stderr
        want = f"new\nsynced\n640 1000 50\ngone\n"
        got = wait_until(lambda: sh(reader, f"cat {d}/b {d}/f; stat -c '%a %u %g' {d}/b; "
                                            f"test -e {d}/a || echo gone").stdout == want)
        assert got, sh(reader, f"ls -ln {d}; cat {d}/b {d}/f").stdout
    # the host holds the same, with the same owners
    data = os.path.join(fresh.root, "volumes", "both", "_data")
    st = os.stat(os.path.join(data, "hyperv", "b"))
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1000, 50)
    with open(os.path.join(data, "process", "f")) as f:
        assert f.read() == "synced\n"


@pytest.mark.hyperv_only("the virtio-fs file server against a hostile guest; a process "
                         "container shares the host's kernel and its binds are the kernel's")
def test_a_hostile_guest_stays_inside_its_share(isobox, tmp_path):
    share, outside = tmp_path / "share", tmp_path / "outside"
    share.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("host secret\n")
    (share / "to-outside").symlink_to(outside / "secret")
    (share / "to-root").symlink_to("/")
    before = sorted(os.listdir(outside))
    script = "; ".join([
        # symlinks resolve in the guest, never on the host: the host's
        # secret is not there, and / is the guest's own
        "cat /s/to-outside 2>&1 || echo no-secret",
        "cat /s/to-root/etc/hostname",
        "ln -s / /s/made-root && ls /s/made-root/ >/dev/null && echo guest-root",
        # .. chains stop at the share's top
        "ls /s/../../../../../ | grep -c . >/dev/null; cat /s/../../../secret 2>&1 | "
        "grep -q 'No such' && echo no-dotdot",
        # a hard link to a file outside the share cannot be made
        "ln /etc/passwd /s/passwd 2>&1 | grep -q 'Invalid cross-device' && echo no-xdev-link",
        "ln /s/to-outside /s/hard 2>/dev/null; cat /s/hard 2>&1 | grep -vq 'host secret' "
        "&& echo no-link-out",
        # device nodes are refused; very long names too
        "mknod /s/sda b 8 0 2>&1 | grep -q 'Operation not permitted' && echo no-mknod",
        f"touch /s/{'n' * 256} 2>&1 | grep -q 'too long' && echo no-long-name",
        "touch /s/ok && echo made-inside",
    ])
    r = isobox("run", "--rm", "--isolation=hyperv", "--hostname", "the-guest",
               "-v", f"{share}:/s", "busybox", "sh", "-c", script, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert "host secret" not in r.stdout
    for word in ("no-secret", "the-guest", "guest-root", "no-dotdot", "no-xdev-link",
                 "no-link-out", "no-mknod", "no-long-name", "made-inside"):
        assert word in out, (word, r.stdout)
    # nothing outside changed; inside, only what the guest made
    assert sorted(os.listdir(outside)) == before
    assert (outside / "secret").read_text() == "host secret\n"
    assert (share / "ok").exists() and not (share / "sda").exists()
    assert os.readlink(share / "made-root") == "/"


def test_make_in_a_bind_mounted_work_dir(isobox, mode, tmp_path):
    """The issue's 'done when': -v $PWD:/src -w /src, a build that reads its
    sources and writes its outputs there (busybox has no make: a shell build)."""
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "build.sh").write_text("mkdir -p out && cat a.txt a.txt > out/aa.txt && "
                                       "ls -l out > out/listing\n")
    r = isobox("run", "--rm", f"--isolation={mode}", "-v", f"{tmp_path}:/src", "-w", "/src",
               "busybox", "sh", "build.sh", timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "aa.txt").read_text() == "alpha\nalpha\n"
    assert "aa.txt" in (tmp_path / "out" / "listing").read_text()


def test_large_reads_and_writes_through_a_bind(isobox, mode, tmp_path):
    """1 MiB writes and reads (a VM's requests then carry the most pages its
    file server allows), an 8 MiB file each way."""
    import hashlib
    data = bytes(range(256)) * 4096 * 8                # 8 MiB from the host
    (tmp_path / "in").write_bytes(data)
    r = isobox("run", "--rm", f"--isolation={mode}", "-v", f"{tmp_path}:/d", "busybox", "sh",
               "-c", "dd if=/d/in of=/d/out bs=1M conv=fsync 2>/dev/null && "
                     "md5sum /d/in /d/out | cut -d' ' -f1", timeout=300)
    assert r.returncode == 0, r.stderr
    want = hashlib.md5(data).hexdigest()
    assert r.stdout.split() == [want, want]
    assert (tmp_path / "out").read_bytes() == data


@pytest.mark.hyperv_only("a VM's own limits on shares; a process container binds anything")
def test_what_a_vm_cannot_share_is_refused(isobox, tmp_path):
    binds = []
    for i in range(9):
        (tmp_path / f"d{i}").mkdir()
        binds += ["-v", f"{tmp_path}/d{i}:/m{i}"]
    r = isobox("run", "--rm", "--isolation=hyperv", *binds, "busybox", "true", timeout=300)
    assert r.returncode == 125
    assert "more than 8 bind mounts and volumes: a hyperv container has at most 8" in r.stderr
    os.mkfifo(tmp_path / "fifo")
    r = isobox("run", "--rm", "--isolation=hyperv", "-v", f"{tmp_path}/fifo:/fifo", "busybox",
               "true", timeout=300)
    assert r.returncode == 125 and "not devices, sockets or fifos" in r.stderr, r.stderr
    r = isobox("run", "--rm", "--isolation=hyperv", *binds[:16], "busybox", "sh", "-c",
               "touch /m0/x /m7/y", timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d0" / "x").exists() and (tmp_path / "d7" / "y").exists()


# ---- block volumes (-o type=block): a disk of its own for one VM at a time ------------

@pytest.mark.process_only("volume records and refusals: no container runs")
def test_block_volume_create_and_bad_options(fresh):
    assert fresh.out("volume", "create", "-o", "type=block", "-o", "size=64m", "blk") == "blk\n"
    [v] = json.loads(fresh.out("volume", "inspect", "blk"))
    assert v["Options"] == {"type": "block", "size": "64m"}
    # the Mountpoint is the volume's ext4 disk image, sparse
    st = os.stat(v["Mountpoint"])
    assert os.path.isfile(v["Mountpoint"]) and st.st_size == 64 << 20
    assert st.st_blocks * 512 < st.st_size
    with open(v["Mountpoint"], "rb") as f:
        f.seek(1024 + 0x38)
        assert f.read(2) == b"\x53\xef"              # the ext4 superblock's magic
    for opts, msg in ((["-o", "type=block", "-o", "size=1k"], "invalid size=1k"),
                      (["-o", "type=block", "-o", "size=lots"], "invalid size=lots"),
                      (["-o", "type=nfs"], "option type=nfs is not supported"),
                      (["-o", "device=/dev/sda"], "option device=/dev/sda is not supported")):
        r = fresh("volume", "create", *opts, "nope")
        assert r.returncode == 1 and msg in r.stderr, r.stderr
    assert volumes(fresh) == ["blk"]
    assert fresh.out("volume", "rm", "blk") == "blk\n"
    assert not os.path.exists(v["Mountpoint"])


def test_block_volume(fresh, rootfs_tar, mode, tmp_path):
    """A hyperv container mounts it as a disk of its own (ext4), writes
    persist, :ro is a read-only disk, and a second VM is refused while one
    holds it; a process container is refused (the host kernel would parse
    what a VM wrote)."""
    fresh.out("import", rootfs_tar, "busybox")
    fresh.out("volume", "create", "-o", "type=block", "-o", "size=64m", "bv")
    disk = os.path.join(fresh.root, "volumes", "bv", "_data")
    before = os.stat(disk).st_mtime_ns
    if mode == "process":
        r = run(fresh, mode, "-v", "bv:/d", "busybox", "true")
        assert r.returncode == 125
        assert "volume bv is a block volume (type=block): only a hyperv container" in r.stderr
        assert os.stat(disk).st_mtime_ns == before
        assert fresh.out("ps", "-aq") == ""
        return
    r = run(fresh, mode, "-v", "bv:/d", "busybox", "sh", "-c",
            "echo kept > /d/f && grep ' /d ' /proc/mounts")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1:3] == ["/d", "ext4"] and " rw," in r.stdout
    r = run(fresh, mode, "--mount", "source=bv,target=/e,readonly", "busybox", "sh", "-c",
            "cat /e/f; touch /e/g")
    assert r.returncode != 0 and r.stdout == "kept\n" and "Read-only file system" in r.stderr
    cid = fresh.out("run", "-d", f"--isolation={mode}", "-v", "bv:/d", "busybox",
                    "sleep", "600").strip()
    try:
        r = run(fresh, mode, "-v", "bv:/x", "busybox", "true")
        assert r.returncode == 125
        assert "block volume" in r.stderr and "in use by another hyperv container" in r.stderr
        # cp while it runs: through the guest, which mounts the disk
        r = fresh("cp", f"{cid}:/d/f", str(tmp_path / "f"), timeout=120)
        assert r.returncode == 0 and (tmp_path / "f").read_text() == "kept\n", r.stderr
    finally:
        fresh.out("rm", "-f", cid)
    # stopped: the host does not mount the disk, so cp says so
    cid = fresh.out("create", f"--isolation={mode}", "-v", "bv:/d", "busybox", "true").strip()
    r = fresh("cp", f"{cid}:/etc/hostname", str(tmp_path / "h"))
    assert r.returncode == 1 and "has block volume bv on /d, which only its VM mounts" in r.stderr
    fresh.out("rm", cid)
    r = run(fresh, mode, "-v", "bv:/d", "busybox", "ls", "/d")
    assert r.returncode == 0 and "f" in r.stdout.split(), r.stderr
