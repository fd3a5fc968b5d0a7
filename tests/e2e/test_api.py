"""isobox serve (issue 16, first part): the Docker Engine API on a unix socket,
driven by the real docker CLI (28, API 1.50) and by raw HTTP: the same store
as the isobox command, docker's shapes, status codes and messages."""
import grp
import json
import os
import socket
import stat
import subprocess
import time
import uuid

import pytest

from conftest import RUN_MODE

from api_client import DOCKER, UnixHTTP  # the fixtures api, fresh_api: conftest.py


@pytest.mark.process_only("the service's own answers, before any container: the same in "
                          "both modes")
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


@pytest.mark.process_only("the service's own refusal, before any container: the same in "
                          "both modes")
def test_api_refuses_a_socket_in_use(isobox, api):
    r = isobox("serve", "--host", f"unix://{api.sock}")
    assert r.returncode == 125 and "is in use" in r.stderr
    r = isobox("serve", "--host", "tcp://0.0.0.0:2375")
    assert r.returncode == 125 and "only unix:///ABSOLUTE/PATH" in r.stderr


def test_api_docker_run_exit_codes_and_streams(api, isobox, mode):
    iso = f"--isolation={mode}"
    r = api.docker("run", "--rm", "--pull", "never", iso, "busybox", "sh", "-c",
                   "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = api.docker("run", "--rm", "--pull", "never", iso, "busybox", "nosuchcmd")
    assert r.returncode == 127, (r.returncode, r.stderr)
    r = api.docker("run", "--rm", "--pull", "never", iso, "busybox", "/etc/passwd")
    assert r.returncode == 126, (r.returncode, r.stderr)
    r = api.docker("run", "--rm", "--pull", "never", iso, "nosuch-image-" + mode)
    assert r.returncode == 125 and "No such image" in r.stderr, (r.returncode, r.stderr)
    # --rm: gone after; without it the exit is recorded for inspect
    name = "api-run-" + uuid.uuid4().hex[:8]
    r = api.docker("run", "--name", name, "--pull", "never", iso, "busybox", "sh", "-c",
                   "exit 7")
    assert r.returncode == 7
    assert isobox.out("inspect", "-f", "{{.State.ExitCode}} {{.HostConfig.Isolation}}",
                      name) == f"7 {mode}\n"
    assert api.docker("rm", name).returncode == 0
    assert isobox("inspect", name).returncode != 0


def test_api_detached_lifecycle(api, isobox, mode):
    name = "api-d-" + uuid.uuid4().hex[:8]
    r = api.docker("run", "-d", "--name", name, "--pull", "never", f"--isolation={mode}",
                   "busybox", "sh", "-c", "echo hello; echo oops >&2; sleep 300")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64, r.stderr
    try:
        # logs: both streams, the frames undone by the CLI
        for _ in range(600):
            logs = api.docker("logs", name)
            if "hello" in logs.stdout and "oops" in logs.stderr:
                break
            time.sleep(0.1)
        assert (logs.stdout, logs.stderr) == ("hello\n", "oops\n")
        assert api.docker("ps", "--filter", f"name={name}", "-q").stdout.strip() != ""
        rm = api.docker("rm", name)
        assert rm.returncode == 1 and "You cannot remove a running container" in rm.stderr
        # kill: 137, seen by docker wait and inspect
        assert api.docker("kill", name).returncode == 0
        assert api.docker("wait", name).stdout == "137\n"
        assert api.docker("start", name).returncode == 0
        assert api.docker("stop", "-t", "1", name).returncode == 0
        st = api.docker("inspect", "-f", "{{.State.Status}}", name).stdout
        assert st == "exited\n"
        assert api.docker("restart", "-t", "1", name).returncode == 0
        assert api.docker("inspect", "-f", "{{.State.Running}}", name).stdout == "true\n"
        assert api.docker("rm", "-f", name).returncode == 0
        assert name not in isobox.out("ps", "-a")
        missing = api.docker("stop", name)
        assert missing.returncode == 1 and f"No such container: {name}" in missing.stderr
    finally:
        isobox("rm", "-f", name)


def test_api_run_interactive_with_a_tty(api, mode):
    import pexpect
    env = dict(os.environ, DOCKER_HOST=f"unix://{api.sock}")
    c = pexpect.spawn(DOCKER, ["run", "-it", "--rm", "--pull", "never", f"--isolation={mode}",
                               "busybox", "sh"], env=env, timeout=120, encoding="utf-8")
    c.expect(r"\x1b\[6n")
    c.send("\x1b[1;1R")          # busybox's line editing asks where the cursor is
    c.sendline("echo hi-$((40+2)); tty")
    c.expect("hi-42")
    c.expect("/dev/pts/")
    c.sendline("exit 5")
    c.expect(pexpect.EOF)
    c.close()
    assert c.exitstatus == 5
    # -i without a TTY: stdin through, half-closed at its end
    r = subprocess.run([DOCKER, "run", "-i", "--rm", "--pull", "never", f"--isolation={mode}",
                        "busybox", "sh", "-c", "cat; echo done"],
                       input="line one\nline two\n", env=env, capture_output=True, text=True,
                       timeout=120)
    assert (r.returncode, r.stdout) == (0, "line one\nline two\ndone\n"), r.stderr


@pytest.mark.needs_kvm
def test_api_both_isolations_side_by_side(api, isobox):
    """The seed's promise through the stock CLI: --isolation=hyperv and
    --isolation=process, one service, one store."""
    names = {m: "api-side-" + m + "-" + uuid.uuid4().hex[:6] for m in ("process", "hyperv")}
    try:
        for m, n in names.items():
            r = api.docker("run", "-d", "--name", n, "--pull", "never", f"--isolation={m}",
                           "busybox", "sleep", "300")
            assert r.returncode == 0, r.stderr
        for m, n in names.items():
            got = api.docker("inspect", "-f", "{{.HostConfig.Isolation}} {{.State.Running}}", n)
            assert got.stdout == f"{m} true\n"
        # the kernels differ: the VM's is its own
        host = os.uname().release
        vm = isobox.out("exec", names["hyperv"], "uname", "-r").strip()
        assert isobox.out("exec", names["process"], "uname", "-r").strip() == host
        assert vm != "" and vm != host or "cloud" in vm
        iso = api.docker("ps", "--filter", "isolation=hyperv", "--format", "{{.Names}}")
        assert names["hyperv"] in iso.stdout.split() and names["process"] not in iso.stdout
    finally:
        for n in names.values():
            isobox("rm", "-f", n)


@pytest.mark.process_only("the service's own behaviour, the same for both modes; its "
                          "containers' modes are covered above")
def test_api_service_killed_and_restarted(isobox, tmp_path):
    sock = str(tmp_path / "d.sock")
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path))
    name = "api-live-" + uuid.uuid4().hex[:8]

    def serve():
        p = subprocess.Popen(isobox.cmd("serve", "--host", f"unix://{sock}"),
                             stderr=subprocess.DEVNULL)
        for _ in range(300):
            if os.path.exists(sock):
                return p
            time.sleep(0.02)
        raise AssertionError("the service made no socket")

    p = serve()
    try:
        r = subprocess.run([DOCKER, "run", "-d", "--name", name, "--pull", "never", "busybox",
                            "sleep", "300"], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        p.kill()                      # kill -9: no goodbye
        p.wait()
        assert isobox.out("inspect", "-f", "{{.State.Running}}", name) == "true\n"
        p = serve()                   # a stale socket is replaced
        ps = subprocess.run([DOCKER, "ps", "--filter", f"name={name}", "--format",
                             "{{.Status}}"], env=env, capture_output=True, text=True, timeout=60)
        assert ps.stdout.startswith("Up "), (ps.stdout, ps.stderr)
        stop = subprocess.run([DOCKER, "stop", "-t", "1", name], env=env, capture_output=True,
                              text=True, timeout=60)
        assert stop.returncode == 0, stop.stderr
    finally:
        p.terminate()
        p.wait(timeout=30)
        isobox("rm", "-f", name)


@pytest.mark.process_only("the service's own behaviour, the same for both modes")
def test_api_twenty_clients_and_one_that_stalls(api, isobox):
    import concurrent.futures
    name = "api-stall-" + uuid.uuid4().hex[:8]
    assert api.docker("create", "--name", name, "--pull", "never", "busybox", "sh", "-c",
                      "yes | head -c 20000000").returncode == 0
    # a client that attaches, starts the container and then reads nothing
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(api.sock)
    s.sendall(f"POST /v1.50/containers/{name}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
              "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
    assert b" 101 " in s.recv(4096).split(b"\r\n")[0]
    assert api("POST", f"/v1.50/containers/{name}/start")[0] == 204
    try:
        def one(i):
            return api.docker(*(("version", "--format", "{{.Server.APIVersion}}") if i % 2
                                else ("ps", "-a", "--format", "{{.Names}}")))
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(20) as ex:
            results = list(ex.map(one, range(20)))
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        assert all(("1.50" in r.stdout) if i % 2 else (name in r.stdout)
                   for i, r in enumerate(results))
        assert time.monotonic() - t0 < 60
    finally:
        s.close()
        isobox("rm", "-f", name)


@pytest.mark.process_only("a refusal before any container runs: the same in both modes")
def test_api_isolation_policy_applies(isobox, tmp_path):
    conf = tmp_path / "isobox.conf"
    conf.write_text("default_isolation = process\n[rule tenants]\nlabel = tenant=*\n")
    sock = str(tmp_path / "p.sock")
    p = subprocess.Popen([*isobox.cmd("--config", str(conf), "serve", "--host",
                                      f"unix://{sock}")], stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        c = UnixHTTP(sock)
        c.request("POST", "/v1.50/containers/create",
                  body=json.dumps({"Image": "busybox", "Cmd": ["true"],
                                   "Labels": {"tenant": "acme"},
                                   "HostConfig": {"Isolation": "process"}}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        assert r.status == 403, body
        assert 'isolation policy rule "tenants"' in body["message"]
        env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path))
        run = subprocess.run([DOCKER, "run", "--rm", "--pull", "never", "--isolation=process",
                              "-l", "tenant=acme", "busybox", "true"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 125 and 'isolation policy rule "tenants"' in run.stderr
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_api_docker_py(api, isobox, mode):
    """docker-py 5 (Debian's python3-docker), what compose stands on."""
    import docker
    c = docker.DockerClient(base_url=f"unix://{api.sock}", version="auto", timeout=120)
    assert c.version()["ApiVersion"] == "1.50"
    out = c.containers.run("busybox", ["sh", "-c", "echo hi; echo there >&2"], remove=True,
                           stderr=True, isolation=mode)
    assert out == b"hi\nthere\n"
    name = "api-py-" + uuid.uuid4().hex[:8]
    ct = c.containers.run("busybox", ["sleep", "300"], detach=True, name=name, isolation=mode,
                          labels={"app": "py"})
    try:
        assert [x.name for x in c.containers.list(filters={"label": "app=py"})] == [name]
        ct.reload()
        assert ct.attrs["HostConfig"]["Isolation"] == mode and ct.status == "running"
        ct.kill()
        assert ct.wait() == {"StatusCode": 137, "Error": None}
    finally:
        isobox("rm", "-f", name)
    with pytest.raises(docker.errors.ContainerError) as e:
        c.containers.run("busybox", ["sh", "-c", "exit 4"], remove=True, isolation=mode)
    assert e.value.exit_status == 4
    with pytest.raises(docker.errors.NotFound):
        c.containers.get("nosuch-" + name)


@pytest.mark.process_only("records in the stores; the one container is created, never run")
def test_api_networks_and_volumes(api, isobox):
    """The network and volume commands through the API: the same stores as
    `isobox network` and `isobox volume` (no container: nothing is built on
    the host)."""
    net, vol = "apinet-" + uuid.uuid4().hex[:6], "apivol-" + uuid.uuid4().hex[:6]
    try:
        r = api.docker("network", "create", "--subnet", "10.213.0.0/24", "--label", "k=v", net)
        assert r.returncode == 0 and len(r.stdout.strip()) == 64, r.stderr
        assert api.docker("network", "create", net).returncode == 1
        ls = api.docker("network", "ls", "--filter", "label=k=v", "--format", "{{.Name}}")
        assert ls.stdout == f"{net}\n", ls.stderr
        got = json.loads(api.docker("network", "inspect", net).stdout)
        assert got == json.loads(isobox.out("network", "inspect", net))
        assert got[0]["IPAM"]["Config"][0]["Subnet"] == "10.213.0.0/24"
        assert api.docker("network", "rm", net).returncode == 0
        assert net not in isobox.out("network", "ls")
        missing = api.docker("network", "inspect", net)
        assert missing.returncode == 1
        r = api.docker("volume", "create", "--label", "a=b", vol)
        assert (r.returncode, r.stdout) == (0, f"{vol}\n"), r.stderr
        ls = api.docker("volume", "ls", "--filter", "label=a=b", "--format", "{{.Name}}")
        assert ls.stdout == f"{vol}\n", ls.stderr
        assert json.loads(api.docker("volume", "inspect", vol).stdout) == \
            json.loads(isobox.out("volume", "inspect", vol))
        name = "api-vol-" + uuid.uuid4().hex[:6]
        isobox("create", "--name", name, "-v", f"{vol}:/data", "busybox", "true", check=True)
        busy = api.docker("volume", "rm", vol)
        assert busy.returncode == 1 and "volume is in use" in busy.stderr
        isobox("rm", name, check=True)
        assert api.docker("volume", "rm", vol).returncode == 0
        assert api.docker("volume", "inspect", vol).returncode == 1
    finally:
        isobox("network", "rm", net)
        isobox("volume", "rm", "-f", vol)


def test_api_exec(api, isobox, mode):
    name = "api-x-" + uuid.uuid4().hex[:8]
    assert api.docker("run", "-d", "--name", name, "--pull", "never", f"--isolation={mode}",
                      "busybox", "sleep", "300").returncode == 0
    try:
        r = api.docker("exec", name, "sh", "-c", "echo in; echo err >&2; exit 6")
        assert (r.returncode, r.stdout, r.stderr) == (6, "in\n", "err\n")
        r = subprocess.run([DOCKER, "exec", "-i", name, "cat"], input="piped\n",
                           env=dict(os.environ, DOCKER_HOST=f"unix://{api.sock}"),
                           capture_output=True, text=True, timeout=120)
        assert (r.returncode, r.stdout) == (0, "piped\n"), r.stderr
        assert api.docker("exec", "-d", name, "touch", "/tmp/made").returncode == 0
        for _ in range(100):
            if api.docker("exec", name, "ls", "/tmp/made").returncode == 0:
                break
            time.sleep(0.1)
        r = api.docker("exec", "-e", "A=b", "-w", "/tmp", "-u", "nobody", name, "sh", "-c",
                       "echo $A $(pwd) $(id -un)")
        assert r.stdout == "b /tmp nobody\n", r.stderr
        assert api.docker("exec", name, "nosuchcmd").returncode == 127
        import pexpect
        c = pexpect.spawn(DOCKER, ["exec", "-it", name, "sh"], timeout=120, encoding="utf-8",
                          env=dict(os.environ, DOCKER_HOST=f"unix://{api.sock}"))
        c.expect(r"\x1b\[6n")
        c.send("\x1b[1;1R")
        c.sendline("tty; exit 9")
        c.expect("/dev/pts/")
        c.expect(pexpect.EOF)
        c.close()
        assert c.exitstatus == 9
        isobox("stop", "-t", "1", name, check=True)
        stopped = api.docker("exec", name, "true")
        assert stopped.returncode == 1 and "is not running" in stopped.stderr
    finally:
        isobox("rm", "-f", name)


@pytest.mark.process_only("the image store's operations: no container runs (one is "
                          "created, never started)")
def test_api_images_tag_history_rmi_and_build(api, isobox, tmp_path):
    repo = "api-tag-" + uuid.uuid4().hex[:6] + "/bb"
    name = "api-img-" + uuid.uuid4().hex[:6]
    isobox("create", "--name", name, "busybox", "true", check=True)
    try:
        # a container uses busybox: no removal without force, docker's 409
        status, _, body = api("DELETE", "/v1.50/images/busybox")
        assert status == 409 and b"conflict" in body and b"must force" in body, body
        assert isobox("image", "inspect", "busybox").returncode == 0
    finally:
        isobox("rm", name)
    try:
        r = api.docker("tag", "busybox", f"{repo}:v1")
        assert r.returncode == 0, r.stderr
        ids = {json.loads(isobox.out("image", "inspect", ref))[0]["Id"]
               for ref in ("busybox", f"{repo}:v1")}
        assert len(ids) == 1
        got = api.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}",
                         f"{repo}:v1")
        assert got.returncode == 0 and got.stdout.strip(), got.stderr
        rows = json.loads(api("GET", f"/v1.50/images/{repo}:v1/history")[2])
        assert [r["CreatedBy"] for r in rows] == [line.split("|")[0] for line in
                                                  got.stdout.splitlines()]
        assert rows[0]["Id"] == ids.pop() and f"{repo}:v1" in rows[0]["Tags"]
        r = api.docker("rmi", f"{repo}:v1")
        assert (r.returncode, r.stdout) == (0, f"Untagged: {repo}:v1\n"), r.stderr
        assert isobox("image", "inspect", f"{repo}:v1").returncode != 0
        assert isobox("image", "inspect", "busybox").returncode == 0
    finally:
        isobox("rmi", f"{repo}:v1")
    missing = api.docker("rmi", "nosuch-" + name)
    assert missing.returncode == 1 and "No such image" in missing.stderr
    assert api("POST", "/v1.50/images/busybox/tag")[0] == 400       # no repo
    assert api("POST", "/v1.50/images/busybox/tag?repo=Bad")[0] == 400
    assert api("GET", "/v1.50/images/nosuch-x/history")[0] == 404
    # no builder: the legacy builder's POST /build gets the reason
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\n")
    env = dict(os.environ, DOCKER_HOST=f"unix://{api.sock}", DOCKER_BUILDKIT="0",
               DOCKER_CONFIG=str(tmp_path))
    b = subprocess.run([DOCKER, "build", "-t", "never", str(tmp_path / "ctx")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert b.returncode == 1 and "isobox serve builds no images" in b.stderr, b.stderr
