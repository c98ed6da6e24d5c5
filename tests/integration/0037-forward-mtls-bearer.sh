#!/usr/bin/env bash
# timeout: 240
# Credentials to the clusters, through what SREs put in front of a VictoriaMetrics:
# - cluster "mtls": nginx over https that requires a client certificate from the test's
#   CA (ssl_verify_client on), proxying to VictoriaMetrics vm1; the relay presents
#   clusters[].tls_cert_file / tls_key_file and trusts tls_ca_file;
# - cluster "bearer": vmauth (VictoriaMetrics' own auth proxy) taking bearer_token
#   "good", proxying to vm2; the relay sends clusters[].bearer_token_file;
# - cluster "wrongtoken": the same vmauth with another token, which vmauth answers with
#   a 400 that echoes the token: a refusal of the credentials, not of the lines, so the
#   cluster is held back (not in_sync, its reason naming the problem with the token
#   masked), dead-letters nothing, and holds no one else back.
# Writes, health probes and the delivery all go through the proxies: every point lands
# exactly once in vm1 and in vm2 (count and sum, no deduplication), and the secrets are
# in no admin answer and not in the log.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/tls.sh"

N=20000
make_ca good
make_server_cert good server
make_client_cert good relay
D=$TSR_TMP/tls

start_kafka
start_victoriametrics
VM1_URL=$VM_URL
VM2_PORT=$(free_port)
spawn victoriametrics2 victoria-metrics -httpListenAddr="127.0.0.1:$VM2_PORT" \
    -storageDataPath="$TSR_TMP/vm2" -retentionPeriod=100y -search.latencyOffset=0s \
    -search.disableCache
wait_server victoriametrics2 "$SPAWN_PID" 30 curl -sf -o /dev/null -m 1 "http://127.0.0.1:$VM2_PORT/health"

NGINX_PORT=$(free_port)
mkdir -p "$TSR_TMP/nginx"
cat >"$TSR_TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
pid $TSR_TMP/nginx/nginx.pid;
error_log $TSR_TMP/nginx/error.log info;
events {}
http {
    access_log $TSR_TMP/nginx/access.log;
    client_body_temp_path $TSR_TMP/nginx/body;
    proxy_temp_path $TSR_TMP/nginx/proxy;
    fastcgi_temp_path $TSR_TMP/nginx/fastcgi;
    uwsgi_temp_path $TSR_TMP/nginx/uwsgi;
    scgi_temp_path $TSR_TMP/nginx/scgi;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $D/server.pem;
        ssl_certificate_key $D/server.key;
        ssl_client_certificate $D/good-ca.pem;
        ssl_verify_client on;
        location / { proxy_pass $VM1_URL; }
    }
}
EOF
spawn nginx nginx -p "$TSR_TMP/nginx" -c "$TSR_TMP/nginx/nginx.conf"
export CURL_CA_BUNDLE=$D/good-ca.pem
wait_server nginx "$SPAWN_PID" 30 curl -s -o /dev/null -m 1 "https://127.0.0.1:$NGINX_PORT/"
code=$(curl -s -o /dev/null -w '%{http_code}' "https://127.0.0.1:$NGINX_PORT/health")
assert_eq "$code" 400 "nginx without a client certificate"

VMAUTH_PORT=$(free_port)
cat >"$TSR_TMP/vmauth.yaml" <<EOF
users:
  - bearer_token: "tok-good-7f3a"
    url_prefix: "http://127.0.0.1:$VM2_PORT"
EOF
spawn vmauth vmauth -httpListenAddr="127.0.0.1:$VMAUTH_PORT" -auth.config="$TSR_TMP/vmauth.yaml"
wait_server vmauth "$SPAWN_PID" 30 curl -s -o /dev/null -m 1 "http://127.0.0.1:$VMAUTH_PORT/"
code=$(curl -s -o /dev/null -w "%{http_code}" --data-binary "x v=1" "http://127.0.0.1:$VMAUTH_PORT/write")
assert_eq "$code" 401 "vmauth without a token"

printf 'tok-good-7f3a\n' >"$TSR_TMP/good.token"
printf 'tok-wrong-9c1d\n' >"$TSR_TMP/wrong.token"
relay_config "clusters:
  - name: mtls
    type: victoriametrics
    urls: [https://127.0.0.1:$NGINX_PORT]
    tls_ca_file: $D/good-ca.pem
    tls_cert_file: $D/relay.pem
    tls_key_file: $D/relay.key
  - name: bearer
    type: victoriametrics
    urls: [http://127.0.0.1:$VMAUTH_PORT]
    bearer_token_file: $TSR_TMP/good.token
  - name: wrongtoken
    type: victoriametrics
    urls: [http://127.0.0.1:$VMAUTH_PORT]
    bearer_token_file: $TSR_TMP/wrong.token
    probe_interval_ms: 500ms"
unset CURL_CA_BUNDLE
start_relay
wait_cluster_ready mtls 30 || fail "cluster mtls not in_sync: $(cluster_field mtls reason)"
wait_cluster_ready bearer 30 || fail "cluster bearer not in_sync: $(cluster_field bearer reason)"

send --lines "$N" >/dev/null || fail "lpsend failed"
wait_counts vm "$(expected_counts "$N")" 60
VM_URL=http://127.0.0.1:$VM2_PORT wait_counts vm "$(expected_counts "$N")" 60
# "SAMPLES COUNT SUM" of VictoriaMetrics at URL: every stored sample (a point written twice
# counts twice), and the distinct points with the sum of their values.
tally() { echo "$(VM_URL=$1 counts_vm_raw_db tsrtest | cut -d' ' -f1) $(VM_URL=$1 counts_vm tsrtest)"; }
want="$N $(expected_counts "$N")"
for ((i = 0; i < 50; i++)); do
    [ "$(tally "$VM1_URL")" = "$want" ] && [ "$(tally "http://127.0.0.1:$VM2_PORT")" = "$want" ] && break
    sleep 0.2
done
assert_eq "$(tally "$VM1_URL")" "$want" "vm1 (behind nginx mTLS) SAMPLES COUNT SUM"
assert_eq "$(tally "http://127.0.0.1:$VM2_PORT")" "$want" \
    "vm2 (behind vmauth) SAMPLES COUNT SUM: the wrong token delivered nothing"
grep -q '"GET /health HTTP' "$TSR_TMP/nginx/access.log" || fail "the relay's probes did not go through nginx"

state=$(cluster_field wrongtoken state)
reason=$(cluster_field wrongtoken reason)
[ "$state" != in_sync ] || fail "cluster wrongtoken is in_sync with a wrong token: $(admin_get /status)"
grep -q 'auth token "Bearer \*\*\*"' <<<"$reason" ||
    fail "cluster wrongtoken's reason does not name the token problem, masked: $reason"
assert_eq "$(cluster_field wrongtoken points_rejected)" 0 "points wrongtoken dead-lettered"
log "wrongtoken: $state: $reason"

# The tokens are in no admin answer and not in the log.
for path in /status /metrics "/clusters/wrongtoken/ready" /replays; do
    out=$(admin_get "$path")
    if grep -q "tok-good-7f3a\|tok-wrong-9c1d" <<<"$out"; then fail "a token in $path"; fi
done
if grep -q "tok-good-7f3a\|tok-wrong-9c1d" "$RELAY_LOG"; then fail "a token in the relay's log"; fi
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
