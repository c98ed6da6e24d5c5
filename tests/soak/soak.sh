#!/usr/bin/env bash
# tests/soak/soak.sh — `make soak`: a fleet under random faults for minutes, and a checker
# that accounts for every point (docs/soak.md).
#
#   SOAK_MINUTES (10)   how long the nemesis runs
#   SOAK_SEED           the run's seed (default: the clock); the same seed gives the same
#                       faults in the same order, with the same durations
#   SOAK_RELAYS (2)     relays in the fleet
#   SOAK_RATE (1000)    lines/s of each of the two HTTP writers (the Graphite one: a tenth)
#
# Servers: three Kafka brokers (replication 3, min ISR 2), InfluxDB, VictoriaMetrics without
# deduplication behind tests/tools/faultproxy.py; the relays' state_dir each on a tmpfs of
# its own (root or sudo: the disk-full fault). Writers: tests/soak/writer.py, two over
# HTTP and one over Graphite TCP, each over every relay in turn. The nemesis picks a
# fault at random, holds it 2-16 s, heals it, waits 1-8 s, and again until the time is
# up: relay SIGKILL or SIGTERM (started again after), a broker SIGKILL (started again)
# or SIGSTOP/SIGCONT or cut off from the relays (tests/tools/tcpproxy.py), InfluxDB SIGKILL (started again on its data) or SIGSTOP,
# VictoriaMetrics SIGTERM (started again) or SIGSTOP, the proxy answering 500, 429 or
# slowly, or holding requests unanswered, a relay's state disk full, a replay started
# (and cancelled half the time), a config reload (SIGHUP). Then the faults stop, the
# writers stop, and the run waits until every cluster holds every acknowledged point
# (the time it took is reported), then runs tests/soak/check.py over everything.
#
# Exit 0 when nothing acknowledged was lost and per-series order held; 1 otherwise. The
# history (writers' logs, the nemesis's log, the relays' logs, the checker's report) is
# kept in build/soak/SEED/ when the run fails, and its summary always.
. "$(dirname "$0")/../lib/harness.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/forward.sh"
. "$REPO_ROOT/tests/lib/fleet.sh"
. "$REPO_ROOT/tests/lib/kafka3.sh"

MINUTES=${SOAK_MINUTES:-10}
SEED=${SOAK_SEED:-$(date +%s)}
NRELAYS=${SOAK_RELAYS:-2}
RATE=${SOAK_RATE:-1000}
RANDOM=$SEED
OUT=$REPO_ROOT/build/soak/$SEED
mkdir -p "$OUT"
# Clients reach the brokers through tcpproxy.py, which can cut one off (broker_cut).
export KAFKA_PARTITIONS=8 RELAY_TOPIC=soak KAFKA3_CLIENT_PROXY=1
NEMESIS_LOG=$TSR_TMP/nemesis.log
: >"$NEMESIS_LOG"
log "soak: seed $SEED, $MINUTES minutes, $NRELAYS relays, 2 HTTP writers at $RATE lines/s, Graphite at $((RATE / 10))"

start_kafka3
start_influxdb
influx_query soak 'CREATE DATABASE soak' >/dev/null
influx_query soak 'CREATE DATABASE graphite' >/dev/null
start_victoriametrics
VM_DIRECT=$VM_URL
start_faultproxy "$VM_URL"

soak_config()
{
    local i=$1
    [ -n "${FLEET_HTTP[$i]:-}" ] || FLEET_HTTP[$i]=$(free_port)
    [ -n "${FLEET_ADMIN[$i]:-}" ] || FLEET_ADMIN[$i]=$(free_port)
    [ -n "${GRAPHITE[$i]:-}" ] || GRAPHITE[$i]=$(free_port)
    cat >"$TSR_TMP/relay$i.yaml" <<YAML
datacenter: soak
instance: relay$i
listen:
  http: 127.0.0.1:${FLEET_HTTP[$i]}
  admin: 127.0.0.1:${FLEET_ADMIN[$i]}
  graphite: 127.0.0.1:${GRAPHITE[$i]}
kafka:
  brokers: $KAFKA_BROKERS
  topic: soak
  message_timeout_ms: 10000
  session_timeout_ms: 6000
  partitions: $KAFKA_PARTITIONS
  replication_factor: 3
  min_insync_replicas: 2
state_dir: $TSR_TMP/disk$i/state
spool:
  max_bytes: 128MiB
clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$PROXY_URL]
    timeout_ms: 5000
YAML
}

PORTS=() GPORTS=()
declare -A GRAPHITE=()
for ((i = 1; i <= NRELAYS; i++)); do
    mkdir -p "$TSR_TMP/disk$i"
    as_root mount -t tmpfs -o "size=192m,mode=0755,uid=$(id -u),gid=$(id -g)" "tsrelay-soak$i" "$TSR_TMP/disk$i" ||
        fail "cannot mount a tmpfs for relay $i"
    at_exit "as_root umount '$TSR_TMP/disk$i'"
    soak_config "$i"
    fleet_start "$i"
    PORTS+=("${FLEET_HTTP[$i]}")
    GPORTS+=("${GRAPHITE[$i]}")
done
fleet_wait_shares 60 $(seq 1 "$NRELAYS")

# --- writers -------------------------------------------------------------------------
WRITERS=()
for w in 1 2; do
    # Writer 2 goes round the relays from the last one: both keep every relay busy.
    if [ "$w" = 1 ]; then ports=$(IFS=,; echo "${PORTS[*]}"); else ports=$(printf '%s\n' "${PORTS[@]}" | tac | paste -sd,); fi
    python3 "$REPO_ROOT/tests/soak/writer.py" --ports "$ports" --id "w$w" --log "$TSR_TMP/writer-w$w.log" \
        --stop "$TSR_TMP/stop-writers" --rate "$RATE" >>"$TSR_TMP/writers.log" 2>&1 &
    WRITERS+=($!)
    track_pid "$!" "writer$w"
done
python3 "$REPO_ROOT/tests/soak/writer.py" --graphite --ports "$(IFS=,; echo "${GPORTS[*]}")" --id g1 \
    --log "$TSR_TMP/writer-g1.log" --stop "$TSR_TMP/stop-writers" --rate $((RATE / 10)) --batch 100 \
    >>"$TSR_TMP/writers.log" 2>&1 &
WRITERS+=($!)
track_pid "$!" "writer-g1"

# --- the nemesis ---------------------------------------------------------------------
note() { echo "$(date +%s%3N) $*" >>"$NEMESIS_LOG"; }
declare -A DOWN=()
relay_up()
{
    local i=$1
    [ -n "${DOWN[relay$i]:-}" ] || return 0
    fleet_start "$i" || true
    unset "DOWN[relay$i]"
}
relay_signal()
{
    local i=$1 sig=$2 pid=${FLEET_PID[$1]} n rc=0
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((n = 0; n < 900; n++)); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && { note "finding relay$i did-not-exit-90s-after-$sig"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || rc=$?
    unset "TSR_PIDS[$pid]" "FLEET_PID[$i]"
    [ "$sig" = KILL ] || [ "$rc" = 0 ] || note "finding relay$i exit-$rc-after-$sig"
    DOWN[relay$i]=1
}
broker_up() { [ -n "${KAFKA3_PID[$1]:-}" ] || start_broker "$1"; }

KINDS=(relay_kill relay_term broker_kill broker_stop broker_cut vm_restart influx_kill vm_stop influx_stop proxy_500 proxy_429
    proxy_slow proxy_hang disk_full replay reload)
declare -A COUNT=()
fault()
{
    local kind=$1 dur=$2 r b id
    r=$((1 + RANDOM % NRELAYS))
    b=$((1 + RANDOM % 3))
    COUNT[$kind]=$((${COUNT[$kind]:-0} + 1))
    case $kind in
    relay_kill | relay_term)
        note "start $kind relay$r"
        relay_signal "$r" "$([ "$kind" = relay_kill ] && echo KILL || echo TERM)"
        sleep "$dur"
        relay_up "$r"
        note "end $kind relay$r"
        ;;
    broker_kill)
        note "start $kind broker$b"
        kill_broker "$b"
        sleep "$dur"
        broker_up "$b"
        note "end $kind broker$b"
        ;;
    broker_cut)
        # The network between the relays and broker b fails; the brokers still see
        # each other, so b stays the leader of its partitions.
        note "start $kind broker$b"
        cut_broker "$b"
        sleep "$dur"
        heal_broker "$b"
        note "end $kind broker$b"
        ;;
    broker_stop)
        note "start $kind broker$b"
        kill -STOP "${KAFKA3_PID[$b]}"
        sleep "$dur"
        kill -CONT "${KAFKA3_PID[$b]}"
        note "end $kind broker$b"
        ;;
    vm_restart)
        # A SIGTERM: VictoriaMetrics answers 204 before its newest samples reach the disk
        # and loses up to tens of seconds of them to a SIGKILL, even after
        # /internal/force_flush (docs/soak.md). That is its durability, not the relay's.
        note "start $kind"
        stop_pid "$VM_PID" 30
        VM_PID=
        sleep "$dur"
        start_victoriametrics >/dev/null
        note "end $kind"
        ;;
    influx_kill)
        # InfluxDB syncs its WAL before it answers (wal-fsync-delay 0s): a SIGKILL loses
        # nothing it acknowledged.
        note "start $kind"
        stop_pid "$INFLUX_PID" 5 KILL
        INFLUX_PID=
        sleep "$dur"
        start_influxdb >/dev/null
        note "end $kind"
        ;;
    vm_stop | influx_stop)
        local pid=$VM_PID
        [ "$kind" = influx_stop ] && pid=$INFLUX_PID
        note "start $kind"
        kill -STOP "$pid"
        sleep "$dur"
        kill -CONT "$pid"
        note "end $kind"
        ;;
    proxy_500 | proxy_429 | proxy_slow | proxy_hang)
        note "start $kind"
        case $kind in
        proxy_500) proxy_mode '{"mode":"status","status":500,"count":1000000}' ;;
        proxy_429) proxy_mode '{"mode":"retry_after","status":429,"retry_after":1,"count":1000000}' ;;
        proxy_slow) proxy_mode '{"mode":"slow","delay_ms":3000,"count":1000000}' ;;
        proxy_hang) proxy_mode '{"mode":"hang","count":1000000,"on_release":"close"}' ;;
        esac
        sleep "$dur"
        proxy_mode '{"mode":"pass"}'
        note "end $kind"
        ;;
    disk_full)
        note "start $kind relay$r"
        dd if=/dev/zero of="$TSR_TMP/disk$r/filler" bs=1M status=none 2>/dev/null || true
        sleep "$dur"
        rm -f "$TSR_TMP/disk$r/filler"
        note "end $kind relay$r"
        ;;
    replay)
        # The cluster is drawn in a subshell, which leaves the seed's sequence as it was.
        local cluster
        cluster=$([ $((RANDOM % 2)) = 0 ] && echo influx || echo vm)
        note "start $kind relay$r $cluster"
        id=$("$(dirname "$TSRELAY_BIN")/tsrelayctl" -a "127.0.0.1:${FLEET_ADMIN[$r]}" --json replay start \
            --cluster "$cluster" --since -2m 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null || true)
        sleep "$dur"
        if [ -n "$id" ] && [ $((RANDOM % 2)) = 0 ]; then
            "$(dirname "$TSRELAY_BIN")/tsrelayctl" -a "127.0.0.1:${FLEET_ADMIN[$r]}" replay cancel "$id" >/dev/null 2>&1 || true
            note "info replay job $id cancelled"
        fi
        note "end $kind relay$r $cluster"
        ;;
    reload)
        note "start $kind relay$r"
        kill -HUP "${FLEET_PID[$r]}" 2>/dev/null || true
        sleep "$dur"
        note "end $kind relay$r"
        ;;
    esac
}

deadline=$(($(date +%s) + MINUTES * 60))
while [ "$(date +%s)" -lt "$deadline" ]; do
    kind=${KINDS[$((RANDOM % ${#KINDS[@]}))]}
    dur=$((2 + RANDOM % 15))
    log "nemesis: $kind for ${dur}s"
    fault "$kind" "$dur"
    for ((i = 1; i <= NRELAYS; i++)); do
        alive "${FLEET_PID[$i]:-0}" || { [ -n "${DOWN[relay$i]:-}" ] || note "finding relay$i died"; DOWN[relay$i]=1; relay_up "$i"; }
    done
    sleep $((1 + RANDOM % 8))
done
last_fault_ms=$(date +%s%3N)
note "quiet"
log "nemesis done; stopping the writers"
touch "$TSR_TMP/stop-writers"
for pid in "${WRITERS[@]}"; do wait "$pid" || true; done

check() { python3 "$REPO_ROOT/tests/soak/check.py" --logs "$TSR_TMP" --influx "$INFLUX_URL" --vm "$VM_DIRECT" "$@"; }
synced=
# A check reads every point back, which takes a while at the end of a long run: the
# wait is bounded by the clock, not by a number of polls.
sync_deadline=$(($(date +%s) + 300))
while [ "$(date +%s)" -lt "$sync_deadline" ]; do
    if check --quiet >"$TSR_TMP/check-poll.txt" 2>&1; then
        synced=$((($(date +%s%3N) - last_fault_ms) / 1000))
        break
    fi
    sleep 5
done
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t soak -T 30 >"$TSR_TMP/kafka.dump" || log "topic dump failed"
rc=0
check --kafka-dump "$TSR_TMP/kafka.dump" --nemesis "$NEMESIS_LOG" --json "$TSR_TMP/report.json" \
    >"$TSR_TMP/check.txt" 2>&1 || rc=1
# The relays stop before the summary (a SIGTERM that does not end one with 0 is a
# finding) and before their state disks are unmounted on exit.
for ((i = 1; i <= NRELAYS; i++)); do
    [ -z "${FLEET_PID[$i]:-}" ] || relay_signal "$i" TERM
done
! grep -q ' finding ' "$NEMESIS_LOG" || rc=1
{
    echo "soak seed $SEED: $MINUTES minutes, $NRELAYS relays, 2 HTTP writers at $RATE lines/s, Graphite at $((RATE / 10))"
    printf 'faults:'
    for k in "${KINDS[@]}"; do printf ' %s=%s' "$k" "${COUNT[$k]:-0}"; done
    echo
    echo "every cluster in sync ${synced:-NOT within 300} s after the last fault"
    grep '^.* finding ' "$NEMESIS_LOG" | sed 's/^[0-9]* /  finding: /' || true
    cat "$TSR_TMP/check.txt"
} | tee "$OUT/summary.txt" >&2
if [ "$rc" -ne 0 ] || [ -z "$synced" ]; then
    cp "$TSR_TMP"/*.log "$TSR_TMP"/report.json "$TSR_TMP"/check.txt "$TSR_TMP"/relay*.yaml "$OUT/" 2>/dev/null || true
    gzip -c "$TSR_TMP/kafka.dump" >"$OUT/kafka.dump.gz" 2>/dev/null || true
    log "history kept in $OUT"
    exit 1
fi
exit 0
