#!/usr/bin/env bash
# deploy/container/build.sh [OUTDIR] — the OCI image of bin/tsrelay and bin/tsrelayctl
# without a registry or a Docker engine (make image): a minimal Debian 12 root
# filesystem made by mmdebstrap from Debian's packages (the essential set, the relay's
# runtime libraries and CA certificates; no documentation, no package caches),
# committed with buildah. Writes OUTDIR/tsrelay_VERSION.oci.tar (an OCI archive:
# `podman load -i` it, or push it with skopeo) and prints its path.
#
# The image: user tsrelay (uid 10001) and nothing run as root, entrypoint tsrelay -c
# /etc/tsrelay/tsrelay.yaml (mount the config there, secrets beside it), state in the
# volume /var/lib/tsrelay, made for a read-only root filesystem. buildah keeps its
# working storage in a temporary directory, so building leaves nothing behind.
# deploy/container/Dockerfile builds the same for people who have Docker.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build}
version=$(sed -n 's/^#define TSR_VERSION "\(.*\)"/\1/p' "$root/relay/core/version.h")
for tool in mmdebstrap buildah; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found: run tools/setup.sh" >&2; exit 1; }
done
for b in tsrelay tsrelayctl; do
    [ -x "$root/bin/$b" ] || { echo "build.sh: bin/$b missing: run make" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "build.sh: mmdebstrap and buildah need root here" >&2; exit 1; }

# The relay's runtime libraries: what the Debian package depends on.
libs=librdkafka1,libevent-2.1-7,libevent-pthreads-2.1-7,libevent-openssl-2.1-7,libcurl4
libs+=,liblmdb0,libyaml-0-2,libssl3,zlib1g,libdeflate0,libpcre2-8-0,libhttp-parser2.9,ca-certificates
libs+=,libsnappy1v5,libprotobuf-c1,libjansson4

work=$(mktemp -d)
trap 'buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs rm -a >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=essential --include="$libs" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="copy-in $root/bin/tsrelay $root/bin/tsrelayctl /usr/bin" \
    --customize-hook='echo "tsrelay:x:10001:10001:tsrelay:/var/lib/tsrelay:/usr/sbin/nologin" >>"$1/etc/passwd"' \
    --customize-hook='echo "tsrelay:x:10001:" >>"$1/etc/group"' \
    --customize-hook='mkdir -p "$1/etc/tsrelay" "$1/var/lib/tsrelay" && chown 10001:10001 "$1/var/lib/tsrelay" && chmod 0700 "$1/var/lib/tsrelay"' \
    --customize-hook='rm -rf "$1/var/cache/apt" "$1/var/lib/apt/lists" "$1/var/log"/*' \
    bookworm "$work/rootfs.tar" >&2

b() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }
ctr=$(b from scratch)
b add "$ctr" "$work/rootfs.tar" / >/dev/null
b config --user 10001:10001 --workingdir /var/lib/tsrelay \
    --entrypoint '["/usr/bin/tsrelay"]' --cmd '-c /etc/tsrelay/tsrelay.yaml' \
    --volume /var/lib/tsrelay --port 8086/tcp --port 2003/tcp --port 2003/udp --port 8093/tcp \
    --stop-signal SIGTERM \
    --label org.opencontainers.image.title=tsrelay \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.description="per-datacenter metrics relay, durable in Kafka" \
    "$ctr"
b commit --quiet --format oci "$ctr" "localhost/tsrelay:$version" >/dev/null
mkdir -p "$out"
archive=$out/tsrelay_$version.oci.tar
rm -f "$archive"
b push --quiet "localhost/tsrelay:$version" "oci-archive:$archive:localhost/tsrelay:$version" >&2
echo "$archive"
