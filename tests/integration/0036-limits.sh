#!/usr/bin/env bash
# timeout: 300
# Limits that hold the relay's memory (relay/core/httpd.h), against hostile clients while
# a normal client writes:
# - 1,000 slow clients at once (half trickle a request head, half a body and then stall)
#   are all cut (with 408 once they have sent a byte) by ingest.header_timeout_ms and
#   ingest.read_timeout_ms;
# - 200 concurrent uploads of 25 MiB each (half with Expect: 100-continue) are taken
#   (204) or refused with 503 and Retry-After before their body is read, as
#   ingest.max_reading_bytes (128 MiB, the default) allows (or, taken but starved by the
#   test's one event loop, cut with 408);
# - connections past ingest.max_connections get 503 at once;
# - the HTTP listener's accept queue holds the 1,000 slow clients' connects (ss).
# Meanwhile the normal client gets 204 for every request, the relay's peak RSS stays
# under 256 MiB (docs/security.md), and VictoriaMetrics holds every point the relay
# took, the uploads' too (counted per upload).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

RSS_BOUND_KIB=$((256 * 1024))
start_kafka
start_victoriametrics
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
ingest:
  header_timeout_ms: 2s
  read_timeout_ms: 5s
  max_connections: 1500"
start_relay
STORM="python3 $REPO_ROOT/tests/tools/loadstorm.py"

# The 1,000 slow clients connect at once, while a loaded relay may be slow to accept:
# its accept queue holds them all. Past a full queue Linux answers with SYN cookies, and
# a trickling client whose first byte went in a dropped segment reached the relay as
# "OST /write" (400 "invalid HTTP method") or was reset: the queue was libevent's 128.
backlog=$(ss -Hltn "sport = :$RELAY_HTTP_PORT" | awk '{print $3; exit}')
[ "${backlog:-0}" -ge 1000 ] || fail "HTTP listener's accept queue ${backlog:-unknown} below 1000"

echo 5 >"/proc/$RELAY_PID/clear_refs" # peak RSS from here
# The normal client writes through both storms, one after the other (each storm is one
# Python event loop: run together on two cores, they starve their own connections).
send --lines 100000 --batch 1000 --pause 0.2 --statuses "$TSR_TMP/normal.statuses" \
    >"$TSR_TMP/normal.out" 2>&1 &
normal=$!
$STORM slow --port "$RELAY_HTTP_PORT" --conns 1000 --seconds 12 >"$TSR_TMP/slow.json" ||
    fail "loadstorm slow failed"
$STORM uploads --port "$RELAY_HTTP_PORT" --conns 200 --mib 25 --expect-half >"$TSR_TMP/uploads.json" ||
    fail "loadstorm uploads failed"
alive "$normal" || log "the normal client was done before the uploads ended"
wait "$normal" || fail "the normal client failed: $(cat "$TSR_TMP/normal.out")"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$RELAY_PID/status")
log "slow: $(cat "$TSR_TMP/slow.json")"
log "uploads: $(cut -c1-300 "$TSR_TMP/uploads.json")"
log "normal: $(sort "$TSR_TMP/normal.statuses" | uniq -c | tr '\n' ' ')"
log "relay peak RSS $((hwm / 1024)) MiB (bound $((RSS_BOUND_KIB / 1024)) MiB)"

# The normal client: every request 204, while the storms raged.
bad=$(grep -vc '^204$' "$TSR_TMP/normal.statuses" || true)
assert_eq "$bad" 0 "normal client's requests not answered 204"
assert_eq "$(wc -l <"$TSR_TMP/normal.statuses")" 100 "normal client's requests"
# Slow clients: every one cut with 408, none left open.
python3 - "$TSR_TMP/slow.json" <<'PY' || fail "slow clients: $(cat "$TSR_TMP/slow.json")"
import json, sys
d = json.load(open(sys.argv[1]))
# A client that had sent nothing yet when its time was up is closed without an answer.
assert d["answered"].get("408", 0) + d.get("closed", 0) == 1000, d
assert set(d["answered"]) == {"408"} and d.get("open_at_end", 0) == 0, d
PY
[ "$(relay_metric 'tsrelay_connection_timeouts_total{listener="http"}')" -ge 1000 ] ||
    fail "tsrelay_connection_timeouts_total below 1000"
# Uploads: each answered: 204, or 503 with Retry-After, or 408 for one whose body stalled
# past read_timeout_ms (one event loop feeds them all: a taken upload can starve); some
# taken, most refused.
read -r accepted refused retry per_upload < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
st = d["status"]
assert set(st) <= {"204", "503", "408"}, st
print(st.get("204", 0), st.get("503", 0), d["retry_after"], d["points_per_upload"])' "$TSR_TMP/uploads.json") ||
    fail "uploads not all answered 204, 503 or 408: $(cut -c1-300 "$TSR_TMP/uploads.json")"
[ "$accepted" -ge 1 ] || fail "no upload was taken"
[ "$refused" -ge 1 ] || fail "no upload was refused: the reading budget did not hold"
assert_eq "$retry" "$refused" "refused uploads with Retry-After"
[ "$(relay_metric 'tsrelay_requests_refused_reading_total{listener="http"}')" = "$refused" ] ||
    fail "tsrelay_requests_refused_reading_total is not $refused"
[ "$hwm" -le "$RSS_BOUND_KIB" ] || fail "relay peak RSS $((hwm / 1024)) MiB above the bound"

# Connections past max_connections (1500): 503 at once. The slow ones are gone by now.
conns=$($STORM conns --port "$RELAY_HTTP_PORT" --conns 1520)
python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["busy"] == 20 and d["open"] == 1500, d' \
    "$conns" || fail "max_connections did not hold: $conns"
[ "$(relay_metric 'tsrelay_connections_refused_total{listener="http"}')" = 20 ] ||
    fail "tsrelay_connections_refused_total is not 20"

# Every point taken is at VictoriaMetrics: the normal client's, and each taken upload's.
wait_counts vm "$(expected_counts 100000)" 60
for ((i = 0; i < 150; i++)); do
    got=$(vm_flush; curl -s "$VM_URL/api/v1/export" -d 'match[]=big_fi' | python3 -c '
import json, sys
per = {}
for line in sys.stdin:
    s = json.loads(line)
    u = s["metric"]["u"]
    per[u] = per.get(u, 0) + len(s["values"])
print(len(per), min(per.values()) if per else 0, max(per.values()) if per else 0)')
    [ "$got" = "$accepted $per_upload $per_upload" ] && break
    sleep 0.2
done
assert_eq "$got" "$accepted $per_upload $per_upload" "uploads at VictoriaMetrics (uploads, min and max points)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
