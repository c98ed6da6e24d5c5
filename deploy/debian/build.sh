#!/usr/bin/env bash
# deploy/debian/build.sh [OUTDIR] — builds tsrelay_VERSION_ARCH.deb from bin/ (make deb).
#
# The package: /usr/bin/tsrelay and tsrelayctl, their man pages (help2man, from
# --help and --version), the systemd unit (deploy/systemd, pointed at /usr/bin), the
# tsrelay system user (sysusers.d) and /var/lib/tsrelay (tmpfiles.d), and
# /etc/tsrelay/tsrelay.yaml as a conffile. Depends: as dpkg-shlibdeps finds them from
# the binaries. The service is not enabled: the config needs its brokers first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build}
version=$(sed -n 's/^#define TSR_VERSION "\(.*\)"/\1/p' "$root/relay/core/version.h")
arch=$(dpkg --print-architecture)
for tool in dpkg-deb dpkg-shlibdeps help2man; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found: run tools/setup.sh" >&2; exit 1; }
done
for b in tsrelay tsrelayctl; do
    [ -x "$root/bin/$b" ] || { echo "build.sh: bin/$b missing: run make" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/tsrelay
install -d "$pkg/DEBIAN" "$pkg/usr/share/man/man1" "$pkg/usr/share/doc/tsrelay"
for b in tsrelay tsrelayctl; do
    install -D -m 0755 -s "$root/bin/$b" "$pkg/usr/bin/$b"
done
help2man --no-info --name "per-datacenter metrics relay, durable in Kafka" \
    "$root/bin/tsrelay" | gzip -9n >"$pkg/usr/share/man/man1/tsrelay.1.gz"
help2man --no-info --name "operate tsrelay: status, checkpoints, replays" \
    "$root/bin/tsrelayctl" | gzip -9n >"$pkg/usr/share/man/man1/tsrelayctl.1.gz"
sed -e 's|/usr/local/bin/|/usr/bin/|g' -e 's|/usr/local/share/doc/|/usr/share/doc/|g' \
    "$root/deploy/systemd/tsrelay.service" | install -D -m 0644 /dev/stdin "$pkg/lib/systemd/system/tsrelay.service"
printf 'u tsrelay - "tsrelay metrics relay" /var/lib/tsrelay\n' |
    install -D -m 0644 /dev/stdin "$pkg/usr/lib/sysusers.d/tsrelay.conf"
printf 'd /var/lib/tsrelay 0700 tsrelay tsrelay -\n' |
    install -D -m 0644 /dev/stdin "$pkg/usr/lib/tmpfiles.d/tsrelay.conf"
install -D -m 0640 "$root/deploy/debian/tsrelay.yaml" "$pkg/etc/tsrelay/tsrelay.yaml"
install -m 0644 "$root/README.md" "$root/config/CONFIG.md" "$pkg/usr/share/doc/tsrelay/"
install -m 0644 "$root/docs/"*.md "$pkg/usr/share/doc/tsrelay/"
echo /etc/tsrelay/tsrelay.yaml >"$pkg/DEBIAN/conffiles"
install -m 0755 "$root/deploy/debian/postinst" "$root/deploy/debian/prerm" \
    "$root/deploy/debian/postrm" "$pkg/DEBIAN/"

# dpkg-shlibdeps reads a source package's control file: give it a minimal one.
mkdir -p "$stage/src/debian"
printf 'Source: tsrelay\n\nPackage: tsrelay\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O "$pkg/usr/bin/tsrelay" "$pkg/usr/bin/tsrelayctl" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: tsrelay
Version: $version
Architecture: $arch
Maintainer: tsrelay developers <tsrelay@localhost>
Installed-Size: $size
Depends: $depends, adduser | systemd
Section: net
Priority: optional
Description: per-datacenter metrics relay, durable in Kafka
 tsrelay accepts InfluxDB line protocol over HTTP and Graphite over TCP/UDP,
 answers a write once it is durable in Kafka (or, while Kafka is away, in a local
 spool), and delivers every point to every downstream time-series cluster with
 per-cluster checkpoints, health checks, catch-up and replays (tsrelayctl).
CONTROL
mkdir -p "$out"
deb=$out/tsrelay_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
