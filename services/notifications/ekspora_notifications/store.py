"""Every database call of the notifications service lives here."""

import contextlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ekspora_kit.documents import keep_newest, to_document
from ekspora_notifications.domain import Contact, Notification, PartnerContact
from ekspora_notifications.preferences import Preferences
from ekspora_notifications.webhooks import Endpoint

# Held messages are deleted when released, so this collection holds only what waits now.
HELD_ONLY = "scan: messages still held for quiet hours, deleted once released"


class NotificationsStore:
    """Feeds, and what notifications keeps of its recipients: contacts, partners, preferences,
    shipment parties, and the region's activity for the operators' digest."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.notifications = db["notifications"]
        self.contacts = db["contacts"]
        self.partners = db["partners"]
        self.chosen = db["preferences"]
        self.parties = db["shipment_parties"]
        self.activity = db["activity"]

    async def ensure_indexes(self) -> None:
        await self.notifications.create_index([("recipient", 1), ("created_at", -1)])
        await self.activity.create_index([("region", 1), ("day", 1)])
        await self.contacts.create_index("whatsapp", sparse=True)

    async def save_partner(self, partner: PartnerContact) -> bool:
        return await keep_newest(self.partners, partner.partner_id, partner.model_dump())

    async def partner(self, partner_id: str) -> PartnerContact | None:
        document = await self.partners.find_one({"_id": partner_id})
        return PartnerContact.model_validate(_strip(document)) if document else None

    async def known_partner(self, partner_id: str) -> str | None:
        """The partner's id, when notifications has heard of it (a token names one it may not yet)."""
        document = await self.partners.find_one({"_id": partner_id}, {"_id": 1})
        return document["_id"] if document else None

    async def preferences(self, recipient: str) -> Preferences | None:
        document = await self.chosen.find_one({"_id": recipient})
        return Preferences.model_validate(_strip(document)) if document else None

    async def save_preferences(self, recipient: str, chosen: Preferences) -> None:
        await self.chosen.replace_one({"_id": recipient}, to_document(chosen), upsert=True)

    async def add_party(self, shipment_id: str, msme_id: str, partner_id: str) -> None:
        await self.parties.update_one(
            {"_id": shipment_id}, {"$addToSet": {"msme_ids": msme_id, "partner_ids": partner_id}}, upsert=True
        )

    async def remember_plan(self, shipment_id: str, planned_event: dict) -> None:
        """The shipment's plan, for partners whose orders join it later (they are told it first)."""
        await self.parties.update_one({"_id": shipment_id}, {"$set": {"planned": planned_event}}, upsert=True)

    async def plan(self, shipment_id: str) -> dict | None:
        document = await self.parties.find_one({"_id": shipment_id}, {"planned": 1}) or {}
        return document.get("planned")

    async def shipment_parties(self, shipment_id: str) -> tuple[list[str], list[str]]:
        """(UMKM ids, partner ids) with orders in the shipment."""
        document = await self.parties.find_one({"_id": shipment_id}) or {}
        return document.get("msme_ids", []), document.get("partner_ids", [])

    async def note_activity(self, event_id: str, region: str, event_type: str, day: date) -> None:
        """Once per event (a redelivery notes nothing new), for the region's daily digest."""
        with contextlib.suppress(DuplicateKeyError):
            await self.activity.insert_one(
                {"_id": event_id, "region": region, "type": event_type, "day": day.isoformat()}
            )

    async def activity_on(self, region: str, day: date) -> dict[str, int]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"region": region, "day": day.isoformat()}},
            {"$group": {"_id": "$type", "n": {"$sum": 1}}},
        ]
        return {d["_id"]: d["n"] async for d in await self.activity.aggregate(pipeline)}

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

    async def contacts_with_whatsapp(self, number: str) -> list[Contact]:
        """The UMKM whose owner's WhatsApp is `number` (one owner may run several)."""
        cursor = self.contacts.find({"whatsapp": number})
        return [Contact.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor]

    async def contact(self, msme_id: str) -> Contact | None:
        document = await self.contacts.find_one({"_id": msme_id})
        return Contact.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def feed(self, recipient: str, limit: int) -> tuple[list[Notification], int]:
        cursor = self.notifications.find({"recipient": recipient}).sort("created_at", -1).limit(limit)
        items = [Notification.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor]
        unread = await self.notifications.count_documents({"recipient": recipient, "read": False})
        return items, unread

    async def mark_all_read(self, recipient: str) -> None:
        await self.notifications.update_many({"recipient": recipient, "read": False}, {"$set": {"read": True}})

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
        self.held = db["held_for_quiet_hours"]
        self.takeovers = db["delivery_takeovers"]

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index([("recipient", 1), ("created_at", -1)])
        await self.deliveries.create_index("status")
        await self.deliveries.create_index("reference", sparse=True)
        await self.waiting.create_index("msme_id")
        await self.held.create_index("release_at")

    async def claim(self, key: str, record: dict) -> dict | None:
        """Claims a send; returns the earlier record instead when this send was claimed before."""
        try:
            await self.deliveries.insert_one({"_id": key, **record})
        except DuplicateKeyError:
            return await self.deliveries.find_one({"_id": key}) or {}
        return None

    async def finish(self, key: str, fields: dict) -> None:
        await self.deliveries.update_one({"_id": key}, {"$set": fields})

    async def acknowledged(self, key: str) -> str | None:
        """The channel's id of the send, once the channel has reported on it (a status webhook)."""
        document = await self.deliveries.find_one({"_id": key}, {"reference": 1, "receipts": 1})
        return document["reference"] if document and document.get("receipts") else None

    async def receipt(self, key: str | None, reference: str, fields: dict, receipt: dict) -> dict | None:
        """Records what the channel reported of a send (found by our key, else by the channel's id);
        the send's record as it was before, or None when it is not ours."""
        found = {"_id": key} if key else {"reference": reference}
        update = {"$set": fields | {"reference": reference}, "$push": {"receipts": receipt}}
        return await self.deliveries.find_one_and_update(found, update)

    async def unconfirmed(self, channels: tuple[str, ...], claimed_before: datetime) -> list[dict]:
        """Sends on `channels` claimed before `claimed_before` and still without the provider's answer."""
        return [
            d
            async for d in self.deliveries.find({"status": "sending"})
            if d["channel"] in channels and d.get("claimed_at", d["created_at"]) < claimed_before
        ]

    async def take_over(self, record: dict, now: datetime) -> bool:
        """Takes over an unconfirmed send, for one instance only: the unique insert of its next claim
        is the exclusive step (an update of the record could be won by two)."""
        claims = record.get("claims", 1)
        try:
            await self.takeovers.insert_one({"_id": f"{record['_id']}:{claims}", "at": now})
        except DuplicateKeyError:
            return False
        await self.deliveries.update_one({"_id": record["_id"]}, {"$set": {"claims": claims + 1, "claimed_at": now}})
        return True

    async def of_recipient(self, recipient: str, limit: int = 100) -> list[dict]:
        cursor = self.deliveries.find({"recipient": recipient}).sort("created_at", -1).limit(limit)
        return [{k: v for k, v in d.items() if k != "_id"} | {"delivery_id": d["_id"]} async for d in cursor]

    async def summary(self, region: str) -> list[dict]:
        """Sends per kind of recipient, channel, language and status (FerretDB-safe: $group, $sum)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"region": region}},
            {
                "$group": {
                    "_id": {"to": "$to", "channel": "$channel", "language": "$language", "status": "$status"},
                    "count": {"$sum": 1},
                }
            },
        ]
        return [d["_id"] | {"count": d["count"]} async for d in await self.deliveries.aggregate(pipeline)]

    async def hold(self, key: str, held: dict) -> bool:
        """Keeps a message until its quiet hours end; False when it was held before."""
        try:
            await self.held.insert_one({"_id": key, **held})
        except DuplicateKeyError:
            return False
        return True

    async def due_held(self, now: datetime) -> list[tuple[str, dict]]:
        cursor = self.held.find({"release_at": {"$lte": now}}, comment=HELD_ONLY).sort("release_at", 1)
        return [(d["_id"], d) async for d in cursor]

    async def release(self, key: str) -> None:
        await self.held.delete_one({"_id": key})

    async def failed_on(self, region: str, since: datetime, until: datetime) -> int:
        return await self.deliveries.count_documents(
            {"region": region, "status": "failed", "created_at": {"$gte": since, "$lt": until}}
        )

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


class WebhookStore:
    """Partner webhook endpoints and their deliveries: one record per (endpoint, event), in the
    order the events arrived (`seq`), with every attempt kept for the delivery log."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.endpoints = db["webhook_endpoints"]
        self.deliveries = db["webhook_deliveries"]
        self.leases = db["webhook_leases"]

    async def ensure_indexes(self) -> None:
        await self.endpoints.create_index("partner_id")
        await self.deliveries.create_index([("endpoint_id", 1), ("region", 1), ("seq", 1)])
        await self.deliveries.create_index([("status", 1), ("next_at", 1)])

    async def add_endpoint(self, endpoint: Endpoint) -> None:
        await self.endpoints.insert_one({"_id": endpoint.endpoint_id, **to_document(endpoint)})

    async def endpoint(self, endpoint_id: str) -> Endpoint | None:
        document = await self.endpoints.find_one({"_id": endpoint_id})
        return Endpoint.model_validate(_strip(document)) if document else None

    async def endpoints_of(self, partner_id: str) -> list[Endpoint]:
        cursor = self.endpoints.find({"partner_id": partner_id}).sort("created_at", 1)
        return [Endpoint.model_validate(_strip(d)) async for d in cursor]

    async def subscribed_to(self, event_type: str) -> list[Endpoint]:
        return [Endpoint.model_validate(_strip(d)) async for d in self.endpoints.find({"event_types": event_type})]

    async def remove_endpoint(self, endpoint_id: str) -> None:
        await self.endpoints.delete_one({"_id": endpoint_id})
        await self.deliveries.update_many(
            {"endpoint_id": endpoint_id, "status": "pending"},
            {"$set": {"status": "skipped", "reason": "endpoint removed"}},
        )

    async def update_endpoint(self, endpoint: Endpoint, fields: Iterable[str]) -> None:
        """Writes only `fields`: the dispatcher marking an endpoint failing and its partner rotating
        the secret at the same moment both stay written."""
        document = to_document(endpoint)
        await self.endpoints.update_one({"_id": endpoint.endpoint_id}, {"$set": {f: document[f] for f in fields}})

    async def enqueue(self, deliveries: Sequence[dict]) -> int:
        """Inserts each delivery once; returns how many were new (a redelivered event adds none)."""
        if not deliveries:
            return 0
        try:
            await self.deliveries.insert_many(list(deliveries), ordered=False)
        except BulkWriteError as error:
            if any(e["code"] != 11000 for e in error.details["writeErrors"]):
                raise
            return len(deliveries) - len(error.details["writeErrors"])
        return len(deliveries)

    async def due(self, regions: Sequence[str], now: datetime) -> set[tuple[str, str]]:
        """(endpoint, region) pairs with a delivery due now."""
        cursor = self.deliveries.find(
            {"status": "pending", "next_at": {"$lte": now}, "region": {"$in": list(regions)}},
            {"endpoint_id": 1, "region": 1},
        )
        return {(d["endpoint_id"], d["region"]) async for d in cursor}

    async def pending(self, endpoint_id: str, region: str, limit: int = 500) -> list[dict]:
        cursor = (
            self.deliveries.find({"endpoint_id": endpoint_id, "region": region, "status": "pending"})
            .sort("seq", 1)
            .limit(limit)
        )
        return [d async for d in cursor]

    async def record_attempt(self, delivery_id: str, attempt: dict, fields: dict) -> None:
        await self.deliveries.update_one({"_id": delivery_id}, {"$push": {"attempts": attempt}, "$set": fields})

    async def log(
        self, endpoint_id: str, *, status: str | None, since: datetime | None, until: datetime | None, limit: int
    ) -> list[dict]:
        query: dict = {"endpoint_id": endpoint_id} | ({"status": status} if status else {})
        if since or until:
            query["created_at"] = {k: v for k, v in (("$gte", since), ("$lt", until)) if v}
        cursor = self.deliveries.find(query, {"body": 0}).sort("seq", -1).limit(limit)
        return [d async for d in cursor]

    async def delivery(self, endpoint_id: str, delivery_id: str) -> dict | None:
        return await self.deliveries.find_one({"_id": delivery_id, "endpoint_id": endpoint_id})

    async def replay(self, endpoint_id: str, query: dict, now: datetime) -> int:
        """Sends the matching deliveries again (same webhook-id, so receivers can de-duplicate)."""
        result = await self.deliveries.update_many(
            {"endpoint_id": endpoint_id, **query},
            {"$set": {"status": "pending", "next_at": now, "replayed_at": now}},
        )
        return result.modified_count


def _strip(document: dict) -> dict:
    # api_key_sha256: in partner documents stored before keys moved to the identity service
    return {k: v for k, v in document.items() if k not in ("_id", "api_key_sha256")}
