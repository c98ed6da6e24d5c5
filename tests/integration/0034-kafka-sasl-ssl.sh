#!/usr/bin/env bash
# timeout: 240
# Kafka over SASL_SSL with SCRAM-SHA-512, for real: the broker gets a SASL_SSL listener
# (a PKCS#12 keystore made with openssl, the SCRAM user created when the storage is
# formatted). A relay with the right password produces through it and forwards from
# it: every point arrives at VictoriaMetrics (count and sum of values). A relay with a
# wrong password says why in its log, /ready, /status and tsrelayctl status, answers
# writers 503, and keeps running; the password is in no log line. A Kafka input with
# its own broker list (the SASL_SSL listener) and properties reads 1,000 points through
# it while the relay's own Kafka is the plaintext listener.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/tls.sh"

make_ca kafka
make_server_cert kafka broker
openssl pkcs12 -export -in "$TSR_TMP/tls/broker.pem" -inkey "$TSR_TMP/tls/broker.key" \
    -out "$TSR_TMP/tls/broker.p12" -passout pass:changeit 2>/dev/null || fail "openssl pkcs12"
PASSWORD=pw-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
KAFKA_SASL_USER=relay KAFKA_SASL_PASSWORD=$PASSWORD KAFKA_TLS_P12=$TSR_TMP/tls/broker.p12 start_kafka
[ -n "${KAFKA_SASL_PORT:-}" ] || fail "no SASL_SSL listener"
start_victoriametrics
# The topic exists before the relays start (auto-created by a plaintext produce).
printf 'warm v=1 1\n' | kcat -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -P 2>/dev/null || fail "kcat"

# sasl_relay PASSWORD_FILE: a relay whose Kafka is the SASL_SSL listener.
sasl_config() {
    RELAY_KAFKA_EXTRA="  properties:
    security.protocol: SASL_SSL
    sasl.mechanisms: SCRAM-SHA-512
    sasl.username: relay
    sasl.password_file: $1
    ssl.ca.location: $TSR_TMP/tls/kafka-ca.pem" \
        KAFKA_BROKERS=127.0.0.1:$KAFKA_SASL_PORT relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
}
printf '%s\n' "$PASSWORD" >"$TSR_TMP/good.pw"
printf 'not-%s\n' "$PASSWORD" >"$TSR_TMP/bad.pw"

sasl_config "$TSR_TMP/good.pw"
start_relay
wait_cluster_ready vm 30 || fail "vm not in sync through SASL_SSL: $(cluster_field vm reason)"
N=20000
send --lines $N >/dev/null || fail "points not acknowledged through SASL_SSL"
wait_counts vm "$(expected_counts $N)" 60
n=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -c)
assert_eq "$n" $((N + 1)) "lines in the topic (read back over plaintext)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
good_log=$RELAY_LOG
mv "$good_log" "$TSR_TMP/relay-good.log"

log "a relay with a wrong password"
sasl_config "$TSR_TMP/bad.pw"
RELAY_LOG=$TSR_TMP/relay.log
"$TSRELAY_BIN" -c "$TSR_TMP/relay.yaml" >>"$RELAY_LOG" 2>&1 </dev/null &
RELAY_PID=$!
track_pid "$RELAY_PID" tsrelay
for ((i = 0; i < 100; i++)); do
    grep -qi 'authentication' "$RELAY_LOG" && break
    sleep 0.1
done
grep -i 'authentication' "$RELAY_LOG" | head -n 2 >&2
grep -qi 'SASL authentication error\|Authentication failed' "$RELAY_LOG" ||
    fail "the log does not say why Kafka refused: $(tail -n 5 "$RELAY_LOG")"
sleep 1
alive "$RELAY_PID" || fail "the relay died on a wrong password"
assert_eq "$(curl -s -o "$TSR_TMP/ready" -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/ready")" 503 "/ready"
log "/ready: $(cat "$TSR_TMP/ready")"
grep -q '^kafka unavailable: .*SASL authentication error' "$TSR_TMP/ready" || fail "/ready does not say why: $(cat "$TSR_TMP/ready")"
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" | python3 -c "
import json, sys
k = json.load(sys.stdin)['kafka']
assert not k['up'] and 'SASL authentication error' in k['last_error'], k" || fail "/status kafka.last_error"
ctl status >"$TSR_TMP/ctl.out" 2>&1 || true
grep -q 'SASL authentication error' "$TSR_TMP/ctl.out" || fail "tsrelayctl status does not say why: $(cat "$TSR_TMP/ctl.out")"
code=$(printf 'm v=1 1\n' | curl -s -o "$TSR_TMP/resp" -w '%{http_code}' --data-binary @- \
    "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=x")
assert_eq "$code" 503 "a write while Kafka refuses the relay"
log "writer told: $(cat "$TSR_TMP/resp")"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code of the refused relay"
mv "$RELAY_LOG" "$TSR_TMP/relay-bad.log"

log "a Kafka input on another broker list with its own SASL_SSL properties"
RELAY_LOG=$TSR_TMP/relay.log
RELAY_KAFKA_EXTRA="" relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
inputs:
  kafka:
    - topic: sasl-in
      brokers: 127.0.0.1:$KAFKA_SASL_PORT
      properties:
        security.protocol: SASL_SSL
        sasl.mechanisms: SCRAM-SHA-512
        sasl.username: relay
        sasl.password_file: $TSR_TMP/good.pw
        ssl.ca.location: $TSR_TMP/tls/kafka-ca.pem
      format: influx
      database: sasl"
for ((i = 0; i < 1000; i += 100)); do
    for ((j = i; j < i + 100; j++)); do printf 'sasl_in,host=h%d v=%d %d\n' $((j % 3)) "$j" $((1700000000000 + j))000000; done |
        kcat -b "$KAFKA_BROKERS" -t sasl-in -P 2>/dev/null || fail "kcat sasl-in"
done
start_relay
for ((i = 0; i < 60; i++)); do
    vm_flush
    got=$(curl -s "$VM_URL/api/v1/export" --data-urlencode 'match[]=sasl_in_v{db="sasl"}' -d start=0 |
        python3 -c 'import json, sys; v = [x for l in sys.stdin if l.strip() for x in json.loads(l)["values"]]; print(len(v), int(sum(v)))')
    [ "$got" = "1000 $((1000 * 999 / 2))" ] && break
    sleep 0.5
done
assert_eq "$got" "1000 $((1000 * 999 / 2))" "points read through the SASL_SSL input (count sum at VictoriaMetrics)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code of the relay with the SASL_SSL input"

if grep -qF "$PASSWORD" "$TSR_TMP/relay-good.log" "$TSR_TMP/relay-bad.log" "$RELAY_LOG"; then
    fail "the SASL password appears in a relay log"
fi
