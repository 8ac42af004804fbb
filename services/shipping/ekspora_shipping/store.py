"""Every database call of the shipping service lives here. One document per consolidated shipment."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.shipping import LaneChanged
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.documents import keep_newest
from ekspora_shipping.domain import PublishedLane, Shipment
from ekspora_shipping.papers import Buyer, Supplier

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
        self.suppliers = db["suppliers"]
        self.buyers = db["buyers"]
        self.invoice_numbers = db["invoice_numbers"]

    async def ensure_indexes(self) -> None:
        await self.shipments.create_index("order_ids")
        await self.shipments.create_index("msme_ids")
        await self.shipments.create_index("partner_ids")
        await self.shipments.create_index([("region", 1), ("status", 1), ("destination_port", 1), ("mode", 1)])
        await self.shipments.create_index([("status", 1), ("cutoff_on", 1)])
        await self.shipments.create_index([("region", 1), ("destination_port", 1), ("mode", 1), ("departure_on", 1)])
        await self.invoice_numbers.create_index("invoice_key", unique=True)
        await self.invoice_numbers.create_index([("series", 1), ("year", 1), ("sequence", -1)])

    async def save_supplier(self, supplier: Supplier) -> bool:
        return await keep_newest(self.suppliers, supplier.msme_id, supplier.model_dump())

    async def save_buyer(self, buyer: Buyer) -> bool:
        return await keep_newest(self.buyers, buyer.partner_id, buyer.model_dump())

    async def suppliers_of(self, msme_ids: list[str]) -> dict[str, Supplier]:
        """One read by key each: an invoice names a handful (FerretDB scans for `$in` on `_id`)."""
        found = {}
        for msme_id in msme_ids:
            if document := await self.suppliers.find_one({"_id": msme_id}):
                found[msme_id] = Supplier.model_validate({k: v for k, v in document.items() if k != "_id"})
        return found

    async def buyer(self, partner_id: str) -> Buyer | None:
        document = await self.buyers.find_one({"_id": partner_id})
        return Buyer.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def invoice_number(self, invoice_key: str) -> tuple[str, date] | None:
        document = await self.invoice_numbers.find_one({"invoice_key": invoice_key})
        return (document["_id"], date.fromisoformat(document["issued_on"])) if document else None

    async def claim_invoice_number(self, series: str, invoice_key: str, issued_on: date) -> tuple[str, date]:
        """The invoice's number, claimed once: the next of the series in the year it is issued, without
        gaps (the insert is the claim), and the same one whoever asks again or at the same time."""
        while True:
            if claimed := await self.invoice_number(invoice_key):
                return claimed
            last = await self.invoice_numbers.find_one(
                {"series": series, "year": issued_on.year}, sort=[("sequence", -1)]
            )
            sequence = (last["sequence"] if last else 0) + 1
            number = f"{series}/{issued_on.year}/{sequence:04d}"
            document = {
                "_id": number,
                "series": series,
                "year": issued_on.year,
                "sequence": sequence,
                "invoice_key": invoice_key,
                "issued_on": issued_on.isoformat(),
            }
            try:
                await self.invoice_numbers.insert_one(document)
            except DuplicateKeyError:  # that number was just taken, or this invoice just numbered: look again
                continue
            return number, issued_on

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
