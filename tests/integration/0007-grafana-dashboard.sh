#!/usr/bin/env bash
# timeout: 180
# deploy/grafana/tsrelay.json against a live relay (Kafka, a VictoriaMetrics cluster,
# points written, a replay run): every tsrelay_* metric any panel's query names is one
# the relay's /metrics exports, tsrelay_info carries the datacenter the dashboard's
# variable selects by, and a real Prometheus scraping that relay evaluates every query
# of every panel without an error (most with data).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

dash=$REPO_ROOT/deploy/grafana/tsrelay.json
command -v prometheus >/dev/null || fail "prometheus not found: run tools/setup.sh"
start_vm_relay
wait_relay_log "cluster 'vm': delivering" 30 || fail "cluster vm got no partitions"
send --lines 20000 >/dev/null || fail "writes not acknowledged"
printf 'bad line\n' | curl -s -o /dev/null --data-binary @- "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=tsrtest"
ctl replay start --cluster vm --since -1h --wait >"$TSR_TMP/replay.out" 2>&1 || fail "replay: $(cat "$TSR_TMP/replay.out")"

admin_get /metrics >"$TSR_TMP/metrics"
grep -q '^tsrelay_info{datacenter="test",' "$TSR_TMP/metrics" || fail "no tsrelay_info with the datacenter"
# Families the relay declares; a histogram's family also stands for its _bucket, _sum, _count.
sed -n 's/^# TYPE \(tsrelay_[a-z_]*\) .*/\1/p' "$TSR_TMP/metrics" | sort -u >"$TSR_TMP/families"
python3 - "$dash" "$TSR_TMP/families" "$TSR_TMP/exprs" <<'PY' || fail "the dashboard names metrics the relay does not export"
import json, re, sys
dash = json.load(open(sys.argv[1]))
fams = set(open(sys.argv[2]).read().split())
exprs, bad, panels = [], [], 0
for p in dash["panels"]:
    if p["type"] == "row":
        continue
    panels += 1
    for t in p["targets"]:
        exprs.append(t["expr"])
        for m in re.findall(r"tsrelay_[a-z_]+", t["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", m)
            if m not in fams and base not in fams:
                bad.append(f'{p["title"]}: {m}')
for v in dash["templating"]["list"]:
    q = v.get("definition", "")
    for m in re.findall(r"tsrelay_[a-z_]+", q):
        if m not in fams:
            bad.append(f'variable {v["name"]}: {m}')
open(sys.argv[3], "w").write("\n".join(exprs) + "\n")
print(f"{panels} panels, {len(exprs)} queries", file=sys.stderr)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# A real Prometheus scrapes the relay every second; every query must evaluate.
PROM_PORT=$(free_port)
cat >"$TSR_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tsrelay
    static_configs:
      - targets: ['127.0.0.1:$RELAY_ADMIN_PORT']
YAML
spawn prometheus prometheus --config.file="$TSR_TMP/prometheus.yml" \
    --storage.tsdb.path="$TSR_TMP/prom" --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 30
send --start 20000 --lines 20000 --pause 0.2 --batch 1000 >/dev/null || fail "writes not acknowledged"
sleep 3
python3 - "$TSR_TMP/exprs" "http://127.0.0.1:$PROM_PORT" <<'PY' || fail "prometheus could not evaluate every panel's query"
import json, sys, urllib.parse, urllib.request
url, bad, with_data, n = sys.argv[2], 0, 0, 0
for e in open(sys.argv[1]).read().splitlines():
    q = e.replace("$__rate_interval", "30s").replace("$instance", ".*")
    n += 1
    try:
        with urllib.request.urlopen(url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}), timeout=10) as r:
            res = json.load(r)
    except urllib.error.HTTPError as err:
        res = json.load(err)
    if res.get("status") != "success":
        bad += 1
        print(f"{q}: {res.get('error')}", file=sys.stderr)
    elif res["data"]["result"]:
        with_data += 1
print(f"prometheus: {n} queries evaluated, {with_data} with data, {bad} errors", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
