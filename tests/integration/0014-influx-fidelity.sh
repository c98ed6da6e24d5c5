#!/usr/bin/env bash
# timeout: 120
# asan: yes
# The client hears what InfluxDB would have told it. Every body is written twice: to
# the real InfluxDB directly (database "direct") and through the relay (database "fid",
# forwarded to the same InfluxDB). Field-type conflicts, a field or tag named `time`
# and `5u` (an influxdb cluster is configured) get InfluxDB's status and message from
# the relay; the good lines of the same request are kept, the refused ones are
# dead-lettered, and the points that reach InfluxDB through the relay are exactly those
# InfluxDB kept when written directly. A Graphite 1.1 tagged name lands as tags.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

start_kafka
start_influxdb
for db in direct fid graphite; do influx_query "$db" "CREATE DATABASE $db" >/dev/null; done
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
graphite:
  database: graphite
  templates:
    - \"servers.* .host.measurement*\""
start_relay

# answer URL BODY: "STATUS ERROR" of one write (ERROR: the JSON error text, or "-").
answer()
{
    printf '%b' "$2" >"$TSR_TMP/body"
    local code
    code=$(curl -s -o "$TSR_TMP/resp" -w '%{http_code}' --data-binary "@$TSR_TMP/body" "$1") || true
    printf '%s ' "$code"
    python3 -c 'import json,sys; d=sys.stdin.read(); print(json.loads(d)["error"] if d.strip() else "-")' \
        <"$TSR_TMP/resp"
}
DIRECT="$INFLUX_URL/write?db=direct"
RELAY="http://127.0.0.1:$RELAY_HTTP_PORT/write?db=fid"
REFUSED=0

# same NAME BODY REFUSED: the relay answers exactly as InfluxDB does (status and message).
same()
{
    local want got
    want=$(answer "$DIRECT" "$2")
    got=$(answer "$RELAY" "$2")
    [ "$got" = "$want" ] || fail "$1: relay answered '$got', InfluxDB '$want'"
    REFUSED=$((REFUSED + $3))
    log "ok: $1: $got"
}

T=1700000000000000000
same "first type wins" "m v=1 $T" 0
same "field type conflict" "m v=1i $((T + 1))" 1
same "conflicts counted, the good line kept" "m v=1i $((T + 2))\nm v=2 $((T + 3))\nm v=\"s\" $((T + 4))" 2
same "a new field of a refused point is not created" "m v=true,w=1i $((T + 5))\nm w=1 $((T + 6))" 1
same "another measurement is free" "m2 v=1i $T" 0
same "escaped names, as InfluxDB names them" "m\\\\,x\\\\ y f\\\\,\\\\ \\\\=x=1 $T\nm\\\\,x\\\\ y f\\\\,\\\\ \\\\=x=1i $((T + 1))" 1
same "only field named time" "m3 time=1 $T" 1
same "a field named time is dropped" "m3 time=1,x=2 $((T + 1))" 0
same "tag named time" "m4,time=1 v=1 $T" 1

# 5u: InfluxDB 1.x's parse error, inside the relay's list of refused lines.
want=$(answer "$DIRECT" "m5 v=5u $T")
got=$(answer "$RELAY" "m5 v=5u $T")
[ "${want%% *}" = 400 ] && [ "${got%% *}" = 400 ] || fail "5u: relay '$got', InfluxDB '$want'"
grep -qF "${want#* }" <<<"$got" || fail "5u: relay's '$got' lacks InfluxDB's '${want#* }'"
REFUSED=$((REFUSED + 1))
log "ok: 5u: $got"

# The v2 API speaks its own error dialect with the same message.
got=$(curl -s -w ' %{http_code}' --data-binary "m v=1i $((T + 9))" \
    "http://127.0.0.1:$RELAY_HTTP_PORT/api/v2/write?bucket=fid" | tr -d '\n')
grep -q 'field type conflict: input field \\"v\\" on measurement \\"m\\" is type integer, already exists as type float dropped=1.* 400$' <<<"$got" ||
    fail "v2 answer: $got"
REFUSED=$((REFUSED + 1))

# Graphite 1.1 tagged names: tags become tags, the name goes through the templates.
python3 - "$RELAY_GRAPHITE_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"servers.h1.cpu;dc=eu;rack=r1 42 1700000000\n"
          b"servers.h2.cpu;host=h9 7 1700000001\n"
          b"plain;k=a=b 1 1700000002\n"
          b"bad;k=~x 1 1700000003\n")
s.close()
PY

# What reached InfluxDB through the relay is what InfluxDB kept of the direct writes.
q='SELECT * FROM /^m/ GROUP BY *'
for ((i = 0; i < 60; i++)); do
    a=$(influx_query direct "$q")
    b=$(influx_query fid "$q")
    g=$(influx_query graphite 'SELECT * FROM cpu, plain GROUP BY *')
    # The series itself, not the tag key: InfluxDB lists a key before the point is readable.
    [ "$a" = "$b" ] && grep -q '"host":"h1"' <<<"$g" && grep -q plain <<<"$g" && break
    sleep 0.5
done
[ "$a" = "$b" ] || fail "points differ: direct $a, through the relay $b"
fk=$(influx_query fid 'SHOW FIELD KEYS FROM m3')
grep -q '"values":\[\["x","float"\]\]' <<<"$fk" || fail "m3 should have field x only: $fk"
log "InfluxDB holds the same points both ways: $(grep -o '"name":"[^"]*"' <<<"$b" | sort | uniq -c | tr -s ' \n' ' ')"

python3 - "$g" <<'PY' || fail "graphite tagged points: $g"
import json, sys
got = set()
for r in json.loads(sys.argv[1])["results"][0]["series"]:
    for v in r["values"]:
        got.add((r["name"], tuple(sorted((k, t) for k, t in r["tags"].items() if t)), v[-1]))
want = {("cpu", (("dc", "eu"), ("host", "h1"), ("rack", "r1")), 42.0),
        ("cpu", (("host", "h9"),), 7.0),
        ("plain", (("k", "a=b"),), 1.0)}
assert got == want, got
PY
log "ok: graphite tagged names land as tags"

# Each refused line is in the dead-letter topic; the graphite line with a bad tag too.
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -c)
assert_eq "$dlq" "$((REFUSED + 1))" "dead-lettered lines"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
