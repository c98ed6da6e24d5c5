#!/usr/bin/env bash
# Self-test of tests/tools/faultproxy.py: a tiny inline upstream (204 to POST,
# counts lines and bytes), the proxy in front of it, and curl checking every mode.
# Usage: bash tests/tools/test_faultproxy.sh   (KEEP_TMP=1 keeps the temp dir)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PROXY="$HERE/faultproxy.py"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/faultproxy-test.XXXXXX")
PIDS=()
FAILS=0
CHECKS=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()   { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
bad()  { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
# check GOT WANT MSG
check() { if [ "$1" = "$2" ]; then ok "$3 ($1)"; else bad "$3: got '$1', want '$2'"; fi; }
# check_cmd CMD... -- MSG: passes when CMD succeeds
check_cmd() {
    local msg=${*: -1} cmd=("${@:1:$#-2}")
    if "${cmd[@]}"; then ok "$msg"; else bad "$msg"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { date +%s%3N; }

UPORT=$(free_port); PPORT=$(free_port); CPORT=$(free_port)
while [ "$PPORT" = "$UPORT" ]; do PPORT=$(free_port); done
while [ "$CPORT" = "$UPORT" ] || [ "$CPORT" = "$PPORT" ]; do CPORT=$(free_port); done
UP=http://127.0.0.1:$UPORT
PX=http://127.0.0.1:$PPORT
CTL=http://127.0.0.1:$CPORT

# ------------------------------------------------------------ the inline upstream
cat >"$TMP/upstream.py" <<'EOF'
import gzip, hashlib, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
st = {"requests": 0, "posts": 0, "lines": 0, "bytes": 0, "connections": 0, "last": {}}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counted = False  # one handler per connection: count it at its first proxied request
    def count(self):
        if self.path != "/_stats" and not self.counted:
            self.counted = True
            with lock:
                st["connections"] += 1
        return self.path != "/_stats"
    def log_message(self, *a):
        pass
    def reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        if code != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 204:
            self.wfile.write(body)
    def do_POST(self):
        self.count()
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        enc = self.headers.get("Content-Encoding", "")
        plain = gzip.decompress(raw) if enc == "gzip" else raw
        with lock:
            st["requests"] += 1
            st["posts"] += 1
            st["lines"] += plain.count(b"\n")
            st["bytes"] += len(raw)
            st["last"] = {"path": self.path, "encoding": enc,
                          "sha256": hashlib.sha256(raw).hexdigest(),
                          "body": plain.decode("utf-8", "replace"),
                          "host": self.headers.get("Host"),
                          "x_test": self.headers.get("X-Test"),
                          "connection": self.headers.get("Connection"),
                          "keep_alive": self.headers.get("Keep-Alive"),
                          "x_hop": self.headers.get("X-Hop")}
        self.reply(204)
    def do_GET(self):
        if self.count():
            with lock:
                st["requests"] += 1
        if self.path == "/ping":
            self.reply(204)
        elif self.path in ("/info", "/_stats"):
            with lock:
                self.reply(200, json.dumps(st).encode())
        else:
            self.reply(404, b'{"error":"not found"}')
    do_HEAD = do_GET

srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
srv.serve_forever()
EOF

wait_http() {  # URL CODE
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    echo "timeout waiting for $1" >&2
    return 1
}

python3 "$TMP/upstream.py" "$UPORT" 2>"$TMP/upstream.log" &
UPID=$!; PIDS+=("$UPID")
python3 "$PROXY" --listen "127.0.0.1:$PPORT" --upstream "$UP" --control "127.0.0.1:$CPORT" \
    --upstream-timeout 5 2>"$TMP/proxy.log" &
PPID_=$!; PIDS+=("$PPID_")
wait_http "$UP/_stats" 200 || exit 1
wait_http "$CTL/stats" 200 || { cat "$TMP/proxy.log"; exit 1; }

# json URL EXPR: evaluate a python expression over the JSON document at URL
json() {
    curl -s "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))' "$2"
}
pstat() { json "$CTL/stats" "$1"; }
ustat() { json "$UP/_stats" "$1"; }  # direct, not counted by the upstream
mode() {  # JSON [WANT_CODE]
    local code
    code=$(curl -s -o "$TMP/mode.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data "$1" "$CTL/mode")
    [ "$code" = "${2:-200}" ] || bad "POST /mode $1: got $code want ${2:-200}: $(cat "$TMP/mode.out")"
}
# post BODYFILE [curl args...]: prints the status code
post() {
    local f=$1; shift
    curl -s -o "$TMP/resp.body" -D "$TMP/resp.hdr" -w '%{http_code}' --data-binary "@$f" "$@" \
        "$PX/write?db=t"
}

printf 'cpu,host=a v=1 1\ncpu,host=b v=2 2\ncpu,host=c v=3 3\n' >"$TMP/three.lp"
gzip -c "$TMP/three.lp" >"$TMP/three.lp.gz"

echo "--- --help"
python3 "$PROXY" --help >"$TMP/help.out" 2>&1
check "$?" 0 "--help exits 0"
check_cmd grep -q 'POST /mode' "$TMP/help.out" -- "--help documents the control API"

echo "--- pass"
check "$(post "$TMP/three.lp" -H 'X-Test: yes' -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: 1' \
    -H 'Keep-Alive: timeout=5')" 204 "pass: POST answered by the upstream"
check "$(ustat 'lines')" 3 "pass: upstream got 3 lines"
check "$(ustat 'last["path"]')" "/write?db=t" "pass: path+query forwarded"
check "$(ustat 'last["x_test"]')" yes "pass: end-to-end header forwarded"
check "$(ustat 'last["keep_alive"]')" None "pass: hop-by-hop Keep-Alive not forwarded"
check "$(ustat 'last["x_hop"]')" None "pass: header named in Connection not forwarded"
check "$(ustat 'last["host"]')" "127.0.0.1:$UPORT" "pass: Host rewritten to the upstream"
check "$(curl -s -o /dev/null -w '%{http_code}' "$PX/ping")" 204 "pass: GET /ping relayed"
check "$(curl -s "$PX/info" | python3 -c 'import json,sys; print(json.load(sys.stdin)["posts"])')" 1 \
    "pass: GET with a JSON body relayed"
check "$(curl -s -o /dev/null -w '%{http_code}' "$PX/nothing")" 404 "pass: upstream 404 relayed"

echo "--- gzip passes untouched"
check "$(post "$TMP/three.lp.gz" -H 'Content-Encoding: gzip')" 204 "gzip: POST answered"
check "$(ustat 'last["encoding"]')" gzip "gzip: Content-Encoding forwarded"
check "$(ustat 'last["sha256"]')" "$(sha256sum <"$TMP/three.lp.gz" | cut -d' ' -f1)" \
    "gzip: body forwarded byte for byte"
check "$(pstat 'lines_forwarded')" 6 "gzip: lines_forwarded counts gunzipped lines"
check "$(pstat 'bytes_forwarded')" $(( $(wc -c <"$TMP/three.lp") + $(wc -c <"$TMP/three.lp.gz") )) \
    "gzip: bytes_forwarded counts bytes as sent"

echo "--- keep-alive"
c0=$(pstat connections); u0=$(ustat connections)
out=$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
    --data-binary "@$TMP/three.lp" "$PX/write?db=k1" "$PX/write?db=k2" "$PX/write?db=k3")
check "$out" "204:1 204:0 204:0 " "keep-alive: curl reuses its connection for 3 POSTs"
check "$(( $(pstat connections) - c0 ))" 1 "keep-alive: proxy saw one client connection"
check "$(( $(ustat connections) - u0 ))" 1 "keep-alive: proxy used one upstream connection"
# chunked request body and Expect: 100-continue
check "$(post "$TMP/three.lp" -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue')" 204 \
    "chunked + Expect: 100-continue body forwarded"
check "$(ustat 'last["body"].count(chr(10))')" 3 "chunked: upstream got the 3 lines"

echo "--- status"
l0=$(ustat lines)
mode '{"mode":"status","status":500,"count":2}'
codes="$(post "$TMP/three.lp") $(post "$TMP/three.lp") $(post "$TMP/three.lp")"
check "$codes" "500 500 204" "status count=2: two 500s then pass"
check "$(ustat lines)" $((l0 + 3)) "status: faulted requests not forwarded"
check "$(pstat 'faulted["status"]')" 2 "status: faulted.status counter"
check "$(json "$CTL/mode" 'mode')" pass "status: mode back to pass"
mode '{"mode":"status","status":503}'
codes="$(post "$TMP/three.lp") $(post "$TMP/three.lp")"
check "$codes" "503 503" "status without count: lasts until changed"
check_cmd python3 -c 'import json,sys; assert "error" in json.load(open(sys.argv[1]))' "$TMP/resp.body" \
    -- "status: JSON error body"
mode '{"mode":"status","status":500,"path":"/write"}'
check "$(curl -s -o /dev/null -w '%{http_code}' "$PX/ping") $(post "$TMP/three.lp")" "204 500" \
    "status with path=/write: /ping passes, /write faulted"
mode '{"mode":"pass"}'

echo "--- retry_after"
mode '{"mode":"retry_after","status":429,"retry_after":2,"count":1}'
check "$(post "$TMP/three.lp")" 429 "retry_after: 429"
check "$(grep -i '^Retry-After:' "$TMP/resp.hdr" | tr -d '\r')" "Retry-After: 2" "retry_after: header"
check "$(post "$TMP/three.lp")" 204 "retry_after count=1: then pass"
check "$(pstat 'faulted["retry_after"]')" 1 "retry_after: counter"

echo "--- slow"
l0=$(ustat lines)
mode '{"mode":"slow","delay_ms":800,"count":1}'
t0=$(now_ms)
curl -s -o /dev/null -w '%{http_code}' -m 10 --data-binary "@$TMP/three.lp" "$PX/write?db=slow" \
    >"$TMP/slow.code" &
SC=$!
sleep 0.3
check "$(ustat lines)" $((l0 + 3)) "slow: forwarded at once"
check_cmd kill -0 "$SC" -- "slow: the answer still held back"
wait "$SC"
t1=$(now_ms)
check "$(cat "$TMP/slow.code")" 204 "slow: the upstream's answer relayed"
check_cmd test $((t1 - t0)) -ge 750 -- "slow: answered after the delay ($((t1 - t0)) ms)"
check "$(pstat 'faulted["slow"]')" 1 "slow: counter"

echo "--- hang"
l0=$(ustat lines)
mode '{"mode":"hang","count":1}'
t0=$(now_ms)
curl -s -o /dev/null -m 2 --data-binary "@$TMP/three.lp" "$PX/write?db=hang" &
HC=$!
sleep 0.3
t1=$(now_ms)
check "$(post "$TMP/three.lp")" 204 "hang: a parallel request still passes"
t2=$(now_ms)
check_cmd kill -0 "$HC" -- "hang: hung request still waiting while the other passed"
wait "$HC"; rc=$?
t3=$(now_ms)
check "$rc" 28 "hang: client gave up (curl -m 2 timeout)"
check_cmd test $((t2 - t1)) -lt 1000 -- "hang: parallel request fast ($((t2 - t1)) ms)"
check_cmd test $((t3 - t0)) -ge 1900 -- "hang: hung for the client's whole timeout ($((t3 - t0)) ms)"
check "$(ustat lines)" $((l0 + 3)) "hang: hung request not forwarded"
check "$(pstat 'faulted["hang"]')" 1 "hang: counter"
sleep 0.2
check_cmd grep -q 'hang (client gave up)' "$TMP/proxy.log" -- "hang: proxy noticed the client leaving"

mode '{"mode":"hang"}'
t0=$(now_ms)
curl -s -o /dev/null -m 10 --data-binary "@$TMP/three.lp" "$PX/write?db=hang" &
HC=$!
sleep 0.5
mode '{"mode":"pass"}'
wait "$HC"; rc=$?
t1=$(now_ms)
check "$rc" 52 "hang released by a mode change: connection closed unanswered (curl 52)"
check_cmd test $((t1 - t0)) -lt 3000 -- "hang: released promptly ($((t1 - t0)) ms)"

l0=$(ustat lines)
mode '{"mode":"hang","on_release":"forward"}'
curl -s -o /dev/null -w '%{http_code}' -m 10 --data-binary "@$TMP/three.lp" "$PX/write?db=hang" \
    >"$TMP/hang.code" &
HC=$!
sleep 0.5
check "$(ustat lines)" "$l0" "hang on_release=forward: nothing forwarded while hung"
mode '{"mode":"pass"}'
wait "$HC"
check "$(cat "$TMP/hang.code")" 204 "hang on_release=forward: upstream answer relayed on release"
check "$(ustat lines)" $((l0 + 3)) "hang on_release=forward: forwarded on release"

echo "--- partial"
printf 'cpu,host=a v=1 1\ncpu,host=b v=BAD 2\ncpu,host=c v=3 3\nmem,host=a BAD\ndisk,host=a v=5 5\n' \
    >"$TMP/partial.lp"
l0=$(ustat lines); f0=$(pstat lines_forwarded)
mode '{"mode":"partial","marker":"BAD","count":1}'
check "$(post "$TMP/partial.lp")" 400 "partial: 400"
check "$(cat "$TMP/resp.body")" \
    '{"error":"partial write: unable to parse '"'"'cpu,host=b v=BAD 2'"'"': invalid field format dropped=2"}' \
    "partial: InfluxDB-style error body"
check_cmd grep -qi '^X-Influxdb-Error: partial write' "$TMP/resp.hdr" -- "partial: X-Influxdb-Error header"
check "$(ustat 'last["body"]')" "$(printf 'cpu,host=a v=1 1\ncpu,host=c v=3 3\ndisk,host=a v=5 5')" \
    "partial: upstream got exactly the good lines"
check "$(ustat lines)" $((l0 + 3)) "partial: 3 good lines forwarded"
check "$(( $(pstat lines_forwarded) - f0 ))" 3 "partial: lines_forwarded counts good lines only"
check "$(pstat lines_dropped)" 2 "partial: lines_dropped"
check "$(post "$TMP/partial.lp")" 204 "partial count=1: then pass (all lines forwarded)"

printf 'a v=1 1\nb BAD 2\nc v=3 3\n' | gzip -c >"$TMP/partial.lp.gz"
mode '{"mode":"partial","count":2}'
check "$(post "$TMP/partial.lp.gz" -H 'Content-Encoding: gzip')" 400 "partial gzip: 400"
check "$(ustat 'last["encoding"]') $(ustat 'last["body"]')" "gzip $(printf 'a v=1 1\nc v=3 3')" \
    "partial gzip: good lines forwarded re-gzipped"
check_cmd grep -q "unable to parse 'b BAD 2'.*dropped=1" "$TMP/resp.body" -- "partial gzip: error names the line"
check "$(post "$TMP/three.lp")" 204 "partial: a request without marked lines passes"
check "$(json "$CTL/mode" '(mode, remaining)')" "('partial', 1)" \
    "partial: ... and does not use up the count"
printf 'x BAD 1\n' >"$TMP/allbad.lp"
p0=$(ustat posts)
check "$(post "$TMP/allbad.lp")" 400 "partial: all lines bad -> 400"
check "$(ustat posts)" "$p0" "partial: all lines bad -> nothing forwarded"
check "$(pstat 'faulted["partial"]')" 3 "partial: counter"

echo "--- refuse"
mode '{"mode":"refuse"}'
curl -s -o /dev/null -m 5 --data-binary "@$TMP/three.lp" "$PX/write?db=t"; rc=$?
check_cmd test "$rc" = 52 -o "$rc" = 56 -- "refuse: connection closed without answer (curl $rc)"
curl -s -o /dev/null -m 5 "$PX/ping"; rc=$?
check_cmd test "$rc" = 52 -o "$rc" = 56 -- "refuse: again (curl $rc)"
check "$(pstat 'faulted["refuse"]')" 2 "refuse: counter"
mode '{"mode":"pass"}'
# an already-open keep-alive connection is closed when refuse is set
check "$(python3 - "$PPORT" "$CTL" <<'EOF'
import http.client, sys, urllib.request
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/ping"); r = c.getresponse(); r.read(); first = r.status
urllib.request.urlopen(urllib.request.Request(sys.argv[2] + "/mode", data=b'{"mode":"refuse","count":1}'))
def again(c):
    try:
        c.request("GET", "/ping"); r = c.getresponse(); r.read(); return r.status
    except (OSError, http.client.HTTPException) as e:
        return "closed"
second = again(c)  # the idle connection was closed when the mode was set
new = lambda: http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
third = again(new())  # refused: uses up count=1
fourth = again(new())
print(first, second, third, fourth)
EOF
)" "204 closed closed 204" "refuse: idle keep-alive connection closed; count=1 refusal then pass"
check "$(post "$TMP/three.lp")" 204 "refuse: pass again"

echo "--- control API errors"
mode '{"mode":"nope"}' 400
mode '{"mode":"status","stauts":500}' 400
mode '{"mode":"status","count":0}' 400
mode 'not json' 400
check "$(curl -s -o /dev/null -w '%{http_code}' "$CTL/nope")" 404 "control: unknown path 404"
check "$(json "$CTL/mode" 'mode')" pass "control: bad requests left the mode alone"

echo "--- stats are consistent with the upstream"
check "$(pstat lines_forwarded)" "$(ustat lines)" "stats: lines_forwarded == lines the upstream got"
check "$(pstat bytes_forwarded)" "$(ustat bytes)" "stats: bytes_forwarded == bytes the upstream got"
check "$(pstat forwarded)" "$(ustat requests)" "stats: forwarded == requests the upstream got"
# every received request was forwarded or faulted, except: 1 of the 3 hangs and
# 2 of the 3 partials were forwarded too; the refusals were all of new
# connections (no request read), so they are not in received.
check "$(pstat 'received - forwarded')" \
    "$(pstat 'faulted["status"] + faulted["retry_after"] + (faulted["hang"] - 1) + (faulted["partial"] - 2)')" \
    "stats: received = forwarded + faulted-not-forwarded"
check "$(pstat 'answered["429"]')" 1 "stats: answered by status"

echo "--- upstream down"
kill "$UPID"; wait "$UPID" 2>/dev/null
check "$(post "$TMP/three.lp")" 502 "upstream down: 502"
check "$(pstat upstream_errors)" 1 "upstream down: upstream_errors"

echo "--- SIGTERM"
mode '{"mode":"hang"}'
curl -s -o /dev/null -m 10 --data-binary "@$TMP/three.lp" "$PX/write" &   # a hung request
sleep 0.2
t0=$(now_ms)
kill -TERM "$PPID_"; wait "$PPID_"; rc=$?
t1=$(now_ms)
check "$rc" 0 "SIGTERM: clean exit"
check_cmd test $((t1 - t0)) -lt 3000 -- "SIGTERM: prompt ($((t1 - t0)) ms)"
wait

echo "--- proxy log (last lines)"
tail -n 5 "$TMP/proxy.log"
check_cmd grep -q '^faultproxy [0-9:]* POST /write?db=t 204 pass$' "$TMP/proxy.log" -- "log: METHOD TARGET STATUS MODE"

echo
if [ "$FAILS" = 0 ]; then
    echo "PASS: $CHECKS checks"
    exit 0
fi
echo "FAIL: $FAILS of $CHECKS checks failed"
exit 1
