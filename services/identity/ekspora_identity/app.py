"""Wiring: the one place where identity's dependencies are built and connected."""

from datetime import timedelta

from fastapi import FastAPI

from ekspora_identity.api import ROUTERS
from ekspora_identity.handlers import build_routes
from ekspora_identity.service import IdentityService
from ekspora_identity.settings import IdentitySettings
from ekspora_identity.store import IdentityStore
from ekspora_kit.http import create_http_app
from ekspora_kit.runtime import ServiceRuntime


def create_app(settings: IdentitySettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = IdentityStore(runtime.db)
    service = IdentityService(
        store,
        clock=runtime.clock,
        token_ttl=timedelta(seconds=settings.token_ttl_seconds),
        signing_key_pem=settings.signing_key_pem,
    )
    runtime.relay_outboxes_of([store.credentials, store.signing_keys])
    for routes in build_routes(service):
        runtime.consume(routes)

    async def prepare() -> None:
        await store.ensure_indexes()
        await service.prepare_signing_key()

    return create_http_app(
        runtime,
        title="Ekspora identity",
        description="Partners' API keys, and the access tokens every service verifies with identity's public key.",
        routers=ROUTERS,
        state={"identity": service, "partner_by_id": store.partner},
        on_startup=prepare,
    )
