#!/usr/bin/env python3
"""Hostile HTTP clients for the limits test: slow ones, and many large uploads at once.

  loadstorm.py slow --port P --conns N --seconds S
      N connections at once: half send a request head one byte every 0.2 s (never
      finishing it within S), half send a whole head announcing a 2,000-byte body and
      then the body 10 bytes at a time, stalling for good after S/2 seconds. Prints
      {"answered": {STATUS: N}, "closed": N, "open_at_end": N}: how the relay ended each
      connection (an answer, a close without one, or still open after S seconds).

  loadstorm.py conns --port P --conns N
      N connections at once that send nothing; after a second prints
      {"busy": N (answered 503 and closed), "open": N, "other": N}.

  loadstorm.py uploads --port P --conns N --mib M [--expect-half]
      N connections at once, each POSTing one body of about M MiB of valid line protocol
      into database "big": one series per line (tags c, n and u=uINDEX), fi=1i and a
      4 KB string field to make up the size, no timestamps. --expect-half: half of them
      send `Expect: 100-continue` and the body only after "100 Continue". Prints
      {"status": {STATUS: N}, "accepted": [indexes answered 204], "points_per_upload": L,
       "body_bytes": B, "retry_after": N (refusals that said when to retry)}."""
import argparse
import asyncio
import json
import sys

async def read_status(reader, timeout, bodies=None):
    """The status of the first non-1xx answer, or None if the connection closed first.
    bodies: a list that gets the body of an answer other than 204, 408 and 503."""
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                return None, {}
            parts = line.split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            headers = {}
            while True:
                h = await asyncio.wait_for(reader.readline(), timeout)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            if status >= 200:
                n = int(headers.get("content-length", "0") or 0)
                if bodies is not None and status not in (204, 408, 503) and n:
                    bodies.append(f"{status}: " + (await reader.readexactly(n)).decode("latin-1"))
                return status, headers
    except (asyncio.TimeoutError, ConnectionError, OSError, ValueError):
        return None, {}


async def slow_one(port, i, seconds, out):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        out["refused"] = out.get("refused", 0) + 1
        return
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    head = f"POST /write?db=slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n".encode()
    reply = asyncio.ensure_future(read_status(reader, seconds + 5, out.setdefault("why", [])))
    try:
        if i % 2 == 0:
            for b in head:  # a head that never ends in time
                if reply.done() or loop.time() > end:
                    break
                writer.write(bytes([b]))
                await writer.drain()
                await asyncio.sleep(0.2)
        else:
            writer.write(head)
            await writer.drain()
            sent = 0
            while sent < 2000 and not reply.done() and loop.time() < end - seconds / 2:
                writer.write(b"x" * 10)
                await writer.drain()
                sent += 10
                await asyncio.sleep(0.5)
    except (ConnectionError, OSError):
        pass
    status, _ = await asyncio.wait_for(reply, seconds + 10) if not reply.done() else reply.result()
    if status is None and loop.time() >= end and not reader.at_eof():
        out["open_at_end"] = out.get("open_at_end", 0) + 1
    elif status is None:
        out["closed"] = out.get("closed", 0) + 1
    else:
        out["answered"][str(status)] = out["answered"].get(str(status), 0) + 1
    writer.close()


LINE_PAD = "p" * 4000
CHUNK_LINES = 256


def chunk_template():
    """CHUNK_LINES lines of one upload's chunk, for upload 000 and chunk 000: every line a
    series of its own (tags c, n, u), no timestamp (the relay's clock), fi=1i."""
    return "".join(f'big,c=c000,n=n{k:03d},u=u000 fi=1i,pad="{LINE_PAD}"\n'
                   for k in range(CHUNK_LINES)).encode()


def chunks(template, index, nchunks):
    for j in range(nchunks):
        yield template.replace(b"c=c000,", b"c=c%03d," % j).replace(b"u=u000 ", b"u=u%03d " % index)


class Heads:
    """Counts the uploads whose head is out; go is set once all are."""

    def __init__(self, n):
        self.left, self.go = n, asyncio.Event()

    def done(self):
        self.left -= 1
        if self.left == 0:
            self.go.set()


async def upload_one(port, index, template, nchunks, expect, heads, out):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    except OSError:
        out["status"]["connect-error"] = out["status"].get("connect-error", 0) + 1
        heads.done()
        return
    head = (f"POST /write?db=big HTTP/1.1\r\nHost: x\r\nContent-Length: {len(template) * nchunks}\r\n"
            + ("Expect: 100-continue\r\n" if expect else "") + "\r\n").encode()
    status, headers = None, {}
    try:
        try:
            writer.write(head)
            await writer.drain()
        finally:
            heads.done()
        # Every upload's head is out before any body: one event loop sending bodies
        # would otherwise hold the later heads back past the relay's header timeout.
        await heads.go.wait()
        if expect:
            line = await asyncio.wait_for(reader.readline(), 120)
            code = int(line.split()[1]) if len(line.split()) > 1 else 0
            if code == 100:
                await asyncio.wait_for(reader.readline(), 10)  # the blank line
                for c in chunks(template, index, nchunks):
                    writer.write(c)
                    await writer.drain()
                status, headers = await read_status(reader, 120)
            else:
                status = code
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"retry-after:"):
                        headers["retry-after"] = h.split(b":")[1].strip().decode()
        else:
            reply = asyncio.ensure_future(read_status(reader, 120))
            # A refusal is already on its way: one event loop feeding a hundred bodies
            # would see it only after seconds, past the relay's lingering close.
            await asyncio.wait([reply], timeout=0.5)
            try:
                # In pieces, so an early answer is seen while the body is still going.
                for c in chunks(template, index, nchunks):
                    if reply.done():
                        break
                    writer.write(c)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            status, headers = await reply
    except (asyncio.TimeoutError, ConnectionError, OSError, ValueError):
        pass
    key = str(status) if status else "no-answer"
    out["status"][key] = out["status"].get(key, 0) + 1
    if status == 204:
        out["accepted"].append(index)
    if "retry-after" in headers:
        out["retry_after"] += 1
    writer.close()


async def idle_one(port, out):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        out["other"] += 1
        return
    try:
        line = await asyncio.wait_for(reader.readline(), 1.0)
        out["busy" if b" 503 " in line else "other"] += 1
    except asyncio.TimeoutError:
        out["open"] += 1
    except (ConnectionError, OSError):
        out["other"] += 1
    return writer


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["slow", "conns", "uploads"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--mib", type=int, default=25)
    ap.add_argument("--expect-half", action="store_true")
    a = ap.parse_args()
    if a.mode == "slow":
        out = {"answered": {}}
        await asyncio.gather(*(slow_one(a.port, i, a.seconds, out) for i in range(a.conns)))
    elif a.mode == "conns":
        out = {"busy": 0, "open": 0, "other": 0}
        writers = await asyncio.gather(*(idle_one(a.port, out) for _ in range(a.conns)))
        for w in writers:
            if w:
                w.close()
    else:
        # N bodies of M MiB would not fit in memory: each is made chunk by chunk as it
        # is sent, from one template.
        template = chunk_template()
        nchunks = max(1, (a.mib << 20) // len(template))
        out = {"status": {}, "accepted": [], "points_per_upload": nchunks * CHUNK_LINES,
               "body_bytes": nchunks * len(template), "retry_after": 0}
        heads = Heads(a.conns)
        await asyncio.gather(*(upload_one(a.port, i, template, nchunks,
                                          a.expect_half and i % 2 == 1, heads, out)
                               for i in range(a.conns)))
    json.dump(out, sys.stdout)
    print()


asyncio.run(main())
