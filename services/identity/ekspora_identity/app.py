"""Wiring: the one place where identity's dependencies are built and connected."""

from fastapi import FastAPI

from ekspora_identity.accounts import Accounts
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
        token_ttl=settings.token_ttl(),
        signing_key_pem=settings.signing_key_pem,
    )
    runtime.relay_outboxes_of([store.credentials, store.signing_keys, store.people.collection])
    for routes in build_routes(service):
        runtime.consume(routes)

    async def prepare() -> None:
        await store.ensure_indexes()
        await service.prepare_signing_key()

    return create_http_app(
        runtime,
        title="Ekspora identity",
        description="Partners' API keys, people's accounts and sign-in, and the access tokens every service"
        " verifies with identity's public key.",
        routers=ROUTERS,
        state={
            "identity": service,
            "accounts": Accounts(store, service, sign_in_lasts=settings.sign_in_lasts()),
            "partner_by_id": store.partner,
        },
        on_startup=prepare,
    )
