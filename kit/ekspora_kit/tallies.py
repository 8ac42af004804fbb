"""Counts kept from a stream's events, each event counted exactly once.

Counting a region's aggregates when a page asks would read every one of them (on FerretDB a count
decodes each document it counts, ../shared/infra.md), so what a page shows at a glance is counted as
it happens instead: one consumer group per tally reads the stream, and each partition's counts live
in one document with the offset of the last record counted, written in one step. A redelivered
record is at or below that offset and changes nothing, and an event published twice (the outbox
publishes at least once) is known by its id among the last ones counted. A partition has one
reader at a time, so each document has one writer; the write is conditional on the offset it
read, so a reader that lost its partition in a rebalance and writes late is refused and the
records are read again.

What an event adds is a pure function of the event (`Tally.on`), so counts follow from the stream
alone: replaying it from the start into an empty collection gives the same counts.
"""

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from itertools import groupby
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, Gauge
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent, EventData
from ekspora_contracts.topics import Stream
from ekspora_kit.consumer import POLL_TIMEOUT_MS, Dispatcher, EventRoutes

Steps = Callable[[Any], Mapping[str, int]]
# the outbox publishes at least once: an event published again follows its first publication
# closely on the same partition, so the ids of the last few hundred events counted there suffice
SEEN_EVENTS = 300


class TallyMoved(Exception):
    """Another reader wrote the partition's counts since they were read: read the records again."""


class Tally:
    """Named counts per region, kept from `stream` by what each event type adds (`on`)."""

    def __init__(self, name: str, stream: Stream, collection: AsyncCollection) -> None:
        self.name, self.stream, self.collection = name, stream, collection
        self.routes = EventRoutes(stream)
        self._adds: dict[str, Steps] = {}

    def on(self, model: type[EventData], steps: Steps) -> None:
        """`steps(event.data)` is what one event of `model` adds to the counts (negative: takes away)."""

        async def count(event: CloudEvent) -> None:
            _pending.get().update(steps(event.data))

        self.routes.on(model)(count)

    async def totals(self, region: str) -> dict[str, int]:
        """The region's counts, summed over the stream's partitions."""
        totals: Counter[str] = Counter()
        async for document in self.collection.find({"tally": self._key(region)}):
            totals.update(document["counts"])
        return dict(totals)

    async def count(self, dispatcher: Dispatcher, region: str, records: Sequence[ConsumerRecord]) -> None:
        """Counts the records not yet counted, one partition at a time, each partition's in one write.
        An event that cannot be read goes to the dead-letter topic through `dispatcher`, as anywhere."""
        for partition, in_partition in groupby(sorted(records, key=_position), key=lambda r: r.partition):
            document_id = f"{self._key(region)}:{partition}"
            stored = await self.collection.find_one({"_id": document_id})
            counted_to = stored["offset"] if stored else -1
            fresh = [record for record in in_partition if record.offset > counted_to]
            if not fresh:
                continue
            added: Counter[str] = Counter()
            _pending.set(added)
            seen = list(stored.get("seen", [])) if stored else []
            for record in fresh:
                event_id = _event_id(record)
                if event_id is not None and event_id in seen:
                    continue  # published again by an outbox that could not tell it had been
                await dispatcher.dispatch(record)
                if event_id is not None:
                    seen.append(event_id)
            counts = Counter(stored["counts"] if stored else {})
            counts.update(added)
            document = {
                "tally": self._key(region),
                "offset": fresh[-1].offset,
                "counts": dict(counts),
                "seen": seen[-SEEN_EVENTS:],
            }
            await self._write(document_id, stored, document)

    async def _write(self, document_id: str, stored: Mapping[str, Any] | None, document: dict[str, Any]) -> None:
        if stored is None:
            try:
                await self.collection.insert_one({"_id": document_id, **document})
            except DuplicateKeyError:
                raise TallyMoved(document_id) from None
            return
        result = await self.collection.replace_one({"_id": document_id, "offset": stored["offset"]}, document)
        if result.matched_count != 1:
            raise TallyMoved(document_id)

    def _key(self, region: str) -> str:
        return f"{self.name}:{region}"


class TallyGauge:
    """A gauge `name{region, label}` of some of a tally's counts, read from the tally (a few small
    documents per region) rather than counted over the aggregates."""

    def __init__(
        self,
        registry: CollectorRegistry,
        tally: Tally,
        *,
        name: str,
        documentation: str,
        label: str,
        steps: Sequence[str],
        regions: Sequence[str],
    ) -> None:
        self.tally, self.steps, self.regions = tally, steps, regions
        self.gauge = Gauge(name, documentation, ["region", label], registry=registry)

    async def read(self) -> None:
        for region in self.regions:
            totals = await self.tally.totals(region)
            for step in self.steps:
                self.gauge.labels(region, step).set(totals.get(step, 0))


# what the events of the partition being counted add (each subscriber counts in a task of its own)
_pending: ContextVar[Counter[str]] = ContextVar("tally_pending")


def _event_id(record: ConsumerRecord) -> str | None:
    try:
        event_id = json.loads(record.value)["id"]
    except (ValueError, TypeError, KeyError):
        return None  # not an event: the dispatcher dead-letters it
    return event_id if isinstance(event_id, str) else None


def _position(record: ConsumerRecord) -> tuple[int, int]:
    return record.partition, record.offset


def subscribe_tally(broker: KafkaBroker, tally: Tally, dispatcher: Dispatcher) -> Any:
    """The tally's own consumer group (the dispatcher's) on the stream of one region."""
    group = dispatcher.group
    subscriber = broker.subscriber(
        tally.stream.topic(dispatcher.region),
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=500,
        batch_timeout_ms=POLL_TIMEOUT_MS,
        title=group,
        description=f"counts {sorted(tally.routes.routes)} into the tally {tally.name}",
    )

    @subscriber
    async def consume(message: KafkaMessage) -> None:
        await tally.count(dispatcher, dispatcher.region, message.raw_message)  # type: ignore[arg-type]

    return subscriber
