"""Events shipping consumes: every confirmed match becomes one export order."""

from typing import Any

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import MatchConfirmed
from ekspora_contracts.topics import MATCHING_MATCH
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

    return [matches]
