"""Real registries for the tests, on loopback only: Debian's docker-registry
(the CNCF distribution registry 2.8) on 127.0.0.1 and a free port, with its
own storage under a temporary dir, in three modes:

- "plain": plain HTTP, no auth;
- "tls": HTTPS with a test CA made by openssl (server cert with IP SAN
  127.0.0.1) and htpasswd Basic auth; the CA is trusted the way docker does
  it, /etc/docker/certs.d/127.0.0.1:PORT/ca.crt (made here, removed on stop);
- "token": plain HTTP and Bearer tokens from TokenServer below (JWT, RS256,
  the signing cert in the x5c header, its CA in the registry's
  rootcertbundle), which checks Basic credentials and counts its requests.

Registry(workdir, mode) is a context manager; stop()/start() (or kill())
restart it on the same port and storage. FaultProxy(registry) is a plain-HTTP
reverse proxy in front of a plain or token registry that logs every request
and can fail blob GETs. The pytest fixtures are in conftest.py."""
import base64
import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

REGISTRY = "/usr/bin/docker-registry"
USER, PASSWORD = "tester", "s3cret-pw"
SERVICE, ISSUER = "isobox-test-registry", "isobox-test-token-issuer"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {r.stderr}")
    return r.stdout


def make_ca(d, name="isobox test CA"):
    """A self-signed CA (d/ca.crt, d/ca.key)."""
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return f"{d}/ca.crt", f"{d}/ca.key"


def make_cert(d, stem, cn, ext):
    """A key and a cert signed by d/ca.*, with the extensions in ext (lines)."""
    _run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
         "-keyout", f"{d}/{stem}.key", "-out", f"{d}/{stem}.csr")
    with open(f"{d}/{stem}.ext", "w") as f:
        f.write("\n".join(ext) + "\n")
    _run("openssl", "x509", "-req", "-in", f"{d}/{stem}.csr", "-CA", f"{d}/ca.crt",
         "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-days", "2", "-sha256",
         "-extfile", f"{d}/{stem}.ext", "-out", f"{d}/{stem}.crt")
    return f"{d}/{stem}.crt", f"{d}/{stem}.key"


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _QuietThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass   # clients hanging up mid-response are part of the tests


class TokenServer:
    """The Bearer token service: GET /token?service=&scope=... with optional
    Basic credentials; answers {"token", "access_token", "expires_in",
    "issued_at"}. Valid credentials get every action asked for; anonymous
    requests get "pull" when anonymous_pull, else 401; bad credentials 401.
    requests lists each request: {"user", "scopes", "status"}."""

    def __init__(self, workdir, users=None, anonymous_pull=False, ttl=300):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        self.users = users if users is not None else {USER: PASSWORD}
        self.anonymous_pull, self.ttl = anonymous_pull, ttl
        self.requests = []
        self.dir = os.path.join(workdir, "token")
        os.makedirs(self.dir, exist_ok=True)
        make_ca(self.dir, "isobox test token CA")
        crt, key = make_cert(self.dir, "signer", "isobox test token signer",
                             ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature"])
        self.rootcertbundle = os.path.join(self.dir, "ca.crt")
        cert = x509.load_pem_x509_certificate(open(crt, "rb").read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.key = serialization.load_pem_private_key(open(key, "rb").read(), None)
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.httpd = None

    def token(self, access, audience=SERVICE, subject=""):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": ISSUER, "sub": subject, "aud": audience, "exp": now + self.ttl,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def _grant(self, user, scopes):
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if user is None:
                actions = [a for a in actions if a == "pull"]
            access.append({"type": kind, "name": name, "actions": actions})
        return access

    def start(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(url.query)
                scopes = [s for v in q.get("scope", []) for s in v.split(" ")]
                user, status = None, 200
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    except Exception:
                        u, p = None, None
                    if u in server.users and server.users[u] == p:
                        user = u
                    else:
                        status = 401
                elif not server.anonymous_pull:
                    status = 401
                if url.path != "/token":
                    status = 404
                server.requests.append({"user": user, "scopes": scopes, "status": status,
                                        "service": q.get("service", [""])[0]})
                if status != 200:
                    self.reply(status, {"details": "access denied"},
                               [("WWW-Authenticate", 'Basic realm="token"')])
                    return
                tok = server.token(server._grant(user, scopes), subject=user or "")
                self.reply(200, {"token": tok, "access_token": tok, "expires_in": server.ttl,
                                 "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                            time.gmtime())})

        self.httpd = _QuietThreadingServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class Registry:
    """docker-registry serve on 127.0.0.1:PORT (see the module's doc)."""

    def __init__(self, workdir=None, mode="plain", anonymous_pull=False, token_ttl=300):
        assert mode in ("plain", "tls", "token"), mode
        self.mode = mode
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix=f"isobox-registry-{mode}-")
        os.makedirs(self.dir, exist_ok=True)
        self.storage = os.path.join(self.dir, "storage")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.user, self.password = USER, PASSWORD
        self.proc = None
        self.token_server = None
        self.certs_d = None
        self.cert_dir = None        # for skopeo/podman --cert-dir (holds ca.crt)
        self.log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.scheme = "https" if mode == "tls" else "http"
        auth = ""
        tls = ""
        if mode == "tls":
            self.cert_dir = os.path.join(self.dir, "certs")
            os.makedirs(self.cert_dir)
            make_ca(self.cert_dir)
            crt, key = make_cert(self.cert_dir, "server", "127.0.0.1", [
                "basicConstraints=CA:FALSE", "keyUsage=digitalSignature,keyEncipherment",
                "extendedKeyUsage=serverAuth", "subjectAltName=IP:127.0.0.1"])
            # skopeo's --cert-dir reads every *.crt, *.cert and *.key there:
            # give it the CA alone.
            self.skopeo_cert_dir = os.path.join(self.dir, "skopeo-certs")
            os.makedirs(self.skopeo_cert_dir)
            shutil.copy(os.path.join(self.cert_dir, "ca.crt"), self.skopeo_cert_dir)
            htpasswd = os.path.join(self.dir, "htpasswd")
            with open(htpasswd, "w") as f:
                f.write(subprocess.run(["htpasswd", "-Bbn", self.user, self.password],
                                       capture_output=True, text=True, check=True).stdout)
            tls = f"  tls:\n    certificate: {crt}\n    key: {key}\n"
            auth = f"auth:\n  htpasswd:\n    realm: isobox-test\n    path: {htpasswd}\n"
            self.certs_d = f"/etc/docker/certs.d/{self.host}"
        elif mode == "token":
            self.token_server = TokenServer(self.dir, anonymous_pull=anonymous_pull,
                                            ttl=token_ttl)
            ts = self.token_server
            auth = (f"auth:\n  token:\n    realm: {ts.realm}\n    service: {SERVICE}\n"
                    f"    issuer: {ISSUER}\n    rootcertbundle: {ts.rootcertbundle}\n")
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
                    f"  delete:\n    enabled: true\n"
                    f"  maintenance:\n    uploadpurging:\n      enabled: false\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: isobox-test-{self.port}\n"
                    f"{tls}{auth}")

    @property
    def url(self):
        return f"{self.scheme}://{self.host}"

    def start(self, timeout=30):
        if self.certs_d:
            os.makedirs(self.certs_d, exist_ok=True)
            shutil.copy(os.path.join(self.cert_dir, "ca.crt"), self.certs_d)
        if self.token_server and not self.token_server.httpd:
            self.token_server.start()
        self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}: "
                                   f"{open(self.log.name, 'rb').read()[-2000:]!r}")
            try:
                status, _, _ = self.request("GET", "/v2/", auth=False)
                if status in (200, 401):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not answer /v2/ in {timeout} s")
            time.sleep(0.05)

    def kill(self, sig=signal.SIGKILL):
        """Stop the registry process at once (storage and port kept)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self):
        self.kill(signal.SIGTERM)
        if self.token_server:
            self.token_server.stop()
        if self.certs_d:
            shutil.rmtree(self.certs_d, ignore_errors=True)

    def close(self):
        self.stop()
        self.log.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    # What clients need to reach it.
    def skopeo_args(self, side=None, creds=None):
        """skopeo's --src-*/--dest-* options for this registry (side "src",
        "dest", or None for `skopeo inspect`'s and podman's unprefixed ones);
        creds "user:pass", "" for none (default: the test user for tls/token)."""
        if creds is None:
            creds = f"{self.user}:{self.password}" if self.mode != "plain" else ""
        pre = f"--{side}-" if side else "--"
        args = []
        if self.mode == "tls":
            args.append(f"{pre}cert-dir={self.skopeo_cert_dir}")
        else:
            args.append(f"{pre}tls-verify=false")
        if creds:
            args.append(f"{pre}creds={creds}")
        return args

    def podman_args(self, creds=None):
        """podman pull/push options for this registry."""
        return self.skopeo_args(None, creds)

    def basic_header(self):
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def request(self, method, path, headers=None, body=None, auth=True, scope=None):
        """One request straight to the registry (for a test's own checks):
        (status, headers, body); auth adds the test user's credentials (Basic
        for tls, a token for scope in token mode)."""
        headers = dict(headers or {})
        if auth and self.mode == "tls":
            headers["Authorization"] = self.basic_header()
        elif auth and self.mode == "token":
            headers["Authorization"] = "Bearer " + self.token_server.token(
                [{"type": "repository", "name": n, "actions": ["pull", "push", "delete"]}
                 for n in ([scope] if scope else [])] +
                [{"type": "registry", "name": "catalog", "actions": ["*"]}])
        if self.mode == "tls":
            ctx = ssl.create_default_context(cafile=os.path.join(self.cert_dir, "ca.crt"))
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def manifest(self, name, ref):
        """The raw manifest of NAME:REF (or @digest) and its digest."""
        accept = ", ".join([
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json"])
        status, headers, body = self.request("GET", f"/v2/{name}/manifests/{ref}",
                                             {"Accept": accept}, scope=name)
        if status != 200:
            raise KeyError(f"{name}:{ref}: {status} {body[:200]!r}")
        return json.loads(body), "sha256:" + hashlib.sha256(body).hexdigest()

    def blob_files(self):
        """The digests of the blobs in its storage."""
        root = os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256")
        out = set()
        if os.path.isdir(root):
            for pre in os.listdir(root):
                out.update("sha256:" + h for h in os.listdir(os.path.join(root, pre)))
        return out


class FaultProxy:
    """A reverse proxy on 127.0.0.1:PORT in front of a plain-HTTP registry
    (modes "plain" and "token"), which clients use as the registry (host,
    skopeo_args...). It forwards every request (the Host header as the client
    sent it, so the registry's Location headers point back at the proxy) and
    logs it in .log as {"method", "path", "range", "status", "sent"}.

    Faults, on GETs of blobs (/v2/NAME/blobs/sha256:...), keyed by N (the
    Nth blob GET, counted from 1) or by a digest (the first GET of it):
    - fail_blob_get[KEY] = STATUS: answer that GET with STATUS (503...);
    - cut_blob_get[KEY] = FRACTION: send that fraction of its body, then
      drop the connection;
    - rate: bytes per second for blob bodies (None: as fast as it goes);
    - on_blob_bytes(n_get, sent): called as a blob body streams (a test can
      kill the registry from there)."""

    def __init__(self, registry, rate=None):
        assert registry.mode != "tls", "the fault proxy speaks plain HTTP"
        self.registry = registry
        self.mode = registry.mode
        self.user, self.password = registry.user, registry.password
        self.token_server = registry.token_server
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.log = []
        self.blob_gets = 0
        self.fail_blob_get = {}
        self.cut_blob_get = {}
        self.rate = rate
        self.on_blob_bytes = None
        self.lock = threading.Lock()
        self.httpd = None

    skopeo_args = Registry.skopeo_args
    podman_args = Registry.podman_args

    def blob_log(self):
        return [e for e in self.log if e["method"] == "GET" and "/blobs/sha256:" in e["path"]]

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else None

            def forward(self):
                entry = {"method": self.command, "path": self.path,
                         "range": self.headers.get("Range"), "status": None, "sent": 0}
                with proxy.lock:
                    proxy.log.append(entry)
                    is_blob = self.command == "GET" and "/blobs/sha256:" in self.path
                    if is_blob:
                        proxy.blob_gets += 1
                        digest = self.path.rsplit("/", 1)[-1].split("?")[0]
                        first = not any(e["path"] == self.path for e in proxy.log[:-1])
                        nth = proxy.blob_gets
                        keys = [nth] + ([digest] if first else [])
                        fail = next((proxy.fail_blob_get[k] for k in keys
                                     if k in proxy.fail_blob_get), None)
                        cut = next((proxy.cut_blob_get[k] for k in keys
                                    if k in proxy.cut_blob_get), None)
                body = self.body()
                if is_blob and fail is not None:
                    entry["status"] = fail
                    self.send_response(entry["status"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                # Repeated headers (Accept) are kept as they came.
                headers = [(k, v) for k, v in self.headers.items()
                           if k.lower() not in ("transfer-encoding", "content-length",
                                                "connection", "proxy-connection")]
                if body is not None:
                    headers.append(("Content-Length", str(len(body))))
                up = http.client.HTTPConnection("127.0.0.1", proxy.registry.port, timeout=60)
                try:
                    up.putrequest(self.command, self.path, skip_host=True,
                                  skip_accept_encoding=True)
                    for k, v in headers:
                        up.putheader(k, v)
                    up.endheaders(body)
                    resp = up.getresponse()
                except OSError:
                    entry["status"] = 502
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    up.close()
                    return
                entry["status"] = resp.status
                self.send_response(resp.status)
                length = resp.getheader("Content-Length")
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                if self.command == "HEAD" or resp.status in (204, 304):
                    if length is not None:
                        self.send_header("Content-Length", length)
                    self.end_headers()
                    up.close()
                    return
                if not is_blob or length is None:
                    data = resp.read()
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    entry["sent"] = len(data)
                    up.close()
                    return
                self.send_header("Content-Length", length)
                self.end_headers()
                total = int(length)
                limit = int(total * cut) if cut is not None else total
                start = time.monotonic()
                try:
                    while entry["sent"] < limit:
                        chunk = resp.read(min(65536, limit - entry["sent"]))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        entry["sent"] += len(chunk)
                        if proxy.on_blob_bytes:
                            proxy.on_blob_bytes(nth, entry["sent"])
                        if proxy.rate:
                            ahead = entry["sent"] / proxy.rate - (time.monotonic() - start)
                            if ahead > 0:
                                time.sleep(ahead)
                except OSError:
                    pass
                finally:
                    up.close()
                if entry["sent"] < total:
                    # Cut: the client sees the connection drop mid-body.
                    self.close_connection = True
                    try:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward

        self.httpd = _QuietThreadingServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Podman:
    """podman with its own storage under dir (vfs, cgroupfs, runc, no
    events), so it shares nothing with the machine's."""

    def __init__(self, d):
        self.dir = d
        self.base = ["podman", "--root", f"{d}/root", "--runroot", f"{d}/run",
                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                     "--runtime", "runc", "--events-backend", "none"]

    def __call__(self, *args, input=None, timeout=300, check=True):
        # Not the test's $DOCKER_CONFIG: podman fails when it has no config.json.
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
        r = subprocess.run(self.base + list(args), input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    # This host's root cannot raise rlimits past its hard limits: podman's
    # defaults fail under runc unless they are given (FIELD-NOTES.md).
    RUN = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
           "--ulimit", "nproc=1024:1024"]

    def close(self):
        # vfs storage mounts nothing; `system reset` would touch podman's
        # machine-wide network configs.
        shutil.rmtree(self.dir, ignore_errors=True)
