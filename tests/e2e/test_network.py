"""Networks (issue 14), in both modes: the store (network
create/ls/inspect/rm/prune), a container on the default bridge or a user
network (netns, veth, lease, route, masquerade), --internal, --network none,
and that nothing outlives a container. Every test that starts a container on
a network does it inside a network namespace of its own (netns.NetNS), and
its traffic goes only to that namespace and to an "outside" one it builds."""
import json
import os
import signal
import uuid

import pytest

from conftest import wait_for
from netns import NetNS, Outside


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class NetIsobox:
    """isobox run inside ns, without the harness's ISOBOX_DEFAULT_NETWORK=none:
    a container that names no network gets the bridge, as docker's."""

    def __init__(self, isobox, ns):
        self.ib, self.ns = isobox, ns
        self.env = {k: v for k, v in os.environ.items() if k != "ISOBOX_DEFAULT_NETWORK"}

    def __call__(self, *args, timeout=120, check=False):
        r = self.ns.run(*self.ib.cmd(*args), timeout=timeout, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"isobox {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def out(self, *args, **kw):
        return self(*args, check=True, **kw).stdout

    def inspect(self, ref):
        return json.loads(self.out("inspect", ref))[0]


@pytest.fixture
def ns():
    n = NetNS()
    yield n
    n.close()


@pytest.fixture
def net(isobox, ns):
    ib = NetIsobox(isobox, ns)
    made = []
    ib.made = made
    yield ib
    for c in ib("ps", "-aq").stdout.split():
        ib("rm", "-f", c)
    for n in made:
        ib("network", "rm", n)


def leases(isobox, cid):
    d = os.path.join(isobox.root, "networks")
    hits = []
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.endswith(".leases"):
            hits += [line for line in open(os.path.join(d, f)) if cid in line]
    return hits


def open_leases(isobox):
    d = os.path.join(isobox.root, "networks")
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.endswith(".leases"):
            for line in open(os.path.join(d, f)):
                cid = line.split()[1]
                if os.path.exists(os.path.join(isobox.root, "netns", cid)):
                    yield line


def container_rules(ns, cid):
    return ns.run("nft", "list", "ruleset").stdout.count(f"isobox-ctr-{cid[:12]}")


# --- the store ---------------------------------------------------------------

def test_network_create_ls_inspect_rm(isobox):
    name = uniq("net")
    nid = isobox.out("network", "create", "--subnet", "10.201.0.0/24", "--label", "k=v",
                     name).strip()
    assert len(nid) == 64
    ls = isobox.out("network", "ls").splitlines()
    assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    rows = {line.split()[1]: line.split() for line in ls[1:]}
    assert rows[name] == [nid[:12], name, "bridge", "local"]
    assert rows["bridge"][2:] == ["bridge", "local"]
    assert rows["host"][2:] == ["host", "local"] and rows["none"][2:] == ["null", "local"]
    assert nid[:12] in isobox.out("network", "ls", "-q").split()
    assert f"{name} bridge" in isobox.out("network", "ls", "--format", "{{.Name}} {{.Driver}}")
    [obj] = json.loads(isobox.out("network", "inspect", name))
    assert obj["Id"] == nid and obj["Name"] == name and obj["Driver"] == "bridge"
    assert obj["Scope"] == "local" and obj["Internal"] is False
    assert obj["IPAM"]["Config"] == [{"Subnet": "10.201.0.0/24", "Gateway": "10.201.0.1"}]
    assert obj["Labels"] == {"k": "v"} and obj["Containers"] == {}
    assert list(obj) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM",
                         "Internal", "Attachable", "Ingress", "ConfigFrom", "ConfigOnly",
                         "Containers", "Options", "Labels"]
    assert json.loads(isobox.out("network", "inspect", nid[:10]))[0]["Name"] == name
    assert isobox.out("network", "rm", name) == f"{name}\n"
    r = isobox("network", "inspect", name)
    assert r.returncode == 1 and f"Error: No such network: {name}" in r.stderr


def test_network_create_picks_docker_subnets_and_refuses_conflicts(fresh):
    a, b = uniq("a"), uniq("b")
    fresh.out("network", "create", a)
    fresh.out("network", "create", b)
    subnets = [json.loads(fresh.out("network", "inspect", n))[0]["IPAM"]["Config"][0]
               for n in (a, b)]
    assert subnets == [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"},
                       {"Subnet": "172.19.0.0/16", "Gateway": "172.19.0.1"}]
    r = fresh("network", "create", a)
    assert r.returncode == 1
    assert f"Error response from daemon: network with name {a} already exists" in r.stderr
    r = fresh("network", "create", "--subnet", "172.18.5.0/24", uniq("c"))
    assert r.returncode == 1
    assert "Pool overlaps with other one on this address space" in r.stderr and a in r.stderr
    r = fresh("network", "create", "--subnet", "172.17.0.0/24", uniq("c"))
    assert r.returncode == 1 and "network bridge" in r.stderr
    r = fresh("network", "create", "--subnet", "10.9.0.0/24", "--gateway", "10.8.0.1",
              uniq("c"))
    assert r.returncode == 1 and "no matching subnet for gateway 10.8.0.1" in r.stderr
    for bad in ('a"b', "x; flush ruleset", "waytoolongbridgename", ""):
        r = fresh("network", "create", "-o", f"com.docker.network.bridge.name={bad}",
                  uniq("c"))
        assert r.returncode == 1 and "invalid bridge name" in r.stderr, bad
    r = fresh("network", "create", "-d", "overlay", uniq("c"))
    assert r.returncode == 1 and 'plugin "overlay" not found' in r.stderr
    for n in ("bridge", "host", "none"):
        r = fresh("network", "rm", n)
        assert r.returncode == 1
        assert f"{n} is a pre-defined network and cannot be removed" in r.stderr


def test_network_rm_refused_while_a_container_names_it_and_prune(fresh, rootfs_tar):
    fresh.out("import", rootfs_tar, "busybox")
    used, idle = uniq("used"), uniq("idle")
    nid = fresh.out("network", "create", used).strip()
    fresh.out("network", "create", idle)
    cid = fresh.out("create", "--network", used, "busybox", "true").strip()
    assert json.loads(fresh.out("inspect", cid))[0]["HostConfig"]["NetworkMode"] == used
    r = fresh("network", "rm", used)
    assert r.returncode == 1
    assert (f"Error response from daemon: error while removing network: network {used} id "
            f"{nid} has active endpoints") in r.stderr
    out = fresh.out("network", "prune", "-f")
    assert out == f"Deleted Networks:\n{idle}\n"
    assert fresh("network", "prune", "-f").stdout == ""
    r = fresh("network", "prune", input="n\n")
    assert "Are you sure you want to continue? [y/N]" in r.stdout
    fresh.out("rm", cid)
    assert fresh.out("network", "rm", used) == f"{used}\n"


def test_create_on_a_missing_network_is_refused(isobox):
    r = isobox("create", "--network", uniq("nope"), "busybox", "true")
    assert r.returncode == 125 and "network nope-" in r.stderr and "not found" in r.stderr
    r = isobox("create", "--ip", "172.17.0.9", "--network", "bridge", "busybox", "true")
    assert r.returncode == 125
    assert "user specified IP address is supported on user defined networks only" in r.stderr


# --- containers on networks ---------------------------------------------------

def test_default_bridge_gives_eth0_an_address_and_a_route(net, ns, mode):
    out = net.out("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
                  "ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address")
    assert "inet 172.17.0." in out and "/16" in out
    assert "default via 172.17.0.1 dev eth0" in out
    assert "02:42:ac:11:00:" in out
    # the gateway answers from inside
    assert net("run", "--rm", f"--isolation={mode}", "busybox", "ping", "-c", "1", "-W", "3",
               "172.17.0.1").returncode == 0


def test_network_none_has_loopback_only(net, mode):
    out = net.out("run", "--rm", "--network", "none", f"--isolation={mode}", "busybox",
                  "cat", "/proc/net/dev")
    ifaces = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert ifaces == ["lo"]


def test_two_containers_on_a_user_network_reach_each_other(net, ns, mode):
    name = uniq("pair")
    net.out("network", "create", "--subnet", "10.202.0.0/24", name)
    net.made.append(name)
    a = net.out("run", "-d", "--network", name, "--ip", "10.202.0.50",
                f"--isolation={mode}", "busybox", "sleep", "120").strip()
    info = net.inspect(a)
    ep = info["NetworkSettings"]["Networks"][name]
    assert ep["IPAddress"] == "10.202.0.50" and ep["IPPrefixLen"] == 24
    assert ep["Gateway"] == "10.202.0.1" and ep["MacAddress"] == "02:42:0a:ca:00:32"
    assert info["NetworkSettings"]["SandboxKey"].endswith(f"/netns/{a}")
    [nobj] = json.loads(net.out("network", "inspect", name))
    assert nobj["Containers"][a]["IPv4Address"] == "10.202.0.50/24"
    r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox", "ping",
            "-c", "1", "-W", "3", "10.202.0.50")
    assert r.returncode == 0, r.stdout + r.stderr
    # the address is taken while a runs
    r = net("run", "--rm", "--network", name, "--ip", "10.202.0.50", f"--isolation={mode}",
            "busybox", "true")
    assert r.returncode == 125 and "Address already in use" in r.stderr
    net.out("stop", "-t", "1", a)
    ep = net.inspect(a)["NetworkSettings"]["Networks"][name]
    assert ep["IPAddress"] == "" and ep["EndpointID"] == ""
    assert wait_for(lambda: f"veth{a[:10]}" not in ns.links(), 5)
    # network rm takes its bridge and rules with it
    nid = nobj["Id"]
    assert f"br-{nid[:12]}" in ns.links()
    net.out("rm", a)
    net.out("network", "rm", name)
    net.made.remove(name)
    assert f"br-{nid[:12]}" not in ns.links()
    assert f"isobox-net-{nid[:12]}" not in ns.run("nft", "list", "ruleset").stdout


def test_outbound_traffic_is_masqueraded_and_internal_has_no_way_out(net, ns, mode,
                                                                     tmp_path):
    out = Outside(ns, str(tmp_path / "www"))
    try:
        # (this busybox's wget crashes with -q or -T: timeout and -O - instead,
        # under sh: a PID 1 wget would ignore timeout's SIGTERM)
        r = net("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
                "timeout 30 wget -O - http://10.99.0.2:8000/hello")
        assert r.returncode == 0 and r.stdout == "hello from outside\n", r.stderr
        name = uniq("internal")
        net.out("network", "create", "--internal", "--subnet", "10.203.0.0/24", name)
        net.made.append(name)
        r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox", "sh",
                "-c", "ip route; timeout 3 wget -O - http://10.99.0.2:8000/hello")
        assert r.returncode != 0 and "hello" not in r.stdout
        assert "default" not in r.stdout
        # and the gateway of its own network still answers
        assert net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox",
                   "ping", "-c", "1", "-W", "20", "10.203.0.1").returncode == 0
    finally:
        out.close()


def test_rm_leaves_nothing(net, ns, isobox, mode):
    cid = net.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "120").strip()
    assert f"veth{cid[:10]}" in ns.links() and leases(isobox, cid)
    assert os.path.exists(os.path.join(isobox.root, "netns", cid))
    net.out("rm", "-f", cid)
    assert f"veth{cid[:10]}" not in ns.links()
    assert not leases(isobox, cid)
    assert not os.path.exists(os.path.join(isobox.root, "netns", cid))
    # --rm: gone when run returns
    r = net("run", "--rm", f"--isolation={mode}", "busybox", "cat", "/sys/class/net/eth0/ifindex")
    assert r.returncode == 0
    # the veth's deletion (the kernel's ~20 ms) finishes just after the exit's report
    assert wait_for(lambda: [l for l in ns.links() if l.startswith("veth")] == [], 5)
    assert wait_for(lambda: os.listdir(os.path.join(isobox.root, "netns")) == [], 5)
    assert not [line for line in open_leases(isobox)]


def test_kill_9_of_the_monitor_is_cleaned_up_by_the_next_command(net, ns, isobox, mode):
    cid = net.out("run", "-d", f"--isolation={mode}", "busybox", "sleep", "120").strip()
    with open(os.path.join(isobox.root, "containers", cid, "state.json")) as f:
        st = json.load(f)
    os.kill(st["monitor_pid"], signal.SIGKILL)
    os.kill(st["pid"], signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists(f"/proc/{st['monitor_pid']}"), 10)
    assert f"veth{cid[:10]}" in ns.links()          # what the monitor left
    net.out("ps", "-a")
    assert f"veth{cid[:10]}" not in ns.links()
    assert not leases(isobox, cid) and container_rules(ns, cid) == 0
    assert not os.path.exists(os.path.join(isobox.root, "netns", cid))
    assert net.inspect(cid)["NetworkSettings"]["IPAddress"] == ""


def test_start_again_after_kill_9_of_the_monitor(net, ns, isobox, mode):
    """No command between: the start itself finds what the killed monitor left."""
    cid = net.out("run", "-d", "-p", "8086:80", f"--isolation={mode}", "busybox", "sleep",
                  "120").strip()
    with open(os.path.join(isobox.root, "containers", cid, "state.json")) as f:
        st = json.load(f)
    os.kill(st["monitor_pid"], signal.SIGKILL)
    os.kill(st["pid"], signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists(f"/proc/{st['monitor_pid']}"), 10)
    net.out("start", cid)
    s = net.inspect(cid)["NetworkSettings"]
    assert s["IPAddress"].startswith("172.17.") and s["Ports"]["80/tcp"][0]["HostPort"] == "8086"
    assert [l for l in ns.links() if l.startswith("veth")] == [f"veth{cid[:10]}"]
    assert len(leases(isobox, cid)) == 1


# --- published ports -----------------------------------------------------------

def fetch(ns, url):
    """GET url from inside ns (the host side of the test's own namespace)."""
    return ns.run("python3", "-c", "import sys, urllib.request; sys.stdout.write("
                  f"urllib.request.urlopen('{url}', timeout=5).read().decode())", timeout=30)


def start_web(net, mode, *args):
    cid = net.out("run", "-d", f"--isolation={mode}", *args, "busybox", "sh", "-c",
                  "echo hello-from-web > /tmp/index.html && exec httpd -f -p 80 -h /tmp").strip()
    return cid


def test_published_port_answers_from_loopback_the_bridge_and_hairpin(net, ns, mode):
    cid = start_web(net, mode, "-p", "8080:80", "-p", "127.0.0.1::81")
    ports = net.inspect(cid)["NetworkSettings"]["Ports"]
    assert ports["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "8080"}]
    assert ports["81/tcp"][0]["HostIp"] == "127.0.0.1"
    eph = ports["81/tcp"][0]["HostPort"]
    assert int(eph) >= 49153
    assert net.out("port", cid) == f"80/tcp -> 0.0.0.0:8080\n81/tcp -> 127.0.0.1:{eph}\n"
    assert net.out("port", cid, "80") == "0.0.0.0:8080\n"
    r = net("port", cid, "82/udp")
    assert r.returncode == 1 and "No public port '82/udp' published" in r.stderr
    assert wait_for(lambda: fetch(ns, "http://127.0.0.1:8080/").returncode == 0, 10)
    assert fetch(ns, "http://127.0.0.1:8080/").stdout == "hello-from-web\n"
    assert fetch(ns, "http://172.17.0.1:8080/").stdout == "hello-from-web\n"
    # the container itself (hairpin), and another container, through the gateway address
    # 30 s: room for TCP's SYN retransmits (1, 3, 7, 15 s) in a VM under
    # TCG beside another test host, where 5 s failed now and then
    r = net("exec", cid, "timeout", "30", "wget", "-O", "-", "http://172.17.0.1:8080/")
    assert r.stdout == "hello-from-web\n", r.stderr
    other = net("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
                "timeout 30 wget -O - http://172.17.0.1:8080/")
    assert other.stdout == "hello-from-web\n", other.stderr
    net.out("rm", "-f", cid)
    assert container_rules(ns, cid) == 0
    assert fetch(ns, "http://127.0.0.1:8080/").returncode != 0


def test_a_taken_host_port_is_refused_before_the_container_starts(net, ns, isobox, mode):
    first = start_web(net, mode, "-p", "8081:80")
    r = net("run", "-d", "--name", uniq("second"), "-p", "8081:80", f"--isolation={mode}",
            "busybox", "sleep", "60")
    assert r.returncode == 125
    assert "Bind for 0.0.0.0:8081 failed: port is already allocated" in r.stderr
    assert first[:12] in r.stderr
    # a socket of the host's own
    holder = ns.popen("python3", "-c", "import socket, time; s = socket.socket(); "
                      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                      "s.bind(('0.0.0.0', 8082)); s.listen(); print('up', flush=True); "
                      "time.sleep(60)", stdout=__import__("subprocess").PIPE, text=True)
    try:
        assert holder.stdout.readline() == "up\n"
        r = net("run", "--rm", "-p", "8082:80", f"--isolation={mode}", "busybox", "true")
        assert r.returncode == 125 and "0.0.0.0:8082: bind: address already in use" in r.stderr
    finally:
        holder.kill()
        holder.wait()
    # nothing of the refused ones is left: only the first container's veth
    assert [l for l in ns.links() if l.startswith("veth")] == [f"veth{first[:10]}"]
    assert os.listdir(os.path.join(isobox.root, "netns")) == [first]
    for bad, words in (("abc", "invalid containerPort: abc"),
                       ("8080-8081:80", "invalid ranges specified"),
                       ("80/sctpx", "invalid proto: sctpx"),
                       ("1.2.3:80:80", "invalid IP address: 1.2.3")):
        r = net("run", "--rm", "-p", bad, f"--isolation={mode}", "busybox", "true")
        assert r.returncode == 125 and words in r.stderr, (bad, r.stderr)


def test_publish_all_and_ranges(net, ns, isobox, rootfs_tar, mode):
    img = uniq("exposing")
    isobox.out("import", "--change", "EXPOSE 80", "--change", "EXPOSE 90/udp", rootfs_tar, img)
    cid = net.out("run", "-d", "-P", "-p", "7000-7001:5000-5001", f"--isolation={mode}", img,
                  "sleep", "60").strip()
    ports = net.inspect(cid)["NetworkSettings"]["Ports"]
    assert ports["5000/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "7000"}]
    assert ports["5001/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "7001"}]
    assert int(ports["80/tcp"][0]["HostPort"]) >= 49153
    assert int(ports["90/udp"][0]["HostPort"]) >= 49153
    assert net.inspect(cid)["HostConfig"]["PublishAllPorts"] is True
    net.out("rm", "-f", cid)
    isobox("rmi", img)


# --- inspect's NetworkSettings, key for key with dockerd 20.10's --------------

# dockerd 20.10.24's, seen in a namespace of its own (docs/networking.md)
DOCKER_SETTINGS_KEYS = ["Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address",
                        "LinkLocalIPv6PrefixLen", "Ports", "SandboxKey",
                        "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
                        "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress",
                        "IPPrefixLen", "IPv6Gateway", "MacAddress", "Networks"]
DOCKER_ENDPOINT_KEYS = ["IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway",
                        "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address",
                        "GlobalIPv6PrefixLen", "MacAddress", "DriverOpts"]


def test_inspect_network_settings_as_docker(net, ns, mode):
    cid = net.out("run", "-d", "-p", "8090:80", f"--isolation={mode}", "busybox", "sleep",
                  "60").strip()
    info = net.inspect(cid)
    s = info["NetworkSettings"]
    assert list(s) == DOCKER_SETTINGS_KEYS
    ep = s["Networks"]["bridge"]
    assert list(ep) == DOCKER_ENDPOINT_KEYS
    [bridge] = json.loads(net.out("network", "inspect", "bridge"))
    assert ep["NetworkID"] == bridge["Id"] and ep["EndpointID"] == s["EndpointID"] != ""
    assert s["IPAddress"] == ep["IPAddress"] and s["Gateway"] == "172.17.0.1"
    assert s["IPPrefixLen"] == 16 and s["MacAddress"] == ep["MacAddress"]
    assert ep["IPAMConfig"] is None and ep["Aliases"] is None
    assert s["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8090"}]}
    assert info["HostConfig"]["NetworkMode"] == "bridge"
    assert info["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8090"}]}
    assert info["Config"]["ExposedPorts"] == {"80/tcp": {}}
    # docker's /etc/hosts: the container's own address and hostname
    hosts = net.out("exec", cid, "cat", "/etc/hosts")
    assert hosts.splitlines()[-1] == f"{s['IPAddress']}\t{cid[:12]}"
    net.out("stop", "-t", "1", cid)
    s = net.inspect(cid)["NetworkSettings"]
    assert list(s) == DOCKER_SETTINGS_KEYS
    # as docker at stop: addresses and ports gone, the sandbox named still
    assert s["IPAddress"] == s["Gateway"] == s["EndpointID"] == s["MacAddress"] == ""
    assert s["Ports"] == {} and s["SandboxID"] == cid
    ep = s["Networks"]["bridge"]
    assert ep["NetworkID"] == bridge["Id"] and ep["IPAddress"] == ep["EndpointID"] == ""


def test_user_network_endpoint_mac_and_joining_another_container(net, ns, mode):
    name = uniq("un")
    net.out("network", "create", "--subnet", "10.204.0.0/24", name)
    net.made.append(name)
    cid = net.out("run", "-d", "--network", name, "--mac-address", "92:d0:c6:0a:29:33",
                  f"--isolation={mode}", "busybox", "sleep", "60").strip()
    s = net.inspect(cid)["NetworkSettings"]
    ep = s["Networks"][name]
    assert ep["Aliases"] == [cid[:12]] and ep["MacAddress"] == "92:d0:c6:0a:29:33"
    assert ep["IPAddress"] == "10.204.0.2"
    # the top-level copies are the default bridge's only, as docker's
    assert s["IPAddress"] == "" and s["Gateway"] == ""
    assert net.out("exec", cid, "cat", "/sys/class/net/eth0/address") == "92:d0:c6:0a:29:33\n"
    r = net("run", "--rm", "--network", f"container:{cid}", f"--isolation={mode}",
            "busybox", "cat", "/sys/class/net/eth0/address")
    if mode == "hyperv":
        # the VM's NIC takes its netns's eth0: a second VM cannot share it
        assert r.returncode == 125 and "cannot share another container's" in r.stderr
    else:
        assert r.returncode == 0 and r.stdout == "92:d0:c6:0a:29:33\n", r.stderr
    # the MAC asked survives a restart
    net.out("restart", "-t", "1", cid)
    assert net.inspect(cid)["NetworkSettings"]["Networks"][name]["MacAddress"] == \
        "92:d0:c6:0a:29:33"


def test_two_networks_are_kept_apart(net, ns, mode):
    a, b = uniq("apart-a"), uniq("apart-b")
    net.out("network", "create", "--subnet", "10.205.0.0/24", a)
    net.made.append(a)
    net.out("network", "create", "--subnet", "10.206.0.0/24", b)
    net.made.append(b)
    cid = net.out("run", "-d", "--network", a, f"--isolation={mode}", "busybox", "sleep",
                  "60").strip()
    ip = net.inspect(cid)["NetworkSettings"]["Networks"][a]["IPAddress"]
    same = net("run", "--rm", "--network", a, f"--isolation={mode}", "busybox", "ping", "-c",
               "1", "-W", "2", ip)
    assert same.returncode == 0, same.stdout + same.stderr
    for other in (b, "bridge"):
        r = net("run", "--rm", "--network", other, f"--isolation={mode}", "busybox", "ping",
                "-c", "1", "-W", "2", ip)
        assert r.returncode != 0, (other, r.stdout)


def test_names_resolve_on_a_user_network_not_on_the_default_bridge(net, ns, mode):
    if not os.access("/usr/lib/podman/aardvark-dns", os.X_OK):
        pytest.fail("aardvark-dns missing: scripts/install-deps.sh installs it")
    name, web = uniq("names"), uniq("web")
    net.out("network", "create", "--subnet", "10.207.0.0/24", name)
    net.made.append(name)
    cid = net.out("run", "-d", "--name", web, "--network", name, f"--isolation={mode}",
                  "busybox", "sleep", "60").strip()
    ip = net.inspect(cid)["NetworkSettings"]["Networks"][name]["IPAddress"]
    for target in (web, cid[:12]):
        r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox",
                "nslookup", target)
        assert r.returncode == 0 and f"Address: {ip}" in r.stdout, (target, r.stdout, r.stderr)
    r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox", "ping", "-c",
            "1", "-W", "3", web)
    assert r.returncode == 0, r.stdout + r.stderr
    resolv = net.out("run", "--rm", "--network", name, f"--isolation={mode}", "busybox", "cat",
                     "/etc/resolv.conf")
    assert resolv.startswith("nameserver 10.207.0.1\n")
    # the default bridge has no names, as docker's
    r = net("run", "--rm", f"--isolation={mode}", "busybox", "sh", "-c",
            f"timeout 5 nslookup {web}")
    assert f"Address: {ip}" not in r.stdout
    # the entry goes with the container, the daemon with the last entry
    net.out("rm", "-f", cid)
    r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox", "sh", "-c",
            f"timeout 5 nslookup {web}")
    assert f"Address: {ip}" not in r.stdout
    daemons = lambda: [line for line in ns.run("ps", "-eo", "args").stdout.splitlines()
                       if "aardvark-dns" in line and net.ib.root in line]
    assert wait_for(lambda: not daemons(), 10), daemons()


def test_aliases_dns_flags_and_extra_hosts(net, ns, mode):
    name = uniq("alias")
    net.out("network", "create", "--subnet", "10.208.0.0/24", name)
    net.made.append(name)
    cid = net.out("run", "-d", "--network", name, "--network-alias", "db",
                  "--network-alias", "primary", f"--isolation={mode}", "busybox", "sleep",
                  "60").strip()
    ep = net.inspect(cid)["NetworkSettings"]["Networks"][name]
    assert ep["Aliases"] == ["db", "primary", cid[:12]]
    for alias in ("db", "primary"):
        r = net("run", "--rm", "--network", name, f"--isolation={mode}", "busybox",
                "nslookup", alias)
        assert f"Address: {ep['IPAddress']}" in r.stdout, (alias, r.stdout, r.stderr)
    r = net("run", "--rm", "--network-alias", "x", f"--isolation={mode}", "busybox", "true")
    assert r.returncode == 125
    assert "network-scoped alias is supported only for containers in user defined networks" \
        in r.stderr
    out = net.out("run", "--rm", "--dns", "10.1.2.3", "--dns-search", "example.test",
                  "--dns-option", "ndots:2", "--add-host", "gw.test:10.9.9.9",
                  f"--isolation={mode}", "busybox", "sh", "-c",
                  "cat /etc/resolv.conf; echo ---; cat /etc/hosts")
    resolv, hosts = out.split("---\n")
    assert "nameserver 10.1.2.3\n" in resolv and "search example.test\n" in resolv
    assert "options ndots:2\n" in resolv
    assert [l for l in resolv.splitlines() if l.startswith("nameserver")] == \
        ["nameserver 10.1.2.3"]
    assert "10.9.9.9\tgw.test\n" in hosts
    r = net("run", "--rm", "--add-host", "bad:notanip", f"--isolation={mode}", "busybox", "true")
    assert r.returncode == 125 and "invalid IP address in add-host" in r.stderr
    cid2 = net.out("create", "--dns", "10.1.2.3", "--add-host", "a:10.0.0.1", "busybox",
                   "true").strip()
    hc = net.inspect(cid2)["HostConfig"]
    assert hc["Dns"] == ["10.1.2.3"] and hc["ExtraHosts"] == ["a:10.0.0.1"]
    assert hc["DnsSearch"] == [] and hc["DnsOptions"] == []


def test_published_port_answers_another_namespace_routed_to_the_host(net, ns, mode, tmp_path):
    out = Outside(ns, str(tmp_path / "www"))
    try:
        cid = start_web(net, mode, "-p", "8085:80")
        assert wait_for(lambda: fetch(out, "http://10.99.0.1:8085/").returncode == 0, 10)
        assert fetch(out, "http://10.99.0.1:8085/").stdout == "hello-from-web\n"
        net.out("rm", "-f", cid)
        assert fetch(out, "http://10.99.0.1:8085/").returncode != 0
    finally:
        out.close()


def test_network_mtu_option(net, ns, mode):
    """-o com.docker.network.driver.mtu=N: the bridge, the veth and the
    container's eth0 take it, as docker's; a value no link takes is refused."""
    name = uniq("mtu")
    r = net("network", "create", "-o", "com.docker.network.driver.mtu=70000", name)
    assert r.returncode != 0 and "invalid MTU" in r.stderr, r.stderr
    net.out("network", "create", "--subnet", "10.203.0.0/24", "-o",
            "com.docker.network.driver.mtu=9000", name)
    net.made.append(name)
    out = net.out("run", "--rm", "--network", name, f"--isolation={mode}", "busybox",
                  "cat", "/sys/class/net/eth0/mtu")
    assert out.strip() == "9000"
    bridge = "br-" + json.loads(net.out("network", "inspect", name))[0]["Id"][:12]
    assert " mtu 9000 " in ns.run("ip", "-o", "link", "show", bridge, check=True).stdout


# --- both modes on one network (issue 14's "done when") -----------------------

@pytest.mark.needs_kvm
def test_a_process_and_a_hyperv_container_call_each_other_by_name(net, ns):
    name = uniq("mixed")
    net.out("network", "create", "--subnet", "10.204.0.0/24", name)
    net.made.append(name)
    web = "echo hello-from-{} > /tmp/index.html && exec httpd -f -p 80 -h /tmp"
    names = {m: uniq(f"web-{m}") for m in ("process", "hyperv")}
    ports = {"process": "8092", "hyperv": "8093"}
    ids = {m: net.out("run", "-d", "--network", name, "--name", names[m], "-p",
                      f"{ports[m]}:80", f"--isolation={m}", "busybox", "sh", "-c",
                      web.format(m)).strip() for m in ("process", "hyperv")}
    assert net.inspect(ids["hyperv"])["HostConfig"]["Isolation"] == "hyperv"
    # -p from the host's loopback, to each
    for m in ("process", "hyperv"):
        url = f"http://127.0.0.1:{ports[m]}/"
        assert wait_for(lambda: fetch(ns, url).returncode == 0, 30), m
        assert fetch(ns, url).stdout == f"hello-from-{m}\n"
    # each calls the other by name, and through the other's published port
    for client, server in (("process", "hyperv"), ("hyperv", "process")):
        for url in (f"http://{names[server]}/", f"http://10.204.0.1:{ports[server]}/"):
            r = net("exec", ids[client], "sh", "-c", f"timeout 10 wget -O - {url}")
            assert r.stdout == f"hello-from-{server}\n", f"{client} -> {url}: {r.stderr}"
    net.out("rm", "-f", ids["process"], ids["hyperv"])
    assert not [link for link in ns.links() if link.startswith("veth")]
    assert all(container_rules(ns, c) == 0 for c in ids.values())
