"""The mode a container gets without --isolation: the host's role (its SMBIOS
chassis type, faked here through chassis_type_file), the configuration's
default_isolation, or --default-isolation; shown by info, recorded by inspect."""
import json

import pytest

WORKSTATION, SERVER = "10", "17"      # Notebook, Main Server Chassis


@pytest.fixture
def conf(tmp_path):
    """conf(text, chassis=...) writes a config file and returns --config FILE."""
    def write(text="", chassis=None):
        lines = [text]
        if chassis is not None:
            (tmp_path / "chassis").write_text(chassis + "\n")
            lines.append(f"chassis_type_file = {tmp_path / 'chassis'}")
        (tmp_path / "isobox.conf").write_text("\n".join(lines) + "\n")
        return ["--config", str(tmp_path / "isobox.conf")]
    return write


def info(isobox, *flags):
    return json.loads(isobox.out(*flags, "info", "--format", "json"))["Isolation"]


def isolation_of(isobox, flags, *run_flags):
    cid = isobox.out(*flags, "create", *run_flags, "busybox", "true").strip()
    got = isobox.out("inspect", "-f", "{{.HostConfig.Isolation}}", cid).strip()
    isobox("rm", cid, check=True)
    return got


def test_the_host_role_decides(isobox, conf):
    iso = info(isobox, *conf(chassis=SERVER))
    assert iso["Default"] == "process" and "a server: chassis type 17" in iso["DefaultReason"]
    iso = info(isobox, *conf(chassis=WORKSTATION))
    assert iso["Default"] == "hyperv"
    assert "a workstation: chassis type 10 (Notebook)" in iso["DefaultReason"]
    # Unknown, virtual or missing: a server.
    assert info(isobox, *conf(chassis="1"))["Default"] == "process"
    assert info(isobox, *conf(chassis="garbage"))["Default"] == "process"


def test_hostnamectl_chassis_words(isobox, conf):
    # What `hostnamectl chassis` prints (and set-chassis keeps in /etc/machine-info).
    iso = info(isobox, *conf(chassis="laptop"))
    assert iso["Default"] == "hyperv" and 'a workstation: chassis "laptop"' in iso["DefaultReason"]
    for word in ("server", "vm", "container", "embedded"):
        assert info(isobox, *conf(chassis=word))["Default"] == "process"


def test_containers_get_the_default(isobox, conf, mode):
    chassis = WORKSTATION if mode == "hyperv" else SERVER
    assert isolation_of(isobox, conf(chassis=chassis)) == mode
    # Case does not matter; the configuration beats the role.
    other = SERVER if mode == "hyperv" else WORKSTATION
    assert isolation_of(isobox, conf(f"default_isolation = {mode.upper()}", chassis=other)) == mode
    # --default-isolation beats the configuration; an empty value means "default".
    assert isolation_of(isobox, ["--default-isolation", mode.capitalize(), *conf(
        "default_isolation = ", chassis=other)]) == mode
    # --isolation beats them all.
    assert isolation_of(isobox, conf(chassis=other), f"--isolation={mode}") == mode


def test_text_info_says_why(isobox, conf):
    flags = conf("default_isolation = process")
    out = isobox.out(*flags, "info").splitlines()
    hv = info(isobox, *flags)["Modes"]["hyperv"]
    i = out.index("Isolation Modes:")
    assert out[i - 1] == f"Default Isolation: process (set by default_isolation in {flags[1]})"
    # Whether this host runs hyperv, as the JSON says: either way, its line says so.
    hyperv = (f" hyperv: available, guest kernel {hv['GuestKernel']}" if hv["Available"]
              else f" hyperv: not available: {hv['Reason']}")
    assert out[i + 1:i + 3] == [" process: available", hyperv], out


def test_bad_values_are_refused_with_the_valid_ones(isobox, conf):
    r = isobox("--default-isolation", "container", "run", "--rm", "busybox", "true")
    assert (r.returncode, r.stderr) == (125, 'isobox: invalid --default-isolation value '
                                        '"container": valid values are process, hyperv (alias '
                                        'vm) and default\n')
    flags = conf("default_isolation = fast")
    r = isobox(*flags, "run", "--rm", "busybox", "true")
    assert (r.returncode, r.stderr) == (125, f'isobox: {flags[1]}: invalid default_isolation '
                                        'value "fast": valid values are process, hyperv (alias '
                                        'vm) and default\n')
    r = isobox("run", "--rm", "--isolation=Sandbox", "busybox", "true")
    assert (r.returncode, r.stderr) == (125, 'isobox: invalid --isolation value "Sandbox": valid '
                                        'values are process, hyperv (alias vm), auto and '
                                        'default\n')


def test_malformed_config_names_the_line(isobox, conf, tmp_path):
    flags = conf("# comment\n\ndefault_isolation = process\nthis line is not a setting")
    r = isobox(*flags, "info")
    assert r.returncode == 125
    assert "isobox.conf:4: expected \"key = value\"" in r.stderr
    r = isobox(*conf("colour = blue"), "run", "--rm", "busybox", "true")
    assert r.returncode == 125 and "isobox.conf:1: unknown setting \"colour\"" in r.stderr
    r = isobox("--config", str(tmp_path / "missing.conf"), "info")
    assert r.returncode == 125 and "missing.conf" in r.stderr
