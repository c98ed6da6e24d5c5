#!/usr/bin/env bash
# 0070-tsrelayctl-offline: tsrelayctl against a fake admin endpoint (python3, below) that
# serves canned /status and /replays JSON per docs/replay-api.md and records every POST
# body. Checks each command's output and --json, the POST body of replay start (TIME
# conversion, started_by), --wait/--follow exit codes (0 done, 1 failed), exit 3 with
# its message when nothing listens, and exit 2 on usage errors. No Kafka, no relay.
# timeout: 120
# asan: yes
. "$(dirname "$0")/../lib/harness.sh"

CTL=$(dirname "$TSRELAY_BIN")/tsrelayctl
[ -x "$CTL" ] || fail "$CTL not built (make)"
unset TSRELAY_ADMIN

# run ARGS...: tsrelayctl's stdout in $out, stderr in $err, exit code in $rc.
run()
{
    rc=0
    "$CTL" "$@" >"$TSR_TMP/out" 2>"$TSR_TMP/err" || rc=$?
    out=$(cat "$TSR_TMP/out")
    err=$(cat "$TSR_TMP/err")
}

# expect RC ARGS...: run, and fail unless the exit code is RC.
expect()
{
    local want=$1
    shift
    run "$@"
    [ "$rc" = "$want" ] || fail "tsrelayctl $*: exit $rc, want $want; stdout: $out; stderr: $err"
}

# has TEXT WHAT...: stdout+stderr of the last run contain TEXT (fixed string).
has()
{
    grep -qF -- "$1" <<<"$out"$'\n'"$err" || fail "tsrelayctl output lacks '$1': stdout: $out; stderr: $err"
}

# json_get PY_EXPR: evaluate PY_EXPR with `d` = stdout of the last run parsed as JSON.
json_get()
{
    python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$out"
}

# last_post FIELD: a field of the body of the last POST the fake server received.
last_post()
{
    python3 - "$TSR_TMP/posts.jsonl" "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
post = json.loads(lines[-1])
body = json.loads(post["body"]) if post["body"] else {}
print(json.dumps(body.get(sys.argv[2], "(absent)")) if sys.argv[2] != "path" else post["path"])
EOF
}

# --- usage and the command line, no server needed --------------------------------------
expect 0 --help
has "replay start --cluster NAME --since TIME"
has "exit codes"
expect 0 --version
has "tsrelayctl "
expect 2
has "missing command"
expect 2 frobnicate
has "unknown command 'frobnicate'"
expect 2 replay
expect 2 replay start --since -1h
has "replay start needs --cluster NAME"
expect 2 replay start --cluster vm
has "replay start needs --since TIME"
expect 2 replay start --cluster vm --since yesterday
has "invalid --since 'yesterday'"
expect 2 replay start --cluster vm --since 2h
has "write '-2h'"
expect 2 replay start --cluster vm --since -1h --until earliest
has "invalid --until 'earliest'"
expect 2 replay start --cluster vm --since -1h --until -2h
has "not after --since"
expect 2 replay start --cluster vm --since -1h --rate fast
has "invalid --rate 'fast'"
expect 2 replay show
has "needs a replay ID"
expect 2 replay show abc
has "invalid replay ID 'abc'"
expect 2 replay pause 3 4
has "unexpected argument '4'"
expect 2 status --rate 5
has "option '--rate' does not apply to 'status'"
expect 2 ledger
has "ledger needs --cluster NAME"
expect 2 status --bogus
has "unknown option '--bogus'"
expect 2 -a nohost status
has "invalid admin address 'nohost'"
TSRELAY_ADMIN=bad:port expect 2 status
has "invalid admin address 'bad:port' (from TSRELAY_ADMIN)"
# Usage errors are found before any connection is tried (nothing listens here).
[[ $err != *"cannot reach"* ]] || fail "usage error tried to connect: $err"

# --- nothing listening: exit 3 and the message -------------------------------------------
dead=$(free_port)
expect 3 -a "127.0.0.1:$dead" status
has "cannot reach tsrelay admin endpoint at 127.0.0.1:$dead: "
has "; is tsrelay running? set -a or TSRELAY_ADMIN"
TSRELAY_ADMIN=127.0.0.1:$dead expect 3 replay list
has "at 127.0.0.1:$dead"
expect 3 -a "127.0.0.1:$dead" replay start --cluster vm --since -1h

# --- the fake admin endpoint -------------------------------------------------------------
cat >"$TSR_TMP/fake_admin.py" <<'EOF'
# A stand-in for tsrelay's admin listener: /status as relay/admin/admin.c renders it and the
# /replays API of docs/replay-api.md. Jobs it creates advance one step per GET of
# /replays/ID and finish on the third (fail when measurement_prefix is "fail").
import json, sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

port, posts_path = int(sys.argv[1]), sys.argv[2]
OLD = sys.argv[3:] == ["old"]  # a relay without the replay API: /status only
NOW = 1795410000000  # 2026-11-23T05:00:00Z
lock = threading.Lock()
FINISHED = ("done", "failed", "cancelled")

def job(i, cluster, state, **kw):
    j = {"id": i, "cluster": cluster, "since_ms": NOW - 3600000, "until_ms": NOW, "rate": 50000,
         "db": "", "measurement_prefix": "", "dry_run": False, "state": state,
         "started_by": "alice@host", "created_ms": NOW, "updated_ms": NOW + 10000,
         "finished_ms": 0, "points_sent": 120000, "bytes_sent": 9600000, "records_done": 40,
         "records_total": 200, "progress": 0.2, "rate_now": 48000.5, "result": "",
         "partitions": [{"partition": 0, "start": 100, "end": 150, "position": 110},
                        {"partition": 1, "start": 0, "end": 150, "position": 30}],
         "measurements": []}
    j.update(kw)
    return j

jobs = {3: job(3, "vm", "running"),
        4: job(4, "influx", "done", progress=1.0, records_done=200, finished_ms=NOW + 60000,
               rate_now=0, result="200 records, 600,000 points sent")}
steps = {}  # id -> GETs seen, for the jobs created here
next_id = [7]

def status():
    return {
        "datacenter": "dc-test", "uptime_s": 11700, "draining": False,
        "kafka": {"brokers": "127.0.0.1:9092", "topic": "metrics", "ready": True, "up": True,
                  "partitions": 2, "inflight_records": 12, "inflight_bytes": 3500,
                  "records": 1234567, "errors": 0},
        "listeners": {"http": {"points_accepted": 10, "points_rejected": 0, "points_failed": 0,
                               "requests": 2, "throttled": 0}},
        "clusters": [
            {"name": "influx", "type": "influxdb", "state": "in_sync", "ready": True,
             "reason": "lag 0.3s", "since_ms": NOW - 7200000, "lag_seconds": 0.26,
             "lag_records": 3, "lag_points": 90, "points_delivered": 5000000,
             "points_rejected": 0, "requests_ok": 900, "requests_failed": 0, "retries": 0,
             "gap_records": 0, "last_error": "",
             "urls": [{"url": "http://10.0.0.1:8086", "up": True}],
             "partitions": [{"partition": 0, "position": 1000, "high": 1003},
                            {"partition": 1, "position": 2000, "high": 2000}],
             "ledger": []},
            {"name": "vm", "type": "victoriametrics", "state": "down", "ready": False,
             "reason": "no url up", "since_ms": NOW - 600000, "lag_seconds": 754.5,
             "lag_records": 4500, "lag_points": 4560000, "points_delivered": 100,
             "points_rejected": 0, "requests_ok": 10, "requests_failed": 44, "retries": 44,
             "gap_records": 0,
             "last_error": "connect to http://10.0.0.2:8428/write failed: Connection refused after three attempts in a row\nsecond line",
             "urls": [{"url": "http://10.0.0.2:8428", "up": False}],
             "partitions": [{"partition": 0, "position": 500, "high": 4000},
                            {"partition": 1, "position": 700, "high": 1700}],
             "ledger": [
                 {"id": 1, "kind": "outage", "from_ms": NOW, "to_ms": NOW + 2530000,
                  "reason": "no url up", "from_offsets": [10, 20], "to_offsets": [30, 40]},
                 {"id": 2, "kind": "outage", "from_ms": NOW + 3600250, "to_ms": 0,
                  "reason": "connect refused", "from_offsets": [500, 700], "to_offsets": []}]}],
        "replays": [j for j in sorted(jobs.values(), key=lambda j: j["id"])
                    if j["state"] not in FINISHED],
    }

def advance(i):
    if i not in steps or jobs[i]["state"] in FINISHED:
        return
    steps[i] += 1
    j = jobs[i]
    n = steps[i]
    j["records_done"] = min(j["records_total"], j["records_total"] * n // 3)
    j["progress"] = j["records_done"] / j["records_total"]
    j["points_sent"] = j["records_done"] * 3
    j["bytes_sent"] = j["points_sent"] * 80
    j["rate_now"] = 3000.0
    if j["measurement_prefix"] == "fail" and n >= 2:
        j.update(state="failed", finished_ms=NOW + 5000, rate_now=0,
                 result="cluster 'vm' answered 400: partial write: field type conflict")
    elif n >= 3:
        j.update(state="done", finished_ms=NOW + 5000, rate_now=0,
                 result="%d records, %d points %s" % (j["records_total"], j["points_sent"],
                                                     "counted" if j["dry_run"] else "sent"))
        if j["dry_run"]:
            j["measurements"] = [{"name": "cpu", "points": 600, "bytes": 48000},
                                 {"name": "mem", "points": 2400, "bytes": 190000}]

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj, ctype="application/json"):
        body = (json.dumps(obj) + "\n" if ctype == "application/json" else obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def job_id(self, parts):
        try:
            i = int(parts[2])
        except ValueError:
            return None
        return i if i in jobs else None

    def do_GET(self):
        parts = self.path.split("/")
        with lock:
            if self.path == "/status":
                st = status()
                if OLD:
                    del st["replays"]
                return self.reply(200, st)
            if OLD:
                return self.reply(404, "not found\n", "text/plain")
            if self.path == "/replays":
                return self.reply(200, {"replays": [jobs[i] for i in sorted(jobs)]})
            if len(parts) == 3 and parts[1] == "replays":
                i = self.job_id(parts)
                if i is None:
                    return self.reply(404, {"error": "no such replay %s" % parts[2]})
                advance(i)
                return self.reply(200, jobs[i])
        self.reply(404, "not found\n", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode()
        parts = self.path.split("/")
        with lock:
            with open(posts_path, "a") as f:
                f.write(json.dumps({"path": self.path, "body": raw,
                                    "ctype": self.headers.get("Content-Type")}) + "\n")
            if OLD:
                return self.reply(404, "not found\n", "text/plain")
            if self.path == "/replays":
                try:
                    b = json.loads(raw)
                except ValueError:
                    return self.reply(400, {"error": "body is not JSON"})
                if b.get("cluster") not in ("vm", "influx"):
                    return self.reply(404, {"error": "no such cluster '%s'" % b.get("cluster")})
                until = b.get("until_ms", 0)
                if until and until <= b["since_ms"]:
                    return self.reply(400, {"error": "until_ms is not after since_ms"})
                i = next_id[0]
                next_id[0] += 1
                jobs[i] = job(i, b["cluster"], "running", since_ms=b["since_ms"], until_ms=until,
                              rate=b.get("rate", 50000), db=b.get("db", ""),
                              measurement_prefix=b.get("measurement_prefix", ""),
                              dry_run=b.get("dry_run", False), started_by=b.get("started_by", ""),
                              records_done=0, records_total=3000, progress=0.0, points_sent=0,
                              bytes_sent=0, rate_now=0.0, partitions=[])
                steps[i] = 0
                return self.reply(201, jobs[i])
            if len(parts) == 4 and parts[1] == "replays":
                i = self.job_id(parts)
                if i is None:
                    return self.reply(404, {"error": "no such replay %s" % parts[2]})
                j, verb = jobs[i], parts[3]
                ok = {"pause": ("queued", "running"), "resume": ("paused",),
                      "cancel": ("queued", "running", "paused")}.get(verb)
                if ok is None:
                    return self.reply(404, "not found\n", "text/plain")
                if j["state"] not in ok:
                    return self.reply(409, {"error": "replay %d is %s" % (i, j["state"])})
                j["state"] = {"pause": "paused", "resume": "running", "cancel": "cancelled"}[verb]
                if verb == "cancel":
                    j.update(finished_ms=NOW + 1000, result="cancelled by the operator")
                return self.reply(200, j)
        self.reply(404, "not found\n", "text/plain")

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
port=$(free_port)
spawn fake_admin python3 "$TSR_TMP/fake_admin.py" "$port" "$TSR_TMP/posts.jsonl"
fake_pid=$SPAWN_PID
wait_port "$port"
export TSRELAY_ADMIN=127.0.0.1:$port

# --- status --------------------------------------------------------------------------------
expect 0 status
has "tsrelay dc-test: up 3h15m"
grep -qE '^CLUSTER +STATE +READY +LAG +LAG POINTS +LAST ERROR$' <<<"$out" || fail "status header: $out"
grep -qE '^influx +in_sync +yes +0\.3s +90 +-$' <<<"$out" || fail "status influx row: $out"
grep -qE '^vm +down +no +12m34s +4,560,000 +connect to http://10.0.0.2:8428/write failed: Connection\.\.\.$' <<<"$out" ||
    fail "status vm row (lag, thousands, truncated error): $out"
[[ $out != *"second line"* ]] || fail "last error not cut to one line: $out"
has "kafka: up, ready; brokers 127.0.0.1:9092, topic metrics, 2 partitions; 12 records in flight (3.4 KiB); 1,234,567 records produced, 0 errors"
grep -qE '^ *ID +CLUSTER +STATE +PROGRESS +RATE +ETA$' <<<"$out" || fail "replays header: $out"
# Job 3: 40 of 200 records, 120,000 points at 48,000.5/s -> 160 records left at 16/s: 10 s.
grep -qE '^ *3 +vm +running +20\.0% +48,001/s +0:10$' <<<"$out" || fail "replays row: $out"
[[ $out != *" influx "*done* ]] || fail "finished jobs listed as running: $out"

# -a wins over TSRELAY_ADMIN.
TSRELAY_ADMIN=127.0.0.1:$dead expect 0 -a "127.0.0.1:$port" status
TSRELAY_ADMIN=127.0.0.1:$dead expect 0 status -a "http://127.0.0.1:$port/"

# --json: the server's document, unchanged.
expect 0 --json status
want=$(curl -sS "http://127.0.0.1:$port/status")
python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$out" "$want" ||
    fail "status --json differs from /status: $out"
expect 0 status --json # options after the command too
assert_eq "$(json_get 'd["datacenter"]')" dc-test "status --json datacenter"

# --- checkpoints -----------------------------------------------------------------------------
expect 0 checkpoints
grep -qE '^CLUSTER +PARTITION +POSITION +HIGH +LAG$' <<<"$out" || fail "checkpoints header: $out"
grep -qE '^influx +0 +1000 +1003 +3$' <<<"$out" || fail "checkpoints influx/0: $out"
grep -qE '^influx +1 +2000 +2000 +0$' <<<"$out" || fail "checkpoints influx/1: $out"
grep -qE '^vm +0 +500 +4000 +3500$' <<<"$out" || fail "checkpoints vm/0: $out"
expect 0 checkpoints --cluster vm
[[ $out != *influx* ]] || fail "checkpoints --cluster vm shows influx: $out"
grep -qE '^vm +1 +700 +1700 +1000$' <<<"$out" || fail "checkpoints vm/1: $out"
expect 0 checkpoints --cluster vm --json
assert_eq "$(json_get '[(c["name"], p["partition"], p["position"], p["high"]) for c in d for p in c["partitions"]]')" \
    "[('vm', 0, 500, 4000), ('vm', 1, 700, 1700)]" "checkpoints --json"
expect 0 --json checkpoints
assert_eq "$(json_get '[c["name"] for c in d]')" "['influx', 'vm']" "checkpoints --json clusters"
expect 1 checkpoints --cluster nope
has "no such cluster 'nope' (configured: influx, vm)"

# --- ledger ------------------------------------------------------------------------------------
expect 0 ledger --cluster vm
grep -qE '^ID +KIND +FROM +TO +DURATION +REASON$' <<<"$out" || fail "ledger header: $out"
grep -qE '^ 1 +outage +2026-11-23T05:00:00Z +2026-11-23T05:42:10Z +42m10s +no url up$' <<<"$out" ||
    fail "ledger closed entry: $out"
grep -qxF "    tsrelayctl replay start --cluster vm --since 2026-11-23T05:00:00Z --until 2026-11-23T05:42:10Z" <<<"$out" ||
    fail "ledger command for a closed entry: $out"
grep -qE '^ 2 +outage +2026-11-23T06:00:00\.250Z +open +.* so far +connect refused$' <<<"$out" ||
    fail "ledger open entry: $out"
grep -qxF "    tsrelayctl replay start --cluster vm --since 2026-11-23T06:00:00.250Z" <<<"$out" ||
    fail "ledger command for an open entry (no --until): $out"
expect 0 ledger --cluster influx
has "cluster 'influx' has never been out of sync"
expect 0 ledger --cluster vm --json
assert_eq "$(json_get '[(e["id"], e["to_ms"]) for e in d]')" "[(1, 1795412530000), (2, 0)]" "ledger --json"
expect 1 ledger --cluster nope
has "no such cluster 'nope'"

# --- replay start: the POST body -----------------------------------------------------------------
now_ms=$(date +%s%3N)
USER=tester expect 0 replay start --cluster vm --since 2026-11-23T07:00:00+02:00 --until -1h \
    --rate 5000 --db telegraf --measurement cpu
has "replay 7: running"
has "range        2026-11-23T05:00:00Z .. "
has "records      0 of 3,000 (0.0%)"
has "only         database 'telegraf', measurements starting with 'cpu'"
has "rate cap     5,000 points/s"
assert_eq "$(last_post path)" /replays "POST path"
assert_eq "$(last_post cluster)" '"vm"' "POST cluster"
assert_eq "$(last_post since_ms)" 1795410000000 "POST since_ms (RFC 3339 with an offset)"
until_ms=$(last_post until_ms)
# -1h: now minus an hour, give or take the seconds this took.
[ $((until_ms - (now_ms - 3600000))) -ge 0 ] && [ $((until_ms - (now_ms - 3600000))) -lt 30000 ] ||
    fail "POST until_ms $until_ms is not about now-1h ($now_ms - 3600000)"
assert_eq "$(last_post rate)" 5000 "POST rate"
assert_eq "$(last_post db)" '"telegraf"' "POST db"
assert_eq "$(last_post measurement_prefix)" '"cpu"' "POST measurement_prefix"
assert_eq "$(last_post started_by)" "\"tester@$(hostname)\"" "POST started_by"
assert_eq "$(last_post dry_run)" '"(absent)"' "POST dry_run when not asked"
assert_eq "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["ctype"])' "$TSR_TMP/posts.jsonl")" \
    application/json "POST Content-Type"

# earliest -> 0, no --until -> not sent, no USER -> the login name.
USER= expect 0 replay start --cluster influx --since earliest
assert_eq "$(last_post since_ms)" 0 "POST since_ms for earliest"
assert_eq "$(last_post until_ms)" '"(absent)"' "POST until_ms when not given"
assert_eq "$(last_post rate)" '"(absent)"' "POST rate when not given"
assert_eq "$(last_post started_by)" "\"$(id -un)@$(hostname)\"" "POST started_by without \$USER"

now_ms=$(date +%s%3N)
expect 0 replay start --cluster vm --since -1h30m --until 4102444800000 --json
since_ms=$(last_post since_ms)
[ $((since_ms - (now_ms - 5400000))) -ge 0 ] && [ $((since_ms - (now_ms - 5400000))) -lt 30000 ] ||
    fail "POST since_ms $since_ms is not about now-1h30m"
assert_eq "$(last_post until_ms)" 4102444800000 "POST until_ms in Unix ms"
assert_eq "$(json_get 'd["id"]')" 9 "replay start --json prints the job"

expect 1 replay start --cluster nope --since -1h
has "cannot start replay: no such cluster 'nope' (HTTP 404)"

# --- --wait: 0 when done, 1 when failed --------------------------------------------------------------
expect 0 replay start --cluster vm --since -1h --wait
has "replay 10 done: 3000 records, 9000 points sent"
grep -q '^replay 10: 100% 9,000 points' <<<"$out" || fail "no final plain progress line: $out"
expect 1 replay start --cluster vm --since -1h --measurement fail --wait
has "replay 11 failed: cluster 'vm' answered 400: partial write: field type conflict"
[[ $out != *"done"* ]] || fail "a failed job printed done: $out"

# --dry-run waits by itself and prints the counts per measurement, largest first.
expect 0 replay start --cluster vm --since -1h --dry-run
assert_eq "$(last_post dry_run)" true "POST dry_run"
has "replay 12: running (dry run)"
has "replay 12 done: 3000 records, 9000 points counted"
grep -qE '^MEASUREMENT +POINTS +BYTES$' <<<"$out" || fail "dry run table header: $out"
grep -A3 '^MEASUREMENT' <<<"$out" | sed -n 2p | grep -qE '^mem +2,400 +190,000$' || fail "dry run: mem first: $out"
grep -qE '^\(total\) +3,000 +238,000$' <<<"$out" || fail "dry run total: $out"
# --dry-run --json: the finished job, measurements included.
expect 0 replay start --cluster vm --since -1h --dry-run --json
assert_eq "$(json_get '(d["state"], [m["name"] for m in d["measurements"]])')" "('done', ['cpu', 'mem'])" "dry run --json"

# On a terminal: a progress bar redrawn in place with \r.
if command -v script >/dev/null; then
    rc=0
    script -qec "'$CTL' replay start --cluster vm --since -1h --wait" /dev/null >"$TSR_TMP/tty" 2>&1 || rc=$?
    assert_eq "$rc" 0 "--wait on a terminal"
    grep -q $'\r\[#####' "$TSR_TMP/tty" || fail "no progress bar on a terminal: $(cat -A "$TSR_TMP/tty")"
    grep -qE '\[####################\] 100% 9,000 points 0/s ETA 0:00' "$TSR_TMP/tty" ||
        fail "no final bar: $(cat -A "$TSR_TMP/tty")"
else
    log "no script(1): terminal progress not checked"
fi

# --- list, show, follow ---------------------------------------------------------------------------------
expect 0 replay list
grep -qE '^ID +CLUSTER +STATE +SINCE +UNTIL +PROGRESS +POINTS +STARTED BY$' <<<"$out" || fail "list header: $out"
grep -qE '^ *3 +vm +running +2026-11-23T04:00:00Z +2026-11-23T05:00:00Z +20\.0% +120,000 +alice@host$' <<<"$out" ||
    fail "list row 3: $out"
grep -qE '^ *8 +influx +running +earliest ' <<<"$out" || fail "list row 8: $out"
grep -qE '^ *12 +vm +done \(dry run\) ' <<<"$out" || fail "list row 12: $out"
expect 0 replay list --json
assert_eq "$(json_get 'd["replays"][0]["id"]')" 3 "list --json"

expect 0 replay show 3
has "replay 3: running"
has "range        2026-11-23T04:00:00Z .. 2026-11-23T05:00:00Z (1h)"
has "records      40 of 200 (20.0%)"
has "points       120,000 sent (9.2 MiB)"
has "partition 1   offsets 0..150, at 30"
expect 0 replay show 3 --json
assert_eq "$(json_get 'd["state"]')" running "show --json"
expect 1 replay show 99
has "cannot show replay 99: no such replay 99 (HTTP 404)"
expect 0 replay show 4
has "result       200 records, 600,000 points sent"

expect 0 replay start --cluster vm --since -1h --json
id=$(json_get 'd["id"]')
expect 0 replay show "$id" --follow
has "replay $id: running"
has "replay $id done"
expect 0 replay start --cluster vm --since -1h --measurement fail --json
id=$(json_get 'd["id"]')
expect 1 replay show "$id" --follow
has "replay $id failed: cluster 'vm' answered 400"
expect 1 replay show "$id" --follow --json
assert_eq "$(json_get 'd["state"]')" failed "show --follow --json of a finished job"

# --- pause, resume, cancel ----------------------------------------------------------------------------------
expect 0 replay pause 3
assert_eq "$out" "replay 3: paused" "pause"
assert_eq "$(last_post path)" /replays/3/pause "pause path"
expect 1 replay pause 3
has "cannot pause replay 3: replay 3 is paused (HTTP 409)"
expect 0 status
grep -qE '^ *3 +vm +paused +20\.0% +48,001/s +-:--$' <<<"$out" || fail "paused job in status: $out"
expect 0 replay resume 3 --json
assert_eq "$(json_get 'd["state"]')" running "resume --json"
expect 0 replay cancel 3
assert_eq "$out" "replay 3: cancelled" "cancel"
expect 1 replay cancel 4
has "cannot cancel replay 4: replay 4 is done (HTTP 409)"
expect 1 replay resume 99
has "no such replay 99"
expect 0 status
! grep -qE '^ *3 +vm' <<<"$out" || fail "cancelled job 3 still listed as running: $out"

# An endpoint without the replay API (a relay from before it): the server's words, exit 1.
old_port=$(free_port)
spawn fake_admin_old python3 "$TSR_TMP/fake_admin.py" "$old_port" "$TSR_TMP/posts-old.jsonl" old
wait_port "$old_port"
expect 1 -a "127.0.0.1:$old_port" replay list
assert_eq "$err" "cannot list replays: not found (HTTP 404)" "replay list against an old relay"
expect 0 -a "127.0.0.1:$old_port" status
has "no replays running"

# --- the endpoint goes away ------------------------------------------------------------------------------------
stop_pid "$fake_pid"
expect 3 status
has "cannot reach tsrelay admin endpoint at 127.0.0.1:$port"
log "ok"
