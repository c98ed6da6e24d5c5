#!/usr/bin/env bash
# timeout: 600
# asan: yes
# A cluster's database dropped and recreated (as after a restore from an empty backup):
# `tsrelayctl replay start --cluster influx --since <start of test> --wait` brings its
# point count and values back to exactly those of the healthy cluster, while live
# traffic to it and delivery to the other cluster go on undisturbed.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
start_two_clusters
since=$(rfc3339 $(($(date +%s%3N) - 2000)))

send --lines 100000 || fail "writes not acknowledged"
wait_counts influx "$(expected_counts 100000)" 60
wait_counts vm "$(expected_counts 100000)" 60
recreate_influx_db
assert_eq "$(counts_influx)" "0 0" "influx after the drop"

# Live traffic keeps flowing during the replay.
send --start 100000 --lines 50000 --batch 1000 --pause 0.05 &
live=$!
ctl replay start --cluster influx --since "$since" --rate 50000 --wait >"$TSR_TMP/replay.out" 2>&1 ||
    { cat "$TSR_TMP/replay.out" >&2; fail "replay did not complete"; }
tail -n 3 "$TSR_TMP/replay.out" >&2
wait "$live" || fail "live writes not acknowledged during the replay"
wait_cluster_ready influx 60 || fail "influx not in sync after the replay"
wait_counts influx "$(expected_counts 150000)" 60
wait_counts vm "$(expected_counts 150000)" 60
counts_influx tsrtest --sample 7 --sample 99999 --sample 149999 --step-ns $STEP >/dev/null ||
    fail "influx sampled values differ"
ctl --json replay show 1 | python3 -c "
import json, sys
j = json.load(sys.stdin)
assert j['state'] == 'done', j
assert j['points_sent'] >= 100000, j
print('replay 1:', j['result'])" >&2 || fail "job record"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
