#!/usr/bin/env bash
# timeout: 60
# deploy/prometheus/tsrelay-rules.yaml is valid (promtool check rules) and each alert
# fires when, and only when, its unit test says (promtool test rules on
# tsrelay-rules.test.yaml); and every tsrelay_* metric the rules use is one the relay
# exports (the names in relay/ and replay/ sources: a live relay's /metrics is checked
# against the dashboard by 0007).
. "$(dirname "$0")/../lib/harness.sh"

dir=$REPO_ROOT/deploy/prometheus
command -v promtool >/dev/null || fail "promtool not found: run tools/setup.sh"
promtool check rules "$dir/tsrelay-rules.yaml" >"$TSR_TMP/check" 2>&1 || fail "promtool check rules: $(cat "$TSR_TMP/check")"
log "$(grep -o 'SUCCESS: [0-9]* rules found' "$TSR_TMP/check")"
(cd "$dir" && promtool test rules tsrelay-rules.test.yaml) >"$TSR_TMP/test" 2>&1 ||
    fail "promtool test rules: $(cat "$TSR_TMP/test")"
# Every alert has a test of its own.
for a in $(sed -n 's/^ *- alert: //p' "$dir/tsrelay-rules.yaml"); do
    grep -q "alertname: $a\$" "$dir/tsrelay-rules.test.yaml" || fail "alert $a has no unit test"
done
for m in $(grep -o 'tsrelay_[a-z_]*' "$dir/tsrelay-rules.yaml" | sort -u); do
    grep -rqF "\"$m" "$REPO_ROOT/relay" || fail "the rules use $m, which the relay does not export"
done
log "alerts: $(sed -n 's/^ *- alert: //p' "$dir/tsrelay-rules.yaml" | tr '\n' ' ')"
