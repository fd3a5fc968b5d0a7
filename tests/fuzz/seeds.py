#!/usr/bin/env python3
"""Seed corpora for the fuzz targets: python3 tests/fuzz/seeds.py OUTDIR [TARGET...]
(all targets when none is named)."""
import gzip
import io
import os
import sys
import tarfile

out = sys.argv[1]
only = set(sys.argv[2:])


def put(target, name, data):
    if only and target not in only:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for kind, name, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "f":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
                continue
            if kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            t.addfile(ti)
    return buf.getvalue()


# config.json
put("spec", "minimal.json", b'{"root":{"path":"rootfs"},"process":{"args":["sh"]}}')
put("spec", "full.json", b"""{"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},
"hostname":"h","process":{"terminal":true,"args":["/bin/sh","-c","x"],"env":["A=b"],
"cwd":"/w","user":{"uid":1,"gid":2,"additionalGids":[3]},
"rlimits":[{"type":"RLIMIT_NOFILE","soft":1,"hard":2}],"noNewPrivileges":true},
"mounts":[{"destination":"/proc","type":"proc","source":"proc"},
{"destination":"/d","source":"/s","options":["rbind","ro","rprivate","mode=1"]}],
"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"maskedPaths":["/proc/kcore"],
"readonlyPaths":["/proc/sys"],"resources":{"memory":{"limit":1},"pids":{"limit":2},
"devices":[{"allow":true,"access":"rwm"}]}}}""")

# tar layers
two = tar([("f", "etc/passwd", b"root:x:0:0::/:/bin/sh\n"), ("f", "bin/hello", b"#!/bin/sh\necho hi\n")])
put("layer", "two-files.tar", two)
put("layer", "two-files.tar.gz", gzip.compress(two, mtime=0))
put("layer", "kinds.tar", tar([
    ("d", "etc", None), ("f", "etc/group", b"root:x:0:\n"), ("l", "etc/link", "group"),
    ("h", "etc/hard", "etc/group"), ("d", "var", None), ("f", "var/.wh.gone", b""),
    ("f", "var/.wh..wh..opq", b""), ("l", "abs", "/etc/shadow"),
]))
put("layer", "gnu.tar", tar([("f", "a" * 150 + "/long-name", b"x")], tarfile.GNU_FORMAT))

# image archives: an OCI one (gzip layer) and a docker one (plain layer.tar)
import hashlib
import json


def archive(members):
    return tar([("f", n, d) for n, d in members])


def oci_archive(layer):
    blobs = []

    def blob(data):
        blobs.append(("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data))
        return {"digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
    gz = gzip.compress(layer, mtime=0)
    ld = dict(blob(gz), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    cd = dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json")
    mf = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": cd, "layers": [ld]}).encode()
    md = dict(blob(mf), mediaType="application/vnd.oci.image.manifest.v1+json",
              annotations={"org.opencontainers.image.ref.name": "seed:1"})
    return archive(blobs + [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                            ("index.json", json.dumps({"schemaVersion": 2,
                                                       "manifests": [md]}).encode())])


def docker_archive(layer):
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    return archive([("abc/layer.tar", layer), ("c.json", cfg),
                    ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["seed:2"],
                                                   "Layers": ["abc/layer.tar"]}]).encode())])


put("image_load", "oci.tar", oci_archive(two))
put("image_load", "docker.tar", docker_archive(two))
put("image_load", "docker.tar.gz", gzip.compress(docker_archive(two), mtime=0))

# user: SPEC \0 passwd \0 group
put("user", "alice.bin", b"alice:staff\0root:x:0:0::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n"
    b"\0staff:x:50:alice\nwheel:x:10:root,alice\n")
put("user", "numeric.bin", b"1000:10\0alice:x:1000:1000::/:/bin/sh\n\0wheel:x:10:alice\n")

# virtq: a guest driving the console (dev 0) and blk (dev 1); see the format
# in fuzz_virtq.c. The bring-up puts queue k's rings at 0x1000 + 0x2000 * k
# (console rx 0, tx 1; blk 2): descriptors there, avail +0x1000, used +0x1400.
# image_needs: image config JSON \0 kernel banner \0 kernel config
put("image_needs", "debian.bin",
    b'{"os":"linux","architecture":"amd64","os.version":"6.1.100",'
    b'"os.features":["io_uring","CONFIG_BPF_SYSCALL"],'
    b'"config":{"Labels":{"org.isobox.kernel":"6.1","busybox*":"x"}}}\0'
    b'Linux version 6.1.0-57-cloud-amd64 (x) #1 SMP Debian 6.1.192-3 (2025)\0'
    b'CONFIG_IO_URING=y\n# CONFIG_BPF_SYSCALL is not set\n')
put("image_needs", "windows.bin", b'{"os":"windows","os.version":"10.0.17763"}\0\0')

def le(v, n):
    return v.to_bytes(n, "little")


def poke(gpa, data):
    return bytes([2, 0]) + le(gpa, 2) + bytes([len(data)]) + data


def desc(dev, q, idx, gpa, length, flags, nxt):
    return bytes([3, dev, q, idx, 0]) + le(gpa, 2) + bytes([0]) + le(length, 2) + \
        bytes([flags]) + le(nxt, 2)


def avail(dev, q, head):
    return bytes([4, dev, q]) + le(head, 2)


def kick(dev, q):
    return bytes([6, dev, q])


NEXT, WRITE = 1, 2
cfg8 = bytes([3 << 4])          # queue size 8, writable disk
put("virtq", "console-tx.bin", cfg8 + poke(0x8000, b"hello") +
    desc(0, 1, 0, 0x8000, 5, 0, 0) + avail(0, 1, 0) + kick(0, 1))
put("virtq", "console-rx.bin", cfg8 + desc(0, 0, 0, 0x8000, 64, WRITE, 0) +
    avail(0, 0, 0) + kick(0, 0) + bytes([7, 3]) + b"abc" + bytes([8]) + le(120, 2) + le(40, 2))
hdr_in = le(0, 4) + le(0, 4) + le(1, 8)
hdr_out = le(1, 4) + le(0, 4) + le(2, 8)
three = lambda: desc(1, 0, 0, 0x8000, 16, NEXT, 1) + desc(1, 0, 2, 0x8400, 1, WRITE, 0)
put("virtq", "blk-read.bin", cfg8 + poke(0x8000, hdr_in) + three() +
    desc(1, 0, 1, 0x8100, 512, WRITE | NEXT, 2) + avail(1, 0, 0) + kick(1, 0))
put("virtq", "blk-write.bin", cfg8 + poke(0x8000, hdr_out) + poke(0x8100, b"x" * 200) + three() +
    desc(1, 0, 1, 0x8100, 512, NEXT, 2) + avail(1, 0, 0) + kick(1, 0))
put("virtq", "blk-flush-getid.bin", cfg8 + poke(0x8000, le(4, 4)) + poke(0x9000, le(8, 4)) +
    desc(1, 0, 0, 0x8000, 16, NEXT, 2) + desc(1, 0, 2, 0x8400, 1, WRITE, 0) + avail(1, 0, 0) +
    desc(1, 0, 3, 0x9000, 16, NEXT, 4) + desc(1, 0, 4, 0x9100, 21, WRITE, 0) + avail(1, 0, 3) +
    kick(1, 0))
put("virtq", "loop.bin", cfg8 + desc(0, 1, 0, 0x8000, 8, NEXT, 1) +
    desc(0, 1, 1, 0x8000, 8, NEXT, 0) + avail(0, 1, 0) + kick(0, 1) + bytes([10, 0, 0]))
put("virtq", "chain-copy.bin", cfg8 + desc(1, 0, 0, 0x8000, 100, NEXT, 1) +
    desc(1, 0, 1, 0x8800, 300, WRITE, 0) + avail(1, 0, 0) + bytes([9, 1, 0]) + le(50, 4) +
    le(400, 2) + bytes([1]))
# a driver that sets everything up by hand, with 2-entry queues
put("virtq", "manual.bin", bytes([2]) + b"".join(
    bytes([0, 0]) + le(off, 2) + bytes([3]) + le(v, 4) for off, v in [
        (0x70, 0), (0x70, 3), (0x24, 1), (0x20, 1), (0x70, 11), (0x30, 1), (0x38, 2),
        (0x80, 0x3000), (0x90, 0x4000), (0xa0, 0x5000), (0x44, 1), (0x70, 15)]) +
    bytes([1, 0]) + le(0x100, 2) + bytes([7]) + poke(0x8000, b"hi") +
    desc(0, 1, 0, 0x8000, 2, 0, 0) + avail(0, 1, 0) + kick(0, 1))

# virtio-net (dev 2; rx rings at region 3, tx at 4): a frame out, a frame in.
put("virtq", "net-tx.bin", cfg8 + poke(0xc000, bytes(12) + b"frame!") +
    desc(2, 1, 0, 0xc000, 12, NEXT, 1) + desc(2, 1, 1, 0xc00c, 6, 0, 0) + avail(2, 1, 0) +
    kick(2, 1))
put("virtq", "net-rx.bin", cfg8 + desc(2, 0, 0, 0xc000, 12, WRITE | NEXT, 1) +
    desc(2, 0, 1, 0xc100, 1514, WRITE, 0) + avail(2, 0, 0) + kick(2, 0) +
    bytes([11]) + le(18, 2) + bytes(12) + b"pong!!" + bytes([12]))

# exec_mux: a guest on the exec channel and two clients (sessions 1 and 2);
# see the format in fuzz_exec_mux.c. Frames: type, session:u32, len:u32, data.
def frame(t, session, data):
    return bytes([t]) + le(session, 4) + le(len(data), 4) + data


def chunks(op, data, size=255):
    return b"".join(op + bytes([len(data[i:i + size])]) + data[i:i + size]
                    for i in range(0, len(data), size)) if data else op + bytes([0])


GUEST, PIPE = bytes([0]), bytes([1])
CONFIG, START, STDIN, STDIN_EOF, RESIZE, SIGNAL = 1, 2, 3, 4, 5, 6
STDOUT, STDERR, EXIT = 16, 17, 18


def client(k, data):
    return chunks(bytes([2, k]), data)


def hangup(k):
    return bytes([3, k])


def record(tag, data):
    return bytes([tag]) + le(len(data), 4) + data


blob = b"ISOBOXC1" + record(1, b"sh") + record(1, b"-c") + record(1, b"echo hi") + \
    record(2, b"A=1") + record(3, b"/srv") + record(4, b"1000") + record(5, b"100") + \
    record(6, b"box") + record(7, b"1") + record(8, b"1") + record(9, b"alice:staff") + b"\0"
out_frames = frame(STDOUT, 1, b"one") + frame(STDERR, 2, b"two") + frame(STDOUT, 1, b"") + \
    frame(EXIT, 2, b"0")
put("exec_mux", "routed.bin", chunks(GUEST, out_frames) + chunks(PIPE, frame(STDOUT, 1, b"p")) +
    chunks(GUEST, frame(EXIT, 1, b"137")))
def cut(data, sizes):
    parts, i = [], 0
    while i < len(data):
        n = sizes[len(parts) % len(sizes)]
        parts.append(data[i:i + n])
        i += n
    return parts


put("exec_mux", "split.bin", b"".join(chunks(GUEST, p) for p in cut(out_frames, [1, 4, 2, 9, 3])))
put("exec_mux", "bytewise.bin", chunks(GUEST, out_frames, 1))
put("exec_mux", "clients.bin", client(0, frame(CONFIG, 0, blob[:20])) +
    client(0, frame(START, 0, blob[20:])) + client(1, frame(STDIN, 7, b"in") +
                                                  frame(STDIN_EOF, 0, b"")) +
    client(0, frame(RESIZE, 0, b"24 80") + frame(SIGNAL, 0, b"15")) + hangup(1) +
    chunks(GUEST, frame(STDOUT, 2, b"late") + frame(STDOUT, 1, b"ok")))
put("exec_mux", "client-bad.bin", client(1, frame(STDOUT, 0, b"x")) +
    client(0, bytes([STDIN]) + le(0, 4) + le(5000, 4)) + chunks(GUEST, frame(STDOUT, 1, b"?")))
put("exec_mux", "unknown-session.bin",
    chunks(GUEST, frame(STDOUT, 99, frame(0, 1, b"")) + frame(EXIT, 0, b"1") +
           frame(STDERR, 0xffffffff, b"") + frame(STDOUT, 2, b"still")))
put("exec_mux", "broken.bin", chunks(GUEST, frame(STDOUT, 1, b"a") + bytes([STDOUT]) +
                                     le(2, 4) + le(5000, 4)) +
    chunks(GUEST, frame(STDOUT, 2, b"b")) + chunks(PIPE, bytes([0xff]) * 40) +
    client(0, frame(STDIN, 0, b"after")))
put("exec_mux", "host-type.bin", chunks(GUEST, frame(STDIN, 1, b"") + frame(STDOUT, 1, b"x")))
put("exec_mux", "next-type.bin", chunks(GUEST, frame(EXIT + 1, 2, b"") + frame(STDOUT, 2, b"x")))
put("exec_mux", "large.bin", chunks(GUEST, frame(STDOUT, 2, b"L" * 4000)))
put("exec_mux", "config.bin", blob)
put("exec_mux", "config-records.bin", blob[8:])

# manifest: byte 0 picks the Content-Type, byte 1 the platform, kernel and
# layer count (see fuzz_manifest.c); then the document.
D = ["sha256:" + c * 64 for c in "0123456789abcdef"]
OCI_M = "application/vnd.oci.image.manifest.v1+json"


def desc(mt, d, size, platform=None):
    s = '{"mediaType":"%s","digest":"%s","size":%d' % (mt, d, size)
    if platform:
        s += ',"platform":' + platform
    return s + "}"


image = ('{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s,%s]}' % (
    OCI_M, desc("application/vnd.oci.image.config.v1+json", D[1], 100),
    desc("application/vnd.oci.image.layer.v1.tar+gzip", D[2], 10),
    desc("application/vnd.oci.image.layer.v1.tar+zstd", D[3], 0)))
put("manifest", "oci-image.bin", b"\0\x40" + image.encode())
docker = image.replace(OCI_M, "application/vnd.docker.distribution.manifest.v2+json").replace(
    "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
put("manifest", "docker-image.bin", b"\5\x40" + docker.encode())
plats = ['{"architecture":"amd64","os":"linux"}', '{"architecture":"arm64","os":"linux","variant":"v8"}',
         '{"architecture":"arm","os":"linux","variant":"v7"}',
         '{"architecture":"amd64","os":"linux","os.version":"6.1","os.features":["io_uring"]}',
         '{"architecture":"amd64","os":"windows","os.version":"10.0.17763.1"}']
index = '{"schemaVersion":2,"manifests":[%s]}' % ",".join(desc(OCI_M, D[i + 4], 500, p) for i, p in enumerate(plats))
for b1 in (0, 2, 4, 9, 0x1a):
    put("manifest", "index-%d.bin" % b1, bytes([0, b1]) + index.encode())
put("manifest", "docker-list.bin", b"\4\0" + index.replace(OCI_M, "application/vnd.docker.distribution.manifest.v2+json").encode())
put("manifest", "config.bin", b"\0\x40" + ('{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},'
    '"rootfs":{"type":"layers","diff_ids":["%s","%s"]},"history":[{"created_by":"x"}]}' % (D[5], D[6])).encode())
put("manifest", "schema1.bin", b'\0\0{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}')
put("manifest", "platform.bin", b"\0\0linux/arm/v7")

# auth_config: byte 0 picks the host (see fuzz_auth_config.c); then config.json.
put("auth_config", "docker.bin", b"\0" + b'{\n\t"auths": {\n\t\t"127.0.0.1:5000": {\n\t\t\t"auth": "dGVzdDpzM2NyZXQ="\n\t\t}\n\t}\n}')
put("auth_config", "hub.bin", b"\1" + b'{"auths": {"https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"}}, "credsStore": "x"}')
put("auth_config", "fields.bin", b"\2" + b'{"auths": {"h": {"username": "u", "password": "p"}, "http://x/v2/": {}}}')
put("auth_config", "empty.bin", b"\3")
put("auth_config", "bad.bin", b"\2" + b'{"auths": {"h": {"auth": "YWJj"}}}')

# fuse: a virtio-fs guest (see the format in fuzz_fuse.c). Records here use a
# raw opcode (op 0xff); node 0 is the root, node k the (k-1)th remembered id;
# flags bit 0 puts the (aux)th remembered file handle in the body's first 8 bytes.
import struct

F = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9,
         UNLINK=10, RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16, STATFS=17,
         RELEASE=18, FSYNC=20, GETXATTR=22, FLUSH=25, INIT=26, OPENDIR=27, READDIR=28,
         RELEASEDIR=29, FSYNCDIR=30, ACCESS=34, CREATE=35, DESTROY=38, BATCH_FORGET=42,
         READDIRPLUS=44, RENAME2=45, FALLOCATE=43, LSEEK=46)


def fr(op, body=b"", node=0, flags=0, aux=0, extra=b""):
    return bytes([0xFF, node, flags, aux]) + struct.pack("<HI", len(body), F[op]) + extra + body


def nm(*names):
    return b"".join(n.encode() + b"\0" for n in names)


read_in = lambda size, off=0: struct.pack("<QQIIQII", 0, off, size, 0, 0, 0, 0)
fh_in = struct.pack("<QIIQ", 0, 0, 0, 0)
open_in = lambda flags: struct.pack("<II", flags, 0)
setattr_in = struct.pack("<IIQQQQQQIIIIIIII", 1 | 8 | 32, 0, 0, 3, 0, 0, 1000, 0, 0, 5, 0, 0o600, 0, 7, 8, 0)
put("fuse", "read.bin", fr("LOOKUP", nm("f")) + fr("GETATTR", b"\0" * 16, node=1) +
    fr("OPEN", open_in(0), node=1) + fr("READ", read_in(100), node=1, flags=1) +
    fr("FLUSH", fh_in, node=1, flags=1) + fr("RELEASE", fh_in, node=1, flags=1))
put("fuse", "create-write.bin", fr("CREATE", struct.pack("<IIII", 2 | 0o100, 0o644, 0, 0) + nm("n")) +
    fr("WRITE", struct.pack("<QQIIQII", 0, 0, 5, 0, 0, 0, 0) + b"abcde", node=1, flags=1) +
    fr("READ", read_in(10), node=1, flags=1) + fr("FSYNC", fh_in, node=1, flags=1) +
    fr("SETATTR", setattr_in, node=1) + fr("RELEASE", fh_in, node=1, flags=1))
put("fuse", "dirs.bin", fr("MKDIR", struct.pack("<II", 0o755, 0) + nm("x")) +
    fr("OPENDIR", open_in(0)) + fr("READDIRPLUS", read_in(4096), flags=1) +
    fr("READDIR", read_in(80), flags=1) + fr("FSYNCDIR", fh_in, flags=1) +
    fr("RELEASEDIR", fh_in, flags=1) + fr("LOOKUP", nm("d")) + fr("LOOKUP", nm("g"), node=2) +
    fr("RMDIR", nm("x")) + fr("RMDIR", nm("d")))
put("fuse", "names.bin", fr("SYMLINK", nm("s", "../../etc")) + fr("READLINK", node=1) +
    fr("LOOKUP", nm("f")) + fr("LINK", struct.pack("<Q", 0) + nm("h"), flags=16, aux=1) +
    fr("RENAME", struct.pack("<Q", 1) + nm("h", "h2")) +
    fr("RENAME2", struct.pack("<QII", 1, 1, 0) + nm("h2", "f")) + fr("UNLINK", nm("h2")) +
    fr("MKNOD", struct.pack("<IIII", 0o10644, 0, 0, 0) + nm("fifo")) +
    fr("MKNOD", struct.pack("<IIII", 0o20644, 259, 0, 0) + nm("dev")) +
    fr("STATFS") + fr("ACCESS", struct.pack("<II", 2, 0), node=2))
put("fuse", "hostile.bin", fr("LOOKUP", nm("..")) + fr("LOOKUP", nm("root")) +
    fr("LOOKUP", nm("etc"), node=1) + fr("LOOKUP", nm("out")) + fr("MKDIR", struct.pack("<II", 0o755, 0) + nm("m"), node=2) +
    fr("CREATE", struct.pack("<IIII", 1 | 0o100, 0o644, 0, 0) + nm("out")) +
    fr("LOOKUP", nm("a" * 300)) + fr("LOOKUP", nm("up")) + fr("OPEN", open_in(0), node=1) +
    fr("GETATTR", b"\0" * 16, node=0xFF, extra=struct.pack("<Q", 0x100000002)) +
    fr("GETATTR", b"\0" * 16, flags=2, extra=struct.pack("<I", 4000)) +
    fr("READ", read_in(1 << 20), flags=4 | 8, extra=bytes([3, 7, 1]) + struct.pack("<H", 20)))
put("fuse", "forget.bin", fr("LOOKUP", nm("f")) + fr("LOOKUP", nm("d")) +
    fr("FORGET", struct.pack("<Q", 1), node=1) +
    fr("BATCH_FORGET", struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 3, 1, 2, 1)) +
    fr("DESTROY") + fr("INIT", struct.pack("<IIII", 7, 31, 0, 0)) + fr("LOOKUP", nm("f")))
put("fuse", "readonly.bin", bytes([0x52, 0, 0, 0, 0, 0]) + fr("LOOKUP", nm("f")) +
    fr("OPEN", open_in(2), node=1) + fr("SETATTR", setattr_in, node=1) + fr("UNLINK", nm("f")))
put("fuse", "create-existing.bin", b"".join(
    fr("CREATE", struct.pack("<IIII", 2 | 0o1000, 0o644, 0, 0) + nm(n)) for n in ("p", "f", "root", "d", "up")))
put("fuse", "fallocate-lseek.bin", fr("LOOKUP", nm("f")) + fr("OPEN", open_in(2), node=1) +
    fr("FALLOCATE", struct.pack("<QQQII", 0, 0, 1 << 20, 1 | 2, 0), node=1, flags=1) +
    fr("LSEEK", struct.pack("<QQII", 0, 0, 4, 0), node=1, flags=1))

# mount_spec: byte 0 even: a -v value, odd: a --mount value (see fuzz_mount_spec.c).
for i, v in enumerate([b"/data", b"/h/src:/c/dst:ro,z", b"name:/d:nocopy,rshared", b"n:/d:rw:x",
                       b"/a:/", b"C:\\x:/y", b"a/b:/c", b"::", b"/x:rel"]):
    put("mount_spec", "v%d.bin" % i, b"\0" + v)
for i, v in enumerate([b"type=bind,source=/s,target=/t,readonly,bind-propagation=rslave",
                       b"type=volume,src=v1,dst=/d,volume-opt=a=b,volume-nocopy=true",
                       b"type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770",
                       b"type=volume,target=/x,readonly=false", b'"type=bind",src=/a,dst=/b',
                       b"type=tmpfs,source=/x,target=/y", b"target=/z", b"type=bind,,,=,dst=/q"]):
    put("mount_spec", "m%d.bin" % i, b"\1" + v)

# api: a client's request line and a container list's filters (fuzz_api.c).
for i, v in enumerate([b"GET /_ping\n", b"HEAD /v1.24/_ping\n", b"GET /v1.99/version\n",
                       b"GET /containers/abc/json\n", b"GET /images/library/busybox/json\n",
                       b"GET /v1.50/containers/json\n{\"status\":[\"running\"],\"name\":[\"^/w.*\"]}",
                       b"GET /containers/json\n{\"label\":{\"app=web\":true},\"isolation\":[\"hyperv\"]}",
                       b"GET /containers/json\n{\"id\":[\"0123\"],\"foo\":[\"x\"]}",
                       b"GET //containers//json\n[1,2]", b"POST /v1.x/containers/json\n{",
                       b"DELETE /v1.50/images/a/b/c:1\n", b"POST /images/x/tag\n",
                       b"GET /images/docker.io/library/x/history\n",
                       # regcomp's out-of-memory in a CI run: nested repetition
                       b"GET /containers/json\n{\"name\":[\"^/" + b"+" * 112 + b"\"]}",
                       b"GET /containers/json\n{\"name\":[\"" + b"(" * 40 + b"a" + b")+" * 40 + b"$\"]}"]):
    put("api", "r%d.bin" % i, v)
