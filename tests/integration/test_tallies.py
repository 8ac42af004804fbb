"""A tally on the real store: each record counted once through redeliveries, what cannot be read
dead-lettered, and a late writer refused."""

from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord
from pymongo import AsyncMongoClient

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import ReadinessAssessedV1
from ekspora_contracts.topics import REGISTRY_MSME
from ekspora_kit.consumer import Dispatcher
from ekspora_kit.metrics import KitMetrics
from ekspora_kit.tallies import Tally, TallyMoved
from ekspora_registry.domain import funnel
from tests.factories import CLOCK, msme_registered
from tests.integration.support import MONGO
from tests.unit.test_dispatcher import RecordingPublisher

REGION = "kota-kediri"
TOPIC = REGISTRY_MSME.topic(REGION)


def record(partition: int, offset: int, data) -> ConsumerRecord:  # type: ignore[no-untyped-def]
    value = (
        data
        if isinstance(data, bytes)
        else new_event(data, region=REGION, producer="registry", correlation_id="c", time=CLOCK.now())
        .model_dump_json()
        .encode()
    )
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, b"msme", value, None, 4, len(value), ())


def assessed(previous, tier) -> ReadinessAssessedV1:  # type: ignore[no-untyped-def]
    """The funnel counts the v1 published beside every v2 (it is on the topic for all of history)."""
    return ReadinessAssessedV1(
        msme_id="msme",
        region=REGION,
        score=50,
        tier=tier,
        previous_tier=previous,
        gaps=[],
        criteria=[],
        best_product_id=None,
        trigger="registered",
    )


@pytest.fixture
async def tally():
    mongo: AsyncMongoClient = AsyncMongoClient(MONGO, tz_aware=True)
    database = f"test_tally_{uuid4().hex[:8]}"
    tally = Tally("funnel", REGISTRY_MSME, mongo[database]["tallies"])
    for model, steps in funnel.STEPS.items():
        tally.on(model, steps)
    yield tally
    await mongo.drop_database(database)
    await mongo.close()


def dispatcher(tally: Tally, publisher: RecordingPublisher) -> Dispatcher:
    return Dispatcher(
        tally.routes,
        region=REGION,
        group="registry.kota-kediri.funnel",
        publisher=publisher,
        metrics=KitMetrics("test"),
        max_attempts=1,
        backoff_seconds=0,
        clock=CLOCK,
    )


async def test_each_record_is_counted_once_however_often_it_is_delivered(tally):
    reader = dispatcher(tally, RecordingPublisher())
    first = [
        record(0, 0, msme_registered(REGION, "msme-a")),
        record(0, 1, assessed(None, "didorong")),
        record(3, 0, msme_registered(REGION, "msme-b")),
    ]
    then = [record(3, 1, assessed(None, "siap")), record(0, 2, assessed("didorong", "setengah"))]
    await tally.count(reader, REGION, first)
    await tally.count(reader, REGION, first + then)  # a poll redelivered whole, with more behind it
    await tally.count(reader, REGION, then)
    assert {step: n for step, n in (await tally.totals(REGION)).items() if n} == {
        "registered": 2,
        "setengah": 1,
        "siap": 1,
    }
    assert await tally.totals("kabupaten-kediri") == {}


async def test_an_event_published_twice_is_counted_once(tally):
    reader = dispatcher(tally, RecordingPublisher())
    registered = record(5, 0, msme_registered(REGION, "msme-f"))
    again = ConsumerRecord(TOPIC, 5, 1, 0, 0, b"msme", registered.value, None, 4, len(registered.value), ())
    await tally.count(reader, REGION, [registered])
    await tally.count(reader, REGION, [again, record(5, 2, msme_registered(REGION, "msme-g"))])
    assert (await tally.totals(REGION))["registered"] == 2


async def test_a_record_that_cannot_be_read_is_dead_lettered_and_passed(tally):
    publisher = RecordingPublisher()
    reader = dispatcher(tally, publisher)
    await tally.count(reader, REGION, [record(1, 0, b"{not json"), record(1, 1, msme_registered(REGION, "msme-c"))])
    await tally.count(reader, REGION, [record(1, 1, msme_registered(REGION, "msme-c"))])
    assert (await tally.totals(REGION))["registered"] == 1
    assert [headers["dlt-reason"] for *_, headers in publisher.records] == ["malformed"]


async def test_a_reader_that_lost_its_partition_cannot_write_late(tally):
    reader = dispatcher(tally, RecordingPublisher())
    await tally.count(reader, REGION, [record(2, 0, msme_registered(REGION, "msme-d"))])
    stale = await tally.collection.find_one({"_id": "funnel:kota-kediri:2"})
    await tally.count(reader, REGION, [record(2, 1, msme_registered(REGION, "msme-e"))])
    with pytest.raises(TallyMoved):
        await tally._write("funnel:kota-kediri:2", stale, {**stale, "offset": 1, "counts": {"registered": 99}})
    assert (await tally.totals(REGION))["registered"] == 2
