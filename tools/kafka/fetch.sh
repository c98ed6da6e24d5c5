#!/usr/bin/env bash
# tools/kafka/fetch.sh — fetch the Apache Kafka broker jars from Maven Central into a cache.
#
# Usage: tools/kafka/fetch.sh     prints the libs directory on its last line (stdout)
# Env:   TSRELAY_CACHE  cache root (default $HOME/.cache/tsrelay)
#
# The integration tests run a real single-node KRaft broker from these jars
# (`java -cp "DIR/*" kafka.Kafka ...`, see tests/lib/harness.sh); no tarball, no
# ZooKeeper. The version comes from tools/kafka/pom.xml.
#
# Why Kafka 3.9.1 and not 4.x:
# - KIP-896 set a protocol baseline at Kafka 2.1: the older client API versions were
#   marked deprecated in 3.7 and removed in 4.0 (KAFKA-18269). A 4.x broker answers a
#   removed version with UNSUPPORTED_VERSION (or drops the connection).
# - Debian 12 ships librdkafka 2.0.2 (early 2023). librdkafka enables features by
#   matching exact old API version ranges, so against a broker whose minimum versions
#   went up it switches off features it should keep (confluentinc/librdkafka#4948), and
#   its compression check wants Produce v0, so it silently stops compressing
#   (confluentinc/librdkafka#4956; Kafka 4.0 papers over that one by still advertising
#   Produce v0-v2, KAFKA-18659). The librdkafka fixes are from 2025, far newer than 2.0.2.
# - 3.9 is the last line that still serves every old version, and KRaft (no ZooKeeper)
#   has been production-ready since 3.3. So 3.9.1 is the newest broker that Debian's
#   librdkafka talks to without surprises. 4.x is untested here; try it when the base
#   image's librdkafka moves on.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
[ -n "$version" ] || { echo "fetch.sh: cannot read kafka.version from $here/pom.xml" >&2; exit 1; }

cache=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}
dir=$cache/kafka-$version/libs
# The marker is written only after a complete copy, and records the pom it came from,
# so an interrupted fetch or a changed pom is fetched again.
marker=$cache/kafka-$version/.complete
want=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && ls "$dir/kafka_2.13-$version.jar" >/dev/null 2>&1; then
    echo "kafka $version jars already in $dir" >&2
    echo "$dir"
    exit 0
fi

command -v mvn >/dev/null || { echo "fetch.sh: mvn not found (run tools/setup.sh)" >&2; exit 1; }
echo "fetching kafka $version jars from Maven Central into $dir" >&2
rm -rf "$dir.tmp" "$marker"
mkdir -p "$dir.tmp"
# Maven writes target/ next to the pom: run it on a copy so the tree stays clean.
work=$(mktemp -d)
trap 'rm -rf "$work" "$dir.tmp"' EXIT
cp "$here/pom.xml" "$work/pom.xml"
# (-q still prints bare colour resets: strip them, keep real messages; pipefail keeps
# mvn's exit status.)
(cd "$work" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies \
    -DoutputDirectory="$dir.tmp" -DincludeScope=runtime) 2>&1 |
    sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2
ls "$dir.tmp/kafka_2.13-$version.jar" >/dev/null \
    || { echo "fetch.sh: kafka_2.13-$version.jar missing after mvn" >&2; exit 1; }
rm -rf "$dir" "$cache/kafka-$version"/*.jsa
mv "$dir.tmp" "$dir"
echo "$want" >"$marker"
echo "$dir"
