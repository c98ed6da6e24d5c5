#!/usr/bin/env bash
# timeout: 400
# The spool's disk fills up while Kafka is away: state_dir is a 48 MiB filesystem (tmpfs,
# mounted by the test: needs root or sudo), a quarter of it taken by a filler file. Writes get
# 204 while the spool has room, then 503 with Retry-After once the disk is full, and the
# relay keeps serving; the filler removed, writes get 204 again. Kafka back: the spool
# drains, and every line answered 204 is in Kafka.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

small=$TSR_TMP/small
mkdir -p "$small"
as_root mount -t tmpfs -o "size=48m,mode=0755,uid=$(id -u),gid=$(id -g)" tsrelay-test "$small" ||
    fail "cannot mount a tmpfs on $small"
at_exit 'as_root umount "$small"'
dd if=/dev/zero of="$small/filler" bs=1M count=12 status=none || fail "cannot write the filler"

send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --acked "$TSR_TMP/acked.lp" "$@"; }

start_kafka
relay_config
sed -i "s|^state_dir: .*|state_dir: $small/state|" "$TSR_TMP/relay.yaml"
start_relay
send --lines 10000 --batch 5000 >/dev/null || fail "writes before the outage not acknowledged"

stop_kafka
log "kafka stopped; filling the spool's disk"
send --start 10000 --lines 1500000 --batch 5000 --statuses "$TSR_TMP/st1" --tolerate-errors >"$TSR_TMP/send1.out"
log "while the disk filled: $(cat "$TSR_TMP/send1.out"); $(df -h "$small" | tail -n 1)"
grep -q '^204$' "$TSR_TMP/st1" || fail "nothing spooled before the disk was full"
grep -q '^503$' "$TSR_TMP/st1" || fail "no 503 once the disk was full"
grep -qvE '^(204|503)$' "$TSR_TMP/st1" && fail "answers other than 204 and 503: $(sort "$TSR_TMP/st1" | uniq -c)"
# Requests as large as the writer's, until one is refused: one may still fit in pages
# the spool's file already holds (a failed commit's, or freed ones) and rightly get 204;
# each of those takes what room is left.
seq 0 4999 | awk '{ print "full,k=v" $1 " x=" $1 " " $1 }' >"$TSR_TMP/big.lp"
for ((probe = 1; probe <= 20; probe++)); do
    code=$(curl -s -o "$TSR_TMP/body" -D "$TSR_TMP/head" -w '%{http_code}' --data-binary @"$TSR_TMP/big.lp" \
        "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=tsrtest")
    [ "$code" = 503 ] && break
done
log "a write on the full disk: $code after $((probe - 1)) taken: $(cat "$TSR_TMP/body")"
assert_eq "$code" 503 "a write on the full disk"
grep -qi '^Retry-After:' "$TSR_TMP/head" || fail "503 without Retry-After"
grep -q 'no space left' "$RELAY_LOG" || fail "the log does not say the disk is full"
alive "$RELAY_PID" || fail "the relay died on the full disk"
refused=$(relay_metric tsrelay_spool_refused_total)
[ "$refused" -gt 0 ] || fail "tsrelay_spool_refused_total is 0"

rm -f "$small/filler"
log "filler removed: $(df -h "$small" | tail -n 1)"
send --start 2000000 --lines 20000 --batch 5000 >/dev/null || fail "writes not acknowledged once space returned"

start_kafka
wait_spool_empty 120
send --start 3000000 --lines 10000 --batch 5000 >/dev/null || fail "writes after the drain not acknowledged"
assert_acked_in_topic "$TSR_TMP/acked.lp"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
