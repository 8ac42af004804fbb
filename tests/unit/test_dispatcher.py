"""The kit's consumer dispatch in isolation: what is handled, ignored, retried and dead-lettered."""

import asyncio
import json

import pytest
from aiokafka import ConsumerRecord
from pymongo.errors import ServerSelectionTimeoutError

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered
from ekspora_contracts.topics import REGISTRY_MSME
from ekspora_kit.consumer import Dispatcher, EventRoutes, PermanentFailure, in_key_order
from ekspora_kit.domain import Busy
from ekspora_kit.metrics import KitMetrics
from tests.factories import CLOCK, msme_registered

REGION = "kota-kediri"
TOPIC = REGISTRY_MSME.topic(REGION)
REGISTERED = msme_registered(REGION)


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.fail = fail

    async def publish_record(self, topic, key, value, headers):
        if self.fail:
            raise ConnectionError("broker down")
        self.records.append((topic, key, value, headers))


def record(value: bytes, offset: int = 7) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, 2, offset, 0, 0, b"msme-1", value, None, 6, len(value), ())


def event_bytes(data=REGISTERED, region=REGION) -> bytes:
    return (
        new_event(data, region=region, producer="registry", correlation_id="c-1", time=CLOCK.now())
        .model_dump_json()
        .encode()
    )


def make(handler, publisher=None, attempts=3):
    routes = EventRoutes(REGISTRY_MSME)
    routes.on(MsmeRegistered)(handler)
    publisher = publisher or RecordingPublisher()
    metrics = KitMetrics("test")
    dispatcher = Dispatcher(
        routes,
        region=REGION,
        group="test.kota-kediri",
        publisher=publisher,
        metrics=metrics,
        max_attempts=attempts,
        backoff_seconds=0,
        clock=CLOCK,
    )
    return dispatcher, publisher, metrics


async def test_valid_event_reaches_its_typed_handler():
    seen = []

    async def handler(event):
        seen.append(event)

    dispatcher, publisher, _ = make(handler)
    await dispatcher.dispatch(record(event_bytes()))
    assert [e.data for e in seen] == [REGISTERED]
    assert publisher.records == []


@pytest.mark.parametrize(
    ("value", "reason", "error_contains"),
    [
        (b"{not json", "malformed", "not a CloudEvents JSON object"),
        (b'{"no": "type"}', "malformed", "KeyError"),
        (json.dumps({**json.loads(event_bytes()), "data": {"msme_id": 1}}).encode(), "invalid", "data.msme_id"),
        (event_bytes(region="blitar"), "wrong_region", "region blitar"),
    ],
)
async def test_bad_messages_go_to_the_dead_letter_topic_with_their_reason(value, reason, error_contains):
    async def handler(event):
        raise AssertionError("must not be called")

    dispatcher, publisher, metrics = make(handler)
    await dispatcher.dispatch(record(value, offset=41))
    [(topic, key, body, headers)] = publisher.records
    assert topic == "ekspora.kota-kediri.deadletter"
    assert body == value and key == "msme-1"
    assert headers["dlt-reason"] == reason
    assert error_contains in headers["dlt-error"]
    assert headers["dlt-original-topic"] == TOPIC
    assert (headers["dlt-original-partition"], headers["dlt-original-offset"]) == ("2", "41")
    assert headers["dlt-consumer-group"] == "test.kota-kediri"
    assert metrics.dead_letters.labels("test", TOPIC, reason)._value.get() == 1


async def test_types_without_a_route_are_ignored_not_dead_lettered():
    async def handler(event):
        raise AssertionError("must not be called")

    dispatcher, publisher, metrics = make(handler)
    other = MsmeContactChanged(
        msme_id="msme-1", region=REGION, owner_name="Tini", preferred_language="id", timezone="Asia/Jakarta"
    )
    await dispatcher.dispatch(record(event_bytes(other)))
    assert publisher.records == []
    assert metrics.events_ignored.labels("test", TOPIC)._value.get() == 1


async def test_transient_failure_is_retried_then_succeeds():
    calls = []

    async def handler(event):
        calls.append(event.id)
        if len(calls) < 3:
            raise TimeoutError("mongo slow")

    dispatcher, publisher, metrics = make(handler, attempts=3)
    await dispatcher.dispatch(record(event_bytes()))
    assert len(calls) == 3
    assert publisher.records == []
    assert metrics.handler_retries.labels("test", MsmeRegistered.event_type)._value.get() == 2


async def test_persistent_failure_is_dead_lettered_after_bounded_attempts():
    calls = []

    async def handler(event):
        calls.append(1)
        raise RuntimeError("boom")

    dispatcher, publisher, _ = make(handler, attempts=2)
    await dispatcher.dispatch(record(event_bytes()))
    assert len(calls) == 2
    [(_, _, _, headers)] = publisher.records
    assert headers["dlt-reason"] == "handler_failed"
    assert "RuntimeError('boom')" in headers["dlt-error"]


async def test_an_unreachable_store_is_waited_out_beyond_the_attempts_and_never_dead_lettered():
    calls = []

    async def handler(event):
        calls.append(1)
        if len(calls) < 6:
            raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")

    dispatcher, publisher, metrics = make(handler, attempts=2)
    await dispatcher.dispatch(record(event_bytes()))
    assert len(calls) == 6
    assert publisher.records == []
    assert metrics.events_handled.labels("test", MsmeRegistered.event_type)._value.get() == 1


async def test_an_aggregate_others_keep_changing_is_waited_out_and_never_dead_lettered():
    calls = []

    async def handler(event):
        calls.append(1)
        if len(calls) < 4:
            raise Busy("statistics of partner ptn-warung is being changed by others; try again")

    dispatcher, publisher, metrics = make(handler, attempts=1)
    await dispatcher.dispatch(record(event_bytes()))
    assert len(calls) == 4
    assert publisher.records == []
    assert metrics.events_handled.labels("test", MsmeRegistered.event_type)._value.get() == 1


async def test_permanent_failure_is_not_retried():
    calls = []

    async def handler(event):
        calls.append(1)
        raise PermanentFailure("unknown partner")

    dispatcher, publisher, _ = make(handler)
    await dispatcher.dispatch(record(event_bytes()))
    assert len(calls) == 1
    assert publisher.records[0][3]["dlt-reason"] == "rejected"


async def test_failed_dead_letter_write_raises_so_the_message_is_redelivered():
    async def handler(event):
        raise AssertionError

    dispatcher, _, _ = make(handler, publisher=RecordingPublisher(fail=True))
    with pytest.raises(ConnectionError):
        await dispatcher.dispatch(record(b"garbage"))


def test_a_route_must_belong_to_the_stream():
    routes = EventRoutes(REGISTRY_MSME)
    with pytest.raises(ValueError, match=r"registry\.contacts"):
        routes.on(MsmeContactChanged)


def keyed(key: bytes, offset: int, partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, key, b"{}", None, len(key), 2, ())


async def test_a_poll_is_worked_key_by_key_in_order_and_keys_at_once_up_to_the_limit():
    records = [keyed(b"a", 0), keyed(b"b", 1), keyed(b"a", 2), keyed(b"c", 3), keyed(b"b", 4), keyed(b"a", 5)]
    worked: list[int] = []
    running, most = 0, 0

    async def work(record):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        worked.append(record.offset)
        running -= 1

    await in_key_order(records, work, concurrency=2)
    assert sorted(worked) == [0, 1, 2, 3, 4, 5]
    for key in (b"a", b"b"):
        offsets = [r.offset for r in records if r.key == key]
        assert [o for o in worked if o in offsets] == offsets, "each key's records in their order"
    assert most == 2, "two keys at once, never more"


async def test_a_failed_record_holds_back_the_rest_of_its_key_and_the_poll_fails_after_the_others():
    records = [keyed(b"a", 0), keyed(b"a", 1), keyed(b"a", 2), keyed(b"b", 3), keyed(b"b", 4)]
    worked: list[int] = []

    async def work(record):
        if record.offset == 1:
            raise ConnectionError("dead-letter topic unreachable")
        await asyncio.sleep(0)
        worked.append(record.offset)

    with pytest.raises(ConnectionError):
        await in_key_order(records, work, concurrency=4)
    assert sorted(worked) == [0, 3, 4], "a's third waits for the redelivery; b finished"


async def test_the_same_key_on_two_partitions_is_two_lanes():
    records = [keyed(b"a", 0, partition=0), keyed(b"a", 0, partition=1)]
    started: list[int] = []
    both_started = asyncio.Event()

    async def work(record):
        started.append(record.partition)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=1)

    await in_key_order(records, work, concurrency=2)
    assert sorted(started) == [0, 1]


def shipped_to(city: str, offset: int, key: bytes) -> ConsumerRecord:
    value = json.dumps({"data": {"terms": {"destination_city": city}}}).encode()
    return ConsumerRecord(TOPIC, offset % 3, offset, 0, 0, key, value, None, len(key), len(value), ())


async def test_records_that_contend_on_one_thing_share_a_lane_whatever_their_keys():
    routes = EventRoutes(REGISTRY_MSME, contended_by=lambda raw: raw["data"]["terms"]["destination_city"])
    records = [
        shipped_to("Amsterdam", 0, b"m-1"),
        shipped_to("Sydney", 1, b"m-2"),
        shipped_to("Amsterdam", 2, b"m-3"),
        keyed(b"not-json", 3),
    ]
    lanes: dict = {}
    for record in records:
        lanes.setdefault(routes.lane(record), []).append(record.offset)
    assert sorted(lanes.values()) == [[0, 2], [1], [3]], "Amsterdam's two in one lane; what it cannot read by key"
