#!/usr/bin/env bash
# bench/e2e.sh — the end-to-end benchmark (`make bench`, after bench/run.sh).
#
# Same machine, same run, same 1,000,000 distinct 3-field points over 10,000 series
# (loadgen -d -S 10000, 1 ms apart, 5,000-line requests over 2 connections), delivered
# to TWO VictoriaMetrics instances, one of which is down during the whole ingest and
# comes back afterwards. Each part first sends a warm-up of 100,000 other distinct
# points (lines 0..99,999, the same series; the measured ones are 100,000 on) with both
# instances up, not measured:
#
#   direct   loadgen straight into a fresh VictoriaMetrics's /write: the TSDB's own
#            ingest rate, the yardstick for catch-up rates.
#   tsrelay  relay -> Kafka -> clusters vm1, vm2 (type victoriametrics), twice, each
#            with a topic of its own and fresh relay state and VictoriaMetrics data, on
#            one Kafka broker warmed up first (BENCH_E2E_BROKER_WARMUP lines, 2,000,000,
#            through a relay without clusters into a topic of their own):
#            - gzip: the clusters at their defaults (compression gzip): what users run,
#              the headline;
#            - none: the same with compression: none.
#            vm2 is stopped (SIGTERM) before the ingest; once vm1 has every point vm2 is
#            started again, and the script times, polling /status and
#            /clusters/vm2/ready every 100 ms from before the restart:
#            - catch-up start: first increase of vm2's points_delivered;
#            - every point: vm2's partition positions reach vm1's (points_delivered
#              alone is fooled by points sent twice);
#            - ready for good: /clusters/vm2/ready 200 from then on, once nothing has
#              been delivered for 3 s (a resend after the catch-up belongs to the job);
#            catch-up s = the later of the last two; the rate while catching up runs
#            from the last poll before the first delivery to every point (the issue
#            bounds the start delay and the rate separately); points sent beyond the backlog
#            (duplicates) and ready answering 200 too early are reported.
#   vmagent  Debian's vmagent with two -remoteWrite.url, fresh VictoriaMetrics data,
#            the same outage; catch-up is timed on VM #2's own row counter
#            (vm_rows_added_to_storage_total, 3 rows per line), the analogue of
#            points_delivered; vmagent retries with backoff up to about a minute.
#
# Recorded for each: process CPU (utime+stime from /proc) from just before the ingest
# until catch-up is over, Kafka broker CPU likewise (tsrelay), peak RSS (VmHWM, reset
# through /proc/PID/clear_refs just before the ingest), the largest RSS sampled while
# vm2's backlog builds up (ingest until vm2 comes back), and the RSS once everything is
# delivered ("steady"). One table, a column per job, ratios to vmagent. At the end both
# VictoriaMetrics instances of every job must hold exactly WARMUP + LINES samples of
# bench_f1 (counted with /api/v1/export, deduplicated by -dedup.minScrapeInterval=1ms: a
# series' points are SERIES ms apart, so all are distinct); a mismatch exits 1 after the
# table.
#
# BENCH_E2E_LINES (default 1,000,000) sets the volume, BENCH_E2E_SERIES (10,000) the
# series, BENCH_E2E_WARMUP (100,000; 0 for none) the warm-up; BENCH_E2E_CATCHUP_TIMEOUT
# (300 s) bounds each catch-up; BENCH_E2E_CLUSTER_KEYS adds cluster keys to both
# clusters of both relay jobs, e.g. BENCH_E2E_CLUSTER_KEYS='max_inflight: 8,
# catchup_rate: 200000' (comma-separated; not compression, which the jobs set);
# BENCH_E2E_JOBS ("gzip none vmagent") picks the jobs (a left-out one shows as "-").
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/forward.sh"

LINES=${BENCH_E2E_LINES:-1000000}
SERIES=${BENCH_E2E_SERIES:-10000}
WARMUP=${BENCH_E2E_WARMUP:-100000}
BROKER_WARMUP=${BENCH_E2E_BROKER_WARMUP:-2000000}
TOTAL=$((WARMUP + LINES)) # points each cluster holds at the end
CATCHUP_TIMEOUT=${BENCH_E2E_CATCHUP_TIMEOUT:-300}
JOBS=${BENCH_E2E_JOBS:-gzip none vmagent}
has_job() { [[ " $JOBS " == *" $1 "* ]]; }
STEP_NS=1000000 # 1 ms between points: VictoriaMetrics stores milliseconds
FIELDS=3        # loadgen's lines carry f1, f2, f3: VictoriaMetrics counts 3 rows each
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"
now() { date +%s.%N; }
# per_s N SECONDS: N / SECONDS, rounded; 0 if SECONDS is not positive.
per_s() { calc "s = $2; if (s > 0) printf \"%.0f\", ($1) / s; else printf \"-\""; }

# --- the poller: one Python process per phase, polling in-process every 100 ms -------
# It writes READY after its first sample (taken before anything is restarted), records
# absolute times, and relates them at the end to the epoch seconds in T0FILE, which the
# script writes just before it restarts the cluster. Times are -1 if never seen.
POLL=$TSR_TMP/poll.py
cat >"$POLL" <<'PY'
"""rss PID WATCH_PID     max VmRSS MiB of PID while WATCH_PID runs
relay ADMIN CLUSTER REF N QUIET TIMEOUT PID READY T0FILE TRACE
    until CLUSTER holds everything (each partition position at REF's, or N points
    delivered in all if REF is -), /clusters/CLUSTER/ready is 200 and points_delivered has not
    moved for QUIET s; prints: first_delivery ready(final streak) all d0 d_all d_end
    max_rss flaps last_delivery before_first (the last sample without a delivery)
vm URL ROWS TIMEOUT PID READY T0FILE
    until VictoriaMetrics at URL (a fresh process, counting from 0) added ROWS rows;
    prints: first all rows max_rss"""
import json, os, sys, time, urllib.error, urllib.request

from procstat import rss


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except Exception:
        return 0, ""


def vm_rows(url):
    code, body = get(url + "/metrics")
    if code != 200:
        return None
    for l in body.splitlines():
        if l.startswith("vm_rows_added_to_storage_total "):
            return int(float(l.split()[1]))
    return None


def touch(path):
    with open(path, "w") as f:
        f.write("1\n")


def rel(t, t0):
    return -1 if t is None else round(t - t0, 2)


def read_t0(path, default):
    """T0 as the script wrote it (just after READY; the poller may finish first)."""
    for _ in range(100):
        try:
            with open(path) as f:
                return float(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.1)
    return default


def wait_tick(t):
    time.sleep(max(0.0, 0.1 - (time.time() - t)))


mode = sys.argv[1]
if mode == "rss":
    pid, watch = sys.argv[2], sys.argv[3]
    m = rss(pid)
    while alive(watch):
        m = max(m, rss(pid))
        time.sleep(0.1)
    print(f"{max(m, rss(pid)):.1f}")
    sys.exit(0)

if mode == "relay":
    admin, name, ref, n, quiet, timeout, pid, ready_file, t0_file, trace_file = sys.argv[2:12]
    n, quiet, timeout = int(n), float(quiet), float(timeout)
    base = f"http://127.0.0.1:{admin}"
    start = time.time()
    ends = d0 = first = before_first = ready_t = all_t = last_change = prev_t = None
    d_all, d, flaps, max_rss, was_ready = 0, 0, 0, 0.0, False
    trace = open(trace_file, "a")
    while True:
        t = time.time()
        max_rss = max(max_rss, rss(pid))
        code, body = get(base + "/status")
        ready = get(f"{base}/clusters/{name}/ready")[0] == 200
        if code == 200:
            cl = {c["name"]: c for c in json.loads(body)["clusters"]}
            c = cl[name]
            pos = [p["position"] for p in c["partitions"]]
            if d0 is None:
                d0 = d = c["points_delivered"]
                if ref != "-":
                    ends = [p["position"] for p in cl[ref]["partitions"]]
                touch(ready_file)
            if c["points_delivered"] != d:
                last_change = t
                if first is None:
                    first, before_first = t, prev_t
            d = c["points_delivered"]
            complete = all(a >= b for a, b in zip(pos, ends)) if ends else d >= n
            if all_t is None and complete:
                all_t, d_all = t, d
            trace.write(f"{t:.3f} {c['state']} ready={int(ready)} delivered={d} "
                        f"lag_s={c['lag_seconds']} lag_records={c['lag_records']} "
                        f"positions={pos} high={[p['high'] for p in c['partitions']]}\n")
        prev_t = t
        if ready and not was_ready:
            ready_t = t
        elif was_ready and not ready:
            flaps += 1
        was_ready = ready
        if (all_t is not None and ready and
                t - (last_change if last_change is not None else start) >= quiet):
            break
        if t - start > timeout or not alive(pid):
            break
        wait_tick(t)
    done = all_t is not None and ready
    t0 = read_t0(t0_file, start)
    # A 200 that came and went before the cluster held everything is a flap, not the end.
    print(rel(first, t0), rel(ready_t if done else None, t0), rel(all_t, t0), d0 or 0, d_all, d,
          f"{max_rss:.1f}", flaps, rel(last_change, t0), rel(before_first, t0))
    sys.exit(0 if done else 2)

if mode == "vm":
    url, rows, timeout, pid, ready_file, t0_file = sys.argv[2:8]
    rows, timeout = int(rows), float(timeout)
    start = time.time()
    first = done = None
    r, max_rss = 0, 0.0
    touch(ready_file)
    while True:
        t = time.time()
        max_rss = max(max_rss, rss(pid))
        v = vm_rows(url)
        if v is not None:
            r = v
            if first is None and r > 0:
                first = t
            if r >= rows:
                done = t
                break
        if t - start > timeout or not alive(pid):
            break
        wait_tick(t)
    t0 = read_t0(t0_file, start)
    print(rel(first, t0), rel(done, t0), r, f"{max_rss:.1f}")
    sys.exit(0 if done is not None else 2)
PY

# --- VictoriaMetrics instances (bench/lib.sh: the harness's flags, dedup at 1 ms) ------
# vm_rows NAME: the instance's vm_rows_added_to_storage_total (since its start), or 0.
vm_rows()
{
    curl -sf -m 2 "$(vm_url "$1")/metrics" 2>/dev/null |
        awk '$1 == "vm_rows_added_to_storage_total" { n = $2 } END { printf "%d", n }'
}

# loadgen_args FIRST COUNT: loadgen's arguments for COUNT distinct lines from line FIRST.
loadgen_args()
{
    LG_ARGS=(-u "/write?db=bench" -n "$2" -o "$1" -b 5000 -c 2 -d -s "$STEP_NS" -S "$SERIES")
}

# warmup PORT: the WARMUP lines 0..WARMUP-1 into PORT (not measured; none if 0).
warmup()
{
    local out
    [ "$WARMUP" -gt 0 ] || return 0
    loadgen_args 0 "$WARMUP"
    out=$("$LOADGEN" -p "$1" "${LG_ARGS[@]}" 2>&1) || fail "warm-up into port $1: $out"
    log "warm-up: $out"
}

# ingest PORT PID: loadgen the LINES measured lines (WARMUP..TOTAL-1) into PORT's
# /write while sampling PID's RSS; sets ING_LPS (lines/s) and ING_RSS (largest RSS, MiB).
ingest()
{
    local port=$1 pid=$2 lg out
    loadgen_args "$WARMUP" "$LINES"
    "$LOADGEN" -p "$port" "${LG_ARGS[@]}" >"$TSR_TMP/loadgen.out" 2>&1 &
    lg=$!
    track_pid "$lg" loadgen
    ING_RSS=$(python3 "$POLL" rss "$pid" "$lg")
    wait "$lg" || {
        [ "$pid" != "${RELAY_PID:-}" ] || relay_died "during the ingest"
        fail "loadgen into port $port: $(cat "$TSR_TMP/loadgen.out")"
    }
    unset "TSR_PIDS[$lg]"
    out=$(cat "$TSR_TMP/loadgen.out")
    ING_LPS=${out#*lines_per_s=}
    ING_LPS=${ING_LPS%% *}
    log "ingest: $out"
}

BROKEN=()

# relay_died WHEN: if tsrelay is gone, fail saying how it ended.
relay_died()
{
    alive "$RELAY_PID" && return 0
    local rc=0
    wait "$RELAY_PID" || rc=$?
    unset "TSR_PIDS[$RELAY_PID]"
    if [ "$rc" -gt 128 ]; then
        fail "tsrelay died $1: killed by signal $((rc - 128)) ($(kill -l $((rc - 128)))); relay log: $RELAY_LOG"
    fi
    fail "tsrelay exited $1 with status $rc"
}

# catchup_poll NAME ARGS...: start the poller (mode and arguments up to PID) in the
# background, wait for its first sample, then write T0 (now) for it; sets POLLER, T0.
catchup_poll()
{
    local name=$1 i
    shift
    rm -f "$TSR_TMP/$name.ready" "$TSR_TMP/$name.t0"
    python3 "$POLL" "$@" "$TSR_TMP/$name.ready" "$TSR_TMP/$name.t0" "${TRACE[@]}" \
        >"$TSR_TMP/$name.out" &
    POLLER=$!
    track_pid "$POLLER" poller
    for ((i = 0; i < 300; i++)); do
        [ ! -e "$TSR_TMP/$name.ready" ] && alive "$POLLER" || break
        sleep 0.02
    done
    T0=${T0_AT:-$(now)}
    echo "$T0" >"$TSR_TMP/$name.t0"
}

# catchup_wait NAME: wait for the poller; its status, its line in CATCHUP.
catchup_wait()
{
    local rc=0
    wait "$POLLER" || rc=$?
    unset "TSR_PIDS[$POLLER]"
    CATCHUP=$(cat "$TSR_TMP/$1.out")
    return "$rc"
}

# Every job's figures: J[JOB:KEY], JOB gzip, none (tsrelay) or vmagent.
declare -A J=()

# ============================ direct ==================================================
log "direct: $LINES lines straight into VictoriaMetrics (after a warm-up of $WARMUP)"
vm_start vmdirect
warmup "${VMPORT[vmdirect]}"
ingest "${VMPORT[vmdirect]}" "${VMPID[vmdirect]}"
DIRECT_LPS=$ING_LPS
vm_stop vmdirect
rm -rf "$TSR_TMP/vmdirect"

# ============================ tsrelay =================================================
# relay_job JOB 'YAML LINES': a topic of its own (e2e-JOB), fresh relay state and
# VictoriaMetrics instances JOB-vm1, JOB-vm2 as clusters vm1, vm2 (each with the YAML
# lines, then BENCH_E2E_CLUSTER_KEYS); the outage; figures into J[JOB:...].
relay_job()
{
    local job=$1 keys=$2$(cluster_keys "${BENCH_E2E_CLUSTER_KEYS:-}") i v1 v2
    local vm1=$job-vm1 vm2=$job-vm2 r_c0 r_c1 k_c0 k_c1 vm1_ready vm1_all rss_wait
    local r_d0 r_dall r_dend n1 n2
    rm -rf "$TSR_TMP/state"
    RELAY_TOPIC=e2e-$job
    vm_start "$vm1"
    vm_start "$vm2"
    relay_config "clusters:
  - name: vm1
    type: victoriametrics
    urls: [$(vm_url "$vm1")]$keys
  - name: vm2
    type: victoriametrics
    urls: [$(vm_url "$vm2")]$keys"
    # Consumer groups of its own too: the previous job's relay is still the groups' static
    # member for its topic until its session times out (docs/fleet.md).
    sed -i "s/^datacenter: .*/datacenter: e2e-$job/" "$TSR_TMP/relay.yaml"
    cp "$TSR_TMP/relay.yaml" "$TSR_TMP/relay-$job.yaml"
    start_relay
    wait_cluster_ready vm1 30 || fail "$job: vm1 not in sync at start: $(cluster_field vm1 reason)"
    wait_cluster_ready vm2 30 || fail "$job: vm2 not in sync at start: $(cluster_field vm2 reason)"

    if [ "$WARMUP" -gt 0 ]; then
        warmup "$RELAY_HTTP_PORT"
        for ((i = 0; i < 1200; i++)); do
            v1=$(cluster_field vm1 points_delivered)
            v2=$(cluster_field vm2 points_delivered)
            [ "$v1" -lt "$WARMUP" ] || [ "$v2" -lt "$WARMUP" ] || break
            sleep 0.1
        done
        [ "$i" -lt 1200 ] || fail "$job: warm-up not delivered in 120 s (vm1 $v1, vm2 $v2 points)"
        wait_cluster_ready vm2 30 || fail "$job: vm2 not in sync after the warm-up"
        log "tsrelay $job: warm-up delivered (vm1 $v1, vm2 $v2 points)"
    fi
    J[$job:rss_idle]=$(rss_mb "$RELAY_PID")

    log "tsrelay $job: stopping vm2"
    vm_stop "$vm2"
    for ((i = 0; i < 150; i++)); do
        [ "$(cluster_ready vm2)" = 503 ] && break
        sleep 0.1
    done
    log "tsrelay $job: vm2 is $(cluster_field vm2 state)"

    hwm_reset "$RELAY_PID" # VmHWM from here on: the measured job's peak
    r_c0=$(cpu_s "$RELAY_PID")
    k_c0=$(cpu_s "$KAFKA_PID")
    log "tsrelay $job: $LINES lines"
    ingest "$RELAY_HTTP_PORT" "$RELAY_PID"
    J[$job:lps]=$ING_LPS
    TRACE=("$TSR_TMP/relay-trace-$job-vm1.txt")
    T0_AT=$(now) catchup_poll "poll-$job-vm1" relay "$RELAY_ADMIN_PORT" vm1 - "$TOTAL" 0 \
        "$CATCHUP_TIMEOUT" "$RELAY_PID"
    catchup_wait "poll-$job-vm1" || {
        relay_died "while vm1 caught up with the ingest"
        fail "$job: vm1 not in sync with $TOTAL points within ${CATCHUP_TIMEOUT}s ($CATCHUP): $(cluster_field vm1 reason)"
    }
    read -r _ vm1_ready vm1_all _ _ _ rss_wait _ _ _ <<<"$CATCHUP"
    J[$job:vm1_sync]=$(calc "printf \"%.2f\", ($vm1_ready > $vm1_all ? $vm1_ready : $vm1_all)")
    J[$job:rss_backlog]=$(calc "printf \"%.1f\", ($ING_RSS > $rss_wait ? $ING_RSS : $rss_wait)")
    log "tsrelay $job: vm1 in sync ${J[$job:vm1_sync]}s after the ingest; vm2 lag $(cluster_field vm2 lag_points) points, relay RSS $(rss_mb "$RELAY_PID") MiB"

    log "tsrelay $job: starting vm2 again"
    # Done when vm2's partition positions reach vm1's (every record delivered), its ready
    # is 200 and nothing was delivered for 3 s: a resend after the catch-up is part of
    # the job.
    TRACE=("$TSR_TMP/relay-trace-$job-vm2.txt")
    catchup_poll "poll-$job-vm2" relay "$RELAY_ADMIN_PORT" vm2 vm1 "$TOTAL" 3 "$CATCHUP_TIMEOUT" \
        "$RELAY_PID"
    vm_start "$vm2"
    J[$job:vm2_up]=$(calc "printf \"%.2f\", $(now) - $T0")
    catchup_wait "poll-$job-vm2" || {
        relay_died "during vm2's catch-up"
        fail "$job: vm2 not caught up within ${CATCHUP_TIMEOUT}s ($CATCHUP): $(cluster_field vm2 reason)"
    }
    read -r "J[$job:first]" "J[$job:ready]" "J[$job:all]" r_d0 r_dall r_dend _ "J[$job:flaps]" \
        "J[$job:last]" "J[$job:send0]" <<<"$CATCHUP"
    r_c1=$(cpu_s "$RELAY_PID")
    k_c1=$(cpu_s "$KAFKA_PID")
    J[$job:hwm]=$(hwm_mb "$RELAY_PID")
    J[$job:backlog]=$((TOTAL - r_d0))
    J[$job:dup]=$((r_dend - r_d0 - ${J[$job:backlog]}))
    J[$job:sent]=$(calc "printf \"%.2f\", ($r_dend - $r_d0) / ${J[$job:backlog]}")
    log "tsrelay $job: vm2 caught up: first delivery ${J[$job:first]}s, every point ${J[$job:all]}s, ready (for good) ${J[$job:ready]}s, last delivery ${J[$job:last]}s; delivered to vm2 $r_d0 -> $r_dall (when complete) -> $r_dend; ready lost ${J[$job:flaps]} time(s)"
    sleep 2
    J[$job:rss_steady]=$(rss_mb "$RELAY_PID")
    J[$job:cpu]=$(calc "printf \"%.3f\", ($r_c1 - $r_c0) * 1e6 / $LINES")
    J[$job:kafka]=$(calc "printf \"%.3f\", ($k_c1 - $k_c0) * 1e6 / $LINES")
    J[$job:total]=$(calc "printf \"%.3f\", ${J[$job:cpu]} + ${J[$job:kafka]}")
    J[$job:catchup]=$(calc "printf \"%.2f\", (${J[$job:ready]} > ${J[$job:all]} ? ${J[$job:ready]} : ${J[$job:all]})")
    J[$job:rate]=$(per_s "${J[$job:backlog]}" "${J[$job:catchup]}")
    # From the last sample before anything was delivered: the first batch's time counts.
    J[$job:rate_send]=$(per_s "${J[$job:backlog]}" "${J[$job:all]} - ${J[$job:send0]}")
    curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" >"$TSR_TMP/relay-status-$job.json"
    curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/metrics" >"$TSR_TMP/relay-metrics-$job.txt"

    n1=$(vm_count "$vm1")
    n2=$(vm_count "$vm2")
    J[$job:n]="$n1 / $n2"
    log "tsrelay $job: bench_f1 samples: vm1 $n1, vm2 $n2"
    [ "$n1" = "$TOTAL" ] || BROKEN+=("tsrelay $job: vm1 holds $n1 samples of bench_f1, want $TOTAL")
    [ "$n2" = "$TOTAL" ] || BROKEN+=("tsrelay $job: vm2 holds $n2 samples of bench_f1, want $TOTAL")
    stop_relay
    [ "$RELAY_EXIT" = 0 ] || BROKEN+=("tsrelay $job exited $RELAY_EXIT on SIGTERM")
    mv "$RELAY_LOG" "$TSR_TMP/relay-$job.log"
    vm_stop "$vm1"
    vm_stop "$vm2"
    rm -rf "$TSR_TMP/$vm1" "$TSR_TMP/$vm2"
}

# One broker for both relay jobs, warmed up first: a broker fresh from its start spends
# several times as much CPU per line while its JIT compiles (bench/run.sh's first row),
# which a deployment's long-running broker does not.
broker_warmup()
{
    local out
    RELAY_TOPIC=e2e-warmup
    rm -rf "$TSR_TMP/state"
    relay_config
    start_relay
    out=$("$LOADGEN" -p "$RELAY_HTTP_PORT" -u "/write?db=bench" -n "$BROKER_WARMUP" -b 5000 -c 2 \
        -S "$SERIES" 2>&1) || fail "broker warm-up: $out"
    log "broker warm-up: $out"
    stop_relay
    mv "$RELAY_LOG" "$TSR_TMP/relay-warmup.log"
}
if has_job gzip || has_job none; then
    start_kafka
    [ "$BROKER_WARMUP" -le 0 ] || broker_warmup
    # The headline job: the clusters at the relay's defaults (compression gzip).
    ! has_job gzip || relay_job gzip ""
    ! has_job none || relay_job none $'\n    compression: none'
    stop_kafka
fi

# ============================ vmagent =================================================
if has_job vmagent; then
    # Fresh data, so the counters and counts start at 0.
    vm_start vm1b
    vm_start vm2b
    VMAGENT_PORT=$(free_port)
    spawn vmagent vmagent -httpListenAddr="127.0.0.1:$VMAGENT_PORT" \
        -remoteWrite.url="$(vm_url vm1b)/api/v1/write" -remoteWrite.url="$(vm_url vm2b)/api/v1/write" \
        -remoteWrite.tmpDataPath="$TSR_TMP/vmagent" -loggerLevel=WARN
    VMAGENT_PID=$SPAWN_PID
    wait_http "http://127.0.0.1:$VMAGENT_PORT/health" 30
    if [ "$WARMUP" -gt 0 ]; then
        warmup "$VMAGENT_PORT"
        for ((i = 0; i < 1200; i++)); do
            [ "$(vm_rows vm1b)" -lt $((WARMUP * FIELDS)) ] ||
                [ "$(vm_rows vm2b)" -lt $((WARMUP * FIELDS)) ] || break
            sleep 0.1
        done
        [ "$i" -lt 1200 ] || fail "vmagent: warm-up not delivered in 120 s (rows: VM #1 $(vm_rows vm1b), VM #2 $(vm_rows vm2b))"
        log "vmagent: warm-up delivered"
    fi
    J[vmagent:rss_idle]=$(rss_mb "$VMAGENT_PID")

    log "vmagent: stopping VM #2"
    vm_stop vm2b
    hwm_reset "$VMAGENT_PID"
    v_c0=$(cpu_s "$VMAGENT_PID")
    log "vmagent: $LINES lines"
    ingest "$VMAGENT_PORT" "$VMAGENT_PID"
    J[vmagent:lps]=$ING_LPS
    TRACE=()
    # VM #1 runs on (its counter includes the warm-up); VM #2 is a new process (from 0).
    T0_AT=$(now) catchup_poll poll-vm1b vm "$(vm_url vm1b)" $((TOTAL * FIELDS)) "$CATCHUP_TIMEOUT" "$VMAGENT_PID"
    catchup_wait poll-vm1b ||
        fail "vmagent: VM #1 did not get $TOTAL lines within ${CATCHUP_TIMEOUT}s ($CATCHUP)"
    read -r _ vm1_done _ rss_wait <<<"$CATCHUP"
    J[vmagent:vm1_sync]=$vm1_done
    J[vmagent:rss_backlog]=$(calc "printf \"%.1f\", ($ING_RSS > $rss_wait ? $ING_RSS : $rss_wait)")
    log "vmagent: VM #1 has every line ${vm1_done}s after the ingest; vmagent RSS $(rss_mb "$VMAGENT_PID") MiB"

    log "vmagent: starting VM #2 again"
    TRACE=()
    catchup_poll poll-vm2b vm "$(vm_url vm2b)" $((LINES * FIELDS)) "$CATCHUP_TIMEOUT" "$VMAGENT_PID"
    vm_start vm2b
    J[vmagent:vm2_up]=$(calc "printf \"%.2f\", $(now) - $T0")
    catchup_wait poll-vm2b ||
        fail "vmagent: VM #2 did not catch up within ${CATCHUP_TIMEOUT}s ($CATCHUP)"
    read -r V_FIRST V_ALL v_r1 _ <<<"$CATCHUP"
    v_c1=$(cpu_s "$VMAGENT_PID")
    J[vmagent:hwm]=$(hwm_mb "$VMAGENT_PID")
    log "vmagent: VM #2 caught up: first rows ${V_FIRST}s, all ${V_ALL}s (rows 0 -> $v_r1)"
    sleep 2
    J[vmagent:rss_steady]=$(rss_mb "$VMAGENT_PID")
    J[vmagent:cpu]=$(calc "printf \"%.3f\", ($v_c1 - $v_c0) * 1e6 / $LINES")
    J[vmagent:first]=$V_FIRST
    J[vmagent:all]=$V_ALL
    J[vmagent:rate]=$(per_s "$v_r1 / $FIELDS" "$V_ALL")
    J[vmagent:rate_send]=$(per_s "$v_r1 / $FIELDS" "$V_ALL - $V_FIRST")
    V_N1=$(vm_count vm1b)
    V_N2=$(vm_count vm2b)
    J[vmagent:n]="$V_N1 / $V_N2"
    log "vmagent: bench_f1 samples: VM #1 $V_N1, VM #2 $V_N2"
    [ "$V_N1" = "$TOTAL" ] || BROKEN+=("vmagent: VM #1 holds $V_N1 samples of bench_f1, want $TOTAL")
    [ "$V_N2" = "$TOTAL" ] || BROKEN+=("vmagent: VM #2 holds $V_N2 samples of bench_f1, want $TOTAL")
fi

# ============================ table ===================================================
# A figure that could not be measured is "-"; so is anything computed from it.
pct() { num "$1" && calc "printf \"%.0f%%\", 100 * $1 / $DIRECT_LPS" || echo -; }
row() { printf '%-40s %11s %11s %11s %8s %8s   %-22s %-4s %s\n' "$@"; }
# judge COND X V: met COND with X for a relay job's figure and V for vmagent's; "-" when
# a figure it needs is missing.
judge()
{
    local c=$1
    num "$2" || { echo -; return; }
    if [[ $c == *V* ]]; then num "${3:-}" || { echo -; return; }; fi
    c=${c//X/$2}
    met "${c//V/${3:-}}"
}
# jrow LABEL KEY [TARGET COND]: the three jobs' J[JOB:KEY], the ratios to vmagent, and
# whether each relay job meets TARGET (judge COND).
jrow()
{
    local g=${J[gzip:$2]:--} n=${J[none:$2]:--} v=${J[vmagent:$2]:--} mg= mn=
    if [ -n "${4:-}" ]; then
        mg=$(judge "$4" "$g" "$v")
        mn=$(judge "$4" "$n" "$v")
    fi
    row "$1" "$g" "$n" "$v" "$(ratio "$g" "$v")" "$(ratio "$n" "$v")" "${3:-}" "$mg" "$mn"
}

for job in gzip none vmagent; do
    J[$job:pct]=$(pct "${J[$job:rate]:--}")
    J[$job:pct_send]=$(pct "${J[$job:rate_send]:--}")
done
if has_job vmagent; then
    J[vmagent:total]=${J[vmagent:cpu]}
    J[vmagent:catchup]=${J[vmagent:all]}
    J[vmagent:last]=${J[vmagent:all]}
    J[vmagent:sent]=1.00
fi

[ -z "${BENCH_E2E_CLUSTER_KEYS:-}" ] || printf '\ncluster keys: %s' "$BENCH_E2E_CLUSTER_KEYS"
printf '\nend to end: %s lines (after a warm-up of %s), %s series, 2 clusters, cluster #2 down\n' \
    "$LINES" "$WARMUP" "$SERIES"
printf 'during the ingest; direct VictoriaMetrics ingest %s lines/s\n\n' "$DIRECT_LPS"
row "" tsrelay tsrelay vmagent ratio ratio "target (tsrelay)" met met
row "" "gzip (dflt)" "comp. none" "" "gzip/vma" "none/vma" "" gzip none
jrow "ingest lines/s (loadgen)" lps
jrow "CPU-us per line (process, whole job)" cpu "<= 1/3 of vmagent" "X * 3 <= V"
jrow "Kafka broker CPU-us per line" kafka
jrow "CPU-us per line incl. broker" total "<= vmagent" "X <= V"
jrow "RSS idle MiB (before ingest)" rss_idle
jrow "RSS MiB, largest while backlog builds" rss_backlog "<= 128" "X <= 128"
jrow "peak RSS MiB (VmHWM, whole job)" hwm "<= 128" "X <= 128"
jrow "steady RSS MiB (all delivered)" rss_steady "<= 64" "X <= 64"
jrow "healthy cluster complete after ingest s" vm1_sync
jrow "cluster #2 restart -> /health 200 s" vm2_up
jrow "catch-up start delay s" first "<= 2" "X >= 0 && X <= 2"
jrow "cluster #2 holds every point s" all
jrow "/clusters/vm2/ready 200 for good s" ready
jrow "catch-up s (both of the above)" catchup
jrow "last delivery to cluster #2 s" last
jrow "points sent to cluster #2 / backlog" sent "1.00" "X == 1"
jrow "catch-up rate points/s (restart->every)" rate
jrow "  % of direct rate" pct
jrow "rate while catching up (start->every)" rate_send
row "  % of direct rate" "${J[gzip:pct_send]}" "${J[none:pct_send]}" "${J[vmagent:pct_send]}" "" "" \
    ">= 80%" "$(judge "X >= 0.8 * $DIRECT_LPS" "${J[gzip:rate_send]:--}")" \
    "$(judge "X >= 0.8 * $DIRECT_LPS" "${J[none:rate_send]:--}")"
printf '\nTimes from the restart of cluster #2. "holds every point": vm2 partition positions reach\n'
printf 'vm1s (vmagent: VM #2 added every row). catch-up rate = the backlog (points cluster #2\n'
printf 'missed) / catch-up s, VictoriaMetrics start included. The target is judged on the rate\n'
printf 'while catching up: from the last poll before the first delivery to every point (the start\n'
printf 'delay has its own target). ratio = tsrelay job / vmagent. Every cluster must hold %s\n' "$TOTAL"
printf 'samples of bench_f1 (the warm-up and the measured lines): gzip vm1 / vm2 %s, none %s,\n' \
    "${J[gzip:n]:--}" "${J[none:n]:--}"
printf 'vmagent VM #1 / VM #2 %s\n' "${J[vmagent:n]:--}"
for job in gzip none; do
    has_job "$job" || continue
    [ "${J[$job:flaps]}" = 0 ] ||
        printf 'note: %s: /clusters/vm2/ready answered 200 and then 503 again %s time(s) after the restart\n' \
            "$job" "${J[$job:flaps]}"
    [ "${J[$job:dup]}" -le 0 ] ||
        printf 'note: %s: tsrelay sent %s points to vm2 more than once (a backlog of %s)\n' \
            "$job" "${J[$job:dup]}" "${J[$job:backlog]}"
done

if [ ${#BROKEN[@]} -gt 0 ]; then
    printf '%s\n' "${BROKEN[@]}" >&2
    fail "${BROKEN[0]}"
fi
