"""Wiring: the one place where the console's dependencies are built and connected."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from ekspora_console.operations import Operations
from ekspora_console.pages import ROUTERS
from ekspora_console.services import ServiceRefused, Services, ServiceUrls, SessionEnded
from ekspora_console.sessions import Sessions
from ekspora_console.settings import ConsoleSettings
from ekspora_console.web import FormExpired, NotForYou, SignInNeeded, back_to, cookie_name, page, secure_headers
from ekspora_kit.bus import BusAccess
from ekspora_kit.clock import Clock

STATIC = Path(__file__).parent / "static"
PURGE_EVERY_SECONDS = 600
logger = logging.getLogger(__name__)
PROBLEM_TEXT = {403: "not_allowed", 404: "not_found"}


def create_app(settings: ConsoleSettings) -> FastAPI:
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000)
    clock = Clock(settings.clock_offset_seconds)
    client = httpx.AsyncClient(timeout=15)
    urls = ServiceUrls(
        identity=settings.identity_url,
        registry=settings.registry_url,
        matching=settings.matching_url,
        shipping=settings.shipping_url,
        notifications=settings.notifications_url,
        default_region=settings.default_region,
    )
    metrics = CollectorRegistry()
    page_seconds = Histogram(
        "ekspora_console_page_seconds", "Time to answer a page", ["route", "status"], registry=metrics
    )

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        purging = asyncio.create_task(purge_ended_sessions(app_.state.sessions))
        try:
            yield
        finally:
            purging.cancel()
            await client.aclose()
            await mongo.close()

    app = FastAPI(title="Ekspora console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.clock = settings, clock
    app.state.sessions = Sessions(mongo[settings.database_name], clock)
    app.state.services = Services(urls, client)
    app.state.operations = Operations(BusAccess(), mongo[settings.database_name], clock)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def timed_and_secured(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response: Response = await call_next(request)
        secure_headers(response)
        route = request.scope.get("route")
        page_seconds.labels(getattr(route, "path", "other"), str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    answer_problems(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": "console"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await mongo.admin.command("ping")
            store = True
        except Exception:  # any failure to answer is "not ready"
            store = False
        return JSONResponse(status_code=200 if store else 503, content={"ready": store, "checks": {"store": store}})

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return app


async def purge_ended_sessions(sessions: Sessions) -> None:
    """Sessions nobody signed out of would stay in the store; they go once ended."""
    while True:
        try:
            purged = await sessions.purge_expired()
            if purged:
                logger.info("%d ended sessions purged", purged)
        except PyMongoError:
            logger.warning("ended sessions not purged this time: the store did not answer", exc_info=True)
        await asyncio.sleep(PURGE_EVERY_SECONDS)


def answer_problems(app: FastAPI) -> None:
    """Every refusal and failure as a page in the reader's language, once for every route."""

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, needed: SignInNeeded) -> Response:
        answer = back_to("/sign-in?ended=true" if needed.ended else "/sign-in")
        answer.delete_cookie(cookie_name(request))
        return answer

    @app.exception_handler(SessionEnded)
    async def session_ended(request: Request, _: SessionEnded) -> Response:
        await request.app.state.sessions.close(request.cookies.get(cookie_name(request), ""))
        return await sign_in_first(request, SignInNeeded(ended=True))

    @app.exception_handler(ServiceRefused)
    async def refused(request: Request, refusal: ServiceRefused) -> Response:
        session = getattr(request.state, "session", None)
        problem = PROBLEM_TEXT.get(refusal.status)
        return page(request, "problem.html", session, refusal.status, problem=problem, detail=refusal.message)

    @app.exception_handler(httpx.TransportError)
    async def unreachable(request: Request, failure: httpx.TransportError) -> Response:
        """A service that did not answer in time, or at all: the page says so, nothing half-done is
        shown, and the person may try again."""
        session = getattr(request.state, "session", None)
        slow = isinstance(failure, httpx.TimeoutException)
        answer = page(request, "problem.html", session, 504 if slow else 503, problem="unavailable", detail="")
        answer.headers["Retry-After"] = "5"
        return answer

    @app.exception_handler(FormExpired)
    async def form_expired(request: Request, _: FormExpired) -> Response:
        session = getattr(request.state, "session", None)
        return page(request, "problem.html", session, 403, problem="form_expired", detail="")

    @app.exception_handler(NotForYou)
    async def not_for_you(request: Request, _: NotForYou) -> Response:
        session = getattr(request.state, "session", None)
        return page(request, "problem.html", session, 403, problem="not_allowed", detail="")
