"""Every service answers the domain's refusals the same way, from one place in the kit."""

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import ServerSelectionTimeoutError

from ekspora_kit.aggregates import SAVE_ATTEMPTS, VersionConflict, change
from ekspora_kit.domain import Busy, Invalid, NotAllowed, NotFound
from ekspora_kit.http import answer_refusals


async def always_conflicting_save(current: int, decided: int) -> None:
    raise VersionConflict("mt-1")


async def accept_with_rivals() -> None:
    async def load() -> int:
        return 1

    await change(load, lambda version: version + 1, always_conflicting_save, what="match mt-1")


def app_raising(error: Exception) -> httpx.AsyncClient:
    app = FastAPI()
    answer_refusals(app)

    @app.post("/things")
    async def act() -> None:
        raise error

    @app.post("/matches/mt-1/acceptance")
    async def accept() -> None:
        await accept_with_rivals()

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://registry.test")


@pytest.mark.parametrize(
    ("error", "status", "code", "field"),
    [
        (Invalid("unknown milestone", field="code"), 422, "unprocessable", "code"),
        (NotFound("no shipment shp-1"), 404, "notfound", None),
        (NotAllowed("already confirmed", field="status"), 409, "conflict", "status"),
        (Busy("UMKM msme-1 is being changed by others; try again"), 409, "busy", None),
        (VersionConflict("shp-1"), 409, "conflict", None),
    ],
)
async def test_a_refusal_is_its_4xx_with_the_field_it_concerns(error, status, code, field):
    answer = await app_raising(error).post("/things")
    assert answer.status_code == status
    assert answer.json()["error"] == code and answer.json()["message"] == str(error)
    assert answer.json().get("errors", [{}])[0].get("field") == field


async def test_a_conflict_that_outlasts_the_retries_is_409_not_500():
    answer = await app_raising(RuntimeError()).post("/matches/mt-1/acceptance")
    assert answer.status_code == 409
    assert answer.json()["message"] == "match mt-1 is being changed by others; try again"
    assert answer.json()["error"] == "busy" and answer.headers["retry-after"] == "1"
    assert SAVE_ATTEMPTS > 1


async def test_a_bug_that_raises_key_error_is_a_500_not_a_404():
    assert (await app_raising(KeyError("profile")).post("/things")).status_code == 500


async def test_an_unreachable_store_is_a_503_to_retry_not_a_500():
    answer = await app_raising(ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")).post("/things")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"] == "unavailable"
