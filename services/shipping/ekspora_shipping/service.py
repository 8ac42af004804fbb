"""Shipping's use cases: orders from confirmed matches, document and status changes, carrier updates."""

import logging
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from ekspora_contracts.envelope import CloudEvent, EventData
from ekspora_contracts.matching import MatchConfirmed, PartnerChanged, PartnerChangedV1
from ekspora_contracts.registry import SupplierChanged
from ekspora_contracts.shipping import LaneChanged as ContractLane
from ekspora_kit import aggregates
from ekspora_kit.clock import Clock
from ekspora_kit.domain import NotFound
from ekspora_kit.events import envelopes
from ekspora_shipping import domain, papers
from ekspora_shipping.policy import Lanes, Tracking
from ekspora_shipping.store import ShippingStore

logger = logging.getLogger(__name__)
# the shipment holding an order, else the lane's open shipments and the id of its next new one
Found = tuple[domain.Shipment | None, list[domain.Shipment], str]


class ShippingService:
    def __init__(
        self,
        store: ShippingStore,
        *,
        lanes: Lanes,
        tracking: Tracking,
        exporters: papers.Exporters,
        paper_rules: papers.PaperRules,
        clock: Clock,
    ) -> None:
        self.store = store
        self.lanes = lanes
        self.tracking = tracking
        self.exporters = exporters
        self.paper_rules = paper_rules
        self.clock = clock

    def _envelopes(self, events: list[EventData], region: str, causation_id: str | None) -> list[CloudEvent]:
        return envelopes(events, region=region, producer="shipping", time=self.clock.now(), causation_id=causation_id)

    async def announce_lanes(self) -> int:
        """Publishes the lane table's destinations (on start), so matching plans production to the lanes'
        schedules and refuses requests for a destination no lane reaches."""
        cities = {*self.lanes.destinations, *await self.store.announced_cities()}
        return sum([await self._announce(city) for city in sorted(cities)])

    async def _announce(self, city: str) -> bool:
        async def save(before: domain.PublishedLane | None, lane: ContractLane) -> bool:
            return await self.store.announce_lane(before, lane, self._envelopes([lane], "global", None))

        _, saved = await aggregates.change(
            lambda: self.store.published_lane(city),
            lambda before: domain.lane_announcement(city, self.lanes, before.announced if before else None),
            save,
            what=f"the lane to {city}",
        )
        return bool(saved)

    async def match_confirmed(self, event: CloudEvent[MatchConfirmed]) -> domain.Shipment:
        """Exactly one order per confirmed match: a redelivery finds the order and does nothing."""
        terms = event.data.terms
        mode = domain.mode_for(terms, self.lanes)
        destination = self.lanes.destinations.get(terms.destination_city)
        port = (destination.port if mode == "sea_lcl" else destination.airport) if destination else ""

        async def load() -> Found:
            if holding := await self.store.holding_order(domain.order_id_for(terms.match_id)):
                return holding, [], ""
            departure, _ = domain.schedule(mode, self.lanes, self.clock.now().date())
            planned = await self.store.planned_for(terms.region, port, mode, departure)
            new_id = domain.planned_shipment_id(terms.region, port, mode, departure, planned)
            return None, await self.store.open_for(terms.region, port, mode), new_id

        def place(found: Found) -> domain.Change | None:
            holding, open_shipments, new_id = found
            if holding:
                return None
            return domain.place_order(terms, open_shipments, self.lanes, self.clock.now(), new_id)

        async def save(found: Found, change: domain.Change) -> domain.Shipment:
            before = next((s for s in found[1] if s.shipment_id == change.shipment.shipment_id), None)
            events = self._envelopes(change.events, terms.region, event.id)
            saved = await self.store.save(change.shipment, before.version if before else None, events)
            logger.info("order for %s: %s", terms.match_id, change.note)
            return saved

        (holding, _, _), placed = await aggregates.change(load, place, save, what=f"the order of {terms.match_id}")
        shipment = holding or placed
        assert shipment is not None  # an order is either held already or placed now
        return shipment

    async def change(
        self, shipment_id: str, operation: Callable[[domain.Shipment], domain.Change | None]
    ) -> tuple[domain.Shipment, str]:
        async def load() -> domain.Shipment:
            if (shipment := await self.store.get(shipment_id)) is None:
                raise NotFound(f"no shipment {shipment_id}")
            return shipment

        async def save(shipment: domain.Shipment, change: domain.Change) -> tuple[domain.Shipment, str]:
            if change.shipment == shipment:  # nothing to store, but the reason is worth telling
                return shipment, change.note
            events = self._envelopes(change.events, shipment.region, None)
            return await self.store.save(change.shipment, shipment.version, events), change.note

        current, saved = await aggregates.change(load, operation, save, what=f"shipment {shipment_id}")
        return saved or (current, "")

    async def remind_missing_documents(self) -> int:
        """Checks shipments whose cutoff is near; returns how many were checked."""
        today = self.clock.now().date()
        due = await self.store.before_cutoff(today + timedelta(days=self.lanes.reminder_days_before_cutoff))
        for shipment in due:
            await self.change(shipment.shipment_id, lambda s: domain.remind_missing_documents(s, self.lanes, today))
        return len(due)

    async def supplier_changed(self, event: CloudEvent[SupplierChanged]) -> None:
        data = event.data
        version = int(event.time.timestamp() * 1_000_000)  # the newest record wins, whatever the order heard
        await self.store.save_supplier(papers.Supplier(version=version, **data.model_dump(exclude={"region"})))

    async def partner_changed(self, event: CloudEvent[PartnerChanged] | CloudEvent[PartnerChangedV1]) -> None:
        data = event.data
        address = data.address if isinstance(data, PartnerChanged) else None
        await self.store.save_buyer(
            papers.Buyer(
                partner_id=data.partner_id,
                version=data.version,
                name=data.name,
                city=data.city,
                country=data.country,
                address=address,
            )
        )

    async def papers_of(self, shipment: domain.Shipment, order_id: str) -> papers.Papers:
        """The invoice and packing list covering an order, numbered once the shipment is booked."""
        key = papers.invoice_key(shipment, order_id, self.exporters)
        if key is None:
            raise NotFound(f"no order {order_id} in {shipment.shipment_id}")
        number: str | None = None
        issued_on: date | None = None
        if shipment.status != "planned":
            zone = ZoneInfo(self.exporters.of(shipment.region).timezone)
            series = papers.series_of(shipment, key, self.exporters)
            today = self.clock.now().astimezone(zone).date()
            number, issued_on = await self.store.claim_invoice_number(series, key, today)
        orders = papers.buyer_keys(shipment, self.exporters)[key]
        return papers.compose(
            shipment,
            key,
            exporters=self.exporters,
            rules=self.paper_rules,
            lanes=self.lanes,
            suppliers=await self.store.suppliers_of(sorted({o.line.msme_id for o in orders})),
            buyer=await self.store.buyer(orders[0].line.partner_id),
            number=number,
            issued_on=issued_on,
        )
