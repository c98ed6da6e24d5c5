#!/usr/bin/env bash
# timeout: 300
# Lag after an idle spell: once the clusters have every point and nothing is written for
# 12 s, a burst of writes must not make a cluster's lag read as the idle time. Lag is the
# age of the oldest undelivered point, so neither cluster leaves in_sync, /clusters/NAME/
# ready never answers 503 (sampled every 50 ms through the burst), the outage ledgers
# stay empty, and both clusters end with every point.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

start_two_clusters
wait_cluster_ready influx 30 || fail "influx not in sync at start: $(cluster_field influx reason)"
wait_cluster_ready vm 30 || fail "vm not in sync at start: $(cluster_field vm reason)"
send --lines 10000 >/dev/null || fail "first writes not acknowledged"
wait_counts influx "$(expected_counts 10000)" 30
wait_counts vm "$(expected_counts 10000)" 30

log "idle for 12 s"
sleep 12

# The sampler: ready of both clusters and their lag, every 50 ms, until the file STOP
# appears; prints the samples that were not ready and the largest lag of each.
cat >"$TSR_TMP/sample.py" <<'PY'
import json, os, sys, time, urllib.error, urllib.request
base, stop = sys.argv[1], sys.argv[2]
hdr = {"Authorization": "Bearer " + os.environ["ADMIN_TOKEN"]} if os.environ.get("ADMIN_TOKEN") else {}
def get(path):
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=hdr), timeout=2) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
bad, lag, n = [], {}, 0
while not os.path.exists(stop):
    n += 1
    for c in ("influx", "vm"):
        code, _ = get(f"/clusters/{c}/ready")
        if code != 200:
            bad.append(f"{c}@{time.time():.2f}:{code}")
    _, body = get("/status")
    for c in json.loads(body)["clusters"]:
        lag[c["name"]] = max(lag.get(c["name"], 0), c["lag_seconds"])
    time.sleep(0.05)
print(n, len(bad), " ".join(bad[:10]) or "-", json.dumps(lag))
PY
python3 "$TSR_TMP/sample.py" "http://127.0.0.1:$RELAY_ADMIN_PORT" "$TSR_TMP/STOP" >"$TSR_TMP/samples" &
sampler=$!
sleep 0.5
send --start 10000 --lines 50000 --batch 1000 --pause 0.02 >/dev/null || fail "burst not acknowledged"
wait_counts influx "$(expected_counts 60000)" 30
wait_counts vm "$(expected_counts 60000)" 30
touch "$TSR_TMP/STOP"
wait "$sampler" || fail "sampler failed"
read -r n nbad bad lag <"$TSR_TMP/samples"
log "samples: $n, not ready: $nbad ($bad), max lag s: $lag"
[ "$n" -ge 20 ] || fail "only $n samples during the burst"
assert_eq "$nbad" 0 "ready samples that were not 200 during the burst after idle"

ledger=$(admin_get /status | python3 -c "
import json, sys
print(' '.join(f\"{c['name']}={len(c['ledger'])}\" for c in json.load(sys.stdin)['clusters']))")
log "ledger entries: $ledger"
assert_eq "$ledger" "influx=0 vm=0" "outage ledger entries after an idle spell"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
