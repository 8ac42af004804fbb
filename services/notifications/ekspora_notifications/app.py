"""Wiring: the one place where the notifications service's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_kit.settings import ServiceSettings
from ekspora_notifications.api import build_router
from ekspora_notifications.domain import Templates
from ekspora_notifications.handlers import build_routes
from ekspora_notifications.store import NotificationsStore


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = NotificationsStore(runtime.db)
    for routes in build_routes(store, Templates(), runtime.metrics):
        runtime.consume(routes)
    return create_http_app(
        runtime,
        title="Ekspora notifications",
        description="Tells UMKM owners, partners and operators what happened.",
        routers=[build_router(store)],
        on_startup=store.ensure_indexes,
    )
