#!/usr/bin/env python3
"""A soak writer: line protocol over HTTP into the fleet's relays at a steady rate, with
points the checker can account for one by one, and a log of every answer.

  writer.py --ports P1,P2,... --id W --log FILE --stop FILE [--rate 1000] [--batch 200]

Line idx of writer W (0, 1, 2, ...):
    soak,w=W,s=S i=IDXi,seq=Qi T       S = idx % 50, Q = idx // 50 (a sequence per series)
with T = 1700000000000 ms + idx ms, so every point of every writer is its own. Each
request also carries soak_ovr,w=W v=Ki 1700000000000000000 (K = the request's number):
every request overwrites that one point, so the last acknowledged value, or a later one,
must be what the TSDB holds in the end (per-series order).

The log, one line per request: "SENT_MS PORT FIRST_IDX COUNT K STATUS", STATUS being
the HTTP code, "refused" (no connection: nothing sent) or "error" (the connection broke
or timed out after sending: unknown). Requests go to the ports in turn; a refused port
is skipped until the next round. Stops when FILE exists.

With --graphite the ports are Graphite TCP listeners and line idx is
    soak_g;w=W;s=S IDX T                T = 1700000000 s + idx // 50 (one point a second per series)
one connection a request, no overwritten point. Graphite answers nothing: STATUS is
"sent" (written and closed cleanly), "refused" or "error", and every point is unknown."""
import argparse
import http.client
import os
import socket
import time

T0_MS = 1_700_000_000_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--rate", type=float, default=1000.0, help="lines per second")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--graphite", action="store_true")
    a = ap.parse_args()
    ports = [int(p) for p in a.ports.split(",")]
    idx = k = turn = 0
    start = time.monotonic()
    with open(a.log, "a", buffering=1) as log:
        while not os.path.exists(a.stop):
            due = start + idx / a.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            port = ports[turn % len(ports)]
            turn += 1
            sent_ms = int(time.time() * 1000)
            if a.graphite:
                status = send_graphite(port, a.id, idx, a.batch, a.timeout)
            else:
                status = send_http(port, a.id, idx, a.batch, k, a.timeout)
            log.write(f"{sent_ms} {port} {idx} {a.batch} {k} {status}\n")
            if status == "refused":
                time.sleep(0.05)
                continue  # the same lines go to the next port: nothing was sent
            idx += a.batch
            k += 1


def send_graphite(port, w, idx, n, timeout):
    body = "".join(f"soak_g;w={w};s={j % 50} {j} {T0_MS // 1000 + j // 50}\n"
                   for j in range(idx, idx + n)).encode()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return "refused"
    try:
        sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # the relay closes once it has read everything
        return "sent"
    except OSError:
        return "error"
    finally:
        sock.close()


def send_http(port, w, idx, n, k, timeout):
    lines = [f"soak,w={w},s={j % 50} i={j}i,seq={j // 50}i {T0_MS + j}" for j in range(idx, idx + n)]
    lines.append(f"soak_ovr,w={w} v={k}i {T0_MS}")
    body = ("\n".join(lines) + "\n").encode()
    status = "error"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.connect()
    except OSError:
        return "refused"
    try:
        conn.request("POST", "/write?db=soak&precision=ms", body)
        r = conn.getresponse()
        r.read()
        status = str(r.status)
    except (OSError, http.client.HTTPException):
        status = "error"
    conn.close()
    return status


if __name__ == "__main__":
    main()
