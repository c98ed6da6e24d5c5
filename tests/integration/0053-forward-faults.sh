#!/usr/bin/env bash
# timeout: 400
# A fault-injecting proxy in front of a real VictoriaMetrics answers 500s, 429 with
# Retry-After, hangs, and 400 partial writes. The relay retries (with backoff, honouring
# Retry-After), never skips data, dead-letters exactly the lines the cluster rejected,
# and at the end VictoriaMetrics holds every other point: counts and value sums match.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
start_kafka
start_victoriametrics
start_faultproxy "$VM_URL"
mode() { proxy_mode "$1"; }
faulted() { proxy_stat faulted "$1"; }

relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$PROXY_URL]
    compression: gzip
    timeout_ms: 2s
    retry_max_ms: 1s"
start_relay
wait_cluster_ready vm 30 || fail "vm not in sync at start"
send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --batch 2000 "$@" >/dev/null; }
# Faults apply to writes only, so health probes still see the cluster up.
log "500 x 6"
mode '{"mode":"status","status":500,"count":6,"path":"/write"}'
send --start 0 --lines 10000
wait_cluster_ready vm 60 || fail "not in sync after 500s"
wait_counts vm "$(expected_counts 10000)" 30
assert_eq "$(faulted status)" 6 "500 answers given"

log "429 with Retry-After: 2, x 2"
mode '{"mode":"retry_after","status":429,"retry_after":2,"count":2,"path":"/write"}'
t0=$(date +%s.%N)
send --start 10000 --lines 10000
wait_counts vm "$(expected_counts 20000)" 60
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "delivered through the 429s in ${elapsed}s"
awk -v e="$elapsed" 'BEGIN { exit !(e >= 2.0) }' || fail "Retry-After: 2 not honoured (${elapsed}s)"

log "hang x 3 (timeout_ms 2s)"
mode '{"mode":"hang","count":3,"path":"/write"}'
send --start 20000 --lines 10000
wait_counts vm "$(expected_counts 30000)" 60
assert_eq "$(faulted hang)" 3 "hung requests"

log "400 partial writes: 7 lines the cluster rejects among 10,000"
mode '{"mode":"partial","marker":"REJECTME","path":"/write"}'
python3 - "$RELAY_HTTP_PORT" <<'PY'
import http.client, sys
sys.path.insert(0, sys.argv[0] and "tests/tools")
T0, STEP = 1_700_000_000_000_000_000, 1_000_000
def line(i):
    return f'm{i % 7},dc=d{i % 3},host=h{i % 101} fi={i}i,ff={i}.5,fs="s{i}" {T0 + i * STEP}\n'
body = []
for i in range(30000, 40000):
    body.append(line(i))
    if i % 1500 == 0:
        body.append(f'rej,tag=REJECTME{i} x=1i {T0 + i * STEP}\n')
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("POST", "/write?db=tsrtest", "".join(body).encode())
r = c.getresponse()
assert r.status == 204, r.status
PY
wait_counts vm "$(expected_counts 40000)" 60
wait_cluster_ready vm 30 || fail "not in sync after partial writes"
mode '{"mode":"pass"}'
rejected=$(relay_metric 'tsrelay_cluster_points_rejected_total{cluster="vm"}')
log "points the cluster rejected, dead-lettered: $rejected"
assert_eq "$rejected" 7 "dead-lettered lines"
for ((i = 0; i < 50; i++)); do
    [ "$(relay_metric tsrelay_dlq_records_total)" -ge 1 ] && break
    sleep 0.1
done
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" >"$TSR_TMP/dlq"
assert_eq "$(grep -c 'REJECTME' "$TSR_TMP/dlq")" 7 "rejected lines in the dead-letter topic"
assert_eq "$(grep -vc 'REJECTME' "$TSR_TMP/dlq" || true)" 0 "good lines in the dead-letter topic"
[ "$(relay_metric 'tsrelay_cluster_retries_total{cluster="vm"}')" -ge 11 ] || fail "retries not counted"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
