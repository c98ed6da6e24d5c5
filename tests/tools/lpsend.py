#!/usr/bin/env python3
"""Sends generated line protocol to tsrelay over HTTP and records what was acknowledged.

Lines are deterministic: line i is
    m{i%7},dc=d{i%3},host=h{i%101} fi={i}i,ff={i}.5,fs="s{i}" {T0+i*STEP}
(tags already sorted, timestamps in ns), so the normalised form the relay writes to
Kafka is the line itself, and a test can compare both ends byte for byte.

Every request's status is counted; the lines of requests answered 204 go to --acked,
so after a crash a test can check that each acknowledged line is in Kafka.
Exits 0 when every request was answered (whatever the status), 1 otherwise, unless
--tolerate-errors (for tests that kill things on purpose)."""
import argparse
import gzip
import http.client
import ssl
import sys
import time

T0 = 1_700_000_000_000_000_000
STEP = 1


def line(i):
    return f'm{i % 7},dc=d{i % 3},host=h{i % 101} fi={i}i,ff={i}.5,fs="s{i}" {T0 + i * STEP}\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--start", type=int, default=0, help="index of the first line")
    ap.add_argument("--batch", type=int, default=5000, help="lines per request")
    ap.add_argument("--db", default="tsrtest")
    ap.add_argument("--mix", action="store_true",
                    help="rotate between /write, /write gzip, /api/v2/write and v2 gzip")
    ap.add_argument("--acked", help="append the lines of 204'd requests to this file")
    ap.add_argument("--statuses", help="write one status per request to this file")
    ap.add_argument("--tolerate-errors", action="store_true")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds between requests")
    ap.add_argument("--step-ns", type=int, default=1,
                    help="timestamp step between lines (1000000 for TSDBs storing ms)")
    ap.add_argument("--duration", type=float, default=0.0,
                    help="keep sending batches (wrapping indexes) for this many seconds")
    ap.add_argument("--tls-ca", help="https, trusting the CA certificates in this file")
    ap.add_argument("--tls-cert", help="https: client certificate (with --tls-key)")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    tls = None
    if a.tls_ca:
        tls = ssl.create_default_context(cafile=a.tls_ca)
        if a.tls_cert:
            tls.load_cert_chain(a.tls_cert, a.tls_key)
    global STEP
    STEP = a.step_ns

    acked = open(a.acked, "a") if a.acked else None
    statuses = open(a.statuses, "w") if a.statuses else None
    counts = {}
    conn = None
    n_req = 0
    i = a.start
    end = a.start + a.lines
    deadline = time.time() + a.duration if a.duration else None
    while (deadline and time.time() < deadline) or (not deadline and i < end):
        hi = min(i + a.batch, end) if not deadline else i + a.batch
        body = "".join(line(j) for j in range(i, hi)).encode()
        kind = n_req % 4 if a.mix else 0
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": "lpsend"}
        if kind in (1, 3):
            body = gzip.compress(body, 1)
            headers["Content-Encoding"] = "gzip"
        path = f"/write?db={a.db}" if kind in (0, 1) else f"/api/v2/write?org=o&bucket={a.db}"
        try:
            if conn is None:
                conn = (http.client.HTTPSConnection("127.0.0.1", a.port, timeout=60, context=tls)
                        if tls else http.client.HTTPConnection("127.0.0.1", a.port, timeout=60))
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as e:
            status = "conn-error"
            if conn:
                conn.close()
            conn = None
            if not a.tolerate_errors:
                print(f"lpsend: request {n_req}: {e}", file=sys.stderr)
        counts[status] = counts.get(status, 0) + 1
        if statuses:
            statuses.write(f"{status}\n")
            statuses.flush()
        if status == 204 and acked:
            acked.write("".join(line(j) for j in range(i, hi)))
            acked.flush()
        n_req += 1
        i = hi
        if a.pause:
            time.sleep(a.pause)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)))
    if not a.tolerate_errors and set(counts) - {204}:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
