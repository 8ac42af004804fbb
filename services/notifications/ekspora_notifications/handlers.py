"""Event handlers: thin. Each consumed event is noted for the digest, queued for the partner
webhooks that subscribed to it, and told to the UMKM owners and partners it concerns."""

import logging
from collections.abc import Awaitable, Callable

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import PartnerChanged
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered
from ekspora_contracts.shipping import OrderCreated, ShipmentPlanned
from ekspora_contracts.topics import (
    MATCHING_MATCH,
    MATCHING_PARTNERS,
    MATCHING_SALES,
    REGISTRY_CONTACTS,
    REGISTRY_MSME,
    REGISTRY_PRODUCT,
    SHIPPING_SHIPMENT,
    Stream,
)
from ekspora_kit.consumer import EventRoutes
from ekspora_kit.metrics import KitMetrics
from ekspora_notifications import domain
from ekspora_notifications.delivery import Notifier
from ekspora_notifications.digest import local_day
from ekspora_notifications.store import DeliveryStore, NotificationsStore
from ekspora_notifications.webhook_delivery import WebhookDispatcher

logger = logging.getLogger(__name__)
REGIONAL_STREAMS = (REGISTRY_MSME, REGISTRY_PRODUCT, MATCHING_MATCH, MATCHING_SALES, SHIPPING_SHIPMENT)


def build_routes(
    store: NotificationsStore,
    deliveries: DeliveryStore,
    notifier: Notifier,
    webhooks: WebhookDispatcher,
    metrics: KitMetrics,
    operator_timezone: str,
) -> list[EventRoutes]:
    async def concerned(event: CloudEvent) -> tuple[list[str], list[str]]:
        """(UMKM ids, partner ids) an event is about; shipments learn theirs from their orders."""
        if isinstance(event.data, ShipmentPlanned):
            await store.remember_plan(event.data.shipment_id, event.model_dump(mode="json"))
        if isinstance(event.data, OrderCreated):
            line = event.data.order
            _, partners_before = await store.shipment_parties(event.data.shipment_id)
            await store.add_party(event.data.shipment_id, line.msme_id, line.partner_id)
            planned = await store.plan(event.data.shipment_id)
            if planned and line.partner_id not in partners_before:  # its webhooks learn the plan first
                await webhooks.enqueue(CloudEvent[ShipmentPlanned].model_validate(planned), [line.partner_id])
        msme_ids, partner_ids = domain.parties(event.data)
        if event.type.startswith("ekspora.shipping.") and not (msme_ids and partner_ids):
            shipment_msmes, shipment_partners = await store.shipment_parties(event.data.shipment_id)
            msme_ids, partner_ids = msme_ids or shipment_msmes, partner_ids or shipment_partners
        return msme_ids, partner_ids

    async def on_any(event: CloudEvent) -> None:
        await store.note_activity(event.id, event.region, event.type, local_day(event.time, operator_timezone))
        msme_ids, partner_ids = await concerned(event)
        await webhooks.enqueue(event, partner_ids)
        for msme_id in msme_ids if notifier.rules.rule(event.type, "owner") else []:
            await notifier.tell_owner(event, msme_id)
        for partner_id in partner_ids if notifier.rules.rule(event.type, "partner") else []:
            await notifier.tell_partner(event, partner_id, msme_ids)

    async def on_msme_registered(event: CloudEvent[MsmeRegistered]) -> None:
        await deliveries.remember_name(event.data.msme_id, event.data.business_name)
        notifications = domain.for_msme_registered(event, notifier.templates, notifier.clock.now())
        duplicates = await store.record(notifications)
        if duplicates:
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc(duplicates)
            logger.info("redelivered %s: %d notification(s) already recorded", event.id, duplicates)
        await on_any(event)

    routes = {stream: _every_event_of(stream, on_any) for stream in REGIONAL_STREAMS}
    routes[REGISTRY_MSME].on(MsmeRegistered)(on_msme_registered)

    contact_events = EventRoutes(REGISTRY_CONTACTS)

    @contact_events.on(MsmeContactChanged)
    async def on_contact_changed(event: CloudEvent[MsmeContactChanged]) -> None:
        if not await store.save_contact(domain.contact_from(event)):
            metrics.duplicates_skipped.labels(metrics.service, event.type).inc()
        await notifier.contact_arrived(event.data.msme_id)

    partner_events = EventRoutes(MATCHING_PARTNERS)

    @partner_events.on(PartnerChanged)
    async def on_partner_changed(event: CloudEvent[PartnerChanged]) -> None:
        await store.save_partner(domain.partner_from(event))

    return [*routes.values(), contact_events, partner_events]


def _every_event_of(stream: Stream, handler: Callable[[CloudEvent], Awaitable[None]]) -> EventRoutes:
    routes = EventRoutes(stream)
    for model in EVENT_TYPES.values():
        if model.stream == stream:
            routes.on(model)(handler)
    return routes
