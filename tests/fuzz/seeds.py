#!/usr/bin/env python3
"""Seed corpora for the fuzz targets: python3 tests/fuzz/seeds.py OUTDIR."""
import gzip
import io
import os
import sys
import tarfile

out = sys.argv[1]


def put(target, name, data):
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

# user: SPEC \0 passwd \0 group
put("user", "alice.bin", b"alice:staff\0root:x:0:0::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n"
    b"\0staff:x:50:alice\nwheel:x:10:root,alice\n")
put("user", "numeric.bin", b"1000:10\0alice:x:1000:1000::/:/bin/sh\n\0wheel:x:10:alice\n")
