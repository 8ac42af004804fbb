"""What every page shares: the signed-in session, the reader's texts, CSRF on every form, rendering,
and the answers to a service's refusal or an ended session."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ekspora_console.services import AsPerson, Services
from ekspora_console.sessions import Session, Sessions
from ekspora_console.texts import Texts, language_of

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
RENEW_WITHIN = timedelta(minutes=5)  # a token with less left is renewed on the person's next page
PRE_SESSION_CSRF = "ekspora_signin_csrf"  # the sign-in form's own token (login CSRF), before any session


class SignInNeeded(Exception):
    """No session, or it ended: the person is sent to sign in."""

    def __init__(self, ended: bool = False) -> None:
        self.ended = ended


class FormExpired(Exception):
    """A form came without this session's CSRF token: refused, and nothing done."""


def cookie_name(request: Request) -> str:
    # the __Host- prefix makes browsers keep the cookie to this host and path, over HTTPS only
    return "__Host-ekspora_session" if request.app.state.settings.cookie_secure else "ekspora_session"


def sessions(request: Request) -> Sessions:
    return request.app.state.sessions


async def signed_in(request: Request) -> Session:
    secret = request.cookies.get(cookie_name(request))
    session = await sessions(request).find(secret)
    if secret is None or session is None:
        raise SignInNeeded(ended=cookie_name(request) in request.cookies)
    if session.expires_at - request.app.state.clock.now() < RENEW_WITHIN:
        session = await renewed(request, secret, session)
    request.state.session = session
    return session


async def renewed(request: Request, secret: str, session: Session) -> Session:
    """The session with a fresh token from identity; ended when identity says to sign in again. While
    identity does not answer, the token in hand serves out its remaining minutes."""
    services: Services = request.app.state.services
    try:
        answer = await services.renew(session.token)
    except httpx.TransportError:
        return session
    if answer.status_code == 401:
        await sessions(request).close(secret)
        raise SignInNeeded(ended=True)
    if answer.status_code != 200:
        return session
    signed = answer.json()
    expires_at = request.app.state.clock.now() + timedelta(seconds=int(signed["expires_in"]))
    await sessions(request).renewed(secret, signed["access_token"], expires_at)
    return session.model_copy(update={"token": signed["access_token"], "expires_at": expires_at})


Signed = Annotated[Session, Depends(signed_in)]


async def checked_form(request: Request, session: Signed) -> FormData:
    """The posted form, once its CSRF token is this session's."""
    form = await request.form()
    token = form.get("csrf")
    if not session.csrf_matches(token if isinstance(token, str) else None):
        raise FormExpired()
    return form


Form = Annotated[FormData, Depends(checked_form)]


def as_person(request: Request, session: Session) -> AsPerson:
    services: Services = request.app.state.services
    return services.as_person(session.token)


def texts_for(request: Request, session: Session | None) -> Texts:
    fallback = session.language if session else "id"
    return Texts(language_of(request.query_params.get("lang"), language_of(fallback, "id")))


def page(
    request: Request, template: str, session: Session | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    t = texts_for(request, session)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"t": t, "session": session, "person": session.person if session else None, **context},
        status_code=status_code,
    )


def back_to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)  # after a form: the page again, by GET


def secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none';"
        " form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"  # pages show what only this person may see


class NotForYou(Exception):
    """A page for another kind of person (a partner's person on an operator's page, or the reverse)."""
