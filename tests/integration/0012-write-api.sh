#!/usr/bin/env bash
# timeout: 300
# The InfluxDB-compatible write API, end to end against a real broker: precisions and
# stamped timestamps, partial writes (400 naming each bad line, good lines durable),
# the dead-letter topic, the v2 endpoint, /ping, /query, and the three ways to
# authenticate.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

# post PATH BODY [CURL_ARGS...]: prints "STATUS BODY"
post()
{
    local path=$1 body=$2
    shift 2
    curl -s -o "$TSR_TMP/resp" -w '%{http_code}' --data-binary "$body" "$@" \
        "http://127.0.0.1:$RELAY_HTTP_PORT$path"
    printf ' %s' "$(cat "$TSR_TMP/resp")"
}
status() { post "$@" | cut -d' ' -f1; }

start_kafka
relay_config
start_relay

# --- precisions: the same instant in every unit lands as the same nanoseconds ------------
T=1700000000
assert_eq "$(status "/write?db=p&precision=ns" "p,u=ns v=1 ${T}000000000")" 204 "precision ns"
assert_eq "$(status "/write?db=p&precision=u" "p,u=u v=1 ${T}000000")" 204 "precision u"
assert_eq "$(status "/write?db=p&precision=ms" "p,u=ms v=1 ${T}000")" 204 "precision ms"
assert_eq "$(status "/write?db=p&precision=s" "p,u=s v=1 ${T}")" 204 "precision s"
assert_eq "$(status "/write?db=p&precision=m" "p,u=m v=1 $((T / 60))")" 204 "precision m"
assert_eq "$(status "/write?db=p&precision=h" "p,u=h v=1 $((T / 3600))")" 204 "precision h"
assert_eq "$(status "/api/v2/write?bucket=p&precision=us" "p,u=v2us v=1 ${T}000000")" 204 "v2 precision us"
assert_eq "$(status "/write?db=p&precision=fortnight" "p v=1")" 400 "unknown precision"
# Tags out of order are sorted; a line without a timestamp is stamped with the receive time.
before=$(date +%s%N)
assert_eq "$(status "/write?db=p" "stamp,z=1,a=2 v=1i")" 204 "no timestamp"
after=$(date +%s%N)

topic_lines "$RELAY_TOPIC" >"$TSR_TMP/got"
for u in ns u ms s; do
    grep -qx "p,u=$u v=1 ${T}000000000" "$TSR_TMP/got" || fail "precision $u not normalised to ns"
done
grep -qx "p,u=m v=1 $(((T / 60) * 60))000000000" "$TSR_TMP/got" || fail "precision m"
grep -qx "p,u=h v=1 $(((T / 3600) * 3600))000000000" "$TSR_TMP/got" || fail "precision h"
grep -qx "p,u=v2us v=1 ${T}000000000" "$TSR_TMP/got" || fail "v2 precision us"
stamped=$(grep '^stamp,' "$TSR_TMP/got")
[[ $stamped =~ ^stamp,a=2,z=1\ v=1i\ ([0-9]+)$ ]] || fail "stamped line not normalised: '$stamped'"
ts=${BASH_REMATCH[1]}
[ "$ts" -ge "$before" ] && [ "$ts" -le "$after" ] || fail "stamped time $ts not within [$before, $after]"

# --- partial write: good lines kept, bad ones named, 400 ---------------------------------
body=$'good,k=1 v=1 1\ncpu,host=a\nbad value=1.2.3 3\ngood,k=2 v=2 2\n\n# a comment\nx v=99999999999999999999i 4\ngood,k=3 s="ok" 5'
resp=$(post "/write?db=pw" "$body")
log "partial write answer: $resp"
assert_eq "${resp%% *}" 400 "partial write status"
for n in 2 3 7; do grep -q "line $n: unable to parse" <<<"$resp" || fail "answer does not name line $n"; done
grep -q "3 of 6 lines rejected" <<<"$resp" || fail "answer does not count the lines"
grep -q '"error":"partial write' <<<"$resp" || fail "not an InfluxDB-style error body"
resp=$(post "/api/v2/write?bucket=pw" "$body")
grep -q '"code":"invalid","message":"partial write' <<<"$resp" || fail "v2 error body: $resp"

topic_lines "$RELAY_TOPIC" | grep -c '^good,' >"$TSR_TMP/n" || true
assert_eq "$(cat "$TSR_TMP/n")" 6 "good lines of both partial writes in kafka"
# Dead-lettering is asynchronous (the client already has its answer): wait for it.
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric tsrelay_dlq_records_total)" -ge 6 ] && break
    sleep 0.1
done
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H)
log "dead-letter topic: $(grep -c '^#' <<<"$dlq") records"
assert_eq "$(grep -c '^#' <<<"$dlq")" 6 "dead-letter records"
grep -q '^cpu,host=a$' <<<"$dlq" || fail "raw bad line not in the dead-letter topic"
grep -q 'reason=.*src=http.*line=2' <<<"$dlq" || grep -q 'line=2' <<<"$dlq" || fail "dead-letter headers: $dlq"
grep -q 'reason=' <<<"$dlq" || fail "dead-letter records carry no reason"

# --- the rest of the API surface ---------------------------------------------------------
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_HTTP_PORT/ping")" 204 "GET /ping"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$RELAY_HTTP_PORT/ping")" 204 "HEAD /ping"
assert_eq "$(status "/write" "x v=1")" 400 "missing db"
assert_eq "$(status "/api/v2/write?org=o" "x v=1")" 400 "missing bucket"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=x")" 405 "GET /write"
assert_eq "$(status "/query" "q=CREATE DATABASE telegraf")" 200 "CREATE DATABASE accepted"
assert_eq "$(status "/query" "q=SELECT * FROM cpu")" 400 "queries refused"
assert_eq "$(status "/write?db=e" "")" 204 "empty body"
# Telegraf's outputs.influxdb: gzip body, db in the query, User-Agent Telegraf.
printf 'tg,host=a usage=1 1\n' | gzip >"$TSR_TMP/tg.gz"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Encoding: gzip' -H 'User-Agent: Telegraf/1.28' \
    --data-binary @"$TSR_TMP/tg.gz" "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=telegraf")" 204 "telegraf-style gzip write"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"

# --- authentication ---------------------------------------------------------------------
printf 's3cret\n' >"$TSR_TMP/pw"
printf 'tok-123\n' >"$TSR_TMP/tok"
relay_config "ingest:
  auth:
    enabled: true
    users:
      - name: writer
        password_file: $TSR_TMP/pw
    token_files: [$TSR_TMP/tok]"
start_relay
assert_eq "$(status "/write?db=a" "a v=1 1")" 401 "no credentials"
assert_eq "$(status "/write?db=a&u=writer&p=wrong" "a v=1 1")" 401 "wrong password"
assert_eq "$(status "/write?db=a&u=writer&p=s3cret" "a v=1 1")" 204 "u/p"
assert_eq "$(status "/write?db=a" "a v=1 2" -u writer:s3cret)" 204 "basic"
assert_eq "$(status "/write?db=a" "a v=1 3" -u writer:nope)" 401 "basic, wrong password"
assert_eq "$(status "/api/v2/write?bucket=a" "a v=1 4" -H 'Authorization: Token tok-123')" 204 "token"
assert_eq "$(status "/api/v2/write?bucket=a" "a v=1 5" -H 'Authorization: Token writer:s3cret')" 204 "token user:pass"
assert_eq "$(status "/api/v2/write?bucket=a" "a v=1 6" -H 'Authorization: Token tok-999')" 401 "wrong token"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
n=$(topic_lines "$RELAY_TOPIC" | grep -c '^a v=1' || true)
assert_eq "$n" 4 "authenticated writes in kafka"
