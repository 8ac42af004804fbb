"""HTTP API for partner webhook subscriptions: endpoints, secrets, the delivery log and replays.

A partner manages its own endpoints with its API key (`ptk_…`); an operator may manage any
partner's. The signing secret is shown once, when the endpoint is made and when it is rotated."""

import secrets as random_source
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ekspora_contracts.envelope import Region
from ekspora_kit.auth import Forbidden, operator_or_partner, parse_operator_tokens
from ekspora_kit.http import NotFound, Unprocessable
from ekspora_notifications import webhooks
from ekspora_notifications.channels import UnsafeUrl, WebhookSender
from ekspora_notifications.settings import NotificationsSettings
from ekspora_notifications.store import NotificationsStore, WebhookStore
from ekspora_notifications.webhook_delivery import WebhookDispatcher
from ekspora_notifications.webhooks import Endpoint, EndpointSecret


class Caller(BaseModel):
    operator_region: str | None = None
    partner_id: str | None = None


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

    since: datetime
    until: datetime | None = None
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


def build_router(
    hooks: WebhookStore,
    recipients: NotificationsStore,
    catalogue: webhooks.Catalogue,
    sender: WebhookSender,
    dispatcher: WebhookDispatcher,
    settings: NotificationsSettings,
) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["partner webhooks"])
    operator_tokens = parse_operator_tokens(settings.operator_tokens)
    clock = dispatcher.clock

    identify = operator_or_partner(operator_tokens, recipients.partner_with_key)

    async def caller(found: Annotated[tuple, Depends(identify)]) -> Caller:
        region, partner_id = found
        return Caller(operator_region=region, partner_id=partner_id)

    Who = Annotated[Caller, Depends(caller)]

    async def owned(endpoint_id: str, who: Caller) -> Endpoint:
        endpoint = await hooks.endpoint(endpoint_id)
        if endpoint is None or (who.partner_id and endpoint.partner_id != who.partner_id):
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    async def check(url: str | None, event_types: list[str] | None) -> None:
        if event_types is not None and (unknown := catalogue.unknown(event_types)):
            raise Unprocessable(
                f"not offered over webhooks: {', '.join(unknown)}; see GET /webhooks/event-types", field="event_types"
            )
        if url is not None:
            try:
                await sender.checked_address(url)
            except UnsafeUrl as error:
                raise Unprocessable(str(error), field="url") from None

    def fresh_secret() -> str:
        return webhooks.new_secret(random_source.token_bytes(32))

    @router.get("/event-types", summary="The event types partner systems may subscribe to")
    async def event_types() -> list[dict[str, str]]:
        return [{"type": t, "audience": a} for t, a in catalogue.audiences.items()]

    @router.post("/endpoints", status_code=201, response_model=EndpointWithSecret, summary="Subscribe an endpoint")
    async def create(body: NewEndpoint, who: Who) -> EndpointWithSecret:
        partner_id = who.partner_id or body.partner_id
        if partner_id is None:
            raise Unprocessable("operators must name the partner_id the endpoint belongs to", field="partner_id")
        if who.partner_id and body.partner_id not in (None, who.partner_id):
            raise Forbidden("a partner subscribes endpoints for itself only")
        if await recipients.partner(partner_id) is None:
            raise Unprocessable(f"unknown partner {partner_id}", field="partner_id")
        await check(body.url, body.event_types)
        secret = fresh_secret()
        endpoint = Endpoint(
            endpoint_id=f"ep_{uuid.uuid4().hex[:20]}",
            partner_id=partner_id,
            url=body.url,
            event_types=sorted(set(body.event_types)),
            regions=body.regions,
            description=body.description,
            secrets=[EndpointSecret(secret=secret)],
            created_at=clock.now(),
        )
        await hooks.add_endpoint(endpoint)
        return EndpointWithSecret(**EndpointView.of(endpoint, clock.now()).model_dump(), secret=secret)

    @router.get("/endpoints", response_model=list[EndpointView])
    async def list_endpoints(who: Who, partner_id: str | None = None) -> list[EndpointView]:
        wanted = who.partner_id or partner_id
        if wanted is None:
            raise Unprocessable("give partner_id", field="partner_id")
        return [EndpointView.of(e, clock.now()) for e in await hooks.endpoints_of(wanted)]

    @router.get("/endpoints/{endpoint_id}", response_model=EndpointView)
    async def get_endpoint(endpoint_id: str, who: Who) -> EndpointView:
        return EndpointView.of(await owned(endpoint_id, who), clock.now())

    @router.patch("/endpoints/{endpoint_id}", response_model=EndpointView)
    async def change(endpoint_id: str, body: EndpointChange, who: Who) -> EndpointView:
        endpoint = await owned(endpoint_id, who)
        await check(body.url, body.event_types)
        update = body.model_dump(exclude_none=True)
        if body.enabled:
            update |= {"disabled_reason": "", "failing_since": None}
        changed = endpoint.model_copy(update=update)
        await hooks.save_endpoint(changed)
        if body.enabled:
            dispatcher.wake()
        return EndpointView.of(changed, clock.now())

    @router.delete("/endpoints/{endpoint_id}", status_code=204)
    async def remove(endpoint_id: str, who: Who) -> None:
        await owned(endpoint_id, who)
        await hooks.remove_endpoint(endpoint_id)

    @router.post("/endpoints/{endpoint_id}/secret/rotate", response_model=EndpointWithSecret)
    async def rotate(endpoint_id: str, body: Rotation, who: Who) -> EndpointWithSecret:
        """A new secret signs from now on; the current one keeps signing too for `overlap_seconds`,
        so the receiver can switch without losing a delivery."""
        endpoint = await owned(endpoint_id, who)
        now = clock.now()
        old_until = now + timedelta(seconds=body.overlap_seconds)
        kept = [
            EndpointSecret(secret=old.secret, expires_at=min(old_until, old.expires_at or old_until))
            for old in endpoint.secrets
            if old.expires_at is None or old.expires_at > now
        ]
        secret = fresh_secret()
        rotated = endpoint.model_copy(update={"secrets": [EndpointSecret(secret=secret), *kept]})
        await hooks.save_endpoint(rotated)
        return EndpointWithSecret(**EndpointView.of(rotated, clock.now()).model_dump(), secret=secret)

    @router.get("/endpoints/{endpoint_id}/deliveries", summary="The delivery log, newest first, with every attempt")
    async def deliveries(
        endpoint_id: str,
        who: Who,
        status: Literal["pending", "delivered", "failed", "skipped"] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict]:
        await owned(endpoint_id, who)
        log = await hooks.log(endpoint_id, status=status, since=since, until=until, limit=limit)
        return [{"delivery_id": d.pop("_id"), **d} for d in log]

    @router.post("/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202)
    async def replay_one(endpoint_id: str, delivery_id: str, who: Who) -> dict[str, int]:
        await owned(endpoint_id, who)
        if await hooks.delivery(endpoint_id, delivery_id) is None:
            raise NotFound(f"no delivery {delivery_id} for endpoint {endpoint_id}")
        replayed = await hooks.replay(endpoint_id, {"_id": delivery_id}, clock.now())
        dispatcher.wake()
        return {"replayed": replayed}

    @router.post("/endpoints/{endpoint_id}/replay", status_code=202, summary="Replay the deliveries of a time range")
    async def replay_range(endpoint_id: str, body: ReplayRange, who: Who) -> dict[str, int]:
        await owned(endpoint_id, who)
        window = {"$gte": body.since} | ({"$lt": body.until} if body.until else {})
        statuses = ["failed", "skipped"] if body.only == "failed" else ["failed", "skipped", "delivered"]
        replayed = await hooks.replay(endpoint_id, {"created_at": window, "status": {"$in": statuses}}, clock.now())
        dispatcher.wake()
        return {"replayed": replayed}

    return router
