#!/usr/bin/env python3
"""Counts what a TSDB holds of the points tests/tools/lpsend.py sends.

Prints "COUNT SUM": the number of points of field fi over measurements m0..m6 in the
database, and the sum of their values. lpsend's line i carries fi=i, so for lines
0..n-1 the sum is n(n-1)/2: equal counts AND sums mean every point arrived once, with
its value. --sample I also checks line I's value at its exact timestamp.

--vm-raw URL prints "RAW COUNT SUM" instead: RAW is every sample VictoriaMetrics
stores, duplicates included (run it without -dedup.minScrapeInterval to keep them);
COUNT and SUM are over distinct points (series and timestamp), as --vm would print them
with deduplication on. RAW - COUNT is the number of points written more than once.

  tsdb_count.py --influx URL --db DB [--rp RP] [--sample I --step-ns S]
  tsdb_count.py --vm URL [--db DB] [--sample I --step-ns S]
  tsdb_count.py --vm-raw URL [--db DB] [--sample I --step-ns S]"""
import argparse
import json
import sys
import urllib.parse
import urllib.request

T0 = 1_700_000_000_000_000_000


def get(url, data=None):
    with urllib.request.urlopen(url, data=data, timeout=60) as r:
        return r.read().decode()


def influx(a):
    frm = f'"{a.rp}"./^m[0-6]$/' if a.rp else "/^m[0-6]$/"
    q = f"SELECT count(fi), sum(fi) FROM {frm}"
    res = json.loads(get(f"{a.influx}/query?" + urllib.parse.urlencode({"db": a.db, "q": q})))
    count = total = 0
    for series in res["results"][0].get("series", []):
        _, c, s = series["values"][0]
        # While writes land, InfluxDB can answer a measurement with no points yet (null
        # sum): that is "not there yet", and wait_counts polls again.
        count += c or 0
        total += s or 0
    return count, total


def influx_sample(a, i):
    ts = T0 + i * a.step_ns
    q = f"SELECT fi FROM m{i % 7} WHERE host='h{i % 101}' AND time = {ts}"
    res = json.loads(get(f"{a.influx}/query?" + urllib.parse.urlencode({"db": a.db, "q": q})))
    s = res["results"][0].get("series")
    return s[0]["values"][0][1] if s else None


def vm_export(a, match, extra=None):
    params = [("match[]", match)] + (extra or [])
    body = get(f"{a.vm}/api/v1/export", urllib.parse.urlencode(params).encode())
    return [json.loads(l) for l in body.splitlines() if l.strip()]


def vm(a):
    sel = '{__name__=~"m[0-6]_fi"%s}' % (f',db="{a.db}"' if a.db else "")
    count = total = 0
    for s in vm_export(a, sel, [("start", "0")]):
        count += len(s["values"])
        total += int(sum(s["values"]))
    return count, total


def vm_raw(a):
    """(raw samples, distinct points, sum of the distinct points' values)."""
    sel = '{__name__=~"m[0-6]_fi"%s}' % (f',db="{a.db}"' if a.db else "")
    # reduce_mem_usage=1: the samples as stored, neither merged nor deduplicated by the
    # query layer (a series may then come in several lines). Only their number is
    # taken from it: victoria-metrics 1.x pairs some values with the wrong timestamps
    # and series in this mode (a few hundred of 20,000, differently on each call), so
    # the distinct points and their sum come from the ordinary export.
    raw = sum(len(s["values"])
              for s in vm_export(a, sel, [("start", "0"), ("reduce_mem_usage", "1")]))
    seen = {}
    for s in vm_export(a, sel, [("start", "0")]):
        key = json.dumps(s["metric"], sort_keys=True)
        for v, t in zip(s["values"], s["timestamps"]):
            seen[(key, t)] = v
    return raw, len(seen), int(sum(seen.values()))


def vm_sample(a, i):
    ms = (T0 + i * a.step_ns) // 1_000_000
    sel = '{__name__="m%d_fi",host="h%d"%s}' % (i % 7, i % 101, f',db="{a.db}"' if a.db else "")
    for s in vm_export(a, sel, [("start", str(ms / 1000)), ("end", str(ms / 1000))]):
        for v, t in zip(s["values"], s["timestamps"]):
            if t == ms:
                return int(v)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--influx")
    ap.add_argument("--vm")
    ap.add_argument("--vm-raw", metavar="URL",
                    help='VictoriaMetrics: print "RAW COUNT SUM", duplicates counted in RAW')
    ap.add_argument("--db", default="")
    ap.add_argument("--rp", default="", help="InfluxDB: this retention policy, not the default")
    ap.add_argument("--sample", type=int, action="append", default=[])
    ap.add_argument("--step-ns", type=int, default=1_000_000)
    a = ap.parse_args()
    if [bool(a.influx), bool(a.vm), bool(a.vm_raw)].count(True) != 1:
        ap.error("give exactly one of --influx, --vm and --vm-raw")
    if a.vm_raw:
        a.vm = a.vm_raw
        print(*vm_raw(a))
    else:
        count, total = influx(a) if a.influx else vm(a)
        print(count, total)
    bad = 0
    for i in a.sample:
        v = influx_sample(a, i) if a.influx else vm_sample(a, i)
        if v != i:
            print(f"sample {i}: got {v}, want {i}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
