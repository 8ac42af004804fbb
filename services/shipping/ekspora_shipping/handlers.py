"""Events shipping consumes: every confirmed match becomes one export order."""

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import MatchConfirmed, PartnerChanged
from ekspora_contracts.topics import MATCHING_MATCH, MATCHING_PARTNERS
from ekspora_kit.consumer import EventRoutes, PermanentFailure
from ekspora_shipping.domain import DomainError
from ekspora_shipping.service import ShippingService


def build_routes(service: ShippingService) -> list[EventRoutes]:
    matches = EventRoutes(MATCHING_MATCH)

    @matches.on(MatchConfirmed)
    async def on_match_confirmed(event: CloudEvent[MatchConfirmed]) -> None:
        try:
            await service.match_confirmed(event)
        except DomainError as error:  # e.g. no lane to the destination: fix the data, then replay
            raise PermanentFailure(str(error)) from error

    partners = EventRoutes(MATCHING_PARTNERS)

    @partners.on(PartnerChanged)
    async def on_partner_changed(event: CloudEvent[PartnerChanged]) -> None:
        """Partners read their incoming orders with the API key matching issued them."""
        await service.store.keep_partner_key(event.data.partner_id, event.data.version, event.data.api_key_sha256)

    return [matches, partners]
