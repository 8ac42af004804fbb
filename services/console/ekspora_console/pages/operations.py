"""The operations screen: a region's dead letters with their reasons, a replay for each once its cause
is fixed, and how far each consumer group is behind. Viewers read it; operators and admins replay."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ekspora_console.operations import AlreadyReplayed, Operations
from ekspora_console.pages.operators import region_of
from ekspora_console.web import Form, NotForYou, Signed, back_to, page

router = APIRouter(prefix="/operator/operations")


def operations(request: Request) -> Operations:
    return request.app.state.operations


@router.get("", response_class=HTMLResponse)
async def screen(request: Request, session: Signed, region: str | None = None) -> Response:
    shown = region_of(session, region)
    letters, lag = await asyncio.gather(operations(request).letters(shown), operations(request).lag(shown))
    return page(request, "operations.html", session, region=shown, letters=letters, lag=lag)


@router.post("/replays")
async def replay(request: Request, session: Signed, form: Form) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    if not session.person.acts:
        raise NotForYou()
    outcome = "replayed"
    try:
        partition, offset = int(str(form.get("partition", ""))), int(str(form.get("offset", "")))
        await operations(request).replay(shown, partition, offset, session.person)
    except AlreadyReplayed:
        outcome = "already_replayed"
    except (ValueError, LookupError, PermissionError):  # no such dead letter here, or not one replayed from here
        outcome = "not_replayable"
    return back_to(f"/operator/operations?region={shown}&notice={outcome}")
