"""isobox serve (issue 16): `docker cp` with the stock CLI through
/containers/{id}/archive (HEAD: the path's stat header, GET: its tar, PUT:
a tar unpacked into a directory), in both modes: a running VM's files
through its guest's cp tools, a process container's through a child
chrooted into its root. dockerd 20.10 answered the same (docs/api.md)."""
import base64
import json
import os
import uuid

from conftest import wait_for


def test_api_cp_both_ways(api, isobox, mode, tmp_path):
    name = "api-cp-" + uuid.uuid4().hex[:8]
    r = api.docker("run", "-d", "--name", name, f"--isolation={mode}", "--pull", "never",
                   "busybox", "sleep", "300", timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        assert wait_for(lambda: isobox.out("inspect", "-f", "{{.State.Running}}", name)
                        == "true\n")
        # out: a file, a symlink as a link and with -L, a directory
        assert api.docker("cp", f"{name}:/etc/passwd", str(tmp_path / "pw")).returncode == 0
        assert (tmp_path / "pw").read_text().startswith("root:")
        assert api.docker("cp", f"{name}:/bin/sh", str(tmp_path / "sh")).returncode == 0
        assert os.readlink(tmp_path / "sh") == "busybox"
        r = api.docker("cp", "-L", f"{name}:/bin/sh", str(tmp_path / "sh2"))
        assert r.returncode == 0, r.stderr
        assert not os.path.islink(tmp_path / "sh2")
        assert os.path.getsize(tmp_path / "sh2") > 100000
        assert api.docker("cp", f"{name}:/etc", str(tmp_path / "etc")).returncode == 0
        assert (tmp_path / "etc" / "group").is_file()
        missing = api.docker("cp", f"{name}:/nosuch", str(tmp_path / "x"))
        assert missing.returncode == 1
        assert f"Could not find the file /nosuch in container {name}" in missing.stderr
        # in: a file into a directory, a directory onto a new name
        (tmp_path / "f.txt").write_text("hello\n")
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "a").write_text("x\n")
        assert api.docker("cp", str(tmp_path / "f.txt"), f"{name}:/tmp/").returncode == 0
        assert api.docker("cp", str(tmp_path / "d"), f"{name}:/tmp/newd").returncode == 0
        assert isobox.out("exec", name, "cat", "/tmp/f.txt", "/tmp/newd/a") == "hello\nx\n"
        r = api.docker("cp", str(tmp_path / "f.txt"), f"{name}:/nosuchdir/x")
        assert r.returncode == 1 and "Could not find the file /nosuchdir" in r.stderr
        # the stat header: docker's ContainerPathStat, a symlink's target resolved
        status, headers, _ = api("HEAD", f"/v1.50/containers/{name}/archive?path=/bin/sh")
        assert status == 200
        st = json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))
        assert st["name"] == "sh" and st["linkTarget"] == "/bin/busybox"
        assert st["mode"] & (1 << 27) and st["mode"] & 0o777 == 0o777, st
        status, headers, _ = api("HEAD", f"/v1.50/containers/{name}/archive?path=/etc")
        st = json.loads(base64.b64decode(headers["X-Docker-Container-Path-Stat"]))
        assert st["mode"] & (1 << 31) and st["name"] == "etc", st
        assert api("HEAD", f"/v1.50/containers/{name}/archive?path=/nosuch")[0] == 404
        assert api("HEAD", "/v1.50/containers/nosuch-ctr/archive?path=/")[0] == 404
        status, _, body = api("PUT", f"/v1.50/containers/{name}/archive?path=/etc/passwd",
                              body=b"\0" * 1024)
        assert status == 400 and b"not a directory" in body, body
    finally:
        isobox("rm", "-f", name)
