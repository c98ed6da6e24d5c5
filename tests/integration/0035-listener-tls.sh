#!/usr/bin/env bash
# timeout: 300
# TLS on the relay's own listeners (tls.*), with certificates the test makes (openssl).
# 1. HTTP ingest, Graphite TCP and admin over TLS: curl, lpsend (Python's ssl), the real
#    Telegraf (outputs.influxdb with tls_ca) and a Graphite sender write over https / TLS;
#    tsrelayctl reads the status over https with --ca-file, and without it fails with the
#    certificate problem. Plain HTTP and TLS 1.1 on the TLS port are refused, counted and
#    logged, and the relay keeps serving.
# 2. Rotation without a restart: a new certificate moved into place is picked up by the
#    file watch; a broken one (SIGHUP) is refused and the last good one keeps serving.
# 3. mTLS (tls.client_ca_file): no client certificate or one from another CA is refused
#    in the handshake; the right one (curl, lpsend, Telegraf tls_cert/tls_key) writes.
# Every point written is counted at VictoriaMetrics (count and sum of values, no
# deduplication): each exactly once; the refused ones nowhere.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/tls.sh"
. "$(dirname "$0")/../lib/telegraf.sh"

TELEGRAF=$(telegraf_bin)
make_ca good
make_ca other
make_server_cert good server
make_client_cert good writer
make_client_cert other rogue
D=$TSR_TMP/tls
CA=$D/good-ca.pem
# The relay reads its certificate from here; rotations replace these two files.
cp "$D/server.pem" "$D/live.pem"
cp "$D/server.key" "$D/live.key"
export CURL_CA_BUNDLE=$CA

start_kafka
start_victoriametrics
tls_config()
{
    relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
graphite:
  database: tsrtest
  templates: [\"measurement.field\"]
tls:
  cert_file: $D/live.pem
  key_file: $D/live.key
$1"
}
tls_config "  listeners: [http, graphite, admin]"
RELAY_ADMIN_SCHEME=https
start_relay
grep -q "http '127.0.0.1:$RELAY_HTTP_PORT' (tls)" "$RELAY_LOG" || fail "start line does not say http is tls"
URL=https://127.0.0.1:$RELAY_HTTP_PORT
want_n=0 want_sum=0
sent() { want_n=$((want_n + $2)); want_sum=$((want_sum + ($1 + $1 + $2 - 1) * $2 / 2)); }
lp_tls() { send --tls-ca "$CA" "$@"; }

# --- 1. https ingest ---------------------------------------------------------------------
out=$(lp_tls --start 0 --lines 3000 --batch 1000) || fail "lpsend over https: $out"
grep -q "204=3" <<<"$out" || fail "lpsend over https: $out"
sent 0 3000
# lpsend's lines FROM..FROM+9 (with send's 1 ms step), for curl.
lines10() { python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import lpsend; lpsend.STEP = 1000000; print("".join(lpsend.line(i) for i in range(int(sys.argv[2]), int(sys.argv[2]) + 10)), end="")' "$REPO_ROOT/tests/tools" "$1"; }
body=$(lines10 3000)
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "$body" "$URL/write?db=tsrtest")
assert_eq 204 "$code" "curl over https"
sent 3000 10
code=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.3 "$URL/ping")
assert_eq 204 "$code" "GET /ping over TLS 1.3"
code=$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "$URL/ping")
assert_eq 204 "$code" "GET /ping over TLS 1.2"

# Plain HTTP and TLS 1.1 on the TLS port: refused in the handshake, logged and counted.
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 --data-binary "$body" \
    "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=tsrtest" || true)
[ "$code" != 204 ] || fail "plain http on the TLS port was answered 204"
if openssl s_client -connect "127.0.0.1:$RELAY_HTTP_PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
    -CAfile "$CA" </dev/null >"$TSR_TMP/tls11.out" 2>&1; then
    fail "a TLS 1.1 handshake succeeded: $(tail -5 "$TSR_TMP/tls11.out")"
fi
wait_relay_log "tls: handshake with 127.0.0.1 failed" 10 || fail "no log line for the refused handshake"
failed=$(relay_metric 'tsrelay_tls_handshake_failures_total{listener="http"}')
[ "$failed" -ge 1 ] || fail "tsrelay_tls_handshake_failures_total{listener=\"http\"} is $failed"

# Telegraf, as users configure it for an https InfluxDB.
cat >"$TSR_TMP/points.sh" <<'EOF'
#!/bin/sh
i=4000
while [ $i -lt 4100 ]; do
    echo "m$((i % 7)),dc=d$((i % 3)),host=h$((i % 101)) fi=${i}i $((1700000000000000000 + i * 1000000))"
    i=$((i + 1))
done
EOF
chmod +x "$TSR_TMP/points.sh"
telegraf_once()
{
    cat >"$TSR_TMP/telegraf.conf" <<EOF
[agent]
  omit_hostname = true
[[inputs.exec]]
  commands = ["$TSR_TMP/points.sh"]
  data_format = "influx"
[[outputs.influxdb]]
  urls = ["$URL"]
  database = "tsrtest"
  skip_database_creation = true
  tls_ca = "$CA"
$1
EOF
    timeout 60 "$TELEGRAF" --config "$TSR_TMP/telegraf.conf" --once >"$TSR_TMP/telegraf.log" 2>&1 ||
        { cat "$TSR_TMP/telegraf.log" >&2; fail "telegraf --once over https failed"; }
    if grep -E '^[^ ]+ E! ' "$TSR_TMP/telegraf.log" >&2; then fail "telegraf logged errors (above)"; fi
}
telegraf_once ""
sent 4000 100

# Graphite over TLS (Python's ssl, as a carbon sender with TLS would).
python3 - "$RELAY_GRAPHITE_PORT" "$CA" <<'PY' || fail "graphite over TLS"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall("".join(f"m{i % 7}.fi {i} {1700000000 + i}\n" for i in range(5000, 5050)).encode())
PY
sent 5000 50

# tsrelayctl over https: with the CA it reads the status; without, it says why not.
tctl() { "$(dirname "$TSRELAY_BIN")/tsrelayctl" -a "https://127.0.0.1:$RELAY_ADMIN_PORT" "$@"; }
tctl --ca-file "$CA" status >"$TSR_TMP/ctl.out" 2>&1 || { cat "$TSR_TMP/ctl.out" >&2; fail "tsrelayctl status over https"; }
grep -q "vm" "$TSR_TMP/ctl.out" || fail "tsrelayctl status does not list cluster vm: $(cat "$TSR_TMP/ctl.out")"
rc=0
CURL_CA_BUNDLE= tctl status >"$TSR_TMP/ctl.out" 2>&1 || rc=$?
assert_eq 3 "$rc" "tsrelayctl without --ca-file exit code"
grep -qi "certificate" "$TSR_TMP/ctl.out" || fail "tsrelayctl does not name the certificate problem: $(cat "$TSR_TMP/ctl.out")"

# --- 2. rotation -------------------------------------------------------------------------
serial() { openssl s_client -connect "127.0.0.1:$RELAY_HTTP_PORT" -CAfile "$CA" </dev/null 2>/dev/null |
    openssl x509 -noout -serial; }
before=$(serial)
[ "$before" = "$(openssl x509 -noout -serial -in "$D/server.pem")" ] || fail "served certificate is not server.pem: $before"
make_server_cert good server2
# As cert-manager does: new files moved into place.
cp "$D/server2.key" "$D/live.key.new" && mv "$D/live.key.new" "$D/live.key"
cp "$D/server2.pem" "$D/live.pem.new" && mv "$D/live.pem.new" "$D/live.pem"
for ((i = 0; i < 100; i++)); do
    [ "$(serial)" = "$(openssl x509 -noout -serial -in "$D/server2.pem")" ] && break
    sleep 0.1
done
[ "$i" -lt 100 ] || fail "the rotated certificate is not served 10s later"
grep -q "certificate files changed on disk" "$RELAY_LOG" || fail "no log line for the rotation"
out=$(lp_tls --start 6000 --lines 1000) || fail "lpsend after rotation: $out"
sent 6000 1000
# A broken certificate, then SIGHUP: refused, the last good one goes on serving.
echo "not a certificate" >"$D/live.pem"
kill -HUP "$RELAY_PID"
wait_relay_log "tls: reload failed, still serving the previous certificate" 10 ||
    fail "no log line for the refused reload"
[ "$(serial)" = "$(openssl x509 -noout -serial -in "$D/server2.pem")" ] || fail "the good certificate is no longer served"
out=$(lp_tls --start 7000 --lines 1000) || fail "lpsend after a bad reload: $out"
sent 7000 1000
cp "$D/server2.pem" "$D/live.pem"
stop_relay
assert_eq 0 "$RELAY_EXIT" "relay exit code"

# --- 3. mTLS -----------------------------------------------------------------------------
tls_config "  client_ca_file: $CA
  listeners: [http]"
RELAY_ADMIN_SCHEME=http
start_relay
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$URL/ping" || true)
[ "$code" != 204 ] || fail "a client without a certificate was answered"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 --cert "$D/rogue.pem" --key "$D/rogue.key" "$URL/ping" || true)
[ "$code" != 204 ] || fail "a client with another CA's certificate was answered"
wait_relay_log "tls: handshake with 127.0.0.1 failed: .*certificate" 10 ||
    fail "no log line naming the client certificate problem"
code=$(curl -s -o /dev/null -w '%{http_code}' --cert "$D/writer.pem" --key "$D/writer.key" \
    --data-binary "$(lines10 3100)" "$URL/write?db=tsrtest")
assert_eq 204 "$code" "curl with a client certificate"
sent 3100 10
out=$(lp_tls --start 8000 --lines 2000 --tls-cert "$D/writer.pem" --tls-key "$D/writer.key") ||
    fail "lpsend with a client certificate: $out"
sent 8000 2000
sed -i 's/i=4000/i=12000/; s/-lt 4100/-lt 12100/' "$TSR_TMP/points.sh"
telegraf_once "  tls_cert = \"$D/writer.pem\"
  tls_key = \"$D/writer.key\""
sent 12000 100
rc=0
out=$(lp_tls --start 20000 --lines 10 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "lpsend without a client certificate succeeded: $out"

# --- every point, once -------------------------------------------------------------------
for ((i = 0; i < 150; i++)); do
    got=$(counts_vm_raw_db tsrtest)
    [ "$got" = "$want_n $want_n $want_sum" ] && break
    sleep 0.2
done
assert_eq "$got" "$want_n $want_n $want_sum" "VictoriaMetrics RAW COUNT SUM"
stop_relay
assert_eq 0 "$RELAY_EXIT" "relay exit code"
