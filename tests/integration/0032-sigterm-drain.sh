#!/usr/bin/env bash
# timeout: 300
# SIGTERM while clients write: the relay stops accepting, answers every request it had
# accepted once Kafka confirmed it, and exits 0; every acknowledged line is in Kafka.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

start_kafka
relay_config
start_relay
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --duration 60 --batch 5000 \
    --acked "$TSR_TMP/acked.lp" --statuses "$TSR_TMP/st" --tolerate-errors >"$TSR_TMP/sender.out" &
sender=$!
sleep 3
stop_relay 60
log "relay exited $RELAY_EXIT after SIGTERM"
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
grep -q 'no longer accepting writes' "$RELAY_LOG" || fail "no drain log line"
kill "$sender" 2>/dev/null || true
wait "$sender" 2>/dev/null || true
log "statuses: $(sort "$TSR_TMP/st" | uniq -c | tr -s ' \n' ' ')"
LC_ALL=C sort -u "$TSR_TMP/acked.lp" >"$TSR_TMP/want"
[ -s "$TSR_TMP/want" ] || fail "nothing acknowledged"
topic_lines "$RELAY_TOPIC" | uniq >"$TSR_TMP/got"
missing=$(comm -23 "$TSR_TMP/want" "$TSR_TMP/got" | wc -l)
assert_eq "$missing" 0 "acknowledged lines missing after SIGTERM"
