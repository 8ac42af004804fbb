"""Events identity consumes: the partners the platform knows (keys are issued for them alone)."""

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import PartnerChanged, PartnerChangedV1
from ekspora_contracts.topics import MATCHING_PARTNERS
from ekspora_identity.service import IdentityService
from ekspora_identity.store import KnownPartner
from ekspora_kit.consumer import EventRoutes


def build_routes(service: IdentityService) -> list[EventRoutes]:
    partners = EventRoutes(MATCHING_PARTNERS)

    async def on_partner_changed(event: CloudEvent[PartnerChanged | PartnerChangedV1]) -> None:
        data = event.data
        await service.partner_changed(
            KnownPartner(partner_id=data.partner_id, version=data.version, name=data.name, verified=data.verified)
        )

    for changed in (PartnerChanged, PartnerChangedV1):  # v1: records published before v2, still compacted in
        partners.on(changed)(on_partner_changed)
    return [partners]
