"""network connect / disconnect (issue 14): a container on more than one
network (eth0, eth1, ... in the order connected, an address, a name and the
isolation of each), at once on a running container, for the next start on a
stopped one, and docker 20.10's errors. Every container on a network runs
inside a network namespace of the test's own (netns.NetNS)."""
import json

import pytest

from conftest import wait_for

from test_network import NetIsobox, leases, net, ns, uniq  # noqa: F401 (fixtures)

ERR = "Error response from daemon: "
MULTI = "more than one network in hyperv mode is refused until the VM has a NIC per network"


def two_networks(net, a_subnet, b_subnet):
    a, b = uniq("conn-a"), uniq("conn-b")
    net.out("network", "create", "--subnet", a_subnet, a)
    net.made.append(a)
    net.out("network", "create", "--subnet", b_subnet, b)
    net.made.append(b)
    return a, b


def addrs(net, cid):
    """{ifname: address} inside the container."""
    out = net.out("exec", cid, "ip", "-o", "-4", "addr")
    return {f.split()[1]: f.split()[3].split("/")[0] for f in out.splitlines()
            if f.split()[1] != "lo"}


@pytest.mark.process_only(MULTI)
def test_connect_a_running_container_reaches_the_other_network_by_name(net, ns, isobox, mode):
    a, b = two_networks(net, "10.210.0.0/24", "10.211.0.0/24")
    web = uniq("web")
    wid = net.out("run", "-d", "--name", web, "--network", b, f"--isolation={mode}",
                  "busybox", "sleep", "120").strip()
    wip = net.inspect(wid)["NetworkSettings"]["Networks"][b]["IPAddress"]
    cli = net.out("run", "-d", "--name", uniq("cli"), "--network", a, f"--isolation={mode}",
                  "busybox", "sleep", "120").strip()
    # the networks are kept apart until cli joins b
    r = net("exec", cli, "ping", "-c", "1", "-W", "2", wip)
    assert r.returncode != 0, r.stdout
    net.out("network", "connect", "--alias", "client", b, cli)
    nets = net.inspect(cli)["NetworkSettings"]["Networks"]
    assert list(nets) == [a, b]
    ep = nets[b]
    assert ep["IPAddress"].startswith("10.211.0.") and ep["IPPrefixLen"] == 24
    assert ep["Aliases"] == ["client", cli[:12]] and ep["EndpointID"]
    assert addrs(net, cli) == {"eth0": nets[a]["IPAddress"], "eth1": ep["IPAddress"]}
    # docker's /etc/hosts: the hostname on each network's address
    host_lines = lambda: [l for l in net.out("exec", cli, "cat", "/etc/hosts").splitlines()
                          if l.endswith("\t" + cli[:12])]
    assert host_lines() == [f"{nets[a]['IPAddress']}\t{cli[:12]}", f"{ep['IPAddress']}\t{cli[:12]}"]
    # the default route stays eth0's
    assert "default via 10.210.0.1 dev eth0" in net.out("exec", cli, "ip", "route")
    [nobj] = json.loads(net.out("network", "inspect", b))
    assert nobj["Containers"][cli]["IPv4Address"] == ep["IPAddress"] + "/24"
    # by name, both ways
    r = net("exec", cli, "ping", "-c", "1", "-W", "3", web)
    assert r.returncode == 0, r.stdout + r.stderr
    r = net("exec", wid, "nslookup", "client")
    assert r.returncode == 0 and f"Address: {ep['IPAddress']}" in r.stdout, r.stdout + r.stderr
    # docker's errors on a running container
    r = net("network", "connect", b, cli)
    name = net.inspect(cli)["Name"].lstrip("/")
    assert r.returncode == 1
    assert r.stderr.strip() == f"{ERR}endpoint with name {name} already exists in network {b}"
    # disconnect: eth1, the lease and the name go
    net.out("network", "disconnect", b, cli)
    assert list(net.inspect(cli)["NetworkSettings"]["Networks"]) == [a]
    assert list(addrs(net, cli)) == ["eth0"]
    assert host_lines() == [f"{nets[a]['IPAddress']}\t{cli[:12]}"]
    assert f"v{cli[:10]}.1" not in ns.links()
    assert [line for line in leases(isobox, cli) if line.startswith("10.211.")] == []
    r = net("exec", cli, "ping", "-c", "1", "-W", "2", wip)
    assert r.returncode != 0, r.stdout
    r = net("exec", wid, "sh", "-c", "timeout 5 nslookup client")
    assert f"Address: {ep['IPAddress']}" not in r.stdout
    r = net("network", "disconnect", b, cli)
    assert r.returncode == 1
    assert r.stderr.strip() == f"{ERR}container {cli} is not connected to network {b}"
    # connected again, then stopped: every interface goes with the container
    net.out("network", "connect", b, cli)
    assert sorted(addrs(net, cli)) == ["eth0", "eth1"]
    net.out("stop", "-t", "1", cli)
    # (the monitor's exit releases them in a detached child)
    assert wait_for(lambda: not [link for link in ns.links() if cli[:10] in link], 5)
    assert wait_for(lambda: leases(isobox, cli) == [], 5), leases(isobox, cli)


@pytest.mark.process_only(MULTI)
def test_a_stopped_container_connected_then_started_has_both(net, ns, mode):
    a, b = two_networks(net, "10.212.0.0/24", "10.213.0.0/24")
    cid = net.out("create", "--network", a, f"--isolation={mode}", "busybox", "sleep",
                  "120").strip()
    net.out("network", "connect", "--ip", "10.213.0.77", "--alias", "foo", b, cid)
    # a second connect of a stopped container changes nothing, as docker's
    net.out("network", "connect", b, cid)
    nets = net.inspect(cid)["NetworkSettings"]["Networks"]
    assert list(nets) == [a, b]
    assert nets[b]["IPAMConfig"] == {"IPv4Address": "10.213.0.77"}
    assert nets[b]["Aliases"] == ["foo", cid[:12]] and nets[b]["IPAddress"] == ""
    net.out("start", cid)
    nets = net.inspect(cid)["NetworkSettings"]["Networks"]
    assert nets[b]["IPAddress"] == "10.213.0.77" and nets[a]["IPAddress"].startswith("10.212.")
    assert addrs(net, cid) == {"eth0": nets[a]["IPAddress"], "eth1": "10.213.0.77"}
    r = net("run", "--rm", "--network", b, f"--isolation={mode}", "busybox", "nslookup", "foo")
    assert r.returncode == 0 and "Address: 10.213.0.77" in r.stdout, r.stdout + r.stderr
    r = net("run", "--rm", "--network", a, f"--isolation={mode}", "busybox", "ping", "-c", "1",
            "-W", "2", "10.213.0.77")
    assert r.returncode != 0, r.stdout
    # disconnected while stopped: the next start has a only
    net.out("stop", "-t", "1", cid)
    net.out("network", "disconnect", a, cid)
    net.out("start", cid)
    nets = net.inspect(cid)["NetworkSettings"]["Networks"]
    assert list(nets) == [b]
    assert addrs(net, cid) == {"eth0": "10.213.0.77"}
    assert "default via 10.213.0.1 dev eth0" in net.out("exec", cid, "ip", "route")


def test_connect_and_disconnect_errors_as_docker(net, mode):
    a, b = two_networks(net, "10.214.0.0/24", "10.215.0.0/24")
    iso = f"--isolation={mode}"
    cid = net.out("create", "--network", a, iso, "busybox", "true").strip()

    def err(*args):
        r = net(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        return r.stderr.strip()

    assert err("network", "connect", "nosuch", cid) == f"{ERR}network nosuch not found"
    assert err("network", "connect", a, "nosuchc") == f"{ERR}No such container: nosuchc"
    assert err("network", "disconnect", "nosuch", cid) == f"{ERR}network nosuch not found"
    assert err("network", "disconnect", "-f", "nosuch", cid) == \
        f"{ERR}container {cid} is not connected to the network nosuch"
    assert err("network", "disconnect", "-f", b, "nosuchc") == f"{ERR}endpoint nosuchc not found"
    assert err("network", "disconnect", b, cid) == \
        f"{ERR}container {cid} is not connected to the network {b}"
    assert err("network", "connect", "--ip", "172.17.0.9", "bridge", cid) == \
        f"{ERR}user specified IP address is supported on user defined networks only"
    assert err("network", "connect", "--alias", "x", "bridge", cid) == \
        f"{ERR}network-scoped alias is supported only for containers in user defined networks"
    assert err("network", "connect", "none", cid) == (
        f"{ERR}container cannot be connected to multiple networks with one of the networks "
        "in private (none) mode")
    assert err("network", "connect", "host", cid) == \
        f"{ERR}container cannot be disconnected from host network or connected to host network"
    none = net.out("create", "--network", "none", iso, "busybox", "true").strip()
    assert err("network", "connect", a, none) == (
        f"{ERR}container cannot be connected to multiple networks with one of the networks "
        "in private (none) mode")
    # (a process container: a VM cannot join another's netns, test_network.py)
    joined = net.out("create", "--network", f"container:{cid}", "--isolation=process",
                     "busybox", "true").strip()
    assert err("network", "connect", a, joined) == (
        f"{ERR}container sharing network namespace with another container or host cannot be "
        "connected to any other network")
    # nothing of it changed the record
    assert list(net.inspect(cid)["NetworkSettings"]["Networks"]) == [a]
    # a network a container was connected to is in use
    r = net("network", "rm", a)
    assert r.returncode == 1 and "has active endpoints" in r.stderr


@pytest.mark.process_only("host networking is process mode's")
def test_host_network_containers_are_refused(net, mode):
    a = uniq("conn-h")
    net.out("network", "create", "--subnet", "10.216.0.0/24", a)
    net.made.append(a)
    hid = net.out("create", "--network", "host", f"--isolation={mode}", "busybox",
                  "true").strip()
    r = net("network", "connect", a, hid)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"{ERR}container sharing network namespace with another container or host cannot be "
        "connected to any other network")
    r = net("network", "disconnect", "host", hid)
    assert r.returncode == 1 and r.stderr.strip() == (
        f"{ERR}container cannot be disconnected from host network or connected to host network")


@pytest.mark.needs_kvm
def test_hyperv_refuses_a_second_network(net, isobox):
    a, b = two_networks(net, "10.217.0.0/24", "10.218.0.0/24")
    cid = net.out("create", "--network", a, "--isolation=hyperv", "busybox", "true").strip()
    r = net("network", "connect", b, cid)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"{ERR}hyperv isolation gives a container one network for now: "
                                "disconnect it from all but one (isobox network disconnect "
                                "NETWORK CONTAINER)")
    assert list(net.inspect(cid)["NetworkSettings"]["Networks"]) == [a]
    # a record that names two networks (connected while it was process-mode's,
    # or by hand) is refused at start, in one line
    rec = f"{isobox.root}/containers/{cid}/container.json"
    j = json.load(open(rec))
    j["NetworkSettings"]["Networks"][b] = dict(j["NetworkSettings"]["Networks"][a])
    json.dump(j, open(rec, "w"))
    r = net("start", cid)
    assert r.returncode != 0 and "hyperv isolation gives a container one network" in r.stderr
