#!/usr/bin/env python3
"""A TCP proxy that can partition the network (stdlib only, asyncio): for the soak's
relay-to-broker partitions.

    tcpproxy.py --pair LISTEN_PORT:UPSTREAM_PORT [--pair ...] --control CONTROL_PORT

Forwards every connection on 127.0.0.1:LISTEN_PORT to 127.0.0.1:UPSTREAM_PORT, byte for
byte, both ways. Control (HTTP on 127.0.0.1:CONTROL_PORT):
  POST /cut?pair=N    pair N (0-based, in --pair order) drops the network: the bytes of
                      its open connections go nowhere, new connections are accepted and
                      then hear nothing, as when a switch in between fails (the peers
                      find out by their own timeouts, not by a reset)
  POST /heal?pair=N   pair N forwards again; the connections held while it was cut are
                      closed, so the peers connect again
  GET /stats          {"pairs": [{"listen", "upstream", "cut", "open"}]}
"""
import argparse
import asyncio
import json
import urllib.parse


class Pair:
    def __init__(self, listen, upstream):
        self.listen, self.upstream = listen, upstream
        self.cut = False
        self.entries = {}  # id -> [client writer, upstream writer or None]

    async def handle(self, reader, writer):
        entry = [writer, None]
        self.entries[id(entry)] = entry
        try:
            if self.cut:
                await self._hold(reader)
                return
            try:
                ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream)
            except OSError:
                return
            entry[1] = uw
            await asyncio.gather(self._pipe(reader, uw), self._pipe(ur, writer))
        finally:
            self.entries.pop(id(entry), None)
            for w in entry:
                if w is not None:
                    w.close()

    async def _hold(self, reader):
        # Read and drop: the peer's bytes vanish, nothing comes back.
        while self.cut:
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.5)
            except asyncio.TimeoutError:
                continue
            if not data:
                return

    async def _pipe(self, src, dst):
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                if self.cut:
                    while self.cut:
                        await asyncio.sleep(0.1)  # held: the network is down
                    break  # healed: a connection that lived through the cut is closed
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            try:
                dst.close()
            except OSError:
                pass

    def set_cut(self, cut):
        self.cut = cut
        if not cut:
            for entry in list(self.entries.values()):
                for w in entry:
                    if w is not None:
                        w.close()


async def control(pairs, reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        url = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(url.query)
        status, body = 200, {}
        if method == "POST" and url.path in ("/cut", "/heal"):
            n = int(q.get("pair", ["-1"])[0])
            if 0 <= n < len(pairs):
                pairs[n].set_cut(url.path == "/cut")
                body = {"pair": n, "cut": pairs[n].cut}
            else:
                status, body = 400, {"error": "no such pair"}
        elif method == "GET" and url.path == "/stats":
            body = {"pairs": [{"listen": p.listen, "upstream": p.upstream, "cut": p.cut,
                               "open": len(p.entries)} for p in pairs]}
        else:
            status, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % (status, len(data)) + data)
        await writer.drain()
    except (OSError, ValueError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pair", action="append", required=True)
    ap.add_argument("--control", type=int, required=True)
    a = ap.parse_args()
    pairs = []
    for spec in a.pair:
        listen, upstream = (int(x) for x in spec.split(":"))
        p = Pair(listen, upstream)
        await asyncio.start_server(p.handle, "127.0.0.1", listen)
        pairs.append(p)
    await asyncio.start_server(lambda r, w: control(pairs, r, w), "127.0.0.1", a.control)
    print(f"tcpproxy: {len(pairs)} pairs, control on {a.control}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
