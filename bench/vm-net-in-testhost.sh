#!/bin/sh
# The body of bench/vm-net.sh, run inside the test host in a private network
# and mount namespace.
set -eu
size=$1 runs=$2
for m in veth tun sch_ingress cls_u32 act_mirred; do modprobe $m 2>/dev/null || true; done
ip link set lo up
mkdir -p /run/netns && mount -t tmpfs bench /run/netns
# world NAME OUTER_IF SUBNET: a netns with eth0 at SUBNET.2, the outer end at .1
world() {
	ip netns add "$1"
	ip link add "$2" type veth peer name eth0 netns "$1"
	ip addr add "$3.1/24" dev "$2" && ip link set "$2" up
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$3.2/24" dev eth0 && ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$3.1"
}
world ibx veth-ibx 10.99.0
world qmu veth-qmu 10.98.0
root=/tmp/bench-net-root
rm -rf "$root" && mkdir -p "$root"
ln -s "$PWD/build/hyperv/root/kernels" "$root/kernels"
export ISOBOX_ROOT=$root
B="./build/isobox --root $root"
tar=/tmp/bench-net-rootfs.tar
sh scripts/make-busybox-rootfs.sh "$tar"
$B import "$tar" busybox >/dev/null
APP='while true; do nc -l -p 5001 | wc -c >/dev/null; done'

# isobox: a bundle naming the netns, run by isobox-runtime.
bundle=/tmp/bench-net-bundle
rm -rf "$bundle" && mkdir -p "$bundle/rootfs"
tar -C "$bundle/rootfs" -xf "$tar"
./build/isobox-runtime spec --bundle "$bundle"
/usr/bin/python3 - "$bundle/config.json" "$APP" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["process"].update(terminal=False, args=["sh", "-c", sys.argv[2]])
cfg["annotations"] = {"io.isobox.isolation": "hyperv"}
ns = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
cfg["linux"]["namespaces"] = ns + [{"type": "network", "path": "/run/netns/ibx"}]
json.dump(cfg, open(sys.argv[1], "w"))
PY
./build/isobox-runtime --root /tmp/bench-net-rt run --detach --bundle "$bundle" bench-net \
	>/dev/null 2>/tmp/bench-net-ibx.err </dev/null || { cat /tmp/bench-net-ibx.err >&2; exit 1; }

# QEMU: the same kernel, initramfs, agent and EROFS root; the config disk
# carries the same command and the NIC's records (agent_proto.h).
$B run --rm --network none --isolation=hyperv busybox true >/dev/null   # builds the EROFS image
kernel=$(ls -d build/hyperv/root/kernels/*/ | head -n 1)
image=$kernel/vmlinux
[ -e "$image" ] || image=$kernel/vmlinuz
erofs=$(ls "$root"/erofs/*.erofs | head -n 1)
mac=$(ip -n qmu -o link show eth0 | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')
cfg=/tmp/bench-net-config
/usr/bin/python3 - "$cfg" "$APP" "$mac" <<'PY'
import struct, sys
def rec(tag, s):
    b = s.encode()
    return bytes([tag]) + struct.pack("<I", len(b)) + b
blob = b"ISOBOXC1" + rec(1, "sh") + rec(1, "-c") + rec(1, sys.argv[2]) + \
    rec(36, sys.argv[3]) + rec(37, "10.98.0.2/24") + rec(38, "10.98.0.1") + rec(39, "1500") + b"\0"
open(sys.argv[1], "wb").write(blob.ljust((len(blob) + 511) // 512 * 512, b"\0"))
PY
ip netns exec qmu qemu-system-x86_64 -M microvm,rtc=on -enable-kvm -cpu host -m 256 \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial file:/tmp/bench-net-qemu.log \
	-kernel "$image" -initrd "$kernel/initrd.cpio" \
	-append "console=ttyS0 quiet reboot=k panic=-1 pci=off i8042.noaux" \
	-device isa-debug-exit,iobase=0xf4,iosize=1 \
	-chardev null,id=c0 -chardev null,id=c1 -chardev null,id=c2 -chardev null,id=c3 \
	-device virtio-serial-device,id=s0,max_ports=1 -device virtconsole,chardev=c0,bus=s0.0 \
	-device virtio-serial-device,id=s1,max_ports=1 -device virtconsole,chardev=c1,bus=s1.0 \
	-device virtio-serial-device,id=s2,max_ports=1 -device virtconsole,chardev=c2,bus=s2.0 \
	-device virtio-serial-device,id=s3,max_ports=1 -device virtconsole,chardev=c3,bus=s3.0 \
	-drive id=r,file="$erofs",format=raw,if=none,readonly=on \
	-device virtio-blk-device,drive=r,serial=isobox-root \
	-drive id=c,file="$cfg",format=raw,if=none,readonly=on \
	-device virtio-blk-device,drive=c,serial=isobox-config \
	-netdev tap,id=n0,ifname=qtap0,script=no,downscript=no,vhost=off \
	-device virtio-net-device,netdev=n0,mac="$mac"${QEMU_NET_OPTS:+,$QEMU_NET_OPTS} &
qemu=$!
for i in $(seq 1 100); do ip -n qmu link show qtap0 >/dev/null 2>&1 && break; sleep 0.1; done
# script=no: QEMU leaves its TAP down (isobox's src/net/tap.c sets its own up).
ip -n qmu link set qtap0 up
# Kata's tcfilter join, as isobox makes it (src/net/tc.c).
for pair in "eth0 qtap0" "qtap0 eth0"; do
	set -- $pair
	ip netns exec qmu tc qdisc add dev "$1" ingress
	ip netns exec qmu tc filter add dev "$1" parent ffff: protocol all u32 match u8 0 0 \
		action mirred egress redirect dev "$2"
done

/usr/bin/python3 - "$size" "$runs" <<'PY'
import socket, statistics, subprocess, sys, time
size, runs = int(sys.argv[1]) << 20, int(sys.argv[2])
chunk = b"\0" * (1 << 20)

def up(ip):
    for _ in range(240):
        try:
            socket.create_connection((ip, 5001), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.5)
    print(f"{ip}:5001 never answered")
    return False

def stream(ip):
    for _ in range(50):    # the guest's nc restarts between connections
        try:
            s = socket.create_connection((ip, 5001), timeout=60)
            break
        except OSError:
            time.sleep(0.1)
    t0 = time.perf_counter()
    sent = 0
    while sent < size:
        s.sendall(chunk)
        sent += len(chunk)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
    return size * 8 / (time.perf_counter() - t0) / 1e6

def rtt(ip):
    out = subprocess.run(["busybox", "ping", "-c", "20", ip], capture_output=True,
                         text=True).stdout
    return float(out.strip().splitlines()[-1].split("=")[1].split("/")[1])

res = {}
for name, ip in (("isobox", "10.99.0.2"), ("qemu", "10.98.0.2")):
    if not up(ip):
        continue
    time.sleep(1)
    mbps = statistics.median(stream(ip) for _ in range(runs))
    res[name] = (mbps, rtt(ip))
    print(f"{name:7s} host->guest {size >> 20} MiB: median {mbps:8.0f} Mbit/s, "
          f"ping avg {res[name][1]:.3f} ms")
if len(res) == 2:
  print(f"ratio isobox/QEMU throughput {res['isobox'][0] / res['qemu'][0]:.2f}x (target >= 1.0x), "
        f"latency {res['isobox'][1] / res['qemu'][1]:.2f}x (target <= 1.0x)")
PY
kill "$qemu" 2>/dev/null || true
grep -i -E "virtio_net|eth0|error" /tmp/bench-net-qemu.log | tail -n 5 || true
./build/isobox-runtime --root /tmp/bench-net-rt delete --force bench-net >/dev/null 2>&1 || true
