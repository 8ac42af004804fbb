"""Latency under load: product.export_ready at fixed rates, to the partner's webhook, against the bare bus hop.

    ./ekspora up && .venv/bin/python bench/latency_sweep.py [--rates 20 50 100 200] [--seconds 60]

Starts a notifications service (`--instances` of it) on the local Kafka and store, and a partner
whose system subscribes a webhook to export-ready products. Then, for each rate in turn, it puts
that many `product.export_ready` events per second on the region's product topic for `--seconds`,
on a fixed schedule (not "as fast as it goes"), each stamped with its `time` as it is sent, the way
the registry's relay sends what a state change wrote. For every event it records when a plain
Kafka consumer saw it (the baseline: the bare bus hop) and when the partner's endpoint received
the signed webhook (the product path: consume, fan-out to endpoints, the webhook queue, HTTP).
A step's events all arrive before the next rate starts. The registry's own relay (state change
to Kafka) is not in these figures: bench/webhook_latency.py measures it, at the rate the registry
sustains.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import ProductExportReady
from ekspora_contracts.topics import REGISTRY_PRODUCT
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.table import table
from ekspora_kit.topic_reader import delete_region_topics
from ekspora_ops.measure import export_ready_product, partner_with_webhook, percentile
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.processes import ServiceProcess, load_local_bus_credentials

ROOT = Path(__file__).resolve().parents[1]
load_local_bus_credentials()
TOKEN = "bench-operator"
BUS = BusAccess()
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
EXPORT_READY = ProductExportReady.event_type
CLOCK = Clock.from_environment()
TARGET_RATE, TARGET_P99_MS = 100, 500


def export_ready(region: str, product_id: str) -> bytes:
    event = new_event(
        export_ready_product(region, product_id, f"msme-{product_id}"),
        region=region,
        producer="bench",
        correlation_id="sweep",
        time=CLOCK.now(),
    )
    return event.model_dump_json().encode()


async def watch_bus(topic: str, seen: dict[str, float]) -> None:
    consumer = AIOKafkaConsumer(topic, **BUS.client_options(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        async for record in consumer:
            seen[json.loads(record.value)["id"]] = CLOCK.now().timestamp()
    finally:
        await consumer.stop()


async def drive(producer: AIOKafkaProducer, region: str, rate: int, seconds: float) -> tuple[dict[str, float], float]:
    """Sends rate x seconds events on schedule; returns each event's id with its time, and the rate achieved."""
    topic, sent = REGISTRY_PRODUCT.topic(region), {}
    count = int(rate * seconds)
    started = time.monotonic()
    pending = []
    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        product_id = f"prd-{rate}-{n:05d}"
        value = export_ready(region, product_id)
        event = json.loads(value)
        sent[event["id"]] = datetime.fromisoformat(event["time"]).timestamp()
        pending.append(await producer.send(topic, value, key=product_id.encode()))
    await asyncio.gather(*pending)
    return sent, count / (time.monotonic() - started)


def arrived(outside: LocalMessaging) -> dict[str, float]:
    return {call.headers["webhook-id"].removeprefix("msg_"): call.received_at for call in outside.webhooks}


async def drained(sent: dict[str, float], outside: LocalMessaging, patience: float = 20) -> None:
    """Until every event's webhook arrived, or none arrived for `patience` seconds."""
    count, quiet_since = -1, time.monotonic()
    while not set(sent) <= set(hooks := arrived(outside)):
        if len(hooks) != count:
            count, quiet_since = len(hooks), time.monotonic()
        elif time.monotonic() - quiet_since > patience:
            return
        await asyncio.sleep(0.2)  # the webhooks land in another thread's list: poll it


async def sweep(
    region: str, identity: ServiceProcess, notifications: list[ServiceProcess], outside: LocalMessaging, args
) -> int:
    urls = {"identity": identity.url, "notifications": notifications[0].url}
    await partner_with_webhook(BUS, region, urls, TOKEN, outside, [EXPORT_READY], CLOCK)
    on_bus: dict[str, float] = {}
    watcher = asyncio.create_task(watch_bus(REGISTRY_PRODUCT.topic(region), on_bus))
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    rows, failed = [], False
    try:
        for rate in args.rates:
            print(f"  {rate}/s for {args.seconds:.0f}s ...", flush=True)
            sent, achieved = await drive(producer, region, rate, args.seconds)
            await drained(sent, outside)
            hooks = arrived(outside)
            bus = [(on_bus[i] - t) * 1000 for i, t in sent.items() if i in on_bus]
            hook = [(hooks[i] - t) * 1000 for i, t in sent.items() if i in hooks]
            missing = len(sent) - len(hook)
            failed |= missing > 0
            rows.append(
                (
                    rate,
                    f"{achieved:.0f}",
                    len(sent),
                    *(f"{percentile(bus, q):.0f}" for q in (0.5, 0.99)),
                    *(f"{percentile(hook, q):.0f}" for q in (0.5, 0.99)),
                    f"{max(hook):.0f}",
                    missing,
                )
            )
    finally:
        watcher.cancel()
        await producer.stop()
    print()
    headings = ("rate/s", "sent/s", "events", "bus p50", "bus p99", "webhook p50", "webhook p99", "max", "missing")
    print(table(headings, rows))
    print("(milliseconds from the event's time; bus: a plain consumer saw it; webhook: the partner's endpoint got it)")
    at_target = [row for row in rows if row[0] == TARGET_RATE]
    if at_target:
        p99 = float(at_target[0][6])
        verdict = "meets" if p99 < TARGET_P99_MS else "misses"
        print(f"\nwebhook p99 at {TARGET_RATE}/s: {p99:.0f} ms, {verdict} the {TARGET_P99_MS} ms target")
    return 1 if failed else 0


async def run(args) -> int:
    region = f"sweep-{uuid.uuid4().hex[:6]}"
    await provision_regions(BUS, [region])
    with LocalMessaging() as outside:
        env = {
            "EKSPORA_REGIONS": region,
            "EKSPORA_OPERATOR_TOKENS": f"{region}={TOKEN}",
            "EKSPORA_DEFAULT_QUIET_HOURS": "",
            "EKSPORA_DIGEST_ENABLED": "false",
            "EKSPORA_MONGO_DATABASE": f"bench_{region}_notifications",
            **outside.env(),
        }
        logs = ROOT / ".local" / "bench"
        identity = ServiceProcess(
            "identity", port=8129, log_dir=logs, env=env | {"EKSPORA_MONGO_DATABASE": f"bench_{region}_identity"}
        )
        services = [
            ServiceProcess("notifications", port=8130 + n, log_dir=logs, name=f"notifications-{n}", env=env)
            for n in range(1, args.instances + 1)
        ]
        for service in (identity, *services):
            service.start()
        try:
            for service in (identity, *services):
                service.wait_ready()
            return await sweep(region, identity, services, outside, args)
        finally:
            for service in (identity, *services):
                service.stop()
            mongo: AsyncMongoClient = AsyncMongoClient(MONGO)
            await mongo.drop_database(f"bench_{region}_notifications")
            await mongo.drop_database(f"bench_{region}_identity")
            await mongo.close()
            await delete_region_topics(BUS, region)
            await retire_regions(BUS, [region])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[20, 50, 100, 200], help="events per second, in turn")
    parser.add_argument("--seconds", type=float, default=60, help="how long each rate is held (default 60)")
    parser.add_argument("--instances", type=int, default=1, help="notifications instances (default 1)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
