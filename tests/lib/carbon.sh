# tests/lib/carbon.sh — Graphite's carbon-cache (Debian's graphite-carbon) in an
# integration test, and its whisper files read back (python3-whisper). Sourced after
# harness.sh.
#
#   start_carbon     a carbon-cache with its plaintext receiver on CARBON_PORT (picked
#                    once, kept across restarts), whisper files under $TSR_TMP/carbon,
#                    one-second points kept for a day; sets CARBON_PID
#   stop_carbon      SIGTERM and wait
#   whisper_counts PATH FROM UNTIL   "POINTS SUM" of the whisper file of metric PATH
#                    (a.b.c) between the Unix seconds FROM and UNTIL; "0 0" if it has
#                    no file yet

start_carbon()
{
    local d=$TSR_TMP/carbon
    [ -n "${CARBON_PORT:-}" ] || CARBON_PORT=$(free_port)
    [ -n "${CARBON_PICKLE_PORT:-}" ] || CARBON_PICKLE_PORT=$(free_port)
    [ -n "${CARBON_QUERY_PORT:-}" ] || CARBON_QUERY_PORT=$(free_port)
    export CARBON_PORT
    mkdir -p "$d/conf" "$d/log" "$d/run" "$d/whisper"
    cat >"$d/conf/carbon.conf" <<CONF
[cache]
STORAGE_DIR = $d
LOCAL_DATA_DIR = $d/whisper
WHITELISTS_DIR = $d/lists
CONF_DIR = $d/conf
LOG_DIR = $d/log
PID_DIR = $d/run
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $CARBON_PORT
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $CARBON_PICKLE_PORT
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $CARBON_QUERY_PORT
ENABLE_TAGS = False
CONF
    printf '[all]\npattern = .*\nretentions = 1s:1d\n' >"$d/conf/storage-schemas.conf"
    rm -f "$d/run/"*.pid
    spawn carbon carbon-cache --config="$d/conf/carbon.conf" --nodaemon start
    CARBON_PID=$SPAWN_PID
    wait_server carbon "$CARBON_PID" 60 port_open "$CARBON_PORT"
    log "carbon-cache up on 127.0.0.1:$CARBON_PORT"
}

stop_carbon()
{
    [ -n "${CARBON_PID:-}" ] || return 0
    stop_pid "$CARBON_PID" 20
    CARBON_PID=
}

whisper_counts()
{
    # Debian's python3-whisper is a module of Debian's own python3.
    /usr/bin/python3 - "$TSR_TMP/carbon/whisper/${1//.//}.wsp" "$2" "$3" <<'PY'
import os, sys, whisper
path, since, until = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if not os.path.exists(path):
    print(0, 0)
    sys.exit(0)
_, values = whisper.fetch(path, since, until, now=until + 1)
got = [v for v in values if v is not None]
print(len(got), repr(sum(got)))
PY
}
