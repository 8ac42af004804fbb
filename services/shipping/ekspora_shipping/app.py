"""Wiring: the one place where the shipping service's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_kit.files import FileStore
from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_shipping.api import ROUTERS
from ekspora_shipping.api.deps import Operations
from ekspora_shipping.handlers import build_routes
from ekspora_shipping.papers import load_exporters, load_paper_rules
from ekspora_shipping.policy import load_lanes, load_tracking
from ekspora_shipping.service import ShippingService
from ekspora_shipping.settings import ShippingSettings
from ekspora_shipping.store import ShippingStore


async def partner_itself(partner_id: str) -> str:
    """Shipping knows a partner by the id in its token: its orders carry that id, nothing more."""
    return partner_id


async def starting(store: ShippingStore, service: ShippingService) -> None:
    await store.ensure_indexes()
    await service.announce_lanes()


def create_app(settings: ShippingSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = ShippingStore(runtime.db)
    tracking = load_tracking()
    service = ShippingService(
        store,
        lanes=load_lanes(),
        tracking=tracking,
        exporters=load_exporters(settings.exporters_file),
        paper_rules=load_paper_rules(),
        clock=runtime.clock,
    )
    runtime.relay_outboxes_of([store.shipments, store.lanes])
    runtime.count_states(
        store.shipments,
        name="ekspora_shipments",
        documentation="Shipments per tracking status",
        region="region",
        state="status",
        label="status",
        states=tracking.states,
    )
    for routes in build_routes(service):
        runtime.consume(routes)
    runtime.every("document-reminders", settings.reminder_check_seconds, service.remind_missing_documents)
    return create_http_app(
        runtime,
        title="Ekspora shipping",
        description="Export orders, consolidated shipments, their documents, and tracking to delivery.",
        routers=ROUTERS,
        state={
            "operations": Operations(service, store, settings, FileStore(runtime.db, bucket="documents")),
            "partner_by_id": partner_itself,
        },
        on_startup=lambda: starting(store, service),
    )
