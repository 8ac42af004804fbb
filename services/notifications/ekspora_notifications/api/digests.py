"""The operators' daily digest, previewed for any day."""

from fastapi import APIRouter

from ekspora_kit.auth import OperatorOrPartner
from ekspora_kit.inputs import Day
from ekspora_notifications.api.deps import FeedsDep

router = APIRouter()


@router.get("/digests/{region}/{day}", tags=["digest"], summary="Preview a day's operator digest for a region")
async def preview_digest(region: str, day: Day, found: OperatorOrPartner, ops: FeedsDep) -> dict:
    await ops.may_read(f"operator:{region}", *found)
    return {"region": region, "day": day.isoformat(), "figures": await ops.digest.figures(region, day)}
