"""HTTP API for operators: thin, it validates, calls the domain, and stores through the store."""

from datetime import UTC, datetime
from uuid import uuid4

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ekspora_contracts.envelope import new_event
from ekspora_kit.http import Conflict, NotFound, Unprocessable
from ekspora_kit.logs import correlation_id
from ekspora_kit.runtime import ServiceRuntime
from ekspora_registry import domain
from ekspora_registry.store import DuplicateNib, RegistryStore


class MsmePage(BaseModel):
    items: list[domain.Msme]
    total: int
    page: int
    page_size: int


def build_router(store: RegistryStore, runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/msmes", tags=["UMKM"])
    served = set(runtime.settings.regions)

    def check_served(region: str) -> None:
        if region not in served:
            raise Unprocessable(
                f"region {region} is not served by this instance ({', '.join(sorted(served))})", field="region"
            )

    @router.post(
        "", status_code=201, response_model=domain.Msme, responses={409: {"description": "NIB already registered"}}
    )
    async def register_msme(command: domain.RegisterMsme) -> domain.Msme:
        check_served(command.region)
        msme, changes = domain.register(command, f"msme-{uuid4().hex[:12]}", datetime.now(UTC))
        request_id = correlation_id.get() or str(uuid4())
        events = [
            new_event(change, region=msme.region, producer="registry", correlation_id=request_id) for change in changes
        ]
        try:
            await store.add(msme, events)
        except DuplicateNib:
            raise Conflict(f"an UMKM with NIB {command.nib} is already registered", field="nib") from None
        runtime.wake_relay()
        return msme

    @router.get("/{msme_id}", response_model=domain.Msme, responses={404: {"description": "Unknown UMKM"}})
    async def get_msme(msme_id: str) -> domain.Msme:
        msme = await store.get(msme_id)
        if msme is None:
            raise NotFound(f"no UMKM with id {msme_id}")
        return msme

    @router.get("", response_model=MsmePage)
    async def list_msmes(
        region: str = Query(pattern=r"^[a-z][a-z0-9-]{1,40}$"),
        page: int = Query(default=1, ge=1),
        page_size: int = Query(default=50, ge=1, le=200),
    ) -> MsmePage:
        check_served(region)
        items, total = await store.list(region, (page - 1) * page_size, page_size)
        return MsmePage(items=items, total=total, page=page, page_size=page_size)

    return router
