"""In-app feeds with unread counts, and the delivery log.

Operators (bearer token per region) read their region's operator feed and its UMKM owners';
a partner (API key `ptk_…`) reads its own."""

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_kit.auth import Forbidden, OperatorOrPartner, region_asked
from ekspora_kit.domain import NotFound
from ekspora_notifications.api.deps import Allowed, FeedsDep
from ekspora_notifications.domain import Notification

router = APIRouter()


class Feed(BaseModel):
    recipient: str
    unread: int
    items: list[Notification]


@router.get(
    "/feeds/-/deliveries/summary",
    tags=["deliveries"],
    summary="The operator's region: sends per kind of recipient, channel, language and status",
)
async def delivery_summary(
    found: OperatorOrPartner,
    ops: FeedsDep,
    region: str | None = Query(default=None, pattern=REGION_PATTERN, description="needed when you cover several"),
) -> list[dict]:
    operator, _ = found
    if operator is None:
        raise Forbidden("operators only")
    return await ops.deliveries.summary(region_asked(operator, region))


@router.get(
    "/feeds/{recipient}/deliveries",
    tags=["deliveries"],
    summary="What was sent to a recipient, on which channel, and what failed with which reason",
)
async def delivery_log(recipient: Allowed, ops: FeedsDep) -> list[dict]:
    return await ops.deliveries.of_recipient(recipient)


@router.get("/feeds/{recipient}", response_model=Feed, tags=["in-app feed"])
async def feed(recipient: Allowed, ops: FeedsDep, limit: int = Query(default=50, ge=1, le=500)) -> Feed:
    items, unread = await ops.store.feed(recipient, limit)
    return Feed(recipient=recipient, unread=unread, items=items)


@router.post("/feeds/{recipient}/read", status_code=204, tags=["in-app feed"], summary="Mark everything read")
async def mark_all_read(recipient: Allowed, ops: FeedsDep) -> None:
    await ops.store.mark_all_read(recipient)


@router.post("/feeds/{recipient}/{notification_id}/read", status_code=204, tags=["in-app feed"])
async def mark_read(recipient: Allowed, ops: FeedsDep, notification_id: str) -> None:
    if not await ops.store.mark_read(recipient, notification_id):
        raise NotFound(f"no notification {notification_id} for {recipient}")
