"""Events shipping consumes: every confirmed match becomes one export order; the registry's suppliers
and matching's partners name the parties on the export papers."""

from typing import Any

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import MatchConfirmed, PartnerChanged, PartnerChangedV1
from ekspora_contracts.registry import SupplierChanged
from ekspora_contracts.topics import MATCHING_MATCH, MATCHING_PARTNERS, REGISTRY_SUPPLIERS
from ekspora_kit.consumer import EventRoutes, PermanentFailure
from ekspora_shipping.domain import DomainError
from ekspora_shipping.service import ShippingService


def build_routes(service: ShippingService) -> list[EventRoutes]:
    def port_of(raw: dict[str, Any]) -> str:
        """Orders to one port join its open shipment: they are worked one after another, and
        orders to other ports at the same time."""
        city = raw["data"]["terms"]["destination_city"]
        destination = service.lanes.destinations.get(city)
        return destination.port if destination else city

    matches = EventRoutes(MATCHING_MATCH, contended_by=port_of)

    @matches.on(MatchConfirmed)
    async def on_match_confirmed(event: CloudEvent[MatchConfirmed]) -> None:
        try:
            await service.match_confirmed(event)
        except DomainError as error:  # e.g. no lane to the destination: fix the data, then replay
            raise PermanentFailure(str(error)) from error

    suppliers = EventRoutes(REGISTRY_SUPPLIERS)
    suppliers.on(SupplierChanged)(service.supplier_changed)
    partners = EventRoutes(MATCHING_PARTNERS)
    for changed in (PartnerChanged, PartnerChangedV1):  # v1: records published before v2, still compacted in
        partners.on(changed)(service.partner_changed)
    return [matches, suppliers, partners]
