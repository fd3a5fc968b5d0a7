"""The isolation policy of the host's config: rules that require hyperv
isolation by image, image label, container label and privileges, and
require_hyperv_for_untrusted; --isolation=auto, refusals naming the rule,
`policy explain`, and the decision in inspect and in the log of events."""
import json
import uuid

import pytest

POLICY = """\
default_isolation = process

[rule tenants]
label = tenant=*

[rule production]
label = env=production, env=prod

[rule outside-images]
image = registry.example.com/*, untrusted/*

[rule marked-images]
image_label = org.example.untrusted=true

[rule privileged]
privileged = true

[rule admin-caps]
cap_add = SYS_ADMIN, NET_ADMIN

[rule host-namespaces]
host_namespaces = true

[rule unconfined]
unconfined = true
"""

# One request that each rule kind, and only it, matches.
CASES = [
    ("tenants", ["-l", "tenant=acme"], "busybox"),
    ("production", ["--label", "env=prod"], "busybox"),
    ("outside-images", [], "untrusted/app"),
    ("marked-images", [], "marked"),
    ("privileged", ["--privileged"], "busybox"),
    ("admin-caps", ["--cap-add", "net_admin"], "busybox"),
    ("host-namespaces", ["--pid", "host"], "busybox"),
    ("unconfined", ["--security-opt", "seccomp=unconfined"], "busybox"),
]


@pytest.fixture(scope="module")
def images(isobox, rootfs_tar):
    isobox("import", rootfs_tar, "untrusted/app", check=True)
    isobox("import", "--change", "LABEL org.example.untrusted=true", rootfs_tar, "marked",
           check=True)


@pytest.fixture
def policy(tmp_path):
    def write(text=POLICY):
        path = tmp_path / "isobox.conf"
        path.write_text(text)
        return ["--config", str(path)]
    return write


def explain(isobox, flags, *args):
    return isobox(*flags, "policy", "explain", "--format", "json", *args)


@pytest.mark.parametrize("rule,flags,image", CASES, ids=[c[0] for c in CASES])
def test_each_rule_kind(isobox, images, policy, mode, rule, flags, image):
    conf = policy()
    r = explain(isobox, conf, *flags, image, "true")
    d = json.loads(r.stdout)
    assert d["Mode"] == "hyperv" and d["Rule"] == rule, d
    assert d["Reason"].startswith(f'isolation policy rule "{rule}" ({conf[1]}:')
    matched = [x["Rule"] for x in d["Rules"] if x["Matched"]]
    assert matched == [rule]
    # An explicit --isolation=process is refused, naming the rule.
    r = isobox(*conf, "run", "--rm", "--isolation=process", *flags, image, "true")
    assert r.returncode == 125
    assert f'isolation policy rule "{rule}"' in r.stderr
    assert "so --isolation=process is refused: run it with --isolation=hyperv" in r.stderr
    # Without the flag nothing matches, and the default (process) applies.
    d = json.loads(explain(isobox, conf, "busybox").stdout)
    assert d["Mode"] == "process" and d["Rule"] == "" and "Refused" not in d


def test_the_policy_routes_containers_into_vms(isobox, policy, mode):
    conf = policy()
    name = f"pol-{uuid.uuid4().hex[:8]}"
    args = ["-l", "tenant=acme", "busybox", "true"]
    # Whether this host (and this root's guest kernels) can run hyperv is
    # info's to say: the hyperv run's test host can, this one may or may not.
    hv = json.loads(isobox.out(*conf, "info", "--format", "json"))["Isolation"]["Modes"]["hyperv"]
    assert hv["Available"] is True or mode == "process", hv
    before = isobox("ps", "-aq").stdout.split()     # (the root is shared with other tests)
    if not hv["Available"]:
        # The policy's VM cannot run here: the refusal is info's reason, as
        # it is. (It neither names the rule nor warns that the way out it
        # offers, --isolation=process, the rule refuses: reported.)
        for isolation in ("auto", "default"):
            r = isobox(*conf, "run", "--rm", f"--isolation={isolation}", *args)
            assert (r.returncode, r.stdout, r.stderr) == (125, "", f"isobox: {hv['Reason']}\n")
        assert isobox("ps", "-aq").stdout.split() == before
        return
    for isolation in ("auto", "default"):
        r = isobox(*conf, "run", "--name", f"{name}-{isolation}", f"--isolation={isolation}",
                   *args, timeout=180)
        assert r.returncode == 0, r.stderr
        cid = f"{name}-{isolation}"
        assert isobox.out("inspect", "-f", "{{.HostConfig.Isolation}}", cid).strip() == "hyperv"
        d = json.loads(isobox.out("inspect", "-f", "{{json .IsolationDecision}}", cid))
        assert d["Requested"] == isolation and d["Rule"] == "tenants" and d["Mode"] == "hyperv"
        events = [json.loads(x) for x in isobox.out("events", "--filter", f"container={cid}",
                                                     "--format", "json").splitlines()]
        assert [e["Action"] for e in events] == ["create", "start", "die"]
        attrs = events[0]["Actor"]["Attributes"]
        assert attrs["isolation"] == "hyperv" and attrs["isolation.rule"] == "tenants"
        assert attrs["isolation.reason"].startswith('isolation policy rule "tenants"')
        isobox("rm", cid, check=True)


def test_untrusted_images(isobox, images, policy, mode):
    conf = policy("[policy]\nrequire_hyperv_for_untrusted = true\n"
                  "trusted_images = busybox, docker.io/library/alpine*\n")
    d = json.loads(explain(isobox, conf, "busybox").stdout)
    assert d["Rule"] == "" and d["Rules"][0]["Rule"] == "require_hyperv_for_untrusted"
    assert d["Rules"][0]["Detail"] == "image busybox:latest is trusted: it matches busybox"
    d = json.loads(explain(isobox, conf, "untrusted/app").stdout)
    assert d["Mode"] == "hyperv" and d["Rule"] == "require_hyperv_for_untrusted"
    assert "image untrusted/app:latest matches no trusted_images pattern" in d["Reason"]
    r = isobox(*conf, "run", "--rm", "--isolation=process", "untrusted/app", "true")
    assert r.returncode == 125
    assert 'isolation policy rule "require_hyperv_for_untrusted"' in r.stderr
    if mode == "hyperv":
        r = isobox(*conf, "run", "--rm", "untrusted/app", "cat", "/proc/cpuinfo", timeout=180)
        assert r.returncode == 0 and "hypervisor" in r.stdout, r.stderr


def test_explain_text(isobox, policy):
    conf = policy()
    r = isobox(*conf, "policy", "explain", "-l", "tenant=acme", "--isolation=process",
               "busybox")
    assert r.returncode == 125
    lines = r.stdout.splitlines()
    assert lines[0] == "Image:        busybox:latest"
    assert lines[1] == "Requested:    process"
    assert lines[2].startswith('Refused:      isolation policy rule "tenants"')
    assert "  MATCH     tenants (" in r.stdout
    assert "  no match  privileged (" in r.stdout and "--privileged is not asked for" in r.stdout
    r = isobox(*conf, "policy", "explain", "busybox")
    assert r.returncode == 0
    assert "Mode:         process" in r.stdout
    assert "Why:          the host's default: set by default_isolation in" in r.stdout
    r = isobox("--config", "/dev/null", "policy", "explain", "busybox")
    assert "Rules:        none (no isolation policy is configured)" in r.stdout
    r = isobox("policy", "explain", "no-such-image")
    assert r.returncode == 125 and "no-such-image" in r.stderr
    r = isobox("policy", "frobnicate")
    assert r.returncode == 125 and "usage: isobox policy explain" in r.stderr


def test_auto_without_rules_is_the_default(isobox, policy, mode):
    conf = policy(f"default_isolation = {mode}\n")
    d = json.loads(explain(isobox, conf, "--isolation=AUTO", "busybox").stdout)
    assert d["Requested"] == "auto" and d["Mode"] == mode
    assert d["Reason"].startswith("the host's default: set by default_isolation")
    r = isobox("run", "--rm", "--isolation=sometimes", "busybox", "true")
    assert r.returncode == 125
    assert "valid values are process, hyperv (alias vm), auto and default" in r.stderr


@pytest.mark.parametrize("text,words", [
    ("[rule a]\ncolour = blue\n", 'isobox.conf:2: unknown rule condition "colour"'),
    ("[rule a]\n", "isobox.conf:1: rule a has no condition"),
    ("[rule a]\nprivileged = maybe\n", 'isobox.conf:2: invalid value "maybe" for privileged'),
    ("[rule a]\nlabel = x\n[rule a]\nlabel = y\n", "isobox.conf:3: rule a is already defined"),
    ("[rules]\n", "isobox.conf:1: unknown section [rules]"),
    ("[policy]\nrequire_hyperv_for_untrusted = sure\n",
     "isobox.conf:2: require_hyperv_for_untrusted is true or false"),
    ("[policy]\ntrusted_images = ,\n", "isobox.conf:2: trusted_images needs image patterns"),
])
def test_malformed_policy_names_the_line(isobox, policy, text, words):
    r = isobox(*policy(text), "run", "--rm", "busybox", "true")
    assert r.returncode == 125 and words in r.stderr, r.stderr


def test_host_namespaces_are_process_only(isobox, mode):
    if mode == "process":
        host_net = set(__import__("os").listdir("/sys/class/net"))
        r = isobox("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
        assert r.returncode == 0 and set(r.stdout.split()) == host_net, r.stderr
        r = isobox("run", "--rm", "--pid", "host", "busybox", "sh", "-c", "test -d /proc/1")
        assert r.returncode == 0
        r = isobox("run", "--rm", "--pid", "host", "busybox", "cat", "/proc/1/comm")
        assert r.stdout.strip() != "cat"
    else:
        r = isobox("run", "--rm", "--isolation=hyperv", "--network", "host", "busybox", "true")
        assert r.returncode == 125 and "cannot share the host's namespaces" in r.stderr
    r = isobox("run", "--rm", "--network", "bridge0", "busybox", "true")
    assert r.returncode == 125 and "network bridge0 not found" in r.stderr
