"""isobox cp (issue 15): docker's command line, destination rules, messages
and exit codes (docker CLI 28 against dockerd 20.10 as the reference), in both
modes: a stopped container's files on the host, a running hyperv container's
through its guest (guest/cp_tool.h), the same answers."""
import io
import os
import subprocess
import tarfile
import uuid

import pytest


MADE = []


def mk(ib, mode, *args):
    name = "cp-" + uuid.uuid4().hex[:8]
    ib("create", "--name", name, f"--isolation={mode}", *args, "busybox", "sleep", "1000",
       check=True)
    MADE.append(name)
    return name


@pytest.fixture(autouse=True)
def removed_after(isobox):
    """The shared root gets back what it had: other tests count its containers."""
    yield
    while MADE:
        isobox("rm", "-f", "-v", MADE.pop())


@pytest.fixture
def hostdir(tmp_path):
    (tmp_path / "f").write_text("hi\n")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_text("x\n")
    os.symlink("/etc", tmp_path / "d" / "lnk")
    return tmp_path


def fail(r, code, msg):
    assert r.returncode == code and r.stderr == msg, (r.returncode, r.stderr)


def test_cp_command_line_errors(isobox, hostdir):
    fail(isobox("cp", str(hostdir / "f"), str(hostdir / "g")), 1,
         "must specify at least one container source\n")
    fail(isobox("cp", "a:/x", "b:/y"), 1, "copying between containers is not supported\n")
    r = isobox("cp", "a:/x")
    assert r.returncode == 1 and "'isobox cp' requires 2 arguments" in r.stderr
    fail(isobox("cp", "nosuch-ctr:/etc/passwd", str(hostdir)), 1,
         "Error response from daemon: No such container: nosuch-ctr\n")


def test_cp_missing_paths(isobox, mode, hostdir):
    c = mk(isobox, mode)
    fail(isobox("cp", f"{c}:/nope", str(hostdir / "out")), 1,
         f"Error response from daemon: Could not find the file /nope in container {c}\n")
    fail(isobox("cp", f"{c}:/nope", "-"), 1,
         f"Error response from daemon: Could not find the file /nope in container {c}\n")
    fail(isobox("cp", str(hostdir / "f"), f"{c}:/nope/x"), 1,
         f"Error response from daemon: Could not find the file /nope in container {c}\n")
    fail(isobox("cp", str(hostdir / "nope"), f"{c}:/"), 1,
         f"lstat {hostdir}/nope: No such file or directory\n")
    fail(isobox("cp", f"{c}:/etc/passwd", str(hostdir / "nodir" / "x")), 1,
         f'invalid output path: directory "{hostdir}/nodir" does not exist\n')
    fail(isobox("cp", f"{c}:/etc/passwd", str(hostdir / "missing") + "/"), 1,
         "no such directory\n")
    fail(isobox("cp", f"{c}:/etc", str(hostdir / "f")), 1, "cannot copy directory\n")
    fail(isobox("cp", str(hostdir / "d"), f"{c}:/etc/passwd"), 1, "cannot copy directory\n")
    fail(isobox("cp", str(hostdir / "f"), f"{c}:/etc/passwd/"), 1, "no such directory\n")


def test_cp_destination_rules(isobox, mode, hostdir):
    c = mk(isobox, mode)
    # an existing directory takes the source inside it; a missing path becomes it
    e3 = hostdir / "e3"
    e3.mkdir()
    assert isobox("cp", f"{c}:/etc", str(e3)).returncode == 0
    assert os.listdir(e3) == ["etc"] and (e3 / "etc" / "passwd").read_text().startswith("root:")
    assert isobox("cp", f"{c}:/etc", str(hostdir / "e2")).returncode == 0
    assert (hostdir / "e2" / "passwd").is_file()
    # "SRC/.": what is in SRC, into an existing directory too
    e1 = hostdir / "e1"
    e1.mkdir()
    assert isobox("cp", f"{c}:/etc/.", str(e1)).returncode == 0
    assert (e1 / "passwd").is_file() and not (e1 / "etc").exists()
    # a file onto a new name, and over an existing file
    assert isobox("cp", f"{c}:/etc/passwd", str(hostdir / "pw")).returncode == 0
    assert (hostdir / "pw").read_text().startswith("root:")
    assert isobox("cp", f"{c}:/etc/passwd", str(hostdir / "f")).returncode == 0
    assert (hostdir / "f").read_text().startswith("root:")
    # a symlink is copied as a link; -L copies what it points to
    assert isobox("cp", f"{c}:/bin/sh", str(hostdir / "sh")).returncode == 0
    assert os.readlink(hostdir / "sh") == "busybox"
    assert isobox("cp", "-L", f"{c}:/bin/sh", str(hostdir / "sh2")).returncode == 0
    assert not os.path.islink(hostdir / "sh2") and os.path.getsize(hostdir / "sh2") > 100000


def test_cp_into_container_stopped_and_running(isobox, mode, hostdir):
    c = mk(isobox, mode)
    assert isobox("cp", str(hostdir / "d"), f"{c}:/tmp/").returncode == 0
    assert isobox("cp", str(hostdir / "f"), f"{c}:/tmp/renamed").returncode == 0
    isobox("start", c, check=True)
    assert isobox("exec", c, "cat", "/tmp/d/a", "/tmp/renamed").stdout == "x\nhi\n"
    assert isobox("exec", c, "readlink", "/tmp/d/lnk").stdout == "/etc\n"
    # running: both ways
    (hostdir / "f").write_text("new\n")
    assert isobox("cp", str(hostdir / "f"), f"{c}:/tmp/run").returncode == 0
    assert isobox("exec", c, "cat", "/tmp/run").stdout == "new\n"
    isobox("exec", c, "sh", "-c", "echo made-inside > /tmp/in", check=True)
    assert isobox("cp", f"{c}:/tmp/in", str(hostdir / "in")).returncode == 0
    assert (hostdir / "in").read_text() == "made-inside\n"
    # stopped again: what the running container wrote is there (a VM's on its disk)
    isobox("kill", c, check=True)
    isobox("wait", c)
    assert isobox("cp", f"{c}:/tmp/in", str(hostdir / "in2")).returncode == 0
    assert (hostdir / "in2").read_text() == "made-inside\n"
    assert isobox("cp", str(hostdir / "f"), f"{c}:/tmp/after").returncode == 0
    isobox("start", c, check=True)
    assert isobox("exec", c, "cat", "/tmp/after").stdout == "new\n"


def test_cp_running_owners_and_long_names(isobox, mode, hostdir):
    c = mk(isobox, mode)
    isobox("start", c, check=True)
    long = "L" * 150
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("own", b"o\n"), (f"deep/{long}", b"long\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.uid, ti.gid = len(data), 1234, 4321
            t.addfile(ti, io.BytesIO(data))
    for flags, want in ((["-a"], "1234:4321"), ([], "0:0")):
        r = subprocess.run(isobox.cmd("cp", *flags, "-", f"{c}:/tmp"), input=buf.getvalue(),
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr
        got = isobox("exec", c, "stat", "-c", "%u:%g", "/tmp/own", f"/tmp/deep/{long}")
        assert got.stdout == f"{want}\n{want}\n", (flags, got.stdout)
    out = subprocess.run(isobox.cmd("cp", f"{c}:/tmp/deep", "-"), capture_output=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as t:
        assert t.extractfile(f"deep/{long}").read() == b"long\n"
    # a directory both ways, running
    assert isobox("cp", str(hostdir / "d"), f"{c}:/tmp/").returncode == 0
    assert isobox("cp", f"{c}:/tmp/d", str(hostdir / "back")).returncode == 0
    assert (hostdir / "back" / "a").read_text() == "x\n"
    assert os.readlink(hostdir / "back" / "lnk") == "/etc"


def test_cp_symlinks_stay_in_the_container(isobox, mode, hostdir):
    c = mk(isobox, mode)
    assert isobox("cp", str(hostdir / "d"), f"{c}:/tmp/").returncode == 0
    # /tmp/d/lnk -> /etc is the container's /etc, not the host's
    assert isobox("cp", f"{c}:/tmp/d/lnk/passwd", str(hostdir / "pw")).returncode == 0
    inside = isobox("cp", f"{c}:/etc/passwd", "-")
    with tarfile.open(fileobj=io.BytesIO(inside.stdout.encode())) as t:
        want = t.extractfile("passwd").read()
    assert (hostdir / "pw").read_bytes() == want
    # writing through the link lands in the container's /etc, never the host's
    marker = "cp-marker-" + uuid.uuid4().hex[:8]
    (hostdir / marker).write_text("m\n")
    assert isobox("cp", str(hostdir / marker), f"{c}:/tmp/d/lnk/").returncode == 0
    assert not os.path.exists("/etc/" + marker)
    assert isobox("cp", f"{c}:/etc/{marker}", "-").returncode == 0
    assert isobox("cp", f"{c}:/../../../../etc/{marker}", str(hostdir / "up")).returncode == 0
    assert (hostdir / "up").read_text() == "m\n"


def test_cp_tar_streams(isobox, mode, hostdir):
    c = mk(isobox, mode)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in (("s/one", b"1\n"), ("two", b"22\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.uid, ti.gid = len(data), 1234, 4321
            t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("../escape")
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"e"))
    cmd = isobox.cmd("cp", "-a", "-", f"{c}:/tmp")
    r = subprocess.run(cmd, input=buf.getvalue(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = subprocess.run(isobox.cmd("cp", f"{c}:/tmp", "-"), capture_output=True, timeout=60)
    assert out.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as t:
        names = t.getnames()
        assert "tmp/s/one" in names and "tmp/two" in names and "escape" not in names
        two = t.getmember("tmp/two")
        assert (two.uid, two.gid) == (1234, 4321)
        assert t.extractfile("tmp/s/one").read() == b"1\n"
    fail(isobox("cp", "-", f"{c}:/nope"), 1,
         f"Error response from daemon: Could not find the file /nope in container {c}\n")


def test_cp_honours_volumes_and_binds(isobox, mode, hostdir):
    vol = "cpvol-" + uuid.uuid4().hex[:8]
    bind = hostdir / "bind"
    bind.mkdir()
    c = mk(isobox, mode, "-v", f"{vol}:/data/deep", "-v", f"{bind}:/mnt/b")
    # stopped: the copy lands in the volume and in the bound directory
    assert isobox("cp", str(hostdir / "f"), f"{c}:/data/deep/f1").returncode == 0
    assert isobox("cp", str(hostdir / "d"), f"{c}:/mnt/b/").returncode == 0
    mp = isobox.out("volume", "inspect", "-f", "{{.Mountpoint}}", vol).strip()
    assert open(os.path.join(mp, "f1")).read() == "hi\n"
    assert (bind / "d" / "a").read_text() == "x\n"
    isobox("start", c, check=True)
    assert isobox("cp", str(hostdir / "f"), f"{c}:/data/deep/f2").returncode == 0
    assert open(os.path.join(mp, "f2")).read() == "hi\n"
    (bind / "fromhost").write_text("h\n")
    assert isobox("cp", f"{c}:/mnt/b/fromhost", str(hostdir / "back")).returncode == 0
    assert (hostdir / "back").read_text() == "h\n"
    isobox("rm", "-f", c, check=True)
    isobox("volume", "rm", vol, check=True)
