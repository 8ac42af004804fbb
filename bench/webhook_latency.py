"""End-to-end latency: product.export_ready to the partner's webhook, against the bare bus hop.

    ./ekspora up && .venv/bin/python bench/webhook_latency.py [--umkm 32]

Starts a registry and a notifications service on the local Kafka and FerretDB, a partner whose
system subscribes a webhook to export-ready products, and registers the Kota Kediri seed UMKM one
at a time through the registry's API. For every product.export_ready it records when the event
happened (its CloudEvents `time`, stamped with the state change), when a plain Kafka consumer saw
it (the baseline: the outbox relay and the bus), and when the partner's endpoint received the
signed webhook (the product path: relay, bus, notifications, the webhook queue, HTTP).
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from ekspora_contracts.topics import REGISTRY_PRODUCT
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.table import table
from ekspora_kit.topic_reader import delete_region_topics
from ekspora_ops import seed
from ekspora_ops.evidence import certified
from ekspora_ops.measure import partner_with_webhook, percentile
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.processes import ServiceProcess, load_local_bus_credentials
from ekspora_ops.shops import last_sale_day, opened_shop

ROOT = Path(__file__).resolve().parents[1]
load_local_bus_credentials()
BUS = BusAccess()
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
TOKEN = "bench-operator"
EXPORT_READY = "ekspora.registry.product.export_ready.v1"
CLOCK = Clock.from_environment()


async def watch_bus(topic: str, seen: dict[str, float], happened: dict[str, float]) -> None:
    consumer = AIOKafkaConsumer(topic, **BUS.client_options(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        async for record in consumer:
            event = json.loads(record.value)
            if event["type"] == EXPORT_READY:
                seen[event["id"]] = CLOCK.now().timestamp()
                happened[event["id"]] = datetime.fromisoformat(event["time"]).timestamp()
    finally:
        await consumer.stop()


async def run(umkm_count: int) -> int:
    region = f"bench-{uuid.uuid4().hex[:6]}"
    log_dir = ROOT / ".local" / "bench"
    with LocalMessaging() as outside:
        env = {
            "EKSPORA_REGIONS": region,
            "EKSPORA_OPERATOR_TOKENS": f"{region}={TOKEN}",
            "EKSPORA_DEFAULT_QUIET_HOURS": "",
            "EKSPORA_OUTBOX_POLL_SECONDS": "1",
            **outside.env(),
        }
        services = {
            name: ServiceProcess(
                name, port=port, log_dir=log_dir, env=env | {"EKSPORA_MONGO_DATABASE": f"bench_{region}_{name}"}
            )
            for name, port in (("identity", 8125), ("registry", 8121), ("notifications", 8124))
        }
        await provision_regions(BUS, [region])
        for service in services.values():
            service.start()
        try:
            for service in services.values():
                service.wait_ready()
            return await measure(region, services, outside, umkm_count)
        finally:
            for service in services.values():
                service.stop()
            await clean_up(region, list(services))


async def clean_up(region: str, services: list[str]) -> None:
    """Drops the run's databases and deletes its region's topics."""
    mongo: AsyncMongoClient = AsyncMongoClient(MONGO)
    try:
        for name in services:
            await mongo.drop_database(f"bench_{region}_{name}")
    finally:
        await mongo.close()
    await delete_region_topics(BUS, region)
    await retire_regions(BUS, [region])


async def measure(region: str, services: dict, outside: LocalMessaging, umkm_count: int) -> int:
    try:
        urls = {name: services[name].url for name in ("identity", "notifications")}
        await partner_with_webhook(BUS, region, urls, TOKEN, outside, [EXPORT_READY], CLOCK)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1

    on_bus: dict[str, float] = {}
    happened: dict[str, float] = {}
    watcher = asyncio.create_task(watch_bus(REGISTRY_PRODUCT.topic(region), on_bus, happened))
    items = seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))[:umkm_count]
    registry = httpx.AsyncClient(
        base_url=services["registry"].url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15
    )
    for number, item in enumerate(items, start=1):
        msme_id = (await registry.post("/msmes", json={**item["register"], "region": region})).json()["msme_id"]
        if item["verified"]:
            await registry.post(f"/msmes/{msme_id}/nib-verification")
        sold = []
        for product_body, certificates in item["products"]:
            product = (await registry.post(f"/msmes/{msme_id}/products", json=product_body)).json()["product"]
            sold.append((product["product_id"], product_body["unit_price_idr"]))
            for certificate in certificates:
                await certified(registry, f"/msmes/{msme_id}/products/{product['product_id']}", certificate)
        for listing in item["listings"]:
            await opened_shop(registry, msme_id, listing, sold, last_sale_day())
        deadline = time.monotonic() + 20  # one UMKM at a time: wait until its webhooks have arrived
        # the webhooks land in another thread's list: poll it
        while time.monotonic() < deadline and len(webhooks_of(outside)) < len(on_bus):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        print(
            f"  [{number:>2}/{len(items)}] {item['register']['business_name']:<28} export-ready so far: {len(on_bus)}"
        )
    watcher.cancel()

    arrived = webhooks_of(outside)
    missing = set(on_bus) - set(arrived)
    bus = [(on_bus[i] - happened[i]) * 1000 for i in on_bus]
    hook = [(arrived[i] - happened[i]) * 1000 for i in arrived if i in happened]
    rows = [
        (name, len(values), f"{statistics.median(values):.0f}", f"{percentile(values, 0.9):.0f}", f"{max(values):.0f}")
        for name, values in (("baseline: on the bus (relay + Kafka)", bus), ("partner webhook received", hook))
    ]
    print()
    print(table(("product.export_ready ->", "events", "median ms", "p90 ms", "max ms"), rows))
    print(f"\nwebhook overhead over the bus hop (median): {statistics.median(hook) - statistics.median(bus):.0f} ms")
    if missing:
        print(f"{len(missing)} export_ready event(s) never reached the webhook", file=sys.stderr)
        return 1
    return 0


def webhooks_of(outside: LocalMessaging) -> dict[str, float]:
    return {call.headers["webhook-id"].removeprefix("msg_"): call.received_at for call in outside.webhooks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--umkm", type=int, default=32, help="how many seed UMKM to register (at most 32)")
    return asyncio.run(run(parser.parse_args().umkm))


if __name__ == "__main__":
    sys.exit(main())
