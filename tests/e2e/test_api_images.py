"""isobox serve (issue 16): images in and out through the Docker Engine API,
with the stock docker CLI against a registry on loopback (tests/e2e/
registry.py): push, pull (docker's JSON progress, its final lines, 404 for a
missing tag), `docker run` of an image not in the store (the CLI's create,
404, pull, create again), save, load, import, image prune. dockerd 20.10 is
the reference for the messages (docs/api.md)."""
import io
import json
import os
import tarfile
import uuid

import pytest

from conftest import wait_for

NO_VM = "images move between the store, a registry and the client: no container runs"


def messages(body):
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


@pytest.mark.process_only(NO_VM)
def test_api_push_pull_save_load_import_prune(fresh_api, registry, rootfs_tar, tmp_path):
    api, ib = fresh_api, fresh_api.isobox
    repo = f"{registry.host}/bb"
    assert api.docker("tag", "busybox", f"{repo}:v1").returncode == 0
    # push: docker's lines, and the registry has the tag
    r = api.docker("push", f"{repo}:v1")
    assert r.returncode == 0, r.stderr
    assert f"The push refers to repository [{repo}]" in r.stdout
    assert ": Pushed" in r.stdout and "v1: digest: sha256:" in r.stdout, r.stdout
    status, _, body = registry.request("GET", "/v2/bb/tags/list")
    assert status == 200 and json.loads(body)["tags"] == ["v1"]
    # the raw push stream ends with docker's aux message
    status, headers, body = api("POST", f"/v1.50/images/{repo}/push?tag=v1",
                                headers={"X-Registry-Auth": "e30="})
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert messages(body)[-1]["aux"]["Tag"] == "v1", body
    # pull through the CLI: progress, Digest, Status, then the full name
    assert api.docker("rmi", f"{repo}:v1").returncode == 0
    r = api.docker("pull", f"{repo}:v1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "v1: Pulling from bb" and lines[-1] == f"{repo}:v1", r.stdout
    assert lines[-3].startswith("Digest: sha256:")
    assert lines[-2] == f"Status: Downloaded newer image for {repo}:v1"
    assert ib("image", "inspect", f"{repo}:v1").returncode == 0
    # the raw pull: docker's JSON messages, "Pulling from" without a detail
    status, headers, body = api("POST", f"/v1.50/images/create?fromImage={repo}&tag=v1")
    assert status == 200 and headers["Content-Type"] == "application/json"
    got = messages(body)
    assert got[0] == {"status": "Pulling from bb", "id": "v1"}, got
    assert got[-1] == {"status": f"Status: Image is up to date for {repo}:v1"}, got
    # missing: 404 with the registry's reason, before any stream
    status, _, body = api("POST", f"/v1.50/images/create?fromImage={repo}&tag=nope")
    assert status == 404 and b"not found: manifest unknown" in body, body
    r = api.docker("pull", f"{registry.host}/nosuch:v1")
    assert r.returncode == 1 and "Error response from daemon" in r.stderr
    assert api("POST", "/v1.50/images/create")[0] == 400
    # an option-like name is a name, not an option of the command
    status, _, body = api("POST", "/v1.50/images/create?fromImage=--all-tags&tag=x")
    assert status == 400 and b"invalid reference format" in body, body
    # save: one tar for several names; load it back into an emptied store
    out = tmp_path / "saved.tar"
    r = api.docker("save", "-o", str(out), "busybox", f"{repo}:v1")
    assert r.returncode == 0, r.stderr
    with tarfile.open(out) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
    assert "index.json" in names
    assert sorted(sum((m["RepoTags"] for m in manifest), [])) == sorted(["busybox:latest",
                                                                         f"{repo}:v1"])
    status, _, body = api("GET", "/v1.50/images/nosuch-img/get")
    assert status == 404 and json.loads(body)["message"] == "No such image: nosuch-img"
    assert api.docker("rmi", f"{repo}:v1").returncode == 0
    r = api.docker("load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert "Loaded image: busybox:latest" in r.stdout
    assert f"Loaded image: {repo}:v1" in r.stdout
    assert ib("image", "inspect", f"{repo}:v1").returncode == 0
    status, _, body = api("POST", "/v1.50/images/load", body=b"not a tar" * 100)
    assert status == 500 and b"invalid image archive" in body, body
    # import: the CLI sends the tarball as the body (fromSrc=-)
    r = api.docker("import", "--change", "CMD [\"/bin/true\"]", rootfs_tar, "imp:x")
    assert r.returncode == 0 and r.stdout.startswith("sha256:"), (r.stdout, r.stderr)
    cfg = json.loads(ib.out("image", "inspect", "imp:x"))[0]["Config"]
    assert cfg["Cmd"] == ["/bin/true"]
    status, _, body = api("POST", "/v1.50/images/create?fromSrc=http://x/y.tar&repo=z")
    assert status == 400, body
    # prune: dangling only by default; -a every image no container uses
    name = "prune-keep-" + uuid.uuid4().hex[:6]
    assert ib("create", "--name", name, "busybox", "true").returncode == 0
    r = api.docker("image", "prune", "-f")
    assert r.returncode == 0 and "Total reclaimed space:" in r.stdout, r.stderr
    assert ib("image", "inspect", "imp:x").returncode == 0
    r = api.docker("image", "prune", "-a", "-f")
    assert r.returncode == 0 and "untagged: imp:x" in r.stdout, r.stdout
    assert ib("image", "inspect", "imp:x").returncode != 0
    assert ib("image", "inspect", "busybox").returncode == 0      # in use
    status, _, body = api("POST", "/v1.50/images/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%7D")
    assert status == 400, body


def test_api_run_pulls_a_missing_image(fresh_api, registry, mode):
    """docker run of an image the store lacks: the CLI's create gets 404, it
    pulls through POST /images/create and creates again (both modes)."""
    api = fresh_api
    ref = f"{registry.host}/runme:v2"
    assert api.docker("tag", "busybox", ref).returncode == 0
    assert api.docker("push", ref).returncode == 0
    assert api.docker("rmi", ref).returncode == 0
    r = api.docker("run", "--rm", f"--isolation={mode}", ref, "echo", "pulled-and-ran",
                   timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "pulled-and-ran\n"
    assert f"Unable to find image '{ref}' locally" in r.stderr
    assert f"Status: Downloaded newer image for {ref}" in r.stderr
    missing = api.docker("run", "--rm", f"{registry.host}/runme:none", "true")
    assert missing.returncode == 125 and "manifest unknown" in missing.stderr


@pytest.mark.process_only(NO_VM)
def test_api_login_and_the_requests_credentials(fresh_api, tls_registry, tmp_path):
    """docker login through POST /auth (checked against the registry, stored by
    the client only), then push and pull with the credentials the CLI sends
    (X-Registry-Auth): the service's own logins are neither used nor written."""
    from registry import PASSWORD, USER
    api, reg = fresh_api, tls_registry
    ref = f"{reg.host}/creds:v1"
    assert api.docker("tag", "busybox", ref).returncode == 0
    r = api.docker("push", ref, timeout=120)
    assert r.returncode == 1, "pushed without credentials"
    r = api.docker("login", "-u", USER, "--password-stdin", reg.host, input="wrong")
    assert r.returncode == 1 and "401" in r.stderr, r.stderr
    status, _, body = api("POST", "/v1.50/auth", body=json.dumps(
        {"username": USER, "password": "wrong", "serveraddress": reg.host}))
    assert status == 401, body
    r = api.docker("login", "-u", USER, "--password-stdin", reg.host, input=PASSWORD)
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr
    assert reg.host in json.load(open(tmp_path / "config.json"))["auths"]
    r = api.docker("push", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    assert api.docker("rmi", ref).returncode == 0
    r = api.docker("pull", ref, timeout=120)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == ref, r.stderr
    # the request's credentials go with the request (once the service has
    # let the response go, a moment after the client read its end)
    assert wait_for(lambda: not [d for d in os.listdir(os.path.join(api.isobox.root, "tmp"))
                                 if d.startswith("auth-")], seconds=30)
    host_cfg = os.path.expanduser("~/.docker/config.json")
    assert not os.path.exists(host_cfg) or reg.host not in open(host_cfg).read()
    status, _, body = api("POST", f"/v1.50/images/create?fromImage={reg.host}/creds&tag=v1",
                          headers={"X-Registry-Auth": "%%%"})
    assert status == 400, body
