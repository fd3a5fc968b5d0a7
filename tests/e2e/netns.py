"""Network namespaces a test makes for itself (issue 14's rule: a test that
builds networks does so only in namespaces of its own, and its traffic goes
only to addresses inside them)."""
import os
import signal
import subprocess


class NetNS:
    """A network namespace held by `unshare -n sleep`; commands run in it
    through nsenter (the mount namespace stays the host's, so isobox's netns
    bind mounts under its root are seen by every later command)."""

    def __init__(self):
        self.proc = subprocess.Popen(["unshare", "-n", "sleep", "infinity"])
        self.path = f"/proc/{self.proc.pid}/ns/net"
        for _ in range(200):
            if os.path.exists(self.path) and \
                    os.readlink(self.path) != os.readlink("/proc/self/ns/net"):
                break
            subprocess.run(["sleep", "0.01"])
        self.run("ip", "link", "set", "lo", "up", check=True)

    def cmd(self, *args):
        return ["nsenter", f"--net={self.path}", *args]

    def run(self, *args, check=False, timeout=120, env=None, input=None):
        r = subprocess.run(self.cmd(*args), capture_output=True, text=True, timeout=timeout,
                           env=env, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({r.returncode}): "
                                 f"{r.stdout}{r.stderr}")
        return r

    def popen(self, *args, **kw):
        return subprocess.Popen(self.cmd(*args), **kw)

    def links(self):
        out = self.run("ip", "-o", "link", "show", check=True).stdout
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]

    def close(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Outside(NetNS):
    """'The outside': a namespace joined to `inner` by a veth (10.99.0.1 on
    the inner side, 10.99.0.2 here), with a web server of the test's own on
    10.99.0.2:8000 and no route back to any container subnet, so only a
    masqueraded connection can be answered."""

    def __init__(self, inner, workdir):
        super().__init__()
        inner.run("ip", "link", "add", "vout", "type", "veth", "peer", "name", "vin",
                  "netns", self.path, check=True)
        inner.run("ip", "addr", "add", "10.99.0.1/24", "dev", "vout", check=True)
        inner.run("ip", "link", "set", "vout", "up", check=True)
        self.run("ip", "addr", "add", "10.99.0.2/24", "dev", "vin", check=True)
        self.run("ip", "link", "set", "vin", "up", check=True)
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "hello"), "w") as f:
            f.write("hello from outside\n")
        self.server = self.popen("python3", "-m", "http.server", "--bind", "10.99.0.2",
                                 "--directory", workdir, "8000", stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        for _ in range(300):
            if self.run("python3", "-c", "import socket; socket.create_connection("
                        "('10.99.0.2', 8000), 1)").returncode == 0:
                break
            subprocess.run(["sleep", "0.05"])

    def close(self):
        self.server.kill()
        self.server.wait()
        super().close()
