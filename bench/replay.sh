#!/usr/bin/env bash
# bench/replay.sh — how fast a replay restores a wiped cluster, and what it costs the
# clusters that only receive live forwarding meanwhile (`make bench`, after e2e.sh).
#
#   direct   loadgen (1,000,000 distinct 3-field lines, 1 ms apart: -d -s 1000000)
#            straight into a fresh VictoriaMetrics's /write and into InfluxDB's
#            /write?db=bench_direct&precision=ns: each TSDB's own ingest rate, the
#            yardstick; once per round (BENCH_REPLAY_ROUNDS, 5), the fastest counting.
#   ingest   Kafka, the relay with three clusters: "vm" (VictoriaMetrics) and "influx"
#            (InfluxDB), the replay targets, and "live" (a second VictoriaMetrics) that
#            only ever gets live forwarding. The same 1,000,000 lines go into the relay;
#            [T0, T1) is the wall-clock span of that ingest (the Kafka record times),
#            and the script waits until all three clusters hold everything.
#   wipe     InfluxDB: DROP DATABASE bench + CREATE DATABASE bench; VictoriaMetrics:
#            a restart on a fresh data dir at the same port (a restore from an empty
#            backup; the direct run's instance is fresh too). BENCH_REPLAY_VM_WIPE=
#            delete_series uses /api/v1/admin/tsdb/delete_series for {__name__=~"bench_.*"}
#            instead (the restart if that leaves samples behind): its deleted rows are
#            dropped by background merges that then run beside the replay.
#   replay   per round, vm then influx: wipe, then `tsrelayctl --json replay start
#            --cluster C --since T0 --until T1 --rate 10000000 --wait`; the fastest of
#            the BENCH_REPLAY_ROUNDS rounds counts. While each runs a
#            live load of ~20,000 lines/s (BENCH_REPLAY_LIVE_RATE; measurement "live",
#            current timestamps, so it never touches the counted bench_* points) goes
#            into the relay, and /status is sampled every 500 ms for the "live"
#            cluster's lag_seconds. replay points/s = points_sent / (the job's
#            finished_ms - the moment tsrelayctl was started).
#   verify   after each replay the target must hold exactly LINES points of the ingest
#            (VictoriaMetrics: samples of bench_f1 via /api/v1/export, deduplicated by
#            -dedup.minScrapeInterval=1ms; InfluxDB: SELECT count(f1) FROM bench),
#            counted over the points' own time range (loadgen's, 1700000000 s + n ms).
#
# After the ingest the live load runs alone for 5 s: the relay's CPU and the live
# cluster's lag without a replay, to tell the replay's share from the live load's. Then
# each round, within about a minute: the direct writes with the relay idle (into a fresh
# VictoriaMetrics and InfluxDB database bench_direct); the live load started; the direct
# writes again (a fresh VictoriaMetrics, database bench_load: each TSDB's rate under the
# conditions the replays meet, printed beside the quiet one); the two replays; the live
# load stopped. Noise from the rest of the machine only slows a round down, so of direct
# and replay alike the fastest round is the closest to what each can do; every round is
# printed. Interleaving keeps the host's drift over minutes out of the ratio.
# Exits 1 after the table when a count is wrong or a replay did not finish "done".
#
# BENCH_REPLAY_LINES (1,000,000), BENCH_REPLAY_LIVE_RATE (20000 lines/s),
# BENCH_REPLAY_RATE (the --rate cap, 10000000), BENCH_REPLAY_TIMEOUT (600 s per replay),
# BENCH_REPLAY_CLUSTER_KEYS ('key: value, ...' added to the vm and influx clusters),
# BENCH_REPLAY_PIN (1: the TSDB measured on a core of its own), BENCH_REPLAY_VM_WIPE
# (fresh, or delete_series), BENCH_REPLAY_ROUNDS (5).
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/forward.sh"

LINES=${BENCH_REPLAY_LINES:-1000000}
LIVE_RATE=${BENCH_REPLAY_LIVE_RATE:-20000}
REPLAY_RATE=${BENCH_REPLAY_RATE:-10000000}
REPLAY_TIMEOUT=${BENCH_REPLAY_TIMEOUT:-600}
VM_WIPE=${BENCH_REPLAY_VM_WIPE:-fresh}
ROUNDS=${BENCH_REPLAY_ROUNDS:-5}
STEP_NS=1000000            # 1 ms between points: VictoriaMetrics stores milliseconds
P0_MS=1700000000000        # loadgen's first point; point n is at P0_MS + n ms
P1_MS=$((P0_MS + LINES))   # end of the points' range (exclusive)
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
CTL=$(dirname "$TSRELAY_BIN")/tsrelayctl
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"
[ -x "$CTL" ] || fail "$CTL missing: run make"
now_ms() { date +%s%3N; }
BROKEN=()

# One core for the TSDB being measured, the other for everything else (BENCH_REPLAY_PIN=1,
# the default): as in a datacenter, where the TSDB has machines of its own. Direct and
# replay then give the TSDB the same CPU, and the ratio says whether the relay keeps it
# fed, not how much of a shared 2-core machine Kafka and the live load take from it.
PIN=${BENCH_REPLAY_PIN:-1}
if [ "$PIN" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || fail "BENCH_REPLAY_PIN=1 needs 2 cores (set BENCH_REPLAY_PIN=0)"
    taskset -p -c 0 $$ >/dev/null || fail "taskset cannot pin this shell to CPU 0"
fi
# measured PID / unmeasured PID: move every thread of a TSDB to its own core / back.
measured() { [ "$PIN" != 1 ] || taskset -a -p -c 1 "$1" >/dev/null; }
unmeasured() { [ "$PIN" != 1 ] || taskset -a -p -c 0 "$1" >/dev/null; }

# --- helper processes (one Python file, three modes) --------------------------------
PY=$TSR_TMP/replay_bench.py
cat >"$PY" <<'PY'
"""live PORT RATE STOPFILE
    POST 1000-line requests of measurement "live" (current timestamps) to the relay's
    /write?db=bench at RATE lines/s until STOPFILE exists; prints:
    lines seconds lines_per_s non_204 errors
sample ADMIN LIVE TARGET PID STOPFILE TRACE
    every 500 ms until STOPFILE exists: the LIVE cluster's lag_seconds and state from
    /status, rate_now of TARGET's unfinished operator job, PID's VmRSS; prints:
    samples max_lag mean_lag not_in_sync max_rate_now max_rss_mib
sync ADMIN N TIMEOUT
    until every cluster is ready, has no lag_records and points_delivered >= N; prints
    the seconds it took (exit 2 on timeout)"""
import http.client, json, os, sys, time, urllib.request

from procstat import rss


def get_status(admin):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/status", timeout=2) as r:
            return json.loads(r.read())
    except Exception:
        return None


mode = sys.argv[1]
if mode == "live":
    port, rate, stop = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    per_req = 1000
    interval = per_req / rate
    conn, sent, bad, errs, n = None, 0, 0, 0, 0
    start = time.time()
    nxt = start
    while not os.path.exists(stop):
        ts = time.time_ns()
        body = "".join(
            f"live,host=h{(n + i) % 200} f1={n + i}i,f2={(n + i) % 977}.25,f3={(n + i) % 13}i {ts + i}\n"
            for i in range(per_req)).encode()
        n += per_req
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/write?db=bench", body=body,
                         headers={"Content-Type": "text/plain"})
            r = conn.getresponse()
            r.read()
            if r.status == 204:
                sent += per_req
            else:
                bad += 1
        except (OSError, http.client.HTTPException):
            errs += 1
            if conn:
                conn.close()
            conn = None
            time.sleep(0.1)
        nxt += interval
        d = nxt - time.time()
        if d > 0:
            time.sleep(d)
        elif d < -1:
            nxt = time.time()  # fell behind by more than a second: do not burst
    secs = time.time() - start
    print(sent, f"{secs:.2f}", f"{sent / secs:.0f}" if secs > 0 else 0, bad, errs)
    sys.exit(0)

if mode == "sample":
    admin, live, target, pid, stop, trace_file = sys.argv[2:8]
    trace = open(trace_file, "a")
    lags, not_sync, max_rate, max_rss = [], 0, 0.0, 0.0
    while True:
        t = time.time()
        last = os.path.exists(stop)
        max_rss = max(max_rss, rss(pid))
        s = get_status(admin)
        if s:
            c = {x["name"]: x for x in s["clusters"]}[live]
            lags.append(c["lag_seconds"])
            if c["state"] != "in_sync":
                not_sync += 1
            jobs = [j for j in s.get("replays", []) if j["cluster"] == target
                    and not j.get("started_by", "").startswith("tsrelay:")]
            for j in jobs:
                max_rate = max(max_rate, j.get("rate_now", 0.0))
            trace.write(f"{t:.3f} rss={rss(pid):.1f} live state={c['state']} lag_s={c['lag_seconds']} "
                        f"lag_records={c['lag_records']} delivered={c['points_delivered']} "
                        + " ".join(f"job{j['id']}={j['state']} sent={j['points_sent']} "
                                   f"done={j['records_done']}/{j['records_total']} "
                                   f"rate_now={j['rate_now']:.0f}" for j in jobs) + "\n")
        if last:
            break
        time.sleep(max(0.0, 0.5 - (time.time() - t)))
    mean = sum(lags) / len(lags) if lags else -1
    print(len(lags), f"{max(lags) if lags else -1:.3f}", f"{mean:.3f}", not_sync,
          f"{max_rate:.0f}", f"{max_rss:.1f}")
    sys.exit(0)

if mode == "sync":
    admin, n, timeout = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    start = time.time()
    while time.time() - start < timeout:
        s = get_status(admin)
        if s and all(c["ready"] and c["lag_records"] == 0 and c["points_delivered"] >= n
                     for c in s["clusters"]):
            print(f"{time.time() - start:.2f}")
            sys.exit(0)
        time.sleep(0.1)
    sys.exit(2)
PY

# helper_start NAME MODE ARGS...: run a helper in the background until helper_stop NAME.
declare -A HELPER=()
helper_start()
{
    local name=$1
    shift
    rm -f "$TSR_TMP/$name.stop"
    python3 "$PY" "$@" >"$TSR_TMP/$name.out" 2>"$TSR_TMP/$name.err" &
    HELPER[$name]=$!
    track_pid "${HELPER[$name]}" "$name"
}

# helper_stop NAME: ask it to finish (its stop file), wait; its summary line in HOUT.
helper_stop()
{
    local name=$1 pid=${HELPER[$1]} rc=0
    touch "$TSR_TMP/$name.stop"
    wait "$pid" || rc=$?
    unset "TSR_PIDS[$pid]"
    HOUT=$(cat "$TSR_TMP/$name.out")
    [ "$rc" = 0 ] || fail "helper $name exited $rc: $(cat "$TSR_TMP/$name.err")"
}

# --- TSDBs ---------------------------------------------------------------------------
# vm_count NAME: samples of bench_f1 in the points' range [P0_MS, P1_MS) (export's end
# is inclusive), deduplicated as queried.
vm_count()
{
    local end
    end=$(calc "printf \"%.3f\", ($P1_MS - 1) / 1000")
    curl -sf -m 30 -o /dev/null "$(vm_url "$1")/internal/force_flush"
    curl -sf -m 300 "$(vm_url "$1")/api/v1/export" -d 'match[]=bench_f1' \
        -d "start=$(calc "printf \"%.3f\", $P0_MS / 1000")" -d "end=$end" |
        python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))'
}

# influx_count [DB]: points of bench (count of f1) in database DB (bench) in [P0_MS, P1_MS).
influx_count()
{
    curl -sS -m 300 --fail-with-body -G "$INFLUX_URL/query" --data-urlencode "db=${1:-bench}" \
        --data-urlencode "q=SELECT count(f1) FROM bench WHERE time >= ${P0_MS}000000 AND time < ${P1_MS}000000" |
        python3 -c 'import json, sys
r = json.load(sys.stdin)["results"][0]
print(r["series"][0]["values"][0][1] if r.get("series") else 0)'
}

# count_until TARGET WANT: count (retrying for 15 s while it differs); prints the last.
count_until()
{
    local got i
    for ((i = 0; i < 15; i++)); do
        if [ "$1" = vm ]; then got=$(vm_count vm); else got=$(influx_count); fi
        [ "$got" != "$2" ] || break
        sleep 1
    done
    echo "$got"
}

# direct PORT PATH: loadgen LINES distinct lines into a TSDB; prints lines/s.
direct()
{
    local out
    out=$("$LOADGEN" -p "$1" -u "$2" -n "$LINES" -b 5000 -c 2 -d -s "$STEP_NS" 2>&1) ||
        fail "loadgen into port $1$2: $out"
    log "direct $2: $out"
    [[ $out == *" status_other=0 errors=0"* ]] || fail "loadgen into port $1$2: $out"
    out=${out#*lines_per_s=}
    echo "${out%% *}"
}

# direct_vm NAME: LINES straight into a fresh VictoriaMetrics NAME, removed after; sets
# DIRECT_RATE (lines/s).
direct_vm()
{
    log "direct: $LINES lines straight into VictoriaMetrics ($1)"
    vm_start "$1"
    measured "${VMPID[$1]}"
    local c0
    c0=$(cpu_s "${VMPID[$1]}")
    DIRECT_RATE=$(direct "${VMPORT[$1]}" "/write?db=bench")
    DIRECT_CPU=$(calc "printf \"%.2f\", $(cpu_s "${VMPID[$1]}") - $c0")
    vm_stop "$1"
    rm -rf "${TSR_TMP:?}/$1"
}

# direct_influx DB [CHECK]: LINES straight into InfluxDB database DB, dropped after (its
# point count checked first if CHECK); sets DIRECT_RATE (lines/s).
direct_influx()
{
    log "direct: $LINES lines straight into InfluxDB database $1"
    influx_query "$1" "CREATE DATABASE $1" >/dev/null
    local c0
    measured "$INFLUX_PID"
    c0=$(cpu_s "$INFLUX_PID")
    DIRECT_RATE=$(direct "$INFLUX_PORT" "/write?db=$1&precision=ns")
    DIRECT_CPU=$(calc "printf \"%.2f\", $(cpu_s "$INFLUX_PID") - $c0")
    unmeasured "$INFLUX_PID"
    if [ -n "${2:-}" ]; then
        local n
        n=$(influx_count "$1")
        [ "$n" = "$LINES" ] || BROKEN+=("direct: InfluxDB database $1 holds $n points, want $LINES")
    fi
    influx_query "$1" "DROP DATABASE $1" >/dev/null
}

# keep_best KIND/TSDB: of the rounds, the fastest DIRECT_RATE (and its DIRECT_CPU) in
# BEST and BEST_CPU; every round's rate in ROUND_RATES. Interference from the rest of
# the machine only ever slows a round down, so the fastest is the closest to what the
# TSDB can do; direct and replay are both judged that way.
declare -A BEST=() BEST_CPU=() ROUND_RATES=()
keep_best()
{
    ROUND_RATES[$1]+="${ROUND_RATES[$1]:+ }$DIRECT_RATE"
    if [ -z "${BEST[$1]:-}" ] || [ "$DIRECT_RATE" -gt "${BEST[$1]}" ]; then
        BEST[$1]=$DIRECT_RATE
        BEST_CPU[$1]=$DIRECT_CPU
    fi
}

# ============================ servers ==================================================
start_kafka
start_influxdb
influx_query bench 'CREATE DATABASE bench' >/dev/null
vm_start vm
vm_start live

# ============================ relay, ingest ===========================================
extra=$(cluster_keys "${BENCH_REPLAY_CLUSTER_KEYS:-}")
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$(vm_url vm)]
    compression: none
    # the wipe restarts vm: its return must not re-send ingest points into it
    recovery_rewind_ms: 0$extra
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
    compression: none$extra
  - name: live
    type: victoriametrics
    urls: [$(vm_url live)]
    compression: none"
start_relay
for c in vm influx live; do
    wait_cluster_ready "$c" 30 || fail "$c not in sync at start: $(cluster_field "$c" reason)"
done

log "ingest: $LINES lines into the relay"
T0=$(now_ms)
out=$("$LOADGEN" -p "$RELAY_HTTP_PORT" -u "/write?db=bench" -n "$LINES" -b 5000 -c 2 -d \
    -s "$STEP_NS" 2>&1) || fail "loadgen into the relay: $out"
T1=$(($(now_ms) + 1))
log "ingest: $out"
[[ $out == *" status_other=0 errors=0"* ]] || fail "loadgen into the relay: $out"
ING_LPS=${out#*lines_per_s=}
ING_LPS=${ING_LPS%% *}
SYNC_S=$(python3 "$PY" sync "$RELAY_ADMIN_PORT" "$LINES" 300) ||
    fail "the clusters were not all in sync within 300 s of the ingest"
log "ingest: range [$T0, $T1) = [$(rfc3339 "$T0"), $(rfc3339 "$T1")); all clusters in sync ${SYNC_S}s after it"
n=$(vm_count vm)
[ "$n" = "$LINES" ] || BROKEN+=("vm holds $n samples of bench_f1 after the ingest, want $LINES")
n=$(influx_count)
[ "$n" = "$LINES" ] || BROKEN+=("influx holds $n points after the ingest, want $LINES")

# ============================ wipe ====================================================
# wipe TARGET: empties it of the bench points; WIPE[TARGET] says how.
declare -A WIPE=()
wipe()
{
    local n code=204
    if [ "$1" = influx ]; then
        log "wipe: InfluxDB DROP + CREATE DATABASE bench"
        influx_query bench 'DROP DATABASE bench' >/dev/null
        influx_query bench 'CREATE DATABASE bench' >/dev/null
        WIPE[influx]="DROP + CREATE DATABASE"
        n=$(influx_count)
        [ "$n" = 0 ] || fail "influx still holds $n points after the wipe"
        return
    fi
    if [ "$VM_WIPE" = delete_series ]; then
        log "wipe: VictoriaMetrics delete_series {__name__=~\"bench_.*\"}"
        code=$(curl -s -o "$TSR_TMP/delete.out" -w '%{http_code}' -m 60 \
            "$(vm_url vm)/api/v1/admin/tsdb/delete_series" --data-urlencode 'match[]={__name__=~"bench_.*"}')
        WIPE[vm]="delete_series"
        [ "$code" = 204 ] || log "wipe: delete_series answered $code: $(cat "$TSR_TMP/delete.out")"
    fi
    if [ "$VM_WIPE" != delete_series ] || [ "$code" != 204 ] || [ "$(vm_count vm)" != 0 ]; then
        log "wipe: restarting vm on a fresh data dir"
        vm_stop vm
        rm -rf "${TSR_TMP:?}/vm-fresh"
        vm_start vm "$TSR_TMP/vm-fresh"
        WIPE[vm]="restart on a fresh data dir"
        wait_cluster_ready vm 60 || fail "vm not in sync after its restart"
    fi
    n=$(vm_count vm)
    [ "$n" = 0 ] || fail "vm still holds $n samples of bench_f1 after the wipe"
}

# ============================ replays =================================================
# live_start / live_stop: the live load into the relay; live_stop adds its figures to
# LIVE_LINES, LIVE_SECS, LIVE_BAD and LIVE_ERR.
LIVE_LINES=0 LIVE_SECS=0 LIVE_BAD=0 LIVE_ERR=0
live_start() { helper_start liveload live "$RELAY_HTTP_PORT" "$LIVE_RATE" "$TSR_TMP/liveload.stop"; }
live_stop()
{
    local lines secs bad errs
    helper_stop liveload
    read -r lines secs _ bad errs <<<"$HOUT"
    LIVE_LINES=$((LIVE_LINES + lines)) LIVE_BAD=$((LIVE_BAD + bad)) LIVE_ERR=$((LIVE_ERR + errs))
    LIVE_SECS=$(calc "printf \"%.2f\", $LIVE_SECS + $secs")
}

log "baseline: live load alone for 5 s"
c0=$(cpu_s "$RELAY_PID")
live_start
helper_start sampler sample "$RELAY_ADMIN_PORT" live none "$RELAY_PID" \
    "$TSR_TMP/sampler.stop" "$TSR_TMP/trace-baseline.txt"
sleep 5
helper_stop sampler
read -r _ BASE_LAG _ _ _ _ <<<"$HOUT"
c1=$(cpu_s "$RELAY_PID")
BASE_CPU_PER_S=$(calc "printf \"%.3f\", ($c1 - $c0) / 5")
live_stop

# max A B [FORMAT]: the larger, printed with FORMAT (%.3f).
max() { calc "a = $1; b = $2; printf \"${3:-%.3f}\", (a > b ? a : b)"; }
declare -A LAG_MAX=() LAG_MEAN=() NOSYNC=() RATE_MAX=() RSS_MAX=() CPU=() STATE=() SENT=() \
    RDONE=() RTOTAL=() RNOW=() WALL=() JOB_S=() RATE=() BASE_CPU=() COUNT=() RSS_BEFORE=() \
    TCPU=() KCPU=()
# replay_round TARGET ROUND: wipes TARGET, replays [T0, T1) into it and counts what it
# holds after. The figures of TARGET's fastest round so far go into the arrays above;
# the live lag, the RSS and the checks cover every round.
replay_round()
{
    local tgt=$1 round=$2 tag=$1-$2 rc=0 tpid c0 c1 t0 k0 s0 s1 rss_before tcpu kcpu
    local lag_max lag_mean nosync rate_max rss_max state sent rdone rtotal rnow created
    local finished wall ctl_s rate count
    wipe "$tgt"
    log "replay: $tgt round $round, [$T0, $T1), rate cap $REPLAY_RATE"
    helper_start sampler sample "$RELAY_ADMIN_PORT" live "$tgt" "$RELAY_PID" \
        "$TSR_TMP/sampler.stop" "$TSR_TMP/trace-$tag.txt"
    rss_before=$(rss_mb "$RELAY_PID")
    tpid=$INFLUX_PID
    [ "$tgt" != vm ] || tpid=${VMPID[vm]}
    measured "$tpid"
    c0=$(cpu_s "$RELAY_PID")
    t0=$(cpu_s "$tpid")
    k0=$(cpu_s "$KAFKA_PID")
    s0=$(now_ms)
    timeout "$REPLAY_TIMEOUT" "$CTL" -a "127.0.0.1:$RELAY_ADMIN_PORT" --json replay start \
        --cluster "$tgt" --since "$T0" --until "$T1" --rate "$REPLAY_RATE" --wait \
        >"$TSR_TMP/replay-$tag.json" 2>"$TSR_TMP/replay-$tag.err" || rc=$?
    s1=$(now_ms)
    c1=$(cpu_s "$RELAY_PID")
    tcpu=$(calc "printf \"%.2f\", $(cpu_s "$tpid") - $t0")
    unmeasured "$tpid"
    kcpu=$(calc "printf \"%.2f\", $(cpu_s "$KAFKA_PID") - $k0")
    helper_stop sampler
    read -r _ lag_max lag_mean nosync rate_max rss_max <<<"$HOUT"
    alive "$RELAY_PID" || fail "tsrelay died during the replay to $tgt"
    if [ "$rc" != 0 ]; then
        BROKEN+=("replay to $tgt (round $round): tsrelayctl exited $rc: $(cat "$TSR_TMP/replay-$tag.err")")
        curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/replays" >"$TSR_TMP/replay-$tag.json"
    fi
    read -r state sent rdone rtotal rnow created finished <<<"$(
        python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
if "replays" in j:  # tsrelayctl failed: the last job to this cluster
    j = [x for x in j["replays"] if x["cluster"] == sys.argv[2]][-1]
print(j["state"], j["points_sent"], j["records_done"], j["records_total"],
      "%.0f" % j["rate_now"], j["created_ms"], j["finished_ms"])' "$TSR_TMP/replay-$tag.json" "$tgt"
    )"
    [ "$state" = "done" ] || BROKEN+=("replay to $tgt (round $round) ended $state")
    [ "$finished" -gt 0 ] || finished=$s1
    wall=$(calc "printf \"%.2f\", ($finished - $s0) / 1000")
    ctl_s=$(calc "printf \"%.2f\", ($s1 - $s0) / 1000")
    rate=$(calc "s = $wall; printf \"%.0f\", (s > 0 ? $sent / s : 0)")
    log "replay: $tgt round $round $state: $sent points, records $rdone/$rtotal, $wall s (job $(calc "printf \"%.2f\", ($finished - $created) / 1000") s) = $rate points/s, rate_now $rnow (max seen $rate_max); live lag max $lag_max s"
    count=$(count_until "$tgt" "$LINES")
    log "replay: $tgt holds $count points of the range"
    [ "$count" = "$LINES" ] ||
        BROKEN+=("after replay round $round $tgt holds $count points of the range, want $LINES")
    ROUND_RATES[replay/$tgt]+="${ROUND_RATES[replay/$tgt]:+ }$rate"
    LAG_MAX[$tgt]=$(max "${LAG_MAX[$tgt]:--1}" "$lag_max")
    LAG_MEAN[$tgt]=$(max "${LAG_MEAN[$tgt]:--1}" "$lag_mean")
    NOSYNC[$tgt]=$((${NOSYNC[$tgt]:-0} + nosync))
    RSS_MAX[$tgt]=$(max "${RSS_MAX[$tgt]:-0}" "$rss_max" %.1f)
    [ "${COUNT[$tgt]:-$LINES}" != "$LINES" ] || COUNT[$tgt]=$count
    if [ -z "${RATE[$tgt]:-}" ] || [ "$rate" -gt "${RATE[$tgt]}" ]; then
        RATE[$tgt]=$rate STATE[$tgt]=$state SENT[$tgt]=$sent RDONE[$tgt]=$rdone
        RTOTAL[$tgt]=$rtotal RNOW[$tgt]=$rnow RATE_MAX[$tgt]=$rate_max WALL[$tgt]=$wall
        JOB_S[$tgt]=$(calc "printf \"%.2f\", ($finished - $created) / 1000")
        CPU[$tgt]=$(calc "printf \"%.2f\", $c1 - $c0")
        BASE_CPU[$tgt]=$(calc "printf \"%.2f\", $BASE_CPU_PER_S * $ctl_s")
        TCPU[$tgt]=$tcpu KCPU[$tgt]=$kcpu RSS_BEFORE[$tgt]=$rss_before
    fi
}
# Each round, within a minute: the quiet direct rates (the yardstick; the relay idle),
# then with the live load running through the relay to all three clusters the direct
# rates again (what each TSDB manages under the conditions the replays meet) and the
# replays. The host's speed drifts over minutes, so the rounds interleave them.
for ((round = 1; round <= ROUNDS; round++)); do
    direct_vm vmdirect
    keep_best direct/vm
    direct_influx bench_direct check
    keep_best direct/influx
    live_start
    direct_vm vmload
    keep_best loaded/vm
    direct_influx bench_load
    keep_best loaded/influx
    for tgt in vm influx; do replay_round "$tgt" "$round"; done
    live_stop
done
LIVE_LPS=$(calc "printf \"%.0f\", ($LIVE_SECS > 0 ? $LIVE_LINES / $LIVE_SECS : 0)")
[ "$LIVE_BAD" = 0 ] && [ "$LIVE_ERR" = 0 ] ||
    BROKEN+=("live load: $LIVE_BAD requests not answered 204, $LIVE_ERR failed")
# VmHWM is only brought up to date when memory is unmapped: the samples may be higher.
R_HWM=$(calc "h = $(hwm_mb "$RELAY_PID"); if (${RSS_MAX[vm]} > h) h = ${RSS_MAX[vm]}; if (${RSS_MAX[influx]} > h) h = ${RSS_MAX[influx]}; printf \"%.1f\", h")
R_RSS=$(rss_mb "$RELAY_PID")
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" >"$TSR_TMP/relay-status.json"
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/metrics" >"$TSR_TMP/relay-metrics.txt"
stop_relay
[ "$RELAY_EXIT" = 0 ] || BROKEN+=("tsrelay exited $RELAY_EXIT on SIGTERM")

# ============================ table ===================================================
pct() { num "$1" && num "$2" && calc "if ($2 > 0) printf \"%.0f%%\", 100 * $1 / $2; else printf \"-\"" || echo -; }
row() { printf '%-44s %12s %12s   %-10s %s\n' "$@"; }
met2() { printf '%s / %s' "$(met "$1")" "$(met "$2")"; }

[ -z "${BENCH_REPLAY_CLUSTER_KEYS:-}" ] || printf '\ncluster keys: %s' "$BENCH_REPLAY_CLUSTER_KEYS"
printf '\nreplay: %s lines into the relay at %s lines/s in [%s, %s),\n' \
    "$LINES" "$ING_LPS" "$(rfc3339 "$T0")" "$(rfc3339 "$T1")"
printf 'all 3 clusters in sync %ss later. %s rounds of: each TSDB written directly (quiet,\n' \
    "$SYNC_S" "$ROUNDS"
printf 'and with the live load); each target wiped (vm: %s;\n' "${WIPE[vm]}"
printf 'influx: %s) and replayed with --rate %s while ~%s lines/s of live\n' \
    "${WIPE[influx]}" "$REPLAY_RATE" "$LIVE_RATE"
printf 'load went into the relay. Rates and the figures beside them are of the fastest\n'
printf 'round; lag, RSS and counts of the worst.\n\n'
row "" vm influx target "met (vm / influx)"
row "direct ingest lines/s (loadgen -> TSDB)" "${BEST[direct/vm]}" "${BEST[direct/influx]}" "" ""
row "replay points_sent" "${SENT[vm]}" "${SENT[influx]}" "$LINES" ""
row "replay records_done / records_total" "${RDONE[vm]}/${RTOTAL[vm]}" \
    "${RDONE[influx]}/${RTOTAL[influx]}" "" ""
row "replay wall s (tsrelayctl start -> done)" "${WALL[vm]}" "${WALL[influx]}" "" ""
row "replay points/s (points_sent / wall s)" "${RATE[vm]}" "${RATE[influx]}" "" ""
row "  rate_now at the end / max seen" "${RNOW[vm]}/${RATE_MAX[vm]}" \
    "${RNOW[influx]}/${RATE_MAX[influx]}" "" ""
row "  replay / direct" "$(pct "${RATE[vm]}" "${BEST[direct/vm]}")" \
    "$(pct "${RATE[influx]}" "${BEST[direct/influx]}")" ">= 80%" \
    "$(met2 "${RATE[vm]} >= 0.8 * ${BEST[direct/vm]}" "${RATE[influx]} >= 0.8 * ${BEST[direct/influx]}")"
row "direct lines/s with the live load running" "${BEST[loaded/vm]}" "${BEST[loaded/influx]}" "" ""
row "  replay / that" "$(pct "${RATE[vm]}" "${BEST[loaded/vm]}")" \
    "$(pct "${RATE[influx]}" "${BEST[loaded/influx]}")" "" ""
row "live cluster max lag s during the replay" "${LAG_MAX[vm]}" "${LAG_MAX[influx]}" "< 2" \
    "$(met2 "${LAG_MAX[vm]} >= 0 && ${LAG_MAX[vm]} < 2" "${LAG_MAX[influx]} >= 0 && ${LAG_MAX[influx]} < 2")"
row "  mean lag s / samples not in_sync" "${LAG_MEAN[vm]}/${NOSYNC[vm]}" \
    "${LAG_MEAN[influx]}/${NOSYNC[influx]}" "" ""
row "relay CPU s during the replay" "${CPU[vm]}" "${CPU[influx]}" "" ""
row "  of which live load alone would be ~" "${BASE_CPU[vm]}" "${BASE_CPU[influx]}" "" ""
row "TSDB CPU s: direct / loaded direct" "${BEST_CPU[direct/vm]} / ${BEST_CPU[loaded/vm]}" \
    "${BEST_CPU[direct/influx]} / ${BEST_CPU[loaded/influx]}" "" ""
row "TSDB CPU s during the replay (incl. live)" "${TCPU[vm]}" "${TCPU[influx]}" "" ""
row "Kafka broker CPU s during the replay" "${KCPU[vm]}" "${KCPU[influx]}" "" ""
row "relay RSS MiB just before the replay" "${RSS_BEFORE[vm]}" "${RSS_BEFORE[influx]}" "" ""
row "relay RSS MiB, largest during the replay" "${RSS_MAX[vm]}" "${RSS_MAX[influx]}" "" ""
row "points of the range in the target after" "${COUNT[vm]}" "${COUNT[influx]}" "$LINES" \
    "$(met2 "${COUNT[vm]} == $LINES" "${COUNT[influx]} == $LINES")"
printf '\nlines/s of every round:\n'
for k in direct/vm loaded/vm replay/vm direct/influx loaded/influx replay/influx; do
    printf '  %-14s %s\n' "$k" "${ROUND_RATES[$k]}"
done
printf 'relay peak RSS (VmHWM or a larger sample; whole run incl. the ingest) %s MiB, %s MiB at the end.\n' "$R_HWM" "$R_RSS"
printf 'live load: %s lines in %s s (%s lines/s); alone (5 s before the replays) the live\n' \
    "$LIVE_LINES" "$LIVE_SECS" "$LIVE_LPS"
printf 'cluster lagged at most %s s and the relay used %s CPU-s/s.\n' "$BASE_LAG" "$BASE_CPU_PER_S"
printf 'replay wall s runs from the start of tsrelayctl to the job'"'"'s finished_ms (the job'"'"'s own\n'
printf 'created -> finished: vm %s s, influx %s s).\n' "${JOB_S[vm]}" "${JOB_S[influx]}"
if [ "$PIN" = 1 ]; then
    printf 'The TSDB measured had CPU 1 to itself, direct and replay alike; loadgen, Kafka, the\n'
    printf 'relay, the live load and the other TSDBs shared CPU 0. The target also took the live\n'
    printf 'load during its replay (its TSDB CPU s above include it).\n'
else
    printf 'BENCH_REPLAY_PIN=0: the 2 cores were shared. The direct rates had them to themselves,\n'
    printf 'the replays shared them with Kafka, the relay, the live load and the other TSDBs.\n'
fi

if [ ${#BROKEN[@]} -gt 0 ]; then
    printf '%s\n' "${BROKEN[@]}" >&2
    fail "${BROKEN[0]}"
fi
