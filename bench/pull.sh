#!/bin/sh
# Pull speed and memory (issue 13): `isobox pull` of a 6-layer, ~155 MB image
# from Debian's docker-registry on loopback against `skopeo copy docker://...
# oci:DIR`, `podman pull` and dockerd's `docker pull`, each into a clean store
# every run; medians of BENCH_RUNS runs (default 3), isobox over the fastest
# other, isobox's peak RSS. Targets: at most 1.0x, at most 32 MiB.
# Everything runs in a network and mount namespace of its own (dockerd and the
# registry must share one; nothing touches the host's network), the stores on
# one tmpfs. The image is built once into build/pullbench-image (debootstrap
# from apt's mirror the first time). Usage (as root, after make): bench/pull.sh
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "pull.sh: must run as root" >&2; exit 1; }
for tool in docker-registry skopeo podman /usr/sbin/dockerd /usr/bin/time unshare; do
	command -v "$tool" >/dev/null 2>&1 || { echo "pull.sh: $tool missing: make deps" >&2; exit 1; }
done
[ -x build/isobox ] || echo "pull.sh: build/isobox missing: its column will be an error" >&2
# Build the image outside the namespaces: debootstrap needs the mirror.
/usr/bin/python3 tests/e2e/oci_images.py pullbench >/dev/null
exec unshare -n -m --propagation private sh -c \
	'ip link set lo up && ISOBOX_BENCH_INSIDE=1 exec /usr/bin/python3 bench/pull.py'
