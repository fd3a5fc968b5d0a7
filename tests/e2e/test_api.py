"""isobox serve (issue 16, first part): the Docker Engine API on a unix socket,
driven by the real docker CLI (28, API 1.50) and by raw HTTP: the same store
as the isobox command, docker's shapes, status codes and messages."""
import grp
import http.client
import json
import os
import socket
import stat
import subprocess
import time
import uuid

import pytest

from conftest import RUN_MODE

DOCKER = "/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else "docker"


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


@pytest.fixture
def api(isobox, tmp_path):
    sock = str(tmp_path / "docker.sock")
    proc = subprocess.Popen(isobox.cmd("serve", "--host", f"unix://{sock}"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if os.path.exists(sock):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    assert os.path.exists(sock)

    def request(method, path, body=None):
        c = UnixHTTP(sock)
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def docker(*args, check=False):
        env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path))
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=60,
                              env=env, check=check)

    request.sock, request.docker = sock, docker
    yield request
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not os.path.exists(sock), "the socket outlived the service"


def test_api_socket_ping_and_versions(api):
    st = os.stat(api.sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0
    assert st.st_gid == grp.getgrnam("isobox").gr_gid
    for method in ("GET", "HEAD"):
        status, headers, body = api(method, "/_ping")
        assert status == 200 and headers["Api-Version"] == "1.50"
        assert body == (b"OK" if method == "GET" else b"")
    assert api("GET", "/v1.24/_ping")[0] == 200
    status, _, body = api("GET", "/v1.51/version")
    assert status == 400
    assert json.loads(body) == {"message": "client version 1.51 is too new. Maximum "
                                           "supported API version is 1.50"}
    status, _, body = api("GET", "/v1.12/version")
    assert status == 400 and b"too old. Minimum supported API version is 1.24" in body
    status, _, body = api("GET", "/v1.50/nothing/here")
    assert (status, json.loads(body)) == (404, {"message": "page not found"})
    status, _, body = api("GET", "/version")
    v = json.loads(body)
    assert status == 200 and v["ApiVersion"] == "1.50" and v["MinAPIVersion"] == "1.24"
    # the docker CLI negotiates and reads it
    out = api.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
    assert out.returncode == 0 and out.stdout == "1.50 linux\n", out.stderr


def test_api_serves_the_same_store(api, isobox, mode):
    name = "api-" + uuid.uuid4().hex[:8]
    isobox("create", "--name", name, f"--isolation={mode}", "-l", "app=web",
           "--tmpfs", "/t:size=1m", "--ulimit", "nofile=100:200", "busybox", "sleep", "30",
           check=True)
    try:
        # a container made by the isobox command is in docker ps, with docker's columns
        ps = api.docker("ps", "-a", "--filter", f"name={name}",
                        "--format", "{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}")
        assert ps.returncode == 0, ps.stderr
        assert ps.stdout == f'{name}|busybox|"sleep 30"|Created\n'
        assert api.docker("ps", "-a", "-q", "--filter", "label=app=nope").stdout == ""
        assert api.docker("ps", "-q", "--filter", f"name={name}").stdout == ""   # not running
        bad = api.docker("ps", "-a", "--filter", "foo=bar")
        assert bad.returncode == 1 and "invalid filter 'foo'" in bad.stderr
        # inspect: the same document as isobox inspect, in docker's types
        got = api.docker("inspect", name)
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout) == json.loads(isobox.out("inspect", name))
        iso = api.docker("inspect", "-f", "{{.HostConfig.Isolation}} {{.HostConfig.Tmpfs}}",
                         name)
        assert iso.stdout == f"{mode} map[/t:size=1m]\n"
        missing = api.docker("inspect", "nosuch-" + name)
        assert missing.returncode == 1 and "No such object" in missing.stderr
        status, _, body = api("GET", f"/v1.50/containers/nosuch-{name}/json")
        assert (status, json.loads(body)) == (404, {"message": f"No such container: "
                                                               f"nosuch-{name}"})
        # running: docker ps shows it up
        isobox("start", name, check=True)
        up = api.docker("ps", "--filter", f"name={name}", "--format", "{{.Status}}")
        assert up.stdout.startswith("Up "), up.stdout
    finally:
        isobox("rm", "-f", name)


def test_api_images_and_info(api, isobox):
    imgs = api.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    assert imgs.returncode == 0, imgs.stderr
    want = json.loads(isobox.out("image", "inspect", "busybox"))[0]["Id"]
    assert f"busybox:latest {want[7:19]}" in imgs.stdout.splitlines()
    got = api.docker("image", "inspect", "busybox")
    assert json.loads(got.stdout) == json.loads(isobox.out("image", "inspect", "busybox"))
    missing = api.docker("image", "inspect", "nosuch-image")
    assert missing.returncode == 1 and "No such image: nosuch-image" in missing.stderr
    # info: Isolation is the host's default mode (the harness's: this run's)
    info = api.docker("info", "--format", "{{.Isolation}} {{.OSType}} {{.ServerVersion}}")
    assert info.returncode == 0, info.stderr
    assert info.stdout.split()[:2] == [RUN_MODE, "linux"]


def test_api_refuses_a_socket_in_use(isobox, api):
    r = isobox("serve", "--host", f"unix://{api.sock}")
    assert r.returncode == 125 and "is in use" in r.stderr
    r = isobox("serve", "--host", "tcp://0.0.0.0:2375")
    assert r.returncode == 125 and "only unix:///ABSOLUTE/PATH" in r.stderr
