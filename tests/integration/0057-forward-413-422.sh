#!/usr/bin/env bash
# timeout: 300
# InfluxDB 2's answers that used to stall a lane for good: 413 (body too large) and
# 422 (a partial write). A fault proxy in front of a real VictoriaMetrics answers 413
# to every body over 20,000 bytes, then 422 with InfluxDB 2's partial-write body for
# requests holding marked lines (forwarding the rest). The relay splits what is too
# large, dead-letters the one line too large alone and exactly the lines refused, and
# VictoriaMetrics ends with every other point: counts and value sums compared. Two
# replays of everything, one behind each fault, complete and dead-letter the same lines.
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
    retry_max_ms: 1s"
start_relay
wait_cluster_ready vm 30 || fail "vm not in sync at start"
since=$(rfc3339 $(($(date +%s%3N) - 2000)))

# post START END [EXTRA]: lpsend's lines START..END-1 in one request, EXTRA lines
# (python expressions of i, every 2,500th line) among them
post() {
    python3 - "$RELAY_HTTP_PORT" "$@" <<'PY'
import http.client, sys
T0, STEP = 1_700_000_000_000_000_000, 1_000_000
def line(i):
    return f'm{i % 7},dc=d{i % 3},host=h{i % 101} fi={i}i,ff={i}.5,fs="s{i}" {T0 + i * STEP}\n'
lo, hi = int(sys.argv[2]), int(sys.argv[3])
extra = sys.argv[4] if len(sys.argv) > 4 else None
body = []
for i in range(lo, hi):
    body.append(line(i))
    if extra and i % 2500 == 0:
        body.append(eval(extra))
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
c.request("POST", "/write?db=tsrtest", "".join(body).encode())
r = c.getresponse()
assert r.status == 204, (r.status, r.read())
PY
}

# check_dlq HUGE REJECTED WHO: the dead-letter topic holds HUGE copies of the line too
# large, REJECTED marked lines, and nothing else.
check_dlq() {
    for ((i = 0; i < 50; i++)); do
        [ "$(relay_metric tsrelay_dlq_records_total)" -ge $(($1 + $2)) ] && break
        sleep 0.1
    done
    "$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" >"$TSR_TMP/dlq"
    assert_eq "$(grep -c '^huge,host=BIG ' "$TSR_TMP/dlq")" "$1" "the line too large, dead-lettered $3"
    assert_eq "$(grep -c 'REJECTME' "$TSR_TMP/dlq")" "$2" "refused lines dead-lettered $3"
    assert_eq "$(grep -vc 'REJECTME\|^huge,host=BIG ' "$TSR_TMP/dlq" || true)" 0 "other lines in the dead-letter topic"
}

log "413 for bodies over 20,000 bytes; one line of 30,000 bytes among 20,000"
mode '{"mode":"too_large","max_bytes":20000,"path":"/write"}'
post 0 20000 "f'huge,host=BIG fs=\"{\"x\" * 30000}\" {T0 + i * STEP}\n' if i == 10000 else ''"
wait_counts vm "$(expected_counts 20000)" 60
wait_cluster_ready vm 30 || fail "not in sync after 413s: $(cluster_field vm reason)"
log "413 answers: $(faulted too_large)"
[ "$(faulted too_large)" -ge 2 ] || fail "the proxy answered no 413s"
assert_eq "$(relay_metric 'tsrelay_cluster_points_rejected_total{cluster="vm"}')" 1 "lines refused for their size"

log "422 partial writes: 8 lines the cluster refuses among 20,000"
mode '{"mode":"partial","status":422,"marker":"REJECTME","path":"/write"}'
post 20000 40000 "f'rej,tag=REJECTME{i} x=1i {T0 + i * STEP}\n'"
wait_counts vm "$(expected_counts 40000)" 60
wait_cluster_ready vm 30 || fail "not in sync after 422s: $(cluster_field vm reason)"
log "422 answers: $(faulted partial)"
[ "$(faulted partial)" -ge 8 ] || fail "the proxy answered fewer 422s than refused lines"
mode '{"mode":"pass"}'
assert_eq "$(relay_metric 'tsrelay_cluster_points_rejected_total{cluster="vm"}')" 9 "lines refused in all"
check_dlq 1 8 "by the lanes"
counts_vm tsrtest --sample 0 --sample 10000 --sample 25000 --sample 39999 --step-ns $STEP >/dev/null ||
    fail "vm sampled values differ"

# Replays split and dead-letter the same way: everything again, once behind each fault.
replay_all() {
    ctl replay start --cluster vm --since "$since" --wait >"$TSR_TMP/replay.out" 2>&1 ||
        { cat "$TSR_TMP/replay.out" >&2; fail "replay ($1) did not complete"; }
}
log "a replay of everything, 413 for bodies over 20,000 bytes"
mode '{"mode":"too_large","max_bytes":20000,"path":"/write"}'
replay_all 413
log "a replay of everything, 422 partial writes"
mode '{"mode":"partial","status":422,"marker":"REJECTME","path":"/write"}'
replay_all 422
mode '{"mode":"pass"}'
wait_counts vm "$(expected_counts 40000)" 30
check_dlq 2 16 "by the lanes and by the replays (the 413 one, the 422 one)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
