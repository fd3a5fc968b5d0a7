"""isobox serve (issue 16): container endpoints beyond the lifecycle, with the
stock docker CLI: rename (docker's messages and codes), events (docker's
event stream: the past with --since/--until, new ones as they come, filters;
die is written by the container's monitor, in a VM's case too). dockerd
20.10 printed the same lines for the same commands (docs/api.md); stats and
top as well."""
import json
import os
import subprocess
import time
import uuid

import pytest

from api_client import DOCKER, UnixHTTP
from conftest import wait_for


@pytest.mark.process_only("a rename changes the record and the name only: the same for "
                          "both modes")
def test_api_rename(api, isobox):
    a, b = ("api-ren-" + uuid.uuid4().hex[:6] for _ in range(2))
    new = a + "-new"
    for n in (a, b):
        assert api.docker("create", "--name", n, "--pull", "never", "busybox",
                          "true").returncode == 0
    try:
        r = api.docker("rename", a, b)
        assert r.returncode == 1
        assert "Error when allocating new name: Conflict. The container name " \
               f"\"/{b}\" is already in use" in r.stderr, r.stderr
        r = api.docker("rename", a, a)
        assert r.returncode == 1 and "with the same name as its current name" in r.stderr
        r = api.docker("rename", a, "bad!")
        assert r.returncode == 1 and "Invalid container name (/bad!)" in r.stderr
        r = api.docker("rename", "nosuch-" + a, "x")
        assert r.returncode == 1 and "No such container" in r.stderr
        assert api.docker("rename", a, new).returncode == 0
        assert isobox.out("inspect", "-f", "{{.Name}}", new) == f"/{new}\n"
        assert isobox("inspect", a).returncode != 0
        # the old name is free again: the CLI rename, and a create under it
        assert isobox("rename", new, a).returncode == 0
        assert isobox("rename", a, new).returncode == 0
        assert api.docker("create", "--name", a, "--pull", "never", "busybox",
                          "true").returncode == 0
        status, _, body = api("POST", f"/v1.50/containers/{new}/rename?name={b}")
        assert status == 409, body
        assert api("POST", f"/v1.50/containers/{new}/rename?name=")[0] == 400
    finally:
        for n in (a, b, new):
            isobox("rm", "-f", n)


def test_api_events(api, isobox, mode):
    name = "api-ev-" + uuid.uuid4().hex[:6]
    t0 = time.time()
    env = dict(os.environ, DOCKER_HOST=f"unix://{api.sock}")
    fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} " \
          '{{index .Actor.Attributes "exitCode"}}{{index .Actor.Attributes "signal"}}'
    # from t0 on: a CLI slow to connect (a loaded test host) misses nothing
    live = subprocess.Popen([DOCKER, "events", "--since", f"{t0:.3f}", "--filter",
                             f"container={name}", "--format", fmt], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        r = api.docker("run", "--rm", "--name", name, f"--isolation={mode}", "--pull",
                       "never", "busybox", "sh", "-c", "exit 3", timeout=300)
        assert r.returncode == 3, r.stderr
        r = api.docker("run", "-d", "--name", name, f"--isolation={mode}", "--pull",
                       "never", "busybox", "sleep", "300", timeout=300)
        assert r.returncode == 0, r.stderr
        assert api.docker("stop", "-t", "1", name, timeout=120).returncode == 0
        assert api.docker("rename", name, name + "-2").returncode == 0
        assert api.docker("rm", name + "-2").returncode == 0
        want = [f"container create {name} ", f"container attach {name} ",
                f"container start {name} ", f"container die {name} 3",
                f"container destroy {name} ", f"container create {name} ",
                f"container start {name} ", f"container kill {name} 15",
                f"container kill {name} 9", f"container die {name} 137",
                f"container stop {name} "]
        got = [live.stdout.readline().rstrip("\n") for _ in want]
        assert got == want
    finally:
        live.kill()
        live.wait()
        isobox("rm", "-f", name)
        isobox("rm", "-f", name + "-2")
    # the past: --since/--until end the stream; filters by event and container
    r = api.docker("events", "--since", str(int(t0)), "--until", str(int(time.time()) + 1),
                   "--filter", "event=die", "--filter", f"container={name}", "--format",
                   "{{json .}}", timeout=30)
    assert r.returncode == 0, r.stderr
    dies = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["Actor"]["Attributes"]["exitCode"] for d in dies] == ["3", "137"]
    assert all(d["Type"] == "container" and d["from"] == "busybox" for d in dies)
    status, _, body = api("GET", "/v1.50/events?since=x")
    assert status == 400, body
    status, _, body = api("GET", "/v1.50/events?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D")
    assert status == 400, body


def test_api_stats_and_top(api, isobox, mode):
    """docker stats --no-stream and docker top: a process container's cgroup
    and host ps rows; a VM's cgroup is its VMM's (the VM's use of the host)
    and its processes are the guest's (busybox's ps)."""
    name = "api-st-" + uuid.uuid4().hex[:6]
    r = api.docker("run", "-d", "--name", name, f"--isolation={mode}", "-m", "256m",
                   "--pull", "never", "busybox", "sh", "-c", "sleep 600 & sleep 700",
                   timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        st = api.docker("stats", "--no-stream", "--format", "{{json .}}", name, timeout=60)
        assert st.returncode == 0, st.stderr
        row = json.loads(st.stdout)
        # a VM's limit is its VMM's cgroup's: the container's and the VMM's own
        limit = "256MiB" if mode == "process" else "384MiB"
        assert row["Name"] == name and row["MemUsage"].endswith(f" / {limit}"), row
        assert not row["MemUsage"].startswith("0B") and int(row["PIDs"]) >= 1, row
        status, _, body = api("GET", f"/v1.50/containers/{name}/stats?stream=false")
        doc = json.loads(body)
        assert status == 200 and doc["id"].startswith(isobox.out("inspect", "-f", "{{.Id}}",
                                                                 name).strip()[:12])
        cpu, pre = doc["cpu_stats"], doc["precpu_stats"]
        assert cpu["cpu_usage"]["total_usage"] >= pre["cpu_usage"]["total_usage"] > 0
        assert cpu["system_cpu_usage"] > pre["system_cpu_usage"] > 0
        assert doc["memory_stats"]["limit"] == (256 if mode == "process" else 384) << 20
        # a stream: a line a second, each with the one before as precpu
        c = UnixHTTP(api.sock)
        c.request("GET", f"/v1.50/containers/{name}/stats")
        resp = c.getresponse()
        first, second = (json.loads(resp.readline()) for _ in range(2))
        c.close()
        assert second["precpu_stats"] == first["cpu_stats"] and second["preread"] == \
            first["read"]
        # top: the sleeps, by docker's default ps -ef or busybox's in a VM
        # (whose sh, under TCG, may not have forked them yet: asked again)
        def top_rows():
            top = api.docker("top", name, timeout=120)
            assert top.returncode == 0, top.stderr
            return top.stdout.splitlines()
        assert wait_for(lambda: any(line.endswith("sleep 600") for line in top_rows()[1:]),
                        seconds=120, interval=1), top_rows()
        lines = top_rows()
        assert "PID" in lines[0].split() and len(lines) >= 3, lines
        status, _, body = api("GET", f"/v1.50/containers/{name}/top?ps_args=-o%20pid,args")
        doc = json.loads(body)
        assert status == 200 and doc["Titles"] == ["PID", "COMMAND"], doc
        assert ["sleep", "700"] == doc["Processes"][0][1].split()[-2:] or any(
            p[1].endswith("sleep 700") for p in doc["Processes"]), doc
    finally:
        isobox("rm", "-f", name)
    assert isobox("create", "--name", name, "busybox", "true").returncode == 0
    try:
        status, _, body = api("GET", f"/v1.50/containers/{name}/top")
        assert status == 409 and b"is not running" in body, body
        st = api.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name)
        assert st.returncode == 0 and st.stdout.strip() == "0B / 0B", st
    finally:
        isobox("rm", "-f", name)
    assert api("GET", "/v1.50/containers/nosuch-st/stats?stream=false")[0] == 404
    assert api("GET", "/v1.50/containers/nosuch-st/top")[0] == 404


def _keys(o, p=""):
    out = set()
    if isinstance(o, dict):
        for k, v in o.items():
            k2 = "*" if p.endswith(("Networks.", "Volumes.")) else k
            out.add(p + k2)
            out |= _keys(v, p + k2 + ".")
    return out


@pytest.mark.process_only("the inspect documents' shape: the same keys in both modes")
def test_api_inspect_has_every_key_dockerd_has(api, isobox):
    """Every key (nested ones too) of dockerd 20.10's inspect of a created
    container and of an image (recorded in dockerd-inspect-keys.json) is in
    isobox's, through the API as through the command."""
    want = json.load(open(os.path.join(os.path.dirname(__file__), "dockerd-inspect-keys.json")))
    name = "api-keys-" + uuid.uuid4().hex[:6]
    assert api.docker("create", "--name", name, "-v", "/data", "--pull", "never", "busybox",
                      "true").returncode == 0
    try:
        got = json.loads(api.docker("inspect", name).stdout)[0]
        assert set(want["container"]) - _keys(got) == set()
        assert got["Config"]["Volumes"] == {"/data": {}}
        assert json.loads(isobox.out("inspect", name))[0] == got
        img = json.loads(api.docker("image", "inspect", "busybox").stdout)[0]
        assert set(want["image"]) - _keys(img) == set()
    finally:
        isobox("rm", "-v", name)


def test_api_attach_to_a_running_container(api, isobox, mode):
    """docker attach of a running container: its output from then on, framed
    (stdout and stderr apart), until it exits with its code; what it printed
    before stays out (docker's, without --logs)."""
    name = "api-att-" + uuid.uuid4().hex[:6]
    r = api.docker("run", "-d", "--name", name, f"--isolation={mode}", "--pull", "never",
                   "busybox", "sh", "-c", "echo before; while [ ! -e /tmp/go ]; do sleep 0.2; "
                   "done; echo out1; echo err1 >&2; exit 5", timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        assert wait_for(lambda: "before" in isobox.out("logs", name), seconds=120)
        env = dict(os.environ, DOCKER_HOST=f"unix://{api.sock}")
        att = subprocess.Popen([DOCKER, "attach", "--no-stdin", name], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        assert isobox("exec", name, "touch", "/tmp/go").returncode == 0
        out, err = att.communicate(timeout=120)
        assert (att.returncode, out, err) == (5, "out1\n", "err1\n")
    finally:
        isobox("rm", "-f", name)


def test_api_terminal_size_and_resize(api, isobox, mode):
    """docker run -it and docker exec -it through a real pty: the container's
    terminal has the client's size from the start and follows a resize
    (POST .../resize: the session's own pty, SIGWINCH to the isobox command,
    which passes it to the container's terminal, a VM's included)."""
    import pexpect
    env = dict(os.environ, DOCKER_HOST=f"unix://{api.sock}")
    name = "api-tty-" + uuid.uuid4().hex[:6]

    def sizes(*args):
        p = pexpect.spawn(DOCKER, list(args), env=env, dimensions=(33, 111), timeout=120,
                          encoding="utf-8")
        try:
            p.expect(r"[#$] ")
            p.sendline('echo S$(stty size | tr " " x)E')
            p.expect(r"S(\d+x\d+)E")
            first = p.match.group(1)
            p.setwinsize(44, 122)
            second = None
            for _ in range(20):      # the resize travels: asked again until it arrived
                p.sendline('echo S$(stty size | tr " " x)E')
                p.expect(r"S(\d+x\d+)E")
                second = p.match.group(1)
                if second == "44x122":
                    break
                time.sleep(0.5)
            p.sendline("exit 4")
            p.expect(pexpect.EOF)
        finally:
            p.close()
        return first, second, p.exitstatus

    assert sizes("run", "-it", "--rm", f"--isolation={mode}", "--pull", "never", "busybox",
                 "sh") == ("33x111", "44x122", 4)
    r = api.docker("run", "-d", "--name", name, f"--isolation={mode}", "--pull", "never",
                   "busybox", "sleep", "600", timeout=300)
    assert r.returncode == 0, r.stderr
    try:
        assert sizes("exec", "-it", name, "sh") == ("33x111", "44x122", 4)
    finally:
        isobox("rm", "-f", name)
