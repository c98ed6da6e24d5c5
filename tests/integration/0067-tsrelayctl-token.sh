#!/usr/bin/env bash
# 0067-tsrelayctl-token: tsrelayctl sends the admin token of --token-file or
# TSRELAY_TOKEN as "Authorization: Bearer TOKEN" with every request (GET and POST), and
# says clearly when the relay refuses: 401 (no token, or one it does not know) and 403
# (a token whose role may not). A token file that cannot be read, is empty or holds a
# line break inside is a usage error (exit 2) naming the file, found before any
# request. No output of tsrelayctl ever holds a token. The relay's side is a fake
# (python3, below) with the relay's answers; 0066 covers the real one.
# timeout: 60
# asan: yes
. "$(dirname "$0")/../lib/harness.sh"

CTL=$(dirname "$TSRELAY_BIN")/tsrelayctl
[ -x "$CTL" ] || fail "$CTL not built (make)"
unset TSRELAY_ADMIN TSRELAY_TOKEN

GOOD=s3cret
WRONG=wr0ng-t0ken # a token the fake knows, with the read role: 403 for everything
STALE=st4le-t0ken # a token the fake does not know: 401

# run ARGS...: tsrelayctl's stdout in $out, stderr in $err, exit code in $rc; every
# output is also kept in $TSR_TMP/all for the secrets check at the end.
run()
{
    rc=0
    "$CTL" "$@" >"$TSR_TMP/out" 2>"$TSR_TMP/err" || rc=$?
    out=$(cat "$TSR_TMP/out")
    err=$(cat "$TSR_TMP/err")
    cat "$TSR_TMP/out" "$TSR_TMP/err" >>"$TSR_TMP/all"
}

# expect RC ARGS...: run, and fail unless the exit code is RC.
expect()
{
    local want=$1
    shift
    run "$@"
    [ "$rc" = "$want" ] || fail "tsrelayctl $*: exit $rc, want $want; stdout: $out; stderr: $err"
    log "ok: tsrelayctl $* -> $rc: $(head -n 1 <<<"$err")"
}

# has TEXT: stdout+stderr of the last run contain TEXT (fixed string).
has()
{
    grep -qF -- "$1" <<<"$out"$'\n'"$err" || fail "tsrelayctl output lacks '$1': stdout: $out; stderr: $err"
}

# seen FIELD: that field of the last request the fake server received.
seen()
{
    python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1]).get(sys.argv[2]))' \
        "$TSR_TMP/requests.jsonl" "$1"
}

nrequests()
{
    wc -l <"$TSR_TMP/requests.jsonl"
}

cat >"$TSR_TMP/fake_admin.py" <<'EOF'
# The relay's admin listener with admin.tokens, as far as tsrelayctl's token goes:
# GET /status and POST /replays/3/pause answer only "Bearer s3cret"; no token is 401
# (JSON on /status, an HTML page on /replays as a proxy in between might answer), an
# unknown token 401, a known read-only one 403. Every request is recorded.
import json, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

port, log_path = int(sys.argv[1]), sys.argv[2]
STATUS = {"datacenter": "dc-token", "uptime_s": 5, "draining": False, "clusters": [],
          "kafka": {"brokers": "127.0.0.1:9092", "topic": "metrics", "ready": True, "up": True,
                    "partitions": 1, "inflight_records": 0, "inflight_bytes": 0,
                    "records": 0, "errors": 0},
          "replays": []}
JOB = {"id": 3, "cluster": "vm", "state": "paused"}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj, ctype="application/json"):
        body = (json.dumps(obj) + "\n" if ctype == "application/json" else obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if code == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="tsrelay admin"')
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, ok):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        auth = self.headers.get("Authorization")
        with open(log_path, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "auth": auth,
                                "ctype": self.headers.get("Content-Type")}) + "\n")
        if ok is None:
            return self.reply(404, "not found\n", "text/plain")
        if auth is None:
            if self.path == "/replays":
                return self.reply(401, "<html><body>401 Authorization Required</body></html>\n",
                                  "text/html")
            return self.reply(401, {"error": "an admin token is needed"})
        if auth == "Bearer s3cret":
            return self.reply(200, ok)
        if auth == "Bearer wr0ng-t0ken":
            return self.reply(403, {"error": "this token's role is read: starting, pausing, "
                                             "resuming and cancelling replays need role operate"})
        return self.reply(401, {"error": "unknown admin token"})

    def do_GET(self):
        self.handle_any({"/status": STATUS, "/replays": {"replays": []}}.get(self.path))

    def do_POST(self):
        self.handle_any(JOB if self.path == "/replays/3/pause" else None)

ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
port=$(free_port)
: >"$TSR_TMP/requests.jsonl"
spawn fake_admin python3 "$TSR_TMP/fake_admin.py" "$port" "$TSR_TMP/requests.jsonl"
wait_port "$port"
A=(-a "127.0.0.1:$port")

printf '%s\n' "$GOOD" >"$TSR_TMP/good.token"
printf '%s\n' "$WRONG" >"$TSR_TMP/wrong.token"
printf '%s\n' "$STALE" >"$TSR_TMP/stale.token"
: >"$TSR_TMP/empty.token"
printf '\n' >"$TSR_TMP/blank.token"
printf 's3c\nret\n' >"$TSR_TMP/twolines.token"

# --- usage ---------------------------------------------------------------------------------
expect 0 --help
has "--token-file FILE"
has "TSRELAY_TOKEN"

# Unreadable, empty or two-line token files: exit 2 naming the file, nothing sent.
expect 2 "${A[@]}" --token-file /nonexistent --json status
has "cannot read token file '/nonexistent': No such file or directory"
expect 2 "${A[@]}" --token-file "$TSR_TMP" status
has "cannot read token file '$TSR_TMP': Is a directory"
expect 2 "${A[@]}" --token-file "$TSR_TMP/empty.token" status
has "token file '$TSR_TMP/empty.token' is empty"
expect 2 "${A[@]}" --token-file "$TSR_TMP/blank.token" status
has "token file '$TSR_TMP/blank.token' is empty"
expect 2 "${A[@]}" --token-file "$TSR_TMP/twolines.token" status
has "token file '$TSR_TMP/twolines.token' holds a control character"
TSRELAY_TOKEN=$'s3c\nret' expect 2 "${A[@]}" status
has "TSRELAY_TOKEN holds a control character"
expect 2 "${A[@]}" status --token-file
has "option '--token-file' needs a value"
assert_eq "$(nrequests)" 0 "requests sent despite a usage error"

# --- a token: every request carries it -------------------------------------------------------
expect 0 "${A[@]}" --token-file "$TSR_TMP/good.token" --json status
assert_eq "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["datacenter"])' "$out")" dc-token \
    "status --json with --token-file"
assert_eq "$(seen auth)" "Bearer $GOOD" "Authorization sent with --token-file (newline stripped)"
TSRELAY_TOKEN=$GOOD expect 0 "${A[@]}" --json status
assert_eq "$(seen auth)" "Bearer $GOOD" "Authorization sent from TSRELAY_TOKEN"
# --token-file wins over TSRELAY_TOKEN; options may follow the command.
TSRELAY_TOKEN=$WRONG expect 0 "${A[@]}" status --json --token-file "$TSR_TMP/good.token"
assert_eq "$(seen auth)" "Bearer $GOOD" "--token-file over TSRELAY_TOKEN"
# A POST (it has a body, so its own header list): the token and the Content-Type.
expect 0 "${A[@]}" replay pause 3 --token-file "$TSR_TMP/good.token"
has "replay 3: paused"
assert_eq "$(seen method) $(seen path)" "POST /replays/3/pause" "the pause request"
assert_eq "$(seen auth)" "Bearer $GOOD" "Authorization on POST"
assert_eq "$(seen ctype)" "application/json" "Content-Type on POST"

# --- refusals: 401 and 403, exit 1 ------------------------------------------------------------
# Without a token: no Authorization header at all, and what to do about the 401.
expect 1 "${A[@]}" status
assert_eq "$(seen auth)" None "Authorization without a token"
has "cannot read status: the relay refused: 401 an admin token is needed (give --token-file or TSRELAY_TOKEN)"
TSRELAY_TOKEN= expect 1 "${A[@]}" --json status
has "the relay refused: 401 an admin token is needed (give --token-file or TSRELAY_TOKEN)"
[ -z "$out" ] || fail "a refused status printed something on stdout: $out"
# An HTML 401 (no JSON error): tsrelayctl's own words, not the page.
expect 1 "${A[@]}" replay list
has "cannot list replays: the relay refused: 401 an admin token is needed (give --token-file or TSRELAY_TOKEN)"
[[ $err != *"<html>"* ]] || fail "the HTML page was printed: $err"
# A token the relay does not know: where it came from, never what it is.
expect 1 "${A[@]}" --token-file "$TSR_TMP/stale.token" status
has "cannot read status: the relay refused: 401 unknown admin token (check the token in '$TSR_TMP/stale.token')"
TSRELAY_TOKEN=$STALE expect 1 "${A[@]}" status
has "the relay refused: 401 unknown admin token (check TSRELAY_TOKEN)"
# A token whose role may not: 403 with the relay's message.
expect 1 "${A[@]}" --token-file "$TSR_TMP/wrong.token" --json status
has "cannot read status: the relay refused: 403 this token's role is read:"
TSRELAY_TOKEN=$WRONG expect 1 "${A[@]}" replay pause 3
has "cannot pause replay 3: the relay refused: 403 this token's role is read:"
assert_eq "$(seen auth)" "Bearer $WRONG" "Authorization of the refused POST"

# --- no secret in any output --------------------------------------------------------------------
for t in "$GOOD" "$WRONG" "$STALE"; do
    ! grep -qF -- "$t" "$TSR_TMP/all" || fail "tsrelayctl printed the token '$t': $(grep -F -- "$t" "$TSR_TMP/all")"
done
log "no token in $(wc -l <"$TSR_TMP/all") lines of tsrelayctl output; $(nrequests) requests"
