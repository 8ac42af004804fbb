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
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import PartnerChanged
from ekspora_contracts.topics import MATCHING_PARTNERS, REGISTRY_PRODUCT
from ekspora_kit.auth import api_key_sha256
from ekspora_kit.clock import Clock
from ekspora_kit.table import table
from ekspora_ops import seed
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]
KAFKA = "127.0.0.1:9092"
TOKEN = "bench-operator"
EXPORT_READY = "ekspora.registry.product.export_ready.v1"
CLOCK = Clock.from_environment()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def watch_bus(topic: str, seen: dict[str, float], happened: dict[str, float]) -> None:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest")
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
            for name, port in (("registry", 8121), ("notifications", 8124))
        }
        for service in services.values():
            service.start()
        try:
            for service in services.values():
                service.wait_ready()
            return await measure(region, services, outside, umkm_count)
        finally:
            for service in services.values():
                service.stop()


async def measure(region: str, services: dict, outside: LocalMessaging, umkm_count: int) -> int:
    partner_id, api_key = f"ptn-{region}", f"ptk_{region}"
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all")
    await producer.start()
    partner_data = PartnerChanged(
        partner_id=partner_id,
        version=1,
        kind="importer",
        name="Bench Importer Rotterdam",
        country="NL",
        city="Rotterdam",
        categories=["snack"],
        min_order_units=1,
        max_order_units=10_000,
        languages=["en"],
        contact_email="bench@partner.example",
        verified=True,
        api_key_sha256=api_key_sha256(api_key),
    )
    event = new_event(partner_data, region="global", producer="bench", correlation_id="bench", time=CLOCK.now())
    await producer.send_and_wait(
        MATCHING_PARTNERS.topic(region), event.model_dump_json().encode(), key=partner_id.encode()
    )
    await producer.stop()
    partner = httpx.AsyncClient(
        base_url=services["notifications"].url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10
    )
    body = {"url": outside.webhook_url(partner_id), "event_types": [EXPORT_READY], "regions": [region]}
    for _ in range(100):
        if (await partner.post("/webhooks/endpoints", json=body)).status_code == 201:
            break
        await asyncio.sleep(0.2)
    else:
        print("the partner never reached notifications", file=sys.stderr)
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
        for listing in item["listings"]:
            await registry.post(f"/msmes/{msme_id}/listings", json=listing)
        for product_body, certificates in item["products"]:
            product = (await registry.post(f"/msmes/{msme_id}/products", json=product_body)).json()["product"]
            for certificate in certificates:
                await registry.post(f"/msmes/{msme_id}/products/{product['product_id']}/certificates", json=certificate)
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
