#!/usr/bin/env bash
# timeout: 600
# asan: yes
# SIGKILL of the relay while it spools (Kafka stopped) and again while it drains into the
# returned Kafka: every line answered 204 is in Kafka at the end. The restarted relay
# finds what the killed one spooled and drains it first; a record drained but not yet
# removed from the spool when the relay died is produced again (counted, not lost).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --acked "$TSR_TMP/acked.lp" "$@"; }
spool_records() { relay_metric tsrelay_spool_records; }

start_kafka
relay_config
start_relay
send --lines 20000 --batch 5000 >/dev/null || fail "writes before the outage not acknowledged"

stop_kafka
log "kafka stopped; writing into the spool, then SIGKILL mid-stream"
send --start 20000 --lines 2000000 --batch 5000 --tolerate-errors >"$TSR_TMP/send1.out" &
sender=$!
for ((i = 0; i < 600; i++)); do
    [ "$(wc -l <"$TSR_TMP/acked.lp")" -ge 400000 ] && break
    sleep 0.1
done
kill_relay
wait "$sender" || true
acked=$(wc -l <"$TSR_TMP/acked.lp")
log "relay killed with $acked lines acknowledged ($(cat "$TSR_TMP/send1.out"))"
[ "$acked" -ge 400000 ] || fail "too few lines acknowledged before the kill"

start_relay
wait_relay_log "spool .* holds [0-9]* records" 10 || fail "the restarted relay did not find the spool"
log "restarted: $(grep -o 'spool .* holds [0-9]* records ([0-9]* bytes)' "$RELAY_LOG" | tail -n 1)"
send --start 3000000 --lines 200000 --batch 5000 >/dev/null || fail "writes into the spool after the restart not all acknowledged"
held=$(spool_records)
log "spool holds $held records before kafka returns"

start_kafka
# Kill once the drain is under way, before it is over.
for ((i = 0; i < 400; i++)); do
    d=$(relay_metric tsrelay_spool_drained_records_total)
    [ "$d" != 0 ] && break
    sleep 0.025
done
left=$(spool_records)
kill_relay
log "relay killed while draining: $d records drained, $left left"
[ "$d" != 0 ] || fail "the drain did not start within 10 s of kafka's return"
[ "$left" -gt 0 ] || fail "the drain was over before the kill: nothing tested"

start_relay
wait_spool_empty 120
send --start 4000000 --lines 20000 --batch 5000 >/dev/null || fail "writes after the drain not acknowledged"
assert_acked_in_topic "$TSR_TMP/acked.lp"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
