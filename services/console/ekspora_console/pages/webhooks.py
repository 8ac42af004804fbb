"""A partner's webhook endpoints, as Svix's app portal gives them: add one (its signing secret shown
once), rotate the secret, read the delivery log with every attempt, replay a delivery."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ekspora_console.sessions import Session
from ekspora_console.web import Form, NotForYou, Signed, as_person, back_to, page

router = APIRouter(prefix="/partner/webhooks")


def partner_only(session: Session) -> None:
    if session.person.role != "partner_user":
        raise NotForYou()


async def _listing(request: Request, session: Session, secret: dict | None = None) -> Response:
    services = as_person(request, session)
    endpoints, kinds = await services.endpoints(), await services.event_types()
    offered = [kind["type"] for kind in kinds]  # every one is offered to partners (their own, or everyone's)
    return page(request, "webhooks.html", session, endpoints=endpoints, kinds=offered, secret=secret)


@router.get("", response_class=HTMLResponse)
async def endpoints(request: Request, session: Signed) -> Response:
    partner_only(session)
    return await _listing(request, session)


@router.post("", response_class=HTMLResponse)
async def add_endpoint(request: Request, session: Signed, form: Form) -> Response:
    """Answered with the page itself, not a redirect: the secret is shown once, never put in a URL."""
    partner_only(session)
    kinds = [str(kind) for kind in form.getlist("event_type")]
    made = await as_person(request, session).add_endpoint(
        str(form.get("url", "")).strip(), kinds, str(form.get("description", ""))[:500]
    )
    return await _listing(request, session, secret=made)


@router.post("/{endpoint_id}/rotation", response_class=HTMLResponse)
async def rotate(request: Request, session: Signed, form: Form, endpoint_id: str) -> Response:
    partner_only(session)
    rotated = await as_person(request, session).rotate_secret(endpoint_id)
    return await _listing(request, session, secret=rotated)


@router.get("/{endpoint_id}", response_class=HTMLResponse)
async def deliveries(request: Request, session: Signed, endpoint_id: str) -> Response:
    partner_only(session)
    services = as_person(request, session)
    endpoint, log = await services.endpoint(endpoint_id), await services.webhook_deliveries(endpoint_id)
    return page(request, "webhook.html", session, endpoint=endpoint, deliveries=log)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay(request: Request, session: Signed, form: Form, endpoint_id: str, delivery_id: str) -> Response:
    partner_only(session)
    await as_person(request, session).replay(endpoint_id, delivery_id)
    return back_to(f"/partner/webhooks/{endpoint_id}?notice=replayed")
