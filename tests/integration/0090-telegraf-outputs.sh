#!/usr/bin/env bash
# timeout: 180
# The real Telegraf (tools/telegraf/build.sh) writes through the relay with an ordinary
# config: outputs.influxdb (which sends CREATE DATABASE "telegraf" when it starts),
# outputs.influxdb_v2 into /api/v2/write with bucket "telegraf/autogen" (InfluxDB 1.8's
# db/rp mapping) and a token, and outputs.graphite with tagged names into the Graphite
# listener, whose points the relay writes to database "telegraf" too. Both clusters
# start empty: InfluxDB 1.x without create_database, so only Telegraf's own statement
# makes the database, and VictoriaMetrics. One inputs.exec run (--once) prints N points
# per output; every one must land exactly once, with its values, in both TSDBs.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/telegraf.sh"

TELEGRAF=$(telegraf_bin)
N=200
T0=1700000000

start_kafka
start_influxdb
start_victoriametrics
printf 's3cret\n' >"$TSR_TMP/pw"
printf 'tok-123\n' >"$TSR_TMP/tok"
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
ingest:
  auth:
    enabled: true
    users:
      - name: writer
        password_file: $TSR_TMP/pw
    token_files: [$TSR_TMP/tok]
graphite:
  database: telegraf
  templates:
    - \"tggr.* measurement.field\""
start_relay
dbs=$(influx_query "" 'SHOW DATABASES')
grep -q '"values"' <<<"$dbs" && fail "influxdb is not empty at the start: $dbs"

# Point i of measurement M: tag k=iNNN, a float, an integer, a string and a boolean
# (graphite carries numbers only), at T0+i seconds (graphite has seconds).
cat >"$TSR_TMP/points.sh" <<EOF
#!/bin/sh
i=0
while [ \$i -lt $N ]; do
    k=\$(printf 'i%03d' \$i)
    ok=true; [ \$((i % 2)) -eq 1 ] && ok=false
    t=\$(($T0 + i))000000000
    echo "tgv1,k=\$k v=\$i.25,n=\${i}i,s=\"v1 #\$i\",ok=\$ok \$t"
    echo "tgv2,k=\$k v=\$i.25,n=\${i}i,s=\"v2 #\$i\",ok=\$ok \$t"
    echo "tggr,k=\$k v=\$i.25,n=\${i}i \$t"
    i=\$((i + 1))
done
EOF
chmod +x "$TSR_TMP/points.sh"
[ "$("$TSR_TMP/points.sh" | wc -l)" = $((3 * N)) ] || fail "points.sh does not print $((3 * N)) lines"

RELAY_URL=http://127.0.0.1:$RELAY_HTTP_PORT
cat >"$TSR_TMP/telegraf.conf" <<EOF
[agent]
  interval = "10s"
  flush_interval = "1s"
  omit_hostname = true

[[inputs.exec]]
  commands = ["$TSR_TMP/points.sh"]
  timeout = "10s"
  data_format = "influx"

[[outputs.influxdb]]
  urls = ["$RELAY_URL"]
  database = "telegraf"
  username = "writer"
  password = "s3cret"
  namepass = ["tgv1"]

[[outputs.influxdb_v2]]
  urls = ["$RELAY_URL"]
  token = "tok-123"
  organization = "tsrelay"
  bucket = "telegraf/autogen"
  namepass = ["tgv2"]

[[outputs.graphite]]
  servers = ["127.0.0.1:$RELAY_GRAPHITE_PORT"]
  graphite_tag_support = true
  namepass = ["tggr"]
EOF

# Telegraf starts against a relay that is already delivering, as in production: its
# CREATE DATABASE and its points go to InfluxDB live, each through its own partition
# (points that got there before the database would be parked until it exists).
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c "cluster '\(influx\|vm\)': delivering [0-9]* of [0-9]* partitions" "$RELAY_LOG")" = 2 ] && break
    sleep 0.1
done
[ "$i" -lt 300 ] || fail "the relay does not deliver to both clusters 30s after its start"
log "telegraf --once"
t0=$(date +%s%3N)
rc=0
timeout 60 "$TELEGRAF" --config "$TSR_TMP/telegraf.conf" --once >"$TSR_TMP/telegraf.log" 2>&1 || rc=$?
log "telegraf exited $rc after $(($(date +%s%3N) - t0)) ms"
[ "$rc" = 0 ] || { cat "$TSR_TMP/telegraf.log" >&2; fail "telegraf --once exited $rc"; }
# Telegraf logs a failed write or CREATE DATABASE as E!, a refused statement or a
# dropped point as W! from the plugin (its own W! about future defaults are not ours).
if grep -E '^[^ ]+ (E! |W! \[(inputs|outputs)\.)' "$TSR_TMP/telegraf.log" >&2; then
    fail "telegraf logged errors or warnings (above)"
fi

# --- InfluxDB: the database Telegraf created, and exactly its points -----------------------
# Every point as [measurement, time, k, fields], one JSON line each, sorted; numbers as
# floats, since InfluxDB's JSON does not tell 1.0 from 1 (SHOW FIELD KEYS checks types).
python3 - "$N" "$T0" >"$TSR_TMP/want_influx" <<'PY'
import json, sys
n, t0 = int(sys.argv[1]), int(sys.argv[2])
rows = []
for i in range(n):
    for m in ("tgv1", "tgv2"):
        rows.append([m, t0 + i, f"i{i:03d}", {"v": i + 0.25, "n": float(i), "s": f"{m[2:]} #{i}", "ok": i % 2 == 0}])
    rows.append(["tggr", t0 + i, f"i{i:03d}", {"v": i + 0.25, "n": float(i)}])
for r in sorted(rows, key=lambda r: (r[0], r[1])):
    print(json.dumps(r, sort_keys=True))
PY
influx_rows()
{
    # epoch=s: times as Unix seconds
    curl -sS -m 10 --fail-with-body -G "$INFLUX_URL/query" --data-urlencode db=telegraf \
        --data-urlencode epoch=s --data-urlencode 'q=SELECT * FROM tgv1, tgv2, tggr' | python3 -c '
import json, sys
res = json.load(sys.stdin)["results"][0]
rows = []
for s in res.get("series", []):
    cols = s["columns"]
    for v in s["values"]:
        d = dict(zip(cols, v))
        fields = {c: d[c] if isinstance(d[c], (bool, str)) else float(d[c])
                  for c in cols if c not in ("time", "k") and d[c] is not None}
        rows.append([s["name"], d["time"], d["k"], fields])
for r in sorted(rows, key=lambda r: (r[0], r[1])):
    print(json.dumps(r, sort_keys=True))'
}
for ((i = 0; i < 60; i++)); do
    influx_rows >"$TSR_TMP/got_influx" 2>/dev/null || true
    cmp -s "$TSR_TMP/got_influx" "$TSR_TMP/want_influx" && break
    sleep 0.5
done
if ! cmp -s "$TSR_TMP/got_influx" "$TSR_TMP/want_influx"; then
    diff "$TSR_TMP/want_influx" "$TSR_TMP/got_influx" | head -n 20 >&2 || true
    fail "influxdb's database telegraf: $(wc -l <"$TSR_TMP/got_influx") points, want $((3 * N)) exactly as sent (diff above)"
fi
types=$(curl -sS -m 10 -G "$INFLUX_URL/query" --data-urlencode db=telegraf \
    --data-urlencode 'q=SHOW FIELD KEYS' | python3 -c '
import json, sys
for s in json.load(sys.stdin)["results"][0]["series"]:
    print(s["name"], " ".join(f"{k}:{t}" for k, t in sorted(s["values"])))' | tr '\n' ';')
# Graphite has only numbers, all floats: n arrives as a float there.
assert_eq "$types" "tggr n:float v:float;tgv1 n:integer ok:boolean s:string v:float;tgv2 n:integer ok:boolean s:string v:float;" \
    "field types on influxdb"
log "influxdb: database telegraf holds the $((3 * N)) points exactly (v1, v2 and graphite)"
dbs=$(influx_query "" 'SHOW DATABASES' | python3 -c '
import json, sys
s = json.load(sys.stdin)["results"][0].get("series", [])
print(" ".join(v[0] for v in s[0]["values"]) if s else "")')
assert_eq "$dbs" telegraf "databases on influxdb"

# --- VictoriaMetrics: the same points, field by field, label db="telegraf" ----------------
# It runs without deduplication, and reduce_mem_usage=1 exports the samples as stored, so
# a point written twice shows twice.
vm_flush
check_vm()
{
    curl -s -m 10 "$VM_URL/api/v1/export" -d 'match[]={__name__=~"tg(v1|v2|gr)_.*"}' -d start=0 \
        -d reduce_mem_usage=1 |
        python3 -c '
import json, sys
n, t0 = int(sys.argv[1]), int(sys.argv[2])
want = {}
for m in ("tgv1", "tgv2", "tggr"):
    for i in range(n):
        want[(f"{m}_v", f"i{i:03d}", (t0 + i) * 1000)] = i + 0.25
        want[(f"{m}_n", f"i{i:03d}", (t0 + i) * 1000)] = float(i)
        if m != "tggr":
            want[(f"{m}_ok", f"i{i:03d}", (t0 + i) * 1000)] = float(i % 2 == 0)
            # VictoriaMetrics stores a string that is not a number as 0.
            want[(f"{m}_s", f"i{i:03d}", (t0 + i) * 1000)] = 0.0
got = {}
for line in sys.stdin:
    s = json.loads(line)
    lab = s["metric"]
    if lab.get("db") != "telegraf":
        sys.exit(f"series without db=telegraf: {lab}")
    for v, t in zip(s["values"], s["timestamps"]):
        key = (lab["__name__"], lab.get("k"), t)
        if key in got:
            sys.exit(f"twice: {key}")
        got[key] = float(v)
if got != want:
    missing = [k for k in want if k not in got][:3]
    extra = [k for k in got if k not in want][:3]
    wrong = [(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]][:3]
    sys.exit(f"{len(got)} samples, want {len(want)}; missing {missing} extra {extra} wrong {wrong}")
print(len(got))' "$N" "$T0"
}
for ((i = 0; i < 40; i++)); do
    got=$(check_vm 2>&1) && break
    sleep 0.5
    vm_flush
done
[[ $got =~ ^[0-9]+$ ]] || fail "victoriametrics: $got"
log "victoriametrics: $got samples, each once, with its value"

# --- the relay's own account --------------------------------------------------------------
grep -q "cluster 'influx': created database 'telegraf'" "$RELAY_LOG" ||
    fail "the relay's log does not say it created database telegraf on influx"
assert_eq "$(grep -c 'CREATE DATABASE "telegraf" accepted' "$RELAY_LOG")" 1 "CREATE DATABASE statements from telegraf"
grep "refused\|dead-letter" "$RELAY_LOG" >&2 && fail "the relay refused or dead-lettered something (above)"
assert_eq "$(relay_metric 'tsrelay_points_accepted_total{listener="http"}')" $((2 * N)) "http points accepted"
assert_eq "$(relay_metric 'tsrelay_points_accepted_total{listener="graphite_tcp"}')" $((2 * N)) "graphite points accepted"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
