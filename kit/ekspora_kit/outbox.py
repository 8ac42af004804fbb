"""Transactional outbox without multi-document transactions.

The events a state change causes are pushed onto an `outbox` array *inside the aggregate's own
document*, in the same single-document update as the change, so both happen or neither does.
The relay publishes each pending event (acks=all, idempotent producer) and only then pops it.
A crash between publish and pop re-publishes on restart: consumers de-duplicate by event id.

Which relay publishes an aggregate is decided by a lease *inserted* under a unique key
(`outbox_leases`): FerretDB 1.24 does not isolate conditional updates (FerretDB#3040), but a
unique insert has exactly one winner on FerretDB and MongoDB alike.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.results import UpdateResult

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.clock import Clock
from ekspora_kit.faults import FaultPoints
from ekspora_kit.leases import Leases, aware
from ekspora_kit.logs import log_fields
from ekspora_kit.metrics import KitMetrics

logger = logging.getLogger(__name__)
Document = dict[str, Any]
# Set while an aggregate has unpublished events: the sweep selects by equality on it, which the
# store answers from an index (MongoDB) or in PostgreSQL (FerretDB), where `$exists` reads everything.
PENDING = "has_outbox"
EMPTIED = {"$unset": {"outbox_since": "", "outbox": "", PENDING: ""}}


class RecordPublisher(Protocol):
    async def publish_record(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None: ...


def outbox_entries(events: Sequence[CloudEvent]) -> list[Document]:
    from ekspora_contracts.catalog import EVENT_TYPES

    return [
        {
            "id": event.id,
            "type": event.type,
            "topic": EVENT_TYPES[event.type].stream.topic(event.region),
            "key": event.subject,
            "value": event.model_dump_json(),
        }
        for event in events
    ]


def oldest_time(events: Sequence[CloudEvent]) -> datetime:
    """When the oldest of these events happened, by its producer's clock: the outbox's lag starts there."""
    return min(event.time for event in events)


def new_document_with_outbox(document: Document, events: Sequence[CloudEvent]) -> Document:
    """For insert_one: the new aggregate together with the events its creation caused."""
    if not events:
        return document
    return document | {"outbox": outbox_entries(events), "outbox_since": oldest_time(events), PENDING: True}


class WrittenAggregates:
    """Which aggregates this process just wrote events for, so its relay publishes them at once by
    `_id` instead of sweeping the collection (a sweep reads every document: ~75 ms for 32 UMKM on
    FerretDB, which filters nothing in SQLite). The sweep stays, as the safety net after a crash."""

    def __init__(self) -> None:
        self.pending: dict[str, set[object]] = {}
        self.listeners: list[Callable[[], None]] = []

    def add(self, collection: AsyncCollection, key: object) -> None:
        self.pending.setdefault(collection.full_name, set()).add(key)
        for wake in self.listeners:
            wake()

    def take(self, collection: AsyncCollection) -> set[object]:
        return self.pending.pop(collection.full_name, set())


WRITTEN = WrittenAggregates()


async def insert_with_outbox(collection: AsyncCollection, document: Document, events: Sequence[CloudEvent]) -> None:
    """Inserts a new aggregate with the events its creation caused, in one write."""
    await collection.insert_one(new_document_with_outbox(document, events))
    if events:
        WRITTEN.add(collection, document["_id"])


async def update_with_outbox_where(
    collection: AsyncCollection, where: Document, update: Document, events: Sequence[CloudEvent]
) -> UpdateResult:
    """Updates the aggregate `where` selects (by `_id`) with its events, in one write."""
    result = await collection.update_one(where, update_with_outbox(update, events))
    if events and result.matched_count:
        WRITTEN.add(collection, where["_id"])
    return result


def update_with_outbox(update: Document, events: Sequence[CloudEvent]) -> Document:
    """For update_one: merges `$push` of the events (and the pending marker) into an update."""
    if not events:
        return update
    merged = {operator: dict(fields) for operator, fields in update.items()}
    merged.setdefault("$push", {})["outbox"] = {"$each": outbox_entries(events)}
    merged.setdefault("$min", {})["outbox_since"] = oldest_time(events)
    merged.setdefault("$set", {})[PENDING] = True
    return merged


class OutboxRelay:
    def __init__(
        self,
        collections: Sequence[AsyncCollection],
        publisher: RecordPublisher,
        *,
        instance: str,
        metrics: KitMetrics,
        faults: FaultPoints,
        clock: Clock,
        poll_seconds: float,
        lease_seconds: float,
        batch_size: int = 100,
    ) -> None:
        self.collections = list(collections)
        self.publisher = publisher
        self.instance = instance
        self.metrics = metrics
        self.faults = faults
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a write, so events go out at once instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        WRITTEN.listeners.append(self.wake)
        last_sweep = 0.0
        while True:
            try:
                published = await self.publish_written()
                # sweep when idle, at most once a poll under load, at least every ten polls
                if time.monotonic() - last_sweep >= self.poll_seconds * (10 if published else 1):
                    published += await self.drain_once()
                    last_sweep = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox relay round failed; retrying")
                published = 0
            if published:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def publish_written(self) -> int:
        """Publishes the aggregates this process just wrote, each found by `_id`."""
        published = 0
        for collection in self.collections:
            for key in WRITTEN.take(collection):
                published += await self._publish_leased(collection, key)
        return published

    async def ensure_indexes(self) -> None:
        for collection in self.collections:
            await collection.create_index(PENDING, sparse=True)

    async def drain_once(self) -> int:
        published = 0
        pending = 0
        oldest: datetime | None = None
        for collection in self.collections:
            cursor = (
                collection.find({PENDING: True}, {"outbox": 1, "outbox_since": 1})
                .sort("outbox_since", 1)
                .limit(self.batch_size)
            )
            async for document in cursor:
                since = aware(document["outbox_since"])
                oldest = since if oldest is None else min(oldest, since)
                pending += len(document.get("outbox", []))
                published += await self._publish_leased(collection, document["_id"])
        self.metrics.outbox_pending.set(max(pending - published, 0))
        self.metrics.outbox_lag.set((self.clock.now() - oldest).total_seconds() if oldest else 0)
        return published

    async def _publish_leased(self, collection: AsyncCollection, aggregate_id: object) -> int:
        leases = Leases(
            collection.database["outbox_leases"], holder=self.instance, seconds=self.lease_seconds, clock=self.clock
        )
        lease_id = f"{collection.name}:{aggregate_id}"
        if not await leases.take(lease_id):
            return 0
        try:
            # Read the outbox only now: another relay may have published the scanned snapshot meanwhile.
            document = await collection.find_one({"_id": aggregate_id}, {"outbox": 1})
            return await self._publish_document(collection, document) if document else 0
        finally:
            await leases.release(lease_id)

    async def _publish_document(self, collection: AsyncCollection, document: Document) -> int:
        entries = document.get("outbox", [])
        for entry in entries:
            self.faults.reach("relay.before_publish")
            await self.publisher.publish_record(
                entry["topic"], entry["key"], entry["value"].encode(), {"ce_type": entry["type"]}
            )
            self.faults.reach("relay.after_publish")
            self.metrics.outbox_published.labels(self.metrics.service, entry["topic"]).inc()
            logger.debug("published", extra=log_fields(event_id=entry["id"], topic=entry["topic"]))
        if not entries:
            return 0
        # One write for the whole batch: rewriting a large aggregate costs as much as the publishes.
        # It matches only when nothing was appended meanwhile; otherwise pop what went out, one by one.
        emptied = await collection.update_one(
            {"_id": document["_id"], "outbox.0.id": entries[0]["id"], f"outbox.{len(entries)}": {"$exists": False}},
            EMPTIED,
        )
        if emptied.matched_count == 0:
            for entry in entries:
                await collection.update_one(
                    {"_id": document["_id"], "outbox.0.id": entry["id"]}, {"$pop": {"outbox": -1}}
                )
            await collection.update_one({"_id": document["_id"], "outbox.0": {"$exists": False}}, EMPTIED)
        return len(entries)
