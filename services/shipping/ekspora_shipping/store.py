"""Every database call of the shipping service lives here. One document per consolidated shipment."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.shipping import LaneChanged
from ekspora_kit.aggregates import VersionedStore
from ekspora_shipping.domain import PublishedLane, Shipment

OPEN_BEFORE_CUTOFF = ("planned", "booked")


def query_fields(shipment: Shipment) -> dict[str, Any]:
    """What shipping selects shipments by, at the top level of their documents (see ekspora_kit.scans)."""
    lines = [order.line for order in shipment.orders]
    return {
        "order_ids": [line.order_id for line in lines],
        "msme_ids": sorted({line.msme_id for line in lines}),
        "partner_ids": sorted({line.partner_id for line in lines}),
    }


class ShippingStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.shipments = db["shipments"]
        self.aggregates = VersionedStore(self.shipments, Shipment, derive=query_fields)
        self.lanes = db["lanes"]
        self.published_lanes = VersionedStore(self.lanes, PublishedLane)

    async def ensure_indexes(self) -> None:
        await self.shipments.create_index("order_ids")
        await self.shipments.create_index("msme_ids")
        await self.shipments.create_index("partner_ids")
        await self.shipments.create_index([("region", 1), ("status", 1), ("destination_port", 1), ("mode", 1)])
        await self.shipments.create_index([("status", 1), ("cutoff_on", 1)])
        await self.shipments.create_index([("region", 1), ("destination_port", 1), ("mode", 1), ("departure_on", 1)])

    async def announced_cities(self) -> list[str]:
        cursor = self.lanes.find({}, {"_id": 1}, comment="scan: the destinations shipping serves (a handful)")
        return [document["_id"] async for document in cursor]

    async def published_lane(self, city: str) -> PublishedLane | None:
        return await self.published_lanes.get(city)

    async def announce_lane(
        self, before: PublishedLane | None, lane: LaneChanged, events: Sequence[CloudEvent]
    ) -> bool:
        published = PublishedLane(destination_city=lane.destination_city, announced=lane)
        await self.published_lanes.save(lane.destination_city, published, before.version if before else None, events)
        return True

    async def save(self, shipment: Shipment, expected_version: int | None, events: Sequence[CloudEvent]) -> Shipment:
        return await self.aggregates.save(shipment.shipment_id, shipment, expected_version, events)

    async def get(self, shipment_id: str) -> Shipment | None:
        return await self.aggregates.get(shipment_id)

    async def holding_order(self, order_id: str) -> Shipment | None:
        document = await self.shipments.find_one({"order_ids": order_id})
        return self.aggregates.parse(document) if document else None

    async def open_for(self, region: str, port: str, mode: str) -> list[Shipment]:
        query = {"region": region, "status": "planned", "destination_port": port, "mode": mode}
        return [self.aggregates.parse(d) async for d in self.shipments.find(query)]

    async def planned_for(self, region: str, port: str, mode: str, departure: date) -> int:
        """How many shipments the lane has, in any state, for that departure."""
        query = {"region": region, "destination_port": port, "mode": mode, "departure_on": departure.isoformat()}
        return await self.shipments.count_documents(query)

    async def where(self, query: dict[str, Any], limit: int = 500) -> list[Shipment]:
        cursor = self.shipments.find(query).sort("departure_on", 1).limit(limit)
        return [self.aggregates.parse(document) async for document in cursor]

    async def before_cutoff(self, until: date) -> list[Shipment]:
        found = []
        for status in OPEN_BEFORE_CUTOFF:
            query = {"status": status, "cutoff_on": {"$lte": until.isoformat()}}
            found += [self.aggregates.parse(d) async for d in self.shipments.find(query)]
        return found
