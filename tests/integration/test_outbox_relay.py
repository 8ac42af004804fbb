"""Relays draining outboxes on the real store and broker: every event once, in order per aggregate.

On FerretDB every process talks to the store through one connection (it does not isolate
concurrent updates, FerretDB#3040); the relays of different processes are kept apart by leases
inserted under a unique key.
"""

import asyncio
import json
from uuid import uuid4

import pytest
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import MsmeContactChanged
from ekspora_contracts.topics import REGISTRY_CONTACTS
from ekspora_kit.faults import FaultPoints
from ekspora_kit.metrics import KitMetrics
from ekspora_kit.outbox import OutboxRelay, new_document_with_outbox, update_with_outbox
from ekspora_kit.runtime import KafkaRecordPublisher, ensure_topics
from tests.factories import CLOCK
from tests.integration.support import KAFKA, MONGO, eventually, read_topic

AGGREGATES, CHANGES = 20, 5


def change(region: str, msme_id: str, sequence: int):
    data = MsmeContactChanged(
        msme_id=msme_id, region=region, owner_name=f"owner {sequence}", preferred_language="id", timezone="Asia/Jakarta"
    )
    return new_event(data, region=region, producer="registry", correlation_id="relay-test", time=CLOCK.now())


class Relays:
    def __init__(self, region: str, clients: list[AsyncMongoClient]) -> None:
        self.region = region
        self.database = f"test_{region}_relay"
        self.brokers = [KafkaBroker(KAFKA, acks="all", enable_idempotence=True) for _ in clients]
        self.relays = [
            OutboxRelay(
                [client[self.database]["aggregates"]],
                KafkaRecordPublisher(broker),
                instance=f"relay-{n}",
                metrics=KitMetrics("t"),
                faults=FaultPoints(None),
                clock=CLOCK,
                poll_seconds=0.05,
                lease_seconds=10,
                batch_size=5,
            )
            for n, (client, broker) in enumerate(zip(clients, self.brokers, strict=True))
        ]
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        for broker in self.brokers:
            await broker.start()
        self.tasks = [asyncio.create_task(relay.run()) for relay in self.relays]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for broker in self.brokers:
            await broker.stop()

    def published(self) -> float:
        topic = REGISTRY_CONTACTS.topic(self.region)
        return sum(relay.metrics.outbox_published.labels("t", topic)._value.get() for relay in self.relays)


async def write_changes(collection, region: str, sequences: range) -> None:
    for sequence in sequences:
        for a in range(AGGREGATES):
            if sequence == 0:
                await collection.insert_one(new_document_with_outbox({"_id": f"m{a}"}, [change(region, f"m{a}", 0)]))
            else:
                update = update_with_outbox({"$set": {"seq": sequence}}, [change(region, f"m{a}", sequence)])
                await collection.update_one({"_id": f"m{a}"}, update)


async def assert_each_event_once_in_order(region: str, relays: Relays, collection) -> None:
    await read_topic(REGISTRY_CONTACTS.topic(region), at_least=AGGREGATES * CHANGES, timeout=30)

    async def relays_idle() -> bool:  # every outbox emptied and every lease handed back: nothing more to publish
        pending = await collection.count_documents({"outbox_since": {"$exists": True}})
        return pending == 0 and await collection.database["outbox_leases"].count_documents({}) == 0

    await eventually(relays_idle, what="the relays to finish")
    records = await read_topic(REGISTRY_CONTACTS.topic(region))
    events = [json.loads(record.value) for record in records]
    assert len(events) == AGGREGATES * CHANGES
    assert len({event["id"] for event in events}) == len(events), "no event published twice"
    for a in range(AGGREGATES):
        owners = [e["data"]["owner_name"] for e in events if e["subject"] == f"m{a}"]
        assert owners == [f"owner {s}" for s in range(CHANGES)], "each aggregate's events stay in order"
    assert relays.published() == AGGREGATES * CHANGES
    assert await collection.count_documents({"outbox_since": {"$exists": True}}) == 0
    assert await collection.database["outbox_leases"].count_documents({}) == 0


@pytest.fixture
async def region():
    region = f"t{uuid4().hex[:10]}"
    await ensure_topics(KAFKA, [REGISTRY_CONTACTS], [region], 1)
    yield region
    client: AsyncMongoClient = AsyncMongoClient(MONGO)
    await client.drop_database(f"test_{region}_relay")
    await client.close()


async def test_relays_of_one_process_keep_up_with_writes_without_duplicates(region):
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=1)
    relays = Relays(region, [client, client])
    collection = client[relays.database]["aggregates"]
    await relays.start()
    try:
        await write_changes(collection, region, range(CHANGES))  # events keep arriving while relays drain
        await assert_each_event_once_in_order(region, relays, collection)
    finally:
        await relays.stop()
        await client.close()


async def test_relays_of_two_processes_share_the_work_without_duplicates(region):
    clients = [AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=1) for _ in range(3)]
    writer, relay_clients = clients[0], clients[1:]
    relays = Relays(region, relay_clients)
    collection = writer[relays.database]["aggregates"]
    await write_changes(collection, region, range(CHANGES))
    await relays.start()
    try:
        await assert_each_event_once_in_order(region, relays, collection)
        assert all(
            relay.metrics.outbox_published.labels("t", REGISTRY_CONTACTS.topic(region))._value.get() > 0
            for relay in relays.relays
        ), "both relays took part"
    finally:
        await relays.stop()
        for client in clients:
            await client.close()
