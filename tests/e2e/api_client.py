"""A client of `isobox serve` for the API tests: raw HTTP on its unix socket
and the real docker CLI pointed at it (the fixtures api and fresh_api in
conftest.py start a service per test)."""
import contextlib
import http.client
import os
import socket
import subprocess
import time

DOCKER = "/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else "docker"


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


@contextlib.contextmanager
def service(isobox, tmp_path):
    """`isobox serve` on tmp_path/docker.sock for isobox's root: request(method,
    path, body=None, headers=None) -> (status, headers, body); .docker(*args)
    runs the docker CLI against it; .sock is the socket's path. Stopped (and
    checked to leave no socket) after."""
    sock = str(tmp_path / "docker.sock")
    proc = subprocess.Popen(isobox.cmd("serve", "--host", f"unix://{sock}"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if os.path.exists(sock):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    assert os.path.exists(sock)

    def request(method, path, body=None, headers=None):
        c = UnixHTTP(sock, timeout=120)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def docker(*args, check=False, timeout=60, input=None):
        env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path))
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                              env=env, check=check, input=input)

    request.sock, request.docker = sock, docker
    try:
        yield request
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert not os.path.exists(sock), "the socket outlived the service"
