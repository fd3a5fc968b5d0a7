"""docker-compose 1.29 (Debian's, docker-py underneath) against isobox serve
(issue 16): the seed's microservices with different isolation needs as one
compose file, its services choosing their isolation. Everything (the
service, compose, the networks it makes, the published port) lives in a
network namespace of the test's own (issue 14's rule)."""
import os
import time
import uuid

import pytest

from netns import NetNS

# A page from the namespace's loopback (busybox's wget -T crashes in Debian's 1.35).
FETCH = ["python3", "-c", "import sys, urllib.request; "
         "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())"]

COMPOSE = """\
version: "3.8"
services:
  web:
    image: busybox
    command: sh -c "echo web-up; mkdir -p /www; httpd -f -p 80 -h /www"
    isolation: {web}
    ports:
      - "127.0.0.1:8097:80"
    volumes:
      - data:/www
  app:
    image: busybox
    command: sh -c "echo app-up; sleep 600"
    isolation: process
volumes:
  data:
"""


def test_compose_app_with_both_isolations(isobox, tmp_path, mode):
    ns = NetNS()
    sock = str(tmp_path / "c.sock")
    project = "cmp" + uuid.uuid4().hex[:6]
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.format(web=mode))
    service = ns.popen(*isobox.cmd("serve", "--host", f"unix://{sock}"))
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", COMPOSE_INTERACTIVE_NO_CLI="1")
    env.pop("ISOBOX_DEFAULT_NETWORK", None)    # compose's own network, in our namespace

    def compose(*args, check=True, timeout=300):
        r = ns.run("docker-compose", "-p", project, "-f", str(tmp_path / "docker-compose.yml"),
                   *args, env=env, timeout=timeout)
        assert not check or r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        compose("up", "-d")
        ps = compose("ps").stdout
        assert f"{project}_web_1" in ps and f"{project}_app_1" in ps and ps.count(" Up ") == 2
        assert isobox.out("inspect", "-f", "{{.HostConfig.Isolation}}",
                          f"{project}_web_1") == f"{mode}\n"
        assert isobox.out("inspect", "-f", "{{.HostConfig.Isolation}}",
                          f"{project}_app_1") == "process\n"
        logs = compose("logs", "--no-color").stdout
        assert "web-up" in logs and "app-up" in logs
        compose("exec", "-T", "web", "sh", "-c", "echo hello-compose > /www/index.html")
        # the services call each other by name on the compose network
        for _ in range(60):
            got = compose("exec", "-T", "app", "wget", "-qO-", "http://web/", check=False)
            if got.stdout == "hello-compose\n":
                break
            time.sleep(1)
        assert got.stdout == "hello-compose\n", (got.stdout, got.stderr)
        # the published port, from the namespace's own loopback
        pub = ns.run(*FETCH, "http://127.0.0.1:8097/")
        assert pub.stdout == "hello-compose\n", pub.stderr
        # down without -v: the named volume outlives it
        compose("down")
        assert f"{project}_web_1" not in isobox.out("ps", "-a")
        assert f"{project}_data" in isobox.out("volume", "ls", "-q").split()
        compose("up", "-d")
        for _ in range(120):
            again = ns.run(*FETCH, "http://127.0.0.1:8097/")
            if again.stdout:
                break
            time.sleep(1)
        assert again.stdout == "hello-compose\n", again.stderr
        compose("down", "-v")
        assert f"{project}_data" not in isobox.out("volume", "ls", "-q").split()
    finally:
        compose("down", "-v", check=False)
        service.terminate()
        service.wait(timeout=30)
        ns.close()
