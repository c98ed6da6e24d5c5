#!/usr/bin/env bash
# timeout: 400
# asan: yes
# Live reload under load. While lpsend writes 60,000 points: `tsrelayctl reload` adds a
# cluster (influx2, a second database of the InfluxDB), changes an ingest rule and
# rotates the admin token; a broken file and a change to listen.http are refused with
# the reason and the running config kept; SIGHUP reloads once more. Every request is
# answered 204; InfluxDB and a VictoriaMetrics without deduplication hold every point
# once (no loss, no duplicate across the delivery restarts), the added cluster holds
# them all from the start of the topic, and each rule was in force exactly when it
# should have been.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
export VM_FLAGS=-dedup.minScrapeInterval=0s

LINES=60000
start_kafka
start_influxdb
start_victoriametrics
for db in tsrtest tsrtest2; do influx_query $db "CREATE DATABASE $db" >/dev/null; done
printf alpha >"$TSR_TMP/admin.token"

# config JUNK EXTRA_CLUSTER: the relay's config, dropping measurement JUNK at ingest
config()
{
    relay_config "admin:
  tokens:
    - {name: ops, role: operate, token_file: $TSR_TMP/admin.token}
rules:
  - name: no-junk
    match: {measurement: $1}
    action: drop
clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
${2:-}"
}
config junk
start_relay
export ADMIN_TOKEN=alpha
for c in influx vm; do wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions"; done
echo "$ADMIN_TOKEN" >"$TSR_TMP/ctl.token"
rctl() { ctl --token-file "$TSR_TMP/ctl.token" "$@"; }
junk() { curl -s -o /dev/null -w '%{http_code}' --data-binary "$1,phase=$2 v=1 $3" \
    "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=tsrtest"; }
assert_eq "$(junk junk 1 1000)$(junk junk2 1 1000)" 204204 "phase 1 rule probes"

send --lines $LINES --batch 500 --pause 0.04 --statuses "$TSR_TMP/statuses" &
load=$!
sleep 2

log "reload 1: a cluster added, the rule changed, the admin token rotated"
config junk2 "  - name: influx2
    type: influxdb
    urls: [$INFLUX_URL]
    database: tsrtest2"
printf beta >"$TSR_TMP/admin.token"
rctl reload >"$TSR_TMP/reload1.out" 2>&1 || fail "reload 1 refused: $(cat "$TSR_TMP/reload1.out")"
cat "$TSR_TMP/reload1.out" >&2
grep -q "reloaded: 1 ingest rules, 3 clusters (delivery restarted)" "$TSR_TMP/reload1.out" || fail "reload 1 message"
assert_eq "$(admin_get /status -o /dev/null -w '%{http_code}')" 401 "the old admin token after the rotation"
export ADMIN_TOKEN=beta
echo beta >"$TSR_TMP/ctl.token"
assert_eq "$(admin_get /status -o /dev/null -w '%{http_code}')" 200 "the new admin token"
assert_eq "$(junk junk 2 2000)$(junk junk2 2 2000)" 204204 "phase 2 rule probes"

log "a broken file is refused, the running config kept"
cp "$TSR_TMP/relay.yaml" "$TSR_TMP/good.yaml"
printf 'bogus_key: 1\n' >>"$TSR_TMP/relay.yaml"
rc=0
rctl reload >"$TSR_TMP/reload2.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "tsrelayctl reload exit code for a broken file"
grep -q "unknown key 'bogus_key'; the running configuration is unchanged" "$TSR_TMP/reload2.out" ||
    fail "broken-file message: $(cat "$TSR_TMP/reload2.out")"
sed "s|http: 127.0.0.1:$RELAY_HTTP_PORT|http: 127.0.0.1:$(free_port)|" "$TSR_TMP/good.yaml" >"$TSR_TMP/relay.yaml"
rc=0
rctl reload >"$TSR_TMP/reload3.out" 2>&1 || rc=$?
assert_eq "$rc" 1 "tsrelayctl reload exit code for a listener change"
grep -q "'listen.http' changed, which needs a restart; nothing was reloaded" "$TSR_TMP/reload3.out" ||
    fail "listener-change message: $(cat "$TSR_TMP/reload3.out")"
grep -q "reload refused" "$RELAY_LOG" || fail "refused reloads not logged"
assert_eq "$(junk junk 3 3000)$(junk junk2 3 3000)" 204204 "phase 3 rule probes (rules unchanged)"

log "SIGHUP: the rule back as it was"
sed 's/measurement: junk2}/measurement: junk}/' "$TSR_TMP/good.yaml" >"$TSR_TMP/relay.yaml"
kill -HUP "$RELAY_PID"
wait_relay_log "reloaded: 1 ingest rules, 3 clusters\$" 10 || fail "SIGHUP reload not logged"
assert_eq "$(junk junk 4 4000)$(junk junk2 4 4000)" 204204 "phase 4 rule probes"

wait "$load" || fail "the load failed"
sort "$TSR_TMP/statuses" | uniq -c >&2
[ "$(sort -u "$TSR_TMP/statuses")" = 204 ] || fail "not every request was answered 204"
want=$(expected_counts $LINES)
wait_counts influx "$want" 60
wait_counts influx "$want" 60 tsrtest2
for ((i = 0; i < 60; i++)); do
    got=$(counts_vm_raw_db tsrtest)
    [ "$got" = "$LINES $want" ] && break
    sleep 1
done
assert_eq "$got" "$LINES $want" "VictoriaMetrics raw samples, distinct points and sum (no duplicate)"

# Each probe point is where its phase's rule let it through: junk dropped in phases 1
# and 4, junk2 in phase 2; phase 3 ran under phase 2's rules.
probes=$(influx_query tsrtest 'SELECT v FROM junk, junk2 GROUP BY phase' | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0].get("series", [])
print(" ".join(sorted(s["name"] + ":" + s["tags"]["phase"] for s in r)))')
assert_eq "$probes" "junk2:1 junk2:4 junk:2 junk:3" "probe points that passed the rules"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
