#!/usr/bin/env bash
# timeout: 180
# make deb's package, installed for real (apt-get install ./tsrelay_*.deb, as root or
# through sudo): the binaries in /usr/bin answer --version, their man pages render,
# the tsrelay user and /var/lib/tsrelay exist, the shipped unit points at /usr/bin and
# keeps its systemd-analyze score, and tsrelay --check-config passes on the installed
# /etc/tsrelay/tsrelay.yaml. Then apt-get purge removes it all but the state directory
# (the user stays too, as Debian packages leave their system users).
. "$(dirname "$0")/../lib/harness.sh"

if dpkg-query -W -f='${db:Status-Abbrev}' tsrelay 2>/dev/null | grep -q '^ii'; then
    fail "a tsrelay package is already installed here; this test would replace it"
fi
had_state=0
[ -e /var/lib/tsrelay ] && had_state=1
version=$(sed -n 's/^#define TSR_VERSION "\(.*\)"/\1/p' "$REPO_ROOT/relay/core/version.h")
deb=$("$REPO_ROOT/deploy/debian/build.sh" "$TSR_TMP") || fail "the package build failed"
log "built $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
at_exit 'as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tsrelay >/dev/null 2>&1'
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" \
    >"$TSR_TMP/apt.log" 2>&1 || fail "apt-get install failed: $(tail -n 5 "$TSR_TMP/apt.log")"

assert_eq "$(/usr/bin/tsrelay --version)" "tsrelay $version" "installed tsrelay --version"
assert_eq "$(/usr/bin/tsrelayctl --version)" "tsrelayctl $version" "installed tsrelayctl --version"
for page in tsrelay tsrelayctl; do
    man -l /usr/share/man/man1/$page.1.gz 2>/dev/null | grep -q -- '--help' || fail "man page of $page does not render"
done
man -l /usr/share/man/man1/tsrelay.1.gz 2>/dev/null | grep -q -- 'check-config' || fail "tsrelay's man page lacks --check-config"
getent passwd tsrelay >/dev/null || fail "no tsrelay user"
assert_eq "$(stat -c '%U %a' /var/lib/tsrelay)" "tsrelay 700" "/var/lib/tsrelay owner and mode"
assert_eq "$(stat -c '%U:%G %a' /etc/tsrelay/tsrelay.yaml)" "root:tsrelay 640" "config owner and mode"
grep -qxF 'ExecStart=/usr/bin/tsrelay -c /etc/tsrelay/tsrelay.yaml' /lib/systemd/system/tsrelay.service ||
    fail "the installed unit does not start /usr/bin/tsrelay"
score=$(systemd-analyze security --offline=yes /lib/systemd/system/tsrelay.service 2>&1 |
    sed -n 's/.*Overall exposure level for tsrelay.service: \([0-9.]*\).*/\1/p')
log "installed unit: systemd-analyze security $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "the installed unit scores $score"
as_root /usr/bin/tsrelay --check-config -c /etc/tsrelay/tsrelay.yaml >"$TSR_TMP/check" 2>&1 ||
    fail "--check-config on the installed config: $(cat "$TSR_TMP/check")"

as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tsrelay >"$TSR_TMP/purge.log" 2>&1 ||
    fail "apt-get purge failed: $(tail -n 5 "$TSR_TMP/purge.log")"
[ ! -e /usr/bin/tsrelay ] || fail "/usr/bin/tsrelay left after purge"
[ ! -e /etc/tsrelay/tsrelay.yaml ] || fail "the config left after purge"
[ -d /var/lib/tsrelay ] || fail "purge removed the state directory (its spool may hold points)"
[ "$had_state" = 1 ] || as_root rm -rf /var/lib/tsrelay
log "installed, checked and purged"
