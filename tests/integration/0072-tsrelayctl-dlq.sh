#!/usr/bin/env bash
# timeout: 240
# asan: yes
# tsrelayctl dlq list / show, reading the dead-letter topic from Kafka with the relay's
# config file: three lines refused at ingest (two of one request, with their line
# numbers) and one point InfluxDB refused at delivery (a field type conflict with what
# it already holds) are listed with their source, database, line and reason; --cluster,
# --reason, --since and --limit select; show prints one record whole; all of it works
# with the relay stopped; usage errors exit 2, a record that is not there exits 1. After
# 50 more conflicting points, a cluster rule (reloaded) moves them to a measurement of
# their own and `dlq resend --cluster influx --to-topic` delivers all 51 through it;
# --to-cluster writes them to the cluster directly, --dry-run counts.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

CTL=$(dirname "$TSRELAY_BIN")/tsrelayctl
start_kafka
start_influxdb
influx_query dlqdb 'CREATE DATABASE dlqdb' >/dev/null
# InfluxDB already holds field v of measurement typed as an integer.
curl -sf -o /dev/null --data-binary 'typed v=1i 1700000000000000000' "$INFLUX_URL/write?db=dlqdb" ||
    fail "seeding influx"
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]"
start_relay
wait_relay_log "cluster 'influx': delivering" 30 || fail "no partitions"
before=$(date +%s%3N)

post() { curl -s -o /dev/null -w '%{http_code}' --data-binary "$2" "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=$1"; }
assert_eq "$(post dlqdb $'ok v=1 1700000000000000000\nbad line one\nok v=2 1700000000000000001\nbad,t=1 v= 1700000000000000002\n')" 400 "a request with two bad lines"
assert_eq "$(post other 'third bad')" 400 "a request with one bad line"
assert_eq "$(post dlqdb 'typed v="text" 1700000000000000005')" 204 "a point InfluxDB will refuse"
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric tsrelay_dlq_records_total)" -ge 4 ] && break
    sleep 0.2
done
assert_eq "$(relay_metric tsrelay_dlq_records_total)" 4 "dead-lettered records"

dlq() { "$CTL" dlq "$@" -c "$TSR_TMP/relay.yaml"; }
dlq list >"$TSR_TMP/list.out" || fail "dlq list: $(cat "$TSR_TMP/list.out")"
cat "$TSR_TMP/list.out" >&2
grep -q "^4 dead-lettered records in 'metrics.dlq'" "$TSR_TMP/list.out" || fail "dlq list summary"
dlq --json list >"$TSR_TMP/list.json" || fail "dlq list --json"
python3 - "$TSR_TMP/list.json" <<'PY' || fail "dlq list --json records"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["records"]
assert d["matched"] == 4 and len(r) == 4, d
http = sorted((x["db"], x["line"], x["value"].rstrip("\n")) for x in r if x["src"] == "http")
assert http == [("dlqdb", "2", "bad line one"), ("dlqdb", "4", "bad,t=1 v= 1700000000000000002"),
                ("other", "1", "third bad")], http
c = [x for x in r if x["src"] == "cluster:influx"]
assert len(c) == 1 and "field type conflict" in c[0]["reason"] and c[0]["db"] == "dlqdb", c
assert 'typed v="text"' in c[0]["value"], c
assert all(x["reason"] for x in r), r
PY

"$CTL" --json dlq list -c "$TSR_TMP/relay.yaml" --cluster influx >"$TSR_TMP/c.json" || fail "--cluster"
assert_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["matched"])' "$TSR_TMP/c.json")" 1 "--cluster influx"
ref=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["records"][0]; print("%d:%d" % (r["partition"], r["offset"]))' "$TSR_TMP/c.json")
assert_eq "$(dlq list --reason 'field type conflict' | tail -1)" "1 dead-lettered record matched in 'metrics.dlq'" "--reason"
assert_eq "$(dlq list --since "$(rfc3339 $(($(date +%s%3N) + 60000)))" | tail -1)" "0 dead-lettered records in 'metrics.dlq'" "--since in the future"
assert_eq "$(dlq list --since "$(rfc3339 "$before")" | tail -1)" "4 dead-lettered records in 'metrics.dlq'" "--since before the writes"
dlq list --limit 2 | tail -1 | grep -q "^4 dead-lettered records, the first 2 shown (--limit)" || fail "--limit"

log "50 more points InfluxDB refuses; then a cluster rule moves them to a measurement of their own, and dlq resend"
body=$(for i in $(seq 1 50); do printf 'typed v="t%d" %d\n' "$i" $((1700000000000000100 + i)); done)
assert_eq "$(post dlqdb "$body")" 204 "50 points InfluxDB will refuse"
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric tsrelay_dlq_records_total)" -ge 54 ] && break
    sleep 0.2
done
assert_eq "$(relay_metric tsrelay_dlq_records_total)" 54 "dead-lettered records (InfluxDB's 400 split to each line)"
out=$(dlq resend --cluster influx --to-topic --dry-run) || fail "dry run: $out"
assert_eq "$out" "would re-send 51 points of 51 dead-lettered records into 'metrics'; 0 lines still invalid, not sent" "resend --dry-run"
cat >>"$TSR_TMP/relay.yaml" <<YAML
    rules:
      - name: text-values-apart
        match: {measurement: typed}
        action: rename_measurement
        to: typed_text
YAML
ctl reload >/dev/null || fail "reload with the rule"
out=$(dlq resend --cluster influx --to-topic) || fail "resend: $out"
log "$out"
for ((i = 0; i < 50; i++)); do
    n=$(influx_query dlqdb 'SELECT count(v) FROM typed_text' | python3 -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)')
    [ "$n" = 51 ] && break
    sleep 0.2
done
assert_eq "$n" 51 "points re-sent and delivered through the new rule"
rc=0; dlq resend --cluster influx >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "dlq resend without a target"
out=$(dlq resend --cluster influx --to-cluster influx) || fail "resend to the cluster: $out"
assert_eq "$out" "re-sent 51 points of 51 dead-lettered records to cluster 'influx'; 0 lines still invalid, not sent" "resend --to-cluster"

log "dlq show $ref, with the relay stopped"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
dlq show "$ref" >"$TSR_TMP/show.out" || fail "dlq show: $(cat "$TSR_TMP/show.out")"
cat "$TSR_TMP/show.out" >&2
grep -q "^source  cluster:influx$" "$TSR_TMP/show.out" || fail "show: source"
grep -q "^reason  .*field type conflict" "$TSR_TMP/show.out" || fail "show: reason"
grep -q '^typed v="text" 1700000000000000005$' "$TSR_TMP/show.out" || fail "show: value"

rc=0; "$CTL" dlq list >/dev/null 2>"$TSR_TMP/e1" || rc=$?
assert_eq "$rc" 2 "dlq list without -c"
grep -q "dlq needs -c FILE" "$TSR_TMP/e1" || fail "message: $(cat "$TSR_TMP/e1")"
rc=0; dlq show 0-12 >/dev/null 2>"$TSR_TMP/e2" || rc=$?
assert_eq "$rc" 2 "a malformed record reference"
rc=0; dlq show 0:999999 >/dev/null 2>"$TSR_TMP/e3" || rc=$?
assert_eq "$rc" 1 "a record that is not there"
grep -q "no record 0:999999 in 'metrics.dlq'" "$TSR_TMP/e3" || fail "message: $(cat "$TSR_TMP/e3")"
rc=0; "$CTL" dlq list -c "$TSR_TMP/relay.yaml" --rate 5 >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "an option that does not apply"
