"""create/start/stop/kill/restart/rm/ps/logs/inspect/wait: docker's lifecycle."""
import datetime
import json
import os
import re
import signal
import subprocess
import time

import pytest

LOOP = 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done'


def state(isobox, ref, field="Status"):
    return isobox.out("inspect", "-f", "{{.State.%s}}" % field, ref).strip()


def wait_for(pred, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_create_then_start(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "echo", "made").strip()
    assert len(cid) == 64
    assert state(isobox, cid) == "created"
    assert isobox.out("start", "-a", cid) == "made\n"
    assert state(isobox, cid) == "exited"
    isobox("rm", cid, check=True)


def test_run_d_prints_id_and_runs(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "30").strip()
    assert len(cid) == 64
    assert state(isobox, cid) == "running"
    assert cid[:12] in isobox.out("ps")
    assert int(state(isobox, cid, "Pid")) > 0
    isobox("rm", "-f", cid, check=True)
    assert cid[:12] not in isobox.out("ps", "-a")


def ready(isobox, cid, word="ready"):
    """The app is up (a VM boots first): its handlers are installed."""
    assert wait_for(lambda: word in isobox.out("logs", cid))


def test_stop_sends_term_then_records_exit(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c", LOOP).strip()
    ready(isobox, cid)
    assert isobox.out("stop", cid) == cid + "\n"
    assert state(isobox, cid) == "exited"
    assert state(isobox, cid, "ExitCode") == "7"
    assert "got-term" in isobox.out("logs", cid)
    isobox("rm", cid, check=True)


def finished_at(isobox, cid):
    """State.FinishedAt (RFC 3339, UTC, nanoseconds) in seconds since the epoch."""
    stamp = state(isobox, cid, "FinishedAt")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp), stamp
    return datetime.datetime.fromisoformat(stamp[:26] + "+00:00").timestamp()


def test_stop_kills_after_timeout_when_term_is_ignored(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                     'trap "" TERM; echo ready; while true; do sleep 0.1; done').strip()
    ready(isobox, cid)
    t0 = time.time()
    # The CLI's return also waits for the VM to go (slow under TCG): the
    # app's end, as the monitor records it, is what the timeout bounds.
    isobox("stop", "-t", "1", cid, check=True, timeout=120)
    took = finished_at(isobox, cid) - t0
    assert 1 <= took < 4, took
    assert state(isobox, cid, "ExitCode") == "137"
    isobox("rm", cid, check=True)


def test_kill_with_signal(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                     'trap "echo usr1; exit 3" USR1; echo ready; while true; do sleep 0.1; done').strip()
    ready(isobox, cid)
    isobox("kill", "-s", "USR1", cid, check=True)
    assert isobox.out("wait", cid) == "3\n"
    assert "usr1" in isobox.out("logs", cid)
    isobox("rm", cid, check=True)


def test_kill_default_is_sigkill(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "60").strip()
    isobox("kill", cid, check=True)
    assert isobox.out("wait", cid) == "137\n"
    isobox("rm", cid, check=True)


def test_kill_of_stopped_container_fails(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "true").strip()
    r = isobox("kill", cid)
    assert r.returncode != 0 and "not running" in r.stderr
    isobox("rm", cid, check=True)


def test_kill_bad_signal(isobox):
    r = isobox("kill", "-s", "NOPE", "whatever")
    assert r.returncode == 125 and "invalid signal" in r.stderr


def test_restart(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                     "echo started; " + LOOP).strip()
    ready(isobox, cid)
    pid1 = state(isobox, cid, "Pid")
    isobox("restart", "-t", "2", cid, check=True)
    assert state(isobox, cid) == "running"
    assert state(isobox, cid, "Pid") != pid1
    assert wait_for(lambda: isobox.out("logs", cid).count("started") == 2)
    isobox("rm", "-f", cid, check=True)


def test_rm_running_needs_force(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "60").strip()
    r = isobox("rm", cid)
    assert r.returncode != 0 and "running" in r.stderr
    isobox("rm", "-f", cid, check=True)
    assert isobox("inspect", cid).returncode != 0


def test_names(isobox, mode):
    isobox("run", "-d", "--name", "named1", f"--isolation={mode}", "busybox", "sleep", "60", check=True)
    r = isobox("run", "-d", "--name", "named1", "busybox", "true")
    assert r.returncode == 125 and "already in use" in r.stderr
    assert state(isobox, "named1") == "running"
    isobox("rm", "-f", "named1", check=True)
    # The name is free again.
    isobox("create", "--name", "named1", "busybox", "true", check=True)
    isobox("rm", "named1", check=True)


def test_invalid_name(isobox):
    r = isobox("create", "--name", "../evil", "busybox", "true")
    assert r.returncode == 125 and "invalid container name" in r.stderr


def test_generated_name_and_id_prefix(isobox, mode):
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "true").strip()
    name = isobox.out("inspect", "-f", "{{.Name}}", cid).strip()
    assert name.startswith("/") and "_" in name
    assert isobox.out("inspect", "-f", "{{.Id}}", cid[:8]).strip() == cid
    assert isobox.out("inspect", "-f", "{{.Id}}", name[1:]).strip() == cid
    isobox("rm", cid, check=True)


def test_no_such_container(isobox):
    gone = "Error response from daemon: No such container: no-such-container\n"
    for cmd in ("start", "stop", "kill", "rm", "wait"):
        r = isobox(cmd, "no-such-container")
        assert (r.returncode, r.stdout, r.stderr) == (1, "", gone), cmd
    # logs says it in isobox's own words, with a usage error's 125 (docker: 1
    # and the daemon's line, as above).
    r = isobox("logs", "no-such-container")
    assert (r.returncode, r.stdout, r.stderr) == (125, "", "isobox: No such container: "
                                                            "no-such-container\n")
    r = isobox("inspect", "no-such-container")
    assert (r.returncode, r.stdout, r.stderr) == (1, "[]\n", "Error: No such object: "
                                                               "no-such-container\n")


def test_ps_formats(isobox, mode):
    cid = isobox.out("run", "-d", "--name", "psfmt", f"--isolation={mode}", "busybox", "sleep", "60").strip()
    table = isobox.out("ps")
    assert table.splitlines()[0].split()[:2] == ["CONTAINER", "ID"]
    assert "psfmt" in table and "Up " in table
    assert cid[:12] in isobox.out("ps", "-q").split()
    assert cid in isobox.out("ps", "-q", "--no-trunc").split()
    rows = [json.loads(l) for l in isobox.out("ps", "--format", "json").splitlines()]
    row = [r for r in rows if r["Names"] == "psfmt"][0]
    assert row["State"] == "running" and row["Image"] == "busybox"
    assert isobox.out("ps", "--format", "{{.Names}} {{.State}}").count("psfmt running") == 1
    isobox("kill", cid, check=True)
    isobox("wait", cid, check=True)
    assert cid[:12] not in isobox.out("ps", "-q")
    assert "Exited (137)" in isobox.out("ps", "-a")
    isobox("rm", cid, check=True)


def test_logs_json_file_format_and_flags(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                     "echo one; echo two >&2; echo three").strip()
    isobox("wait", cid, check=True)
    r = isobox("logs", cid)
    assert r.stdout == "one\nthree\n" and r.stderr == "two\n"
    tail = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                      "echo a; echo b; echo c").strip()
    isobox("wait", tail, check=True)
    assert isobox.out("logs", "--tail", "2", tail) == "b\nc\n"
    isobox("rm", tail, check=True)
    ts = isobox.out("logs", "-t", cid).splitlines()[0]
    assert ts.endswith(" one") and "T" in ts.split()[0] and ts.split()[0].endswith("Z")
    path = isobox.out("inspect", "-f", "{{.LogPath}}", cid).strip()
    records = [json.loads(l) for l in open(path)]
    assert records[0]["log"] == "one\n" and records[0]["stream"] == "stdout"
    assert {r["stream"] for r in records} == {"stdout", "stderr"}
    assert all(r["time"].endswith("Z") for r in records)
    isobox("rm", cid, check=True)


def test_logs_follow_ends_when_container_exits(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c",
                     "for i in 1 2 3; do echo line$i; sleep 0.2; done").strip()
    # A VM first boots (seconds under the test host's TCG): -f waits for the exit.
    r = isobox("logs", "-f", cid, timeout=120)
    assert r.stdout == "line1\nline2\nline3\n"
    isobox("rm", cid, check=True)


def test_wait_prints_exit_code(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c", "sleep 0.3; exit 9").strip()
    assert isobox.out("wait", cid) == "9\n"
    isobox("rm", cid, check=True)


def test_inspect_shape(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "60").strip()
    [obj] = json.loads(isobox.out("inspect", cid))
    assert obj["Id"] == cid
    assert obj["State"]["Running"] is True and obj["State"]["Status"] == "running"
    assert obj["Path"] == "sleep" and obj["Args"] == ["60"]
    assert obj["HostConfig"]["Isolation"] == mode
    assert obj["Image"].startswith("sha256:")
    isobox("rm", "-f", cid, check=True)


def test_rm_auto_with_detach(isobox, mode):
    cid = isobox.out("run", "-d", "--rm", f"--isolation={mode}", "busybox", "sleep", "0.2").strip()
    assert wait_for(lambda: isobox("inspect", cid).returncode != 0)


def test_monitor_outlives_the_cli_and_a_kill_9_leaves_state_right(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "60").strip()
    [obj] = json.loads(isobox.out("inspect", cid))
    pid = obj["State"]["Pid"]
    # The monitor is the container's parent; kill -9 it.
    ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    os.kill(ppid, signal.SIGKILL)
    assert wait_for(lambda: state(isobox, cid) == "exited")
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"))
    assert "Exited" in isobox.out("ps", "-a")
    isobox("rm", cid, check=True)


def test_state_after_reboot_shows_exited(isobox, mode):
    # After a reboot no monitor holds its lock: a "running" record is stale.
    cid = isobox.out("create", f"--isolation={mode}", "busybox", "true").strip()
    d = os.path.join(isobox.root, "containers", cid)
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump({"status": "running", "pid": 999999, "monitor_pid": 999998, "exit_code": 0,
                   "oom_killed": False, "started_at": "2026-01-01T00:00:00.000000000Z",
                   "finished_at": "", "error": ""}, f)
    assert state(isobox, cid) == "exited"
    assert isobox("rm", cid).returncode == 0
