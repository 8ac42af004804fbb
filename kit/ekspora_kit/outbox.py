"""The outbox relay: publishes the events stored in change records, each exactly once in effect.

The events a state change causes are stored in its change record (ekspora_kit.changes), which is
written before the state, so both happen or the record rolls forward. The relay publishes a
record's events (acks=all, idempotent producer) only once its state is written, and only then
marks it published. A crash between publish and mark re-publishes on restart: consumers
de-duplicate by event id.

Which relay publishes an aggregate's records is decided by a lease *inserted* under a unique key
(`outbox_leases`): a unique insert has exactly one winner on FerretDB and MongoDB alike, and one
relay per aggregate keeps its events in version order.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection

from ekspora_kit.changes import PENDING, ChangeLog
from ekspora_kit.clock import Clock
from ekspora_kit.faults import FaultPoints
from ekspora_kit.leases import Leases, aware
from ekspora_kit.logs import log_fields
from ekspora_kit.metrics import KitMetrics

logger = logging.getLogger(__name__)


class RecordPublisher(Protocol):
    async def publish_record(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None: ...


class WrittenAggregates:
    """Which aggregates this process just wrote, and up to which version, so its relay publishes
    their records at once (without reading the state back) instead of at the next sweep. The
    sweep stays, as the safety net after a crash."""

    def __init__(self) -> None:
        self.pending: dict[str, dict[str, int]] = {}
        self.listeners: list[Callable[[], None]] = []

    def add(self, collection: AsyncCollection, key: str, version: int) -> None:
        written = self.pending.setdefault(collection.full_name, {})
        written[key] = max(version, written.get(key, 0))
        for wake in self.listeners:
            wake()

    def take(self, collection: AsyncCollection) -> dict[str, int]:
        return self.pending.pop(collection.full_name, {})


WRITTEN = WrittenAggregates()


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
        concurrency: int = 8,
    ) -> None:
        self.logs = [ChangeLog(collection, clock) for collection in collections]
        self.publisher = publisher
        self.instance = instance
        self.metrics = metrics
        self.faults = faults
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self.concurrency = concurrency
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
        """Publishes the records of the aggregates this process just wrote, `concurrency` aggregates
        at a time: each aggregate's own records still go out in version order, under its lease."""
        published = 0
        for log in self.logs:
            written = list(WRITTEN.take(log.state).items())
            for first in range(0, len(written), self.concurrency):
                batch = written[first : first + self.concurrency]
                published += sum(await asyncio.gather(*(self._publish_leased(log, k, v) for k, v in batch)))
        return published

    async def ensure_indexes(self) -> None:
        for log in self.logs:
            await log.ensure_indexes()

    async def drain_once(self) -> int:
        """Sweeps every pending record, oldest first: what crashed writers and relays left."""
        published = pending = 0
        oldest: datetime | None = None
        for log in self.logs:
            cursor = (
                log.records.find({PENDING: True}, {"aggregate": 1, "outbox": 1, "outbox_since": 1})
                .sort("outbox_since", 1)
                .limit(self.batch_size)
            )
            keys: dict[str, None] = {}
            async for record in cursor:
                since = aware(record["outbox_since"])
                oldest = since if oldest is None else min(oldest, since)
                pending += len(record.get("outbox", []))
                keys[record["aggregate"]] = None
            for key in keys:
                published += await self._publish_leased(log, key)
        self.metrics.outbox_pending.set(max(pending - published, 0))
        self.metrics.outbox_lag.set((self.clock.now() - oldest).total_seconds() if oldest else 0)
        return published

    async def _publish_leased(self, log: ChangeLog, key: str, written: int | None = None) -> int:
        leases = Leases(
            log.state.database["outbox_leases"], holder=self.instance, seconds=self.lease_seconds, clock=self.clock
        )
        lease_id = f"{log.state.name}:{key}"
        if not await leases.take(lease_id):
            return 0
        try:
            return await self._publish_records(log, key, written)
        finally:
            await leases.release(lease_id)

    async def _publish_records(self, log: ChangeLog, key: str, written: int | None) -> int:
        """Publishes the aggregate's pending records in version order, each once its state is
        written (`written`: the version this process wrote last, when it knows); stops at a claim
        still in its writer's hands."""
        published = 0
        async for record in log.pending(key):
            if written is None or record["version"] > written:
                written = await log.state_version(key)
            if record["version"] > written:
                if not log.is_stale(record):
                    break
                if not await log.roll_forward(record):
                    continue
                written = record["version"]
            published += await self._publish_record(record)
            await log.published(record)
        return published

    async def _publish_record(self, record: Mapping[str, Any]) -> int:
        entries = record.get("outbox", [])
        for entry in entries:
            self.faults.reach("relay.before_publish")
            await self.publisher.publish_record(
                entry["topic"], entry["key"], entry["value"].encode(), {"ce_type": entry["type"]}
            )
            self.faults.reach("relay.after_publish")
            self.metrics.outbox_published.labels(self.metrics.service, entry["topic"]).inc()
            logger.debug("published", extra=log_fields(event_id=entry["id"], topic=entry["topic"]))
        return len(entries)
