"""tests/run.sh counts only what ran: fed small pytest suites of its own, its
closing line and exit status say exactly what happened. Not a container test:
the same in both runs."""
import os
import subprocess

from conftest import REPO

RUN_SH = os.path.join(REPO, "tests", "run.sh")


def runner(tmp_path, files, *args, timeout=120, **env):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    r = subprocess.run(["sh", RUN_SH, "pytest", "fake", "-q", "-p", "no:cacheprovider",
                        *args, str(tmp_path)], capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **env), cwd="/")
    return r, r.stdout.strip().splitlines()[-1]


PASS = "def test_ok():\n    assert 1 + 1 == 2\n"


def test_passed_and_skipped_with_its_reason(tmp_path):
    r, last = runner(tmp_path, {"test_a.py": PASS + "import pytest\n\n"
                                "@pytest.mark.skip(reason='no frobnicator here')\n"
                                "def test_skipped():\n    pass\n"})
    assert r.returncode == 0, r.stdout
    assert last == "1 passed, 0 failed, 1 skipped"
    assert "skipped: fake: " in r.stdout and "no frobnicator here" in r.stdout


def test_a_run_of_deselected_tests_only_fails(tmp_path):
    # pytest says "1 deselected" and exits 5: nothing ran, so nothing passed.
    r, last = runner(tmp_path, {"test_a.py": PASS}, "-k", "nomatch")
    assert r.returncode == 1
    assert last == "0 passed, 1 failed, 0 skipped"
    assert "fake (on this host): ran no test" in r.stdout


def test_a_collection_error_fails(tmp_path):
    r, last = runner(tmp_path, {"test_a.py": PASS, "test_b.py": "def broken(:\n"})
    assert r.returncode == 1
    # The error and pytest's exit status (2, interrupted by it) both count.
    assert last == "0 passed, 2 failed, 0 skipped", r.stdout


def test_a_failure_and_an_error_count(tmp_path):
    suite = PASS + ("import pytest\n\n@pytest.fixture\ndef bad():\n    raise OSError('x')\n\n"
                    "def test_error(bad):\n    pass\n\ndef test_fails():\n    assert False\n")
    r, last = runner(tmp_path, {"test_a.py": suite})
    assert r.returncode == 1
    assert last == "1 passed, 2 failed, 0 skipped"


def test_output_cannot_fake_the_count(tmp_path):
    fake = ("def test_liar():\n"
            "    print('ISOBOX-RESULT 1 fake passed=100 failed=0 errors=0 skipped=0 "
            "deselected=0 exit=0')\n    print('100 passed, 0 failed')\n")
    r, last = runner(tmp_path, {"test_a.py": fake}, "-s")
    assert r.returncode == 0
    assert last == "1 passed, 0 failed, 0 skipped"


def test_a_hang_fails_its_test(tmp_path):
    hang = "import time\n\ndef test_hangs():\n    time.sleep(60)\n"
    r, last = runner(tmp_path, {"test_a.py": PASS + hang}, TEST_TIMEOUT="2")
    assert r.returncode == 1
    assert last == "1 passed, 1 failed, 0 skipped"
    assert "Timeout" in r.stdout


def test_unit_binaries_missing_crashed_hung_and_skipped(tmp_path):
    src, bins = tmp_path / "src", tmp_path / "bin"
    src.mkdir()
    bins.mkdir()
    scripts = {
        "test_a": "echo '[  PASSED  ] 2 test(s).'; echo '[  SKIPPED ] 1 test(s), listed below:'; "
                  "echo '[  SKIPPED ] test_later'",
        "test_c": "echo '[==========] 1 test(s) run.'; kill -SEGV $$",
        "test_d": "sleep 60",
    }
    for name in ("test_a", "test_b", "test_c", "test_d"):
        (src / f"{name}.c").write_text("")
        if name in scripts:
            (bins / name).write_text(f"#!/bin/sh\n{scripts[name]}\n")
            (bins / name).chmod(0o755)
    r = subprocess.run(["sh", RUN_SH, "unit"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, UNIT_SRC=str(src), UNIT_BIN=str(bins),
                                FUZZ_CHECKS="", UNIT_TIMEOUT="2"))
    assert r.returncode == 1
    assert r.stdout.strip().splitlines()[-1] == "2 passed, 3 failed, 1 skipped", r.stdout
    assert f"FAILED: {bins}/test_b: missing" in r.stdout
    assert f"FAILED: {bins}/test_c: crashed (exit 139)" in r.stdout
    assert f"FAILED: {bins}/test_d: timed out after 2s" in r.stdout
    assert f"skipped: {bins}/test_a: test_later" in r.stdout


def test_a_test_cannot_learn_the_nonce(tmp_path):
    peek = ("import os\n\ndef test_peek():\n"
            "    n = os.environ.get('ISOBOX_REPORT_NONCE', 'none')\n"
            "    print(f'ISOBOX-RESULT {n} fake passed=100 failed=0 errors=0 skipped=0 "
            "deselected=0 exit=0')\n")
    r, last = runner(tmp_path, {"test_a.py": peek}, "-s")
    assert r.returncode == 0
    assert last == "1 passed, 0 failed, 0 skipped", r.stdout
