#!/usr/bin/env bash
# bench/run.sh — the ingest benchmark (`make bench`).
#
# Same machine, same run, same lines: 3-field line protocol in 5,000-line requests over
# 2 connections into tsrelay (HTTP -> parse -> normalise -> Kafka, acks=all) and into
# vmagent's /write (-> its local queue -> VictoriaMetrics), both running side by side
# for the whole run and measured one after the other, row by row:
#
#   series        1,000 and 10,000 distinct series (loadgen -S)
#   connections   keep-alive (2 connections for the whole run) and one new connection
#                 per request (loadgen -k: `Connection: close`, as a client without a
#                 connection pool sends)
#
# Each measurement: a 200,000-line warm-up with the same arguments, both processes left
# to go quiet (vmagent may still be sending to VictoriaMetrics), VmHWM reset
# (/proc/PID/clear_refs), then LINES lines. CPU (utime+stime from /proc) of the
# receiving process, and of the Kafka broker for tsrelay, runs from just before
# loadgen until the process is quiet again (the first 0.5 s with at most one 10 ms tick
# of CPU), so vmagent's sending after the last answer counts. Prints lines/s, CPU-µs per
# line (target for tsrelay: <= 0.5, i.e. 2,000,000 lines/s per relay core), peak RSS
# (VmHWM since the reset) and RSS after, the broker's CPU per line, and tsrelay/vmagent.
#
# BENCH_LINES (default 3,000,000) sets the measured volume per row, BENCH_SERIES
# ("1000 10000") the series counts, BENCH_BATCH (5000) the lines per request.
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"

LINES=${BENCH_LINES:-3000000}
SERIES_LIST=${BENCH_SERIES:-1000 10000}
BATCH=${BENCH_BATCH:-5000}
WARMUP=200000
TARGET_US=0.5 # relay CPU-µs per line, HTTP -> Kafka (issue 13)
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"

start_kafka
start_victoriametrics
relay_config
start_relay
start_vmagent

PARSE=$("$REPO_ROOT/build/release/bench/parsebench" 30)
echo "$PARSE"

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
per_core() { calc "if ($1 > 0) printf \"%.0f\", 1e6 / $1; else printf \"-\""; }
row() { printf '%-26s %10s %12s %14s %10s %9s %14s   %-9s %s\n' "$@"; }
TABLE=()
for SERIES in $SERIES_LIST; do
    for kflag in "" -k; do
        what="keep-alive"
        [ -z "$kflag" ] || what="conn per request"
        m=$(measure tsrelay "$RELAY_PID" "$RELAY_HTTP_PORT" "$kflag" "$KAFKA_PID") ||
            fail "tsrelay, $SERIES series, $what: no figures"
        read -r r_lps r_us r_hwm r_rss r_kus <<<"$m"
        m=$(measure vmagent "$VMAGENT_PID" "$VMAGENT_PORT" "$kflag") ||
            fail "vmagent, $SERIES series, $what: no figures"
        read -r v_lps v_us v_hwm v_rss _ <<<"$m"
        TABLE+=("$(commas "$SERIES") series, $what")
        TABLE+=("$(row "  tsrelay" "$r_lps" "$r_us" "$(per_core "$r_us")" \
            "$r_hwm" "$r_rss" "$r_kus" "<= $TARGET_US" "$(met "$r_us <= $TARGET_US")")")
        TABLE+=("$(row "  vmagent" "$v_lps" "$v_us" "$(per_core "$v_us")" \
            "$v_hwm" "$v_rss" - "" "")")
        TABLE+=("$(row "  tsrelay / vmagent" "$(ratio "$r_lps" "$v_lps")" "$(ratio "$r_us" "$v_us")" \
            "" "$(ratio "$r_hwm" "$v_hwm")" "$(ratio "$r_rss" "$v_rss")" "" "" "")")
    done
done

printf '\ningest: %s lines a row, %s-line requests over 2 connections (keep-alive) or a new\n' \
    "$LINES" "$BATCH"
printf 'connection per request; tsrelay and vmagent running side by side\n\n'
row "" "lines/s" "CPU-us/line" "lines/s/core" "peak RSS" "RSS MiB" "broker CPU-us" "target" "met"
printf '%s\n' "${TABLE[@]}"
printf '\nCPU-us/line: the process'"'"'s utime+stime from just before loadgen until it is quiet again,\n'
printf '/ lines (tsrelay: HTTP -> Kafka, acks=all; vmagent: HTTP -> VictoriaMetrics).\n'
printf 'lines/s/core = 1e6 / CPU-us/line. peak RSS: VmHWM MiB during the row (reset before it).\n'
printf 'broker CPU-us: the Kafka broker over the same span. target: tsrelay CPU-us/line.\n'
stop_relay
