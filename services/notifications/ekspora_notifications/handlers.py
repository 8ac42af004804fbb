"""Event handlers: thin, they call the domain and store through the store."""

import logging
from datetime import UTC, datetime

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered
from ekspora_contracts.topics import REGISTRY_CONTACTS, REGISTRY_MSME
from ekspora_kit.consumer import EventRoutes
from ekspora_kit.metrics import KitMetrics
from ekspora_notifications import domain
from ekspora_notifications.store import NotificationsStore

logger = logging.getLogger(__name__)


def build_routes(store: NotificationsStore, templates: domain.Templates, metrics: KitMetrics) -> list[EventRoutes]:
    msme_events = EventRoutes(REGISTRY_MSME)
    contact_events = EventRoutes(REGISTRY_CONTACTS)

    @msme_events.on(MsmeRegistered)
    async def on_msme_registered(event: CloudEvent[MsmeRegistered]) -> None:
        notifications = domain.for_msme_registered(event, templates, datetime.now(UTC))
        duplicates = await store.record(notifications)
        if duplicates:
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc(duplicates)
            logger.info("redelivered %s: %d notification(s) already recorded", event.id, duplicates)

    @contact_events.on(MsmeContactChanged)
    async def on_contact_changed(event: CloudEvent[MsmeContactChanged]) -> None:
        if not await store.save_contact(domain.contact_from(event)):
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc()

    return [msme_events, contact_events]
