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
