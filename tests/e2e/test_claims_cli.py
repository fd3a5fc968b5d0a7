"""README claims about the container commands, end to end in both modes: the stop
signal (--stop-signal, the image's STOPSIGNAL, stop's 10 s default), no_new_privs
and --security-opt no-new-privileges=false, --ipc/--uts host (process only),
terminal resize of `exec -it`, and `events`."""
import json
import os
import socket
import time

import pexpect
import pytest

from conftest import BINARY, wait_for

# Reports each signal it gets; exits 3 on USR1, USR2 or INT, and ignores TERM.
TRAPS = ('trap "echo got-TERM" TERM; '
         'for s in USR1 USR2 INT; do trap "echo got-$s; exit 3" $s; done; '
         'echo ready; while true; do sleep 0.1; done')

HOST_NS_REFUSED = ("isobox: a hyperv container runs in its own VM and cannot share the host's "
                   "namespaces (--network, --pid, --ipc or --uts host): drop them, or run it "
                   "with --isolation=process\n")


def inspect(ib, cid, template):
    return ib.out("inspect", "-f", template, cid).strip()


def test_stop_signal_flag_and_image_stopsignal(isobox, rootfs_tar, mode):
    isobox("import", "-c", "STOPSIGNAL SIGUSR1", rootfs_tar, "claims-stopsig", check=True)
    flag = isobox.out("run", "-d", f"--isolation={mode}", "--stop-signal", "SIGUSR2",
                      "claims-stopsig", "sh", "-c", TRAPS).strip()
    image = isobox.out("run", "-d", f"--isolation={mode}", "claims-stopsig",
                       "sh", "-c", TRAPS).strip()
    for cid in (flag, image):
        assert wait_for(lambda: "ready" in isobox.out("logs", cid)), isobox.out("logs", cid)
    assert inspect(isobox, flag, "{{.Config.StopSignal}}") == "SIGUSR2"
    assert inspect(isobox, image, "{{.Config.StopSignal}}") == "SIGUSR1"
    t0 = time.time()
    assert isobox.out("stop", flag, image, timeout=120) == f"{flag}\n{image}\n"
    assert time.time() - t0 < 10     # the app exited on the signal: no SIGKILL wait
    # --stop-signal wins over the image's; without it, the image's STOPSIGNAL.
    assert isobox.out("logs", flag) == "ready\ngot-USR2\n"
    assert isobox.out("logs", image) == "ready\ngot-USR1\n"
    for cid in (flag, image):
        assert inspect(isobox, cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 3"
        isobox("rm", cid, check=True)
    isobox("rmi", "claims-stopsig", check=True)


def test_stop_default_is_term_then_kill_after_10s(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c", TRAPS).strip()
    assert wait_for(lambda: "ready" in isobox.out("logs", cid))
    t0 = time.time()
    assert isobox.out("stop", cid, timeout=120) == cid + "\n"
    took = time.time() - t0
    assert 10 <= took < 25, took
    assert inspect(isobox, cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 137"
    # The default stop signal is SIGTERM: the app saw it (and ignored it).
    assert wait_for(lambda: "got-TERM" in isobox.out("logs", cid), 5)
    assert "got-USR" not in isobox.out("logs", cid)
    isobox("rm", cid, check=True)


def test_no_new_privileges_false_lifts_it(isobox, mode):
    # no_new_privs is off by default, as docker's (test_parity_env.py); =false keeps it off.
    r = isobox("run", "--rm", f"--isolation={mode}", "--security-opt",
               "no-new-privileges=false", "busybox", "grep", "NoNewPrivs", "/proc/self/status",
               timeout=180)
    assert (r.returncode, r.stdout) == (0, "NoNewPrivs:\t0\n"), r.stderr
    if mode == "process":
        for opt in ("no-new-privileges", "no-new-privileges=true", "no-new-privileges:true"):
            r = isobox("run", "--rm", "--security-opt", opt, "busybox", "grep", "NoNewPrivs",
                       "/proc/self/status")
            assert (r.returncode, r.stdout) == (0, "NoNewPrivs:\t1\n"), (opt, r.stderr)


@pytest.mark.process_only("a VM has its own kernel: it cannot share the host's IPC or UTS "
                          "namespace")
def test_ipc_and_uts_host(isobox):
    host = [os.readlink("/proc/self/ns/ipc"), os.readlink("/proc/self/ns/uts"),
            socket.gethostname()]
    script = "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname"
    r = isobox("run", "--rm", "--isolation=process", "--ipc", "host", "--uts", "host",
               "busybox", "sh", "-c", script)
    assert (r.returncode, r.stdout.split()) == (0, host), r.stderr
    r = isobox("run", "--rm", "--isolation=process", "--ipc", "host", "busybox", "sh", "-c",
               script)
    ipc, uts, name = r.stdout.split()
    assert ipc == host[0] and uts != host[1] and name != host[2]
    r = isobox("run", "--rm", "--isolation=process", "--uts", "host", "busybox", "sh", "-c",
               script)
    ipc, uts, name = r.stdout.split()
    assert ipc != host[0] and uts == host[1] and name == host[2]


def test_hyperv_refuses_ipc_uts_pid_host_in_one_line(isobox):
    before = isobox.out("ps", "-aq")
    for flag in ("--ipc", "--uts", "--pid"):
        for cmd in ("run", "create"):
            r = isobox(cmd, "--isolation=hyperv", flag, "host", "busybox", "true")
            assert (r.returncode, r.stdout, r.stderr) == (125, "", HOST_NS_REFUSED), (cmd, flag)
    assert isobox.out("ps", "-aq") == before


def test_exec_it_follows_terminal_resize(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "300",
                     timeout=180).strip()
    try:
        p = pexpect.spawn(BINARY, ["--root", isobox.root, "exec", "-it", cid, "sh"],
                          timeout=60, encoding="utf-8", dimensions=(40, 100))
        p.expect("# ")
        p.sendline("stty size")
        p.expect(r"\n40 100\r")
        for rows, cols in ((25, 70), (50, 132)):
            p.setwinsize(rows, cols)
            time.sleep(0.3)
            p.sendline("stty size")
            p.expect(rf"\n{rows} {cols}\r")
        # The resize reached the session's own pty: a program started now sees it too.
        p.sendline("sh -c 'stty size'")
        p.expect(r"\n50 132\r")
        p.sendline("exit 4")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 4
    finally:
        isobox("rm", "-f", cid)


def test_events_create_with_isolation_decision_and_start(isobox, mode):
    name = f"claims-events-{mode}"
    r = isobox("run", "--name", name, f"--isolation={mode}", "busybox", "true", timeout=180)
    assert r.returncode == 0, r.stderr
    cid = inspect(isobox, name, "{{.Id}}")
    lines = isobox.out("events", "--filter", f"container={name}", "--format", "json").splitlines()
    events = [json.loads(line) for line in lines]
    # die is the monitor's, written before `run` is told the exit
    assert [(e["Type"], e["Action"], e["status"], e["id"]) for e in events] == \
        [("container", "create", "create", cid), ("container", "start", "start", cid),
         ("container", "die", "die", cid)]
    create, start, die = events
    attrs = create["Actor"]["Attributes"]
    assert create["Actor"]["ID"] == cid and create["from"] == "busybox"
    assert attrs["image"] == "busybox" and attrs["name"] == name
    assert attrs["isolation"] == mode and attrs["isolation.requested"] == mode
    assert attrs["isolation.reason"]
    decision = json.loads(isobox.out("inspect", "-f", "{{json .IsolationDecision}}", name))
    assert attrs["isolation.reason"] == decision["Reason"]
    assert ("kernel" in attrs) == (mode == "hyperv")
    assert start["Actor"]["Attributes"] == {"image": "busybox", "name": name}
    assert die["Actor"]["Attributes"] == {"image": "busybox", "name": name, "exitCode": "0"}
    assert create["timeNano"] <= start["timeNano"] and create["scope"] == "local"
    assert create["time"] == create["timeNano"] // 10**9
    # The text form, docker's: TIME container ACTION ID (k=v, ...); by id as by name.
    text = isobox.out("events", "--filter", f"container={cid}").splitlines()
    assert len(text) == 3
    assert text[0].split()[1:4] == ["container", "create", cid]
    assert f"isolation={mode}" in text[0] and f"name={name}" in text[0]
    assert text[1].split()[1:4] == ["container", "start", cid]
    # Every container's events without a filter; an unknown container is an error.
    assert set(lines) <= set(isobox.out("events", "--format", "json").splitlines())
    r = isobox("events", "--filter", "container=claims-no-such")
    assert r.returncode != 0 and r.stdout == "" and "claims-no-such" in r.stderr
    isobox("rm", name, check=True)
