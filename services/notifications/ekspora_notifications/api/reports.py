"""The read-only page an owner's readiness report link opens on their phone."""

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from ekspora_kit.http import ApiError
from ekspora_notifications.report_links import PAGE_HEADERS, LinkRefused

router = APIRouter(tags=["Owners' reports"])
NEW_LINK = "reply LAPORAN on WhatsApp for a new link (balas LAPORAN di WhatsApp untuk tautan baru)"


class NotALink(ApiError):
    status_code = 404


class Expired(ApiError):
    status_code = 410


@router.get(
    "/laporan/{token}",
    response_class=HTMLResponse,
    summary="An owner's export readiness report, by the signed link they got on WhatsApp",
    responses={410: {"description": "The link expired"}},
)
async def report(
    request: Request, token: str = Path(max_length=400, pattern=r"^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+$")
) -> HTMLResponse:
    try:
        page = await request.app.state.owner_replies.report_page(token)
    except LinkRefused as refused:
        raise (Expired if refused.expired else NotALink)(f"{refused}; {NEW_LINK}", field="token") from None
    return HTMLResponse(page, headers=PAGE_HEADERS)
