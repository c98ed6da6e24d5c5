#!/usr/bin/env bash
# timeout: 600
# A replay paused, the relay killed with SIGKILL, restarted: the job is still there,
# paused, with its progress; resumed, it completes with the right counts and no gap.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
start_kafka
start_influxdb
influx_query tsrtest 'CREATE DATABASE tsrtest' >/dev/null
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
    batch_lines: 2000"
start_relay
since=$(rfc3339 $(($(date +%s%3N) - 2000)))
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --lines 60000 >/dev/null ||
    fail "writes not acknowledged"
wait_counts influx "$(expected_counts 60000)" 60
recreate_influx_db

ctl replay start --cluster influx --since "$since" --rate 10000 >"$TSR_TMP/start.out" || fail "replay start"
sleep 2
ctl replay pause 1 >/dev/null || fail "pause"
sleep 1
before=$(ctl --json replay show 1 | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['state'], j['records_done'])")
log "paused: $before"
[[ $before =~ ^paused\ [1-9] ]] || fail "job not paused with progress: $before"
kill_relay
start_relay
after=$(ctl --json replay show 1 | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['state'], j['records_done'])")
log "after the SIGKILL and restart: $after"
assert_eq "$after" "$before" "job state and progress across the restart"
ctl replay resume 1 >/dev/null || fail "resume"
ctl replay show 1 --follow >"$TSR_TMP/follow.out" 2>&1 || { cat "$TSR_TMP/follow.out" >&2; fail "replay did not complete"; }
wait_counts influx "$(expected_counts 60000)" 60
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
