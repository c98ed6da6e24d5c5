# tests/lib/harness.sh — shared helpers for tests/integration/*.sh (bash, sourced).
#
#   . "$(dirname "$0")/../lib/harness.sh"
#
# Starts the real servers the tests need (Kafka in KRaft mode from the Maven jars,
# influxd, victoria-metrics) on free loopback ports, in a per-test temp dir, and kills
# every process it started when the test exits, whether it passed, failed or was
# interrupted. See tests/lib/README.md for the function list.
#
# Sourcing it turns on `set -Eeuo pipefail`: a failing command fails the test.
#
# Environment read:
#   KEEP_TMP=1          keep $TSR_TMP after the test (its path is printed)
#   TSRELAY_CACHE       where tools/kafka/fetch.sh put the jars ($HOME/.cache/tsrelay)
#   KAFKA_LIBS          the Kafka jar dir, overriding the cache lookup
#   KAFKA_PARTITIONS    num.partitions for auto-created topics (default 4)
#   KAFKA_AUTO_CREATE   auto.create.topics.enable (default true; false: only the relay's
#                       own CreateTopics makes its topics)
#   KAFKA_EXTRA_CONFIG  lines appended to server.properties
#   TSRELAY_BIN, TOOLS_DIR, REPO_ROOT   set by tests/run.sh; defaulted here too

set -Eeuo pipefail

REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TSRELAY_BIN=${TSRELAY_BIN:-$REPO_ROOT/bin/tsrelay}
TOOLS_DIR=${TOOLS_DIR:-$REPO_ROOT/build/release/tools}
export REPO_ROOT TSRELAY_BIN TOOLS_DIR

TSR_TEST_NAME=$(basename "${0%.sh}")
TSR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tsr-$TSR_TEST_NAME.XXXXXX")
export TSR_TMP

# Left over from a calling shell, these would make start_* reuse another test's ports.
unset KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_BROKERS KAFKA_PID KAFKA_DIR \
    INFLUX_PORT INFLUX_RPC_PORT INFLUX_URL INFLUX_PID VM_PORT VM_URL VM_PID

# pid -> name of every process the harness started and has not stopped yet.
declare -A TSR_PIDS=()

# --- messages ------------------------------------------------------------------------

log()
{
    printf '%s [%s] %s\n' "$(date +%H:%M:%S.%3N)" "$TSR_TEST_NAME" "$*" >&2
}

# The reason the test failed, repeated as its last line after the server logs.
TSR_FAIL_MSG=

fail()
{
    TSR_FAIL_MSG="FAIL: $*"
    printf '%s\n' "$TSR_FAIL_MSG" >&2
    exit 1
}

# set -e stops the test on any failing command: say which one and where.
tsr_on_err()
{
    local rc=$1 line=$2 cmd=$3
    [ -n "$TSR_FAIL_MSG" ] && return
    TSR_FAIL_MSG="FAIL: '$cmd' exited $rc (${BASH_SOURCE[2]:-$0} line $line)"
    printf '%s\n' "$TSR_FAIL_MSG" >&2
}
trap 'tsr_on_err $? $LINENO "$BASH_COMMAND"' ERR

# assert_eq ACTUAL EXPECTED MSG
assert_eq()
{
    [ "$1" == "$2" ] || fail "$3: got '$1', want '$2'"
}

# --- processes -----------------------------------------------------------------------

# spawn NAME CMD [ARGS...]: run CMD in the background with stdout+stderr in
# $TSR_TMP/NAME.log, track it for cleanup, and set SPAWN_PID. CMD is exec'd, so the pid
# is the program's own (signals reach it, not a wrapper shell).
spawn()
{
    local name=$1
    shift
    "$@" >>"$TSR_TMP/$name.log" 2>&1 </dev/null &
    SPAWN_PID=$!
    # Out of bash's job table: no "Killed" notices; bash still reaps it when it exits.
    disown "$SPAWN_PID"
    TSR_PIDS[$SPAWN_PID]=$name
}

# track_pid PID [NAME]: clean up a process the test started itself.
track_pid()
{
    TSR_PIDS[$1]=${2:-pid$1}
}

# stop_pid PID [TIMEOUT_S] [SIGNAL]: send SIGNAL (TERM), wait up to TIMEOUT_S (10),
# then SIGKILL. Returns once the process is gone; TSR_STOP_KILLED=1 if it took SIGKILL.
stop_pid()
{
    local pid=$1 timeout=${2:-10} sig=${3:-TERM} i
    TSR_STOP_KILLED=0
    [ "$sig" != KILL ] || TSR_STOP_KILLED=1
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "${TSR_PIDS[$pid]:-pid $pid} did not stop within ${timeout}s, killing it"
        kill -KILL "$pid" 2>/dev/null || true
        TSR_STOP_KILLED=1
        for ((i = 0; i < 50; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
    fi
    unset "TSR_PIDS[$pid]"
}

# alive PID: is the process still running (a zombie not yet reaped counts as gone)?
alive()
{
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    # It may exit (and be reaped) between the two: no subshell, whose failed redirection
    # would fail the test under set -E, just a read that fails.
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    [[ ${stat##*) } != Z* ]]
}

# any_alive PID...: is any of them still running?
any_alive()
{
    local pid
    for pid in "$@"; do alive "$pid" && return 0; done
    return 1
}

# Prints the end of a server log when a start fails, then fails the test.
start_failed()
{
    local name=$1 why=$2
    log "last lines of $TSR_TMP/$name.log:"
    tail -n 40 "$TSR_TMP/$name.log" >&2 2>/dev/null || true
    fail "$name: $why"
}

# as_root CMD...: run CMD as root (directly, or through sudo without a password); fails
# the test, saying so, when neither is possible.
as_root()
{
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        fail "this test needs root (or sudo without a password) for: $*"
    fi
}

# at_exit CMD: run CMD (eval'd) at the end of the test, once its processes are stopped
# and before $TSR_TMP is removed (an unmount, say).
TSR_AT_EXIT=()
at_exit() { TSR_AT_EXIT+=("$1"); }

tsr_cleanup()
{
    local rc=$? pid f i
    set +e
    trap - EXIT INT TERM ERR
    # TERM everything at once, then give them a few seconds together before KILL.
    for pid in "${!TSR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for ((i = 0; i < 100 && ${#TSR_PIDS[@]} > 0; i++)); do
        for pid in "${!TSR_PIDS[@]}"; do
            alive "$pid" || unset "TSR_PIDS[$pid]"
        done
        [ ${#TSR_PIDS[@]} -eq 0 ] || sleep 0.1
    done
    for pid in "${!TSR_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for ((i = 0; i < 20; i++)); do
        any_alive "${!TSR_PIDS[@]}" || break
        sleep 0.1
    done
    for f in "${TSR_AT_EXIT[@]}"; do eval "$f"; done
    if [ -n "${KAFKA_PID:-}" ]; then
        # A broker that exited on SIGTERM has dumped its class archive.
        if [ -n "${TSR_PIDS[$KAFKA_PID]:-}" ]; then
            kafka_cds_done broker 0
        else
            kafka_cds_done broker 1
        fi
    fi
    if [ "$rc" -ne 0 ]; then
        # The test's own log is all run.sh keeps: add the end of every server log.
        for f in "$TSR_TMP"/*.log; do
            [ -f "$f" ] || continue
            printf '\n--- last lines of %s ---\n' "${f##*/}" >&2
            tail -n 20 "$f" >&2
        done
        printf '\n%s\n' "${TSR_FAIL_MSG:-FAIL: exit status $rc}" >&2
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        printf 'kept %s\n' "$TSR_TMP" >&2
    else
        rm -rf "$TSR_TMP"
    fi
    exit "$rc"
}
trap tsr_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports and readiness -------------------------------------------------------------

# free_port: print a loopback TCP port that nothing listens on now.
free_port()
{
    # Callers use $(free_port), a subshell: the ports handed out are remembered in a
    # file, since a variable set there would be lost and the same port could come back.
    local port used=$TSR_TMP/.ports
    while :; do
        port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
        grep -qx "$port" "$used" 2>/dev/null || break
    done
    echo "$port" >>"$used"
    echo "$port"
}

# port_open PORT: does something accept TCP connections on 127.0.0.1:PORT?
port_open()
{
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT [TIMEOUT_S]: wait until 127.0.0.1:PORT accepts connections (30 s).
wait_port()
{
    local port=$1 timeout=${2:-30} i
    for ((i = 0; i < timeout * 10; i++)); do
        port_open "$port" && return 0
        sleep 0.1
    done
    fail "nothing listens on 127.0.0.1:$port after ${timeout}s"
}

# wait_http URL [TIMEOUT_S] [CODE]: wait until GET URL answers CODE (200).
wait_http()
{
    local url=$1 timeout=${2:-30} want=${3:-200} i code
    for ((i = 0; i < timeout * 10; i++)); do
        code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null) || true
        [ "$code" = "$want" ] && return 0
        sleep 0.1
    done
    fail "$url did not answer $want within ${timeout}s (last: ${code:-none})"
}

# Waits until CHECK (a command) succeeds while the server PID is alive.
wait_server()
{
    local name=$1 pid=$2 timeout=$3 i
    shift 3
    for ((i = 0; i < timeout * 10; i++)); do
        "$@" && return 0
        alive "$pid" || start_failed "$name" "exited while starting"
        sleep 0.1
    done
    start_failed "$name" "not ready after ${timeout}s"
}

# --- Kafka (KRaft, single node) ------------------------------------------------------

kafka_libs()
{
    if [ -n "${KAFKA_LIBS:-}" ]; then
        echo "$KAFKA_LIBS"
        return
    fi
    local v
    v=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$REPO_ROOT/tools/kafka/pom.xml")
    local dir=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}/kafka-$v/libs
    [ -f "$dir/kafka_2.13-$v.jar" ] || fail "kafka jars missing in $dir: run tools/setup.sh"
    echo "$dir"
}

# A small heap and a quick JIT: on 2 cores the JVM's start dominates the test time.
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.awt.headless=true}

TSR_CDS_DIR=

# Class data sharing: the first clean exit of a JVM dumps the classes it loaded into an
# archive next to the jars, and later starts map it instead of parsing ~60 jars (the
# broker starts in about 2 s instead of 3). The archive is written to a private name and
# moved into place only after a clean exit, so a killed JVM never leaves a bad one; a
# stale archive (jars fetched again) is ignored by the JVM. TSR_KAFKA_CDS=0 turns it off.
# kafka_cds_opt NAME: print the JVM option for archive NAME.
kafka_cds_opt()
{
    [ "${TSR_KAFKA_CDS:-1}" = 1 ] || return 0
    local jsa=$TSR_CDS_DIR/$1.jsa
    if [ -s "$jsa" ]; then
        echo "-XX:SharedArchiveFile=$jsa"
    elif [ -w "$(dirname "$jsa")" ]; then
        echo "-XX:ArchiveClassesAtExit=$jsa.$$.tmp"
    fi
}

# kafka_cds_done NAME CLEAN: install (CLEAN=1) or drop the archive this shell dumped.
kafka_cds_done()
{
    [ -n "$TSR_CDS_DIR" ] || return 0
    local jsa=$TSR_CDS_DIR/$1.jsa
    [ -e "$jsa.$$.tmp" ] || return 0
    if [ "$2" = 1 ] && [ -s "$jsa.$$.tmp" ]; then
        mv -f "$jsa.$$.tmp" "$jsa"
    else
        rm -f "$jsa.$$.tmp"
    fi
}

# The listener opens before the broker has registered with the controller: ask for
# metadata, which names broker 1 only once it is usable. kcat waits out its whole -m
# timeout on a closed port, so knock first.
kafka_ready()
{
    port_open "$KAFKA_PORT" &&
        kcat -b "$KAFKA_BROKERS" -L -m 2 2>/dev/null | grep -q 'broker 1 at'
}

# start_kafka: start a single-node KRaft broker+controller; on a second call (after
# stop_kafka) reuse its ports and data.
# Exports KAFKA_PORT, KAFKA_BROKERS (127.0.0.1:PORT), KAFKA_CONTROLLER_PORT, KAFKA_PID,
# KAFKA_DIR (server.properties, data/ under $TSR_TMP/kafka; log in $TSR_TMP/kafka.log).
start_kafka()
{
    local libs dir t0
    t0=$(date +%s%3N)
    libs=$(kafka_libs)
    TSR_CDS_DIR=$(dirname "$libs")
    dir=$TSR_TMP/kafka
    if [ -z "${KAFKA_PORT:-}" ] || [ ! -f "$dir/server.properties" ]; then
        KAFKA_PORT=$(free_port)
        KAFKA_CONTROLLER_PORT=$(free_port)
        mkdir -p "$dir/data"
        # KAFKA_SASL_USER/KAFKA_SASL_PASSWORD and KAFKA_TLS_P12 (a PKCS#12 keystore,
        # password "changeit"): a second listener, SASL_SSL with SCRAM-SHA-512, on
        # KAFKA_SASL_PORT; the harness's own tools keep the PLAINTEXT one.
        local sasl_listener="" sasl_advertised="" sasl_map="" sasl_conf=""
        if [ -n "${KAFKA_SASL_USER:-}" ]; then
            KAFKA_SASL_PORT=$(free_port)
            sasl_listener=",SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
            sasl_advertised=",SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
            sasl_map=",SASL_SSL:SASL_SSL"
            sasl_conf="sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_TLS_P12
ssl.keystore.password=changeit
ssl.key.password=changeit"
        fi
        cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT$sasl_listener
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT$sasl_advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$sasl_map
$sasl_conf
log.dirs=$dir/data
num.partitions=${KAFKA_PARTITIONS:-4}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=${KAFKA_AUTO_CREATE:-true}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# After a kill -9 the controller refuses the broker's new registration until the old
# one's session expires (9 s by default): keep crash-restart tests quick.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
# log.flush.* stay at their defaults: durability comes from acks=all (replication),
# not fsync, exactly as in production.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
${KAFKA_EXTRA_CONFIG:-}
EOF
        cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
        # A KRaft cluster id is 16 random bytes, base64url without padding.
        local id cds rc=0
        id=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')
        cds=$(kafka_cds_opt storage-tool)
        # shellcheck disable=SC2086
        java $KAFKA_JVM_OPTS -Xms64m $cds -cp "$libs/*" \
            -Dlog4j.configuration="file:$dir/log4j.properties" \
            kafka.tools.StorageTool format --cluster-id="$id" -c "$dir/server.properties" \
            ${KAFKA_SASL_USER:+--add-scram "SCRAM-SHA-512=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]"} \
            >>"$TSR_TMP/kafka.log" 2>&1 || rc=$?
        kafka_cds_done storage-tool "$((rc == 0))"
        [ "$rc" -eq 0 ] || start_failed kafka "storage format failed"
    fi
    export KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_DIR=$dir KAFKA_SASL_PORT
    export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
    # shellcheck disable=SC2046,SC2086
    spawn kafka java $KAFKA_JVM_OPTS $(kafka_cds_opt broker) -cp "$libs/*" \
        -Dlog4j.configuration="file:$dir/log4j.properties" kafka.Kafka "$dir/server.properties"
    export KAFKA_PID=$SPAWN_PID
    wait_server kafka "$KAFKA_PID" 60 kafka_ready
    log "kafka up on $KAFKA_BROKERS in $(($(date +%s%3N) - t0)) ms"
}

# stop_kafka [TIMEOUT_S]: graceful shutdown (SIGTERM), SIGKILL after TIMEOUT_S (30).
stop_kafka()
{
    [ -n "${KAFKA_PID:-}" ] || return 0
    stop_pid "$KAFKA_PID" "${1:-30}"
    KAFKA_PID=
    kafka_cds_done broker "$((!TSR_STOP_KILLED))"
}

# kill_kafka: SIGKILL the broker, as a crash would (the next start recovers its logs).
kill_kafka()
{
    [ -n "${KAFKA_PID:-}" ] || return 0
    stop_pid "$KAFKA_PID" 5 KILL
    KAFKA_PID=
    kafka_cds_done broker 0
}

# restart_kafka [TIMEOUT_S]: stop_kafka, then start_kafka on the same ports and data.
restart_kafka()
{
    stop_kafka "$@"
    start_kafka
}

# --- InfluxDB 1.x --------------------------------------------------------------------

# start_influxdb: start influxd with everything under $TSR_TMP/influxdb.
# Exports INFLUX_PORT, INFLUX_URL (http://127.0.0.1:PORT), INFLUX_PID. With
# INFLUX_TLS_CERT and INFLUX_TLS_KEY (PEM files) it serves https only, and INFLUX_URL
# is https://127.0.0.1:PORT (curl then needs CURL_CA_BUNDLE or --cacert).
start_influxdb()
{
    local dir=$TSR_TMP/influxdb
    if [ -z "${INFLUX_PORT:-}" ] || [ ! -f "$dir/influxdb.conf" ]; then
        INFLUX_PORT=$(free_port)
        INFLUX_RPC_PORT=$(free_port)
        mkdir -p "$dir"
        # Only the HTTP API listens (plus the RPC service used by backup/restore, which
        # 1.x cannot turn off, so it gets its own loopback port); no usage reporting,
        # no _internal monitoring database, no background services that would add
        # writes or queries the tests did not make.
        # Usage reporting is "reporting-disabled = true" upstream; Debian's build renames
        # the key to "reporting-enabled" (default false). 1.x ignores unknown keys, so
        # both are written and whichever binary runs honours its own.
        cat >"$dir/influxdb.conf" <<EOF
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"

[meta]
  dir = "$dir/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  wal-fsync-delay = "0s"
  index-version = "inmem"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = false
  log-enabled = true
  pprof-enabled = false
  unix-socket-enabled = false
  https-enabled = $([ -n "${INFLUX_TLS_CERT:-}" ] && echo true || echo false)
  https-certificate = "${INFLUX_TLS_CERT:-}"
  https-private-key = "${INFLUX_TLS_KEY:-}"

[continuous_queries]
  enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[logging]
  level = "info"
  suppress-logo = true

[[graphite]]
  enabled = false
[[collectd]]
  enabled = false
[[opentsdb]]
  enabled = false
[[udp]]
  enabled = false
EOF
    fi
    local scheme=http
    [ -n "${INFLUX_TLS_CERT:-}" ] && scheme=https
    export INFLUX_PORT INFLUX_RPC_PORT INFLUX_URL=$scheme://127.0.0.1:$INFLUX_PORT
    # Debian's influxd reads INFLUXDB_* variables over the file: make sure none leak in.
    # shellcheck disable=SC2046
    spawn influxdb env $(env | sed -n 's/^\(INFLUXDB_[A-Z0-9_]*\)=.*/-u \1/p') \
        influxd run -config "$dir/influxdb.conf"
    export INFLUX_PID=$SPAWN_PID
    wait_server influxdb "$INFLUX_PID" 30 \
        curl -sf -o /dev/null -m 1 "$INFLUX_URL/ping"
    log "influxdb up on $INFLUX_URL"
}

stop_influxdb()
{
    [ -n "${INFLUX_PID:-}" ] || return 0
    stop_pid "$INFLUX_PID" "${1:-10}"
    INFLUX_PID=
}

# influx_query DB QUERY: run an InfluxQL query, print the JSON answer.
influx_query()
{
    curl -sS -m 10 --fail-with-body -G "$INFLUX_URL/query" --data-urlencode "db=$1" \
        --data-urlencode "q=$2"
}

# --- VictoriaMetrics -----------------------------------------------------------------

# start_victoriametrics: single-node victoria-metrics with data in $TSR_TMP/vm.
# Exports VM_PORT, VM_URL (http://127.0.0.1:PORT), VM_PID.
# Extra flags can be given as arguments (or VM_FLAGS); VM_SCHEME=https with -tls flags.
start_victoriametrics()
{
    [ -n "${VM_PORT:-}" ] || VM_PORT=$(free_port)
    export VM_PORT VM_URL=${VM_SCHEME:-http}://127.0.0.1:$VM_PORT
    # -retentionPeriod=100y: tests write old timestamps on purpose (replays);
    # -search.latencyOffset=0s and -search.disableCache: a query sees a point as soon as
    # it is flushed (about 1 s after the write), not 30 s later or from a stale cache.
    # shellcheck disable=SC2086
    spawn victoriametrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
        -storageDataPath="$TSR_TMP/vm" -retentionPeriod=100y \
        -search.latencyOffset=0s -search.disableCache -loggerLevel=INFO \
        ${VM_FLAGS:-} "$@"
    export VM_PID=$SPAWN_PID
    wait_server victoriametrics "$VM_PID" 30 \
        curl -sf -o /dev/null -m 1 "$VM_URL/health"
    log "victoriametrics up on $VM_URL"
}

stop_victoriametrics()
{
    [ -n "${VM_PID:-}" ] || return 0
    stop_pid "$VM_PID" "${1:-10}"
    VM_PID=
}

# vm_flush: make everything written so far visible to queries now.
vm_flush()
{
    curl -sf -m 10 -o /dev/null "$VM_URL/internal/force_flush"
}
