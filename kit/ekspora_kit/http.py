"""The HTTP shell every service shares: health, readiness, metrics, errors and correlation ids."""

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from ekspora_kit.aggregates import VersionConflict
from ekspora_kit.domain import Busy, Invalid, NotAllowed, NotFound, NotPermitted
from ekspora_kit.idempotency import IdempotencyKeys, honour_idempotency_keys
from ekspora_kit.logs import correlation_id
from ekspora_kit.runtime import ServiceRuntime

logger = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-Id"


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, errors: Sequence[tuple[str, str]] = ()) -> None:
        """`errors`: (field, message) for each of several faults found at once (rows of a file)."""
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


# The domain's refusals, answered once for every route: (status, error code) per kind.
REFUSALS: dict[type[Exception], tuple[int, str]] = {
    Invalid: (422, "unprocessable"),
    NotFound: (404, "notfound"),
    NotPermitted: (403, "forbidden"),
    NotAllowed: (409, "conflict"),
    Busy: (409, "busy"),  # others are changing it, or a writer died mid-change (rolled forward within seconds)
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
        if error.errors:
            content["errors"] = [{"field": field, "message": message} for field, message in error.errors]
        return JSONResponse(status_code=error.status_code, content=content)

    async def refused(_: Request, error: Exception) -> JSONResponse:
        status, code = next(answer for kind, answer in REFUSALS.items() if isinstance(error, kind))
        content = error_body(code, str(error), getattr(error, "field", None))
        retry = {"Retry-After": "1"} if code == "busy" else None
        return JSONResponse(status_code=status, content=content, headers=retry)

    for kind in REFUSALS:
        app.add_exception_handler(kind, refused)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own refusals (a body that is not JSON, a method the route does not have)."""
        code = {400: "bad_request", 404: "notfound", 405: "method_not_allowed"}.get(error.status_code, "refused")
        return JSONResponse(status_code=error.status_code, content=error_body(code, str(error.detail), None))

    @app.exception_handler(ConnectionFailure)
    async def store_unavailable(_: Request, error: ConnectionFailure) -> JSONResponse:
        logger.warning("store unavailable: %r", error)
        body = error_body("unavailable", "The store did not answer in time. Try again shortly.", None)
        return JSONResponse(status_code=503, content=body, headers={"Retry-After": "2"})


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

    keys = IdempotencyKeys(runtime.db["idempotency_keys"], runtime.clock)
    runtime.every("expire idempotency keys", 3600, keys.expire)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            await on_startup()  # type: ignore[misc]
        await keys.ensure_indexes()
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

    app.middleware("http")(honour_idempotency_keys(keys))
    app.middleware("http")(refuse_nul)

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
        document_refusals(router.routes)
        app.include_router(router)
    app.openapi = refusals_in_json(app.openapi)  # type: ignore[method-assign]
    return app


def refusals_in_json(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Refusals are JSON even where the route answers HTML or PDF, which FastAPI would declare."""

    def document() -> dict[str, Any]:
        schema = openapi()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if status[0] in "45" and (content := response.get("content")):
                        response["content"] = {"application/json": next(iter(content.values()))}
        return schema

    return document


NUL_ESCAPED = re.compile(rb"\\u0000", re.IGNORECASE)
# Bodies of words; an uploaded PDF or image holds NUL bytes as a matter of course
TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/")


async def refuse_nul(request: Request, call_next: Callable) -> Response:
    """A NUL character means nothing in an id, a query or a name, and the store cannot hold it:
    refused wherever it comes (422), before anything reads the store with it."""
    where: str | None = None
    if "\x00" in request.url.path:
        where = "path"
    elif found := [name for name, value in request.query_params.multi_items() if "\x00" in name + value]:
        where = found[0]
    elif request.method in {"POST", "PUT", "PATCH"} and _words(request):
        body = await request.body()
        where = "" if b"\x00" in body or NUL_ESCAPED.search(body) else None
    if where is None:
        return await call_next(request)
    errors = [{"field": where, "message": "NUL characters are not allowed"}]
    return JSONResponse(status_code=422, content={"error": "validation_failed", "errors": errors})


def _words(request: Request) -> bool:
    declared = request.headers.get("content-type", "application/json").lower()
    return declared.startswith(TEXT_BODIES)


class FieldError(BaseModel):
    field: str = Field(description="The field, query parameter or header at fault ('' for the whole body)")
    message: str


class ErrorBody(BaseModel):
    """What every refusal and failure answers."""

    error: str = Field(
        description="A stable code: validation_failed, unauthorized, forbidden, notfound, conflict, busy, "
        "unprocessable, idempotency_key_reused, invalid_idempotency_key, unavailable"
    )
    message: str | None = None
    errors: list[FieldError] | None = None


REFUSED = {"model": ErrorBody}


def document_refusals(routes: Sequence[BaseRoute]) -> None:
    """Declares in the OpenAPI document the refusals each route can answer, with the body they
    really have (not FastAPI's default 422), and the Idempotency-Key every POST honours."""
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        refusals: dict[int | str, dict[str, Any]] = {
            401: REFUSED | {"description": "No token, or one that is not known"},
            403: REFUSED | {"description": "Known, but not allowed this (another region or partner)"},
            422: REFUSED | {"description": "A field, parameter or header is not acceptable (each is named)"},
            503: REFUSED | {"description": "The store did not answer; try again after Retry-After"},
        }
        if "{" in route.path:
            refusals[404] = REFUSED | {"description": "Nothing by that id, or nothing the caller may see"}
        methods = route.methods or set()
        if methods & {"POST", "PUT", "PATCH", "DELETE"}:
            refusals[409] = REFUSED | {"description": "Not in this state, or busy (retry after Retry-After)"}
        if methods & {"POST", "PUT", "PATCH", "DELETE"}:
            refusals[400] = REFUSED | {"description": "A body that is not JSON"}
        if "POST" in methods:
            route.openapi_extra = (route.openapi_extra or {}) | {"parameters": [IDEMPOTENCY_PARAMETER]}
        route.responses = refusals | route.responses


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key again (same body) to get the first answer again, and no second effect",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}
