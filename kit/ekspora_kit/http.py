"""The HTTP shell every service shares: health, readiness, metrics, errors and correlation ids."""

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from uuid import uuid4

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ekspora_kit.domain import Busy, Invalid, NotAllowed
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


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


@asynccontextmanager
async def refusals() -> AsyncIterator[None]:
    """Maps the domain's refusals to HTTP errors that name the field they concern."""
    try:
        yield
    except Invalid as error:
        raise Unprocessable(str(error), field=error.field) from None
    except NotAllowed as error:
        raise Conflict(str(error), field=error.field) from None
    except LookupError as error:
        raise NotFound(str(error).strip("'")) from None
    except Busy as error:
        raise Conflict(str(error)) from None


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    on_startup: Callable[[], object] | None = None,
) -> FastAPI:
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

    @app.exception_handler(RequestValidationError)
    async def field_level_errors(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(part) for part in item["loc"] if part != "body"), "message": item["msg"]}
            for item in error.errors()
        ]
        return JSONResponse(status_code=422, content={"error": "validation_failed", "errors": errors})

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        body: dict[str, object] = {"error": type(error).__name__.lower(), "message": error.message}
        if error.field:
            body["errors"] = [{"field": error.field, "message": error.message}]
        return JSONResponse(status_code=error.status_code, content=body)

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
