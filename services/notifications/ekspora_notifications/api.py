"""HTTP API for people: in-app feeds with unread counts, notification preferences, the delivery
log, and the operators' daily digest.

Operators (bearer token per region) read their region's operator feed and its UMKM owners';
a partner (API key `ptk_…`) reads and sets its own."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from ekspora_kit.auth import Forbidden, operator_or_partner, parse_operator_tokens
from ekspora_kit.http import NotFound
from ekspora_notifications.digest import DailyDigest
from ekspora_notifications.domain import Notification
from ekspora_notifications.preferences import Preferences
from ekspora_notifications.store import DeliveryStore, NotificationsStore

RECIPIENT = Path(max_length=120, pattern=r"^(operator|umkm|partner):[A-Za-z0-9_.-]+$", examples=["umkm:msme_123"])


class Feed(BaseModel):
    recipient: str
    unread: int
    items: list[Notification]


def build_router(
    store: NotificationsStore,
    deliveries: DeliveryStore,
    digest: DailyDigest,
    *,
    operator_tokens: str,
    defaults: Preferences,
) -> APIRouter:
    router = APIRouter()
    tokens = parse_operator_tokens(operator_tokens)

    identify = operator_or_partner(tokens, store.partner_with_key)
    Identified = Annotated[tuple, Depends(identify)]

    async def may_read(recipient: str, region: str | None, partner_id: str | None) -> str:
        """The recipient, when the caller may read and set its notifications; 403 otherwise."""
        kind, _, who = recipient.partition(":")
        if region is not None:
            if kind == "operator" and who == region:
                return recipient
            if kind == "umkm" and (contact := await store.contact(who)) and contact.region == region:
                return recipient
            raise Forbidden(f"an operator of {region} may not read {recipient}")
        if recipient == f"partner:{partner_id}":
            return recipient
        raise Forbidden("a partner reads its own notifications only")

    async def allowed(recipient: Annotated[str, RECIPIENT], found: Identified) -> str:
        return await may_read(recipient, *found)

    Allowed = Annotated[str, Depends(allowed)]

    @router.get(
        "/feeds/-/deliveries/summary",
        tags=["deliveries"],
        summary="The operator's region: sends per kind of recipient, channel, language and status",
    )
    async def delivery_summary(found: Identified) -> list[dict]:
        region, _ = found
        if region is None:
            raise Forbidden("operators only")
        return await deliveries.summary(region)

    @router.get(
        "/feeds/{recipient}/deliveries",
        tags=["deliveries"],
        summary="What was sent to a recipient, on which channel, and what failed with which reason",
    )
    async def delivery_log(recipient: Allowed) -> list[dict]:
        return await deliveries.of_recipient(recipient)

    @router.get("/feeds/{recipient}", response_model=Feed, tags=["in-app feed"])
    async def feed(recipient: Allowed, limit: int = Query(default=50, ge=1, le=500)) -> Feed:
        items, unread = await store.feed(recipient, limit)
        return Feed(recipient=recipient, unread=unread, items=items)

    @router.post("/feeds/{recipient}/read", status_code=204, tags=["in-app feed"], summary="Mark everything read")
    async def mark_all_read(recipient: Allowed) -> None:
        await store.mark_all_read(recipient)

    @router.post("/feeds/{recipient}/{notification_id}/read", status_code=204, tags=["in-app feed"])
    async def mark_read(recipient: Allowed, notification_id: str) -> None:
        if not await store.mark_read(recipient, notification_id):
            raise NotFound(f"no notification {notification_id} for {recipient}")

    @router.get("/preferences/{recipient}", response_model=Preferences, tags=["preferences"])
    async def get_preferences(recipient: Allowed) -> Preferences:
        return await store.preferences(recipient) or defaults

    @router.put(
        "/preferences/{recipient}",
        response_model=Preferences,
        tags=["preferences"],
        summary="Opt out per category and channel, set quiet hours; critical messages still come",
    )
    async def set_preferences(recipient: Allowed, body: Preferences) -> Preferences:
        await store.save_preferences(recipient, body)
        return body

    @router.get("/digests/{region}/{day}", tags=["digest"], summary="Preview a day's operator digest for a region")
    async def preview_digest(region: str, day: date, found: Identified) -> dict:
        await may_read(f"operator:{region}", *found)
        return {"region": region, "day": day.isoformat(), "figures": await digest.figures(region, day)}

    return router
