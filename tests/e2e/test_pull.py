"""isobox pull from a real registry (docker-registry 2.8 on 127.0.0.1, started
by the fixtures in conftest.py), with docker's output; images built by
tests/e2e/oci_images.py and copied in with skopeo; faults from a proxy
(registry.FaultProxy) whose log says what was downloaded."""
import base64
import json
import os
import re
import subprocess
import tempfile
import threading

import pytest

import oci_images
from conftest import Isobox, new_root

HEX12 = re.compile(r"^[0-9a-f]{12}: ")


def one_layer(path, tag="latest"):
    """busybox as a one-layer image (for hyperv runs: multi-layer VMs are
    another branch's)."""
    lay = oci_images.Layout(path)
    with tempfile.TemporaryDirectory() as work:
        l1 = lay.add_layer(oci_images._busybox_base(work, lambda w: w.file("./etc/one", "one\n")))
    lay.add_image([l1], tag=tag)
    return path


@pytest.fixture
def ib(tmp_path):
    """An isobox with an empty store."""
    root = new_root("isobox-e2e-pull-")
    box = Isobox(root)
    yield box
    for cid in box("ps", "-aq").stdout.split():
        box("rm", "-f", cid)
    subprocess.run(["rm", "-rf", root])


def blob_gets(proxy, digest=None):
    return [e for e in proxy.blob_log() if digest is None or e["path"].endswith(digest)]


def layer_digests(registry, name, tag="latest"):
    m, _ = registry.manifest(name, tag)
    return [l["digest"] for l in m["layers"]] + [m["config"]["digest"]]


def test_pull_then_run(ib, registry, tmp_path, mode):
    if mode == "hyperv":
        ref = oci_images.push(one_layer(str(tmp_path / "one")), registry, "one")
        ib.out("pull", ref)
        r = ib("run", "--rm", f"--isolation={mode}", ref, "cat", "/etc/one")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "one\n"
        return
    ref = oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), registry, "busybox3")
    ib.out("pull", ref)
    r = ib("run", "--rm", f"--isolation={mode}", ref, "sh", "-c", oci_images.BUSYBOX3_CHECK)
    assert r.returncode == 0, r.stderr
    assert r.stdout == oci_images.BUSYBOX3_EXPECT


@pytest.mark.process_only("pull's output; no container runs")
def test_pull_output_plain(ib, registry, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), registry, "busybox3")
    _, digest = registry.manifest("busybox3", "latest")
    name = f"{registry.host}/busybox3"
    r = ib("pull", name)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["Using default tag: latest", "latest: Pulling from busybox3"]
    assert lines[-3:] == [f"Digest: {digest}",
                          f"Status: Downloaded newer image for {name}:latest",
                          f"{name}:latest"]
    layers = [l for l in lines if HEX12.match(l)]
    ids = {l[:12] for l in layers}
    assert len(ids) == 3
    for i in ids:
        mine = [l[14:] for l in layers if l.startswith(i)]
        # No progress bars when stdout is not a terminal, as docker.
        assert mine[0] == "Pulling fs layer" and mine[-1] == "Pull complete", mine
        assert "Download complete" in mine and not any("Downloading" in m for m in mine)
    # Again: up to date, and nothing said of the layers (docker's words).
    r = ib("pull", name)
    assert r.stdout.splitlines() == [
        "Using default tag: latest", "latest: Pulling from busybox3", f"Digest: {digest}",
        f"Status: Image is up to date for {name}:latest", f"{name}:latest"]


@pytest.mark.process_only("pull's output; no container runs")
def test_pull_tty_redraws(ib, registry, tmp_path):
    """On a terminal, a layer's line is redrawn in place (cursor moves)."""
    import pty
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), registry, "busybox3")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(ib.cmd()[0], ib.cmd("pull", f"{registry.host}/busybox3:latest"))
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    text = out.decode()
    assert "\x1b[2K" in text and re.search(r"\x1b\[\d+A", text), text
    assert "Pull complete" in text and "Status: Downloaded newer image" in text


@pytest.mark.process_only("pull's output; no container runs")
def test_pull_quiet(ib, registry, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), registry, "busybox3")
    r = ib("pull", "-q", f"{registry.host}/busybox3")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{registry.host}/busybox3:latest\n"
    assert r.stderr == ""


@pytest.mark.process_only("a pull by digest; the container run is incidental")
def test_pull_by_digest(ib, fault_proxy, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), fault_proxy, "busybox3")
    _, digest = fault_proxy.registry.manifest("busybox3", "latest")
    ref = f"{fault_proxy.host}/busybox3@{digest}"
    r = ib("pull", ref)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"{ref}: Pulling from busybox3"
    assert lines[-3:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {ref}", ref]
    before = len(blob_gets(fault_proxy))
    assert before == 4
    # run by digest finds it: no second pull.
    r = ib("run", "--rm", "--isolation=process", ref, "cat", "/etc/kept")
    assert r.returncode == 0 and r.stdout == "kept\n" and r.stderr == "", r.stderr
    # The tag names the same image: nothing is downloaded again.
    r = ib("pull", f"{fault_proxy.host}/busybox3:latest")
    assert r.returncode == 0, r.stderr
    assert len(blob_gets(fault_proxy)) == before
    # A digest that is not the manifest's is refused.
    bad = f"{fault_proxy.host}/busybox3@sha256:" + "0" * 64
    r = ib("pull", bad)
    assert r.returncode != 0
    assert "manifest unknown" in r.stderr


@pytest.mark.process_only("platform selection; the arm64 image cannot run here in any mode")
def test_pull_index_platform(ib, registry, tmp_path):
    oci_images.push(oci_images.multiarch(str(tmp_path / "ma")), registry, "multi")
    index, index_digest = registry.manifest("multi", "latest")
    name = f"{registry.host}/multi"
    r = ib("pull", name)
    assert r.returncode == 0, r.stderr
    assert f"Digest: {index_digest}" in r.stdout.splitlines()
    assert ib.out("run", "--rm", "--isolation=process", name, "cat", "/arch") == "amd64\n"
    info = json.loads(ib.out("image", "inspect", name))
    info = info[0] if isinstance(info, list) else info
    assert info["Architecture"] == "amd64"
    r = ib("pull", "--platform", "linux/arm64", name)
    assert r.returncode == 0, r.stderr
    info = json.loads(ib.out("image", "inspect", name))
    info = info[0] if isinstance(info, list) else info
    assert info["Architecture"] == "arm64"
    r = ib("pull", "--platform", "linux/s390x", name)
    assert r.returncode != 0
    assert "no matching manifest for linux/s390x in the manifest list entries" in r.stderr


@pytest.mark.process_only("registry errors; no container runs")
def test_pull_errors(ib, registry, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), registry, "busybox3")
    r = ib("pull", f"{registry.host}/busybox3:nope")
    assert r.returncode != 0
    assert (f"manifest for {registry.host}/busybox3:nope not found: manifest unknown: "
            "manifest unknown") in r.stderr
    r = ib("pull", "127.0.0.1:1/x")
    assert r.returncode != 0
    assert 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused' \
        in r.stderr
    r = ib("pull", "Busybox")
    assert r.returncode != 0 and "invalid reference format" in r.stderr
    # Nothing named, nothing half-written.
    assert ib.out("images", "-q") == ""


@pytest.mark.process_only("download faults; no container runs")
def test_pull_retries_and_resumes(ib, fault_proxy, tmp_path):
    """A 503 is asked again; a body cut halfway resumes with a Range request."""
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), fault_proxy, "busybox3")
    m, _ = fault_proxy.registry.manifest("busybox3", "latest")
    sizes = {d["digest"]: d["size"] for d in m["layers"] + [m["config"]]}
    start = len(fault_proxy.log)
    fault_proxy.fail_blob_get = {fault_proxy.blob_gets + 1: 503}
    fault_proxy.cut_blob_get = {fault_proxy.blob_gets + 2: 0.5}
    r = ib("pull", f"{fault_proxy.host}/busybox3")
    assert r.returncode == 0, r.stderr
    log = [e for e in fault_proxy.log[start:] if "/blobs/" in e["path"] and e["method"] == "GET"]
    failed = [e for e in log if e["status"] == 503]
    assert len(failed) == 1, log
    again = [e for e in log if e["path"] == failed[0]["path"] and e is not failed[0]]
    assert [e["status"] for e in again] == [200], log
    digest = lambda e: e["path"].rsplit("/", 1)[1]
    cut = [e for e in log if e["status"] == 200 and e["sent"] < sizes[digest(e)]]
    assert len(cut) == 1, log
    rest = [e for e in log if e["path"] == cut[0]["path"] and e is not cut[0]]
    assert len(rest) == 1, log
    assert rest[0]["range"] == f"bytes={cut[0]['sent']}-", rest
    assert rest[0]["status"] == 206
    assert cut[0]["sent"] + rest[0]["sent"] == sizes[digest(cut[0])]
    out = ib.out("run", "--rm", "--isolation=process", f"{fault_proxy.host}/busybox3",
                 "sh", "-c", oci_images.BUSYBOX3_CHECK)
    assert out == oci_images.BUSYBOX3_EXPECT


@pytest.mark.process_only("download faults; no container runs")
def test_pull_gives_up_cleanly(ib, fault_proxy, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), fault_proxy, "busybox3")
    n = fault_proxy.blob_gets
    fault_proxy.fail_blob_get = {n + i: 500 for i in range(1, 40)}
    r = ib("pull", f"{fault_proxy.host}/busybox3")
    assert r.returncode != 0
    assert "500" in r.stderr or "error" in r.stderr.lower(), r.stderr
    assert ib.out("images", "-q") == ""
    blobs = os.path.join(ib.root, "blobs", "sha256")
    named = [f for f in os.listdir(blobs) if not f.startswith(".")] if os.path.isdir(blobs) else []
    # Only the manifest (verified) may be there: no layer, no config.
    assert all(f"sha256:{f}" not in layer_digests(fault_proxy.registry, "busybox3")
               for f in named), named


@pytest.mark.process_only("deduplication; no container runs")
def test_pull_dedup(ib, fault_proxy, tmp_path):
    lay = oci_images.busybox3(str(tmp_path / "bb3"))
    oci_images.push(lay, fault_proxy, "busybox3")
    oci_images.push(lay, fault_proxy, "again")
    ib.out("pull", f"{fault_proxy.host}/busybox3")
    assert len(blob_gets(fault_proxy)) == 4
    r = ib("pull", f"{fault_proxy.host}/again")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Already exists") == 3
    ib.out("pull", f"{fault_proxy.host}/busybox3")
    assert len(blob_gets(fault_proxy)) == 4


@pytest.mark.process_only("two pull processes; no container runs")
def test_two_concurrent_pulls(ib, fault_proxy, tmp_path):
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), fault_proxy, "busybox3")
    fault_proxy.rate = 2 << 20      # slow enough that the two overlap
    start = len(fault_proxy.log)
    results = [None, None]

    def pull(i):
        results[i] = ib("pull", f"{fault_proxy.host}/busybox3", timeout=120)
    threads = [threading.Thread(target=pull, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert r.returncode == 0, r.stderr
    log = [e for e in fault_proxy.log[start:] if "/blobs/" in e["path"] and e["method"] == "GET"]
    for d in layer_digests(fault_proxy.registry, "busybox3"):
        assert len([e for e in log if e["path"].endswith(d)]) == 1, (d, log)
    out = ib.out("run", "--rm", "--isolation=process", f"{fault_proxy.host}/busybox3",
                 "sh", "-c", oci_images.BUSYBOX3_CHECK)
    assert out == oci_images.BUSYBOX3_EXPECT


def test_run_pulls_missing_image(ib, registry, tmp_path, mode):
    ref = oci_images.push(one_layer(str(tmp_path / "one")), registry, "one")
    r = ib("run", "--rm", "--pull", "never", f"--isolation={mode}", ref, "true")
    assert r.returncode != 0
    assert "not found" in r.stderr
    r = ib("run", "--rm", f"--isolation={mode}", ref, "cat", "/etc/one")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "one\n"
    assert r.stderr.startswith(f"Unable to find image '{ref}' locally\n")
    assert "latest: Pulling from one" in r.stderr and "Status: Downloaded newer image" in r.stderr
    # Present now: no pull.
    r = ib("run", "--rm", f"--isolation={mode}", ref, "true")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    # --pull always asks the registry again.
    r = ib("create", "--pull", "always", f"--isolation={mode}", ref)
    assert r.returncode == 0, r.stderr
    assert "Unable to find" not in r.stderr
    assert f"Status: Image is up to date for {ref}" in r.stderr
    ib("rm", "-f", r.stdout.strip())
    r = ib("run", "--rm", "--pull", "sometimes", ref, "true")
    assert r.returncode != 0 and "invalid pull option" in r.stderr


@pytest.mark.process_only("pull's output; no container runs")
def test_pull_all_tags(ib, registry, tmp_path):
    lay = oci_images.busybox3(str(tmp_path / "bb3"))
    oci_images.push(lay, registry, "busybox3", tag="latest")
    oci_images.push(lay, registry, "busybox3", tag="v2", src_tag="latest")
    name = f"{registry.host}/busybox3"
    r = ib("pull", "-a", name)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "latest: Pulling from busybox3" in lines and "v2: Pulling from busybox3" in lines
    assert lines[-2:] == [f"Status: Downloaded newer image for {name}", name]
    tags = sorted(l.split()[1] for l in ib.out("images").splitlines()[1:])
    assert tags == ["latest", "v2"]
    assert ib("pull", "-a", f"{name}:v2").returncode != 0


def docker_config(tmp_path, host, user, password):
    d = tmp_path / "docker-config"
    d.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (d / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return dict(os.environ, DOCKER_CONFIG=str(d))


@pytest.mark.process_only("auth; no container runs")
def test_pull_token_auth(ib, token_registry, tmp_path):
    reg = token_registry
    ref = oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), reg, "busybox3")
    r = subprocess.run(ib.cmd("pull", ref), capture_output=True, text=True,
                       env=docker_config(tmp_path, "nowhere", "x", "y"))
    assert r.returncode != 0
    env = docker_config(tmp_path, reg.host, reg.user, reg.password)
    before = len(reg.token_server.requests)
    r = subprocess.run(ib.cmd("pull", ref), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    got = reg.token_server.requests[before:]
    assert got and all(q["user"] == reg.user for q in got), got
    # One token for the whole pull (cached for its scope), not one per blob.
    assert len([q for q in got if q["status"] == 200]) <= 2, got
    env = docker_config(tmp_path, reg.host, reg.user, "wrong")
    r = subprocess.run(ib.cmd("pull", ref), capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "unauthorized" in r.stderr, r.stderr


@pytest.mark.process_only("TLS and Basic auth; no container runs")
def test_pull_tls_basic(ib, tls_registry, tmp_path):
    reg = tls_registry
    ref = oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), reg, "busybox3")
    env = docker_config(tmp_path, reg.host, reg.user, reg.password)
    r = subprocess.run(ib.cmd("pull", ref), capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    # Without the CA in certs.d the server is not trusted, and HTTP is not tried.
    os.rename(reg.certs_d, reg.certs_d + ".off")
    try:
        r = subprocess.run(ib.cmd("pull", ref + "x"), capture_output=True, text=True, env=env)
    finally:
        os.rename(reg.certs_d + ".off", reg.certs_d)
    assert r.returncode != 0
    assert "certificate" in r.stderr.lower() or "SSL" in r.stderr, r.stderr


class LayoutRegistry:
    """A small registry of Python's own over an OCI layout, for what
    docker-registry does not do: it wants Basic auth, answers blob GETs with a
    307 to a second server on another port (a blob store, as registries behind
    a CDN do), which logs the headers it got; `blobs` and `manifests` replace
    what is served for a digest or tag (hostile registries)."""

    def __init__(self, layout, user="u", password="p"):
        import http.server
        import socketserver
        from registry import free_port
        self.layout, self.user, self.password = layout, user, password
        self.blobs, self.manifests, self.store_log, self.log = {}, {}, [], []
        index = json.load(open(os.path.join(layout, "index.json")))
        self.tags = {m["annotations"]["org.opencontainers.image.ref.name"]: m
                     for m in index["manifests"]}
        me = self

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        class Api(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                want = "Basic " + base64.b64encode(f"{me.user}:{me.password}".encode()).decode()
                me.log.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != want:
                    return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"x"}]}',
                                      [("WWW-Authenticate", 'Basic realm="test"')])
                parts = self.path.split("/")
                if self.path == "/v2/":
                    return self.reply(200, b"{}")
                if len(parts) == 5 and parts[3] == "manifests":
                    ref = parts[4]
                    if ref in me.manifests:
                        body, mt = me.manifests[ref]
                    else:
                        desc = me.tags.get(ref) or {"digest": ref, "mediaType":
                                                    oci_images.MT_MANIFEST}
                        path = os.path.join(me.layout, "blobs", "sha256",
                                            desc["digest"].split(":")[-1])
                        if ":" not in desc["digest"] or not os.path.exists(path):
                            return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN",'
                                                   b'"message":"manifest unknown"}]}')
                        body, mt = open(path, "rb").read(), desc["mediaType"]
                    return self.reply(200, body, [("Content-Type", mt)])
                if len(parts) == 5 and parts[3] == "blobs":
                    return self.reply(307, b"", [
                        ("Location", f"http://127.0.0.1:{me.store_port}/store/{parts[4]}")])
                return self.reply(404)

        class Store(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                digest = self.path.rsplit("/", 1)[1]
                me.store_log.append((digest, self.headers.get("Authorization")))
                body = me.blobs.get(digest)
                if body is None:
                    body = open(os.path.join(me.layout, "blobs", "sha256",
                                             digest.split(":")[-1]), "rb").read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.port, self.store_port = free_port(), free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.servers = [Server(("127.0.0.1", self.port), Api),
                        Server(("127.0.0.1", self.store_port), Store)]
        for s in self.servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()

    def close(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


@pytest.fixture
def layout_registry(tmp_path):
    reg = LayoutRegistry(oci_images.busybox3(str(tmp_path / "bb3")))
    yield reg
    reg.close()


def pull_env(tmp_path, reg):
    return docker_config(tmp_path, reg.host, reg.user, reg.password)


@pytest.mark.process_only("registry protocol; the container run is incidental")
def test_pull_redirect_basic_auth(ib, layout_registry, tmp_path):
    reg = layout_registry
    r = subprocess.run(ib.cmd("pull", f"{reg.host}/bb3"), capture_output=True, text=True,
                       env=pull_env(tmp_path, reg), timeout=120)
    assert r.returncode == 0, r.stderr
    # Basic auth when asked for; every blob came from the other host, which
    # never saw the registry's Authorization header.
    assert reg.log[0][1] is None and any(a for _, a in reg.log)
    assert len(reg.store_log) == 4 and all(a is None for _, a in reg.store_log), reg.store_log
    out = ib.out("run", "--rm", "--isolation=process", f"{reg.host}/bb3", "sh", "-c",
                 oci_images.BUSYBOX3_CHECK)
    assert out == oci_images.BUSYBOX3_EXPECT
    # Without credentials: docker's words.
    r = ib("pull", f"{reg.host}/bb3:other")
    assert r.returncode != 0
    assert (f"pull access denied for {reg.host}/bb3, repository does not exist or may require "
            "'docker login'") in r.stderr


def stored_blobs(ib):
    d = os.path.join(ib.root, "blobs", "sha256")
    return {"sha256:" + f for f in os.listdir(d) if not f.startswith(".")} if os.path.isdir(d) \
        else set()


@pytest.mark.process_only("hostile registries; no container runs")
@pytest.mark.parametrize("fault", ["longer", "other-bytes"])
def test_pull_hostile_blob(ib, layout_registry, tmp_path, fault):
    reg = layout_registry
    m = json.load(open(os.path.join(reg.layout, "blobs", "sha256",
                                    reg.tags["latest"]["digest"].split(":")[1])))
    layer = m["layers"][1]
    data = open(os.path.join(reg.layout, "blobs", "sha256", layer["digest"][7:]), "rb").read()
    reg.blobs[layer["digest"]] = data + b"x" * 100000 if fault == "longer" else \
        bytes(len(data))
    r = subprocess.run(ib.cmd("pull", f"{reg.host}/bb3"), capture_output=True, text=True,
                       env=pull_env(tmp_path, reg), timeout=120)
    assert r.returncode != 0
    assert ("sent more than" if fault == "longer" else "failed verification") in r.stderr, \
        r.stderr
    assert ib.out("images", "-q") == ""
    assert layer["digest"] not in stored_blobs(ib)


@pytest.mark.process_only("hostile registries; no container runs")
def test_pull_hostile_manifests(ib, layout_registry, tmp_path):
    reg = layout_registry
    env = pull_env(tmp_path, reg)
    inner = json.dumps({"schemaVersion": 2, "mediaType": oci_images.MT_INDEX,
                        "manifests": []}).encode()
    inner_digest = "sha256:" + __import__("hashlib").sha256(inner).hexdigest()
    loop = json.dumps({"schemaVersion": 2, "mediaType": oci_images.MT_INDEX, "manifests": [
        {"mediaType": oci_images.MT_MANIFEST, "digest": inner_digest, "size": len(inner),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    reg.manifests["loop"] = (loop, oci_images.MT_INDEX)
    reg.manifests[inner_digest] = (inner, oci_images.MT_INDEX)
    r = subprocess.run(ib.cmd("pull", f"{reg.host}/bb3:loop"), capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode != 0 and "is an index: refused" in r.stderr, r.stderr
    # A manifest whose bytes are not the digest asked for.
    good = reg.tags["latest"]["digest"]
    reg.manifests[good] = (inner, oci_images.MT_INDEX)
    r = subprocess.run(ib.cmd("pull", f"{reg.host}/bb3@{good}"), capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode != 0 and "not " + good in r.stderr, r.stderr
    reg.manifests["junk"] = (b"<html>hello</html>", "text/html")
    r = subprocess.run(ib.cmd("pull", f"{reg.host}/bb3:junk"), capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode != 0 and "not valid JSON" in r.stderr, r.stderr
    assert ib.out("images", "-q") == ""


@pytest.mark.process_only("auth; no container runs")
def test_pull_token_renewed(ib, registry_factory, tmp_path):
    """A token that expires during a pull is fetched again; the pull goes on."""
    from registry import FaultProxy
    reg = registry_factory("token", token_ttl=2)
    # One layer at a time, so that the pull outlasts the token.
    (tmp_path / "one.conf").write_text("max_concurrent_downloads = 1\n")
    oci_images.push(oci_images.busybox3(str(tmp_path / "bb3")), reg, "busybox3")
    with FaultProxy(reg, rate=256 << 10) as proxy:   # ~1 MB of layers: a few seconds
        env = docker_config(tmp_path, proxy.host, reg.user, reg.password)
        before = len(reg.token_server.requests)
        r = subprocess.run(ib.cmd("--config", str(tmp_path / "one.conf"), "pull",
                                  f"{proxy.host}/busybox3"),
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        got = [q for q in reg.token_server.requests[before:] if q["status"] == 200]
        assert len(got) >= 2, got
        assert all(q["scopes"] == ["repository:busybox3:pull"] for q in got), got


@pytest.mark.process_only("download concurrency; no container runs")
@pytest.mark.parametrize("limit", [1, 3])
def test_pull_max_concurrent_downloads(ib, fault_proxy, tmp_path, limit):
    """At most max_concurrent_downloads layers download at once (the config
    beside them, as docker); 3 by default."""
    import time
    import io
    import tarfile
    lay = oci_images.Layout(str(tmp_path / "three"))
    descs = []
    for i in range(3):
        tar = str(tmp_path / f"l{i}.tar")
        with tarfile.open(tar, "w") as t:
            data = os.urandom(768 << 10)
            ti = tarfile.TarInfo(f"data{i}")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        descs.append(lay.add_layer(tar, "none"))
    lay.add_image(descs, tag="latest")
    oci_images.push(lay.path, fault_proxy, "busybox3")
    m, _ = fault_proxy.registry.manifest("busybox3", "latest")
    layers = {l["digest"] for l in m["layers"]}
    spans = {}

    def seen(nth, sent):
        now = time.monotonic()
        spans.setdefault(nth, [now, now])[1] = now
    fault_proxy.on_blob_bytes = seen
    fault_proxy.rate = 1 << 20
    (tmp_path / "c.conf").write_text("" if limit == 3 else f"max_concurrent_downloads = {limit}\n")
    r = ib("--config", str(tmp_path / "c.conf"), "pull", f"{fault_proxy.host}/busybox3",
           timeout=120)
    assert r.returncode == 0, r.stderr
    gets = fault_proxy.blob_log()
    nth = {i + 1: e for i, e in enumerate(gets)}
    layer_spans = [spans[n] for n, e in nth.items()
                   if n in spans and e["path"].rsplit("/", 1)[1] in layers]
    assert len(layer_spans) == 3
    most = max(sum(1 for a, b in layer_spans if a <= t < b) for t, _ in layer_spans)
    assert most == limit, layer_spans
