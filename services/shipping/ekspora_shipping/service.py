"""Shipping's use cases: orders from confirmed matches, document and status changes, carrier updates."""

import logging
from collections.abc import Callable
from datetime import timedelta
from uuid import uuid4

from ekspora_contracts.envelope import CloudEvent, EventData
from ekspora_contracts.matching import MatchConfirmed
from ekspora_kit.clock import Clock
from ekspora_kit.domain import Busy
from ekspora_kit.events import envelopes
from ekspora_shipping import domain
from ekspora_shipping.config import Lanes, Tracking
from ekspora_shipping.store import ShippingStore, VersionConflict

logger = logging.getLogger(__name__)
SAVE_ATTEMPTS = 5


class ShippingService:
    def __init__(
        self, store: ShippingStore, *, lanes: Lanes, tracking: Tracking, clock: Clock, on_saved: Callable[[], None]
    ) -> None:
        self.store = store
        self.lanes = lanes
        self.tracking = tracking
        self.clock = clock
        self.on_saved = on_saved

    def _envelopes(self, events: list[EventData], region: str, causation_id: str | None) -> list[CloudEvent]:
        return envelopes(events, region=region, producer="shipping", time=self.clock.now(), causation_id=causation_id)

    async def match_confirmed(self, event: CloudEvent[MatchConfirmed]) -> domain.Shipment:
        """Exactly one order per confirmed match: a redelivery finds the order and does nothing."""
        terms = event.data.terms
        for _ in range(SAVE_ATTEMPTS):
            if existing := await self.store.holding_order(domain.order_id_for(terms.match_id)):
                return existing
            mode = domain.mode_for(terms, self.lanes)
            destination = self.lanes.destinations.get(terms.destination_city)
            port = (destination.port if mode == "sea_lcl" else destination.airport) if destination else ""
            open_shipments = await self.store.open_for(terms.region, port, mode)
            change = domain.place_order(terms, open_shipments, self.lanes, self.clock.now(), f"shp-{uuid4().hex[:10]}")
            before = next((s for s in open_shipments if s.shipment_id == change.shipment.shipment_id), None)
            try:
                await self.store.save(
                    change.shipment,
                    before.version if before else None,
                    self._envelopes(change.events, terms.region, event.id),
                )
            except VersionConflict:
                continue
            logger.info("order for %s: %s", terms.match_id, change.note)
            self.on_saved()
            return change.shipment
        raise Busy(f"could not place the order of {terms.match_id}")

    async def change(
        self, shipment_id: str, operation: Callable[[domain.Shipment], domain.Change | None]
    ) -> tuple[domain.Shipment, str]:
        for _ in range(SAVE_ATTEMPTS):
            shipment = await self.store.get(shipment_id)
            if shipment is None:
                raise LookupError(f"no shipment {shipment_id}")
            change = operation(shipment)
            if change is None or change.shipment == shipment:
                return shipment, change.note if change else ""
            try:
                await self.store.save(
                    change.shipment, shipment.version, self._envelopes(change.events, shipment.region, None)
                )
            except VersionConflict:
                continue
            self.on_saved()
            return change.shipment, change.note
        raise Busy(f"shipment {shipment_id} is being changed by others; try again")

    async def remind_missing_documents(self) -> int:
        """Checks shipments whose cutoff is near; returns how many were checked."""
        today = self.clock.now().date()
        due = await self.store.before_cutoff(today + timedelta(days=self.lanes.reminder_days_before_cutoff))
        for shipment in due:
            await self.change(shipment.shipment_id, lambda s: domain.remind_missing_documents(s, self.lanes, today))
        return len(due)
