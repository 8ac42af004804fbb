"""The partners' people's pages: the proposals made to their partner, to accept or decline; and the
forms both kinds of people use on a proposal (the service decides on whose behalf they act)."""

from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from ekspora_console.web import Form, NotForYou, Signed, as_person, back_to, page

router = APIRouter()


@router.get("/partner", response_class=HTMLResponse)
async def partner_home(request: Request, session: Signed) -> Response:
    if session.person.role != "partner_user":
        raise NotForYou()
    matches = await as_person(request, session).matches()
    waiting = [m for m in matches if m["status"] == "proposed"]
    confirmed = [m for m in matches if m["status"] == "confirmed"]
    return page(
        request,
        "proposals.html",
        session,
        proposals=waiting,
        confirmed=confirmed,
        side="partner",
        report_key=lambda: uuid4().hex,
    )


@router.post("/proposals/{match_id}/acceptance")
async def accept(request: Request, session: Signed, form: Form, match_id: str) -> Response:
    await as_person(request, session).accept(match_id)
    return back_to(_back(form, "accepted"))


@router.post("/proposals/{match_id}/decline")
async def decline(request: Request, session: Signed, form: Form, match_id: str) -> Response:
    await as_person(request, session).decline(match_id, str(form.get("reason", ""))[:500])
    return back_to(_back(form, "declined"))


def _back(form: FormData, notice: str) -> str:
    back = str(form.get("back", "/"))
    path = back if back.startswith("/") and not back.startswith("//") else "/"
    return f"{path}{'&' if '?' in path else '?'}notice={notice}"


CERTIFICATES = ("pirt", "bpom_md", "halal", "sni", "organic", "svlk")


@router.get("/partner/requests", response_class=HTMLResponse)
async def requests(request: Request, session: Signed) -> Response:
    if session.person.role != "partner_user":
        raise NotForYou()
    demands = await as_person(request, session).demands()
    return page(request, "requests.html", session, demands=demands, certificates=CERTIFICATES)


@router.post("/partner/requests")
async def post_request(request: Request, session: Signed, form: Form) -> Response:
    body: dict[str, object] = {
        "kind": "rfq",
        "category": str(form.get("category", "")).strip() or None,
        "quantity": _number(form.get("quantity")),
        "currency": str(form.get("currency", "EUR")),
        "destination_city": str(form.get("destination_city", "")).strip(),
        "required_certificates": [c for c in CERTIFICATES if form.get(f"certificate_{c}")],
        "incoterm": str(form.get("incoterm", "FOB")),
    }
    if price := str(form.get("target_price_max", "")).strip():
        body["target_price_max"] = _cents(price)
    if needed := str(form.get("needed_by", "")).strip():
        body["needed_by"] = needed
    await as_person(request, session).post_demand(body)
    return back_to("/partner/requests?notice=saved")


@router.post("/partner/requests/{demand_id}/closure")
async def close_request(request: Request, session: Signed, form: Form, demand_id: str) -> Response:
    await as_person(request, session).close_demand(demand_id)
    return back_to("/partner/requests?notice=saved")


@router.post("/proposals/{match_id}/sales-reports")
async def report_sales(request: Request, session: Signed, form: Form, match_id: str) -> Response:
    body = {
        "units_sold": _number(form.get("units_sold")),
        "revenue_amount": _cents(str(form.get("revenue", ""))),
        "revenue_currency": str(form.get("currency", "EUR")),
        "returns": _number(form.get("returns") or 0),
        "rating": _number(form.get("rating")),
        "comment": str(form.get("comment", "")),
        "will_reorder": form.get("will_reorder") == "yes",
    }
    # the form's own key: a double submit, or a retry after a lost answer, records one report
    await as_person(request, session).report_sales(match_id, body, str(form.get("report_key", "")))
    return back_to("/partner?notice=reported")


def _number(value: object) -> object:
    """The integer typed, or what was typed, for the service to refuse with the field named."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdecimal() and text.isascii() else text


def _cents(typed: str) -> object:
    """An amount typed with a decimal comma or point ("1,43", "1.43") in cents; else as typed."""
    text = typed.strip().replace(",", ".")
    whole, _, fraction = text.partition(".")
    if whole.isdecimal() and whole.isascii() and (fraction == "" or (fraction.isdecimal() and len(fraction) <= 2)):
        return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
    return typed
