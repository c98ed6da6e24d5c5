#!/usr/bin/env bash
# timeout: 240
# Clusters over https with certificates the test makes (openssl): InfluxDB 1.x with
# https-enabled and VictoriaMetrics with -tls, both trusted through clusters[].tls_ca_file.
# Writes, health probes and CREATE DATABASE (create_database: true, the database not
# there yet) all go over TLS: every point arrives at both (count and sum of values), and
# both stay in sync. A third cluster pointing at the same VictoriaMetrics with another
# CA is down, its reason naming the certificate problem, and holds back no one.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/tls.sh"

make_ca good
make_ca other
make_server_cert good server
CA=$TSR_TMP/tls/good-ca.pem
# The harness's own curl calls (readiness, queries, vm_flush) trust the test's CA; the
# counting scripts (Python) get SSL_CERT_FILE where they run. The relay gets neither:
# only its tls_ca_file.
export CURL_CA_BUNDLE=$CA

start_kafka
INFLUX_TLS_CERT=$TSR_TMP/tls/server.pem INFLUX_TLS_KEY=$TSR_TMP/tls/server.key start_influxdb
VM_SCHEME=https start_victoriametrics -tls -tlsCertFile="$TSR_TMP/tls/server.pem" \
    -tlsKeyFile="$TSR_TMP/tls/server.key"
[[ $INFLUX_URL == https://* && $VM_URL == https://* ]] || fail "TSDBs not on https: $INFLUX_URL $VM_URL"

relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
    tls_ca_file: $CA
    create_database: true
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    tls_ca_file: $CA
  - name: wrongca
    type: victoriametrics
    urls: [$VM_URL]
    tls_ca_file: $TSR_TMP/tls/other-ca.pem"
start_relay
wait_cluster_ready influx 30 || fail "influx not in sync over https: $(cluster_field influx reason)"
wait_cluster_ready vm 30 || fail "vm not in sync over https: $(cluster_field vm reason)"

N=20000
send --lines $N >/dev/null || fail "points not acknowledged"
SSL_CERT_FILE=$CA wait_counts influx "$(expected_counts $N)" 60
SSL_CERT_FILE=$CA wait_counts vm "$(expected_counts $N)" 60
grep -q "cluster 'influx': created database 'tsrtest'" "$RELAY_LOG" ||
    fail "the database was not created over https"
wait_cluster_ready influx 10 || fail "influx not in sync: $(cluster_field influx reason)"
wait_cluster_ready vm 10 || fail "vm not in sync: $(cluster_field vm reason)"

state=$(cluster_field wrongca state)
reason=$(cluster_field wrongca reason)
log "wrongca: $state: $reason"
assert_eq "$state" down "the cluster whose CA does not match"
[[ $reason == *certificate* ]] || fail "wrongca's reason does not name the certificate: $reason"
assert_eq "$(cluster_ready wrongca)" 503 "wrongca ready"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
