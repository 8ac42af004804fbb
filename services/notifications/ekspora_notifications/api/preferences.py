"""Notification preferences: opt-outs per category and channel, quiet hours."""

from fastapi import APIRouter

from ekspora_notifications.api.deps import Allowed, FeedsDep
from ekspora_notifications.preferences import Preferences

router = APIRouter()


@router.get("/preferences/{recipient}", response_model=Preferences, tags=["preferences"])
async def get_preferences(recipient: Allowed, ops: FeedsDep) -> Preferences:
    return await ops.store.preferences(recipient) or ops.defaults


@router.put(
    "/preferences/{recipient}",
    response_model=Preferences,
    tags=["preferences"],
    summary="Opt out per category and channel, set quiet hours; critical messages still come",
)
async def set_preferences(recipient: Allowed, ops: FeedsDep, body: Preferences) -> Preferences:
    await ops.store.save_preferences(recipient, body)
    return body
