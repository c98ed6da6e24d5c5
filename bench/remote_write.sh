#!/usr/bin/env bash
# bench/remote_write.sh — Prometheus remote write ingest (`make bench`): CPU per point
# of the relay taking remote write (POST /api/v1/write, three samples a point, snappy
# protobuf made once by bench/loadgen -w) against the same points as line protocol
# (/write), with vmagent taking the same remote write and line protocol in the same run
# (vmagent forwards to a VictoriaMetrics; the relay makes every write durable in Kafka
# and forwards nowhere, as in bench/run.sh). BENCH_LINES (1,000,000) points of
# BENCH_RW_SERIES (10,000) series in 5,000-point requests over 2 keep-alive
# connections, after a 200,000-point warm-up, measured as bench/run.sh does
# (bench/lib.sh measure); each row BENCH_RW_ROUNDS (2) times, the lowest kept.
# shellcheck disable=SC2034 # LOADGEN, WARMUP, LINES, SERIES, BATCH: read by measure
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"

LINES=${BENCH_LINES:-1000000}
ROUNDS=${BENCH_RW_ROUNDS:-2}
SERIES=${BENCH_RW_SERIES:-10000}
BATCH=5000
WARMUP=200000
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"
RW="-w -u /api/v1/write?db=bench"

start_kafka
start_victoriametrics
start_vmagent
relay_config ""
start_relay

declare -A CPU HWM ALL
for ((round = 1; round <= ROUNDS; round++)); do
    for what in tsrelay-lp tsrelay-rw vmagent-lp vmagent-rw; do
        case $what in
        tsrelay-lp) m=$(measure "$what" "$RELAY_PID" "$RELAY_HTTP_PORT" "" "$KAFKA_PID") ;;
        tsrelay-rw) m=$(measure "$what" "$RELAY_PID" "$RELAY_HTTP_PORT" "$RW" "$KAFKA_PID") ;;
        vmagent-lp) m=$(measure "$what" "$VMAGENT_PID" "$VMAGENT_PORT" "") ;;
        vmagent-rw) m=$(measure "$what" "$VMAGENT_PID" "$VMAGENT_PORT" "$RW") ;;
        esac
        read -r _ us hwm _ _ <<<"$m"
        ALL[$what]+=" $us"
        if [ -z "${CPU[$what]:-}" ] || [ "$(best "$us" "${CPU[$what]}")" = "$us" ]; then
            CPU[$what]=$us
            HWM[$what]=$hwm
        fi
    done
done

{
    echo
    echo "remote write ingest: $LINES points (3 samples each) of $SERIES series, $BATCH a request, lowest CPU of $ROUNDS rounds"
    printf '%-12s %12s %10s   %s\n' "" "CPU us/point" "peak RSS" "rounds"
    for what in tsrelay-lp tsrelay-rw vmagent-lp vmagent-rw; do
        printf '%-12s %12s %8s MB  %s\n' "$what" "${CPU[$what]}" "${HWM[$what]}" "${ALL[$what]# }"
    done
    echo "tsrelay remote write / line protocol: $(ratio "${CPU[tsrelay-rw]}" "${CPU[tsrelay-lp]}")x;" \
        "tsrelay / vmagent, remote write: $(ratio "${CPU[tsrelay-rw]}" "${CPU[vmagent-rw]}")" \
        "(line protocol: $(ratio "${CPU[tsrelay-lp]}" "${CPU[vmagent-lp]}"))"
} | tee -a "$REPO_ROOT/build/bench-remote-write.txt"
stop_relay >/dev/null
