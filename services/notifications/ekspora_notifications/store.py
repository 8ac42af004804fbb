"""Every database call of the notifications service lives here."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ekspora_notifications.domain import Contact, Notification


class NotificationsStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications = db["notifications"]
        self.contacts = db["contacts"]

    async def ensure_indexes(self) -> None:
        await self.notifications.create_index([("recipient", 1), ("created_at", -1)])

    async def record(self, notifications: Sequence[Notification]) -> int:
        """Inserts each notification once; returns how many already existed (redeliveries)."""
        documents = [{"_id": n.notification_id, **n.model_dump()} for n in notifications]
        if not documents:
            return 0
        try:
            await self.notifications.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            duplicates = [e for e in error.details["writeErrors"] if e["code"] == 11000]
            if len(duplicates) != len(error.details["writeErrors"]):
                raise
            return len(duplicates)
        return 0

    async def save_contact(self, contact: Contact) -> bool:
        """Keeps the newest contact; an older or repeated event changes nothing. True if stored."""
        newer_only = {"_id": contact.msme_id, "changed_at": {"$lt": contact.changed_at}}
        try:
            result = await self.contacts.update_one(newer_only, {"$set": contact.model_dump()}, upsert=True)
        except DuplicateKeyError:
            return False
        return result.modified_count == 1 or result.upserted_id is not None

    async def contact(self, msme_id: str) -> Contact | None:
        document = await self.contacts.find_one({"_id": msme_id})
        return Contact.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def feed(self, recipient: str, limit: int) -> tuple[list[Notification], int]:
        cursor = self.notifications.find({"recipient": recipient}).sort("created_at", -1).limit(limit)
        items = [Notification.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor]
        unread = await self.notifications.count_documents({"recipient": recipient, "read": False})
        return items, unread

    async def mark_read(self, recipient: str, notification_id: str) -> bool:
        result = await self.notifications.update_one(
            {"_id": notification_id, "recipient": recipient}, {"$set": {"read": True}}
        )
        return result.matched_count == 1


class DeliveryStore:
    """Deliveries, one record per (event, recipient, channel), claimed by a unique insert before
    sending, so a message goes out at most once per channel whatever the redeliveries; and events
    that wait for a contact the registry has not sent yet."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.deliveries = db["deliveries"]
        self.waiting = db["waiting_for_contact"]
        self.names = db["business_names"]

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index([("recipient", 1), ("created_at", -1)])
        await self.waiting.create_index("msme_id")

    async def claim(self, key: str, record: dict) -> dict | None:
        """Claims a send; returns the earlier record instead when this send was claimed before."""
        try:
            await self.deliveries.insert_one({"_id": key, **record})
        except DuplicateKeyError:
            return await self.deliveries.find_one({"_id": key}) or {}
        return None

    async def finish(self, key: str, fields: dict) -> None:
        await self.deliveries.update_one({"_id": key}, {"$set": fields})

    async def of_recipient(self, recipient: str, limit: int = 100) -> list[dict]:
        cursor = self.deliveries.find({"recipient": recipient}).sort("created_at", -1).limit(limit)
        return [{k: v for k, v in d.items() if k != "_id"} | {"delivery_id": d["_id"]} async for d in cursor]

    async def summary(self) -> list[dict]:
        """Sends per channel, language and status (FerretDB-safe: $group with $sum only)."""
        pipeline = [
            {
                "$group": {
                    "_id": {"channel": "$channel", "language": "$language", "status": "$status"},
                    "count": {"$sum": 1},
                }
            }
        ]
        return [d["_id"] | {"count": d["count"]} async for d in await self.deliveries.aggregate(pipeline)]

    async def wait_for_contact(self, key: str, msme_id: str, event: dict) -> None:
        await self.waiting.update_one({"_id": key}, {"$setOnInsert": {"msme_id": msme_id, "event": event}}, upsert=True)

    async def waiting_for(self, msme_id: str) -> list[tuple[str, dict]]:
        return [(d["_id"], d["event"]) async for d in self.waiting.find({"msme_id": msme_id})]

    async def done_waiting(self, key: str) -> None:
        await self.waiting.delete_one({"_id": key})

    async def remember_name(self, msme_id: str, business_name: str) -> None:
        await self.names.update_one({"_id": msme_id}, {"$set": {"business_name": business_name}}, upsert=True)

    async def business_name(self, msme_id: str) -> str | None:
        document = await self.names.find_one({"_id": msme_id})
        return document["business_name"] if document else None
