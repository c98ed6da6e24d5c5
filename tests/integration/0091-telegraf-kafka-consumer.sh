#!/usr/bin/env bash
# timeout: 180
# The relay's Kafka topic read by the real Telegraf: inputs.kafka_consumer (data_format
# "influx", the relay's record headers tsrelay.src and tsrelay.db as tags) into
# outputs.file. Points written over /write, gzip, /api/v2/write and Graphite (a tagged
# name) each carry a user tag src=user1; every one arrives in the file exactly once
# with its values, the user's src tag untouched beside the headers' tsrelay.src. A second
# Telegraf run in the same consumer group reads only what was written since, and skips
# the CREATE DATABASE record in the topic without an error.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/telegraf.sh"

T0=1700000000

start_kafka
relay_config "graphite:
  templates:
    - \"gr.* measurement.field\""
start_relay
RELAY_URL=http://127.0.0.1:$RELAY_HTTP_PORT

# lines FROM TO: points FROM..TO-1, each with the user tag src=user1.
lines()
{
    local i
    for ((i = $1; i < $2; i++)); do
        printf 'kc,host=h%d,src=user1 v=%d.5,n=%di,s="p%d" %d000000000\n' $((i % 3)) "$i" "$i" "$i" $((T0 + i))
    done
}
# post URL FILE [CURL_ARGS]: the write must be answered 204.
post()
{
    local code
    code=$(curl -s -o "$TSR_TMP/resp" -w '%{http_code}' --data-binary "@$2" "${@:3}" "$1")
    [ "$code" = 204 ] || fail "POST $1: $code $(cat "$TSR_TMP/resp")"
}
# graphite FROM TO: Graphite tagged names with src=user1, over TCP.
graphite()
{
    python3 - "$RELAY_GRAPHITE_PORT" "$1" "$2" "$T0" <<'PY'
import socket, sys
port, a, b, t0 = (int(x) for x in sys.argv[1:])
s = socket.create_connection(("127.0.0.1", port))
s.sendall("".join(f"gr.load;host=g{i % 2};src=user1 {i}.25 {t0 + i}\n" for i in range(a, b)).encode())
s.close()
PY
}

# write_round FROM TO: points FROM..TO-1 into the relay, a quarter each over /write,
# /write with gzip, /api/v2/write (bucket kc2) and Graphite; appends them to
# $TSR_TMP/want as canon prints them; returns once all are in the topic.
write_round()
{
    # quarters [a, b1) [b1, b2) [b2, b3) [b3, b)
    local a=$1 b=$2 b1 b2 b3
    b1=$((a + (b - a) / 4)) b2=$((a + (b - a) / 2)) b3=$((a + 3 * (b - a) / 4))
    lines "$a" "$b1" >"$TSR_TMP/q1"
    post "$RELAY_URL/write?db=kc" "$TSR_TMP/q1"
    lines "$b1" "$b2" | gzip >"$TSR_TMP/q2"
    post "$RELAY_URL/write?db=kc" "$TSR_TMP/q2" -H 'Content-Encoding: gzip'
    lines "$b2" "$b3" >"$TSR_TMP/q3"
    post "$RELAY_URL/api/v2/write?bucket=kc2&org=o" "$TSR_TMP/q3" -H 'Authorization: Token x'
    graphite "$b3" "$b"
    python3 - "$a" "$b2" "$b3" "$b" "$T0" >>"$TSR_TMP/want" <<'PY'
import sys
a, b2, b3, b, t0 = (int(x) for x in sys.argv[1:])
for i in range(a, b3):
    db = "kc" if i < b2 else "kc2"
    print(f"kc host=h{i % 3},src=user1,tsrelay.db={db},tsrelay.src=http n=int:{i},s=str:p{i},v=float:{i}.5 {(t0 + i) * 10**9}")
for i in range(b3, b):
    print(f"gr host=g{i % 2},src=user1,tsrelay.db=graphite,tsrelay.src=graphite_tcp load=float:{i}.25 {(t0 + i) * 10**9}")
PY
    # Graphite has no answer: wait until the relay has every line of the round in Kafka.
    local n i
    for ((i = 0; i < 100; i++)); do
        n=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -c)
        [ "$n" -ge "$((b + STATEMENTS))" ] && break
        sleep 0.1
    done
    assert_eq "$n" "$((b + STATEMENTS))" "lines in the relay's topic"
}

# canon FILE: the points of an influx-format file, one canonical line each (tags sorted,
# fields sorted with their type), sorted; a line that does not parse fails.
canon()
{
    python3 - "$1" <<'PY'
import re, sys
out = []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line:
        continue
    m = re.fullmatch(r'([^ ,]+)((?:,[^ ,=]+=[^ ,]+)*) ((?:[^ ,=]+=(?:"[^"]*"|[^ ,]+),?)+) (\d+)', line)
    if not m:
        sys.exit(f"unparsable line in {sys.argv[1]}: {line}")
    tags = ",".join(sorted(t for t in m.group(2).split(",") if t))
    fields = []
    for k, v in re.findall(r'([^ ,=]+)=("[^"]*"|[^ ,]+)', m.group(3)):
        if v.startswith('"'):
            fields.append(f"{k}=str:{v[1:-1]}")
        elif v.endswith("i"):
            fields.append(f"{k}=int:{int(v[:-1])}")
        elif v in ("true", "false"):
            fields.append(f"{k}=bool:{v}")
        else:
            f = float(v)
            fields.append(f"{k}=float:{int(f) if f == int(f) else f}")
    out.append(f"{m.group(1)} {tags} {','.join(sorted(fields))} {m.group(4)}")
print("\n".join(sorted(out)))
PY
}

cat >"$TSR_TMP/telegraf.conf" <<EOF
[agent]
  interval = "1s"
  flush_interval = "1s"
  omit_hostname = true

[[inputs.kafka_consumer]]
  brokers = ["$KAFKA_BROKERS"]
  topics = ["$RELAY_TOPIC"]
  consumer_group = "telegraf-0091"
  offset = "oldest"
  # Without it Telegraf speaks Kafka 0.10.2, whose fetch has no record headers, and
  # msg_headers_as_tags silently adds nothing.
  kafka_version = "3.9.0"
  data_format = "influx"
  msg_headers_as_tags = ["tsrelay.src", "tsrelay.db"]

[[outputs.file]]
  files = ["$TSR_TMP/out.lp"]
  data_format = "influx"
EOF
: >"$TSR_TMP/out.lp"

# consume WANT: run Telegraf until the file has WANT lines, 2 s more to catch any extra,
# then stop it (SIGTERM flushes its outputs).
consume()
{
    local want=$1 i n t0
    t0=$(date +%s%3N)
    start_telegraf "$TSR_TMP/telegraf.conf"
    for ((i = 0; i < 300; i++)); do
        n=$(wc -l <"$TSR_TMP/out.lp")
        [ "$n" -ge "$want" ] && break
        alive "$TELEGRAF_PID" || fail "telegraf exited: $(tail -n 5 "$TSR_TMP/telegraf.log")"
        sleep 0.1
    done
    log "telegraf: $n lines in the file after $(($(date +%s%3N) - t0)) ms"
    sleep 2
    stop_telegraf
    if grep -E '^[^ ]+ (E! |W! \[(inputs|outputs)\.)' "$TSR_TMP/telegraf.log" >&2; then
        fail "telegraf logged errors or warnings (above)"
    fi
}

# check: the file holds exactly the expected points, each once.
check()
{
    canon "$TSR_TMP/out.lp" >"$TSR_TMP/got.canon"
    LC_ALL=C sort "$TSR_TMP/want" >"$TSR_TMP/want.canon"
    if ! cmp -s "$TSR_TMP/got.canon" "$TSR_TMP/want.canon"; then
        diff "$TSR_TMP/want.canon" "$TSR_TMP/got.canon" | head -n 20 >&2 || true
        fail "$1: the file has $(wc -l <"$TSR_TMP/got.canon") points, want $(wc -l <"$TSR_TMP/want.canon") exactly once each (diff above)"
    fi
    grep -c '[ ,]src=user1,' "$TSR_TMP/got.canon" >"$TSR_TMP/n" || true
    assert_eq "$(cat "$TSR_TMP/n")" "$(wc -l <"$TSR_TMP/want.canon")" "$1: points with src=user1"
    log "ok: $1: $(wc -l <"$TSR_TMP/got.canon") points, each once, src=user1 kept beside tsrelay.src"
}

: >"$TSR_TMP/want"
STATEMENTS=0 # CREATE DATABASE records in the topic, one line each
write_round 0 200
consume 200
check "first run"

# The consumer group committed what Telegraf wrote out: a second run reads only the new.
# A CREATE DATABASE is in the topic too, as a line-protocol comment: Telegraf skips it
# without an error (consume fails on any E! line).
answer=$(curl -s -w ' %{http_code}' -XPOST "$RELAY_URL/query" --data-urlencode 'q=CREATE DATABASE "kc"' | tr -d '\n')
assert_eq "$answer" '{"results":[{"statement_id":0}]} 200' "CREATE DATABASE through the relay"
STATEMENTS=1
write_round 200 280
consume 280
check "second run"

stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
