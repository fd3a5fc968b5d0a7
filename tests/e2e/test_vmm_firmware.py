"""isobox-vmm on this host's /dev/kvm: raw real-mode firmware from the reset
vector to the debug-exit port (the VMM floor). They need a /dev/kvm that runs a
guest: on this host when it has one (PVM runs them), else in the test host."""
import os
import subprocess

import pytest

from conftest import REPO

VMM = os.path.join(REPO, "build", "isobox-vmm")
pytestmark = pytest.mark.needs_kvm


def firmware(tmp_path, code, size=65536):
    img = bytearray(b"\xf4" * size)           # hlt everywhere
    img[size - 16:size - 16 + len(code)] = code  # the reset vector: 16 bytes below 4 GiB
    path = tmp_path / "fw.bin"
    path.write_bytes(img)
    return str(path)


def run(*args):
    return subprocess.run([VMM, *args], capture_output=True, text=True, timeout=30)


def test_kvm_is_there():
    assert os.path.exists("/dev/kvm"), "these tests need /dev/kvm"


@pytest.mark.parametrize("value", [0, 1, 42, 200])
def test_exit_value_is_what_the_guest_wrote(tmp_path, value):
    fw = firmware(tmp_path, bytes([0xb0, value, 0xe6, 0xf4, 0xf4]))  # mov al,v; out 0xf4,al; hlt
    r = run("firmware", fw)
    assert r.returncode == value, r.stderr


def test_guest_that_uses_ram_and_loops(tmp_path):
    # Store 7 at 0x500 in RAM, add 5 to it four times in a loop, write the
    # result out. The reset vector has 16 bytes: it jumps to the body at CS:0.
    size = 65536
    img = bytearray(b"\xf4" * size)
    body = bytes([
        0x31, 0xc0, 0x8e, 0xd8,              # xor ax,ax; mov ds,ax
        0xc6, 0x06, 0x00, 0x05, 0x07,        # mov byte [0x500],7
        0xb9, 0x04, 0x00,                    # mov cx,4
        0x80, 0x06, 0x00, 0x05, 0x05,        # loop: add byte [0x500],5
        0xe2, 0xf9,                          # loop loop
        0xa0, 0x00, 0x05,                    # mov al,[0x500]
        0xe6, 0xf4,                          # out 0xf4,al
        0xf4,                                # hlt
    ])
    img[0:len(body)] = body                  # at CS:0 with CS base 0xffff0000
    img[size - 16:size - 13] = bytes([0xe9]) + (0 - (0xfff0 + 3) & 0xffff).to_bytes(2, "little")
    path = tmp_path / "fw.bin"
    path.write_bytes(img)
    r = run("firmware", str(path), "--mem", "1")
    assert r.returncode == 27, r.stderr


def test_halting_guest_is_an_error(tmp_path):
    r = run("firmware", firmware(tmp_path, bytes([0xf4])))
    assert r.returncode == 125
    assert "halted" in r.stderr


def test_triple_fault_is_an_error(tmp_path):
    # Load an empty IDT and raise an exception: a triple fault, a shutdown exit.
    code = bytes([0x66, 0x2e, 0x0f, 0x01, 0x1e, 0xf8, 0xff,   # lidt cs:[0xfff8] (limit 0)
                  0xcc])                                      # int3
    fw = bytearray(open(firmware(tmp_path, code), "rb").read())
    fw[0xfff8:0xfffe] = bytes(6)
    path = tmp_path / "tf.bin"
    path.write_bytes(fw)
    r = run("firmware", str(path))
    assert r.returncode == 125
    assert r.stderr == "isobox-vmm: the firmware triple-faulted (KVM_EXIT_SHUTDOWN)\n", r.stderr


def test_bad_images(tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert run("firmware", str(empty)).returncode == 125
    assert run("firmware", str(tmp_path / "missing.bin")).returncode == 125
    big = tmp_path / "big.bin"
    big.write_bytes(b"\xf4" * (17 << 20))
    r = run("firmware", str(big))
    assert r.returncode == 125 and "larger than" in r.stderr
    assert run().returncode == 125
    assert run("firmware").returncode == 125
