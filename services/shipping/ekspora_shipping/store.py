"""Every database call of the shipping service lives here. One document per consolidated shipment."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.documents import keep_newest, to_document
from ekspora_kit.outbox import insert_with_outbox, update_with_outbox_where
from ekspora_shipping.domain import Shipment

STATE_ONLY = {"outbox": 0, "outbox_since": 0}


class VersionConflict(Exception):
    pass


class ShippingStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.shipments = db["shipments"]
        self.partner_keys = db["partner_keys"]

    async def ensure_indexes(self) -> None:
        await self.shipments.create_index("orders.line.order_id")
        await self.shipments.create_index("orders.line.msme_id")
        await self.shipments.create_index("orders.line.partner_id")
        await self.shipments.create_index([("region", 1), ("status", 1), ("destination_port", 1), ("mode", 1)])
        await self.shipments.create_index([("status", 1), ("cutoff_on", 1)])
        await self.partner_keys.create_index("api_key_sha256")

    async def keep_partner_key(self, partner_id: str, version: int, key_sha256: str) -> None:
        await keep_newest(self.partner_keys, partner_id, {"version": version, "api_key_sha256": key_sha256})

    async def partner_with_key(self, key_sha256: str) -> str | None:
        document = await self.partner_keys.find_one({"api_key_sha256": key_sha256})
        return document["_id"] if document else None

    async def save(self, shipment: Shipment, expected_version: int | None, events: Sequence[CloudEvent]) -> None:
        if expected_version is None:
            document = to_document(shipment.model_copy(update={"version": 1}), _id=shipment.shipment_id)
            try:
                await insert_with_outbox(self.shipments, document, events)
            except DuplicateKeyError:
                raise VersionConflict(shipment.shipment_id) from None
            return
        state = to_document(shipment)
        state["version"] = expected_version + 1
        result = await update_with_outbox_where(
            self.shipments, {"_id": shipment.shipment_id, "version": expected_version}, {"$set": state}, events
        )
        if result.matched_count != 1:
            raise VersionConflict(shipment.shipment_id)

    async def get(self, shipment_id: str) -> Shipment | None:
        document = await self.shipments.find_one({"_id": shipment_id}, STATE_ONLY)
        return _shipment(document) if document else None

    async def holding_order(self, order_id: str) -> Shipment | None:
        document = await self.shipments.find_one({"orders.line.order_id": order_id}, STATE_ONLY)
        return _shipment(document) if document else None

    async def open_for(self, region: str, port: str, mode: str) -> list[Shipment]:
        query = {"region": region, "status": "planned", "destination_port": port, "mode": mode}
        return [_shipment(d) async for d in self.shipments.find(query, STATE_ONLY)]

    async def where(self, query: dict[str, Any], limit: int = 500) -> list[Shipment]:
        cursor = self.shipments.find(query, STATE_ONLY).sort("departure_on", 1).limit(limit)
        return [_shipment(document) async for document in cursor]

    async def before_cutoff(self, until: date) -> list[Shipment]:
        query = {"status": {"$in": ["planned", "booked"]}, "cutoff_on": {"$lte": until.isoformat()}}
        return [_shipment(d) async for d in self.shipments.find(query, STATE_ONLY)]


def _shipment(document: dict[str, Any]) -> Shipment:
    return Shipment.model_validate({k: v for k, v in document.items() if k not in ("_id", "outbox", "outbox_since")})
