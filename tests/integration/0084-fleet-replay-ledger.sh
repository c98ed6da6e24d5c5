#!/usr/bin/env bash
# timeout: 420
# asan: no (the longest test, 65 s under ASan: the fleet runs under ASan in 0080, and
# make test must stay under 25 minutes)
# A fleet of three relays shares replays and the ledger through the fleet topic:
# - a replay started through a relay that is not the coordinator runs once (on the
#   coordinator), is listed by every relay, and finishes although the coordinator is
#   killed with SIGKILL in the middle of it: InfluxDB's dropped database comes back to
#   exactly the points sent;
# - a cluster down for 10 s is one ledger interval, the same on every relay, and every
#   relay's /clusters/vm/ready turns 200 once the whole cluster has caught up.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"
# Points resent after the outage must overwrite themselves here: deduplication on.
export VM_FLAGS=-dedup.minScrapeInterval=1ms

export KAFKA_PARTITIONS=12
fleet_servers
status() { curl -s "http://127.0.0.1:$(fleet_admin "$1")/status"; }
actl() { local i=$1; shift; "$(dirname "$TSRELAY_BIN")/tsrelayctl" -a "127.0.0.1:$(fleet_admin "$i")" "$@"; }
coordinator()
{
    local i
    for i in "$@"; do
        status "$i" | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin).get('coordinator') else 1)" &&
            { echo "$i"; return 0; }
    done
    return 1
}

fleet_start 1
fleet_start 2
fleet_start 3
for ((t = 0; t < 150; t++)); do coord=$(coordinator 1 2 3) && break; sleep 0.2; done
[ -n "${coord:-}" ] || fail "no relay became the coordinator"
log "coordinator: relay$coord"
others=()
for i in 1 2 3; do [ "$i" = "$coord" ] || others+=("$i"); done
asker=${others[0]} lister=${others[1]}

since=$(rfc3339 $(($(date +%s%3N) - 2000)))
fleet_send 1 0 40000 >/dev/null || fail "writes not acknowledged"
fleet_send 2 40000 40000 >/dev/null || fail "writes not acknowledged"
wait_counts influx "$(expected_counts 80000)" 90
wait_counts vm "$(expected_counts 80000)" 90

# --- a replay through a relay that does not run jobs, its runner killed midway ---------
recreate_influx_db
actl "$asker" --json replay start --cluster influx --since "$since" --rate 8000 >"$TSR_TMP/start.json" ||
    { cat "$TSR_TMP/start.json" >&2; fail "replay start through relay$asker"; }
id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['id'])" "$TSR_TMP/start.json")
log "replay $id started through relay$asker"
actl "$lister" --json replay list | python3 -c "
import json, sys
ids = [j['id'] for j in json.load(sys.stdin)['replays']]
assert $id in ids, ids" || fail "replay $id not listed by relay$lister"
sleep 3
done_before=$(actl "$lister" --json replay show "$id" | python3 -c "import json,sys; print(json.load(sys.stdin)['points_sent'])")
log "killing the coordinator relay$coord with the job at $done_before points"
[ "$done_before" -lt 80000 ] || fail "the replay finished before the kill; nothing tested"
fleet_kill "$coord"
# The session timeout, then the rest of the job at its rate: well within two minutes.
deadline=$((SECONDS + 120))
while :; do
    st=$(actl "$lister" --json replay show "$id" | python3 -c "import json,sys; print(json.load(sys.stdin)['state'])")
    [ "$st" != done ] && [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
done
if [ "$st" != done ]; then
    for i in "${others[@]}"; do
        printf -- '--- relay%s: the job, and what it logged of the fleet and its replays\n' "$i" >&2
        actl "$i" --json replay show "$id" >&2 || true
        grep -E 'replay|fleet|coordinator' "$TSR_TMP/relay$i.log" | tail -n 40 >&2 || true
    done
fi
assert_eq "$st" done "replay $id after its runner was killed"
new=$(coordinator "${others[@]}") || fail "no new coordinator"
log "relay$new took the job over and finished it"
wait_counts influx "$(expected_counts 80000)" 60
counts_influx tsrtest --sample 7 --sample 39999 --sample 79999 --step-ns 1000000 >/dev/null ||
    fail "influx sampled values differ after the replay"
fleet_start "$coord" # back, as a member that no longer coordinates
for i in 1 2 3; do
    n=$(actl "$i" --json replay list | python3 -c "import json,sys; print(len(json.load(sys.stdin)['replays']))")
    assert_eq "$n" 1 "replay jobs listed by relay$i"
done

# --- a cluster down for 10 s: one interval, on every relay ------------------------------
for i in 1 2 3; do wait_http "http://127.0.0.1:$(fleet_admin "$i")/clusters/vm/ready" 60 200 || fail "vm not ready on relay$i"; done
ledger_of() { status "$1" | python3 -c "
import json, sys
c = next(c for c in json.load(sys.stdin)['clusters'] if c['name'] == 'vm')
print(json.dumps([(e['id'], e['kind'], e['from_ms'], e['to_ms']) for e in c['ledger'] if e['kind'] == 'outage']))"; }
before=$(ledger_of 1)
# Writes from 3 s before the outage to its end: the coordinator's recovery rewind has
# something to resend.
fleet_send 1 80000 40000 --batch 1000 --pause 0.25 >/dev/null &
writer=$!
sleep 3
stop_victoriametrics
sleep 10
wait "$writer" || fail "writes around the outage not acknowledged"
start_victoriametrics
for i in 1 2 3; do wait_http "http://127.0.0.1:$(fleet_admin "$i")/clusters/vm/ready" 90 200 || fail "vm not ready again on relay$i"; done
wait_counts vm "$(expected_counts 120000)" 60
sleep 1.5 # the ledger record travels through kafka to every relay
l1=$(ledger_of 1) l2=$(ledger_of 2) l3=$(ledger_of 3)
log "ledger before: $before; after: $l1"
python3 - "$before" "$l1" <<'PY' || fail "not exactly one new closed outage interval"
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
new = [e for e in after if e not in before]
assert len(new) == 1, new
assert new[0][3] > new[0][2] >= 0, new
assert new[0][3] - new[0][2] >= 7000, new
PY
assert_eq "$l2" "$l1" "ledger of relay2 against relay1"
assert_eq "$l3" "$l1" "ledger of relay3 against relay1"
# The window before the outage is resent once for the whole fleet, every partition in
# one job, by the coordinator: not once per relay.
for i in 1 2 3; do
    rewinds=$(actl "$i" --json replay list | python3 -c "
import json, sys
jobs = [j for j in json.load(sys.stdin)['replays'] if j['started_by'] == 'tsrelay: recovery rewind' and j['cluster'] == 'vm']
print(len(jobs))")
    assert_eq "$rewinds" 1 "recovery rewinds of vm listed by relay$i"
done

# --- tsrelayctl on any relay: the member, its share, and who delivers each partition ----
out=$(actl "$lister" status) || fail "tsrelayctl status on relay$lister"
grep -q "instance relay$lister" <<<"$out" || fail "status does not name the instance: $out"
grep -qE "^this relay delivers: influx [0-9]+/12, vm [0-9]+/12 partitions$" <<<"$out" ||
    fail "status does not show this relay's share: $out"
out=$(actl "$lister" checkpoints --cluster vm) || fail "tsrelayctl checkpoints on relay$lister"
grep -qE '^CLUSTER +PARTITION +POSITION +HIGH +LAG +DELIVERED BY$' <<<"$out" || fail "checkpoints header: $out"
owners=$(awk 'NR > 1 && $6 ~ /^relay[123]$/' <<<"$out" | wc -l)
assert_eq "$owners" 12 "partitions with a named relay delivering them"
