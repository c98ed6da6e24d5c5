#!/bin/sh
# tests/fuzz/run.sh [SECONDS] [TARGET...] — fuzz the parsers of outside bytes, SECONDS
# (default 60) per target, one target after the other (a fuzzer takes a core).
# tests/fuzz/run.sh --list — print the target names, one a line.
#
# Targets (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/; all by default):
#   lineproto  relay/core/lineproto.c   HTTP /write bodies
#   graphite   relay/ingest/graphite.c    templates and Graphite plaintext lines
#   config     config/config.c, schema.c  tsrelay.yaml
#   json       replay/ctl_json.c          admin API and POST /replays bodies
#   json_points relay/ingest/json_points.c JSON records of a Kafka input (inputs.kafka)
#              relay/ingest/json_time.c   and their times
#   gzip       relay/core/gzip.c          Content-Encoding: gzip bodies
#   statement  relay/ingest/statement.c   /query CREATE DATABASE
#   park       relay/deliver/park.c       parked keys in Kafka commit metadata
#   httpd      relay/core/httpd.c         HTTP requests on one connection (ingest and
#              relay/admin/admin_auth.c   admin listeners), admin paths and query strings
#
# Each is built as build/fuzz/fuzz_NAME with libFuzzer + ASan + UBSan and run over a
# scratch copy of its seeds (build/fuzz/corpus/NAME, so the checked-in seeds stay small).
# Exits non-zero if any target finds a crash, leak, timeout or broken invariant, after
# running the others; the reproducer is left in build/fuzz/NAME/ until that target runs
# again (copy it out, or replay it with:
# build/fuzz/fuzz_NAME build/fuzz/NAME/crash-...), the log in build/fuzz/NAME.log.
set -eu

all="lineproto graphite config json json_points gzip statement park httpd"
if [ "${1:-}" = --list ]; then
    printf '%s\n' $all
    exit 0
fi
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$all}
cd "$(dirname "$0")/../.."
out=build/fuzz
mkdir -p "$out"

# The sources and libraries each target links, and its largest input.
sources() {
    case $1 in
    lineproto) echo "relay/core/lineproto.c relay/core/buf.c -lm" ;;
    graphite) echo "relay/ingest/graphite.c relay/core/lineproto.c relay/core/buf.c -lm" ;;
    config) echo "config/config.c config/schema.c relay/core/buf.c -lyaml -lm" ;;
    json) echo "replay/ctl_json.c -lm" ;;
    json_points) echo "relay/ingest/json_points.c relay/ingest/json_time.c relay/core/lineproto.c relay/core/buf.c -ljansson -lm" ;;
    gzip) echo "relay/core/gzip.c relay/core/buf.c -lz -ldeflate" ;;
    statement) echo "relay/ingest/statement.c" ;;
    park) echo "relay/deliver/park.c" ;;
    httpd) echo "relay/core/httpd.c relay/core/tls_server.c relay/core/addr.c relay/core/buf.c
                 relay/core/log.c relay/core/metrics.c relay/admin/admin_auth.c
                 -levent -levent_openssl -lssl -lcrypto -lhttp_parser" ;;
    *) return 1 ;;
    esac
}
max_len() {
    case $1 in
    config | gzip) echo 16384 ;;
    *) echo 4096 ;;
    esac
}

failed=""
for t in $targets; do
    src=$(sources "$t") || { echo "fuzz: unknown target '$t'" >&2; exit 2; }
    # shellcheck disable=SC2086 # $src is a list of files and -l flags
    clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I. -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
        "tests/fuzz/fuzz_$t.c" $src -o "$out/fuzz_$t"

    rm -rf "$out/corpus/$t" "$out/$t"
    mkdir -p "$out/corpus" "$out/$t"
    cp -R "tests/fuzz/corpus/$t" "$out/corpus/$t"

    if "$out/fuzz_$t" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
            -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$out/$t/" \
            "$out/corpus/$t" 2>"$out/$t.log"; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
        cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$out/$t.log" | tail -n 1 |
              sed -n 's/.*\(cov: [0-9]* ft: [0-9]*\).*/\1/p')
        echo "fuzz $t: no crash in ${secs}s ($execs execs, $cov)"
    else
        rc=$?
        tail -n 60 "$out/$t.log"
        echo "fuzz $t: FAILED (exit $rc), reproducer: $(ls "$out/$t"/* 2>/dev/null | tr '\n' ' ')" >&2
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed" >&2
    exit 1
fi
