"""The container's PID 1, as docker has it: the app itself, unless --init
(or `init = true` in isobox.conf) puts isobox-init there to forward signals
and reap zombies, as docker's --init puts tini. In a VM the guest's agent
stays the guest's PID 1 and the container gets a PID namespace of its own,
with its own /proc, which `exec` joins. Signals, exit codes and `stop` are
docker's in both modes, with and without --init."""
import json
import os
import time

import pytest

from conftest import wait_for


def run(isobox, mode, script, *flags):
    return isobox("run", "--rm", f"--isolation={mode}", *flags, "busybox", "sh", "-c", script,
                  timeout=180)


def start(isobox, mode, script, *flags):
    """A detached container running script; its id once it runs."""
    r = isobox("run", "-d", f"--isolation={mode}", *flags, "busybox", "sh", "-c", script,
               timeout=180)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert wait_for(lambda: isobox("inspect", "-f", "{{.State.Running}}", cid).stdout.strip()
                    == "true", 120)
    return cid


def ready(isobox, cid, marker):
    """The app wrote marker to its log: its traps are set."""
    return wait_for(lambda: marker in isobox("logs", cid).stdout, 120)


def cmdline(text):
    return text.replace("\0", " ").strip()


def test_app_is_pid_1(isobox, mode):
    # "; true": busybox sh would exec its last command, which then is PID 1.
    r = run(isobox, mode, "echo $$; tr '\\0' ' ' < /proc/1/cmdline; true")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1", r.stdout
    assert lines[1].startswith("sh -c echo $$"), r.stdout


def test_init_is_pid_1_with_flag(isobox, mode):
    r = run(isobox, mode, "echo $$; tr '\\0' ' ' < /proc/1/cmdline", "--init")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] != "1", r.stdout
    assert lines[1].startswith("isobox-init -- sh -c"), r.stdout


def test_ps_lists_only_the_containers_processes(isobox, mode):
    r = run(isobox, mode, "ps -o pid,comm")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    assert rows == [["1", "ps"]], r.stdout
    r = run(isobox, mode, "ps -o pid,comm", "--init")
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == ["1", "2"] and rows[1][1] == "ps", r.stdout


@pytest.mark.parametrize("init", [False, True])
def test_exec_joins_the_pid_namespace(isobox, mode, init):
    cid = start(isobox, mode, "exec sleep 300", *(["--init"] if init else []))
    try:
        r = isobox("exec", cid, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$; "
                   "ps -o pid,comm; true", timeout=120)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].strip() == ("isobox-init -- sh -c exec sleep 300" if init
                                    else "sleep 300"), r.stdout
        assert lines[1] != "1"
        comms = sorted(line.split()[1] for line in lines[3:])
        # The app (and isobox-init), the exec'd sh and its ps: nothing of the guest's.
        assert comms == sorted(["sleep", "sh", "ps"] + (["isobox-init"] if init else [])), r.stdout
    finally:
        isobox("rm", "-f", cid)


@pytest.mark.parametrize("init,code", [(False, 137), (True, 143)])
def test_stop(isobox, mode, init, code):
    # Without --init sh is PID 1 with no handler for TERM: the kernel ignores
    # it, and stop kills after the timeout. isobox-init forwards it to sh.
    cid = start(isobox, mode, "echo up; sleep 100", *(["--init"] if init else []))
    try:
        assert ready(isobox, cid, "up")
        t0 = time.monotonic()
        r = isobox("stop", "-t", "3", cid, timeout=120)
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        assert isobox("wait", cid, timeout=120).stdout.strip() == str(code)
        if init:
            assert took < 3, took
        else:
            assert took >= 3, took
    finally:
        isobox("rm", "-f", cid)


@pytest.mark.parametrize("init", [False, True])
def test_trapped_term_gives_the_apps_code(isobox, mode, init):
    cid = start(isobox, mode, "trap 'exit 3' TERM; echo trapped; while :; do sleep 0.1; done",
                *(["--init"] if init else []))
    try:
        assert ready(isobox, cid, "trapped")
        assert isobox("stop", "-t", "60", cid, timeout=120).returncode == 0
        assert isobox("wait", cid, timeout=120).stdout.strip() == "3"
    finally:
        isobox("rm", "-f", cid)


@pytest.mark.parametrize("init", [False, True])
def test_kill_signal_reaches_the_app(isobox, mode, init):
    cid = start(isobox, mode, "trap 'echo got USR1; exit 4' USR1; echo trapped; "
                "while :; do sleep 0.1; done", *(["--init"] if init else []))
    try:
        assert ready(isobox, cid, "trapped")
        assert isobox("kill", "-s", "USR1", cid).returncode == 0
        assert isobox("wait", cid, timeout=120).stdout.strip() == "4"
        assert "got USR1" in isobox("logs", cid).stdout
    finally:
        isobox("rm", "-f", cid)


@pytest.mark.parametrize("init", [False, True])
def test_exit_codes(isobox, mode, init):
    flags = ["--init"] if init else []
    assert run(isobox, mode, "exit 7", *flags).returncode == 7
    # A signal's death is 128+N; PID 1 itself cannot be killed from inside
    # its namespace, so the app kills a child of its own... and itself,
    # with --init, where it is not PID 1.
    assert run(isobox, mode, "sh -c 'kill -TERM $$'; echo $?", *flags).stdout.strip() == "143"
    if init:
        assert run(isobox, mode, "kill -KILL $$", *flags).returncode == 137
    else:
        r = run(isobox, mode, "kill -KILL $$; echo survived", *flags)
        assert r.returncode == 0 and "survived" in r.stdout, r.stdout


def test_init_reaps_zombies(isobox, mode):
    # The subshell's sleep is orphaned to PID 1: isobox-init reaps it.
    r = run(isobox, mode, "(sleep 0.2 &); sleep 2; ps -o stat,comm", "--init")
    assert r.returncode == 0, r.stderr
    assert not [line for line in r.stdout.splitlines() if line.split()[0].startswith("Z")], r.stdout


def test_app_as_pid_1_inherits_orphans(isobox, mode):
    # Without --init the orphan's parent is the app: a sleep that never
    # waits leaves it a zombie, as docker would.
    cid = start(isobox, mode, "(sleep 0.2 &); exec sleep 300")
    try:
        def zombie():
            out = isobox("exec", cid, "ps", "-o", "pid,ppid,stat,comm", timeout=120).stdout
            return [line for line in out.splitlines()[1:] if line.split()[2].startswith("Z")]
        assert wait_for(lambda: zombie(), 60)
        assert zombie()[0].split()[1] == "1"
    finally:
        isobox("rm", "-f", cid)


@pytest.mark.parametrize("init", [False, True])
def test_tty_is_the_apps_controlling_terminal(isobox, mode, init):
    r = isobox("run", "--rm", "-t", f"--isolation={mode}", *(["--init"] if init else []),
               "busybox", "sh", "-c", "echo $$; echo hi > /dev/tty && echo ctty", timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert (lines[0] == "1") != init, lines
    assert "ctty" in lines, lines


def test_init_from_the_config(isobox, mode, tmp_path):
    conf = tmp_path / "isobox.conf"
    conf.write_text(f"default_isolation = {mode}\nchassis_type_file = /nonexistent\n"
                    "init = true\n")
    r = isobox("--config", str(conf), "run", "--rm", "busybox", "sh", "-c",
               "echo $$; tr '\\0' ' ' < /proc/1/cmdline", timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] != "1"
    assert "isobox-init" in r.stdout
    # --init=false wins over the config, as over dockerd's --init.
    r = isobox("--config", str(conf), "run", "--rm", "--init=false", "busybox", "sh", "-c",
               "echo $$", timeout=180)
    assert r.stdout.strip() == "1", r.stdout + r.stderr
    info = json.loads(isobox("--config", str(conf), "info", "--format", "json").stdout)
    assert info["Init"] is True
    conf.write_text("init = maybe\n")
    r = isobox("--config", str(conf), "run", "--rm", "busybox", "true")
    assert r.returncode == 125 and "init" in r.stderr


def test_inspect_shows_init(isobox, mode):
    ids = []
    try:
        for flags, want in (([], False), (["--init"], True), (["--init=false"], False)):
            r = isobox("create", f"--isolation={mode}", *flags, "busybox", "true")
            assert r.returncode == 0, r.stderr
            ids.append(r.stdout.strip())
            hc = json.loads(isobox("inspect", ids[-1]).stdout)[0]["HostConfig"]
            assert hc["Init"] is want, (flags, hc)
        assert isobox("create", "--init=yes", "busybox", "true").returncode == 125
    finally:
        for cid in ids:
            isobox("rm", "-f", cid)
