#!/bin/sh
# Install the Debian packages isobox builds, tests and benchmarks with.
set -e
PKGS="build-essential pkg-config libjansson-dev libarchive-dev libseccomp-dev libcap-dev
 nettle-dev libcmocka-dev busybox-static python3-pytest python3-pytest-timeout python3-pexpect crun clang
 erofs-utils cpio kmod time lz4 podman containerd runc docker.io
 libcurl4-openssl-dev libzstd-dev zstd docker-registry skopeo umoci debootstrap apache2-utils
 openssl python3-cryptography xz-utils bzip2 libmnl-dev libnftables-dev iperf3 iputils-ping
 netavark aardvark-dns libmicrohttpd-dev libpcre2-dev python3-docker docker-compose"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# docker.io is the reference of tests/e2e/test_docker_probe.py, which starts its
# own dockerd, and docker-registry's package comes with a service on :5000 that
# the tests never use (they start their own registries on free loopback ports):
# installing them must start no daemon (policy-rc.d refuses every service start
# during the install; one already there is left as it is).
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	policy=1
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
if command -v ss >/dev/null 2>&1 && ss -ltnH 'sport = :5000' 2>/dev/null | grep -q .; then
	echo "install-deps: something listens on :5000 (docker-registry's service?); the tests" \
		"do not use it" >&2
fi
