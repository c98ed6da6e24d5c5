#!/usr/bin/env python3
"""Publishes JSON sensor readings into a Kafka topic with Confluent's Python client, as a
device gateway would (the reference design of inputs.kafka, format json).

Reading i is {"station": "s<i % 10>", "ts": T0_MS + i, "pressure": i,
"temperature": 20 + i % 7, "visibility": 80.1, "loc": {"depth": i % 100}}; every
--bad-every-th reading is followed by a malformed message. Creates the topic first
(--partitions) when it does not exist. Paced to --rate messages a second (0: as fast as
the client goes); flushes before it exits and fails unless every message was acked.

  kafka_json_producer.py --brokers B --topic T --first I --count N [--bad N] [--rate R]
                         [--partitions P]"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

T0_MS = 1_700_000_000_000


def ensure_topic(brokers, topic, partitions):
    admin = AdminClient({"bootstrap.servers": brokers})
    if topic in admin.list_topics(timeout=10).topics:
        return
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        try:
            f.result(10)
        except Exception as e:  # created by a concurrent run: fine
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--bad", type=int, default=0, help="malformed messages, spread evenly")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--partitions", type=int, default=3)
    a = ap.parse_args()
    ensure_topic(a.brokers, a.topic, a.partitions)
    failed = []
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True, "linger.ms": 5})

    def report(err, msg):
        if err:
            failed.append(err)

    bad_every = a.count // a.bad if a.bad else 0
    start = time.monotonic()
    for n, i in enumerate(range(a.first, a.first + a.count)):
        doc = {"station": f"s{i % 10}", "ts": T0_MS + i, "pressure": i,
               "temperature": 20 + i % 7, "visibility": 80.1, "loc": {"depth": i % 100}}
        p.produce(a.topic, json.dumps(doc).encode(), key=f"s{i % 10}", on_delivery=report)
        if bad_every and n % bad_every == bad_every - 1:
            p.produce(a.topic, b'{"station": "s1", "pressure": 1.5,, "ts": oops', key=b"bad",
                      on_delivery=report)
        p.poll(0)
        if a.rate:
            ahead = (n + 1) / a.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    left = p.flush(30)
    if left or failed:
        sys.exit(f"{left} messages unflushed, {len(failed)} failed: {failed[:3]}")


if __name__ == "__main__":
    main()
