"""Volumes (issue 15): the volume commands, -v/--mount/--volumes-from, and
the Mounts of inspect, in docker's shapes (dockerd 20.10 as the reference)."""
import json
import os
import re

import pytest

HYPERV_FS = "hyperv volumes need the virtio-fs file server (issue 15, in progress)"
NAME_ERR = ('Error response from daemon: create {0}: "{0}" includes invalid characters for a '
            'local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended '
            'to pass a host directory, use absolute path\n')


def volumes(ib):
    return ib.out("volume", "ls", "-q").split()


# ---- the volume commands ------------------------------------------------------------

def test_volume_create_named_and_inspect(fresh):
    assert fresh.out("volume", "create", "--label", "a=b", "--label", "c=d", "data1") == "data1\n"
    [v] = json.loads(fresh.out("volume", "inspect", "data1"))
    assert sorted(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                         "Scope"]
    assert v["Name"] == "data1" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"a": "b", "c": "d"} and v["Options"] is None
    assert v["Mountpoint"] == os.path.join(fresh.root, "volumes", "data1", "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"])
    # again: no error, the volume unchanged (docker's)
    assert fresh.out("volume", "create", "--label", "x=y", "data1") == "data1\n"
    assert json.loads(fresh.out("volume", "inspect", "data1"))[0]["Labels"] == {"a": "b",
                                                                                "c": "d"}
    assert fresh.out("volume", "inspect", "-f", "{{.Name}} {{.Driver}}",
                     "data1") == "data1 local\n"


def test_volume_create_anonymous_is_64_hex(fresh):
    name = fresh.out("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", name)
    [v] = json.loads(fresh.out("volume", "inspect", name))
    assert v["Labels"] is None and v["Name"] == name


@pytest.mark.parametrize("bad", ["a/b", "a:b", "-x", ".hidden", "../up", "x y"])
def test_volume_bad_name_refused(fresh, bad):
    r = fresh("volume", "create", "--", bad)
    assert r.returncode == 1 and r.stderr == NAME_ERR.format(bad), r.stderr
    assert volumes(fresh) == []
    assert not os.path.exists(os.path.join(fresh.root, "up"))


def test_volume_too_short_and_driver(fresh):
    r = fresh("volume", "create", "x")
    assert r.returncode == 1
    assert r.stderr == ("Error response from daemon: create x: volume name is too short, "
                        "names should be at least two alphanumeric characters\n")
    r = fresh("volume", "create", "-d", "foo", "zz")
    assert r.returncode == 1 and 'plugin "foo" not found' in r.stderr
    r = fresh("volume", "create", "aa", "bb")
    assert r.returncode == 125 and "requires at most 1 argument" in r.stderr
    assert volumes(fresh) == []


def test_volume_ls_formats(fresh):
    anon = fresh.out("volume", "create").strip()
    fresh.out("volume", "create", "--label", "k=v", "--label", "k2=v2", "named")
    assert fresh.out("volume", "ls") == (f"DRIVER    VOLUME NAME\nlocal     {anon}\n"
                                         "local     named\n")
    assert fresh.out("volume", "ls", "-q") == f"{anon}\nnamed\n"
    assert fresh.out("volume", "ls", "--format",
                     "{{.Name}}|{{.Driver}}|{{.Labels}}|{{.Scope}}") == (
        f"{anon}|local||local\nnamed|local|k=v,k2=v2|local\n")
    rows = [json.loads(line) for line in fresh.out("volume", "ls", "--format",
                                                   "json").splitlines()]
    assert rows[1] == {"Availability": "N/A", "Driver": "local", "Group": "N/A",
                       "Labels": "k=v,k2=v2", "Links": "N/A",
                       "Mountpoint": os.path.join(fresh.root, "volumes", "named", "_data"),
                       "Name": "named", "Scope": "local", "Size": "N/A", "Status": "N/A"}


def test_volume_inspect_and_rm_missing(fresh):
    r = fresh("volume", "inspect", "nosuch")
    assert r.returncode == 1 and r.stdout == "[]\n"
    assert r.stderr == "Error response from daemon: get nosuch: no such volume\n"
    r = fresh("volume", "rm", "nosuch")
    assert r.returncode == 1
    assert r.stderr == "Error response from daemon: get nosuch: no such volume\n"
    r = fresh("volume", "rm", "-f", "nosuch")
    assert r.returncode == 0 and r.stdout == "nosuch\n"


def test_volume_rm_and_prune(fresh):
    for n in ("v1", "v2", "v3"):
        fresh.out("volume", "create", n)
    open(os.path.join(fresh.root, "volumes", "v1", "_data", "f"), "w").close()
    assert fresh.out("volume", "rm", "v1", "v2") == "v1\nv2\n"
    assert volumes(fresh) == ["v3"]
    assert not os.path.exists(os.path.join(fresh.root, "volumes", "v1"))
    # prune asks first; no keeps everything
    r = fresh("volume", "prune", input="n\n")
    assert r.returncode == 0 and "Are you sure you want to continue? [y/N]" in r.stdout
    assert volumes(fresh) == ["v3"]
    assert fresh.out("volume", "prune", "-f") == "Deleted Volumes:\nv3\n\nTotal reclaimed space: 0B\n"
    assert volumes(fresh) == []
    assert fresh.out("volume", "prune", "-f") == "Total reclaimed space: 0B\n"
