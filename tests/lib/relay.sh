# tests/lib/relay.sh — start and stop the real tsrelay in an integration test (sourced
# after harness.sh).
#
#   relay_config [EXTRA_YAML]   write $TSR_TMP/relay.yaml: free loopback ports for http,
#                               graphite and admin, Kafka from $KAFKA_BROKERS, topic
#                               $RELAY_TOPIC (default "metrics"); EXTRA_YAML is appended
#                               (top-level keys that relay_config does not write);
#                               RELAY_KAFKA_EXTRA: more lines of the kafka map, indented
#   start_relay                 start $TSRELAY_BIN, wait until /ready answers 200
#   stop_relay [TIMEOUT]        SIGTERM and wait; sets RELAY_EXIT to its exit code
#   kill_relay                  SIGKILL, no waiting for anything
#   admin_get PATH              GET from the admin listener (Bearer $ADMIN_TOKEN if set)
#   wait_relay_log REGEX T      wait up to T seconds for a line of $RELAY_LOG; 1 on timeout
#   wait_spool_empty T          wait up to T seconds for the spool to drain; fails if not
#   assert_acked_in_topic FILE  every line of FILE (lpsend --acked) is in $RELAY_TOPIC
# Exports RELAY_HTTP_PORT, RELAY_GRAPHITE_PORT, RELAY_ADMIN_PORT, RELAY_PID, RELAY_LOG.
# RELAY_ADMIN_SCHEME=https: the admin listener speaks TLS (curl trusts the test's CA
# through CURL_CA_BUNDLE).

RELAY_TOPIC=${RELAY_TOPIC:-metrics}

relay_config()
{
    RELAY_HTTP_PORT=${RELAY_HTTP_PORT:-$(free_port)}
    RELAY_GRAPHITE_PORT=${RELAY_GRAPHITE_PORT:-$(free_port)}
    RELAY_ADMIN_PORT=${RELAY_ADMIN_PORT:-$(free_port)}
    export RELAY_HTTP_PORT RELAY_GRAPHITE_PORT RELAY_ADMIN_PORT
    cat >"$TSR_TMP/relay.yaml" <<YAML
datacenter: test
listen:
  http: 127.0.0.1:$RELAY_HTTP_PORT
  graphite: 127.0.0.1:$RELAY_GRAPHITE_PORT
  admin: 127.0.0.1:$RELAY_ADMIN_PORT
kafka:
  brokers: $KAFKA_BROKERS
  topic: $RELAY_TOPIC
  message_timeout_ms: ${RELAY_MESSAGE_TIMEOUT_MS:-10000}
  partitions: ${KAFKA_PARTITIONS:-4}
  replication_factor: 1
  min_insync_replicas: 1
${RELAY_KAFKA_EXTRA:-}
state_dir: $TSR_TMP/state
${1:-}
YAML
}

start_relay()
{
    RELAY_LOG=$TSR_TMP/relay.log
    "$TSRELAY_BIN" -c "$TSR_TMP/relay.yaml" >>"$RELAY_LOG" 2>&1 </dev/null &
    RELAY_PID=$!
    track_pid "$RELAY_PID" tsrelay
    export RELAY_PID RELAY_LOG
    local i
    for ((i = 0; i < 600; i++)); do
        alive "$RELAY_PID" || { tail -n 30 "$RELAY_LOG" >&2; fail "tsrelay exited at start"; }
        [ "$(curl -s -o /dev/null -w '%{http_code}' "${RELAY_ADMIN_SCHEME:-http}://127.0.0.1:$RELAY_ADMIN_PORT/ready")" = 200 ] && return 0
        sleep 0.1
    done
    tail -n 30 "$RELAY_LOG" >&2
    fail "tsrelay not ready after 60s"
}

stop_relay()
{
    local timeout=${1:-60} i
    kill -TERM "$RELAY_PID" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        alive "$RELAY_PID" || break
        sleep 0.1
    done
    alive "$RELAY_PID" && fail "tsrelay did not exit within ${timeout}s of SIGTERM"
    RELAY_EXIT=0
    wait "$RELAY_PID" || RELAY_EXIT=$?
    unset "TSR_PIDS[$RELAY_PID]"
}

kill_relay()
{
    kill -KILL "$RELAY_PID" 2>/dev/null || true
    wait "$RELAY_PID" 2>/dev/null || true
    unset "TSR_PIDS[$RELAY_PID]"
}

# relay_metric NAME_WITH_LABELS: one value from /metrics (0 if absent).
# admin_get PATH [CURL ARGS...]: GET PATH from the admin listener, with
# ADMIN_TOKEN as the Bearer token when the test set one.
admin_get()
{
    local path=$1
    shift
    curl -s ${ADMIN_TOKEN:+-H "Authorization: Bearer $ADMIN_TOKEN"} "$@" \
        "${RELAY_ADMIN_SCHEME:-http}://127.0.0.1:$RELAY_ADMIN_PORT$path"
}

wait_relay_log()
{
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q "$1" "$RELAY_LOG" && return 0
        sleep 0.1
    done
    return 1
}

wait_spool_empty()
{
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        [ "$(relay_metric tsrelay_spool_records)" = 0 ] && return 0
        sleep 0.1
    done
    fail "$(relay_metric tsrelay_spool_records) records left in the spool after $1 s"
}

assert_acked_in_topic()
{
    local missing
    LC_ALL=C sort -u "$1" >"$TSR_TMP/want"
    topic_lines "$RELAY_TOPIC" >"$TSR_TMP/all"
    uniq "$TSR_TMP/all" >"$TSR_TMP/got"
    missing=$(comm -23 "$TSR_TMP/want" "$TSR_TMP/got" | wc -l)
    log "acknowledged: $(wc -l <"$TSR_TMP/want") lines; in kafka: $(wc -l <"$TSR_TMP/all") lines, $(wc -l <"$TSR_TMP/got") distinct; missing: $missing"
    assert_eq "$missing" 0 "acknowledged lines missing from kafka"
}

relay_metric()
{
    admin_get /metrics |
        awk -v m="$1" '$1 == m { print $2; found=1 } END { if (!found) print 0 }'
}

# topic_lines TOPIC: every line in the topic, sorted.
topic_lines()
{
    "$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$1" | LC_ALL=C sort
}
