"""Versioned aggregates: one document each, saved only against the version that was read.

Every write of an aggregate goes through `change`: load it, apply a pure operation, save what the
operation decided together with its events (in its change record, the outbox: see
ekspora_kit.changes) and, when someone else saved in between, load and apply again. A conflict
that outlasts the attempts is `Busy`, which the HTTP app answers with 409.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.changes import ChangeLog
from ekspora_kit.clock import Clock
from ekspora_kit.documents import to_document
from ekspora_kit.domain import Busy
from ekspora_kit.outbox import WRITTEN

logger = logging.getLogger(__name__)
SAVE_ATTEMPTS = 8
# a rival's save is a few store commands (10-50 ms on a loaded FerretDB): wait longer each time,
# up to a fifth of a second, so eight attempts span about a second before the caller hears Busy
BACKOFF_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.2

Aggregate = TypeVar("Aggregate", bound=BaseModel)
Current = TypeVar("Current")
Decision = TypeVar("Decision")
Saved = TypeVar("Saved")


class VersionConflict(Exception):
    """The aggregate was saved by someone else since it was read (or created, for a new one)."""


class VersionedStore(Generic[Aggregate]):
    """One collection of aggregates of one model, each with a `version` that every save raises by one.

    `derive` gives the fields stored beside the state on every save, for queries: top-level
    copies of what the state nests (region, tier, product ids), which the store can select by
    (see ekspora_kit.scans). Reads return the model's own fields only."""

    def __init__(
        self,
        collection: AsyncCollection,
        model: type[Aggregate],
        *,
        hidden: Mapping[str, int] | None = None,
        derive: Callable[[Aggregate], Mapping[str, Any]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.collection, self.model = collection, model
        self.hidden = dict(hidden) if hidden else None  # a projection leaving out what reads don't need
        self.derive = derive or (lambda _: {})
        self.log = ChangeLog(collection, clock or Clock.from_environment())

    async def get(self, key: str) -> Aggregate | None:
        document = await self.collection.find_one({"_id": key}, self.hidden)
        return self.parse(document) if document else None

    def parse(self, document: Mapping[str, Any]) -> Aggregate:
        return self.model.model_validate({k: v for k, v in document.items() if k in self.model.model_fields})

    async def insert(
        self,
        key: str,
        aggregate: Aggregate,
        events: Sequence[CloudEvent],
        *,
        history: Mapping[str, Any] | None = None,
        placed: Mapping[str, Any] | None = None,
    ) -> Aggregate:
        """Stores a new aggregate as version 1, with its events and `history` entries (see `history`).
        `placed` are query fields given once, at insert, that later saves keep (a place in a list).
        Raises DuplicateKeyError when its key, or another unique field, is taken."""
        saved = aggregate.model_copy(update={"version": 1})
        document = to_document(saved, **self.derive(saved), **(placed or {}), _id=key)
        token = await self.log.claim(key, 1, {"insert": document}, events, history)
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            if not await self._rolled_forward(key, 1, token):
                await self.log.abandon(key, 1, token)
                raise
        WRITTEN.add(self.collection, key, 1)
        return saved

    async def replace(
        self,
        key: str,
        aggregate: Aggregate,
        expected_version: int,
        events: Sequence[CloudEvent],
        *,
        history: Mapping[str, Any] | None = None,
    ) -> Aggregate:
        """Replaces the stored state if it is still at `expected_version`, with its events and
        `history` entries, as the next version. Raises VersionConflict when another writer came first."""
        version = expected_version + 1
        saved = aggregate.model_copy(update={"version": version})
        apply = {"set": to_document(saved, **self.derive(saved))}
        try:
            token = await self.log.claim(key, version, apply, events, history)
        except DuplicateKeyError:
            await self.log.settle_stale(key, version)
            raise VersionConflict(key) from None
        result = await self.collection.update_one({"_id": key, "version": expected_version}, {"$set": apply["set"]})
        if result.matched_count != 1 and not await self._rolled_forward(key, version, token):
            await self.log.abandon(key, version, token)
            raise VersionConflict(key)
        WRITTEN.add(self.collection, key, version)
        return saved

    async def history(self, key: str, field: str) -> list[Any]:
        """The `field` entries the aggregate's saves recorded, oldest first. They stay in the change
        records, not in the aggregate's document, which every read and write decodes whole."""
        return await self.log.history(key, field)

    async def _rolled_forward(self, key: str, version: int, token: str) -> bool:
        """Whether someone applied this writer's own claim while it was slow (see ekspora_kit.changes)."""
        record = await self.log.records.find_one({"_id": f"{key}:{version}"}, {"claim": 1})
        return record is not None and record["claim"] == token and await self.log.state_version(key) >= version

    async def save(
        self,
        key: str,
        aggregate: Aggregate,
        expected_version: int | None,
        events: Sequence[CloudEvent],
    ) -> Aggregate:
        """Inserts (`expected_version` None) or replaces; an aggregate someone else created first is a
        VersionConflict too, so `change` applies the operation again to what they stored."""
        if expected_version is not None:
            return await self.replace(key, aggregate, expected_version, events)
        try:
            return await self.insert(key, aggregate, events)
        except DuplicateKeyError:
            raise VersionConflict(key) from None


async def change(
    load: Callable[[], Awaitable[Current]],
    operation: Callable[[Current], Decision | None],
    save: Callable[[Current, Decision], Awaitable[Saved]],
    *,
    what: str,
    attempts: int = SAVE_ATTEMPTS,
) -> tuple[Current, Saved | None]:
    """Loads the current state, applies the pure `operation` and saves what it decided; when the
    save meets a VersionConflict, loads and applies again. Returns the state as loaded with what
    `save` returned, or None when the operation had nothing to do. `load` raises NotFound itself
    where a missing aggregate is an error (where one may be created, it returns None)."""
    for attempt in range(1, attempts + 1):
        current = await load()
        decision = operation(current)
        if decision is None:
            return current, None
        try:
            return current, await save(current, decision)
        except VersionConflict:
            logger.info("%s changed while being saved (attempt %d of %d); applying again", what, attempt, attempts)
            await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2**attempt)))
    raise Busy(f"{what} is being changed by others; try again")
