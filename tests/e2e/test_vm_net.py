"""The network namespace contract, in both modes: a bundle whose config.json
names a network namespace (linux.namespaces: network, path) that holds an
eth0 runs with that eth0's address, route and MAC; in hyperv mode through the
VM's virtio-net on a TAP joined to eth0 by tc mirred (docs/hyperv.md).

Every test builds its own network world under `unshare -n -m` (the host's
namespaces are never touched): an outer namespace with loopback and one end
of a veth (10.99.0.1/24), and a namespace bound at a file in the test's
private mount namespace holding the other end as eth0 (10.99.0.2/24, default
route via 10.99.0.1). Traffic goes only between those two."""
import hashlib
import json
import os
import subprocess
import uuid

import pytest

from conftest import REPO, new_root

RUNTIME = os.path.join(REPO, "build", "isobox-runtime")
BOOT_WAIT = 240

# The world: $D is the test's directory, $NS the container's netns file.
WORLD = r"""
set -eu
# The test host's kernel does not load modules on demand: what the world and
# the VM's TAP join need, loaded ahead (built in elsewhere).
for m in veth tun sch_ingress cls_u32 act_mirred; do modprobe $m 2>/dev/null || true; done
ip link set lo up
mkdir -p /run/netns
mount -t tmpfs isobox-test /run/netns
ip netns add ctr
NS=/run/netns/ctr
ip link add veth-out type veth peer name eth0 netns ctr
ip addr add 10.99.0.1/24 dev veth-out
ip link set veth-out up
ip -n ctr link set lo up
ip -n ctr addr add 10.99.0.2/24 dev eth0
ip -n ctr link set eth0 up
ip -n ctr route add default via 10.99.0.1
"""


@pytest.fixture(scope="module")
def isobox_root():
    root = new_root("isobox-vmnet-")
    os.environ["ISOBOX_ROOT"] = root
    yield root
    del os.environ["ISOBOX_ROOT"]
    subprocess.run(["rm", "-rf", root])


def bundle(tmp_path, rootfs_tar, mode, args, netns="/run/netns/ctr", files=None):
    b = tmp_path / "bundle"
    (b / "rootfs").mkdir(parents=True)
    subprocess.run(["tar", "-C", str(b / "rootfs"), "-xf", rootfs_tar], check=True)
    for name, data in (files or {}).items():
        p = b / "rootfs" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    r = subprocess.run([RUNTIME, "spec", "--bundle", str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cfg = json.loads((b / "config.json").read_text())
    cfg["process"].update(terminal=False, args=args)
    cfg["annotations"] = {"io.isobox.isolation": mode}
    ns = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
    cfg["linux"]["namespaces"] = ns + [{"type": "network", "path": netns}]
    (b / "config.json").write_text(json.dumps(cfg))
    return str(b)


def in_world(tmp_path, script, timeout=BOOT_WAIT + 120):
    """Run script after WORLD, in a new network and mount namespace."""
    path = tmp_path / "world.sh"
    path.write_text(WORLD + script)
    env = dict(os.environ, D=str(tmp_path), RT=RUNTIME, ID=f"vmnet-{uuid.uuid4().hex[:8]}")
    return subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "sh", str(path)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def md5(data):
    return hashlib.md5(data).hexdigest()


# The container: a web server, its eth0 as it sees it, then what it fetches
# from the outer end, then it waits to be killed.
APP = r"""
httpd -p 8080 -h /www
echo "MAC $(cat /sys/class/net/eth0/address)"
echo "MTU $(cat /sys/class/net/eth0/mtu)"
echo "ADDR $(ip -4 -o addr show dev eth0 | awk '{print $4}')"
echo "ROUTE $(ip route | grep '^default')"
until wget -q -O /dev/null http://10.99.0.1:8081/ok; do sleep 0.2; done
echo "GOT mtu $(wget -q -O - http://10.99.0.1:8081/mtu.bin | md5sum)"
echo "GOT big $(wget -q -O - http://10.99.0.1:8081/big.bin | md5sum)"
echo "GOT huge $(wget -q -O - http://10.99.0.1:8081/huge.bin | md5sum)"
echo DONE
exec sleep 1000
"""

# Outside: serve the outer files, start the container, reach it, wait for
# its fetches, and show what it printed.
OUTSIDE = r"""
echo "NSMAC $(ip -n ctr -o link show eth0 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')"
busybox httpd -f -p 10.99.0.1:8081 -h "$D/outer" &
httpd=$!
"$RT" --root "$D/rt" run --detach --bundle "$D/bundle" "$ID" >"$D/ctr.out" 2>"$D/ctr.err" </dev/null
up=0
for i in $(seq 1 $((BOOT_WAIT * 2))); do
	if busybox ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; then up=1; break; fi
	sleep 0.5
done
echo "PING $up"
busybox ping -c 3 -W 2 10.99.0.2 | tail -n 2
# 1472 bytes of ICMP data: a 1500-byte IP packet, eth0's whole MTU.
busybox ping -c 2 -s 1472 -W 2 10.99.0.2 >/dev/null && echo "PING-MTU ok"
# The app's web server may start after the kernel answers pings.
for i in $(seq 1 300); do
	busybox wget -q -O /dev/null http://10.99.0.2:8080/mtu.bin && break
	sleep 0.2
done
for f in mtu big huge; do
	echo "FETCH $f $(busybox wget -q -O - http://10.99.0.2:8080/$f.bin | md5sum)"
done
for i in $(seq 1 240); do grep -q DONE "$D/ctr.out" && break; sleep 0.5; done
cat "$D/ctr.out"
echo "--- stderr"
cat "$D/ctr.err"
"$RT" --root "$D/rt" delete --force "$ID" || true
kill "$httpd"
"""


def test_container_in_a_netns_reaches_and_is_reached(tmp_path, rootfs_tar, isobox_root, mode):
    """Ping, HTTP both ways, an MTU-sized frame's worth, 64 KiB (TSO) and
    4 MiB byte-exact, with eth0's address, route and MAC as the netns has
    them."""
    data = {"mtu": os.urandom(1448), "big": os.urandom(65536), "huge": os.urandom(4 << 20)}
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / "ok").write_text("ok\n")
    for k, v in data.items():
        (outer / f"{k}.bin").write_bytes(v)
    www = {f"www/{k}.bin": v[::-1] for k, v in data.items()}
    bundle(tmp_path, rootfs_tar, mode, ["sh", "-c", APP], files=www)
    r = in_world(tmp_path, f"BOOT_WAIT={BOOT_WAIT}\n" + OUTSIDE)
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    assert "PING 1" in out, out + r.stderr
    assert " 0% packet loss" in out, out
    assert "PING-MTU ok" in out, out
    for k, v in data.items():
        assert f"FETCH {k} {md5(v[::-1])}" in out, out
        assert f"GOT {k} {md5(v)}" in out, out
    nsmac = [l.split()[1] for l in out.splitlines() if l.startswith("NSMAC ")][0]
    assert f"MAC {nsmac}" in out, out
    assert "MTU 1500" in out and "ADDR 10.99.0.2/24" in out, out
    assert "ROUTE default via 10.99.0.1" in out, out


@pytest.mark.hyperv_only("a VM's refusal of a netns without an address")
def test_netns_without_ipv4_address_is_refused(tmp_path, rootfs_tar, isobox_root):
    """A hyperv container whose netns's eth0 has no IPv4 address does not
    start, and says why."""
    bundle(tmp_path, rootfs_tar, "hyperv", ["true"])
    r = in_world(tmp_path, r"""
ip -n ctr addr flush dev eth0
"$RT" --root "$D/rt" run --bundle "$D/bundle" "$ID" </dev/null
echo "RC $?"
""", timeout=120)
    assert "RC 0" not in r.stdout, r.stdout + r.stderr
    assert "eth0 has no IPv4 address" in r.stderr, r.stdout + r.stderr
    assert "/run/netns/ctr" in r.stderr, r.stderr


def test_missing_netns_is_refused(tmp_path, rootfs_tar, isobox_root, mode):
    """A netns path that does not exist: a clear error, nothing started."""
    bundle(tmp_path, rootfs_tar, mode, ["true"], netns="/run/netns/nonexistent")
    r = in_world(tmp_path, r"""
"$RT" --root "$D/rt" run --bundle "$D/bundle" "$ID" </dev/null
echo "RC $?"
""", timeout=120)
    assert "RC 0" not in r.stdout, r.stdout + r.stderr
    assert "/run/netns/nonexistent" in r.stderr, r.stdout + r.stderr


def test_network_host_is_refused_in_hyperv_mode(isobox):
    r = isobox("run", "--rm", "--isolation=hyperv", "--network", "host", "busybox", "true")
    assert r.returncode == 125, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "cannot share the host's namespaces" in lines[0], r.stderr


def test_network_container_is_refused_in_hyperv_mode(isobox):
    """The VM's NIC takes over its netns's eth0: it cannot share another's."""
    other = f"vmnet-other-{uuid.uuid4().hex[:8]}"
    isobox("create", "--name", other, "--isolation=process", "--network", "none", "busybox",
           "sleep", "100", check=True)
    r = isobox("run", "--rm", "--isolation=hyperv", "--network", f"container:{other}",
               "busybox", "true")
    isobox("rm", "-f", other)
    assert r.returncode == 125, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "cannot share another container's" in lines[0], r.stderr
