"""What the app sees, as docker (dockerd 20.10 with runc, --network none) shows
it to a busybox container: HOME from the image's passwd, the supplementary
groups (primary gid, /etc/group members, --group-add), no_new_privs off by
default, /dev without "core", docker's /etc/hosts, /etc/hostname and
/etc/resolv.conf (in a VM too), and the rlimits a process container inherits
(in a VM too, not the guest's own defaults). Each in both isolation modes."""
import json
import os
import resource
import uuid

import pytest

from conftest import CONFIG, image_with_appended
from test_oci_runtime import BOOT_WAIT, bundle, cid, isobox_root, rt  # noqa: F401 (fixtures)

# A VM boots in seconds under the test host's TCG.
T = 240


def run(isobox, mode, *args, timeout=T):
    return isobox("run", "--rm", f"--isolation={mode}", *args, timeout=timeout)


def out(isobox, mode, *args):
    r = run(isobox, mode, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def status_line(text, key):
    """A /proc/self/status field's value, e.g. "0 5" for Groups."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {key}: in {text!r}")


@pytest.fixture(scope="module")
def members_image(isobox, rootfs_tar, tmp_path_factory):
    """busybox with alice (1000, her own group 1000) listed in staff (50) and
    audio (29), nobody listed in staff."""
    tar = tmp_path_factory.mktemp("members") / "members.tar"
    extra = {"./etc/passwd": "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
             "./etc/group": "alice:x:1000:\naudio:x:29:alice\nstaff:x:50:nobody,alice\n"}
    name = image_with_appended(isobox, rootfs_tar, tar, extra, "members")
    yield name
    isobox("rmi", name)


# docker run busybox sh -c 'echo $HOME': the passwd entry's home of the uid,
# "/" without one; an explicit -e HOME wins.
@pytest.mark.parametrize("flags,home", [
    ([], "/root"),
    (["-u", "nobody"], "/home"),          # busybox's passwd: nobody's home is /home
    (["-u", "daemon"], "/usr/sbin"),
    (["-u", "4242"], "/"),
    (["-u", "nobody", "-e", "HOME=/x"], "/x"),
])
def test_home(isobox, mode, flags, home):
    assert out(isobox, mode, *flags, "busybox", "sh", "-c", "echo $HOME") == home + "\n"


# docker: the primary gid, then the groups that list the user by name; an
# explicit group alone; a uid without an entry gets group 0.
@pytest.mark.parametrize("user,groups", [
    ("root", "0"),
    ("nobody", "50 65534"),
    ("alice", "29 50 1000"),
    ("alice:staff", "50"),
    ("4242", "0"),
])
def test_groups(isobox, mode, members_image, user, groups):
    text = out(isobox, mode, "-u", user, members_image, "cat", "/proc/self/status")
    assert status_line(text, "Groups") == groups


def test_group_add(isobox, mode, members_image):
    text = out(isobox, mode, "--group-add", "5", "--group-add", "staff", "-u", "nobody",
               members_image, "cat", "/proc/self/status")
    # by number and by name (the image's /etc/group); nobody's own staff and
    # the added one both count, as the kernel keeps them
    assert status_line(text, "Groups") == "5 50 50 65534"
    # a name resolves in the image's own group file: alice's image has audio,
    # busybox has not
    r = run(isobox, mode, "--group-add", "audio", "busybox", "true")
    assert r.returncode == 125
    assert "Unable to find group audio: no matching entries in group file" in r.stderr
    r = run(isobox, mode, "--group-add", "nosuch", members_image, "true")
    assert r.returncode == 125 and "Unable to find group nosuch" in r.stderr
    # docker shows them in HostConfig.GroupAdd
    name = f"pe-ga-{uuid.uuid4().hex[:8]}"
    isobox("create", "--name", name, f"--isolation={mode}", "--group-add", "tty", "busybox",
           "true", check=True)
    assert isobox.out("inspect", "-f", "{{json .HostConfig.GroupAdd}}", name) == '["tty"]\n'
    isobox("rm", name)


def test_exec_home_groups_and_limits(isobox, mode, members_image):
    name = f"pe-exec-{uuid.uuid4().hex[:8]}"
    r = isobox("run", "-d", "--name", name, f"--isolation={mode}", "--group-add", "5",
               "--ulimit", "nofile=1000:2000", members_image, "sleep", "600", timeout=T)
    assert r.returncode == 0, r.stderr
    try:
        def ex(*args):
            r = isobox("exec", *args, timeout=T)
            assert r.returncode == 0, r.stderr
            return r.stdout
        probe = ["sh", "-c", "echo $HOME; grep ^Groups: /proc/self/status; ulimit -n; "
                 "ulimit -Hn"]
        home, groups, soft, hard = ex(name, *probe).splitlines()
        assert (home, groups.split(":")[1].split(), soft, hard) == \
            ("/root", ["0", "5"], "1000", "2000")
        home, groups, _, _ = ex("-u", "nobody", name, *probe).splitlines()
        assert (home, groups.split(":")[1].split()) == ("/home", ["5", "50", "65534"])
        home, groups, _, _ = ex("-u", "alice", name, *probe).splitlines()
        assert (home, groups.split(":")[1].split()) == ("/home/alice",
                                                         ["5", "29", "50", "1000"])
        assert ex("-e", "HOME=/y", name, "sh", "-c", "echo $HOME") == "/y\n"
    finally:
        isobox("rm", "-f", name, timeout=T)


def test_no_new_privs_off_by_default(isobox, mode):
    # docker's default; seccomp still filters (loaded while CAP_SYS_ADMIN is held)
    text = out(isobox, mode, "busybox", "cat", "/proc/self/status")
    assert (status_line(text, "NoNewPrivs"), status_line(text, "Seccomp")) == ("0", "2")
    # a user without capabilities at all, too
    text = out(isobox, mode, "-u", "nobody", "--cap-drop", "ALL", "busybox", "cat",
               "/proc/self/status")
    assert (status_line(text, "NoNewPrivs"), status_line(text, "Seccomp"),
            status_line(text, "CapEff")) == ("0", "2", "0000000000000000")
    for opt in ("no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"):
        text = out(isobox, mode, "--security-opt", opt, "-u", "nobody", "busybox", "cat",
                   "/proc/self/status")
        assert (status_line(text, "NoNewPrivs"), status_line(text, "Seccomp")) == ("1", "2")


def host_config(tmp_path, mode, extra):
    conf = tmp_path / "isobox.conf"
    conf.write_text(open(CONFIG).read() + extra)
    return ["--config", str(conf)]


def test_no_new_privileges_host_default(isobox, mode, tmp_path):
    conf = host_config(tmp_path, mode, "no_new_privileges = true\n")
    r = isobox(*conf, "run", "--rm", f"--isolation={mode}", "busybox", "cat",
               "/proc/self/status", timeout=T)
    assert r.returncode == 0, r.stderr
    assert status_line(r.stdout, "NoNewPrivs") == "1"
    r = isobox(*conf, "run", "--rm", f"--isolation={mode}", "--security-opt",
               "no-new-privileges=false", "busybox", "cat", "/proc/self/status", timeout=T)
    assert r.returncode == 0, r.stderr
    assert status_line(r.stdout, "NoNewPrivs") == "0"
    # isobox info says it, as docker info's Security Options
    info = isobox.out(*conf, "info")
    assert "Security Options:\n seccomp\n  Profile: default\n no-new-privileges\n" in info
    assert "name=no-new-privileges" in json.loads(
        isobox.out(*conf, "info", "--format", "json"))["SecurityOptions"]
    assert "no-new-privileges" not in isobox.out("info")
    bad = host_config(tmp_path, mode, "no_new_privileges = maybe\n")
    r = isobox(*bad, "info")
    assert r.returncode == 125 and "no_new_privileges is true or false" in r.stderr


# docker run --network none busybox ls -a /dev: these and nothing else, plus
# runc's "core" where the kernel has /proc/kcore (the host's; in a VM the guest's).
DOCKER_DEV = ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr",
              "stdin", "stdout", "tty", "urandom", "zero"]


def test_dev_is_dockers(isobox, mode):
    got = out(isobox, mode, "busybox", "sh", "-c",
              "ls -1a /dev; if test -e /proc/kcore; then echo kcore; fi").split()
    kcore = got[-1] == "kcore"
    if kcore:
        got = got[:-1]
    assert got == [".", ".."] + sorted(DOCKER_DEV + (["core"] if kcore else [])), got


# docker's /etc/hosts for a container without an address of its own, byte for byte.
DOCKER_HOSTS = ("127.0.0.1\tlocalhost\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\n"
                "ff00::0\tip6-mcastprefix\n"
                "ff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")


def docker_resolv_conf():
    """The host's resolv.conf as docker filters it: no loopback nameservers,
    Google's when none is left."""
    lines = open("/etc/resolv.conf").read().splitlines()
    keep = [line for line in lines
            if not (line.split()[:1] == ["nameserver"] and len(line.split()) > 1 and
                    (line.split()[1].startswith("127.") or line.split()[1] == "::1"))]
    if not any(line.split()[:1] == ["nameserver"] for line in keep):
        keep += ["nameserver 8.8.8.8", "nameserver 8.8.4.4"]
    return "".join(line + "\n" for line in keep)


def test_etc_files(isobox, mode):
    text = out(isobox, mode, "-h", "myhost", "busybox", "sh", "-c",
               "cat /etc/hosts; echo --; cat /etc/hostname; echo --; cat /etc/resolv.conf; "
               "echo --; hostname")
    hosts, hostname, resolv, uname = text.split("--\n")
    assert hosts == DOCKER_HOSTS
    assert (hostname, uname) == ("myhost\n", "myhost\n")
    assert resolv == docker_resolv_conf()
    # the default hostname is the id's first 12 characters, in both files
    text = out(isobox, mode, "busybox", "sh", "-c", "cat /etc/hostname; hostname")
    first, second = text.splitlines()
    assert first == second and len(first) == 12


def test_localhost_resolves(isobox, mode):
    # wget resolves the name through /etc/hosts, then finds nothing listening:
    # "Connection refused", where a missing /etc/hosts says "bad address".
    r = run(isobox, mode, "busybox", "wget", "-q", "-O-", "http://localhost:1/")
    assert r.returncode != 0
    assert "refused" in r.stderr and "bad address" not in r.stderr, r.stderr


def caller_limits():
    nofile, nproc = (resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE,
                                                     resource.RLIMIT_NPROC))
    text = [str(v) if v != resource.RLIM_INFINITY else "unlimited" for v in (*nofile, *nproc)]
    return text


LIMITS = "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu"


def test_rlimits_are_the_callers(isobox, mode):
    # What a process container inherits from isobox's caller, in a VM too
    # (not the guest's own nofile 1024 and nproc from its RAM).
    assert out(isobox, mode, "busybox", "sh", "-c", LIMITS).split() == caller_limits()
    # --ulimit sets its own, the others stay the caller's
    got = out(isobox, mode, "--ulimit", "nofile=1000:2000", "busybox", "sh", "-c",
              LIMITS).split()
    assert got == ["1000", "2000"] + caller_limits()[2:]
    got = out(isobox, mode, "-u", "nobody", "--ulimit", "nproc=300:400", "busybox", "sh",
              "-c", LIMITS).split()
    assert got == caller_limits()[:2] + ["300", "400"]


def test_runtime_home_from_passwd(rt, bundle, mode):
    # runc: without HOME in process.env, the uid's home in the container's
    # /etc/passwd, else "/"; an explicit one wins.
    for user, env, want in (({"uid": 0, "gid": 0}, [], "/root"),
                            ({"uid": 65534, "gid": 65534}, [], "/home"),
                            ({"uid": 4242, "gid": 0}, [], "/"),
                            ({"uid": 0, "gid": 0}, ["HOME=/z"], "/z")):
        b = bundle(["sh", "-c", "echo $HOME"], user=user, env=["PATH=/bin"] + env)
        os.chmod(os.path.join(b, "rootfs"), 0o755)     # the tar's "." is mktemp's 0700
        r = rt("run", "--bundle", b, cid(f"home{user['uid']}{len(env)}"), timeout=BOOT_WAIT)
        assert (r.returncode, r.stdout) == (0, want + "\n"), r.stderr
