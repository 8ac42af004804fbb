"""Throughput: each service working a stream of its real input, against raw Kafka, in the same run.

    ./ekspora up && .venv/bin/python bench/throughput.py [--services registry matching shipping notifications
                                                                    registrations]
                                                         [--sizes 1000 10000] [--events 2000]
                                                         [--registrations 500] [--concurrency 16]
                                                         [--keys-at-once 1 16]

For each service and region size, the service's store holds what a region of that many UMKM
gives it, `--events` of its real input are put on its input topic, and one process of the
service works the stream: consume, effect once (keyed by the event), save through the change
log or view with the events it causes, publish. Sustained events per second is the count of input
events handled over the time from the process's start; then the time until its outbox is empty.
Consumer lag is sampled every 2 seconds. `--keys-at-once 1 16` runs each service both ways: one
record after another, and up to 16 keys of a poll at once (the default), each key in order.

| service | its store at N UMKM | its input |
|---|---|---|
| registry | N UMKM with their products | partner sales reports (`matching.sales`) |
| matching | N offers, 20 open RFQs | products becoming export-ready (`registry.product`) |
| shipping | shipments of orders from N UMKM | confirmed matches (`matching.match`) |
| notifications | N owners' contacts | readiness assessments that change a tier, each a WhatsApp to its owner |

`registrations` is the registry's ingest over HTTP: `--registrations` new UMKM posted to
`POST /msmes`, `--concurrency` at a time, into a region that already holds N; its baseline, in the
same run, is one PyMongo insert of the same stored document and one produce of its event per
registration, as many at a time.

Two baselines read the same topic on the same broker and store:
- bus: raw aiokafka consume + produce each record (acks=all, idempotent): the limit of the bus;
- bus + write: the same plus one PyMongo write per record (an upsert by the record's key): the
  limit of a consume, store, publish design on this store.
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import (
    Country,
    DemandChanged,
    MatchConfirmed,
    MatchTerms,
    PartnerChanged,
    SalesReported,
)
from ekspora_contracts.registry import (
    Certificate,
    MsmeRegistered,
    ProductExportReady,
    ProductFacts,
    ReadinessAssessed,
    RoadAdvice,
)
from ekspora_contracts.topics import (
    DEAD_LETTER,
    MATCHING_DEMAND,
    MATCHING_MATCH,
    MATCHING_PARTNERS,
    MATCHING_SALES,
    REGISTRY_MSME,
    REGISTRY_PRODUCT,
    SHIPPING_SHIPMENT,
    Stream,
)
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock
from ekspora_kit.documents import to_document
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.table import table
from ekspora_kit.topic_reader import delete_region_topics, group_lag
from ekspora_matching.domain import Offer
from ekspora_matching.store import offer_document
from ekspora_notifications.domain import Contact
from ekspora_ops import seed
from ekspora_ops.measure import bench_partner, percentile
from ekspora_ops.messaging import LocalMessaging
from ekspora_ops.processes import ServiceProcess, load_local_bus_credentials
from ekspora_registry import domain
from ekspora_registry.domain import funnel
from ekspora_registry.policy import load_rubric
from ekspora_registry.store import listed_mark, listing_entry, listing_place, query_fields

ROOT = Path(__file__).resolve().parents[1]
load_local_bus_credentials()
BUS = BusAccess()
MONGO = os.environ.get("EKSPORA_MONGO_URL", "mongodb://127.0.0.1:27017")
CLOCK = Clock.from_environment()
RUBRIC = load_rubric()
PRODUCT_KINDS = [
    ("snack", "200899", True),
    ("processed_food", "210690", True),
    ("coffee", "090121", True),
    ("batik", "520852", False),
    ("handicraft", "460219", False),
]
DESTINATIONS: list[tuple[str, Country, Literal["EUR", "AUD"]]] = [
    ("Amsterdam", "NL", "EUR"),
    ("Den Haag", "NL", "EUR"),
    ("Sydney", "AU", "AUD"),
    ("Melbourne", "AU", "AUD"),
]


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
        documents.append(to_document(stored, **query_fields(stored), **listing_place(region, n), _id=stored.msme_id))
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


def export_ready_events(region: str, size: int, count: int) -> list[bytes]:
    """Products of the region's UMKM becoming export-ready, as the registry publishes them."""
    now, values = CLOCK.now(), []
    for n in range(count):
        category, hs_code, food = PRODUCT_KINDS[n % len(PRODUCT_KINDS)]
        facts = ProductFacts(
            product_id=f"prd-new-{n:07d}",
            msme_id=f"msme-{n % size:06d}",
            region=region,
            name=f"Produk {n}",
            description_id="Produk UMKM Kediri",
            description_en="A Kediri UMKM product",
            category=category,
            hs_code=hs_code,
            unit="pack",
            unit_price_idr=20_000 if food else 350_000,
            minimum_order_quantity=50,
            monthly_capacity=2_000,
            net_weight_grams=250,
            shelf_life_days=180 if food else None,
            english_label=True,
            certificates=[
                Certificate(kind=k, number=f"{k}-{n}", expires_on=date(2028, 1, 1)) for k in ("pirt", "halal")
            ],
        )
        event = new_event(
            ProductExportReady(product=facts, score=80 + n % 20),
            region=region,
            producer="registry",
            correlation_id="bench",
            time=now,
        )
        values.append(event.model_dump_json().encode())
    return values


async def store_offers(db: AsyncDatabase, region: str, size: int) -> None:
    """One export-ready offer per UMKM of the region, as matching keeps them."""
    documents = []
    for value in export_ready_events(region, size, size):
        facts = ProductExportReady.model_validate(json.loads(value)["data"]).product
        offer = Offer(
            product=facts.model_copy(update={"product_id": f"prd-{facts.msme_id}"}), readiness_score=85, ready=True
        )
        documents.append(offer_document(region, offer))
    await insert_in_batches(db["offers"], documents)


async def publish_open_demand(region: str) -> None:
    """A partner abroad and its 20 open requests for quotation, on the global topics matching reads."""
    partner = bench_partner(region, categories=sorted({kind[0] for kind in PRODUCT_KINDS}))
    events = [new_event(partner, region="global", producer="bench", correlation_id="bench", time=CLOCK.now())]
    for n in range(20):
        category, _, food = PRODUCT_KINDS[n % len(PRODUCT_KINDS)]
        demand = DemandChanged(
            demand_id=f"dmd-{region}-{n:02d}",
            version=1,
            kind="rfq",
            partner_id=partner.partner_id,
            category=category,
            quantity=100,
            target_price_max=300 if food else 6_000,
            currency="EUR",
            required_certificates=[],
            needed_by=None,
            destination_city="Rotterdam",
            destination_country="NL",
            status="open",
        )
        events.append(new_event(demand, region="global", producer="bench", correlation_id="bench", time=CLOCK.now()))
    for event in events:
        topic = (MATCHING_PARTNERS if event.type == PartnerChanged.event_type else MATCHING_DEMAND).topic(region)
        await produce(topic, [event.model_dump_json().encode()])


def confirmed_matches(region: str, size: int, count: int) -> list[bytes]:
    """Matches both sides confirmed, for products of the region's UMKM, to four destinations."""
    now, values = CLOCK.now(), []
    for n in range(count):
        city, country, currency = DESTINATIONS[n % len(DESTINATIONS)]
        terms = MatchTerms(
            match_id=f"mt-{n:07d}",
            region=region,
            product_id=f"prd-{n % size:06d}",
            msme_id=f"msme-{n % size:06d}",
            product_name="Keripik Tempe",
            category="snack",
            hs_code="200899",
            unit="pack 200 g",
            net_weight_grams=200,
            partner_id="ptn-bench",
            partner_name="Bench Importer",
            demand_id=f"dmd-{n:07d}",
            destination_country=country,
            destination_city=city,
            quantity=100 + n % 400,
            unit_price_idr=18_000,
            unit_price=150,
            currency=currency,
            incoterm="FOB",
            documents=["commercial_invoice", "packing_list"],
            shelf_life_days=180,
        )
        event = new_event(
            MatchConfirmed(terms=terms, confirmed_at=now),
            region=region,
            producer="matching",
            correlation_id="bench",
            time=now,
        )
        values.append(event.model_dump_json().encode())
    return values


async def store_nothing(db: AsyncDatabase, region: str, size: int) -> None:
    """Shipping's store is its shipments, which the stream itself fills."""


async def store_contacts(db: AsyncDatabase, region: str, size: int) -> None:
    now = CLOCK.now()
    documents = [
        {"_id": f"msme-{n:06d}"}
        | Contact(
            msme_id=f"msme-{n:06d}",
            region=region,
            owner_name=f"Pemilik {n}",
            business_name=f"UMKM {n}",
            whatsapp=f"+62813{n:08d}",
            email=None,
            preferred_language="id",
            timezone="Asia/Jakarta",
            changed_at=now,
        ).model_dump()
        for n in range(size)
    ]
    await insert_in_batches(db["contacts"], documents)


def tier_changes(region: str, size: int, count: int) -> list[bytes]:
    """Assessments that move an UMKM from setengah to siap: each tells its owner on WhatsApp."""
    now, values = CLOCK.now(), []
    for n in range(count):
        assessed = ReadinessAssessed(
            msme_id=f"msme-{n % size:06d}",
            region=region,
            score=80,
            tier="siap",
            previous_tier="setengah",
            gaps=[],
            criteria=[],
            best_product_id=None,
            road=RoadAdvice(road="go_international", reason_id="-", reason_en="-", next_steps=[]),
            trigger="certificate_added",
        )
        event = new_event(assessed, region=region, producer="registry", correlation_id="bench", time=now)
        values.append(event.model_dump_json().encode())
    return values


async def store_umkm(db: AsyncDatabase, region: str, size: int) -> None:
    """The UMKM, their numbers and list entries, and the funnel counts the registry's tally would have
    from their events."""
    documents = umkm_documents(region, size)
    await insert_in_batches(db["msmes"], documents)
    await insert_in_batches(
        db["numbers"], [{"_id": f"{region}#{n}", "msme_id": d["_id"]} for n, d in enumerate(documents)]
    )
    await db["numbers"].insert_one({"_id": f"next:{region}", "next": size})
    await insert_in_batches(db["listing"], [listing_entry(document) for document in documents])
    await db["checks"].insert_one({"_id": listed_mark(region), "listed": True})
    counts = Counter(document["tier"] or funnel.UNASSESSED for document in documents)
    counts["registered"] = size
    tally = f"funnel:{region}"
    await db["tallies"].insert_one({"_id": f"{tally}:0", "tally": tally, "offset": -1, "counts": dict(counts)})


async def insert_in_batches(collection: Any, documents: list[dict]) -> None:
    for first in range(0, len(documents), 500):
        await collection.insert_many(documents[first : first + 500])


@dataclass(frozen=True)
class Workload:
    service: str
    what: str
    input: Stream
    output: Stream  # where the baselines publish
    event_type: str
    fill: Callable[[AsyncDatabase, str, int], Awaitable[None]]
    events: Callable[[str, int, int], list[bytes]]
    before: Callable[[str], Awaitable[None]] | None = None


WORKLOADS = {
    "registry": Workload(
        "registry", "sales reports", MATCHING_SALES, REGISTRY_MSME, SalesReported.event_type, store_umkm, reports
    ),
    "matching": Workload(
        "matching",
        "products export-ready",
        REGISTRY_PRODUCT,
        MATCHING_MATCH,
        ProductExportReady.event_type,
        store_offers,
        export_ready_events,
        publish_open_demand,
    ),
    "shipping": Workload(
        "shipping",
        "confirmed matches",
        MATCHING_MATCH,
        SHIPPING_SHIPMENT,
        MatchConfirmed.event_type,
        store_nothing,
        confirmed_matches,
    ),
    "notifications": Workload(
        "notifications",
        "tier changes",
        REGISTRY_MSME,
        DEAD_LETTER,
        ReadinessAssessed.event_type,
        store_contacts,
        tier_changes,
    ),
}


async def produce(topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True, linger_ms=5)
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
        topic, **BUS.client_options(), group_id=f"bench-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True)
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


async def metric(url: str, name: str, label: str = "") -> float:
    """The sum of a metric's samples, of those whose labels contain `label` when given."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") and label in line
    )


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


async def service_rate(
    workload: Workload, region: str, database: str, count: int, lag: list[tuple[float, int]], env: dict[str, str]
) -> float:
    process = ServiceProcess(
        workload.service,
        port=8131,
        log_dir=ROOT / ".local" / "bench",
        env={
            "EKSPORA_REGIONS": region,
            "EKSPORA_MONGO_DATABASE": database,
            "EKSPORA_OUTBOX_POLL_SECONDS": "1",
            "EKSPORA_EXPIRY_CHECK_SECONDS": "3600",
            "EKSPORA_DEFAULT_QUIET_HOURS": "",
            "EKSPORA_DIGEST_ENABLED": "false",
            **env,
        },
    )
    process.start().wait_ready()
    started = time.perf_counter()
    group, last_sample, rate, drained_from = f"{workload.service}.{region}", 0.0, 0.0, 0.0
    counted = f'event_type="{workload.event_type}"'
    try:
        while True:
            handled = await metric(process.url, "ekspora_events_handled_total", counted)
            elapsed = time.perf_counter() - started
            if elapsed - last_sample >= 2:
                lag.append((elapsed, sum((await group_lag(BUS, group)).values())))
                last_sample = elapsed
            if not rate and handled >= count:
                rate = count / elapsed
                drained_from = time.perf_counter()
            # done once a sweep after the last write saw the outbox empty
            drained = rate and time.perf_counter() - drained_from > 1.5
            if drained and await metric(process.url, "ekspora_outbox_pending_events") == 0:
                await print_store_time(process.url, count)
                return rate
            await asyncio.sleep(0.2)
    finally:
        process.stop()


async def run(
    workload: Workload, size: int, count: int, client: AsyncMongoClient, env: dict[str, str], keys: int
) -> dict:
    region = f"bench-{uuid.uuid4().hex[:6]}"
    database = f"bench_{region}_{workload.service}"
    await provision_regions(BUS, [region])
    name = f"{workload.service} at {size:,} UMKM, {keys} key{'s' if keys > 1 else ''} at once"
    print(f"  {name}: filling its store ...", flush=True)
    await workload.fill(client[database], region, size)
    if workload.before:
        await workload.before(region)
    topic = workload.input.topic(region)
    print(f"  {name}: putting {count:,} {workload.what} on {topic} ...", flush=True)
    await produce(topic, workload.events(region, size, count))
    print(f"  {name}: baselines ...", flush=True)
    bus = await baseline(topic, count, workload.output.topic(region), None)
    bus_write = await baseline(topic, count, workload.output.topic(region), client)
    print(f"  {name}: the service works the stream ...", flush=True)
    lag: list[tuple[float, int]] = []
    service = await service_rate(
        workload, region, database, count, lag, env | {"EKSPORA_CONSUMER_CONCURRENCY": str(keys)}
    )
    print(f"  {name}: {service:,.1f} events/s (bus {bus:,.0f}, bus + write {bus_write:,.0f})", flush=True)
    await client.drop_database(database)
    await client["bench_throughput"].drop_collection("baseline")
    await delete_region_topics(BUS, region)
    await retire_regions(BUS, [region])
    return {
        "service": workload.service,
        "size": size,
        "keys": keys,
        "events": count,
        "bus": bus,
        "bus_write": bus_write,
        "rate": service,
        "lag": lag,
    }


REGISTRATION_TOKEN = "bench-operator"


def registration_bodies(region: str, count: int) -> list[dict]:
    """`count` new UMKM of the region, as an operator registers them, cycling through the Kediri seed."""
    templates = seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))
    bodies = []
    for n in range(count):
        register = templates[n % len(templates)]["register"]
        bodies.append(
            register
            | {
                "region": region,
                "nib": f"{8_000_000_000_000 + n}",
                "business_name": f"{register['business_name']} {n:04d}",
                "whatsapp": f"+628133{n:07d}",
                "email": f"umkm{n}@umkm-kediri.id",
            }
        )
    return bodies


async def at_most(concurrency: int, calls: list[Callable[[], Awaitable[float]]]) -> tuple[float, list[float]]:
    """Runs `calls`, `concurrency` at a time; returns calls per second and each call's seconds."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[float]]) -> float:
        async with gate:
            return await call()

    started = time.perf_counter()
    seconds = await asyncio.gather(*(one(call) for call in calls))
    return len(calls) / (time.perf_counter() - started), list(seconds)


async def store_and_bus(region: str, bodies: list[dict], concurrency: int, client: AsyncMongoClient) -> float:
    """Registrations per second of one insert of the stored UMKM and one produce of its event each."""
    collection = client["bench_throughput"]["registrations"]
    now = CLOCK.now()
    documents = []
    for n, body in enumerate(bodies):
        msme = domain.register(domain.RegisterMsme(**body), f"msme-new-{n:06d}", now, RUBRIC).msme
        documents.append(to_document(msme, **query_fields(msme), _id=msme.msme_id))
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    topic = REGISTRY_MSME.topic(region)

    def registration(document: dict) -> Callable[[], Awaitable[float]]:
        async def call() -> float:
            started = time.perf_counter()
            await collection.insert_one(document)
            value = json.dumps(document, default=str).encode()
            await producer.send_and_wait(topic, value, key=document["_id"].encode())
            return time.perf_counter() - started

        return call

    try:
        rate, _ = await at_most(concurrency, [registration(document) for document in documents])
    finally:
        await producer.stop()
        await client["bench_throughput"].drop_collection("registrations")
    return rate


async def registered_on_the_bus(region: str, count: int, timeout: float = 600) -> None:
    """Waits until `count` msme.registered events of the region are on its topic."""
    consumer = AIOKafkaConsumer(
        REGISTRY_MSME.topic(region), **BUS.client_options(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    marker = f'"type":"{MsmeRegistered.event_type}"'.encode()
    seen, deadline = 0, time.monotonic() + timeout
    try:
        while seen < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{seen} of {count} msme.registered on the bus after {timeout:.0f}s")
            for records in (await consumer.getmany(timeout_ms=500, max_records=1000)).values():
                seen += sum(marker in record.value for record in records)
    finally:
        await consumer.stop()


async def registrations_run(size: int, count: int, concurrency: int, client: AsyncMongoClient) -> dict:
    region = f"bench-{uuid.uuid4().hex[:6]}"
    database = f"bench_{region}_registry"
    await provision_regions(BUS, [region])
    name = f"registrations at {size:,} UMKM"
    print(f"  {name}: filling the registry ...", flush=True)
    await store_umkm(client[database], region, size)
    bodies = registration_bodies(region, count)
    print(f"  {name}: baseline, {count:,} inserts + produces, {concurrency} at a time ...", flush=True)
    baseline_rate = await store_and_bus(region, bodies, concurrency, client)
    process = ServiceProcess(
        "registry",
        port=8131,
        log_dir=ROOT / ".local" / "bench",
        env={
            "EKSPORA_REGIONS": region,
            "EKSPORA_MONGO_DATABASE": database,
            "EKSPORA_OPERATOR_TOKENS": f"{region}={REGISTRATION_TOKEN}",
            "EKSPORA_EXPIRY_CHECK_SECONDS": "3600",
        },
    )
    process.start().wait_ready()
    refused: list[str] = []
    try:
        async with httpx.AsyncClient(
            base_url=process.url, headers={"Authorization": f"Bearer {REGISTRATION_TOKEN}"}, timeout=120
        ) as http:

            def registration(body: dict) -> Callable[[], Awaitable[float]]:
                async def call() -> float:
                    started = time.perf_counter()
                    response = await http.post("/msmes", json=body)
                    if response.status_code != 201:
                        refused.append(f"{response.status_code} {response.text[:200]}")
                    return time.perf_counter() - started

                return call

            print(f"  {name}: {count:,} POST /msmes, {concurrency} at a time ...", flush=True)
            started = time.perf_counter()
            rate, seconds = await at_most(concurrency, [registration(body) for body in bodies])
            await registered_on_the_bus(region, count)
            on_the_bus = count / (time.perf_counter() - started)
        await print_store_time(process.url, count)
    finally:
        process.stop()
        await client.drop_database(database)
        await delete_region_topics(BUS, region)
        await retire_regions(BUS, [region])
    if refused:
        raise SystemExit(f"{len(refused)} registrations refused, first: {refused[0]}")
    return {
        "size": size,
        "count": count,
        "concurrency": concurrency,
        "baseline": baseline_rate,
        "rate": rate,
        "on_the_bus": on_the_bus,
        "p50": percentile(seconds, 0.5),
        "p99": percentile(seconds, 0.99),
    }


def report_registrations(results: list[dict]) -> None:
    print()
    headings = (
        "UMKM",
        "registrations",
        "at a time",
        "insert + produce /s",
        "POST /msmes /s",
        "on the bus /s",
        "p50 ms",
        "p99 ms",
        "of baseline",
    )
    rows = [
        (
            f"{r['size']:,}",
            f"{r['count']:,}",
            r["concurrency"],
            f"{r['baseline']:,.0f}",
            f"{r['rate']:,.1f}",
            f"{r['on_the_bus']:,.1f}",
            f"{r['p50'] * 1000:,.0f}",
            f"{r['p99'] * 1000:,.0f}",
            f"{r['rate'] / r['baseline']:.1%}",
        )
        for r in results
    ]
    print(table(headings, rows))
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"registrations: cost per registration at {last['size']:,} UMKM is "
            f"{first['rate'] / last['rate']:.2f}x the cost at {first['size']:,}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", nargs="+", choices=[*sorted(WORKLOADS), "registrations"], default=list(WORKLOADS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000], help="UMKM in the region")
    parser.add_argument("--events", type=int, default=2_000, help="input events per run")
    parser.add_argument("--registrations", type=int, default=500, help="new UMKM posted per size")
    parser.add_argument("--concurrency", type=int, default=16, help="registrations in flight at a time")
    parser.add_argument(
        "--keys-at-once",
        type=int,
        nargs="+",
        default=[16],
        help="the service consumer's keys at once (EKSPORA_CONSUMER_CONCURRENCY); 1 is one record after another",
    )
    args = parser.parse_args()
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    print(f"Throughput on {BUS.bootstrap} and {MONGO}: {args.events:,} input events per service and size {args.sizes}")
    streams = [service for service in args.services if service in WORKLOADS]
    try:
        with LocalMessaging() as outside:
            results = [
                await run(WORKLOADS[service], size, args.events, client, outside.env(), keys)
                for service in streams
                for size in args.sizes
                for keys in args.keys_at_once
            ]
        ingest = [
            await registrations_run(size, args.registrations, args.concurrency, client)
            for size in args.sizes
            if "registrations" in args.services
        ]
    finally:
        await client.close()
    if results:
        report(results)
    if ingest:
        report_registrations(ingest)


def report(results: list[dict]) -> None:
    print()
    headings = (
        "service",
        "UMKM",
        "keys at once",
        "events",
        "bus ev/s",
        "bus + write ev/s",
        "service ev/s",
        "of bus",
        "of bus + write",
    )
    rows = [
        (
            r["service"],
            f"{r['size']:,}",
            str(r["keys"]),
            f"{r['events']:,}",
            f"{r['bus']:,.0f}",
            f"{r['bus_write']:,.0f}",
            f"{r['rate']:,.1f}",
            f"{r['rate'] / r['bus']:.1%}",
            f"{r['rate'] / r['bus_write']:.1%}",
        )
        for r in results
    ]
    print(table(headings, rows))
    for r in results:
        every = max(1, len(r["lag"]) // 8)
        print(f"\nconsumer lag of {r['service']}, {r['size']:,}-UMKM region, {r['keys']} at once, over time (records):")
        print(table(("seconds", "lag"), [(f"{t:.0f}", f"{n:,}") for t, n in r["lag"][::every]]))
    for service, keys in dict.fromkeys((r["service"], r["keys"]) for r in results):
        runs = [r for r in results if (r["service"], r["keys"]) == (service, keys)]
        if len(runs) > 1:
            first, last = runs[0], runs[-1]
            cost = first["rate"] / last["rate"]
            print(
                f"{service}, {keys} keys at once: cost per event at {last['size']:,} UMKM"
                f" is {cost:.2f}x the cost at {first['size']:,}"
            )


if __name__ == "__main__":
    asyncio.run(main())
