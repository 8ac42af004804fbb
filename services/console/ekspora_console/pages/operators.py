"""The operators' pages (and the viewers', who read the same and change nothing): the region's funnel,
its UMKM with filters and pages, one UMKM, the proposals to accept or decline for an owner, the
partners abroad and their open demand, incubation, and shipments."""

import asyncio
import math
import re
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from ekspora_console import funnel
from ekspora_console.services import Evidence, ServiceRefused
from ekspora_console.sessions import Session
from ekspora_console.texts import WIB
from ekspora_console.web import Form, NotForYou, Signed, as_person, back_to, page

router = APIRouter(prefix="/operator")
TIERS = ("siap", "setengah", "didorong")
SECTORS = ("food", "beverage", "craft", "textile", "furniture", "other")
PAGE_SIZE = 25
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
HISTORY_SHOWN = 20  # the latest assessments and messages on an UMKM's page
# the shipment's journey, as shipping's tracking.yaml has it; the page shows where it stands on it
JOURNEY = (
    "planned",
    "booked",
    "picked_up",
    "export_cleared",
    "departed",
    "arrived",
    "import_cleared",
    "out_for_delivery",
    "delivered",
)


def region_of(session: Session, asked: str | None) -> str:
    """The region shown: the one asked if the person covers it, else their first."""
    person = session.person
    if not person.of_the_regions or not person.regions:
        raise NotForYou()
    return asked if asked is not None and asked in person.regions else person.regions[0]


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, session: Signed, region: str | None = None) -> Response:
    shown = region_of(session, region)
    services = as_person(request, session)
    counted, matches, shipments = await asyncio.gather(
        services.funnel(shown), services.matches(shown), services.shipments(shown)
    )
    steps = funnel.steps(counted, matches, shipments)
    values = funnel.export_values(matches)
    return page(request, "overview.html", session, region=shown, steps=steps, values=values)


@router.get("/umkm", response_class=HTMLResponse)
async def msmes(
    request: Request,
    session: Signed,
    region: str | None = None,
    tier: str | None = Query(default=None, max_length=20),
    sector: str | None = Query(default=None, max_length=20),
    kecamatan: str | None = Query(default=None, max_length=80),
    cohort: str | None = Query(default=None, max_length=80),
    nib: str | None = Query(default=None, max_length=13),
    page_number: int = Query(default=1, ge=1, le=100_000, alias="page"),
    after: int | None = Query(default=None, ge=0, le=1_000_000_000),
    before: int | None = Query(default=None, ge=0, le=1_000_000_000),
) -> Response:
    shown = region_of(session, region)
    services = as_person(request, session)
    window = {"page": page_number, "page_size": PAGE_SIZE, "after": after, "before": before}
    filters = {"tier": tier if tier in TIERS else None, "sector": sector if sector in SECTORS else None}
    filters |= {"kecamatan": kecamatan or None, "nib": nib if nib and nib.isdigit() and len(nib) == 13 else None}
    filters |= {"cohort_id": cohort or None}
    found, cohorts = await asyncio.gather(services.msmes(shown, **window, **filters), services.cohorts(shown))
    pages = max(1, math.ceil(found["total"] / PAGE_SIZE))
    return page(
        request,
        "msmes.html",
        session,
        region=shown,
        found=found,
        pages=pages,
        filters=filters,
        tiers=TIERS,
        sectors=SECTORS,
        cohorts=cohorts,
    )


@router.get("/umkm/{msme_id}", response_class=HTMLResponse)
async def msme(request: Request, session: Signed, msme_id: str, region: str | None = None) -> Response:
    services = as_person(request, session)
    found = await services.msme(msme_id, region_of(session, region))
    shown = found["profile"]["region"]
    may_enrol = found["incubation"] is None and (found["assessment"] or {}).get("tier") in ("setengah", "didorong")
    matches, history, messages, cohorts = await asyncio.gather(
        services.matches(shown),
        services.assessments(msme_id, shown),
        services.sent_to_owner(msme_id, shown),
        services.cohorts(shown) if may_enrol else nothing(),
    )
    proposals = [m for m in matches if m["terms"]["msme_id"] == msme_id]
    return page(
        request,
        "msme.html",
        session,
        msme=found,
        proposals=proposals,
        region=shown,
        cohorts=cohorts,
        history=history[:HISTORY_SHOWN],
        messages=messages[:HISTORY_SHOWN],
    )


async def nothing() -> list[dict]:
    return []


@router.get("/proposals", response_class=HTMLResponse)
async def proposals(request: Request, session: Signed, region: str | None = None) -> Response:
    shown = region_of(session, region)
    waiting = await as_person(request, session).matches(shown, status="proposed")
    return page(request, "proposals.html", session, region=shown, proposals=waiting, side="msme")


@router.get("/partners", response_class=HTMLResponse)
async def partners(request: Request, session: Signed, region: str | None = None) -> Response:
    """The partners abroad and what they ask for now: the demand this region's UMKM may meet."""
    shown = region_of(session, region)
    services = as_person(request, session)
    found, demands = await asyncio.gather(services.partners(shown), services.demands(shown))
    names = {partner["partner_id"]: partner["name"] for partner in found}
    found.sort(key=lambda partner: (partner["verified"], partner["country"], partner["name"]))
    open_demand = sorted(
        (demand for demand in demands if demand["status"] == "open"),
        key=lambda demand: (demand["needed_by"] is None, demand["needed_by"] or ""),
    )
    return page(request, "partners.html", session, region=shown, partners=found, demands=open_demand, names=names)


@router.post("/partners/{partner_id}/verification")
async def verify_partner(request: Request, session: Signed, form: Form, partner_id: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    await as_person(request, session).verify_partner(partner_id, shown)
    return back_to(f"/operator/partners?region={shown}&notice=saved")


@router.get("/incubation", response_class=HTMLResponse)
async def incubation(
    request: Request,
    session: Signed,
    region: str | None = None,
    gap_code: str | None = Query(default=None, max_length=80),
) -> Response:
    """The cohorts, and the demand closing each gap would open: to select a cohort's members by."""
    shown = region_of(session, region)
    person = as_person(request, session)
    cohorts, every, opportunities = await asyncio.gather(
        person.cohorts(shown), person.opportunities(shown), person.opportunities(shown, gap_code)
    )
    gaps = sorted(
        {(o["gap_code"], o["next_step_id"] if session.language == "id" else o["next_step_en"]) for o in every}
    )
    return page(
        request,
        "incubation.html",
        session,
        region=shown,
        cohorts=cohorts,
        opportunities=opportunities,
        gaps=gaps,
        gap_code=gap_code,
    )


@router.post("/incubation/enrolments", response_class=HTMLResponse)
async def enrol_selected(request: Request, session: Signed, form: Form) -> Response:
    """Each UMKM ticked enrolled in the cohort chosen; those the registry refuses are named with why,
    the others enrolled all the same (each enrolment is whole on its own)."""
    shown = region_of(session, str(form.get("region", "")))
    cohort_id = str(form.get("cohort_id", ""))
    person = as_person(request, session)
    refused = []
    for msme_id in dict.fromkeys(str(ticked) for ticked in form.getlist("msme_id")):
        try:
            await person.enrol(cohort_id, msme_id, shown)
        except ServiceRefused as refusal:
            refused.append(f"{msme_id}: {refusal.message}")
    if refused:
        return page(request, "problem.html", session, 409, problem="not_all_enrolled", detail="; ".join(refused))
    return back_to(f"/operator/incubation/{cohort_id}?region={shown}&notice=saved")


@router.post("/cohorts")
async def new_cohort(request: Request, session: Signed, form: Form) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    fields = (str(form.get(name, "")).strip() for name in ("name", "starts_on", "ends_on"))
    made = await as_person(request, session).new_cohort(shown, *fields)
    return back_to(f"/operator/incubation/{made['cohort_id']}?region={shown}&notice=saved")


@router.get("/incubation/{cohort_id}", response_class=HTMLResponse)
async def cohort(request: Request, session: Signed, cohort_id: str, region: str | None = None) -> Response:
    shown = region_of(session, region)
    found = await as_person(request, session).cohort(cohort_id, shown)
    names = {member["msme_id"]: member["business_name"] for member in found["members"]}
    return page(request, "cohort.html", session, region=shown, found=found, names=names)


@router.post("/umkm/{msme_id}/enrolment")
async def enrol(request: Request, session: Signed, form: Form, msme_id: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    await as_person(request, session).enrol(str(form.get("cohort_id", "")), msme_id, shown)
    return back_to(f"/operator/umkm/{msme_id}?region={shown}&notice=saved")


@router.post("/umkm/{msme_id}/milestones/{code}")
async def milestone_done(request: Request, session: Signed, form: Form, msme_id: str, code: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    upload = form.get("evidence")
    evidence = None
    if isinstance(upload, UploadFile) and upload.filename:
        name = re.sub(r"[^\w .()-]", "_", upload.filename)[:200]
        evidence = Evidence(await upload.read(), upload.content_type or "application/octet-stream", name)
    note = str(form.get("note", "")).strip()
    await as_person(request, session).milestone_done(msme_id, code, shown, note, evidence)
    return back_to(f"/operator/umkm/{msme_id}?region={shown}&notice=saved")


@router.get("/umkm/{msme_id}/milestones/{code}/evidence")
async def milestone_evidence(
    request: Request, session: Signed, msme_id: str, code: str, region: str | None = None
) -> Response:
    content, kind = await as_person(request, session).milestone_evidence(msme_id, code, region_of(session, region))
    disposition = f'inline; filename="{code}{EXTENSIONS.get(kind, "")}"'
    return Response(content, media_type=kind, headers={"Content-Disposition": disposition})


@router.post("/incubation/{cohort_id}/sessions/{session_id}/attendance")
async def attendance(request: Request, session: Signed, form: Form, cohort_id: str, session_id: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    present = [str(msme_id) for msme_id in form.getlist("present")]
    await as_person(request, session).attendance(cohort_id, session_id, present, shown)
    return back_to(f"/operator/incubation/{cohort_id}?region={shown}&notice=saved")


@router.post("/incubation/{cohort_id}/sessions")
async def schedule_session(request: Request, session: Signed, form: Form, cohort_id: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    field = {name: str(form.get(name, "")).strip() for name in ("title", "starts_at", "place", "mentor")}
    field["starts_at"] = local_moment(field["starts_at"])
    await as_person(request, session).schedule_session(cohort_id, shown, field)
    return back_to(f"/operator/incubation/{cohort_id}?region={shown}&notice=saved")


@router.post("/incubation/{cohort_id}/mentors")
async def add_mentor(request: Request, session: Signed, form: Form, cohort_id: str) -> Response:
    shown = region_of(session, str(form.get("region", "")))
    mentor = {name: str(form.get(name, "")).strip() for name in ("name", "organisation", "email")}
    cohort = {"cohort_id": cohort_id, "region": shown}
    await as_person(request, session).add_mentor(cohort, mentor, str(form.get("password", "")))
    return back_to(f"/operator/incubation/{cohort_id}?region={shown}&notice=saved")


def local_moment(typed: str) -> str:
    """A time as the form's datetime-local field sends it, in Kediri's time (WIB), as RFC 3339; what
    is not one goes to the registry as typed, which says what is wrong with it."""
    try:
        return datetime.fromisoformat(typed).replace(tzinfo=WIB).isoformat()
    except ValueError:
        return typed


@router.get("/shipments", response_class=HTMLResponse)
async def shipments(request: Request, session: Signed, region: str | None = None) -> Response:
    shown = region_of(session, region)
    found = await as_person(request, session).shipments(shown)
    return page(request, "shipments.html", session, region=shown, shipments=found)


@router.get("/shipments/{shipment_id}", response_class=HTMLResponse)
async def shipment(request: Request, session: Signed, shipment_id: str, region: str | None = None) -> Response:
    shown = region_of(session, region)
    found = await as_person(request, session).shipment(shipment_id, shown)
    return page(request, "shipment.html", session, region=shown, view=found, journey=JOURNEY)
