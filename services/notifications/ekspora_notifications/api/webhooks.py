"""Partner webhook subscriptions: endpoints, secrets, the delivery log and replays.

A partner manages its own endpoints with its API key (`ptk_…`); an operator may manage any
partner's. The signing secret is shown once, when the endpoint is made and when it is rotated."""

import secrets as random_source
import uuid
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ekspora_contracts.envelope import Region
from ekspora_kit.auth import Forbidden
from ekspora_kit.domain import NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Moment
from ekspora_notifications import webhooks
from ekspora_notifications.api.deps import Hooks, Who
from ekspora_notifications.webhooks import Endpoint, EndpointSecret

router = APIRouter(prefix="/webhooks", tags=["partner webhooks"])


class NewEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://shop.example.nl/hooks/ekspora"])
    event_types: list[str] = Field(min_length=1, examples=[["ekspora.registry.product.export_ready.v1"]])
    regions: list[Region] = Field(default_factory=list, description="Only these regions' events; empty for all")
    description: str = Field(default="", max_length=500)
    partner_id: str | None = Field(default=None, description="Operators only: the partner it belongs to")


class EndpointChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1)
    regions: list[Region] | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint")


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: float = Field(
        default=86400, ge=0, le=7 * 86400, description="How long the old secret still signs too"
    )


class ReplayRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Moment
    until: Moment | None = None
    only: Literal["failed", "all"] = Field(default="failed", description="failed: failed and skipped ones")


class EndpointView(BaseModel):
    endpoint_id: str
    partner_id: str
    url: str
    event_types: list[str]
    regions: list[str]
    description: str
    enabled: bool
    disabled_reason: str
    failing_since: datetime | None
    created_at: datetime
    signing_secrets: int = Field(description="2 while a rotation's old secret still signs")

    @classmethod
    def of(cls, endpoint: Endpoint, now: datetime) -> "EndpointView":
        fields = endpoint.model_dump(exclude={"secrets"})
        return cls(**fields, signing_secrets=len(endpoint.valid_secrets(now)))


class EndpointWithSecret(EndpointView):
    secret: str = Field(description="Shown only now: keep it to verify the webhook-signature header")


def fresh_secret() -> str:
    return webhooks.new_secret(random_source.token_bytes(32))


@router.get("/event-types", summary="The event types partner systems may subscribe to")
async def event_types(ops: Hooks) -> list[dict[str, str]]:
    return [{"type": t, "audience": a} for t, a in ops.catalogue.audiences.items()]


@router.post("/endpoints", status_code=201, response_model=EndpointWithSecret, summary="Subscribe an endpoint")
async def create(body: NewEndpoint, who: Who, ops: Hooks) -> EndpointWithSecret:
    partner_id = who.partner_id or body.partner_id
    if partner_id is None:
        raise Unprocessable("operators must name the partner_id the endpoint belongs to", field="partner_id")
    if who.partner_id and body.partner_id not in (None, who.partner_id):
        raise Forbidden("a partner subscribes endpoints for itself only")
    if await ops.store.partner(partner_id) is None:
        raise Unprocessable(f"unknown partner {partner_id}", field="partner_id")
    await ops.check(body.url, body.event_types)
    secret = fresh_secret()
    endpoint = Endpoint(
        endpoint_id=f"ep_{uuid.uuid4().hex[:20]}",
        partner_id=partner_id,
        url=body.url,
        event_types=sorted(set(body.event_types)),
        regions=body.regions,
        description=body.description,
        secrets=[EndpointSecret(secret=secret)],
        created_at=ops.dispatcher.clock.now(),
    )
    await ops.hooks.add_endpoint(endpoint)
    return EndpointWithSecret(**EndpointView.of(endpoint, ops.dispatcher.clock.now()).model_dump(), secret=secret)


@router.get("/endpoints", response_model=list[EndpointView])
async def list_endpoints(who: Who, ops: Hooks, partner_id: str | None = None) -> list[EndpointView]:
    wanted = who.partner_id or partner_id
    if wanted is None:
        raise Unprocessable("give partner_id", field="partner_id")
    return [EndpointView.of(e, ops.dispatcher.clock.now()) for e in await ops.hooks.endpoints_of(wanted)]


@router.get("/endpoints/{endpoint_id}", response_model=EndpointView)
async def get_endpoint(endpoint_id: str, who: Who, ops: Hooks) -> EndpointView:
    return EndpointView.of(await ops.owned(endpoint_id, who), ops.dispatcher.clock.now())


@router.patch("/endpoints/{endpoint_id}", response_model=EndpointView)
async def change(endpoint_id: str, body: EndpointChange, who: Who, ops: Hooks) -> EndpointView:
    endpoint = await ops.owned(endpoint_id, who)
    await ops.check(body.url, body.event_types)
    update = body.model_dump(exclude_none=True)
    if body.enabled:
        update |= {"disabled_reason": "", "failing_since": None}
    changed = endpoint.model_copy(update=update)
    await ops.hooks.update_endpoint(changed, update)
    if body.enabled:
        ops.dispatcher.wake()
    return EndpointView.of(changed, ops.dispatcher.clock.now())


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def remove(endpoint_id: str, who: Who, ops: Hooks) -> None:
    await ops.owned(endpoint_id, who)
    await ops.hooks.remove_endpoint(endpoint_id)


@router.post("/endpoints/{endpoint_id}/secret/rotate", response_model=EndpointWithSecret)
async def rotate(endpoint_id: str, body: Rotation, who: Who, ops: Hooks) -> EndpointWithSecret:
    """A new secret signs from now on; the current one keeps signing too for `overlap_seconds`,
    so the receiver can switch without losing a delivery."""
    endpoint = await ops.owned(endpoint_id, who)
    now = ops.dispatcher.clock.now()
    old_until = now + timedelta(seconds=body.overlap_seconds)
    kept = [
        EndpointSecret(secret=old.secret, expires_at=min(old_until, old.expires_at or old_until))
        for old in endpoint.secrets
        if old.expires_at is None or old.expires_at > now
    ]
    secret = fresh_secret()
    rotated = endpoint.model_copy(update={"secrets": [EndpointSecret(secret=secret), *kept]})
    await ops.hooks.update_endpoint(rotated, ["secrets"])
    return EndpointWithSecret(**EndpointView.of(rotated, ops.dispatcher.clock.now()).model_dump(), secret=secret)


@router.get("/endpoints/{endpoint_id}/deliveries", summary="The delivery log, newest first, with every attempt")
async def deliveries(
    endpoint_id: str,
    who: Who,
    ops: Hooks,
    status: Literal["pending", "delivered", "failed", "skipped"] | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict]:
    await ops.owned(endpoint_id, who)
    log = await ops.hooks.log(endpoint_id, status=status, since=since, until=until, limit=limit)
    return [{"delivery_id": d.pop("_id"), **d} for d in log]


@router.post("/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202)
async def replay_one(endpoint_id: str, delivery_id: str, who: Who, ops: Hooks) -> dict[str, int]:
    await ops.owned(endpoint_id, who)
    if await ops.hooks.delivery(endpoint_id, delivery_id) is None:
        raise NotFound(f"no delivery {delivery_id} for endpoint {endpoint_id}")
    replayed = await ops.hooks.replay(endpoint_id, {"_id": delivery_id}, ops.dispatcher.clock.now())
    ops.dispatcher.wake()
    return {"replayed": replayed}


@router.post("/endpoints/{endpoint_id}/replay", status_code=202, summary="Replay the deliveries of a time range")
async def replay_range(endpoint_id: str, body: ReplayRange, who: Who, ops: Hooks) -> dict[str, int]:
    await ops.owned(endpoint_id, who)
    window = {"$gte": body.since} | ({"$lt": body.until} if body.until else {})
    statuses = ["failed", "skipped"] if body.only == "failed" else ["failed", "skipped", "delivered"]
    replayed = await ops.hooks.replay(
        endpoint_id, {"created_at": window, "status": {"$in": statuses}}, ops.dispatcher.clock.now()
    )
    ops.dispatcher.wake()
    return {"replayed": replayed}
