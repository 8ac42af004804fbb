"""Events matching consumes: products on offer, partners and demand (global), sales feedback,
owners' own answers to proposals, and the lanes shipping serves (global)."""

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import DemandChanged, PartnerChanged, PartnerChangedV1, SalesReported
from ekspora_contracts.notifications import ProposalAnswered
from ekspora_contracts.registry import (
    ProductAssessed,
    ProductDelisted,
    ProductExportReadinessLost,
    ProductExportReady,
    ProductListed,
    ProductUpdated,
)
from ekspora_contracts.shipping import LaneChanged
from ekspora_contracts.topics import (
    MATCHING_DEMAND,
    MATCHING_PARTNERS,
    MATCHING_SALES,
    NOTIFICATIONS_REPLIES,
    REGISTRY_PRODUCT,
    SHIPPING_LANES,
)
from ekspora_kit.consumer import EventRoutes
from ekspora_matching import domain
from ekspora_matching.service import MatchingService


def build_routes(service: MatchingService, region: str) -> list[EventRoutes]:
    products, partners, demand, sales, replies, lanes = (
        EventRoutes(s)
        for s in (
            REGISTRY_PRODUCT,
            MATCHING_PARTNERS,
            MATCHING_DEMAND,
            MATCHING_SALES,
            NOTIFICATIONS_REPLIES,
            SHIPPING_LANES,
        )
    )

    @products.on(ProductListed)
    async def on_listed(event: CloudEvent[ProductListed]) -> None:
        await service.offer_changed(event.data.product, region, ready=None, score=None, causation_id=event.id)

    @products.on(ProductUpdated)
    async def on_updated(event: CloudEvent[ProductUpdated]) -> None:
        await service.offer_changed(event.data.product, region, ready=None, score=None, causation_id=event.id)

    @products.on(ProductExportReady)
    async def on_ready(event: CloudEvent[ProductExportReady]) -> None:
        await service.offer_changed(
            event.data.product, region, ready=True, score=event.data.score, causation_id=event.id
        )

    @products.on(ProductExportReadinessLost)
    async def on_lost(event: CloudEvent[ProductExportReadinessLost]) -> None:
        why = "; ".join(event.data.reasons)
        await service.offer_withdrawn(
            event.data.product_id,
            f"the product is no longer export-ready ({why})",
            "produk tidak lagi siap ekspor",
        )

    @products.on(ProductAssessed)
    async def on_assessed(event: CloudEvent[ProductAssessed]) -> None:
        await service.product_assessed(event, region)

    @products.on(ProductDelisted)
    async def on_delisted(event: CloudEvent[ProductDelisted]) -> None:
        await service.offer_withdrawn(
            event.data.product_id,
            f"the product was delisted ({event.data.reason})",
            f"produk ditarik dari katalog ({event.data.reason})",
        )

    async def on_partner(event: CloudEvent[PartnerChanged | PartnerChangedV1]) -> None:
        await service.partner_changed(event, region)

    for changed in (PartnerChanged, PartnerChangedV1):  # v1: records published before v2, still compacted in
        partners.on(changed)(on_partner)

    @demand.on(DemandChanged)
    async def on_demand(event: CloudEvent[DemandChanged]) -> None:
        await service.demand_changed(event, region)

    @sales.on(SalesReported)
    async def on_sales(event: CloudEvent[SalesReported]) -> None:
        await service.sales_reported(event, region)

    @replies.on(ProposalAnswered)
    async def on_answered(event: CloudEvent[ProposalAnswered]) -> None:
        await service.owner_answered(event.data)

    @lanes.on(LaneChanged)
    async def on_lane(event: CloudEvent[LaneChanged]) -> None:
        await service.lane_changed(domain.Lane.of(event.data))

    return [products, partners, demand, sales, replies, lanes]
