#!/bin/sh
# Install the Debian packages isobox builds, tests and benchmarks with.
set -e
PKGS="build-essential pkg-config libjansson-dev libarchive-dev libseccomp-dev libcap-dev
 nettle-dev libcmocka-dev busybox-static python3-pytest python3-pytest-timeout python3-pexpect crun clang
 erofs-utils cpio kmod time lz4 podman containerd runc"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
