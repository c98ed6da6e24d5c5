#!/usr/bin/env bash
# tools/telegraf/build.sh — build the real Telegraf the integration tests (0090, 0091)
# and the Kafka input benchmark (bench/kafka_input.sh) run, from the Go module proxy into
# the cache.
#
# Usage: tools/telegraf/build.sh    prints the binary's path on its last line (stdout)
# Env:   TSRELAY_CACHE  cache root (default $HOME/.cache/tsrelay)
#        GO             the go command (default: go on the PATH, else /usr/local/go/bin/go)
#
# Debian 12 has no telegraf package; the Go module proxy has Telegraf's source, so any
# machine with Go and the proxy can build the real thing. A full build compiles several
# hundred plugins, so this is a `custom` build with only the plugins the tests use. With `custom`, parsers and
# serializers are plugins too: parsers.influx (data_format = "influx" of inputs.exec,
# inputs.file and inputs.kafka_consumer), parsers.json (the benchmark's JSON topic) and
# serializers.influx (outputs.file) have to be named, or Telegraf refuses those configs with "undefined but requested parser".
# Linked as InfluxData links its releases (static, CGO_ENABLED=0, the version stamped
# in, so that it reports and sends User-Agent "Telegraf/1.37.2"). About 2.5 minutes here
# on a cold Go cache; nothing when the binary is already built.
#
# Telegraf 1.37 needs Go 1.25 (Debian 12's golang is 1.19): a Go from go.dev/dl, as in
# /usr/local/go. A Go 1.21 to 1.24 fetches the toolchain go.mod asks for from the same
# proxy (GOTOOLCHAIN=auto).
set -euo pipefail

version=1.37.2
pkg=github.com/influxdata/telegraf
tags=custom,inputs.exec,inputs.file,inputs.kafka_consumer,outputs.influxdb,outputs.influxdb_v2,outputs.graphite,outputs.file,outputs.discard,parsers.influx,parsers.json,serializers.influx

cache=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}
dir=$cache/telegraf-$version
ldflags="-w -s -X $pkg/internal.Version=$version"
# The marker records how it was built, and is written only after a complete build, so an
# interrupted build or a changed plugin list is built again.
marker=$dir/.complete
recipe="$tags $ldflags"

if [ -x "$dir/telegraf" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$recipe" ]; then
    echo "telegraf $version already in $dir" >&2
    echo "$dir/telegraf"
    exit 0
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -x "$go" ] || command -v "$go" >/dev/null ||
    { echo "build.sh: go not found (install Go 1.25 or newer from go.dev/dl, or set GO)" >&2; exit 1; }
echo "building telegraf $version ($tags) into $dir" >&2
rm -rf "$dir.tmp" "$marker"
mkdir -p "$dir.tmp"
trap 'rm -rf "$dir.tmp"' EXIT
# GOFLAGS empty: the caller's go flags (-mod=vendor, ...) do not apply to a build
# @version.
GOBIN=$dir.tmp GOFLAGS= CGO_ENABLED=0 "$go" install -tags "$tags" \
    -ldflags "$ldflags" "$pkg/cmd/telegraf@v$version" >&2
"$dir.tmp/telegraf" --version | grep -qx "Telegraf $version.*" ||
    { echo "build.sh: the built telegraf is not $version" >&2; exit 1; }
mkdir -p "$dir"
mv -f "$dir.tmp/telegraf" "$dir/telegraf"
echo "$recipe" >"$marker"
echo "$dir/telegraf"
