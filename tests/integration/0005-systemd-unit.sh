#!/usr/bin/env bash
# timeout: 60
# deploy/systemd/tsrelay.service keeps to least privilege: systemd-analyze scores its
# exposure at 2.5 or lower (offline: no systemd needs to run here), and the unit names
# the binary, config and exit-code policy the README documents. What this does not show:
# the relay running under the unit's sandbox (no systemd as PID 1 on the test machine).
. "$(dirname "$0")/../lib/harness.sh"

unit=$REPO_ROOT/deploy/systemd/tsrelay.service
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found: run tools/setup.sh"
systemd-analyze security --offline=yes "$unit" >"$TSR_TMP/score" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for tsrelay.service: \([0-9.]*\).*/\1/p' "$TSR_TMP/score")
[ -n "$score" ] || fail "no score from systemd-analyze: $(tail -n 3 "$TSR_TMP/score")"
log "systemd-analyze security: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "exposure $score is above 2.5: $(grep '✗' "$TSR_TMP/score")"
systemd-analyze security --offline=yes --threshold=25 "$unit" >/dev/null 2>&1 ||
    fail "systemd-analyze --threshold=25 refused the unit"
for want in 'ExecStart=/usr/local/bin/tsrelay -c /etc/tsrelay/tsrelay.yaml' 'RestartPreventExitStatus=2' \
    'KillSignal=SIGTERM' 'StateDirectory=tsrelay' 'User=tsrelay'; do
    grep -qxF "$want" "$unit" || fail "the unit lacks $want"
done
