"""Change records: exactly one writer per version of an aggregate, on FerretDB and MongoDB alike.

Neither FerretDB backend isolates two conditional updates of one document from different
connections (FerretDB#3040): both compare-and-set writers of a version can win. A unique insert
is exclusive on every MongoDB-wire store. So every save of an aggregate first *inserts* its change
record `<aggregate id>:<new version>`, holding the new state and the events it causes (the outbox),
and only the writer whose insert succeeded writes the state document. Any number of instances of
a service can then change one aggregate without losing an update.

A writer that dies between its record and the state leaves a claim nobody else can take. Once
the claim is older than `STALE_SECONDS` by the kit's clock, whoever meets it (a writer wanting
that version, or the outbox relay) applies it: the change was decided, so it rolls forward.
Each record says who the change was made for (`by`: an operator's region, a partner's credential,
or the event that caused it). The relay publishes a record's events only once its state is
applied, then strips the record to a short entry of the aggregate's history (version, time, who,
event ids, and the history entries
its save recorded, such as the registry's assessments, kept here rather than in the state
document so that the aggregate stays small).
"""

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.clock import Clock
from ekspora_kit.leases import aware
from ekspora_kit.logs import acting

logger = logging.getLogger(__name__)
STALE_SECONDS = 10
PENDING = "has_outbox"
Document = dict[str, Any]


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


class ChangeLog:
    """The change records of one collection of aggregates, in `<collection>_changes`."""

    def __init__(self, state: AsyncCollection, clock: Clock, *, stale_seconds: float = STALE_SECONDS) -> None:
        self.state, self.clock = state, clock
        self.records = state.database[f"{state.name}_changes"]
        self.stale_after = timedelta(seconds=stale_seconds)

    async def ensure_indexes(self) -> None:
        await self.records.create_index([("aggregate", 1), ("version", 1)])
        await self.records.create_index(PENDING, sparse=True)

    async def claim(
        self,
        key: str,
        version: int,
        apply: Mapping[str, Any],
        events: Sequence[CloudEvent],
        history: Mapping[str, Any] | None = None,
    ) -> str:
        """Inserts the record of `version`, or raises DuplicateKeyError: another writer has it.
        `history` (field -> entry) stays in the record for good: see `history`."""
        now = self.clock.now()
        token = uuid4().hex
        await self.records.insert_one(
            {
                "_id": f"{key}:{version}",
                "aggregate": key,
                "version": version,
                "claim": token,
                "at": now,
                "by": acting.get(),
                "apply": dict(apply),
                "outbox": outbox_entries(events),
                "outbox_since": min((event.time for event in events), default=now),
                PENDING: True,
            }
            | ({"history": dict(history)} if history else {})
        )
        return token

    async def state_version(self, key: str) -> int:
        document = await self.state.find_one({"_id": key}, {"version": 1})
        return int(document.get("version", 0)) if document else 0

    async def apply(self, record: Mapping[str, Any]) -> bool:
        """Writes the record's state; False when it can no longer be written (its insert meets
        another aggregate's unique field, or the state moved on without it)."""
        apply, version = record["apply"], record["version"]
        if "insert" in apply:
            try:
                await self.state.insert_one(apply["insert"])
            except DuplicateKeyError:
                return await self.state_version(record["aggregate"]) >= version
            return True
        result = await self.state.update_one(
            {"_id": record["aggregate"], "version": version - 1}, {"$set": apply["set"]}
        )
        return result.matched_count == 1 or await self.state_version(record["aggregate"]) >= version

    async def abandon(self, key: str, version: int, token: str | None = None) -> None:
        """Deletes a claim whose state cannot be written, so the version is free again."""
        await self.records.delete_one({"_id": f"{key}:{version}"} | ({"claim": token} if token else {}))

    async def settle_stale(self, key: str, version: int) -> None:
        """Rolls forward (or, when it cannot be applied, abandons) the claim of `version` if its
        writer has not finished it within STALE_SECONDS."""
        record = await self.records.find_one({"_id": f"{key}:{version}"})
        if record is None or "apply" not in record or not self.is_stale(record):
            return
        if await self.state_version(key) < version:
            await self.roll_forward(record)

    async def roll_forward(self, record: Mapping[str, Any]) -> bool:
        """Writes the state of a claim its writer left behind; when that can no longer be done,
        abandons the claim. True when the state is written."""
        if await self.apply(record):
            logger.warning("rolled forward change record %s after its writer stopped", record["_id"])
            return True
        await self.abandon(record["aggregate"], record["version"], record["claim"])
        logger.warning("abandoned change record %s: its state could not be written", record["_id"])
        return False

    async def history(self, key: str, field: str) -> list[Any]:
        """The `field` entries of the aggregate's applied versions, oldest first (a claim whose state
        is not written yet is no part of its history)."""
        applied = await self.state_version(key)
        records = self.records.find({"aggregate": key}, {"version": 1, f"history.{field}": 1})
        entries = [(r["version"], r["history"][field]) async for r in records if field in r.get("history", {})]
        return [entry for version, entry in sorted(entries, key=lambda item: item[0]) if version <= applied]

    def is_stale(self, record: Mapping[str, Any]) -> bool:
        return self.clock.now() - aware(record["at"]) >= self.stale_after

    def pending(self, key: str) -> AsyncIterator[Document]:
        """The aggregate's records whose events are not published yet, oldest version first."""
        return self.records.find({"aggregate": key, PENDING: True}).sort("version", 1)

    async def published(self, record: Mapping[str, Any]) -> None:
        """Keeps only the history entry of a record whose events went out."""
        await self.records.update_one(
            {"_id": record["_id"]},
            {
                "$set": {"events": [entry["id"] for entry in record.get("outbox", [])]},
                "$unset": {"apply": "", "outbox": "", "outbox_since": "", PENDING: ""},
            },
        )
