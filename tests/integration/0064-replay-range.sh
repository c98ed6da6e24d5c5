#!/usr/bin/env bash
# timeout: 300
# asan: yes
# A replay of [since, until) re-sends exactly the points that entered Kafka in that
# range, while the topic goes on well past its end: after a drop and recreate of
# influx's database, `replay start --since S --until U --wait` leaves it holding the
# first 30,000 points (count, sum and sampled values) and none of the 150,000 that
# entered Kafka after U, and the job reports exactly 30,000 points sent.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
IN=30000
AFTER=150000
start_two_clusters
since=$(rfc3339 $(($(date +%s%3N) - 2000)))

send --lines "$IN" || fail "writes not acknowledged"
wait_counts influx "$(expected_counts "$IN")" 60
# Kafka stamps a record when the relay produces it: a clear second on either side of
# `until` keeps every record of the two sends on its own side.
sleep 1
until_ms=$(date +%s%3N)
sleep 1
send --start "$IN" --lines "$AFTER" || fail "writes after the range not acknowledged"
wait_counts influx "$(expected_counts $((IN + AFTER)))" 60

recreate_influx_db
assert_eq "$(counts_influx)" "0 0" "influx after the drop"

ctl replay start --cluster influx --since "$since" --until "$(rfc3339 "$until_ms")" --wait \
    >"$TSR_TMP/replay.out" 2>&1 || { cat "$TSR_TMP/replay.out" >&2; fail "replay did not complete"; }
tail -n 2 "$TSR_TMP/replay.out" >&2
ctl --json replay show 1 | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert j['state'] == 'done', j
assert j['points_sent'] == $IN, ('points_sent', j['points_sent'])
assert j['records_done'] == j['records_total'], j
print('replay 1:', j['result'])" >&2 || fail "job record"
# Nothing after the range arrives late: the job is done and no live write is pending.
wait_cluster_ready influx 60 || fail "influx not in sync after the replay"
assert_eq "$(counts_influx)" "$(expected_counts "$IN")" "influx after the replay of the range"
counts_influx tsrtest --sample 0 --sample 12345 --sample $((IN - 1)) --step-ns $STEP >/dev/null ||
    fail "influx sampled values differ"
assert_eq "$(counts_vm)" "$(expected_counts $((IN + AFTER)))" "vm, untouched by the replay"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
