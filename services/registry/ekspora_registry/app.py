"""Wiring: the one place where the registry's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_kit.settings import ServiceSettings
from ekspora_registry.api import build_router
from ekspora_registry.store import RegistryStore


def create_app(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = RegistryStore(runtime.db)
    runtime.relay_outboxes_of([store.msmes])
    return create_http_app(
        runtime,
        title="Ekspora registry",
        description="UMKM (MSME) registry for export readiness, per region.",
        routers=[build_router(store, runtime)],
        on_startup=store.ensure_indexes,
    )
