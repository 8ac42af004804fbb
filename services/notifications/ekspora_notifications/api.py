"""In-app feed per recipient (operators for now): newest first, with the unread count."""

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from ekspora_kit.http import NotFound
from ekspora_notifications.domain import Notification
from ekspora_notifications.store import DeliveryStore, NotificationsStore


class Feed(BaseModel):
    recipient: str
    unread: int
    items: list[Notification]


def build_router(store: NotificationsStore, deliveries: DeliveryStore) -> APIRouter:
    router = APIRouter(prefix="/feeds", tags=["in-app feed"])

    @router.get("/-/deliveries/summary", tags=["deliveries"], summary="Sends per channel, language and status")
    async def delivery_summary() -> list[dict]:
        return await deliveries.summary()

    @router.get(
        "/{recipient}/deliveries",
        tags=["deliveries"],
        summary="What was sent to a recipient, on which channel, and what failed with which reason",
    )
    async def delivery_log(recipient: str = Path(max_length=120)) -> list[dict]:
        return await deliveries.of_recipient(recipient)

    @router.get("/{recipient}", response_model=Feed)
    async def feed(recipient: str = Path(max_length=120), limit: int = Query(default=50, ge=1, le=500)) -> Feed:
        items, unread = await store.feed(recipient, limit)
        return Feed(recipient=recipient, unread=unread, items=items)

    @router.post("/{recipient}/{notification_id}/read", status_code=204)
    async def mark_read(recipient: str, notification_id: str) -> None:
        if not await store.mark_read(recipient, notification_id):
            raise NotFound(f"no notification {notification_id} for {recipient}")

    return router
