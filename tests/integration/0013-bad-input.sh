#!/usr/bin/env bash
# timeout: 400
# asan: yes
# A corpus of malformed input: each request gets its clear answer (status and a reason
# naming the line), the relay never crashes, keeps serving other clients meanwhile
# (including while a slow client stalls mid-body), and only the valid lines reach Kafka.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

url() { echo "http://127.0.0.1:$RELAY_HTTP_PORT$1"; }
# expect STATUS REGEX NAME CURL_ARGS...: one request, its status and answer checked.
expect()
{
    local want=$1 re=$2 name=$3 got
    shift 3
    got=$(curl -s -o "$TSR_TMP/resp" -w '%{http_code}' "$@") || true
    [ "$got" = "$want" ] || fail "$name: status $got, want $want: $(head -c 300 "$TSR_TMP/resp")"
    [ -z "$re" ] || grep -qE "$re" "$TSR_TMP/resp" || fail "$name: answer lacks /$re/: $(head -c 300 "$TSR_TMP/resp")"
    # After every bad request, a good one from another client still works.
    good=$((good + 1))
    got=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "ok,n=$good v=1i $good" "$(url /write?db=ok)")
    [ "$got" = 204 ] || fail "good write after '$name' got $got"
    alive "$RELAY_PID" || fail "relay died on '$name'"
    log "ok: $name"
}
good=0
lp() { printf '%b' "$1" >"$TSR_TMP/body"; echo "@$TSR_TMP/body"; }

start_kafka
relay_config "ingest:
  read_timeout_ms: 2000
  max_body_bytes: 8MiB"
start_relay
W=$(url "/write?db=bad")

expect 400 "line 1: unable to parse.*: (invalid|missing|unbalanced|bad)" "bad escape at end of measurement" --data-binary "$(lp 'cpu\\')" "$W"
expect 400 "line 1: .*missing field" "missing fields" --data-binary "$(lp 'cpu,host=a')" "$W"
expect 400 "line 1: .*(missing tag value|invalid tag)" "tag without value" --data-binary "$(lp 'cpu,host value=1')" "$W"
expect 400 "line 2: .*(invalid number|invalid field|bad)" "bad float" --data-binary "$(lp 'x v=1\ncpu v=1.2.3')" "$W"
expect 400 "line 1: .*(out of range|overflow|invalid)" "integer overflow" --data-binary "$(lp 'cpu v=9223372036854775808i')" "$W"
expect 400 "line 1: .*(unbalanced|quote|invalid)" "unterminated string" --data-binary "$(lp 'cpu s="abc')" "$W"
expect 400 "line 1: .*(invalid|bad|boolean)" "bad boolean" --data-binary "$(lp 'cpu b=tru')" "$W"
expect 400 "line 1: .*(time|timestamp)" "bad timestamp" --data-binary "$(lp 'cpu v=1 12ab')" "$W"
expect 400 "line 1: .*UTF-8" "invalid UTF-8" --data-binary "$(lp 'cpu,host=\xff\xfe v=1')" "$W"
python3 -c "print('many,' + ','.join(f't{i}=v' for i in range(10000)) + ' v=1')" >"$TSR_TMP/tags"
expect 400 "line 1: .*too many tags" "10,000 tags" --data-binary "@$TSR_TMP/tags" "$W"
python3 -c "print('long v=\"' + 'x' * (2 << 20) + '\"')" >"$TSR_TMP/long"
expect 400 "line 1: .*line too long" "2 MiB line" --data-binary "@$TSR_TMP/long" "$W"
python3 -c "import random, sys; random.seed(42); sys.stdout.buffer.write(random.randbytes(1000000))" >"$TSR_TMP/random"
expect 400 "unable to parse" "1 MB of random bytes" --data-binary "@$TSR_TMP/random" "$W"
head -c 100000000 /dev/zero | tr '\0' 'a' >"$TSR_TMP/huge"
expect 413 "" "100 MB body" --data-binary "@$TSR_TMP/huge" "$W"
head -c 100000000 /dev/zero | gzip -1 >"$TSR_TMP/bomb.gz"
expect 413 "too large" "gzip bomb (100 MB decoded)" -H 'Content-Encoding: gzip' --data-binary "@$TSR_TMP/bomb.gz" "$W"
expect 400 "not valid gzip" "corrupt gzip" -H 'Content-Encoding: gzip' --data-binary "not gzip at all" "$W"
expect 415 "Content-Encoding" "unknown encoding" -H 'Content-Encoding: br' --data-binary "x v=1" "$W"
expect 404 "" "unknown path" --data-binary "x v=1" "$(url /nope)"

# A slow client that never finishes its body: cut after read_timeout_ms, and the relay
# serves others meanwhile.
python3 - "$RELAY_HTTP_PORT" >"$TSR_TMP/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /write?db=slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nslow v=1 1\n")
t0 = time.time()
s.settimeout(30)
try:
    data = s.recv(100)
    print(f"closed after {time.time() - t0:.1f}s: {data[:40]!r}")
except socket.timeout:
    print("still open after 30s")
PY
slow=$!
for i in 1 2 3; do
    expect 204 "" "write while a slow client stalls ($i)" --data-binary "fast,i=$i v=1 $i" "$W"
done
wait "$slow"
log "slow client: $(cat "$TSR_TMP/slow.out")"
grep -q '^closed after' "$TSR_TMP/slow.out" || fail "slow client was not cut off: $(cat "$TSR_TMP/slow.out")"

# Only the good lines are in Kafka: the probes after each case, the three fast ones, and
# the valid first line of the "bad float" body (a partial write keeps it).
topic_lines "$RELAY_TOPIC" >"$TSR_TMP/final"
assert_eq "$(grep -c . "$TSR_TMP/final")" "$((good + 4))" "lines in kafka"
grep -qx 'x v=1 [0-9]*' "$TSR_TMP/final" || fail "the good line of a partial write is missing"
[ "$(relay_metric 'tsrelay_points_rejected_total{listener="http"}')" -gt 12 ] || fail "rejections not counted"
curl -sf "http://127.0.0.1:$RELAY_ADMIN_PORT/health" >/dev/null || fail "/health"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
