#!/usr/bin/env python3
"""Fault-injecting HTTP reverse proxy for integration tests (stdlib only, asyncio).

    faultproxy.py --listen 127.0.0.1:PORT --upstream http://127.0.0.1:UPORT \\
                  --control 127.0.0.1:CPORT

Forwards every request on --listen (method, path+query, headers except hop-by-hop,
body byte for byte -- gzip bodies are not touched) to --upstream and relays the
answer, unless a fault is active. Client connections are kept alive (HTTP/1.1), and
each one gets its own keep-alive connection to the upstream; a hung request never
blocks other connections.

Control API (HTTP on --control, JSON in and out):
  POST /mode   {"mode":"pass"}
               {"mode":"status","status":500,"count":N}
                   answer with STATUS (default 500) and a JSON error body, no forwarding
               {"mode":"retry_after","status":429,"retry_after":2,"count":N}
                   same, plus a "Retry-After: 2" header (defaults 429 and 1)
               {"mode":"hang","count":N,"on_release":"close"}
                   read the request, never answer; the request ends when the client
                   gives up or when the mode is next set through POST /mode: then the
                   connection is closed unanswered ("close", default) or the request
                   is forwarded and the upstream's answer relayed ("forward")
               {"mode":"slow","delay_ms":1500,"count":N}
                   forward the request at once, and relay the upstream's answer only
                   DELAY_MS later: the write has landed, its writer does not know yet
               {"mode":"partial","marker":"BAD","count":N}
                   forward the body minus the lines containing MARKER (default "BAD";
                   gunzipped and re-gzipped when Content-Encoding: gzip), then answer
                   400 {"error":"partial write: unable to parse '<first bad line>':
                   invalid field format dropped=K"} (also in X-Influxdb-Error) if the
                   upstream took the good lines (otherwise its answer is relayed).
                   Requests with no marked line are simply forwarded and do not use up
                   COUNT; if every line is marked nothing is forwarded. "status":422
                   answers as InfluxDB 2 does instead: 422 {"code":"unprocessable
                   entity","message":"failure writing points to database: partial
                   write: ... dropped=K"}.
               {"mode":"too_large","max_bytes":N}
                   answer 413 {"code":"request too large",...} (InfluxDB 2's answer)
                   to a body over N bytes once gunzipped; smaller bodies are forwarded
                   and do not use up COUNT
               {"mode":"refuse","count":N}
                   close each new connection immediately after accept (and close
                   already-open client connections when their next request arrives;
                   idle ones are closed when the mode is set)
               Common optional keys: "count" (faulty answers, or refused connections,
               before the mode returns to "pass" by itself; omitted/null = until
               changed) and "path" (only requests whose path starts with this prefix
               are faulted, others pass and do not use up COUNT; not for refuse).
               Answers 200 with the new mode, 400 on a bad body or unknown key.
  GET  /mode   the current mode (with "remaining" count)
  GET  /stats  {"mode":{...},"connections":N,"received":N,"forwarded":N,
                "faulted":{"status":N,"retry_after":N,"hang":N,"slow":N,"partial":N,
                           "refuse":N},
                "bytes_forwarded":N,"lines_forwarded":N,"lines_dropped":N,
                "upstream_errors":N,"answered":{"204":N,...}}
               bytes_forwarded: request body bytes sent upstream (as sent, so
               compressed for gzip); lines_forwarded: '\\n'-terminated lines in those
               bodies after gunzip; received counts proxied requests read in full.
               "accepted": {"DB/RP": N}: lines of /write and /api/v2/write bodies the
               upstream answered 2xx, by the request's db and rp (or bucket): what
               reached the TSDB, once per sending, duplicates included.
  POST /reset  zero the counters (the mode is kept)

One line per proxied request goes to stderr: METHOD TARGET STATUS MODE (STATUS is
"-" when no answer was sent). Upstream unreachable -> 502, upstream timeout -> 504.
SIGTERM/SIGINT stop it cleanly (exit 0)."""
import argparse
import asyncio
import gzip
import http
import json
import signal
import sys
import time
import zlib
from urllib.parse import parse_qs, urlsplit

MODES = ("pass", "status", "retry_after", "hang", "slow", "partial", "too_large", "refuse")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "trailers", "transfer-encoding", "upgrade",
              "proxy-connection"}
MAX_BODY = 1 << 30
NOT_RELAYED = object()


class BadRequest(Exception):
    pass


def log(msg):
    ts = time.strftime("%H:%M:%S")
    print(f"faultproxy {ts} {msg}", file=sys.stderr, flush=True)


def ejson(msg):
    """InfluxDB-style error body: {"error":"..."} plus a newline."""
    return json.dumps({"error": msg}, separators=(",", ":")).encode() + b"\n"


def reason(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Status"


def hget(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


# ---------------------------------------------------------------- HTTP parsing

async def read_headers(reader):
    headers = []
    while True:
        line = await reader.readline()
        if not line:
            raise BadRequest("eof in headers")
        line = line.rstrip(b"\r\n")
        if not line:
            return headers
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.strip().decode("latin-1"))
            continue
        k, sep, v = line.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers.append((k.strip(), v.strip()))
        if len(headers) > 200:
            raise BadRequest("too many headers")


async def read_chunked(reader):
    parts = []
    total = 0
    while True:
        line = await reader.readline()
        if not line:
            raise BadRequest("eof in chunked body")
        size = int(line.split(b";")[0].strip() or b"x", 16)
        if size == 0:
            await read_headers(reader)  # trailers, dropped
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise BadRequest("body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_body(reader, headers):
    te = (hget(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        return await read_chunked(reader)
    cl = hget(headers, "content-length")
    if cl is None:
        return b""
    try:
        n = int(cl)
    except ValueError:
        raise BadRequest("bad content-length")
    if n < 0 or n > MAX_BODY:
        raise BadRequest("bad content-length")
    return await reader.readexactly(n)


class Request:
    __slots__ = ("method", "target", "version", "headers", "body", "keep_alive")

    @property
    def path(self):
        return self.target.split("?", 1)[0]


async def read_request(reader, writer):
    """Returns a Request, or None on a clean EOF between requests."""
    line = b"\r\n"
    while line in (b"\r\n", b"\n"):
        line = await reader.readline()
        if not line:
            return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest("bad request line")
    r = Request()
    r.method, r.target, r.version = parts
    r.headers = await read_headers(reader)
    conn = [t.strip().lower() for t in (hget(r.headers, "connection") or "").split(",")]
    if r.version == "HTTP/1.0":
        r.keep_alive = "keep-alive" in conn
    else:
        r.keep_alive = "close" not in conn
    if (hget(r.headers, "expect") or "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    r.body = await read_body(reader, r.headers)
    return r


def forwardable(headers, drop=()):
    """Headers minus hop-by-hop ones, those named in Connection, and DROP."""
    named = {t.strip().lower() for t in (hget(headers, "connection") or "").split(",")}
    skip = HOP_BY_HOP | named | set(drop)
    return [(k, v) for k, v in headers if k.lower() not in skip]


async def send_response(writer, status, headers, body, keep_alive, head=False,
                        reason_text=None):
    out = [f"HTTP/1.1 {status} {reason_text or reason(status)}\r\n"]
    for k, v in headers:
        out.append(f"{k}: {v}\r\n")
    if not head and status >= 200 and status not in (204, 304):
        out.append(f"Content-Length: {len(body)}\r\n")
    if not keep_alive:
        out.append("Connection: close\r\n")
    out.append("\r\n")
    writer.write("".join(out).encode("latin-1"))
    if body and not head and status not in (204, 304):
        writer.write(body)
    await writer.drain()


def count_lines(body, headers):
    if (hget(headers, "content-encoding") or "").lower().strip() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            return 0
    return body.count(b"\n")


# ---------------------------------------------------------------- upstream side

class UpstreamError(Exception):
    pass


class Upstream:
    """One keep-alive connection to the upstream, owned by one client connection."""

    def __init__(self, proxy):
        self.p = proxy
        self.reader = self.writer = None

    def close(self):
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, target, headers, body):
        """Returns (status, reason, headers, body). Retries once on a stale
        keep-alive connection that fails before any answer byte."""
        for attempt in (0, 1):
            reused = self.writer is not None
            try:
                if not reused:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection(self.p.up_host, self.p.up_port),
                        self.p.timeout)
                return await asyncio.wait_for(
                    self._exchange(method, target, headers, body), self.p.timeout)
            except _Stale:
                self.close()
                if reused and attempt == 0:
                    continue
                raise UpstreamError("upstream closed the connection")
            except asyncio.TimeoutError:
                self.close()
                raise
            except (OSError, asyncio.IncompleteReadError, BadRequest, ValueError) as e:
                self.close()
                raise UpstreamError(str(e) or type(e).__name__)
        raise UpstreamError("unreachable")

    async def _exchange(self, method, target, headers, body):
        hdrs = forwardable(headers, drop=("host", "content-length", "expect"))
        out = [f"{method} {self.p.up_prefix}{target} HTTP/1.1\r\n",
               f"Host: {self.p.up_netloc}\r\n"]
        out += [f"{k}: {v}\r\n" for k, v in hdrs]
        if body or method in ("POST", "PUT", "PATCH"):
            out.append(f"Content-Length: {len(body)}\r\n")
        out.append("\r\n")
        try:
            self.writer.write("".join(out).encode("latin-1") + body)
            await self.writer.drain()
            line = await self.reader.readline()
        except (ConnectionError, OSError):
            raise _Stale()
        if not line:
            raise _Stale()
        while True:
            parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise BadRequest("bad upstream status line")
            status = int(parts[1])
            rsn = parts[2] if len(parts) > 2 else reason(status)
            rh = await read_headers(self.reader)
            if 100 <= status < 200:  # interim answer, skip
                line = await self.reader.readline()
                continue
            break
        conn = (hget(rh, "connection") or "").lower()
        keep = "close" not in conn and parts[0] != "HTTP/1.0"
        if method == "HEAD" or status in (204, 304):
            rbody = b""
        elif "chunked" in (hget(rh, "transfer-encoding") or "").lower():
            rbody = await read_chunked(self.reader)
        elif hget(rh, "content-length") is not None:
            rbody = await self.reader.readexactly(int(hget(rh, "content-length")))
        else:
            rbody = await self.reader.read()
            keep = False
        if not keep:
            self.close()
        return status, rsn, rh, rbody


class _Stale(Exception):
    pass


# ---------------------------------------------------------------- the proxy

FAULT_KEYS = {
    "pass": set(),
    "status": {"status", "count", "path"},
    "retry_after": {"status", "retry_after", "count", "path"},
    "hang": {"count", "path", "on_release"},
    "slow": {"delay_ms", "count", "path"},
    "partial": {"marker", "status", "count", "path"},
    "too_large": {"max_bytes", "count", "path"},
    "refuse": {"count"},
}


def parse_mode(obj):
    if not isinstance(obj, dict):
        raise ValueError("body must be a JSON object")
    mode = obj.get("mode")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    extra = set(obj) - {"mode"} - FAULT_KEYS[mode]
    if extra:
        raise ValueError(f"unknown key(s) for mode {mode}: {', '.join(sorted(extra))}")
    m = {"mode": mode}
    if mode == "pass":
        return m
    count = obj.get("count")
    if count is not None and (type(count) is not int or count < 1):
        raise ValueError("count must be a positive integer or null")
    m["count"] = count
    m["remaining"] = count
    if "path" in obj:
        if not isinstance(obj["path"], str) or not obj["path"].startswith("/"):
            raise ValueError("path must be a string starting with /")
        m["path"] = obj["path"]
    if mode in ("status", "retry_after"):
        st = obj.get("status", 500 if mode == "status" else 429)
        if type(st) is not int or not 200 <= st <= 599:
            raise ValueError("status must be an integer 200..599")
        m["status"] = st
    if mode == "retry_after":
        ra = obj.get("retry_after", 1)
        if type(ra) not in (int, str) or (type(ra) is int and ra < 0):
            raise ValueError("retry_after must be a non-negative integer (or a string)")
        m["retry_after"] = ra
    if mode == "hang":
        rel = obj.get("on_release", "close")
        if rel not in ("close", "forward"):
            raise ValueError("on_release must be close or forward")
        m["on_release"] = rel
    if mode == "slow":
        d = obj.get("delay_ms", 1000)
        if type(d) is not int or not 0 <= d <= 600000:
            raise ValueError("delay_ms must be an integer 0..600000")
        m["delay_ms"] = d
    if mode == "partial":
        mk = obj.get("marker", "BAD")
        if not isinstance(mk, str) or not mk:
            raise ValueError("marker must be a non-empty string")
        m["marker"] = mk
        st = obj.get("status", 400)
        if st not in (400, 422):
            raise ValueError("status must be 400 or 422")
        m["status"] = st
    if mode == "too_large":
        mb = obj.get("max_bytes")
        if type(mb) is not int or mb < 1:
            raise ValueError("max_bytes must be a positive integer")
        m["max_bytes"] = mb
    return m


class Proxy:
    def __init__(self, args):
        u = urlsplit(args.upstream)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit("faultproxy: --upstream must be http://HOST:PORT[/prefix]")
        self.up_host = u.hostname
        self.up_port = u.port or 80
        self.up_netloc = u.netloc
        self.up_prefix = u.path.rstrip("/")
        self.timeout = args.upstream_timeout
        self.mode = {"mode": "pass"}
        self.release = asyncio.Event()  # set (and replaced) on every POST /mode
        self.clients = {}  # writer -> "idle" | "busy"
        self.tasks = set()
        self.pending_note = None
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"connections": 0, "received": 0, "forwarded": 0,
                      "faulted": {m: 0 for m in MODES if m != "pass"},
                      "bytes_forwarded": 0, "lines_forwarded": 0, "lines_dropped": 0,
                      "upstream_errors": 0, "answered": {}, "accepted": {}}

    def set_mode(self, m):
        self.mode = m
        old, self.release = self.release, asyncio.Event()
        old.set()
        if m["mode"] == "refuse":
            for w, state in list(self.clients.items()):
                if state == "idle":
                    w.close()

    def use_fault(self):
        """Consume one unit of COUNT; back to pass when it is used up."""
        m = self.mode
        self.stats["faulted"][m["mode"]] += 1
        if m.get("remaining") is not None:
            m["remaining"] -= 1
            if m["remaining"] <= 0:
                self.pending_note = f"mode {m['mode']}: count {m['count']} used up, back to pass"
                self.mode = {"mode": "pass"}

    def rlog(self, msg):
        """Logs a request line, then the note of a count just used up by it."""
        log(msg)
        if self.pending_note:
            log(self.pending_note)
            self.pending_note = None

    def note_accepted(self, req):
        u = urlsplit(req.target)
        if not u.path.endswith("/write"):
            return
        q = parse_qs(u.query)
        if "bucket" in q:
            key = q["bucket"][0]
        else:
            key = q.get("db", [""])[0] + "/" + q.get("rp", [""])[0]
        a = self.stats["accepted"]
        a[key] = a.get(key, 0) + count_lines(req.body, req.headers)

    def answered(self, status):
        a = self.stats["answered"]
        a[str(status)] = a.get(str(status), 0) + 1

    # ---- client connections

    def track(self):
        t = asyncio.current_task()
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    async def on_client(self, reader, writer):
        self.track()
        self.stats["connections"] += 1
        if self.mode["mode"] == "refuse":
            self.use_fault()
            self.rlog("- - - refuse (connection closed)")
            writer.close()
            return
        up = Upstream(self)
        self.clients[writer] = "idle"
        try:
            while True:
                self.clients[writer] = "idle"
                try:
                    req = await read_request(reader, writer)
                except (BadRequest, ValueError, asyncio.IncompleteReadError,
                        asyncio.LimitOverrunError) as e:
                    if not isinstance(e, asyncio.IncompleteReadError):
                        await send_response(writer, 400, [("Content-Type", "application/json")],
                                            ejson(f"faultproxy: {e}"),
                                            False)
                    break
                if req is None:
                    break
                self.clients[writer] = "busy"
                self.stats["received"] += 1
                if not await self.handle(req, reader, writer, up):
                    break
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self.clients.pop(writer, None)
            up.close()
            writer.close()

    async def handle(self, req, reader, writer, up):
        """Serves one request; returns False when the connection must be closed."""
        m = self.mode
        mode = m["mode"]
        if mode != "pass" and mode != "refuse" and "path" in m \
                and not req.path.startswith(m["path"]):
            mode = "pass"
        if mode == "partial" and m["marker"].encode() not in self.plain_body(req)[0]:
            mode = "pass"
        if mode == "too_large" and len(self.plain_body(req)[0]) <= m["max_bytes"]:
            mode = "pass"
        head = req.method == "HEAD"
        ka = req.keep_alive

        if mode == "pass":
            return await self.forward(req, writer, up, "pass")

        if mode == "refuse":
            self.use_fault()
            self.rlog(f"{req.method} {req.target} - refuse (connection closed)")
            return False

        if mode in ("status", "retry_after"):
            self.use_fault()
            st = m["status"]
            msg = f"faultproxy: injected {st} ({mode})"
            hdrs = [("Content-Type", "application/json"), ("X-Influxdb-Error", msg)]
            if mode == "retry_after":
                hdrs.append(("Retry-After", str(m["retry_after"])))
            await send_response(writer, st, hdrs, ejson(msg),
                                ka, head)
            self.answered(st)
            self.rlog(f"{req.method} {req.target} {st} {mode}")
            return ka

        if mode == "hang":
            self.use_fault()
            if self.pending_note:  # the request is logged only when it ends
                log(f"{self.pending_note} (by {req.method} {req.target}, now hanging)")
                self.pending_note = None
            release = self.release
            rel_task = asyncio.ensure_future(release.wait())
            eof_task = asyncio.ensure_future(reader.read(65536))
            try:
                while True:
                    done, _ = await asyncio.wait({rel_task, eof_task},
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if rel_task in done:
                        break
                    if eof_task.exception() is not None or not eof_task.result():
                        self.rlog(f"{req.method} {req.target} - hang (client gave up)")
                        return False
                    eof_task = asyncio.ensure_future(reader.read(65536))  # discard
            finally:
                rel_task.cancel()
                eof_task.cancel()
            if m["on_release"] == "forward":
                self.rlog(f"{req.method} {req.target} - hang (released, forwarding)")
                await self.forward(req, writer, up, "hang-released")
            else:
                self.rlog(f"{req.method} {req.target} - hang (released, connection closed)")
            return False

        if mode == "slow":
            self.use_fault()
            return await self.forward(req, writer, up, "slow", delay_s=m["delay_ms"] / 1000)

        if mode == "partial":
            return await self.partial(req, writer, up, m)

        if mode == "too_large":
            self.use_fault()
            body = json.dumps({"code": "request too large",
                               "message": "unable to read data: points batch is too large"})
            await send_response(writer, 413, [("Content-Type", "application/json")],
                                body.encode(), ka, head)
            self.answered(413)
            self.rlog(f"{req.method} {req.target} 413 too_large ({len(req.body)} bytes)")
            return ka
        raise AssertionError(mode)

    def plain_body(self, req):
        """(decompressed body, gzipped?)"""
        gz = (hget(req.headers, "content-encoding") or "").lower().strip() == "gzip"
        if gz:
            try:
                return gzip.decompress(req.body), True
            except (OSError, EOFError, zlib.error):
                return req.body, False
        return req.body, False

    async def partial(self, req, writer, up, m):
        plain, gz = self.plain_body(req)
        marker = m["marker"].encode()
        good, bad = [], []
        for ln in plain.splitlines(keepends=True):
            (bad if marker in ln else good).append(ln)
        self.use_fault()
        self.stats["lines_dropped"] += len(bad)
        first = bad[0].rstrip(b"\r\n").decode("utf-8", "replace")
        msg = (f"partial write: unable to parse '{first}': invalid field format "
               f"dropped={len(bad)}")
        st = m["status"]
        if good:
            body = b"".join(good)
            if gz:
                body = gzip.compress(body, 1)
            req.body = body
            r = await self.forward(req, writer, up, "partial", relay_if=lambda s: s >= 300)
            if r is not NOT_RELAYED:
                return r  # the upstream failed and its answer was relayed
        if st == 422:
            body = json.dumps({"code": "unprocessable entity",
                               "message": "failure writing points to database: " + msg}).encode()
        else:
            body = ejson(msg)
        await send_response(writer, st, [("Content-Type", "application/json"),
                                         ("X-Influxdb-Error", msg)],
                            body, req.keep_alive,
                            req.method == "HEAD")
        self.answered(st)
        self.rlog(f"{req.method} {req.target} {st} partial (dropped={len(bad)}, "
            f"forwarded={len(good)})")
        return req.keep_alive

    async def forward(self, req, writer, up, label, relay_if=None, delay_s=0):
        """Forwards REQ and relays the answer (DELAY_S after it came). With RELAY_IF,
        only relays when relay_if(status) holds and otherwise returns NOT_RELAYED
        without answering."""
        try:
            st, rsn, rh, rbody = await up.request(req.method, req.target, req.headers,
                                                  req.body)
        except (UpstreamError, asyncio.TimeoutError) as e:
            self.stats["upstream_errors"] += 1
            st = 504 if isinstance(e, asyncio.TimeoutError) else 502
            msg = f"faultproxy: upstream {'timeout' if st == 504 else 'error: ' + str(e)}"
            await send_response(writer, st, [("Content-Type", "application/json")],
                                ejson(msg),
                                req.keep_alive, req.method == "HEAD")
            self.answered(st)
            self.rlog(f"{req.method} {req.target} {st} {label} ({msg})")
            return req.keep_alive
        self.stats["forwarded"] += 1
        self.stats["bytes_forwarded"] += len(req.body)
        self.stats["lines_forwarded"] += count_lines(req.body, req.headers)
        if 200 <= st < 300:
            self.note_accepted(req)
        if relay_if is not None and not relay_if(st):
            return NOT_RELAYED
        if delay_s:
            await asyncio.sleep(delay_s)
        hdrs = forwardable(rh, drop=("content-length",) if req.method != "HEAD" else ())
        await send_response(writer, st, hdrs, rbody, req.keep_alive, req.method == "HEAD",
                            reason_text=rsn)
        self.answered(st)
        self.rlog(f"{req.method} {req.target} {st} {label}")
        return req.keep_alive

    # ---- control endpoint

    async def on_control(self, reader, writer):
        self.track()
        try:
            while True:
                try:
                    req = await read_request(reader, writer)
                except (BadRequest, ValueError, asyncio.IncompleteReadError):
                    break
                if req is None:
                    break
                st, obj = self.control(req)
                await send_response(writer, st, [("Content-Type", "application/json")],
                                    json.dumps(obj, sort_keys=True).encode() + b"\n",
                                    req.keep_alive, req.method == "HEAD")
                if not req.keep_alive:
                    break
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def control(self, req):
        path = req.path
        if path == "/mode" and req.method in ("POST", "PUT"):
            try:
                m = parse_mode(json.loads(req.body or b"null"))
            except (ValueError, json.JSONDecodeError) as e:
                return 400, {"error": str(e)}
            self.set_mode(m)
            log(f"control: mode {json.dumps(m, sort_keys=True)}")
            return 200, m
        if path == "/mode" and req.method in ("GET", "HEAD"):
            return 200, self.mode
        if path == "/stats" and req.method in ("GET", "HEAD"):
            return 200, dict(self.stats, mode=self.mode)
        if path == "/reset" and req.method == "POST":
            self.reset_stats()
            return 200, {"reset": True}
        if path in ("/mode", "/stats", "/reset"):
            return 405, {"error": "method not allowed"}
        return 404, {"error": "GET /stats, GET|POST /mode, POST /reset"}


def hostport(s):
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {s!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


async def amain(args):
    p = Proxy(args)
    if args.initial_mode:
        try:
            p.set_mode(parse_mode(json.loads(args.initial_mode)))
        except (ValueError, json.JSONDecodeError) as e:
            raise SystemExit(f"faultproxy: --initial-mode: {e}")
    srv = await asyncio.start_server(p.on_client, *args.listen, reuse_address=True,
                                     limit=1 << 20)
    ctl = await asyncio.start_server(p.on_control, *args.control, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lp = srv.sockets[0].getsockname()[1]
    cp = ctl.sockets[0].getsockname()[1]
    log(f"listening on {args.listen[0]}:{lp}, upstream {args.upstream}, "
        f"control on {args.control[0]}:{cp}, mode {p.mode['mode']}")
    await stop.wait()
    log("stopping")
    srv.close()
    ctl.close()
    for t in list(p.tasks):
        t.cancel()
    if p.tasks:
        await asyncio.wait(list(p.tasks), timeout=2)
    for w in list(p.clients):
        w.close()
    return 0


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=hostport, required=True, metavar="HOST:PORT",
                    help="where clients (the relay) connect")
    ap.add_argument("--upstream", required=True, metavar="URL",
                    help="http://HOST:PORT[/prefix] of the real server")
    ap.add_argument("--control", type=hostport, required=True, metavar="HOST:PORT",
                    help="control HTTP endpoint (POST /mode, GET /stats)")
    ap.add_argument("--upstream-timeout", type=float, default=30.0, metavar="S",
                    help="give up on the upstream after S seconds -> 504 (default 30)")
    ap.add_argument("--initial-mode", metavar="JSON",
                    help="mode to start in, same JSON as POST /mode (default pass)")
    args = ap.parse_args()
    try:
        return asyncio.run(amain(args))
    except OSError as e:
        print(f"faultproxy: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
