#!/usr/bin/env bash
# tools/python/fetch.sh — the Python client libraries the tests run as users would:
# confluent-kafka (Confluent's Python client, librdkafka inside its wheel) for the
# Kafka input test (0028), installed from PyPI into the cache, apart from any system or
# pyenv site-packages.
#
# Usage: tools/python/fetch.sh    prints the directory to put on PYTHONPATH
# Env:   TSRELAY_CACHE  cache root (default $HOME/.cache/tsrelay)
#        PYTHON         the interpreter the tests use (default python3)
# Seconds once; nothing when it is already there.
set -euo pipefail

confluent_kafka_version=2.16.2
cache=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}
py=${PYTHON:-python3}
tag=$("$py" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
dir=$cache/python-$tag
stamp="confluent-kafka==$confluent_kafka_version"
if [ "$(cat "$dir/.complete" 2>/dev/null)" != "$stamp" ]; then
    echo "installing $stamp from PyPI into $dir" >&2
    rm -rf "$dir"
    "$py" -m pip install -q --disable-pip-version-check --target "$dir" "$stamp" >&2
    echo "$stamp" >"$dir/.complete"
fi
echo "$dir"
