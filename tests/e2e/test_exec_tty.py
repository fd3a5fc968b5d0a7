"""exec, and terminals through a real pty (pexpect)."""
import time

import pexpect
import pytest

from conftest import BINARY


@pytest.fixture
def running(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "300").strip()
    yield cid
    isobox("rm", "-f", cid)


def test_exec_output_and_exit_code(isobox, running):
    r = isobox("exec", running, "sh", "-c", "echo out; echo err >&2; exit 4")
    assert (r.returncode, r.stdout, r.stderr) == (4, "out\n", "err\n")


def test_exec_sees_the_container(isobox, running):
    out = isobox.out("exec", running, "ps")
    assert "sleep 300" in out
    assert isobox.out("exec", running, "hostname").strip() == running[:12]


def test_exec_env_workdir_user(isobox, running):
    r = isobox.out("exec", "-e", "X=42", "-w", "/tmp", "-u", "nobody", running,
                   "sh", "-c", 'echo "$X $(pwd) $(id -u)"')
    assert r == "42 /tmp 65534\n"


def test_exec_stdin(isobox, running):
    assert isobox.out("exec", "-i", running, "cat", input="piped\n") == "piped\n"


def test_exec_stdin_and_stdout_both_large(isobox, running):
    # Both directions full at once: neither may wait on the other.
    data = "".join(f"{i:07d}\n" for i in range(125000))      # 1 MB
    r = isobox("exec", "-i", running, "cat", input=data, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_exec_detach(isobox, running):
    r = isobox("exec", "-d", running, "sh", "-c", "echo bg > /tmp/bg", check=True)
    assert r.stdout == ""
    # -d returns before the process has run: wait for its work, a VM is slower.
    for _ in range(50):
        if isobox("exec", running, "cat", "/tmp/bg").stdout == "bg\n":
            break
        time.sleep(0.2)
    assert isobox.out("exec", running, "cat", "/tmp/bg") == "bg\n"


def test_exec_not_found_is_127(isobox, running):
    r = isobox("exec", running, "no-such-cmd")
    assert r.returncode == 127 and "executable file not found" in r.stderr


def test_exec_in_stopped_container_fails(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "true").strip()
    r = isobox("exec", cid, "true")
    assert r.returncode == 125 and "not running" in r.stderr
    isobox("rm", cid)


def spawn(isobox, *args):
    return pexpect.spawn(BINARY, ["--root", isobox.root, *args], timeout=60,
                         encoding="utf-8", dimensions=(40, 100))


def test_run_it_shell(isobox, mode):
    p = spawn(isobox, "run", "-it", "--rm", f"--isolation={mode}", "busybox", "sh")
    p.expect("# ")
    p.sendline("tty; echo $TERM")
    p.expect("/dev/pts/0")
    p.expect("xterm")
    p.sendline("stty size")
    p.expect("40 100")
    p.setwinsize(30, 90)
    # The resize reaches the container's pty asynchronously (through a VM's
    # agent, slowly under TCG): ask until it has, the old size meanwhile.
    deadline = time.monotonic() + 60
    p.sendline("stty size")
    while p.expect(["30 90", "40 100"]) == 1:
        assert time.monotonic() < deadline, "the resize never reached the container"
        p.sendline("stty size")
    p.sendline("exit 5")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 5


def test_run_it_ctrl_c_reaches_the_app(isobox, mode):
    p = spawn(isobox, "run", "-it", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
              'trap "echo caught-int; exit 9" INT; echo ready; while true; do sleep 0.1; done')
    p.expect("ready")
    p.sendintr()
    p.expect("caught-int")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 9


def test_exec_it(isobox, running):
    p = spawn(isobox, "exec", "-it", running, "sh")
    p.expect("# ")
    p.sendline("tty")
    p.expect("/dev/pts/")
    p.sendline("exit 3")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 3


def test_start_ai(isobox, mode):
    cid = isobox.out("create", "-it", f"--isolation={mode}", "busybox", "sh").strip()
    p = spawn(isobox, "start", "-ai", cid)
    p.expect("# ")
    p.sendline("echo again-$((40+2))")
    p.expect("again-42")
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    isobox("rm", cid)
