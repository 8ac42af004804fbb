"""Events the registry consumes: partners' sales feedback feeds the track record and readiness; the
demand matching finds behind each gap orders the next steps."""

import logging

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import OpportunitiesChanged, SalesReported
from ekspora_contracts.topics import MATCHING_OPPORTUNITIES, MATCHING_SALES
from ekspora_kit.consumer import EventRoutes, PermanentFailure
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_registry import domain
from ekspora_registry.service import RegistryService

logger = logging.getLogger(__name__)


def build_routes(service: RegistryService) -> list[EventRoutes]:
    sales = EventRoutes(MATCHING_SALES)

    @sales.on(SalesReported)
    async def on_sales_reported(event: CloudEvent[SalesReported]) -> None:
        report = event.data
        try:
            await service.change(
                report.msme_id,
                lambda msme, now: domain.record_sales(msme, report, now, service.rubric),
                causation_id=event.id,
            )
        except NotFound as error:
            raise PermanentFailure(str(error)) from error

    opportunities = EventRoutes(MATCHING_OPPORTUNITIES)

    @opportunities.on(OpportunitiesChanged)
    async def on_opportunities(event: CloudEvent[OpportunitiesChanged]) -> None:
        changed = event.data
        try:
            await service.change(
                changed.msme_id,
                lambda msme, now: domain.record_opportunities(msme, changed, event.time, now, service.rubric),
                causation_id=event.id,
            )
        except (NotFound, NotAllowed) as gone:  # withdrawn, or never here: no next steps left to order
            logger.info("opportunities of %s left aside: %s", changed.product_id, gone)

    return [sales, opportunities]
