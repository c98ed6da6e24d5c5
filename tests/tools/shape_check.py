#!/usr/bin/env python3
"""The mixed workload of tests/integration/0021-rules.sh, and what each TSDB must hold.

  shape_check.py send --port P --lines N         write the points (5,000-line requests)
  shape_check.py check --influx URL --vm URL --lines N [--influx-only]

The points, line i (1 ms apart from 1700000000 s): database "b" when i % 3 == 0, else
"a"; measurement cpu, mem or noise ((i // 3) % 3); tag host "test-K" when i % 10 == 0,
else "hK" (K = i % 50), and tag dc "d(i % 2)"; field v=i, and secret=2i on cpu.

The rule set under test (0021's config): at ingest, drop measurement noise, drop hosts
matching /^test-/, rename tag host to node; cluster influx takes database a only;
cluster vm drops field secret. The check computes what that leaves here, from the
points, without the relay's code, and compares it with what each TSDB holds, per
database, measurement and series: count and sum of v (and of secret where it stays);
no tag host, no measurement noise, no field secret in VictoriaMetrics, nothing of
database b in InfluxDB. Prints what differs and exits 1, or prints a summary."""
import argparse
import collections
import json
import sys
import urllib.parse
import urllib.request

T0_MS = 1_700_000_000_000


def point(i):
    db = "b" if i % 3 == 0 else "a"
    meas = ("cpu", "mem", "noise")[(i // 3) % 3]
    host = f"test-{i % 50}" if i % 10 == 0 else f"h{i % 50}"
    fields = f"v={i}i" + (f",secret={2 * i}i" if meas == "cpu" else "")
    return db, meas, host, f"d{i % 2}", fields


def send(a):
    batches = collections.defaultdict(list)

    def flush(db):
        body = "\n".join(batches[db]).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{a.port}/write?db={db}&precision=ms",
                                     data=body, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            if r.status != 204:
                sys.exit(f"write answered {r.status}")
        batches[db].clear()

    for i in range(a.lines):
        db, meas, host, dc, fields = point(i)
        batches[db].append(f"{meas},host={host},dc={dc} {fields} {T0_MS + i}")
        if len(batches[db]) >= 5000:
            flush(db)
    for db in list(batches):
        if batches[db]:
            flush(db)


def expected(lines, cluster):
    """{(db, measurement, node, dc): [count, sum v, sum secret]} for the cluster."""
    out = collections.defaultdict(lambda: [0, 0, 0])
    for i in range(lines):
        db, meas, host, dc, _ = point(i)
        if meas == "noise" or host.startswith("test-"):
            continue
        if cluster == "influx" and db != "a":
            continue
        e = out[(db, meas, host, dc)]
        e[0] += 1
        e[1] += i
        if meas == "cpu" and cluster == "influx":
            e[2] += 2 * i
    return out


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read().decode()


def influx_holds(url):
    out = collections.defaultdict(lambda: [0, 0, 0])
    problems = []
    for db in ("a", "b"):
        q = "SELECT count(v), sum(v), sum(secret) FROM /.*/ GROUP BY *"
        res = json.loads(get(f"{url}/query?" + urllib.parse.urlencode({"db": db, "q": q})))
        for s in res["results"][0].get("series", []):
            tags = s.get("tags", {})
            if "host" in tags:
                problems.append(f"influx {db}.{s['name']}: tag host still there: {tags}")
            _, c, sv, ss = s["values"][0]
            e = out[(db, s["name"], tags.get("node"), tags.get("dc"))]
            e[0] += c or 0
            e[1] += sv or 0
            e[2] += ss or 0
    return out, problems


def vm_holds(url):
    out = collections.defaultdict(lambda: [0, 0, 0])
    problems = []
    q = urllib.parse.urlencode({"match[]": '{__name__=~".+",db=~"a|b"}'})
    for line in get(f"{url}/api/v1/export?{q}").splitlines():
        if not line:
            continue
        j = json.loads(line)
        m = j["metric"]
        name = m["__name__"]
        if "host" in m:
            problems.append(f"vm {name}: label host still there: {m}")
        meas, _, field = name.rpartition("_")
        if field != "v":
            problems.append(f"vm: field {field} of {meas} should not be there ({m})")
            continue
        e = out[(m.get("db"), meas, m.get("node"), m.get("dc"))]
        e[0] += len(j["values"])
        e[1] += int(sum(j["values"]))
    return out, problems


def compare(name, want, got, problems):
    for k in sorted(set(want) | set(got), key=str):
        if list(want.get(k, [0, 0, 0])) != list(got.get(k, [0, 0, 0])):
            problems.append(f"{name} {k}: want {want.get(k)}, holds {got.get(k)}")
    return sum(v[0] for v in want.values())


def check(a):
    problems = []
    got, p = influx_holds(a.influx)
    problems += p
    n_influx = compare("influx", expected(a.lines, "influx"), got, problems)
    n_vm = 0
    if not a.influx_only:
        got, p = vm_holds(a.vm)
        problems += p
        n_vm = compare("vm", expected(a.lines, "vm"), got, problems)
    for p in problems[:20]:
        print(p)
    if problems:
        print(f"{len(problems)} differences")
        sys.exit(1)
    print(f"influx holds exactly the {n_influx} expected points"
          + ("" if a.influx_only else f", vm the {n_vm} expected points"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["send", "check"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--influx")
    ap.add_argument("--vm")
    ap.add_argument("--influx-only", action="store_true")
    a = ap.parse_args()
    send(a) if a.what == "send" else check(a)


if __name__ == "__main__":
    main()
