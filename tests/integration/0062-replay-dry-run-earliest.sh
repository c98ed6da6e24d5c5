#!/usr/bin/env bash
# timeout: 600
# --dry-run counts equal what a real replay then sends (per measurement too), and a
# brand-new empty cluster (start_from: latest, so it gets only new points) is filled
# with everything Kafka retains by `replay start --since earliest`.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
start_kafka
start_victoriametrics
relay_config
start_relay
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --lines 70000 >/dev/null ||
    fail "writes not acknowledged"
stop_relay

# The new cluster joins: it starts at the end of the topic.
relay_config "clusters:
  - name: fresh
    type: victoriametrics
    urls: [$VM_URL]
    start_from: latest"
start_relay
wait_cluster_ready fresh 30 || fail "fresh not in sync"
sleep 1
assert_eq "$(counts_vm)" "0 0" "the new cluster before the replay"

ctl --json replay start --cluster fresh --since earliest --dry-run --wait >"$TSR_TMP/dry.json" || fail "dry run"
python3 - "$TSR_TMP/dry.json" <<'PY' || fail "dry run result"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["state"] == "done" and j["dry_run"], j
assert j["points_sent"] == 70000, j["points_sent"]
m = {x["name"]: x["points"] for x in j["measurements"]}
assert m == {f"m{k}": 10000 for k in range(7)}, m
PY
sleep 1
assert_eq "$(counts_vm)" "0 0" "a dry run sends nothing"

ctl replay start --cluster fresh --since earliest --wait >/dev/null || fail "replay"
wait_counts vm "$(expected_counts 70000)" 60
real=$(ctl --json replay show 2 | python3 -c "import json,sys; print(json.load(sys.stdin)['points_sent'])")
dry=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['points_sent'])" "$TSR_TMP/dry.json")
assert_eq "$real" "$dry" "points sent by the replay vs counted by the dry run"
list=$(ctl --json replay list | python3 -c "import json,sys; print(len(json.load(sys.stdin)['replays']))")
assert_eq "$list" 2 "jobs listed (the audit trail keeps finished ones)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
