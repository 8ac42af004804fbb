"""Event handlers: thin. Every event of the regional streams, and the contacts and partners that
the messages need, go to the service's use cases."""

from collections.abc import Awaitable, Callable

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.matching import PartnerChanged, PartnerChangedV1
from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered, MsmeRegisteredV1
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
from ekspora_notifications.service import NotificationsService

REGIONAL_STREAMS = (REGISTRY_MSME, REGISTRY_PRODUCT, MATCHING_MATCH, MATCHING_SALES, SHIPPING_SHIPMENT)


def build_routes(service: NotificationsService) -> list[EventRoutes]:
    routes = {stream: _every_event_of(stream, service.happened) for stream in REGIONAL_STREAMS}
    for registered in (MsmeRegistered, MsmeRegisteredV1):  # v1: records published before v2, still on the topic
        routes[REGISTRY_MSME].on(registered)(service.msme_registered)
    contact_events = EventRoutes(REGISTRY_CONTACTS)
    contact_events.on(MsmeContactChanged)(service.contact_changed)
    partner_events = EventRoutes(MATCHING_PARTNERS)
    for changed in (PartnerChanged, PartnerChangedV1):  # v1: records published before v2, still compacted in
        partner_events.on(changed)(service.partner_changed)
    return [*routes.values(), contact_events, partner_events]


def _every_event_of(stream: Stream, handler: Callable[[CloudEvent], Awaitable[None]]) -> EventRoutes:
    routes = EventRoutes(stream)
    for model in EVENT_TYPES.values():
        if model.stream == stream:
            routes.on(model)(handler)
    return routes
