"""`isobox kernel install --path FILE [--config FILE]`, `kernel ls`, `kernel rm NAME`:
the guest kernel store, with kernels made here (a bzImage's setup header names its
version; nothing boots), in a root of its own (the suite's roots share the
hyperv run's kernel store)."""
import hashlib
import os
import shutil
import struct
import tempfile

import pytest

from conftest import Isobox

HEAD = ["NAME", "VERSION", "CONFIG", "PATH"]


def fake_bzimage(path, banner):
    """The setup header of a bzImage: "HdrS" at 0x202, and at 0x20e the offset
    (from 0x200) of the version string, as the kernel's own build writes them."""
    img = bytearray(0x1000)
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x20e:0x210] = struct.pack("<H", 0x400 - 0x200)
    img[0x400:0x400 + len(banner) + 1] = banner.encode() + b"\0"
    with open(path, "wb") as f:
        f.write(img)
    return path


def kernel_rows(ib):
    lines = ib.out("kernel", "ls").splitlines()
    assert lines[0].split() == HEAD
    return [line.split() for line in lines[1:]]


@pytest.fixture
def store():
    root = tempfile.mkdtemp(prefix="isobox-e2e-kernels-")
    yield Isobox(root)
    shutil.rmtree(root, ignore_errors=True)


def test_kernel_install_ls_rm(store, tmp_path):
    assert kernel_rows(store) == []
    bz = fake_bzimage(str(tmp_path / "bzImage"),
                      "6.9.42-claims (builder@host) #1 SMP PREEMPT_DYNAMIC")
    config = tmp_path / "config"
    config.write_text("CONFIG_IO_URING=y\nCONFIG_BPF_SYSCALL=y\n")
    name = "custom-" + hashlib.sha256(open(bz, "rb").read()).hexdigest()[:12]
    r = store("kernel", "install", "--path", bz, "--config", str(config))
    assert (r.returncode, r.stdout) == (0, name + "\n"), r.stderr
    kdir = os.path.join(store.root, "kernels", name)
    assert open(os.path.join(kdir, "vmlinuz"), "rb").read() == open(bz, "rb").read()
    assert open(os.path.join(kdir, "config")).read() == config.read_text()
    assert os.path.getsize(os.path.join(kdir, "initrd.cpio")) > 0
    assert kernel_rows(store) == [[name, "6.9.42", "yes", os.path.join(kdir, "vmlinuz")]]

    # Without --config: listed with CONFIG no; newest version first.
    bz2 = fake_bzimage(str(tmp_path / "bzImage2"), "6.1.7-other (b@h) #2 SMP")
    name2 = "custom-" + hashlib.sha256(open(bz2, "rb").read()).hexdigest()[:12]
    assert store.out("kernel", "install", "--path", bz2) == name2 + "\n"
    assert [row[:3] for row in kernel_rows(store)] == [[name, "6.9.42", "yes"],
                                                       [name2, "6.1.7", "no"]]

    # rm NAME removes it; the other stays.
    r = store("kernel", "rm", name)
    assert (r.returncode, r.stdout, r.stderr) == (0, name + "\n", "")
    assert not os.path.exists(kdir)
    assert [row[0] for row in kernel_rows(store)] == [name2]

    # rm of a missing one: one clear line, 125.
    r = store("kernel", "rm", name)
    assert (r.returncode, r.stdout) == (125, "")
    assert r.stderr == f"isobox: no guest kernel named {name}: 'isobox kernel ls' lists them\n"
    r = store("kernel", "rm", "../kernels")
    assert r.returncode == 125 and r.stderr == "isobox: no guest kernel named ../kernels\n"
    assert [row[0] for row in kernel_rows(store)] == [name2]


def test_kernel_install_refuses_what_is_not_a_kernel(store, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a kernel\n" * 100)
    r = store("kernel", "install", "--path", str(junk))
    assert (r.returncode, r.stdout) == (125, "")
    assert r.stderr == (f"isobox: install a guest kernel: sh failed: kernel-install: {junk} "
                        "is not a Linux kernel (neither a bzImage nor a vmlinux)\n")
    r = store("kernel", "install", "--path", str(tmp_path / "absent"))
    assert r.returncode == 125
    assert r.stderr.endswith(f"kernel-install: no kernel file {tmp_path / 'absent'}\n")
    bz = fake_bzimage(str(tmp_path / "bzImage"), "6.9.1 (b@h) #1")
    r = store("kernel", "install", "--path", bz, "--config", str(tmp_path / "absent"))
    assert r.returncode == 125
    assert r.stderr.endswith(f"kernel-install: no config file {tmp_path / 'absent'}\n")
    # A usage error names the usage.
    r = store("kernel", "install", "--path")
    assert r.returncode == 125 and "usage: isobox kernel install [--path FILE [--config FILE]]" \
        in r.stderr
    assert kernel_rows(store) == []
    assert [e for e in os.listdir(os.path.join(store.root, "kernels"))] == []
