#!/usr/bin/env bash
# bench/shaping.sh — what the rules and the cardinality guard cost (`make bench`).
#
# Ingest CPU per line of the relay with no rules and with bench/rules20.yaml (20 rules,
# 10 regular expressions, every line rewritten: a tag renamed, one added), and of
# vmagent without and with bench/relabel20.yaml (its relabeling counterpart), in the
# same run: BENCH_LINES (2,000,000) lines of BENCH_SHAPING_SERIES (10,000) series in
# 5,000-line requests over 2 keep-alive connections, after a 200,000-line warm-up,
# measured as bench/run.sh does
# (bench/lib.sh measure). Each of the four runs BENCH_SHAPING_ROUNDS (2) times, the
# relays started afresh each round, and the table keeps each one's lowest CPU per line
# (noise here only ever adds), printing every round under it. Target (issue 17): the
# rules add at most 30 %. Then the guard: a relay with cardinality.max_series above
# 1,000,000 takes 1,000,000 lines of 1,000,000 distinct series; the guard's own count
# of its memory (/status), and the relay's RSS against the same load without a guard.
# shellcheck disable=SC2034 # LOADGEN, WARMUP, LINES, SERIES, BATCH: read by measure
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"

LINES=${BENCH_LINES:-2000000}
ROUNDS=${BENCH_SHAPING_ROUNDS:-2}
SERIES=${BENCH_SHAPING_SERIES:-10000}
BATCH=5000
WARMUP=200000
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"

start_kafka
start_victoriametrics
start_vmagent
PLAIN_PID=$VMAGENT_PID PLAIN_PORT=$VMAGENT_PORT
VMAGENT_QUEUE=-relabel start_vmagent -remoteWrite.relabelConfig="$REPO_ROOT/bench/relabel20.yaml"
RELABEL_PID=$VMAGENT_PID RELABEL_PORT=$VMAGENT_PORT

"$REPO_ROOT/build/release/bench/shapebench" "$REPO_ROOT/bench/rules20.yaml" 20

# relay_row EXTRA_YAML: a fresh relay with EXTRA_YAML, one measured row, stopped after.
relay_row()
{
    relay_config "$1"
    start_relay
    VMAGENT_PID=$PLAIN_PID
    measure tsrelay "$RELAY_PID" "$RELAY_HTTP_PORT" "" "$KAFKA_PID"
    stop_relay >/dev/null
}

declare -A CPU RATE HWM ALL
for ((round = 1; round <= ROUNDS; round++)); do
    for what in plain rules vmagent vmagent-relabel; do
        case $what in
        plain) m=$(relay_row "") ;;
        rules) m=$(relay_row "$(grep -v '^#' "$REPO_ROOT/bench/rules20.yaml")") ;;
        vmagent) RELAY_PID=$PLAIN_PID VMAGENT_PID=$RELABEL_PID m=$(measure vmagent "$PLAIN_PID" "$PLAIN_PORT" "") ;;
        vmagent-relabel) RELAY_PID=$PLAIN_PID VMAGENT_PID=$RELABEL_PID m=$(measure vmagent-relabel "$RELABEL_PID" "$RELABEL_PORT" "") ;;
        esac
        read -r lps us hwm _ _ <<<"$m"
        ALL[$what]+=" $us"
        if [ -z "${CPU[$what]:-}" ] || [ "$(best "$us" "${CPU[$what]}")" = "$us" ]; then
            CPU[$what]=$us RATE[$what]=$lps HWM[$what]=$hwm
        fi
    done
done

log "the guard at 1,000,000 distinct series"
guard_row()
{
    local out before after
    relay_config "$1"
    start_relay
    before=$(rss_mb "$RELAY_PID")
    out=$("$LOADGEN" -p "$RELAY_HTTP_PORT" -u "/write?db=bench" -b "$BATCH" -c 2 -d -S 1000000 -n 1000000) ||
        fail "guard load: $out"
    quiet_cpu "$RELAY_PID" >/dev/null
    after=$(rss_mb "$RELAY_PID")
    echo "$before $after $(admin_get /status | python3 -c '
import json, sys
g = json.load(sys.stdin)["shaping"]["cardinality"]
print(g.get("memory_bytes", 0), g.get("series", 0), g.get("refused_total", 0))')"
    stop_relay >/dev/null
}
read -r n_before n_after _ <<<"$(guard_row "")"
read -r g_before g_after g_mem g_series g_refused <<<"$(guard_row "cardinality: {max_series: 2000000}")"

row() { printf '%-34s %12s %12s %10s\n' "$@"; }
printf '\nrules: %s lines of %s series a row, 5,000-line requests, 2 keep-alive connections;\n' "$LINES" "$SERIES"
printf 'the lowest CPU per line of %s rounds\n\n' "$ROUNDS"
row "" "lines/s" "CPU-us/line" "peak MiB"
declare -A LABEL=([plain]="tsrelay, no rules" [rules]="tsrelay, 20 rules" [vmagent]="vmagent, no relabeling"
    [vmagent-relabel]="vmagent, 20 relabel rules")
for what in plain rules vmagent vmagent-relabel; do
    row "${LABEL[$what]}" "${RATE[$what]}" "${CPU[$what]}" "${HWM[$what]}"
done
r=$(ratio "${CPU[rules]}" "${CPU[plain]}")
v=$(ratio "${CPU[vmagent-relabel]}" "${CPU[vmagent]}")
printf '\ntsrelay with rules / without: %s (target <= 1.30: %s); vmagent with relabeling / without: %s\n' \
    "$r" "$(met "$r <= 1.30")" "$v"
printf 'tsrelay with rules / vmagent with relabeling: %s\n' "$(ratio "${CPU[rules]}" "${CPU[vmagent-relabel]}")"
for what in plain rules vmagent vmagent-relabel; do printf '  %-16s every round:%s\n' "$what" "${ALL[$what]}"; done
printf '\nguard: 1,000,000 lines of 1,000,000 distinct series; %s admitted, %s refused\n' "$g_series" "$g_refused"
printf '  the guard'"'"'s memory (its own count, /status): %s MiB\n' "$(calc "printf \"%.1f\", $g_mem / 1048576")"
printf '  relay RSS before -> after the load: %s -> %s MiB with the guard, %s -> %s MiB without\n' \
    "$g_before" "$g_after" "$n_before" "$n_after"
