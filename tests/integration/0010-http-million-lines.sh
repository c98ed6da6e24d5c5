#!/usr/bin/env bash
# timeout: 600
# 1,000,000 lines over HTTP in 5,000-line requests (rotating /write, /write gzip,
# /api/v2/write, v2 gzip): every request gets 204, and the Kafka topic then holds
# exactly those lines, normalised, each once: compared line by line.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

start_kafka
relay_config
start_relay

log "sending 1,000,000 lines"
out=$(python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --lines 1000000 \
    --batch 5000 --mix --acked "$TSR_TMP/acked.lp")
log "lpsend: $out"
assert_eq "$out" "204=200" "every request answered 204"

LC_ALL=C sort "$TSR_TMP/acked.lp" >"$TSR_TMP/want"
topic_lines "$RELAY_TOPIC" >"$TSR_TMP/got"
want=$(wc -l <"$TSR_TMP/want")
got=$(wc -l <"$TSR_TMP/got")
log "lines acknowledged: $want, lines in kafka: $got"
assert_eq "$want" 1000000 "acknowledged lines"
cmp -s "$TSR_TMP/want" "$TSR_TMP/got" || {
    diff "$TSR_TMP/want" "$TSR_TMP/got" | head -5 >&2
    fail "kafka content differs from what was acknowledged"
}

# The relay's own accounting agrees with both ends.
assert_eq "$(relay_metric 'tsrelay_points_accepted_total{listener="http"}')" 1000000 "accepted metric"
assert_eq "$(relay_metric 'tsrelay_points_rejected_total{listener="http"}')" 0 "rejected metric"

stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
log "ok: 1,000,000 lines acknowledged and in kafka, identical"
