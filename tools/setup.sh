#!/usr/bin/env bash
# tools/setup.sh — install what the build and the tests need (Debian 12).
#
# Idempotent and fast when everything is present: it asks dpkg what is missing, runs
# `apt-get update` and `apt-get install` only for that, then makes sure the Kafka broker
# jars (tools/kafka/fetch.sh) and a Telegraf binary (tools/telegraf/build.sh, built with
# Go from the Go module proxy) are in the cache. A fresh machine has none of this, so CI
# (`make test`) runs it first. Needs root (or sudo) only when something is missing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The build: compiler, pkg-config and the -dev packages the Makefile's PKGS names,
# cmocka for unit tests, clang (+ compiler-rt) for libFuzzer, cppcheck and
# clang-format for `make lint` / `make format`.
pkgs=(make gcc libc6-dev pkg-config clang libclang-rt-14-dev clang-format cppcheck
      librdkafka-dev libevent-dev libcurl4-openssl-dev liblmdb-dev libssl-dev libyaml-dev
      libcmocka-dev zlib1g-dev libdeflate-dev libhttp-parser-dev libpcre2-dev
      libsnappy-dev libprotobuf-c-dev protobuf-c-compiler libjansson-dev)
# The integration tests: the real servers (run by tests/lib/harness.sh, never as
# services), kcat to poke Kafka, and the usual shell tools.
pkgs+=(influxdb victoria-metrics kcat python3 curl procps)
# 0036 reads the relay's accept queue (its listen backlog) with ss.
pkgs+=(iproute2)
# TLS tests (0058) make their certificates with the openssl command; 0037 puts nginx
# (mTLS) in front of a VictoriaMetrics, as SREs do.
pkgs+=(openssl nginx-light)
# The status page test (0065) renders GET / in headless Chromium; fonts-liberation gives
# it proportional fonts with the usual metrics.
pkgs+=(chromium fonts-liberation)
# 0005 scores deploy/systemd/tsrelay.service with systemd-analyze (no systemd running).
pkgs+=(systemd)
# 0006 checks and unit-tests the alert rules in deploy/prometheus with promtool,
# 0007 runs a Prometheus against a live relay for the dashboard's queries, and 0026
# writes to one with the prometheus sink (remote write).
pkgs+=(prometheus)
# 0027 writes to a carbon-cache with the graphite sink and reads its whisper files back.
pkgs+=(graphite-carbon python3-whisper)
# make deb (0008): man pages from --help, the package's Depends from the binaries, and
# man to check the pages render.
pkgs+=(help2man dpkg-dev man-db)
# 0009 reads the Helm chart's rendered manifests with Debian's python3-yaml.
pkgs+=(python3-yaml)
# make image (0004): a root filesystem from Debian's packages, committed and run as an
# OCI image without a registry or a Docker engine (runc: crun refuses hybrid cgroups).
pkgs+=(mmdebstrap buildah podman runc uidmap)
# Kafka itself runs from Maven Central jars on a JRE; only install Java and Maven when
# they are not already on the PATH (a developer may have their own).
command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || pkgs+=(maven)

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [ "${status:0:2}" = "ii" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#pkgs[@]} apt packages present"
else
    echo "setup: installing ${missing[*]}"
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    # influxdb and victoria-metrics ship init scripts; the tests start their own
    # servers, so keep dpkg from starting system services while installing (unless the
    # machine already has a policy, as containers do).
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod 755 "$policy"
        made_policy=1
        trap '[ $made_policy = 1 ] && $sudo rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
    echo "setup: installed ${#missing[@]} packages"
fi

libs=$("$root/tools/kafka/fetch.sh")
echo "setup: kafka jars in $libs"

# The real Telegraf for the tests that run it (0090, 0091): Debian 12 has no package, so
# it is built from the Go module proxy (needs Go 1.25, e.g. /usr/local/go).
telegraf=$("$root/tools/telegraf/build.sh")
echo "setup: telegraf in $telegraf"

# confluent-kafka from PyPI for the Kafka input test (0028): a producer as users run it.
pylib=$("$root/tools/python/fetch.sh")
echo "setup: python client libraries in $pylib"

# helm, kubeconform and the Kubernetes schemas for the chart test (0009), built from the
# Go module proxy and PyPI (a few minutes once).
k8s=$("$root/tools/k8s/build.sh" | tail -n 1)
echo "setup: helm, kubeconform and schemas: $k8s"
