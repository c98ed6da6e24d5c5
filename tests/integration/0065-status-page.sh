#!/usr/bin/env bash
# timeout: 300
# The status page (GET / on the admin listener) as a person sees it: two clusters
# (InfluxDB, VictoriaMetrics), points written, VictoriaMetrics stopped until /status says
# it is down, then the page is rendered in headless Chromium after its JavaScript ran.
# The rendered DOM must show the datacenter, vm down and not ready with its URL down,
# influx in_sync and ready, and vm's ongoing outage in the ledger with the tsrelayctl
# command that replays it; a 1280x900 screenshot must be non-trivial (> 10 KB). Then,
# through tests/tools/faultproxy.py answering 503 to /status only, the page must show
# the "not answering" banner. Replay jobs (a dry run, a rate-capped replay) are listed
# with their state and progress. Points of a database InfluxDB does not have are listed
# as parked, with the reason. A verify result, as tsrelayctl verify records it (POST
# /verifies), is shown with its verdict, and in /metrics.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/chromium.sh"

start_two_clusters
admin=http://127.0.0.1:$RELAY_ADMIN_PORT
wait_cluster_ready influx 30 || fail "influx not in sync at start: $(cluster_field influx reason)"
wait_cluster_ready vm 30 || fail "vm not in sync at start: $(cluster_field vm reason)"

# GET / serves the page itself, byte for byte, as UTF-8 HTML.
curl -sS -D "$TSR_TMP/page.headers" -o "$TSR_TMP/page.html" "$admin/"
grep -qi '^content-type: text/html; charset=utf-8' "$TSR_TMP/page.headers" ||
    fail "GET / content type: $(grep -i '^content-type' "$TSR_TMP/page.headers")"
cmp -s "$TSR_TMP/page.html" "$REPO_ROOT/relay/admin/status_page.html" ||
    fail "GET / is not relay/admin/status_page.html (stale build?)"

send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --batch 1000 "$@"; }
send --lines 5000 >/dev/null || fail "points not acknowledged"
wait_counts influx "$(expected_counts 5000)" 30
# 40 points of a database InfluxDB does not have: parked, listed on the page.
send --db nodb --start 100000 --lines 40 >/dev/null || fail "nodb points not acknowledged"
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric 'tsrelay_cluster_parked_keys{cluster="influx"}')" = 1 ] && break
    sleep 0.1
done
assert_eq "$(relay_metric 'tsrelay_cluster_parked_keys{cluster="influx"}')" 1 "influx's parked keys"

log "stopping victoriametrics"
stop_victoriametrics
for ((i = 0; i < 300; i++)); do
    [ "$(cluster_field vm state)" = down ] && break
    sleep 0.1
done
assert_eq "$(cluster_field vm state)" down "vm state after victoriametrics stopped"
# Points written during the outage: vm's lag is not zero on the page.
send --start 5000 --lines 3000 >/dev/null || fail "points during the outage not acknowledged"
wait_cluster_ready influx 10 || fail "influx not in sync during vm's outage: $(cluster_field influx reason)"

# Two replay jobs for the page to list: a dry run (done at once) and a real replay of
# everything to influx capped at 100 points/s (still running when the page is rendered).
start_replay()
{
    local out
    out=$(curl -sS -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' -d "$1" "$admin/replays")
    [ "${out##*$'\n'}" = 201 ] || fail "POST /replays $1: ${out//$'\n'/ }"
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "${out%$'\n'*}"
}
dry_id=$(start_replay '{"cluster":"influx","since_ms":0,"dry_run":true,"started_by":"test-0065"}')
run_id=$(start_replay '{"cluster":"influx","since_ms":0,"rate":100,"started_by":"test-0065"}')
out=$(curl -sS -w '\n%{http_code}' -X POST -d '{"started_by":"test-0065","report":{"cluster":"influx",
  "since_ms":1700000000000,"until_ms":1700000600000,"window_ms":60000,"windows":[{"start_ms":1700000120000,
  "end_ms":1700000180000,"kafka":300,"cluster":270,"missing":30,"extra":0}],"kafka":3000,
  "cluster_values":2970,"missing":30,"extra":0,"differ":1,"equal":false}}' "$admin/verifies")
[ "${out##*$'\n'}" = 201 ] || fail "POST /verifies: ${out//$'\n'/ }"
assert_eq "$(relay_metric 'tsrelay_verify_missing_values{cluster="influx"}')" 30 "influx's missing values"
curl -sS "$admin/status" >"$TSR_TMP/status.json"

log "rendering $admin/ in headless chromium"
chromium_run --dump-dom "$admin/" >"$TSR_TMP/dom.html" ||
    fail "chromium --dump-dom failed (log: $(tail -n 5 "$TSR_TMP/chromium.log"))"

# Check the rendered DOM (after the page's JavaScript ran) against /status.
python3 - "$TSR_TMP/dom.html" "$TSR_TMP/status.json" "$VM_URL" "$dry_id" "$run_id" <<'PY' || fail "the rendered page is wrong (DOM in \$TSR_TMP/dom.html)"
import json, re, sys
from datetime import datetime, timezone
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}

class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []
    def text(self):
        return "".join(k if isinstance(k, str) else k.text() for k in self.kids)
    def find(self, pred):
        out = [self] if pred(self) else []
        for k in self.kids:
            if isinstance(k, Node):
                out += k.find(pred)
        return out

class Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = self.cur = Node("#root", {}, None)
    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n
    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent
    def handle_data(self, data):
        self.cur.kids.append(data)

t = Tree()
t.feed(open(sys.argv[1], encoding="utf-8").read())
dom = t.root
status = json.load(open(sys.argv[2]))
vm_url = sys.argv[3]
bad = []

def one(pred, what):
    found = dom.find(pred)
    if len(found) != 1:
        bad.append(f"{what}: found {len(found)}")
        return None
    return found[0]

def by_id(i):
    return one(lambda n: n.attrs.get("id") == i, f"element #{i}")

def squash(s):
    return " ".join(s.split())

def has_badge(node, text):
    return bool(node.find(lambda n: "badge" in n.attrs.get("class", "").split() and n.text() == text))

for i in ("dc", "datacenter"):
    n = by_id(i)
    if n is not None and n.text().strip() != "test":
        bad.append(f"#{i} shows {n.text()!r}, want the datacenter 'test'")

kafka = by_id("card-kafka")
if kafka is not None and not has_badge(kafka, "up"):
    bad.append(f"kafka not shown as up: {squash(kafka.text())!r}")

rows = {}
for name in ("influx", "vm"):
    rows[name] = one(lambda n, name=name: n.tag == "tr" and n.attrs.get("data-cluster") == name,
                     f"cluster row {name}")
vm, influx = rows["vm"], rows["influx"]
if vm is not None:
    txt = squash(vm.text())
    if vm.attrs.get("data-state") != "down" or not has_badge(vm, "down"):
        bad.append(f"vm not shown as down: {txt!r}")
    if not has_badge(vm, "not ready"):
        bad.append(f"vm not shown as not ready: {txt!r}")
    if f"{vm_url} down" not in txt:
        bad.append(f"vm's URL {vm_url} not shown as down: {txt!r}")
    if not re.search(r"[1-9][\d,]* points", txt):
        bad.append(f"vm's lag in points not shown: {txt!r}")
if influx is not None:
    txt = squash(influx.text())
    if influx.attrs.get("data-state") != "in_sync" or not has_badge(influx, "in_sync"):
        bad.append(f"influx not shown as in_sync: {txt!r}")
    if not has_badge(influx, "ready"):
        bad.append(f"influx not shown as ready: {txt!r}")

# vm's outage: an ongoing ledger entry with the command replaying from its start.
vm_status = next(c for c in status["clusters"] if c["name"] == "vm")
ongoing = [e for e in vm_status["ledger"] if e["kind"] == "outage" and not e["to_ms"]]
if not ongoing:
    bad.append(f"/status has no ongoing outage for vm: {vm_status['ledger']}")
else:
    since = datetime.fromtimestamp(ongoing[-1]["from_ms"] // 1000, timezone.utc)
    want = f"tsrelayctl replay start --cluster vm --since {since:%Y-%m-%dT%H:%M:%SZ}"
    table = one(lambda n: n.tag == "table" and n.attrs.get("data-ledger") == "vm", "ledger table of vm")
    if table is not None:
        entries = table.find(lambda n: n.tag == "tr" and n.attrs.get("data-ledger-cluster") == "vm")
        cmds = [squash(c.text()) for c in table.find(lambda n: n.tag == "code")]
        if want not in cmds:
            bad.append(f"ledger of vm lacks {want!r}: {cmds}")
        if not any("ongoing" in e.text() and "outage" in e.text() for e in entries):
            bad.append(f"no ongoing outage row for vm: {[squash(e.text()) for e in entries]}")

# influx refuses database nodb alone: parked, with the count and InfluxDB's reason.
prow = one(lambda n: n.tag == "tr" and n.attrs.get("data-parked-cluster") == "influx",
           "parked row of influx")
if prow is not None:
    cells = [squash(td.text()) for td in prow.find(lambda n: n.tag == "td")]
    if len(cells) != 6 or cells[1] != "nodb" or cells[2] != "40" or "database not found" not in cells[5]:
        bad.append(f"parked row of influx: {cells}, want nodb, 40 points and the reason")
if dom.find(lambda n: n.attrs.get("data-parked-cluster") == "vm"):
    bad.append("vm shown with parked points")

vrow = one(lambda n: n.tag == "tr" and n.attrs.get("data-verify-cluster") == "influx", "verify row of influx")
if vrow is not None:
    txt = squash(vrow.text())
    if "1 window differs" not in txt or "30 values missing, 0 extra" not in txt or "test-0065" not in txt:
        bad.append(f"verify row of influx: {txt!r}")
if dom.find(lambda n: n.attrs.get("data-verify-cluster") == "vm"):
    bad.append("vm shown with a verify result")

banner = by_id("banner")
if banner is not None and "hidden" not in banner.attrs:
    bad.append(f"banner shown while the relay answers: {squash(banner.text())!r}")
upd = by_id("updated")
if upd is not None and not re.match(r"last updated \d+s ago$", upd.text().strip()):
    bad.append(f"#updated shows {upd.text()!r}")
# The replay jobs: the dry run done at 100 %, the capped one running with a rate.
for jid, state in ((sys.argv[4], "done"), (sys.argv[5], "running")):
    row = one(lambda n: n.tag == "tr" and n.attrs.get("data-replay") == jid, f"replay job {jid}")
    if row is None:
        continue
    txt = squash(row.text())
    if row.attrs.get("data-state") != state or not has_badge(row, state):
        bad.append(f"replay job {jid} not shown as {state}: {txt!r}")
    if not re.search(r"\d+\.\d%", txt) or "influx" not in txt or "test-0065" not in txt:
        bad.append(f"replay job {jid} lacks progress, cluster or author: {txt!r}")
    if state == "done" and "100.0%" not in txt:
        bad.append(f"finished dry run not at 100%: {txt!r}")
    if state == "running" and not re.search(r"points/s", txt):
        bad.append(f"running replay shows no rate: {txt!r}")

for b in bad:
    print("page:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
log "rendered DOM checked"

chromium_run --screenshot="$TSR_TMP/status.png" --window-size=1280,900 "$admin/" >/dev/null ||
    fail "chromium --screenshot failed (log: $(tail -n 5 "$TSR_TMP/chromium.log"))"
[ -f "$TSR_TMP/status.png" ] || fail "chromium wrote no screenshot"
png=$(wc -c <"$TSR_TMP/status.png")
log "screenshot: $png bytes"
[ "$(head -c 8 "$TSR_TMP/status.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "the screenshot is not a PNG"
[ "$png" -gt 10240 ] || fail "the screenshot is only $png bytes: a blank page?"

# The relay stops answering /status (a proxy in front answers 503 to it, and passes GET /
# and the rest): the page says so in its banner instead of showing stale data quietly.
PROXY_PORT=$(free_port)
PROXY_CONTROL=$(free_port)
spawn faultproxy python3 "$REPO_ROOT/tests/tools/faultproxy.py" --listen "127.0.0.1:$PROXY_PORT" \
    --upstream "$admin" --control "127.0.0.1:$PROXY_CONTROL"
wait_port "$PROXY_CONTROL"
curl -sSf -o /dev/null -X POST -d '{"mode":"status","status":503,"path":"/status"}' \
    "http://127.0.0.1:$PROXY_CONTROL/mode"
chromium_run --dump-dom "http://127.0.0.1:$PROXY_PORT/" >"$TSR_TMP/dom-down.html" ||
    fail "chromium --dump-dom through the proxy failed"
python3 - "$TSR_TMP/dom-down.html" <<'PY' || fail "no 'not answering' banner when /status fails"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<div id="banner"([^>]*)>(.*?)</div>', dom, re.S)
ok = m and "hidden" not in m.group(1) and "not answering" in m.group(2) and "HTTP 503" in m.group(2)
print("banner:", re.sub(r"<[^>]+>", " ", m.group(2)).strip() if m else None, file=sys.stderr)
sys.exit(0 if ok else 1)
PY

stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
