"""An exec whose client stops reading stalls only its own process: never
another exec, nor the container's main process (in a VM: never the VMM's
loop nor a vCPU). Its client gone, the process loses its reader."""
import subprocess
import time

import pytest

from conftest import wait_for

TICKER = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"


def ticks(isobox, cid):
    return isobox.out("logs", cid).count("tick")


def processes(isobox, cid):
    return isobox.out("exec", cid, "ps", timeout=30)


@pytest.fixture
def ticking(isobox, mode):
    cid = isobox.out("run", "-d", f"--isolation={mode}", "busybox", "sh", "-c", TICKER).strip()
    yield cid
    isobox("rm", "-f", cid)


def test_stalled_exec_reader_stalls_only_its_process(isobox, ticking):
    cid = ticking
    # The client's stdout is a pipe nobody reads: yes fills it, then every
    # buffer between it and its process.
    stalled = subprocess.Popen(isobox.cmd("exec", cid, "yes", "stalled-line"),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: "yes stalled-line" in processes(isobox, cid), 30)
        time.sleep(2)
        assert stalled.poll() is None
        # Another exec gets through at once, and is not mixed with the other's output.
        start = time.monotonic()
        r = isobox("exec", cid, "echo", "ok", timeout=30)
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
        assert time.monotonic() - start < 20
        # The main process still runs and its output still flows.
        before = ticks(isobox, cid)
        assert wait_for(lambda: ticks(isobox, cid) > before + 2, 20)
        # The stalled process is blocked on its pipe, not gone.
        assert "yes stalled-line" in processes(isobox, cid)
    finally:
        stalled.kill()
        stalled.wait()
        stalled.stdout.close()
    # Its reader gone, the process dies of it (SIGPIPE), as a pipeline's would.
    assert wait_for(lambda: "yes stalled-line" not in processes(isobox, cid), 30)
    assert isobox.out("exec", cid, "echo", "after", timeout=30) == "after\n"
    assert isobox.out("inspect", "-f", "{{.State.Running}}", cid).strip() == "true"
