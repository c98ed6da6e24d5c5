# tests/lib/fleet.sh — several relays sharing delivery ("a fleet"), sourced after
# harness.sh, relay.sh and forward.sh.
#
#   fleet_servers               Kafka ($KAFKA_PARTITIONS, 12 here), InfluxDB (database
#                               tsrtest) and VictoriaMetrics WITHOUT deduplication
#   fleet_config I [EXTRA_YAML] write $TSR_TMP/relayI.yaml: own free ports (kept across
#                               restarts), state_dir $TSR_TMP/stateI, instance relayI,
#                               kafka.session_timeout_ms $FLEET_SESSION_TIMEOUT_MS, clusters
#                               "influx" and "vm"; EXTRA_YAML: top-level keys appended
#   fleet_start I               start relay I (writing its config first if there is none),
#                               wait until /ready answers 200; log in $TSR_TMP/relayI.log
#   fleet_stop I [TIMEOUT]      SIGTERM, wait (60 s), fail unless it exited 0
#   fleet_kill I                SIGKILL
#   fleet_port I / fleet_admin I   its HTTP ingest / admin port
#   fleet_metric I NAME         one value of relay I's /metrics (0 if absent or down)
#   fleet_sum NAME I...         the sum of a metric over relays I...
#   fleet_shares CLUSTER I...   "relay1=4 relay2=4 ..." (partitions_owned)
#   fleet_wait_shares T I...    wait up to T s until, for both clusters, relays I... own
#                               every partition between them, each at least one; sets
#                               FLEET_WAITED_MS
#   fleet_send I START LINES [LPSEND_ARGS...]
#                               lpsend lines START..START+LINES-1 to relay I, 1 ms apart;
#                               when every request got 204, the range goes to the list of
#                               acknowledged points (a failure returns lpsend's status)
#   fleet_load_start I BASE / fleet_load_stop I
#                               a background loop sending rounds of $FLEET_LOAD_LINES lines
#                               (4,000: a few thousand points/s) to relay I from
#                               line BASE on, until stopped (acknowledged rounds recorded as
#                               above; a round not acknowledged makes fleet_load_stop fail)
#   fleet_sent                  "COUNT SUM" of every acknowledged point (as expected_counts)
#   counts_vm_raw               "RAW COUNT SUM": VictoriaMetrics' samples duplicates
#                               included, and the distinct points with their value sum
#   fleet_wait_delivered T      wait until both clusters hold every acknowledged point
#                               (InfluxDB count and sum; VictoriaMetrics distinct count and
#                               sum); sets FLEET_VM_RAW to VictoriaMetrics' raw sample count
#
# Every point has its own timestamp (line i at T0 + i ms), so a point sent twice is
# the same sample twice: InfluxDB overwrites it, and VictoriaMetrics, run here without
# -dedup.minScrapeInterval, keeps both, which makes duplicates countable.

# forward.sh defaults VM_FLAGS to dedup at 1 ms (and an empty value would fall back to
# it): 0s is VictoriaMetrics' own default, deduplication off.
export VM_FLAGS=-dedup.minScrapeInterval=0s
FLEET_SESSION_TIMEOUT_MS=${FLEET_SESSION_TIMEOUT_MS:-6000}
FLEET_STEP_NS=1000000
FLEET_LOAD_LINES=${FLEET_LOAD_LINES:-4000} # lines per round of a load loop (one lpsend)
FLEET_LOAD_PAUSE=${FLEET_LOAD_PAUSE:-0.05} # s between its 500-line requests

declare -A FLEET_HTTP=() FLEET_ADMIN=() FLEET_PID=() FLEET_LOAD_PID=()

fleet_servers()
{
    start_kafka
    start_influxdb
    start_victoriametrics
    influx_query tsrtest 'CREATE DATABASE tsrtest' >/dev/null
    : >"$TSR_TMP/sent.ranges"
}

fleet_config()
{
    local i=$1
    [ -n "${FLEET_HTTP[$i]:-}" ] || FLEET_HTTP[$i]=$(free_port)
    [ -n "${FLEET_ADMIN[$i]:-}" ] || FLEET_ADMIN[$i]=$(free_port)
    cat >"$TSR_TMP/relay$i.yaml" <<YAML
datacenter: test
instance: relay$i
listen:
  http: 127.0.0.1:${FLEET_HTTP[$i]}
  admin: 127.0.0.1:${FLEET_ADMIN[$i]}
kafka:
  brokers: $KAFKA_BROKERS
  topic: $RELAY_TOPIC
  message_timeout_ms: ${RELAY_MESSAGE_TIMEOUT_MS:-10000}
  session_timeout_ms: $FLEET_SESSION_TIMEOUT_MS
  partitions: ${KAFKA_PARTITIONS:-4}
  replication_factor: 1
  min_insync_replicas: 1
state_dir: $TSR_TMP/state$i
clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
${2:-}
YAML
}

fleet_port() { echo "${FLEET_HTTP[$1]}"; }
fleet_admin() { echo "${FLEET_ADMIN[$1]}"; }

fleet_start()
{
    local i=$1 t0
    t0=$(date +%s%3N)
    [ -f "$TSR_TMP/relay$i.yaml" ] || fleet_config "$i"
    # Not spawn: spawn disowns, and fleet_stop needs the exit status from wait.
    "$TSRELAY_BIN" -c "$TSR_TMP/relay$i.yaml" >>"$TSR_TMP/relay$i.log" 2>&1 </dev/null &
    FLEET_PID[$i]=$!
    track_pid "${FLEET_PID[$i]}" "relay$i"
    wait_server "relay$i" "${FLEET_PID[$i]}" 60 \
        curl -sf -o /dev/null -m 1 "http://127.0.0.1:${FLEET_ADMIN[$i]}/ready"
    log "relay$i up (pid ${FLEET_PID[$i]}, http ${FLEET_HTTP[$i]}, admin ${FLEET_ADMIN[$i]}) in $(($(date +%s%3N) - t0)) ms"
}

fleet_stop()
{
    local i=$1 timeout=${2:-60} pid=${FLEET_PID[$1]} n rc=0
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < timeout * 10; n++)); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && fail "relay$i did not exit within ${timeout}s of SIGTERM"
    wait "$pid" 2>/dev/null || rc=$?
    unset "TSR_PIDS[$pid]" "FLEET_PID[$i]"
    [ "$rc" -eq 0 ] || fail "relay$i exited $rc after SIGTERM (want 0)"
    log "relay$i stopped (SIGTERM, exit 0)"
}

fleet_kill()
{
    local i=$1 pid=${FLEET_PID[$1]}
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "TSR_PIDS[$pid]" "FLEET_PID[$i]"
    log "relay$i killed (SIGKILL)"
}

fleet_metric()
{
    { curl -s -m 5 "http://127.0.0.1:${FLEET_ADMIN[$1]}/metrics" || true; } |
        awk -v m="$2" '$1 == m { print $2; found=1 } END { if (!found) print 0 }'
}

fleet_sum()
{
    local name=$1 i total=0 v
    shift
    for i in "$@"; do
        v=$(fleet_metric "$i" "$name")
        total=$((total + ${v%.*}))
    done
    echo "$total"
}

fleet_shares()
{
    local c=$1 i out=
    shift
    for i in "$@"; do
        out+="relay$i=$(fleet_metric "$i" "tsrelay_cluster_partitions_owned{cluster=\"$c\"}") "
    done
    echo "${out% }"
}

# Are relays I... sharing every partition of cluster C, each owning some?
fleet_shared()
{
    local c=$1 i v total=0
    shift
    for i in "$@"; do
        v=$(fleet_metric "$i" "tsrelay_cluster_partitions_owned{cluster=\"$c\"}")
        [ "${v%.*}" -gt 0 ] || return 1
        total=$((total + ${v%.*}))
    done
    [ "$total" -eq "${KAFKA_PARTITIONS:-4}" ]
}

fleet_wait_shares()
{
    local t=$1 t0 n
    shift
    t0=$(date +%s%3N)
    for ((n = 0; n < t * 5; n++)); do
        if fleet_shared influx "$@" && fleet_shared vm "$@"; then
            FLEET_WAITED_MS=$(($(date +%s%3N) - t0))
            return 0
        fi
        sleep 0.2
    done
    fail "relays $* do not share the ${KAFKA_PARTITIONS:-4} partitions after ${t}s: influx $(fleet_shares influx "$@"); vm $(fleet_shares vm "$@")"
}

fleet_send()
{
    local i=$1 start=$2 lines=$3 out rc=0
    shift 3
    out=$(python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "${FLEET_HTTP[$i]}" \
        --step-ns "$FLEET_STEP_NS" --batch 5000 --start "$start" --lines "$lines" "$@") || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "lpsend to relay$i of lines $start+$lines: exit $rc ($out)"
        return "$rc"
    fi
    echo "$start $lines" >>"$TSR_TMP/sent.ranges"
}

fleet_load_start()
{
    local i=$1 base=$2 stop=$TSR_TMP/load$1.stop
    rm -f "$stop"
    (
        # Stopped by the cleanup's SIGTERM: take the lpsend in progress along.
        trap 'kill "$child" 2>/dev/null; exit 143' TERM
        trap - ERR
        set +e
        child=
        start=$base
        while [ ! -e "$stop" ]; do
            fleet_send "$i" "$start" "$FLEET_LOAD_LINES" --batch 500 --pause "$FLEET_LOAD_PAUSE" &
            child=$!
            wait "$child" || exit 1
            start=$((start + FLEET_LOAD_LINES))
        done
        exit 0
    ) &
    FLEET_LOAD_PID[$i]=$!
    track_pid "${FLEET_LOAD_PID[$i]}" "load$i"
}

fleet_load_stop()
{
    local i=$1 pid=${FLEET_LOAD_PID[$1]} rc=0
    touch "$TSR_TMP/load$i.stop"
    wait "$pid" || rc=$?
    unset "TSR_PIDS[$pid]" "FLEET_LOAD_PID[$i]"
    [ "$rc" -eq 0 ] || fail "load into relay$i: a round was not acknowledged (exit $rc)"
}

fleet_sent()
{
    awk '{ c += $2; s += $2 * $1 + $2 * ($2 - 1) / 2 } END { printf "%.0f %.0f\n", c, s }' \
        "$TSR_TMP/sent.ranges"
}

counts_vm_raw()
{
    vm_flush
    python3 "$REPO_ROOT/tests/tools/tsdb_count.py" --vm-raw "$VM_URL" --db tsrtest "$@"
}

fleet_wait_delivered()
{
    local t=$1 want got_i=none got_v=none t0
    want=$(fleet_sent)
    t0=$(date +%s)
    while :; do
        got_i=$(counts_influx)
        got_v=$(counts_vm_raw)
        if [ "$got_i" = "$want" ] && [ "${got_v#* }" = "$want" ]; then
            FLEET_VM_RAW=${got_v%% *}
            log "both clusters hold all $want (count sum) after $(($(date +%s) - t0))s; vm raw samples $FLEET_VM_RAW"
            return 0
        fi
        [ $(($(date +%s) - t0)) -lt "$t" ] || break
        sleep 1
    done
    fail "not every acknowledged point arrived within ${t}s (count sum): want '$want'; influx '$got_i'; vm (raw count sum) '$got_v'"
}
