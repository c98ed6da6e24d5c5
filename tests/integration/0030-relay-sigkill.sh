#!/usr/bin/env bash
# timeout: 600
# The relay killed with SIGKILL in the middle of a stream, then restarted: every line
# that got 204 before the kill is in Kafka, and writing works again after the restart.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

start_kafka
relay_config
start_relay

python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --lines 2000000 \
    --batch 2000 --acked "$TSR_TMP/acked.lp" --tolerate-errors >"$TSR_TMP/send1.out" &
sender=$!
# Kill once a good part of the stream has been acknowledged, mid-request.
for ((i = 0; i < 600; i++)); do
    [ -s "$TSR_TMP/acked.lp" ] && [ "$(wc -l <"$TSR_TMP/acked.lp")" -ge 200000 ] && break
    sleep 0.1
done
kill_relay
log "relay killed with SIGKILL after $(wc -l <"$TSR_TMP/acked.lp") acknowledged lines"
wait "$sender" || true
log "sender: $(cat "$TSR_TMP/send1.out")"
acked_before=$(wc -l <"$TSR_TMP/acked.lp")
[ "$acked_before" -ge 200000 ] || fail "too few lines acknowledged before the kill: $acked_before"

start_relay
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --start 5000000 \
    --lines 50000 --batch 5000 --acked "$TSR_TMP/acked.lp" >/dev/null ||
    fail "writes after the restart were not all acknowledged"

LC_ALL=C sort -u "$TSR_TMP/acked.lp" >"$TSR_TMP/want"
topic_lines "$RELAY_TOPIC" | uniq >"$TSR_TMP/got"
missing=$(comm -23 "$TSR_TMP/want" "$TSR_TMP/got" | wc -l)
log "acknowledged: $(wc -l <"$TSR_TMP/want") lines, in kafka: $(wc -l <"$TSR_TMP/got") distinct, missing: $missing"
assert_eq "$missing" 0 "acknowledged lines missing from kafka after SIGKILL"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
