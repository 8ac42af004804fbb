"""Short exclusive leases, taken by a unique insert.

FerretDB 1.24 does not isolate conditional updates (FerretDB#3040), but a unique insert is
exclusive on every MongoDB-wire store, so "who may work on X now" is decided by inserting X."""

from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_kit.clock import Clock


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
