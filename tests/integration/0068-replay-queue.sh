#!/usr/bin/env bash
# timeout: 600
# Three replays started together: two read at once, the third waits queued (each reader
# holds kafka.replay_read_ahead), then runs when one finishes; every job ends done, each
# with every point sent, and the cluster holds every point (count and sum).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
N=30000
start_vm_relay
wait_cluster_ready vm 30 || fail "vm not in sync"
since=$(rfc3339 $(($(date +%s%3N) - 2000)))
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --lines $N >/dev/null ||
    fail "writes not acknowledged"
wait_counts vm "$(expected_counts $N)" 60

# 10,000 points/s: each job takes about 3 s, so the third is seen waiting.
for i in 1 2 3; do
    ctl replay start --cluster vm --since "$since" --rate 10000 >/dev/null || fail "replay start $i"
done
states()
{
    ctl --json replay list | python3 -c "import json,sys; print(' '.join(j['state'] for j in json.load(sys.stdin)['replays']))"
}
seen=
for ((t = 0; t < 50; t++)); do
    s=$(states)
    [ "$s" = "running running queued" ] && { seen=1; break; }
    sleep 0.1
done
[ -n "$seen" ] || fail "never saw two jobs running and the third queued (last: $s)"
log "two running, one queued"
grep -q "replay 3 to cluster 'vm' queued" "$RELAY_LOG" || fail "no log line for the queued job"
for ((t = 0; t < 300; t++)); do
    [ "$(states)" = "done done done" ] && break
    sleep 0.1
done
assert_eq "$(states)" "done done done" "job states"
grep -q "replay 3 to cluster 'vm' starts reading" "$RELAY_LOG" || fail "no log line for the third job's start"
for i in 1 2 3; do
    sent=$(ctl --json replay show $i | python3 -c "import json,sys; print(json.load(sys.stdin)['points_sent'])")
    assert_eq "$sent" "$N" "points sent by replay $i"
done
wait_counts vm "$(expected_counts $N)" 60
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
