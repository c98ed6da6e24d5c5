# tests/lib/kafka3.sh — a three-broker KRaft cluster on loopback, for the tests where
# durability across replicas is the point (sourced after harness.sh).
#
#   start_kafka3        three combined broker+controller nodes (ids 1-3), each with its
#                       own port and data dir under $TSR_TMP/kafka3-N; internal topics
#                       with 3 replicas and min ISR 2, as in production. Exports
#                       KAFKA_BROKERS (all three), KAFKA3_PORT[1..3], KAFKA3_PID[1..3].
#   kill_broker N       SIGKILL broker N, as a crash would
#   start_broker N      start broker N again on its port and data
#   brokers_up          how many brokers the cluster's metadata names
#   cut_broker N        with KAFKA3_CLIENT_PROXY=1: the network between the clients and
#   heal_broker N       broker N fails, or works again (tests/tools/tcpproxy.py)
# KAFKA3_CLIENT_PROXY=1: clients reach each broker through tcpproxy.py, on a listener of
# their own (CLIENT); the brokers reach each other directly. KAFKA_BROKERS then names the
# proxies, and so does the metadata the brokers give clients.
# Heaps stay small (KAFKA_JVM_OPTS): three JVMs share two cores.

declare -a KAFKA3_PORT=() KAFKA3_CTRL=() KAFKA3_PID=() KAFKA3_CLIENT=() KAFKA3_PROXY=()

cut_broker() { curl -sf -o /dev/null -X POST "http://127.0.0.1:$KAFKA3_PROXY_CONTROL/cut?pair=$(($1 - 1))"; }
heal_broker() { curl -sf -o /dev/null -X POST "http://127.0.0.1:$KAFKA3_PROXY_CONTROL/heal?pair=$(($1 - 1))"; }

start_broker()
{
    local n=$1 libs
    libs=$(kafka_libs)
    # The class archive the single-broker tests leave, if there is one (three JVMs
    # must not dump one at once).
    local cds=""
    [ -s "$(dirname "$libs")/broker.jsa" ] && cds="-XX:SharedArchiveFile=$(dirname "$libs")/broker.jsa"
    # shellcheck disable=SC2086
    spawn "kafka$n" java $KAFKA_JVM_OPTS $cds -cp "$libs/*" \
        -Dlog4j.configuration="file:$TSR_TMP/kafka3-$n/log4j.properties" kafka.Kafka \
        "$TSR_TMP/kafka3-$n/server.properties"
    KAFKA3_PID[$n]=$SPAWN_PID
}

kill_broker()
{
    [ -n "${KAFKA3_PID[$1]:-}" ] || return 0
    stop_pid "${KAFKA3_PID[$1]}" 5 KILL
    KAFKA3_PID[$1]=
}

brokers_up()
{
    kcat -b "$KAFKA_BROKERS" -L -m 3 2>/dev/null | grep -c '^  broker [0-9]* at' || true
}

start_kafka3()
{
    local libs n t0 voters="" id
    t0=$(date +%s%3N)
    libs=$(kafka_libs)
    for n in 1 2 3; do
        KAFKA3_PORT[$n]=$(free_port)
        KAFKA3_CTRL[$n]=$(free_port)
        voters+="${voters:+,}$n@127.0.0.1:${KAFKA3_CTRL[$n]}"
    done
    local proxied=${KAFKA3_CLIENT_PROXY:-0} pairs=()
    if [ "$proxied" = 1 ]; then
        for n in 1 2 3; do
            KAFKA3_CLIENT[$n]=$(free_port)
            KAFKA3_PROXY[$n]=$(free_port)
            pairs+=(--pair "${KAFKA3_PROXY[$n]}:${KAFKA3_CLIENT[$n]}")
        done
        KAFKA3_PROXY_CONTROL=$(free_port)
        spawn tcpproxy python3 "$REPO_ROOT/tests/tools/tcpproxy.py" "${pairs[@]}" --control "$KAFKA3_PROXY_CONTROL"
        wait_server tcpproxy "$SPAWN_PID" 30 curl -sf -o /dev/null -m 1 "http://127.0.0.1:$KAFKA3_PROXY_CONTROL/stats"
    fi
    id=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')
    for n in 1 2 3; do
        local dir=$TSR_TMP/kafka3-$n
        mkdir -p "$dir/data"
        local listeners="PLAINTEXT://127.0.0.1:${KAFKA3_PORT[$n]},CONTROLLER://127.0.0.1:${KAFKA3_CTRL[$n]}"
        local advertised="PLAINTEXT://127.0.0.1:${KAFKA3_PORT[$n]}"
        if [ "$proxied" = 1 ]; then
            listeners+=",CLIENT://127.0.0.1:${KAFKA3_CLIENT[$n]}"
            advertised+=",CLIENT://127.0.0.1:${KAFKA3_PROXY[$n]}"
        fi
        cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT
log.dirs=$dir/data
num.partitions=${KAFKA_PARTITIONS:-4}
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=5000
num.network.threads=2
num.io.threads=2
background.threads=1
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
EOF
        cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
        # shellcheck disable=SC2086
        java $KAFKA_JVM_OPTS -Xms64m -cp "$libs/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
            kafka.tools.StorageTool format --cluster-id="$id" -c "$dir/server.properties" \
            >>"$TSR_TMP/kafka3-format.log" 2>&1 || start_failed kafka "storage format of broker $n failed"
    done
    export KAFKA_BROKERS="127.0.0.1:${KAFKA3_PORT[1]},127.0.0.1:${KAFKA3_PORT[2]},127.0.0.1:${KAFKA3_PORT[3]}"
    [ "$proxied" != 1 ] ||
        KAFKA_BROKERS="127.0.0.1:${KAFKA3_PROXY[1]},127.0.0.1:${KAFKA3_PROXY[2]},127.0.0.1:${KAFKA3_PROXY[3]}"
    for n in 1 2 3; do start_broker "$n"; done
    wait_server kafka "${KAFKA3_PID[1]}" 90 eval '[ "$(brokers_up)" = 3 ]'
    log "kafka: 3 brokers up on $KAFKA_BROKERS in $(($(date +%s%3N) - t0)) ms"
}
