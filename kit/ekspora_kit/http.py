"""The HTTP shell every service shares: health, readiness, metrics, errors and correlation ids."""

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from uuid import uuid4

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ekspora_kit.aggregates import VersionConflict
from ekspora_kit.domain import Busy, Invalid, NotAllowed, NotFound
from ekspora_kit.logs import correlation_id
from ekspora_kit.runtime import ServiceRuntime

logger = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-Id"


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


# The domain's refusals, answered once for every route: (status, error code) per kind.
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    Invalid: (422, "unprocessable"),
    NotFound: (404, "notfound"),
    NotAllowed: (409, "conflict"),
    Busy: (409, "conflict"),
    VersionConflict: (409, "conflict"),
}


def error_body(code: str, message: str, field: str | None) -> dict[str, object]:
    body: dict[str, object] = {"error": code, "message": message}
    if field:
        body["errors"] = [{"field": field, "message": message}]
    return body


def answer_refusals(app: FastAPI) -> None:
    """Answers the domain's refusals and bad requests with 4xx and field-level messages, once for
    every route: routes raise, they do not wrap."""

    @app.exception_handler(RequestValidationError)
    async def field_level_errors(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(part) for part in item["loc"] if part != "body"), "message": item["msg"]}
            for item in error.errors()
        ]
        return JSONResponse(status_code=422, content={"error": "validation_failed", "errors": errors})

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        content = error_body(type(error).__name__.lower(), error.message, error.field)
        return JSONResponse(status_code=error.status_code, content=content)

    async def refused(_: Request, error: Exception) -> JSONResponse:
        status, code = next(answer for kind, answer in REFUSALS.items() if isinstance(error, kind))
        return JSONResponse(status_code=status, content=error_body(code, str(error), getattr(error, "field", None)))

    for kind in REFUSALS:
        app.add_exception_handler(kind, refused)


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    state: Mapping[str, object] | None = None,
    on_startup: Callable[[], object] | None = None,
) -> FastAPI:
    """The service's HTTP app. `state` is what its routes depend on (its use cases, its store's
    reads), put on `app.state` for their `Depends` helpers; the runtime is there too, for auth."""
    runtime.subscribe()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            await on_startup()  # type: ignore[misc]
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.broker = runtime.broker  # for the AsyncAPI document generated from the apps
    app.state.runtime = runtime
    for name, value in (state or {}).items():
        setattr(app.state, name, value)

    @app.middleware("http")
    async def carry_correlation_id(request: Request, call_next: Callable) -> Response:
        value = request.headers.get(CORRELATION_HEADER) or str(uuid4())
        token = correlation_id.set(value)
        try:
            response = await call_next(request)
        finally:
            correlation_id.reset(token)
        response.headers[CORRELATION_HEADER] = value
        return response

    answer_refusals(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": runtime.settings.service}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
