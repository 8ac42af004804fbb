"""Writers and relays on the real store and broker: no update lost, every event once, in order.

FerretDB does not isolate concurrent updates of one document (FerretDB#3040); change records
inserted under a unique key give each version one writer, and leases keep relays apart.
"""

import asyncio
import json
from uuid import uuid4

import pytest
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import MsmeContactChanged
from ekspora_contracts.topics import REGISTRY_CONTACTS
from ekspora_kit import aggregates
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.changes import PENDING, STALE_SECONDS
from ekspora_kit.clock import Clock
from ekspora_kit.faults import FaultPoints
from ekspora_kit.metrics import KitMetrics
from ekspora_kit.outbox import WRITTEN, OutboxRelay
from ekspora_kit.provision import provision_regions, retire_regions
from ekspora_kit.runtime import KafkaRecordPublisher
from tests.factories import CLOCK
from tests.integration.support import BUS, MONGO, eventually, read_topic

AGGREGATES, CHANGES = 20, 5


class Counter(BaseModel):
    version: int = 0
    seq: int = 0


def change(region: str, msme_id: str, sequence: int):
    data = MsmeContactChanged(
        msme_id=msme_id, region=region, owner_name=f"owner {sequence}", preferred_language="id", timezone="Asia/Jakarta"
    )
    return new_event(data, region=region, producer="registry", correlation_id="relay-test", time=CLOCK.now())


class Relays:
    def __init__(self, region: str, clients: list[AsyncMongoClient]) -> None:
        self.region = region
        self.database = f"test_{region}_relay"
        self.brokers = [
            KafkaBroker(BUS.bootstrap, security=BUS.broker_security(), acks="all", enable_idempotence=True)
            for _ in clients
        ]
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
    store = VersionedStore(collection, Counter, clock=CLOCK)
    for sequence in sequences:
        for a in range(AGGREGATES):
            if sequence == 0:
                await store.insert(f"m{a}", Counter(), [change(region, f"m{a}", 0)])
            else:
                await store.replace(f"m{a}", Counter(seq=sequence), sequence, [change(region, f"m{a}", sequence)])


async def assert_each_event_once_in_order(region: str, relays: Relays, collection) -> None:
    await read_topic(REGISTRY_CONTACTS.topic(region), at_least=AGGREGATES * CHANGES, timeout=30)

    async def relays_idle() -> bool:  # every outbox emptied and every lease handed back: nothing more to publish
        pending = await collection.database["aggregates_changes"].count_documents({PENDING: True})
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
    assert await collection.database["aggregates_changes"].count_documents({PENDING: True}) == 0
    assert await collection.database["outbox_leases"].count_documents({}) == 0


@pytest.fixture
async def region():
    region = f"t{uuid4().hex[:10]}"
    await provision_regions(BUS, [region])
    yield region
    client: AsyncMongoClient = AsyncMongoClient(MONGO)
    await client.drop_database(f"test_{region}_relay")
    await client.close()
    await retire_regions(BUS, [region])


async def test_relays_of_one_process_keep_up_with_writes_without_duplicates(region):
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
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
    clients = [AsyncMongoClient(MONGO, tz_aware=True) for _ in range(3)]
    writer, relay_clients = clients[0], clients[1:]
    relays = Relays(region, relay_clients)
    collection = writer[relays.database]["aggregates"]
    await write_changes(collection, region, range(CHANGES))
    WRITTEN.take(collection)  # the writer was a third process: neither relay's process knows what it wrote
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


async def test_two_instances_changing_the_same_aggregates_lose_no_update(region):
    """Each of two clients (two service instances, several connections each) adds 1 to every
    counter 25 times, all at once: every one of the 2 x 25 additions is kept, each as one version."""
    clients = [AsyncMongoClient(MONGO, tz_aware=True, maxPoolSize=8) for _ in range(2)]
    stores = [VersionedStore(c[f"test_{region}_relay"]["aggregates"], Counter, clock=CLOCK) for c in clients]
    keys = [f"c{n}" for n in range(4)]

    async def add_one(store: VersionedStore, key: str) -> None:
        async def save(current: Counter | None, decided: Counter) -> Counter:
            if current is None:
                return await store.save(key, decided, None, [])
            return await store.save(key, decided, current.version, [])

        await aggregates.change(
            lambda: store.get(key),
            lambda current: Counter(seq=(current.seq if current else 0) + 1, version=current.version if current else 0),
            save,
            what=key,
            attempts=200,
        )

    try:
        await asyncio.gather(*(add_one(store, key) for store in stores for key in keys for _ in range(25)))
        for key in keys:
            stored = await stores[0].get(key)
            assert stored is not None and (stored.seq, stored.version) == (50, 50), key
            records = stores[0].log.records
            assert await records.count_documents({"aggregate": key}) == 50, "one change record per version"
    finally:
        for client in clients:
            await client.close()


async def test_a_claim_whose_writer_died_is_rolled_forward_and_published_once(region):
    """A writer that stored its change record and died before the state: once the claim is stale,
    the relay writes the state it decided and publishes its event; a writer meeting it waits."""
    client: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    collection = client[f"test_{region}_relay"]["aggregates"]
    store = VersionedStore(collection, Counter, clock=CLOCK)
    await store.insert("m0", Counter(), [change(region, "m0", 0)])
    dead_writers_state = {"set": {"version": 2, "seq": 1}, "push": {}}
    await store.log.claim("m0", 2, dead_writers_state, [change(region, "m0", 1)])
    with pytest.raises(aggregates.VersionConflict):
        await store.replace("m0", Counter(seq=7), 1, [])  # its claim is fresh: its writer may still finish
    relays = Relays(region, [client])
    later = Clock(CLOCK.offset.total_seconds() + STALE_SECONDS + 1)
    for relay in relays.relays:
        relay.clock = later
        for log in relay.logs:
            log.clock = later
    await relays.start()
    try:
        records = await read_topic(REGISTRY_CONTACTS.topic(region), at_least=2, timeout=20)
        assert [json.loads(r.value)["data"]["owner_name"] for r in records] == ["owner 0", "owner 1"]
        stored = await store.get("m0")
        assert stored is not None and (stored.version, stored.seq) == (2, 1), "rolled forward as decided"
        await asyncio.sleep(1)
        assert len(await read_topic(REGISTRY_CONTACTS.topic(region))) == 2, "published once"
    finally:
        await relays.stop()
        await client.close()
