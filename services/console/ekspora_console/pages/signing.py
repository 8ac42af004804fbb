"""Signing in and out, and the reader's language."""

import secrets
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ekspora_console.sessions import Person
from ekspora_console.texts import LANGUAGES
from ekspora_console.web import PRE_SESSION_CSRF, Form, Signed, back_to, cookie_name, page, sessions

router = APIRouter()


def home_of(person: Person) -> str:
    if person.role == "admin":
        return "/admin/people"
    return "/operator" if person.of_the_regions else "/partner"


@router.get("/")
async def home(request: Request) -> Response:
    session = await sessions(request).find(request.cookies.get(cookie_name(request)))
    return back_to(home_of(session.person) if session else "/sign-in")


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, ended: bool = False) -> Response:
    token = secrets.token_urlsafe(32)
    shown = page(request, "sign_in.html", None, csrf=token, problem="session_ended" if ended else None)
    _pre_session_cookie(request, shown, token)
    return shown


def _pre_session_cookie(request: Request, response: Response, token: str) -> None:
    secure = request.app.state.settings.cookie_secure
    response.set_cookie(PRE_SESSION_CSRF, token, max_age=1800, httponly=True, secure=secure, samesite="strict")


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = await request.form()
    email, password, csrf = (str(form.get(name, "")) for name in ("email", "password", "csrf"))
    expected = request.cookies.get(PRE_SESSION_CSRF, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf.encode()):
        return _refused(request, "form_expired", 400)
    answer = await request.app.state.services.sign_in(email.strip(), password)
    if answer.status_code == 429:
        minutes = int(answer.headers.get("Retry-After", "900")) // 60 + 1
        return _refused(request, "sign_in_locked", 429, minutes=minutes)
    if answer.status_code != 200:
        return _refused(request, "sign_in_wrong", 401, email=email)
    signed = answer.json()
    person = Person.model_validate(signed["person"])
    expires_at = request.app.state.clock.now() + timedelta(seconds=int(signed["expires_in"]))
    secret = await sessions(request).open(person, signed["access_token"], expires_at)
    done = back_to(home_of(person))
    secure = request.app.state.settings.cookie_secure
    # a browser-session cookie: the session in the store (renewed while the person works) decides how long
    done.set_cookie(cookie_name(request), secret, httponly=True, secure=secure, samesite="strict")
    done.delete_cookie(PRE_SESSION_CSRF)
    return done


def _refused(request: Request, problem: str, status: int, email: str = "", **values: object) -> Response:
    token = secrets.token_urlsafe(32)
    shown = page(request, "sign_in.html", None, status, csrf=token, problem=problem, values=values, email=email)
    _pre_session_cookie(request, shown, token)
    return shown


@router.post("/sign-out")
async def sign_out(request: Request, _form: Form) -> Response:
    await sessions(request).close(request.cookies.get(cookie_name(request), ""))
    done = back_to("/sign-in")
    done.delete_cookie(cookie_name(request))
    return done


@router.post("/language")
async def language(request: Request, session: Signed, form: Form) -> Response:
    chosen = str(form.get("language", ""))
    if chosen in LANGUAGES:
        await sessions(request).set_language(request.cookies.get(cookie_name(request), ""), chosen)
    back = str(form.get("back", "/"))
    return back_to(back if back.startswith("/") and not back.startswith("//") else home_of(session.person))
