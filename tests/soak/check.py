#!/usr/bin/env python3
"""The soak checker: every point the writers sent, accounted for at every cluster.

  check.py --logs DIR --influx URL --vm URL [--kafka-dump FILE] [--nemesis FILE]
           [--json OUT] [--quiet]

Reads the writers' logs (DIR/writer-*.log, tests/soak/writer.py): a point of a request
answered 204 is acknowledged, of one refused before sending not sent, of any other
answer (503, a broken connection, a timeout) unknown. Then what each cluster holds:
InfluxDB (database soak, measurement soak, field i) and VictoriaMetrics (soak_i, run
without deduplication, so a point delivered twice is two samples); of a Graphite writer
(its name starts with g; it logs "sent", never an acknowledgment, so its points are all
unknown) database graphite, soak_g, field value. Per cluster and
writer: acknowledged present, LOST (acknowledged, absent), duplicated (VictoriaMetrics),
unknown present / absent, unexpected (present, never sent). Per-series order: in the
Kafka topic (--kafka-dump, topic_dump's output in partition and offset order), the
acknowledged points of each series that went through one relay must come in the order
they were sent (across relays it is reported only: a relay that spools cannot keep it,
docs/kafka.md); and the
overwritten point soak_ovr of each writer must hold, in InfluxDB, the value of its last
acknowledged request or of a later one. With --nemesis, the faults active within 30 s
before each lost point's request are listed. Exit 1 on any loss, order violation or
stale overwrite; 0 otherwise. --quiet prints one line (for polling until in sync)."""
import argparse
import collections
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request


def get(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def read_logs(d):
    """{writer: {"acked": set, "unknown": set, "req": {idx: (sent_ms, status, port)},
    "ovr_acked": last acked k, "ovr_ok": set of k that may be the final value}}"""
    ws = {}
    for path in sorted(glob.glob(os.path.join(d, "writer-*.log"))):
        w = re.search(r"writer-(.+)\.log$", path).group(1)
        acked, unknown, req, ovr_ok, last_k = set(), set(), {}, set(), -1
        kind = "graphite" if w.startswith("g") else "http"
        rejected = 0
        for line in open(path):
            parts = line.split()
            if len(parts) != 6:
                continue
            sent, port, first, n, k, status = int(parts[0]), parts[1], int(parts[2]), int(parts[3]), int(parts[4]), parts[5]
            if status == "refused":
                continue
            rng = range(first, first + n)
            for i in rng:
                req[i] = (sent, status, port)
            if status == "204":
                acked.update(rng)
                last_k = max(last_k, k)
                ovr_ok.add(k)
            elif status.startswith("4"):
                rejected += n
            else:
                unknown.update(rng)
                ovr_ok.add(k)
        ws[w] = {"kind": kind, "acked": acked, "unknown": unknown, "req": req, "ovr_acked": last_k,
                 "ovr_ok": ovr_ok, "rejected": rejected}
    return ws


# Where each kind of writer's points land: (database, measurement, field).
SHAPES = {"http": ("soak", "soak", "i"), "graphite": ("graphite", "soak_g", "value")}


def influx_points(url, w, kind):
    db, meas, field = SHAPES[kind]
    out = collections.Counter()
    q = f"SELECT {field} FROM {meas} WHERE w = '{w}'"
    body = get(f"{url}/query?" + urllib.parse.urlencode(
        {"db": db, "q": q, "chunked": "true", "chunk_size": "100000"}))
    for chunk in body.splitlines():
        if not chunk.strip():
            continue
        for res in json.loads(chunk).get("results", []):
            for s in res.get("series", []):
                for _, i in s["values"]:
                    out[int(i)] += 1
    return out


def influx_ovr(url):
    q = "SELECT last(v) FROM soak_ovr GROUP BY w"
    res = json.loads(get(f"{url}/query?" + urllib.parse.urlencode({"db": "soak", "q": q})))
    return {s["tags"]["w"]: int(s["values"][0][1]) for s in res["results"][0].get("series", [])}


def vm_points(url, kind):
    db, meas, field = SHAPES[kind]
    out = collections.defaultdict(collections.Counter)
    get(f"{url}/internal/force_flush")
    q = urllib.parse.urlencode({"match[]": f'{meas}_{field}{{db="{db}"}}'})
    for line in get(f"{url}/api/v1/export?{q}").splitlines():
        if line:
            j = json.loads(line)
            c = out[j["metric"]["w"]]
            for v in j["values"]:
                c[int(v)] += 1
    return out


def kafka_order(path, ws):
    """Acknowledged points of a series that Kafka holds out of the order they were sent:
    ([(w, s, i, before)] through one relay, the same across relays). A relay keeps the
    order of what it acknowledged; one that spools cannot know that another has taken
    later points of the series meanwhile (docs/kafka.md), so the second list is
    reported, not judged."""
    seen = collections.defaultdict(set)
    high = {}
    high_relay = {}
    bad, across = [], []
    pat = re.compile(rb"^soak,s=(\d+),w=([^ ]+) i=(\d+)i")
    with open(path, "rb") as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            s, w, i = int(m.group(1)), m.group(2).decode(), int(m.group(3))
            if w not in ws or i not in ws[w]["acked"]:
                continue
            key = (w, s)
            if i in seen[key]:
                continue  # a copy (produced twice): its first place is what counts
            seen[key].add(i)
            rkey = (w, s, ws[w]["req"][i][2])
            if rkey in high_relay and i < high_relay[rkey]:
                bad.append((w, s, i, high_relay[rkey]))
            elif key in high and i < high[key]:
                across.append((w, s, i, high[key]))
            high[key] = max(high.get(key, -1), i)
            high_relay[rkey] = max(high_relay.get(rkey, -1), i)
    return bad, across


REPLAY_SINCE_MS = 120000  # soak.sh replays --since -2m


def replay_windows(nemesis, cluster):
    """[(from_ms, to_ms)]: the Kafka entry times the replays to cluster re-sent."""
    out = []
    for (start, end, what) in nemesis:
        parts = what.split()
        if parts[0] == "replay" and (len(parts) < 3 or parts[2] == cluster):
            out.append((start - REPLAY_SINCE_MS - 5000, end if end is not None else start))
    return out


def faults_near(nemesis, t_ms):
    near = []
    for (start, end, what) in nemesis:
        if start <= t_ms + 5000 and (end is None or end >= t_ms - 30000):
            near.append(what)
    return near


def read_nemesis(path):
    """[(start_ms, end_ms, what)] from "MS start|end KIND DETAIL" lines."""
    open_ = {}
    out = []
    for line in open(path):
        parts = line.rstrip("\n").split(" ", 3)
        if len(parts) < 3:
            continue
        ms, ev, kind = int(parts[0]), parts[1], parts[2]
        detail = parts[3] if len(parts) > 3 else ""
        key = kind + " " + detail
        if ev == "start":
            open_[key] = ms
        elif ev == "end" and key in open_:
            out.append((open_.pop(key), ms, key))
    out.extend((ms, None, key) for key, ms in open_.items())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logs", required=True)
    ap.add_argument("--influx", required=True)
    ap.add_argument("--vm", required=True)
    ap.add_argument("--kafka-dump")
    ap.add_argument("--nemesis")
    ap.add_argument("--json")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    ws = read_logs(a.logs)
    nemesis = read_nemesis(a.nemesis) if a.nemesis else []
    vm = {kind: vm_points(a.vm, kind) for kind in SHAPES}
    ovr = influx_ovr(a.influx)
    report = {"writers": {}, "lost": 0, "order": 0, "stale_overwrite": 0}
    dup_near = collections.Counter()  # extra copies by the kinds of fault around their request
    windows = {"influx": replay_windows(nemesis, "influx"), "vm": replay_windows(nemesis, "vm")}
    lost_examples = []
    for w, d in sorted(ws.items()):
        clusters = {"influx": influx_points(a.influx, w, d["kind"]), "vm": vm[d["kind"]][w]}
        sent = d["acked"] | d["unknown"]
        wr = {"kind": d["kind"], "acknowledged": len(d["acked"]), "unknown": len(d["unknown"]),
              "rejected": d["rejected"]}
        for name, held in clusters.items():
            lost = sorted(i for i in d["acked"] if i not in held)
            dup = replayed = 0
            for i, c in held.items():
                if c < 2:
                    continue
                t = d["req"][i][0] if i in d["req"] else None
                if t is not None and any(a <= t <= b for a, b in windows[name]):
                    replayed += c - 1  # a replay sends its range again: not a fault's doing
                    continue
                dup += c - 1
                kinds = sorted({f.split()[0] for f in faults_near(nemesis, t)}) if t else []
                dup_near[" + ".join(kinds) or "none"] += c - 1
            wr[name] = {
                "acknowledged_present": len(d["acked"]) - len(lost),
                "lost": len(lost),
                "duplicated": dup,
                "replayed_copies": replayed,
                "unknown_present": sum(1 for i in d["unknown"] if i in held),
                "unknown_absent": sum(1 for i in d["unknown"] if i not in held),
                "unexpected": sum(1 for i in held if i not in sent),
            }
            report["lost"] += len(lost)
            for i in lost[:3]:
                t = d["req"][i][0]
                lost_examples.append(f"{name}: writer {w} point {i} (request at {t} ms) lost; "
                                     f"faults around it: {', '.join(faults_near(nemesis, t)) or 'none'}")
        final = ovr.get(w)
        ok = final is not None and final >= d["ovr_acked"] and final in d["ovr_ok"]
        if d["ovr_acked"] < 0:
            ok = True
        wr["overwrite"] = {"last_acknowledged": d["ovr_acked"], "influx_holds": final, "ok": ok}
        report["stale_overwrite"] += not ok
        report["writers"][w] = wr
    if a.kafka_dump:
        bad, across = kafka_order(a.kafka_dump, ws)
        report["order"] = len(bad)
        report["order_across_relays"] = len(across)
        report["order_examples"] = [f"writer {w} series {s}: point {i} after {h}" for w, s, i, h in bad[:5]]
        report["order_across_examples"] = [f"writer {w} series {s}: point {i} after {h}"
                                           for w, s, i, h in across[:3]]
    report["lost_examples"] = lost_examples[:20]
    report["duplicates_near"] = dict(dup_near.most_common())
    ok = report["lost"] == 0 and report["order"] == 0 and report["stale_overwrite"] == 0
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if a.quiet:
        print(f"lost {report['lost']} order {report['order']} stale {report['stale_overwrite']}")
    else:
        for w, wr in report["writers"].items():
            print(f"writer {w} ({wr['kind']}): {wr['acknowledged']} acknowledged, {wr['unknown']} unknown, "
                  f"{wr['rejected']} rejected; overwrite last acknowledged "
                  f"{wr['overwrite']['last_acknowledged']}, InfluxDB holds "
                  f"{wr['overwrite']['influx_holds']} ({'ok' if wr['overwrite']['ok'] else 'STALE'})")
            for name in ("influx", "vm"):
                c = wr[name]
                print(f"  {name:6}: present {c['acknowledged_present']}, LOST {c['lost']}, "
                      f"duplicated {c['duplicated']} (+{c['replayed_copies']} in replayed ranges), "
                      f"unknown present {c['unknown_present']} / "
                      f"absent {c['unknown_absent']}, unexpected {c['unexpected']}")
        if a.kafka_dump:
            print(f"per-series order in Kafka: {report['order']} violations through one relay")
            for e in report.get("order_examples", []):
                print("  " + e)
            print(f"  across relays (not kept while a relay spools): {report['order_across_relays']}")
            for e in report.get("order_across_examples", []):
                print("    " + e)
        if dup_near:
            print("duplicates outside replayed ranges, by the faults around their request: " +
                  ", ".join(f"{k} {v}" for k, v in dup_near.most_common(8)))
        for e in lost_examples[:20]:
            print("  " + e)
        print("verdict:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
