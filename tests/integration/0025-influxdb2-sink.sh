#!/usr/bin/env bash
# timeout: 240
# The influxdb2 sink end to end against a real InfluxDB 2 write API: VictoriaMetrics
# answers /api/v2/write, behind nginx, which refuses a write without the header
# "Authorization: Token <the token>" with 401 as InfluxDB 2 does and leaves /health open
# (InfluxDB 2's is too). Cluster "v2" (type influxdb2, org, token_file, bucket empty:
# each point's database) writes /api/v2/write?org=tsr&bucket=tsrtest. 20,000 points land
# exactly once (no deduplication), count and sum; nginx saw every write with the org,
# the bucket and the token, each answered 204; the token is in no admin answer and not
# in the log.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
# No deduplication: a point delivered twice shows as two samples.
export VM_FLAGS=-dedup.minScrapeInterval=0s
. "$(dirname "$0")/../lib/forward.sh"

N=20000
TOKEN=tok-v2-5e1b90c4
start_kafka
start_victoriametrics

NGINX_PORT=$(free_port)
mkdir -p "$TSR_TMP/nginx"
cat >"$TSR_TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $TSR_TMP/nginx/nginx.pid;
error_log $TSR_TMP/nginx/error.log info;
events {}
http {
    log_format v2 '\$status \$request_method \$request_uri auth=\$http_authorization';
    access_log $TSR_TMP/nginx/access.log v2;
    client_body_temp_path $TSR_TMP/nginx/body;
    proxy_temp_path $TSR_TMP/nginx/proxy;
    fastcgi_temp_path $TSR_TMP/nginx/fastcgi;
    uwsgi_temp_path $TSR_TMP/nginx/uwsgi;
    scgi_temp_path $TSR_TMP/nginx/scgi;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /health { proxy_pass $VM_URL; }
        location /api/v2/write {
            if (\$http_authorization != "Token $TOKEN") {
                return 401 '{"code":"unauthorized","message":"unauthorized access"}';
            }
            proxy_pass $VM_URL;
        }
        location / { return 404; }
    }
}
EOF
spawn nginx nginx -p "$TSR_TMP/nginx" -c "$TSR_TMP/nginx/nginx.conf"
wait_server nginx "$SPAWN_PID" 30 curl -s -o /dev/null -m 1 "http://127.0.0.1:$NGINX_PORT/health"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'x v=1' "http://127.0.0.1:$NGINX_PORT/api/v2/write?org=tsr&bucket=b")
assert_eq "$code" 401 "a write without the token"
: >"$TSR_TMP/nginx/access.log" # nginx appends: from here on, the relay's requests only

printf '%s\n' "$TOKEN" >"$TSR_TMP/v2.token"
relay_config "clusters:
  - name: v2
    type: influxdb2
    urls: [http://127.0.0.1:$NGINX_PORT]
    org: tsr
    token_file: $TSR_TMP/v2.token"
start_relay
wait_relay_log "cluster 'v2': delivering" 30 || fail "cluster v2 got no partitions"

log "sending $N points to database tsrtest"
send --lines "$N" --db tsrtest >/dev/null || fail "writes failed"
for ((i = 0; i < 60; i++)); do
    got=$(counts_vm_raw_db "")
    [ "$got" = "$N $(expected_counts "$N")" ] && break
    sleep 1
done
assert_eq "$got" "$N $(expected_counts "$N")" "samples at VictoriaMetrics (raw, distinct, sum)"
wait_cluster_ready v2 30

writes=$(grep -c ' POST /api/v2/write' "$TSR_TMP/nginx/access.log")
[ "$writes" -gt 0 ] || fail "no write reached nginx"
assert_eq "$(grep ' POST /api/v2/write' "$TSR_TMP/nginx/access.log" | grep -vc "^204 POST /api/v2/write?org=tsr&bucket=tsrtest&precision=ns auth=Token $TOKEN\$")" 0 \
    "writes without org, bucket or token, or refused ($(grep ' POST ' "$TSR_TMP/nginx/access.log" | sort | uniq -c | head -3))"
log "$writes writes, each with org, bucket and token, each 204"

for path in /status /metrics /clusters/v2/ready; do
    admin_get "$path" | grep -q "$TOKEN" && fail "the token is in $path"
done
grep -q "$TOKEN" "$RELAY_LOG" && fail "the token is in the log"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
