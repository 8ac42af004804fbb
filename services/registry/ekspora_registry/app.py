"""Wiring: the one place where the registry's dependencies are built and connected."""

from typing import get_args

from fastapi import FastAPI

from ekspora_contracts.registry import Tier
from ekspora_kit.files import FileStore
from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime
from ekspora_registry.api import ROUTERS
from ekspora_registry.api.deps import Operations
from ekspora_registry.handlers import build_routes
from ekspora_registry.marketplace import load_marketplaces
from ekspora_registry.policy import load_rubric
from ekspora_registry.service import RegistryService
from ekspora_registry.settings import RegistrySettings
from ekspora_registry.store import RegistryStore


def create_app(settings: RegistrySettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = RegistryStore(runtime.db)
    rubric = load_rubric()
    service = RegistryService(store, rubric, runtime.clock)
    runtime.relay_outboxes_of([store.msmes])
    for routes in build_routes(service):
        runtime.consume(routes)
    runtime.keep(
        store.funnel_tally,
        gauge="ekspora_umkm",
        documentation="UMKM per readiness tier",
        label="tier",
        steps=get_args(Tier),
    )
    # expiries and the warnings before them
    runtime.every("certificate-expiry", settings.expiry_check_seconds, service.expire_due_certificates)
    runtime.every("relisting", settings.relist_check_seconds, service.relist_behind)
    return create_http_app(
        runtime,
        title="Ekspora registry",
        description="UMKM, their products, export-readiness tiers and incubation, per region.",
        routers=ROUTERS,
        state={
            "operations": Operations(
                service,
                store,
                rubric,
                settings.regions,
                FileStore(runtime.db, bucket="evidence"),
                settings.evidence_max_bytes,
                load_marketplaces(),
                settings.sales_file_max_bytes,
            )
        },
        on_startup=lambda: store.ready(settings.regions),
    )
