"""Short exclusive leases, taken by a unique insert.

FerretDB 1.24 does not isolate conditional updates (FerretDB#3040), but a unique insert is
exclusive on every MongoDB-wire store, so "who may work on X now" is decided by inserting X."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Leases:
    def __init__(self, collection: AsyncCollection, *, holder: str, seconds: float, clock: Clock) -> None:
        self.collection, self.holder, self.duration, self.clock = collection, holder, timedelta(seconds=seconds), clock

    async def take(self, lease_id: str) -> bool:
        """True if this holder now holds the lease. An expired lease, or one this holder held
        before a restart (same holder name), is taken over instead of waited for."""
        now = self.clock.now()
        lease = {"_id": lease_id, "holder": self.holder, "until": now + self.duration}
        try:
            await self.collection.insert_one(lease)
            return True
        except DuplicateKeyError:
            current = await self.collection.find_one({"_id": lease_id})
        if current is None or (current["holder"] != self.holder and aware(current["until"]) > now):
            return False
        await self.collection.delete_one({"_id": lease_id, "holder": current["holder"], "until": current["until"]})
        try:
            await self.collection.insert_one(lease)
            return True
        except DuplicateKeyError:
            return False

    async def release(self, lease_id: str) -> None:
        await self.collection.delete_one({"_id": lease_id, "holder": self.holder})


class Exclusive:
    """Work on one key by one caller at a time, across instances (a lease) and within this one (a
    lock, since every coroutine here shares the holder name and `take` would let each one in).

    Waiting polls the lease; who waits longer than `patience` hears Busy and is retried as a
    whole (a consumer's redelivery, an HTTP 409), so a crashed holder costs a lease's length."""

    POLL_SECONDS = 0.02

    def __init__(self, leases: Leases, *, patience_seconds: float) -> None:
        self.leases, self.attempts = leases, max(1, int(patience_seconds / self.POLL_SECONDS))
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self.locks.get(key, (asyncio.Lock(), 0))
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self._take(key)
                try:
                    yield
                finally:
                    await self.leases.release(key)
        finally:
            lock, users = self.locks[key]
            if users == 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)

    async def _take(self, key: str) -> None:
        for _ in range(self.attempts):
            if await self.leases.take(key):
                return
            await asyncio.sleep(self.POLL_SECONDS)
        raise Busy(f"{key} is being worked on elsewhere; try again")
