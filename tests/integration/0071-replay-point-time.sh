#!/usr/bin/env bash
# timeout: 300
# asan: yes
# A replay by the points' own time: 50,000 points 1 ms apart (point time T0 .. T0+50 s,
# all entering Kafka now); two windows of point time deleted from InfluxDB
# (DELETE WHERE time >= .. AND time < ..). `replay start --points-since A --points-until B`
# (Kafka range defaulting to everything retained) re-sends exactly the 10,000 points of
# the first window (the job says so), a dry run of the second counts its 5,000, a replay
# of it restores it: InfluxDB holds all 50,000 again (count, sum, sampled values) and the
# VictoriaMetrics without deduplication, left out, holds each point once. An inverted
# point range is refused before anything is sent.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
# No deduplication: a point delivered twice shows as two samples.
export VM_FLAGS=-dedup.minScrapeInterval=0s
. "$(dirname "$0")/../lib/forward.sh"

N=50000
T0_MS=1700000000000 # lpsend's first timestamp
start_two_clusters
send --lines "$N" || fail "writes not acknowledged"
wait_counts influx "$(expected_counts "$N")" 60
wait_counts vm "$(expected_counts "$N")" 60

# window A B (ms after T0): the points lpsend numbered A .. B-1
delete_window()
{
    influx_query tsrtest "DELETE WHERE time >= '$(rfc3339 $((T0_MS + $1)))' AND time < '$(rfc3339 $((T0_MS + $2)))'" >/dev/null
}
# sum_range A B: the sum of lpsend's values A .. B-1 (line i carries i)
sum_range() { echo $((($2 * ($2 - 1) - $1 * ($1 - 1)) / 2)); }
delete_window 10000 20000
delete_window 30000 35000
left=$((N - 15000))
assert_eq "$(counts_influx)" "$left $(($(expected_counts "$N" | cut -d' ' -f2) - $(sum_range 10000 20000) - $(sum_range 30000 35000)))" \
    "influx after deleting two windows"

log "replay of the first window by point time"
ctl replay start --cluster influx --points-since "$(rfc3339 $((T0_MS + 10000)))" \
    --points-until "$(rfc3339 $((T0_MS + 20000)))" --wait >"$TSR_TMP/replay.out" 2>&1 ||
    { cat "$TSR_TMP/replay.out" >&2; fail "replay did not complete"; }
ctl --json replay show 1 | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert j['state'] == 'done', j
assert j['since_ms'] == 0, ('the kafka range should default to everything retained', j)
assert j['points_since_ms'] == $((T0_MS + 10000)) and j['points_until_ms'] == $((T0_MS + 20000)), j
assert j['points_sent'] == 10000, ('points_sent', j['points_sent'])" >&2 || fail "job 1"
ctl replay show 1 | grep -q "point times  2023-11-14T22:13:30" || fail "replay show: $(ctl replay show 1)"
wait_counts influx "$((left + 10000)) $(($(expected_counts "$N" | cut -d' ' -f2) - $(sum_range 30000 35000)))" 30

log "a dry run of the second window counts it; its replay restores it"
ctl --json replay start --cluster influx --points-since "$(rfc3339 $((T0_MS + 30000)))" \
    --points-until "$(rfc3339 $((T0_MS + 35000)))" --dry-run --wait >"$TSR_TMP/dry.json" 2>&1 ||
    { cat "$TSR_TMP/dry.json" >&2; fail "dry run did not complete"; }
ctl --json replay show 2 | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert j['dry_run'] and j['state'] == 'done', j
assert j['points_sent'] == 5000, ('dry run count', j['points_sent'])" >&2 || fail "job 2"
ctl replay start --cluster influx --since earliest --points-since "$(rfc3339 $((T0_MS + 30000)))" \
    --points-until "$(rfc3339 $((T0_MS + 35000)))" --wait >/dev/null 2>&1 || fail "replay 3"
wait_counts influx "$(expected_counts "$N")" 30
counts_influx tsrtest --sample 10000 --sample 19999 --sample 34999 --step-ns 1000000 >/dev/null ||
    fail "influx sampled values differ"
assert_eq "$(counts_vm_raw_db tsrtest)" "$N $(expected_counts "$N")" "vm: each point once, untouched"

rc=0
ctl replay start --cluster influx --points-since "$(rfc3339 $((T0_MS + 5000)))" \
    --points-until "$(rfc3339 $((T0_MS + 1000)))" >"$TSR_TMP/bad.out" 2>&1 || rc=$?
assert_eq "$rc" 2 "exit code of an inverted point range"
grep -q "invalid --points-until" "$TSR_TMP/bad.out" || fail "message: $(cat "$TSR_TMP/bad.out")"
code=$(curl -s -o "$TSR_TMP/bad.json" -w '%{http_code}' -X POST \
    --data "{\"cluster\":\"influx\",\"since_ms\":0,\"points_since_ms\":$((T0_MS + 5000)),\"points_until_ms\":$((T0_MS + 1000))}" \
    "http://127.0.0.1:$RELAY_ADMIN_PORT/replays")
assert_eq "$code" 400 "POST /replays with an inverted point range"
grep -q "inverted point range" "$TSR_TMP/bad.json" || fail "answer: $(cat "$TSR_TMP/bad.json")"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
