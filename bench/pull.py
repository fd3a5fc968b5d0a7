#!/usr/bin/python3
"""Pull speed (bench/pull.sh runs this inside `unshare -n -m`): the pull-bench
image of tests/e2e/oci_images.py (6 layers, ~155 MB of gzip blobs) served by
Debian's docker-registry on 127.0.0.1, pulled by `isobox pull`, `skopeo copy
docker://... oci:DIR`, `podman pull` and `docker pull` (Debian's dockerd on a
private socket and data root, --bridge=none --iptables=false), each into a
clean store every run, the tools taking turns. Every store, the registry's
included, is on one tmpfs. Prints each tool's median wall time, isobox over
the fastest other, and isobox's peak RSS (GNU time %M, the largest of its
runs). A tool that fails gets an error line in its place; the others still
run."""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import oci_images as oi            # noqa: E402
from registry import Registry      # noqa: E402

ISOBOX = os.path.join(REPO, "build", "isobox")
DOCKERD = "/usr/sbin/dockerd"
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TARGET_RATIO, TARGET_RSS_MIB = 1.0, 32


def sh(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def first_error(r):
    """The first line of what a failed run said."""
    lines = [l for l in (r.stderr or r.stdout or "").strip().splitlines() if l.strip()]
    return lines[0][:300] if lines else f"exit {r.returncode}"


class Dockerd:
    def __init__(self, d):
        self.dir = d
        self.sock = f"{d}/docker.sock"
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=f"{d}/cli")
        os.makedirs(f"{d}/data")
        self.log = open(f"{d}/dockerd.log", "w")
        self.proc = subprocess.Popen(
            [DOCKERD, "--data-root", f"{d}/data", "--exec-root", f"{d}/exec", "-H",
             f"unix://{self.sock}", "--pidfile", f"{d}/pid", "--bridge=none", "--iptables=false",
             "--ip6tables=false"], stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 120
        while self.docker("version").returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dockerd did not start: " +
                                   open(f"{d}/dockerd.log").read()[-500:])
            time.sleep(0.5)

    def docker(self, *args):
        return subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def main():
    if os.environ.get("ISOBOX_BENCH_INSIDE") != "1":
        sys.exit("bench/pull.py: run bench/pull.sh (it runs this in its own namespaces)")
    layout = oi.pullbench()
    manifest, _ = oi.layout_manifest(layout)
    size = oi.layout_size(layout)
    work = tempfile.mkdtemp(prefix="isobox-bench-pull-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0711", "tmpfs", work], check=True)
    reg = dockerd = None
    try:
        reg = Registry(f"{work}/registry", "plain").start()
        ref = oi.push(layout, reg, "pullbench")
        conf = f"{work}/isobox.conf"
        with open(conf, "w") as f:
            f.write("default_isolation = process\nchassis_type_file = /nonexistent\n")
        try:
            dockerd = Dockerd(f"{work}/dockerd")
        except RuntimeError as e:
            dockerd = str(e)

        rss = []

        def isobox(n):
            root = f"{work}/isobox-{n}"
            r = sh("/usr/bin/time", "-f", "%M", "-o", f"{work}/rss", ISOBOX, "--root", root,
                   "--config", conf, "pull", "-q", ref)
            if r.returncode == 0:
                rss.append(int(open(f"{work}/rss").read().split()[-1]))
            return r, lambda: shutil.rmtree(root, ignore_errors=True)

        def skopeo(n):
            out = f"{work}/skopeo-{n}"
            return (sh("skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}",
                       f"oci:{out}:latest"), lambda: shutil.rmtree(out, ignore_errors=True))

        def podman(n):
            base = ["podman", "--root", f"{work}/podman-{n}", "--runroot",
                    f"{work}/podman-run-{n}", "--storage-driver", "overlay",
                    "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

            def clean():
                sh(*base, "rmi", "-a", "-f")
                shutil.rmtree(f"{work}/podman-{n}", ignore_errors=True)
                shutil.rmtree(f"{work}/podman-run-{n}", ignore_errors=True)
            return sh(*base, "pull", "-q", "--tls-verify=false", ref), clean

        def docker(n):
            if isinstance(dockerd, str):
                return subprocess.CompletedProcess([], 1, "", dockerd), lambda: None
            return (dockerd.docker("pull", "-q", ref),
                    lambda: dockerd.docker("rmi", "-f", ref))

        tools = {"isobox pull": isobox, "skopeo copy": skopeo, "podman pull": podman,
                 "docker pull": docker}
        times = {t: [] for t in tools}
        errors = {}
        for n in range(RUNS):
            for name, run in tools.items():
                if name in errors:
                    continue
                t0 = time.perf_counter()
                r, clean = run(n)
                dt = time.perf_counter() - t0
                clean()
                if r.returncode != 0:
                    errors[name] = first_error(r)
                else:
                    times[name].append(dt)
        print(f"pull of a {len(manifest['layers'])}-layer image, {size / 1e6:.1f} MB, from "
              f"docker-registry on loopback (tmpfs stores), median of {RUNS} runs:")
        medians = {}
        for name in tools:
            if name in errors:
                print(f"  {name:12s}  error: {errors[name]}")
            else:
                medians[name] = statistics.median(times[name])
                print(f"  {name:12s}  {medians[name]:6.2f} s  "
                      f"({size / 1e6 / medians[name]:.0f} MB/s)")
        peers = {k: v for k, v in medians.items() if k != "isobox pull"}
        if "isobox pull" in medians and peers:
            fastest = min(peers, key=peers.get)
            ratio = medians["isobox pull"] / peers[fastest]
            print(f"isobox / fastest other ({fastest}): {ratio:.2f}x (target <= {TARGET_RATIO})")
            # skopeo's oci: copy stores the blobs and unpacks nothing; isobox,
            # podman and docker also unpack every layer.
            unpack = {k: v for k, v in peers.items() if k != "skopeo copy"}
            if unpack:
                f2 = min(unpack, key=unpack.get)
                print(f"isobox / fastest that unpacks too ({f2}): "
                      f"{medians['isobox pull'] / unpack[f2]:.2f}x")
        else:
            print("isobox / fastest other: n/a")
        if rss:
            print(f"isobox peak RSS: {max(rss) / 1024:.1f} MiB (target <= {TARGET_RSS_MIB} MiB)")
        else:
            print("isobox peak RSS: n/a")
    finally:
        if isinstance(dockerd, Dockerd):
            dockerd.stop()
        if reg:
            reg.close()
        subprocess.run(["umount", "-l", work])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
