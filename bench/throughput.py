"""Throughput: the registry working a stream of sales reports, against raw Kafka, in the same run.

    ./ekspora up && .venv/bin/python bench/throughput.py [--sizes 1000 10000] [--events 20000]

For each region size, the registry's store is filled with that many UMKM (built with the
registry's own domain code, one to three products each), and `--events` partner sales reports
for them, spread evenly, are put on the region's `matching.sales` topic. Then a registry process
works the stream: consume, apply the report once (its id is kept), save through a change record
with the `readiness.assessed` event it causes, publish it. Sustained events per second is the
count handled (each with its change record and events stored) over the time from the process's
start; then the time until its outbox is empty too. Consumer lag is sampled every 2 seconds.

Two baselines read the same topic on the same broker and store:
- bus: raw aiokafka consume + produce each record (acks=all, idempotent): the limit of the bus;
- bus + write: the same plus one PyMongo write per record (an upsert by the UMKM's id): the
  limit of a consume, store, publish design on this store.
"""

import argparse
import asyncio
import os
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import SalesReported
from ekspora_contracts.topics import MATCHING_SALES, REGISTRY_MSME
from ekspora_kit.clock import Clock
from ekspora_kit.documents import to_document
from ekspora_kit.runtime import ensure_topics
from ekspora_kit.table import table
from ekspora_kit.topic_reader import group_lag
from ekspora_ops import seed
from ekspora_ops.processes import ServiceProcess
from ekspora_registry import domain
from ekspora_registry.policy import load_rubric
from ekspora_registry.store import query_fields

ROOT = Path(__file__).resolve().parents[1]
KAFKA = os.environ.get("EKSPORA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
CLOCK = Clock.from_environment()
RUBRIC = load_rubric()


def umkm_documents(region: str, size: int) -> list[dict]:
    """`size` UMKM of the region in the registry's stored shape, cycling through the Kediri seed."""
    templates = seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))
    now = CLOCK.now()
    documents = []
    for n in range(size):
        template = templates[n % len(templates)]
        command = domain.RegisterMsme(**(template["register"] | {"region": region, "nib": f"{9_000_000_000_000 + n}"}))
        msme = domain.register(command, f"msme-{n:06d}", now, RUBRIC).msme
        for p, (body, _) in enumerate(template["products"]):
            msme = domain.list_product(msme, domain.ListProduct(**body), f"prd-{n:06d}-{p}", now, RUBRIC).msme
        stored = msme.model_copy(update={"version": 1})
        documents.append(to_document(stored, **query_fields(stored), _id=stored.msme_id))
    return documents


def reports(region: str, size: int, count: int) -> list[bytes]:
    now = CLOCK.now()
    values = []
    for n in range(count):
        msme = n % size
        data = SalesReported(
            report_id=f"rpt-{n:07d}",
            match_id=f"mt-{msme:06d}",
            msme_id=f"msme-{msme:06d}",
            product_id=f"prd-{msme:06d}-0",
            partner_id="ptn-bench",
            region=region,
            units_sold=10 + n % 90,
            revenue_amount=5_000 + n,
            revenue_currency="EUR",
            returns=n % 3,
            rating=1 + n % 5,
            will_reorder=n % 2 == 0,
            reported_at=now,
        )
        event = new_event(data, region=region, producer="matching", correlation_id="bench", time=now)
        values.append(event.model_dump_json().encode())
    return values


async def produce(topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        batch = []
        for value in values:
            key = value.split(b'"subject":"', 1)[1].split(b'"', 1)[0]
            batch.append(await producer.send(topic, value, key=key))
            if len(batch) >= 2000:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def baseline(topic: str, count: int, out: str, write: AsyncMongoClient | None) -> float:
    """Events per second of raw consume + produce (and one write each, when `write` is given)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, group_id=f"bench-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    collection = write["bench_throughput"]["baseline"] if write else None
    seen = 0
    started = time.perf_counter()
    try:
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=500)).values():
                for record in records:
                    if collection is not None:
                        await collection.update_one({"_id": record.key.decode()}, {"$inc": {"n": 1}}, upsert=True)
                    await producer.send_and_wait(out, record.value, key=record.key)
                    seen += 1
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return count / (time.perf_counter() - started)


async def metric(url: str, name: str) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


async def print_store_time(url: str, count: int) -> None:
    """Where the registry's time in the store went: the commands that took longest in total."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    totals: dict[str, list[float]] = {}
    for line in text.splitlines():
        for part in ("sum", "count"):
            prefix = f"ekspora_store_command_seconds_{part}{{"
            if line.startswith(prefix):
                labels, value = line[len(prefix) :].rsplit("} ", 1)
                fields = dict(item.split("=", 1) for item in labels.split(","))
                name = f"{fields['command'].strip(chr(34))} {fields['collection'].strip(chr(34))}"
                totals.setdefault(name, [0.0, 0.0])[part == "count"] += float(value)
    rows = sorted(totals.items(), key=lambda item: -item[1][0])[:8]
    print(
        table(
            ("store command", "calls per event", "ms per call", "ms per event"),
            [
                (name, f"{calls / count:.2f}", f"{seconds / calls * 1000:.1f}", f"{seconds / count * 1000:.1f}")
                for name, (seconds, calls) in rows
                if calls
            ],
        )
    )


async def registry_rate(region: str, database: str, count: int, lag: list[tuple[float, int]]) -> float:
    registry = ServiceProcess(
        "registry",
        port=8131,
        log_dir=ROOT / ".local" / "bench",
        env={
            "EKSPORA_REGIONS": region,
            "EKSPORA_MONGO_DATABASE": database,
            "EKSPORA_OUTBOX_POLL_SECONDS": "1",
            "EKSPORA_EXPIRY_CHECK_SECONDS": "3600",
        },
    )
    registry.start().wait_ready()
    started = time.perf_counter()
    group, last_sample, rate, drained_from = f"registry.{region}", 0.0, 0.0, 0.0
    try:
        while True:
            handled = await metric(registry.url, "ekspora_events_handled_total")
            elapsed = time.perf_counter() - started
            if elapsed - last_sample >= 2:
                lag.append((elapsed, sum((await group_lag(KAFKA, group)).values())))
                last_sample = elapsed
            if not rate and handled >= count:
                rate = count / elapsed
                drained_from = time.perf_counter()
            # done once a sweep after the last write saw the outbox empty
            drained = rate and time.perf_counter() - drained_from > 1.5
            if drained and await metric(registry.url, "ekspora_outbox_pending_events") == 0:
                await print_store_time(registry.url, count)
                return rate
            await asyncio.sleep(0.2)
    finally:
        registry.stop()


async def run(size: int, count: int, client: AsyncMongoClient) -> dict:
    region = f"bench-{uuid.uuid4().hex[:6]}"
    database = f"bench_{region}_registry"
    await ensure_topics(KAFKA, [MATCHING_SALES, REGISTRY_MSME], [region], 1)
    print(f"  {size:,} UMKM: building and storing them ...", flush=True)
    documents = umkm_documents(region, size)
    for first in range(0, len(documents), 500):
        await client[database]["msmes"].insert_many(documents[first : first + 500])
    topic = MATCHING_SALES.topic(region)
    print(f"  {size:,} UMKM: putting {count:,} sales reports on {topic} ...", flush=True)
    await produce(topic, reports(region, size, count))
    print(f"  {size:,} UMKM: baselines ...", flush=True)
    bus = await baseline(topic, count, REGISTRY_MSME.topic(region), None)
    bus_write = await baseline(topic, count, REGISTRY_MSME.topic(region), client)
    print(f"  {size:,} UMKM: the registry works the stream ...", flush=True)
    lag: list[tuple[float, int]] = []
    service = await registry_rate(region, database, count, lag)
    await client.drop_database(database)
    await client["bench_throughput"].drop_collection("baseline")
    return {"size": size, "events": count, "bus": bus, "bus_write": bus_write, "service": service, "lag": lag}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000], help="UMKM in the region")
    parser.add_argument("--events", type=int, default=20_000, help="sales reports in the stream")
    args = parser.parse_args()
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    print(f"Throughput benchmark on {KAFKA} and {MONGO}: {args.events:,} sales reports per size {args.sizes}")
    try:
        results = [await run(size, args.events, client) for size in args.sizes]
    finally:
        await client.close()
    print()
    print(
        table(
            ("UMKM", "events", "bus ev/s", "bus + write ev/s", "registry ev/s", "of bus", "of bus + write"),
            [
                (
                    f"{r['size']:,}",
                    f"{r['events']:,}",
                    f"{r['bus']:,.0f}",
                    f"{r['bus_write']:,.0f}",
                    f"{r['service']:,.1f}",
                    f"{r['service'] / r['bus']:.1%}",
                    f"{r['service'] / r['bus_write']:.1%}",
                )
                for r in results
            ],
        )
    )
    for r in results:
        every = max(1, len(r["lag"]) // 12)
        print(f"\nconsumer lag of registry.{r['size']:,}-UMKM region over time (records):")
        print(table(("seconds", "lag"), [(f"{t:.0f}", f"{n:,}") for t, n in r["lag"][::every]]))
    if len(results) > 1:
        first, last = results[0], results[-1]
        cost = (1 / last["service"]) / (1 / first["service"])
        print(f"\ncost per event at {last['size']:,} UMKM: {cost:.2f}x the cost at {first['size']:,}")


if __name__ == "__main__":
    asyncio.run(main())
