"""The admins' page: every person's account, a new account, and disabling one (its tokens stop
working in every service within seconds). Identity decides who may do this; the console shows it
only to admins."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ekspora_console.sessions import Session
from ekspora_console.web import Form, NotForYou, Signed, as_person, back_to, page

router = APIRouter(prefix="/admin")
ROLES = ("operator", "viewer", "admin", "mentor", "partner_user")
LOCALES = {"id": "Bahasa Indonesia", "en": "English", "nl": "Nederlands"}


def admin(session: Session) -> Session:
    if session.person.role != "admin":
        raise NotForYou()
    return session


@router.get("/people", response_class=HTMLResponse)
async def people(request: Request, session: Signed) -> Response:
    found = await as_person(request, admin(session)).people()
    found.sort(key=lambda person: (person["disabled_at"] is not None, person["name"].lower()))
    return page(request, "people.html", session, people=found, roles=ROLES, locales=LOCALES)


@router.post("/people")
async def new_person(request: Request, session: Signed, form: Form) -> Response:
    field = {name: str(form.get(name, "")).strip() for name in ("email", "name", "role", "partner_id", "locale")}
    regions = [region for region in re.split(r"[\s,]+", str(form.get("regions", ""))) if region]
    account = field | {"regions": regions, "partner_id": field["partner_id"] or None, "password": form.get("password")}
    await as_person(request, admin(session)).new_person(account)
    return back_to("/admin/people?notice=saved")


@router.post("/people/{person_id}/disable")
async def disable(request: Request, session: Signed, form: Form, person_id: str) -> Response:
    await as_person(request, admin(session)).disable_person(person_id)
    return back_to("/admin/people?notice=saved")
