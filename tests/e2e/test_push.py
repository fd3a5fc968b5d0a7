"""push, login and logout against Debian's docker-registry on loopback
(tests/e2e/registry.py), with skopeo reading back what isobox pushed and the
docker CLI's own `docker login` writing credentials isobox uses. docker (the
CLI 28 and dockerd 20.10) is the reference for the output: "The push refers
to repository [HOST/NAME]", "<12 hex>: Preparing|Pushed|Layer already
exists|Mounted from NAME", "TAG: digest: sha256:... size: N", -q the
reference alone; "Login Succeeded"; "Removing login credentials for HOST"."""
import base64
import http.client
import http.server
import json
import os
import random
import re
import shutil
import socketserver
import subprocess
import tarfile
import threading

import pytest

from conftest import REPO
from registry import PASSWORD, USER, free_port

NO_VM = "push and login talk to the registry from the store; no container runs"
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


@pytest.fixture(autouse=True)
def docker_config(tmp_path, monkeypatch):
    """This test's $DOCKER_CONFIG: nothing writes the machine's ~/.docker."""
    d = tmp_path / "docker-config"
    d.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d


def skopeo(*args, timeout=120):
    r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"skopeo {' '.join(args)}: {r.stderr}"
    return r.stdout


def skopeo_inspect(reg, ref):
    return json.loads(skopeo("inspect", *reg.skopeo_args(), f"docker://{ref}"))


def store_manifest(isobox, ref):
    """The manifest the store names ref by, and its digest (from index.json)."""
    index = json.load(open(os.path.join(isobox.root, "index.json")))
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            blob = os.path.join(isobox.root, "blobs", "sha256", d["digest"].split(":")[1])
            return json.load(open(blob)), d["digest"], os.path.getsize(blob)
    raise KeyError(ref)


def layer_lines(out):
    """{12-hex id: [statuses]} from push's plain output."""
    lines = {}
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]{12}): (.*)$", line)
        if m:
            lines.setdefault(m.group(1), []).append(m.group(2))
    return lines


def big_layer_tar(rootfs_tar, path, mib):
    """The busybox rootfs plus a file of mib MiB of random bytes."""
    rnd = random.Random(13)
    data = os.path.join(os.path.dirname(path), "big.bin")
    with open(data, "wb") as f:
        for _ in range(mib):
            f.write(rnd.randbytes(1 << 20))
    with tarfile.open(rootfs_tar) as src, tarfile.open(path, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        dst.add(data, arcname="./big.bin")
    os.unlink(data)
    return path


def login(isobox, reg, password=PASSWORD):
    return isobox("login", "-u", USER, "--password-stdin", reg.host, input=password + "\n")


@pytest.mark.process_only(NO_VM)
def test_push_imported_image_read_back(fresh, registry, rootfs_tar, tmp_path):
    """An imported image (its layer an uncompressed tar) pushed as it is:
    skopeo reads the same layer, config and manifest back; docker's output."""
    ref = f"{registry.host}/busybox"
    fresh("import", rootfs_tar, ref, check=True)
    manifest, digest, size = store_manifest(fresh, f"{ref}:latest")
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    layer = manifest["layers"][0]["digest"]
    diff_id = json.loads(fresh.out("image", "inspect", ref))[0]["RootFS"]["Layers"][0]
    assert r.stdout.splitlines() == [
        "Using default tag: latest",
        f"The push refers to repository [{registry.host}/busybox]",
        f"{diff_id[7:19]}: Preparing",
        f"{diff_id[7:19]}: Pushed",
        f"latest: digest: {digest} size: {size}",
    ], r.stdout
    info = skopeo_inspect(registry, f"{ref}:latest")
    assert info["Digest"] == digest
    assert info["Layers"] == [layer]
    # as docker, the image now has the pushed manifest among its RepoDigests
    inspect = json.loads(fresh.out("image", "inspect", ref))[0]
    assert f"{ref}@{digest}" in inspect["RepoDigests"], inspect["RepoDigests"]
    got, got_digest = registry.manifest("busybox", "latest")
    assert got == manifest and got_digest == digest
    assert got["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    out = tmp_path / "back"
    skopeo("copy", "--quiet", "--preserve-digests", *registry.skopeo_args("src"),
           f"docker://{ref}:latest", f"oci:{out}:latest")
    for d in [layer, manifest["config"]["digest"]]:
        assert open(out / "blobs" / "sha256" / d[7:], "rb").read() == \
            open(os.path.join(fresh.root, "blobs", "sha256", d[7:]), "rb").read()


@pytest.mark.process_only(NO_VM)
def test_push_twice_layers_already_exist(fresh, fault_proxy, rootfs_tar):
    """The second push of an image uploads nothing: every layer "Layer
    already exists" (HEAD), and only the manifest is PUT again."""
    ref = f"{fault_proxy.host}/twice:v1"
    fresh("import", rootfs_tar, ref, check=True)
    fresh("push", ref, timeout=120, check=True)
    before = len(fault_proxy.log)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = layer_lines(r.stdout)
    assert lines and all(s == ["Preparing", "Layer already exists"] for s in lines.values()), \
        r.stdout
    again = fault_proxy.log[before:]
    assert not [e for e in again if e["method"] in ("POST", "PATCH")], again
    puts = [e for e in again if e["method"] == "PUT"]
    assert len(puts) == 1 and "/manifests/v1" in puts[0]["path"], again


@pytest.mark.process_only(NO_VM)
def test_push_second_repository_mounts(fresh, fault_proxy, rootfs_tar):
    """The same layers pushed to another repository of the registry are
    mounted from the first (POST ?mount=&from=), not uploaded again."""
    first = f"{fault_proxy.host}/team/first:latest"
    second = f"{fault_proxy.host}/second:latest"
    fresh("import", rootfs_tar, first, check=True)
    fresh("push", first, timeout=120, check=True)
    fresh("import", rootfs_tar, second, check=True)
    before = len(fault_proxy.log)
    r = fresh("push", second, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = layer_lines(r.stdout)
    assert lines and all(s[-1] == "Mounted from team/first" for s in lines.values()), r.stdout
    log = fault_proxy.log[before:]
    mounts = [e for e in log if e["method"] == "POST" and "mount=sha256:" in e["path"]]
    assert mounts and all("from=team/first" in e["path"] and e["status"] == 201
                          for e in mounts), log
    assert not [e for e in log if e["method"] == "PATCH"], log
    manifest, _, _ = store_manifest(fresh, second)
    registry = fault_proxy.registry
    assert [l["digest"] for l in registry.manifest("second", "latest")[0]["layers"]] == \
        [l["digest"] for l in manifest["layers"]]


@pytest.mark.process_only(NO_VM)
def test_push_large_layer_in_chunks(fresh, fault_proxy, rootfs_tar, tmp_path):
    """A layer above the monolithic limit (16 MiB) goes up in PATCHes of
    16 MiB and a closing PUT; a small one in a single PUT. Both read back."""
    tar = big_layer_tar(rootfs_tar, str(tmp_path / "big.tar"), 40)
    ref = f"{fault_proxy.host}/big:latest"
    fresh("import", tar, ref, check=True)
    manifest, digest, _ = store_manifest(fresh, ref)
    r = fresh("push", ref, timeout=300)
    assert r.returncode == 0, r.stderr
    patches = [e for e in fault_proxy.log if e["method"] == "PATCH"]
    assert len(patches) == 3 and all(e["status"] == 202 for e in patches), fault_proxy.log
    # the config is small: POST then one PUT with its bytes, no PATCH
    assert len([e for e in fault_proxy.log if e["method"] == "PUT" and "digest=" in e["path"]]) == 2
    info = skopeo_inspect(fault_proxy.registry, f"{fault_proxy.registry.host}/big:latest")
    assert info["Digest"] == digest
    assert info["Layers"] == [l["digest"] for l in manifest["layers"]]
    assert fault_proxy.registry.blob_files() >= {manifest["layers"][0]["digest"]}


class UploadFaults:
    """A plain-HTTP proxy in front of a registry that answers 503 to the
    first `fail` requests matching (method, path substring), forwarding
    everything else; log lists (method, path, status)."""

    def __init__(self, registry, method, part, fail):
        self.registry, self.method, self.part, self.fail = registry, method, part, fail
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if self.command == proxy.method and proxy.part in self.path and proxy.fail:
                    proxy.fail -= 1
                    proxy.log.append((self.command, self.path, 503))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                up = http.client.HTTPConnection("127.0.0.1", proxy.registry.port, timeout=60)
                up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in ("content-length", "connection"):
                        up.putheader(k, v)
                if body is not None:
                    up.putheader("Content-Length", str(len(body)))
                up.endheaders(body)
                r = up.getresponse()
                data = r.read()
                proxy.log.append((self.command, self.path, r.status))
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                up.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.process_only(NO_VM)
def test_push_retries_5xx(fresh, registry, rootfs_tar):
    """A blob upload answered 503 is tried again ("Retrying in N seconds");
    a registry that keeps failing fails the push, exit 1, no manifest."""
    proxy = UploadFaults(registry, "PUT", "digest=", 2)
    try:
        ref = f"{proxy.host}/flaky:latest"
        fresh("import", rootfs_tar, ref, check=True)
        r = fresh("push", ref, timeout=120)
        assert r.returncode == 0, r.stderr
        assert [l for l in r.stdout.splitlines() if "Retrying in" in l], r.stdout
        assert len([e for e in proxy.log if e[2] == 503]) == 2, proxy.log
        assert registry.manifest("flaky", "latest")[1] == store_manifest(fresh, ref)[1]
        proxy.fail = 100
        ref = f"{proxy.host}/down:latest"
        fresh("import", rootfs_tar, ref, check=True)
        r = fresh("push", ref, timeout=120)
        assert r.returncode == 1 and "HTTP 503" in r.stderr, (r.stdout, r.stderr)
        assert len([e for e in proxy.log if e[2] == 503]) == 2 + 4, proxy.log
        assert not [e for e in proxy.log if e[0] == "PUT" and "/manifests/" in e[1] and
                    "/down/" in e[1]], proxy.log
    finally:
        proxy.close()


@pytest.mark.process_only(NO_VM)
def test_push_all_tags_and_quiet(fresh, registry, rootfs_tar):
    """-a pushes every tag of the repository; -q prints the reference only."""
    name = f"{registry.host}/multi"
    fresh("import", rootfs_tar, f"{name}:v1", check=True)
    fresh("import", rootfs_tar, f"{name}:v2", check=True)
    r = fresh("push", "-a", name, timeout=120)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^v1: digest: sha256:[0-9a-f]{64} size: \d+$", r.stdout, re.M), r.stdout
    assert re.search(r"^v2: digest: sha256:[0-9a-f]{64} size: \d+$", r.stdout, re.M), r.stdout
    for tag in ("v1", "v2"):
        assert registry.manifest("multi", tag)[1] == store_manifest(fresh, f"{name}:{tag}")[1]
    r = fresh("push", "-q", f"{name}:v1", timeout=120)
    assert r.returncode == 0 and r.stdout == f"{name}:v1\n", (r.stdout, r.stderr)
    r = fresh("push", "-a", f"{name}:v1")
    assert r.returncode == 1 and "tag can't be used with --all-tags/-a" in r.stderr


@pytest.mark.process_only(NO_VM)
def test_push_errors(fresh, registry, token_registry, rootfs_tar):
    """A missing image, an unreachable registry and a registry that wants
    credentials: clear errors, exit 1, nothing pushed."""
    r = fresh("push", f"{registry.host}/nope:v1")
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == f"The push refers to repository [{registry.host}/nope]"
    assert r.stderr == f"An image does not exist locally with the tag: {registry.host}/nope\n"
    # a port nobody listens on (the registry, stopped)
    gone = f"{registry.host}/gone:latest"
    fresh("import", rootfs_tar, gone, check=True)
    registry.kill()
    r = fresh("push", gone, timeout=60)
    assert r.returncode == 1 and f'Get "http://{registry.host}/v2/"' in r.stderr, r.stderr
    assert "Preparing" not in r.stdout   # docker fails before it names a layer
    # a token registry without credentials
    ref = f"{token_registry.host}/secret:latest"
    fresh("import", rootfs_tar, ref, check=True)
    r = fresh("push", ref, timeout=60)
    assert r.returncode == 1
    assert "unauthorized: authentication required" in r.stderr or \
        "denied: requested access to the resource is denied" in r.stderr, r.stderr
    assert not token_registry.blob_files()


@pytest.mark.process_only(NO_VM)
def test_push_token_registry_after_login(fresh, token_registry, rootfs_tar):
    """Bearer tokens: login asks the token service with the credentials;
    push gets a pull,push token and the image lands."""
    reg = token_registry
    r = login(fresh, reg, "wrong")
    assert r.returncode == 1 and "Login Succeeded" not in r.stdout
    r = login(fresh, reg)
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    ref = f"{reg.host}/tok/app:1"
    fresh("import", rootfs_tar, ref, check=True)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    _, digest, _ = store_manifest(fresh, ref)
    assert reg.manifest("tok/app", "1")[1] == digest
    assert any(q["user"] == USER and "repository:tok/app:pull,push" in q["scopes"]
               for q in reg.token_server.requests), reg.token_server.requests
    # a second repository mounts from the first: its token has pull on both
    # (the same image: its layer and its config are both mounted)
    other = f"{reg.host}/tok/other:1"
    fresh("tag", ref, other, check=True)
    before = len(reg.token_server.requests)
    r = fresh("push", other, timeout=120)
    assert r.returncode == 0, r.stderr
    assert all(s == ["Preparing", "Mounted from tok/app"]
               for s in layer_lines(r.stdout).values()), r.stdout
    reqs = reg.token_server.requests[before:]
    assert any(q["scopes"] == ["repository:tok/other:pull,push", "repository:tok/app:pull"]
               for q in reqs), reqs
    assert len(reqs) == 2, reqs   # one token for the push, one more with the mount scope


@pytest.mark.process_only(NO_VM)
def test_login_logout_tls(fresh, tls_registry, rootfs_tar, docker_config):
    """TLS (the CA in /etc/docker/certs.d/HOST/ca.crt) and htpasswd: a wrong
    password is refused and nothing stored; the right one is stored as docker
    stores it (mode 0600, other keys kept); push uses it; logout removes it."""
    reg = tls_registry
    cfg = docker_config / "config.json"
    r = login(fresh, reg, "wrong")
    assert r.returncode == 1
    assert r.stderr.startswith("Error response from daemon: ") and "401" in r.stderr, r.stderr
    assert not cfg.exists()
    cfg.write_text('{"psFormat": "{{.ID}}", "auths": {"other.example:5000": {"auth": "YTpi"}}}')
    r = login(fresh, reg)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "Login Succeeded"
    stored = json.loads(cfg.read_text())
    assert base64.b64decode(stored["auths"][reg.host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    assert stored["psFormat"] == "{{.ID}}" and "other.example:5000" in stored["auths"]
    assert os.stat(cfg).st_mode & 0o777 == 0o600
    ref = f"{reg.host}/secure:1"
    fresh("import", rootfs_tar, ref, check=True)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    assert reg.manifest("secure", "1")[1] == store_manifest(fresh, ref)[1]
    r = fresh("logout", reg.host)
    assert r.returncode == 0 and r.stdout == f"Removing login credentials for {reg.host}\n"
    stored = json.loads(cfg.read_text())
    assert reg.host not in stored["auths"] and "other.example:5000" in stored["auths"]
    r = fresh("push", ref, timeout=60)
    assert r.returncode == 1 and "unauthorized" in r.stderr, r.stderr


@pytest.mark.process_only(NO_VM)
def test_docker_login_credentials_used(fresh, tls_registry, rootfs_tar, docker_config):
    """What the real `docker login` (CLI 28) writes, isobox reads: push works."""
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("the docker CLI is not installed")
    reg = tls_registry
    r = subprocess.run([DOCKER, "login", "-u", USER, "--password-stdin", reg.host],
                       input=PASSWORD, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert r.returncode == 0, r.stderr
    assert reg.host in json.load(open(docker_config / "config.json"))["auths"]
    ref = f"{reg.host}/fromdocker:latest"
    fresh("import", rootfs_tar, ref, check=True)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    # and docker logs out of what isobox stored
    r = login(fresh, reg)
    assert r.returncode == 0, r.stderr
    subprocess.run([DOCKER, "logout", reg.host], capture_output=True, timeout=60, check=True)
    assert reg.host not in json.load(open(docker_config / "config.json"))["auths"]


@pytest.mark.process_only(NO_VM)
def test_docker_config_honoured(fresh, tls_registry, tmp_path, monkeypatch):
    """$DOCKER_CONFIG/config.json when set, else $HOME/.docker/config.json."""
    reg = tls_registry
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    other = tmp_path / "elsewhere"
    monkeypatch.setenv("DOCKER_CONFIG", str(other))
    assert login(fresh, reg).returncode == 0
    assert reg.host in json.load(open(other / "config.json"))["auths"]
    assert not (home / ".docker").exists()
    monkeypatch.delenv("DOCKER_CONFIG")
    assert login(fresh, reg).returncode == 0
    assert reg.host in json.load(open(home / ".docker" / "config.json"))["auths"]
    assert os.stat(home / ".docker").st_mode & 0o777 == 0o700


HELPER = """#!/bin/sh
d=$(dirname "$0")/store; mkdir -p "$d"
case "$1" in
get) read -r s; f="$d/$(echo "$s" | tr '/:' '__')"
  [ -f "$f" ] && exec cat "$f"
  echo 'credentials not found in native keychain'; exit 1;;
store) j=$(cat); s=$(echo "$j" | sed 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/')
  echo "$j" > "$d/$(echo "$s" | tr '/:' '__')";;
erase) read -r s; rm -f "$d/$(echo "$s" | tr '/:' '__')";;
list) echo '{}';;
*) exit 2;;
esac
"""


@pytest.mark.process_only(NO_VM)
def test_credential_helper(fresh, tls_registry, rootfs_tar, docker_config, tmp_path,
                           monkeypatch):
    """config.json's credsStore: login keeps the secret in the helper (no
    "unencrypted" warning, an empty auths entry), push gets it from there,
    and docker's own logout erases it through the same helper."""
    reg = tls_registry
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-isoboxtest"
    helper.write_text(HELPER)
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    cfg = docker_config / "config.json"
    cfg.write_text('{"credsStore": "isoboxtest"}')
    r = login(fresh, reg)
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    assert "unencrypted" not in r.stderr
    assert json.loads(cfg.read_text())["auths"][reg.host] == {}
    stored = json.loads((bin_dir / "store" / reg.host.replace(":", "_")).read_text())
    assert stored == {"ServerURL": reg.host, "Username": USER, "Secret": PASSWORD}
    ref = f"{reg.host}/helped:latest"
    fresh("import", rootfs_tar, ref, check=True)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    if os.access(DOCKER, os.X_OK):
        subprocess.run([DOCKER, "logout", reg.host], capture_output=True, timeout=60,
                       check=True)
        assert not (bin_dir / "store" / reg.host.replace(":", "_")).exists()
        assert fresh("push", ref, timeout=60).returncode == 1


@pytest.mark.process_only(NO_VM)
def test_login_command_line(fresh, tls_registry, docker_config):
    """docker login's refusals, in its words, and nothing stored."""
    reg = tls_registry
    r = fresh("login", "--password-stdin", reg.host, input="x\n")
    assert r.returncode == 1
    assert "the --password-stdin option requires --username to be set" in r.stderr
    r = fresh("login", "-u", USER, "-p", "x", "--password-stdin", reg.host, input="x\n")
    assert r.returncode == 1
    assert "WARNING! Using --password via the CLI is insecure. Use --password-stdin." in r.stderr
    assert "conflicting options: cannot specify both --password and --password-stdin" in r.stderr
    r = fresh("login", reg.host, input="")
    assert r.returncode == 1
    assert "Cannot perform an interactive login from a non TTY device" in r.stderr
    r = fresh("login", "a", "b")
    assert r.returncode != 0 and "requires at most 1 argument" in r.stderr
    assert not (docker_config / "config.json").exists()
    # -p works, with its warning
    r = fresh("login", "-u", USER, "-p", PASSWORD, reg.host)
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    assert "WARNING! Using --password via the CLI is insecure" in r.stderr
    # stored credentials are tried first when none are given
    r = fresh("login", reg.host, input="")
    assert r.returncode == 0, r.stderr
    assert f"Authenticating with existing credentials... [Username: {USER}]" in r.stdout
    # logout of a host never logged in to: docker CLI 28 says the same
    r = fresh("logout", "127.0.0.1:1")
    assert r.returncode == 0 and r.stdout == "Removing login credentials for 127.0.0.1:1\n"


@pytest.mark.process_only(NO_VM)
def test_malformed_config_refused(fresh, tls_registry, docker_config):
    """A config.json isobox cannot read is named and left as it was."""
    cfg = docker_config / "config.json"
    cfg.write_text('{"auths": {"x": {"auth": "not base64!"}}}')
    r = login(fresh, tls_registry)
    assert r.returncode != 0 and str(cfg) in r.stderr, r.stderr
    r = fresh("logout", tls_registry.host)
    assert r.returncode != 0 and str(cfg) in r.stderr, r.stderr
    assert cfg.read_text() == '{"auths": {"x": {"auth": "not base64!"}}}'


@pytest.mark.process_only(NO_VM)
def test_push_pulled_image_mounts_from_its_repository(fresh, fault_proxy, tmp_path):
    """A pulled 3-layer image (gzip, zstd and plain layers) pushed under
    another repository of its registry: every blob is mounted from the one
    it came from (its RepoDigests), the manifest is the pulled bytes."""
    import oci_images as oi
    src = oi.push(oi.busybox3(str(tmp_path / "bb3")), fault_proxy, "lib/bb3")
    fresh("pull", "-q", src, timeout=120, check=True)
    dst = f"{fault_proxy.host}/mine/bb3:v1"
    fresh("tag", src, dst, check=True)
    before = len(fault_proxy.log)
    r = fresh("push", dst, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = layer_lines(r.stdout)
    assert len(lines) == 3 and all(s == ["Preparing", "Mounted from lib/bb3"]
                                   for s in lines.values()), r.stdout
    log = fault_proxy.log[before:]
    assert not [e for e in log if e["method"] == "PATCH" or
                (e["method"] == "PUT" and "/blobs/" in e["path"])], log
    registry = fault_proxy.registry
    assert registry.manifest("mine/bb3", "v1") == registry.manifest("lib/bb3", "latest")


@pytest.mark.process_only(NO_VM)
def test_push_loaded_image(fresh, registry, rootfs_tar, tmp_path):
    """An image saved and loaded into another store pushes as it was."""
    ref = f"{registry.host}/loaded:1"
    fresh("import", rootfs_tar, ref, check=True)
    archive = str(tmp_path / "saved.tar")
    fresh("save", "-o", archive, ref, check=True)
    _, digest, _ = store_manifest(fresh, ref)
    fresh("rmi", ref, check=True)
    fresh("load", "-i", archive, check=True)
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    pushed = registry.manifest("loaded", "1")[1]
    assert re.search(rf"^1: digest: {pushed} size: \d+$", r.stdout, re.M), r.stdout
    info = skopeo_inspect(registry, ref)
    layers = json.loads(fresh.out("image", "inspect", ref))[0]["RootFS"]["Layers"]
    assert info["Layers"] == layers   # uncompressed: blob digest = diff id


def test_committed_image_pushed_pulled_and_run(fresh, registry, rootfs_tar, mode):
    """A container's changes committed (in either mode), pushed, removed and
    pulled back: the image has its two layers and runs with the change."""
    base = f"{registry.host}/base:latest"
    ref = f"{registry.host}/committed:latest"
    fresh("import", rootfs_tar, base, check=True)
    name = f"push-commit-{os.getpid()}-{mode}"
    r = fresh("run", f"--isolation={mode}", "--name", name, base, "sh", "-c",
              "echo pushed-$((6*7)) > /hello", timeout=300)
    assert r.returncode == 0, r.stderr
    fresh("commit", name, ref, check=True, timeout=300)
    fresh("rm", name, check=True)
    image_id = json.loads(fresh.out("image", "inspect", ref))[0]["Id"]
    r = fresh("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(layer_lines(r.stdout)) == 2, r.stdout
    fresh("rmi", ref, check=True)
    r = fresh("pull", "-q", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    inspect = json.loads(fresh.out("image", "inspect", ref))[0]
    assert inspect["Id"] == image_id and len(inspect["RootFS"]["Layers"]) == 2
    r = fresh("run", "--rm", f"--isolation={mode}", ref, "cat", "/hello", timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "pushed-42\n"
