"""Event handlers: thin, they decide who is told and hand over to the domain and the notifier."""

import logging
from datetime import UTC, datetime

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import MatchProposed
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered, ReadinessAssessed
from ekspora_contracts.shipping import ShipmentDocumentsMissing
from ekspora_contracts.topics import MATCHING_MATCH, REGISTRY_CONTACTS, REGISTRY_MSME, SHIPPING_SHIPMENT
from ekspora_kit.consumer import EventRoutes
from ekspora_kit.metrics import KitMetrics
from ekspora_notifications import domain
from ekspora_notifications.delivery import OwnerNotifier
from ekspora_notifications.store import DeliveryStore, NotificationsStore

logger = logging.getLogger(__name__)


def build_routes(
    store: NotificationsStore,
    deliveries: DeliveryStore,
    templates: domain.Templates,
    notifier: OwnerNotifier,
    metrics: KitMetrics,
) -> list[EventRoutes]:
    msme_events = EventRoutes(REGISTRY_MSME)
    contact_events = EventRoutes(REGISTRY_CONTACTS)
    match_events = EventRoutes(MATCHING_MATCH)
    shipment_events = EventRoutes(SHIPPING_SHIPMENT)

    @msme_events.on(MsmeRegistered)
    async def on_msme_registered(event: CloudEvent[MsmeRegistered]) -> None:
        await deliveries.remember_name(event.data.msme_id, event.data.business_name)
        notifications = domain.for_msme_registered(event, templates, datetime.now(UTC))
        duplicates = await store.record(notifications)
        if duplicates:
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc(duplicates)
            logger.info("redelivered %s: %d notification(s) already recorded", event.id, duplicates)

    @msme_events.on(ReadinessAssessed)
    async def on_readiness_assessed(event: CloudEvent[ReadinessAssessed]) -> None:
        await notifier.tell_owner(event, event.data.msme_id)

    @contact_events.on(MsmeContactChanged)
    async def on_contact_changed(event: CloudEvent[MsmeContactChanged]) -> None:
        if not await store.save_contact(domain.contact_from(event)):
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc()
        await notifier.contact_arrived(event.data.msme_id)

    @match_events.on(MatchProposed)
    async def on_match_proposed(event: CloudEvent[MatchProposed]) -> None:
        await notifier.tell_owner(event, event.data.terms.msme_id)

    @shipment_events.on(ShipmentDocumentsMissing)
    async def on_documents_missing(event: CloudEvent[ShipmentDocumentsMissing]) -> None:
        for msme_id in event.data.msme_ids:
            await notifier.tell_owner(event, msme_id)

    return [msme_events, contact_events, match_events, shipment_events]
