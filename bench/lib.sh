# bench/lib.sh — what the benchmarks share (sourced after tests/lib/harness.sh).
#
#   cpu_s PID / hwm_mb PID / rss_mb PID   CPU seconds (utime+stime), peak and current RSS
#   hwm_reset PID                         peak RSS := current, so the next peak is a phase's
#   quiet_cpu PID                         wait until PID is quiet; its CPU seconds then
#   start_vmagent [FLAGS]                 vmagent into $VM_URL: VMAGENT_PORT, VMAGENT_PID
#   measure NAME PID PORT KFLAG [BROKER]  one ingest row with loadgen (see below)
#   calc 'AWK'   num X   met 'COND'       arithmetic, "is a number", yes/NO
#   best A [B]   ratio A B                the lower of two figures (B may be empty); A/B
#                                         to two places, "-" unless both are numbers, B > 0
#   cluster_keys 'k: v, k2: v2'         extra per-cluster YAML lines (from a BENCH_*_
#                                         CLUSTER_KEYS variable), each on its own line
#   vm_start NAME [DIR] / vm_stop NAME / vm_url NAME
#                                         VictoriaMetrics instances by name, with the
#                                         harness's flags and dedup at 1 ms
#   vm_count NAME                         samples of bench_f1 instance NAME holds
#                                         (deduplicated, as queried)
#   PYTHONPATH gets bench/, for bench/procstat.py (rss of a PID, for the pollers)

# The Python pollers the benchmarks write out import bench/procstat.py.
export PYTHONPATH="$REPO_ROOT/bench${PYTHONPATH:+:$PYTHONPATH}"

TCK=$(getconf CLK_TCK)
cpu_s() { awk -v t="$TCK" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_reset() { echo 5 >"/proc/$1/clear_refs"; }
calc() { awk "BEGIN { $1 }"; }
num() { [[ $1 =~ ^-?[0-9.]+$ ]]; }
met() { calc "print (($1) ? \"yes\" : \"NO\")"; }
best() { awk -v a="$1" -v b="${2:-}" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }
ratio() { num "$1" && num "$2" && calc "if ($2 > 0) printf \"%.2f\", $1 / $2; else printf \"-\"" || echo -; }

# start_vmagent: Debian's vmagent writing to $VM_URL, its queue in $TSR_TMP/vmagent;
# sets VMAGENT_PORT and VMAGENT_PID.
start_vmagent()
{
    VMAGENT_PORT=$(free_port)
    spawn vmagent vmagent -httpListenAddr="127.0.0.1:$VMAGENT_PORT" \
        -remoteWrite.url="$VM_URL/api/v1/write" -remoteWrite.tmpDataPath="$TSR_TMP/vmagent${VMAGENT_QUEUE:-}" \
        -loggerLevel=WARN "$@"
    VMAGENT_PID=$SPAWN_PID
    wait_http "http://127.0.0.1:$VMAGENT_PORT/health" 30
}

# quiet_cpu PID: wait until PID used at most one tick of CPU in 0.5 s (30 s at most);
# prints its CPU seconds at the start of that quiet half-second.
quiet_cpu()
{
    local a b i
    b=$(cpu_s "$1")
    for ((i = 0; i < 60; i++)); do
        a=$b
        sleep 0.5
        b=$(cpu_s "$1")
        calc "exit !($b - $a <= 0.011)" && break
    done
    [ "$i" -lt 60 ] || log "pid $1 not quiet after 30 s: measuring anyway"
    echo "$a"
}

cluster_keys()
{
    local kv k out=
    [ -n "${1:-}" ] || return 0
    IFS=, read -ra kv <<<"$1"
    for k in "${kv[@]}"; do out+=$'\n'"    ${k# }"; done
    printf '%s' "$out"
}

declare -A VMPORT=() VMPID=()
vm_url() { echo "http://127.0.0.1:${VMPORT[$1]}"; }

# vm_start NAME [DATADIR]: start instance NAME (a later call restarts it on the same
# port, with the same data unless DATADIR differs).
vm_start()
{
    local name=$1 dir=${2:-$TSR_TMP/$1}
    [ -n "${VMPORT[$name]:-}" ] || VMPORT[$name]=$(free_port)
    spawn "$name" victoria-metrics -httpListenAddr="127.0.0.1:${VMPORT[$name]}" \
        -storageDataPath="$dir" -retentionPeriod=100y -search.latencyOffset=0s \
        -search.disableCache -dedup.minScrapeInterval=1ms -loggerLevel=WARN
    VMPID[$name]=$SPAWN_PID
    wait_server "$name" "$SPAWN_PID" 30 curl -sf -o /dev/null -m 1 "$(vm_url "$name")/health"
}

vm_stop()
{
    stop_pid "${VMPID[$1]}" 30
    VMPID[$1]=
}

vm_count()
{
    curl -sf -m 30 -o /dev/null "$(vm_url "$1")/internal/force_flush"
    curl -sf -m 120 "$(vm_url "$1")/api/v1/export" -d 'match[]=bench_f1' -d start=0 |
        python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))'
}

# measure NAME PID PORT KFLAG [BROKER_PID]: one ingest row into PORT: a WARMUP-line
# warm-up, RELAY_PID and VMAGENT_PID left to go quiet, PID's VmHWM reset, then LINES
# lines of SERIES series in BATCH-line requests over 2 connections (KFLAG "-k": a
# connection per request); the CPU of PID (and BROKER_PID) from just before loadgen
# until PID is quiet again. Prints "lines_per_s cpu_us_per_line peak_rss_mb rss_mb
# broker_us_per_line". LOADGEN, WARMUP, LINES, SERIES and BATCH come from the caller.
measure()
{
    local name=$1 pid=$2 port=$3 kflag=$4 bpid=${5:-} c0 c1 b0 b1 out lps us bus=-
    local args=(-p "$port" -u "/write?db=bench" -b "$BATCH" -c 2 -S "$SERIES" $kflag)
    out=$("$LOADGEN" "${args[@]}" -n "$WARMUP") || fail "$name: warm-up: $out"
    quiet_cpu "$RELAY_PID" >/dev/null
    quiet_cpu "$VMAGENT_PID" >/dev/null
    hwm_reset "$pid" # VmHWM := VmRSS, so the peak is this row's
    c0=$(cpu_s "$pid")
    [ -z "$bpid" ] || b0=$(cpu_s "$bpid")
    out=$("$LOADGEN" "${args[@]}" -n "$LINES") || fail "$name: $out"
    log "$name, $SERIES series${kflag:+, a connection per request}: $out"
    c1=$(quiet_cpu "$pid")
    [ -z "$bpid" ] || b1=$(cpu_s "$bpid")
    lps=${out#*lines_per_s=}
    lps=${lps%% *}
    us=$(calc "printf \"%.3f\", ($c1 - $c0) * 1e6 / $LINES")
    [ -z "$bpid" ] || bus=$(calc "printf \"%.3f\", ($b1 - $b0) * 1e6 / $LINES")
    echo "$lps $us $(hwm_mb "$pid") $(rss_mb "$pid") $bus"
}
