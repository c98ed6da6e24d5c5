#!/usr/bin/env bash
# timeout: 60
# The command line: --help, --version, --check-config on good and bad files (the message
# names the key and its line), and exit codes that mean something.
. "$(dirname "$0")/../lib/harness.sh"

run() { rc=0; "$TSRELAY_BIN" "$@" >"$TSR_TMP/out" 2>&1 || rc=$?; }

run --help
assert_eq "$rc" 0 "--help exit code"
grep -q -- '--check-config' "$TSR_TMP/out" || fail "--help does not mention --check-config"
run --version
assert_eq "$rc" 0 "--version exit code"
run
assert_eq "$rc" 2 "no arguments exit code"
run --check-config -c "$REPO_ROOT/config/example.yaml"
assert_eq "$rc" 0 "example config is valid: $(cat "$TSR_TMP/out")"

printf 'datacenter: a\nlisten:\n  htp: 127.0.0.1:1\nkafka:\n  brokers: x:1\n  topic: t\n' >"$TSR_TMP/bad.yaml"
run --check-config -c "$TSR_TMP/bad.yaml"
assert_eq "$rc" 2 "bad config exit code"
grep -q "bad.yaml:3:3: unknown key 'listen.htp'" "$TSR_TMP/out" || fail "message: $(cat "$TSR_TMP/out")"

printf 'datacenter: a\nkafka:\n  brokers: x:1\n  topic: t\n  linger_ms: lots\n' >"$TSR_TMP/bad2.yaml"
run --check-config -c "$TSR_TMP/bad2.yaml"
assert_eq "$rc" 2 "bad value exit code"
grep -q "bad2.yaml:5:.*kafka.linger_ms" "$TSR_TMP/out" || fail "message: $(cat "$TSR_TMP/out")"

run --check-config -c "$TSR_TMP/missing.yaml"
assert_eq "$rc" 2 "missing file exit code"
grep -q "missing.yaml" "$TSR_TMP/out" || fail "message: $(cat "$TSR_TMP/out")"

# A listener that cannot bind is a runtime failure, exit 1, with the address named.
port=$(free_port)
python3 -c "import socket,time;s=socket.socket();s.bind(('127.0.0.1',$port));s.listen();time.sleep(20)" &
holder=$!
track_pid $holder
sleep 0.5
printf 'datacenter: a\nlisten:\n  http: 127.0.0.1:%s\n  admin: 127.0.0.1:%s\nkafka:\n  brokers: 127.0.0.1:1\n  topic: t\n' \
    "$port" "$(free_port)" >"$TSR_TMP/busy.yaml"
run -c "$TSR_TMP/busy.yaml"
assert_eq "$rc" 1 "exit code when the port is taken"
grep -q "cannot listen on '127.0.0.1:$port'" "$TSR_TMP/out" || fail "message: $(cat "$TSR_TMP/out")"
