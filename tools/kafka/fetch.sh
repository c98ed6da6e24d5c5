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
# - KIP-896 (accepted for 3.7, where the old versions were marked deprecated) removed
#   every client protocol API version older than the Kafka 2.1 baseline in Kafka 4.0
#   (apache/kafka KAFKA-18269). A 4.x broker answers such requests with
#   UNSUPPORTED_VERSION or closes the connection.
# - Debian 12 ships librdkafka 2.0.2, which predates that change and gates features on
#   exact old versions: with a raised minimum it disables features it should keep
#   (confluentinc/librdkafka#4948) and its gzip/snappy/lz4/zstd check looks for
#   Produce v0 specifically, so it silently stops compressing
#   (confluentinc/librdkafka#4956; Kafka 4.0 works around that one by still
#   advertising Produce v0-v2, KAFKA-18659). Those fixes landed in librdkafka 2.x
#   releases far newer than 2.0.2.
# - 3.9 is the last line that still serves all the old versions, and KRaft has been
#   production-ready since 3.3, so 3.9.1 is the newest broker that Debian's librdkafka
#   talks to without surprises. Revisit 4.x when the base image's librdkafka moves on.
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

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && ls "$dir"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
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
(cd "$work" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory="$dir.tmp" -DincludeScope=runtime) >&2
ls "$dir.tmp"/kafka_2.13-"$version".jar >/dev/null \
    || { echo "fetch.sh: kafka_2.13-$version.jar missing after mvn" >&2; exit 1; }
rm -rf "$dir" "$cache/kafka-$version"/*.jsa
mv "$dir.tmp" "$dir"
echo "$want" >"$marker"
echo "$dir"
